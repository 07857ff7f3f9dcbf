/* The validator core on a mock target: this process's own memory as the ranges, a made-up
 * kernel (fake_kernel.h) for counters and pagemap entries, so PFN changes, pages that go
 * away and pages outside the devdax ranges can be injected without root. */
#include <inttypes.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"
#include "fake_kernel.h"

#define PAGES 64
#define SZ ((uint64_t)PAGES * 4096)
#define PFN0 0x100000ull

static char *mem;
static struct fake_kernel k;
static struct validate_sources src;

static struct validate_target target(struct validate_range *r)
{
	*r = (struct validate_range){ .vaddr = (uintptr_t)mem, .size = SZ, .page_size = 4096,
				      .iova = 0x40000000, .label = "ram0" };
	return (struct validate_target){ .pid = 0, .ranges = r, .nr_ranges = 1, .own_field = "VmPin",
					 .expected_pins = PAGES, .pin_unit = 4096, .kernel_pins = true,
					 .pin_path = "io_uring", .pin_path_why = "test", .src = &src };
}

/* A kernel that charges VmPin (6.x) pins the range. */
static void pin_6x(void)
{
	k.vmpin_kib += SZ / 1024;
	k.acquired += PAGES;
}

static void unpin_6x(void)
{
	k.vmpin_kib -= SZ / 1024;
	k.released += PAGES;
}

static struct validate *started(unsigned interval_ms, bool devmap, const struct backing_phys_range *dr,
				unsigned ndr)
{
	struct validate_config cfg = { .interval_ms = interval_ms, .window_pages = 16 };
	struct validate_range r;
	struct validate_target t = target(&r);
	struct validate *v;
	struct err e = { 0 };

	t.devmap = devmap;
	t.devmap_ranges = dr;
	t.nr_devmap = ndr;
	TEST_ASSERT(validate_new(&cfg, &v, &e) == 0, "new: %s", e.msg);
	TEST_ASSERT(validate_target_begin(v, &t, &e) == 0, "begin: %s", e.msg);
	pin_6x();
	TEST_ASSERT(validate_target_start(v, &t, &e) == 0, "start: %s", e.msg);
	return v;
}

static void finish(struct validate *v)
{
	struct err e = { 0 };

	TEST_ASSERT(validate_stop(v, &e) == 0, "stop: %s", e.msg);
	unpin_6x();
	TEST_ASSERT(validate_release_check(v, &e) == 0, "release check: %s", e.msg);
}

/* Batch migration (6.3+) holds several pinned pages in migration entries at once until it
 * sees the pins; this puts them back at their frames after a delay. */
#define MIGRATING_FIRST 20
#define MIGRATING_PAGES 8
static void *migration_refused(void *delay_ms)
{
	usleep((unsigned)(uintptr_t)delay_ms * 1000);
	for (unsigned i = 0; i < MIGRATING_PAGES; i++)
		fk_set(&k, MIGRATING_FIRST + i, PAGEMAP_PRESENT | (PFN0 + MIGRATING_FIRST + i));
	return NULL;
}

/* Pages in migration entries (pagemap: swapped, not present) for DELAY_MS during the final
 * sweep; the restoring thread is joined before returning the counts. */
static void migrating_for(unsigned delay_ms, struct validate_counts *n, char *reason, size_t len, bool *pass)
{
	struct validate *v = started(0, false, NULL, 0);
	pthread_t t;

	for (unsigned i = 0; i < MIGRATING_PAGES; i++)
		fk_set(&k, MIGRATING_FIRST + i, PAGEMAP_SWAPPED);
	TEST_ASSERT(pthread_create(&t, NULL, migration_refused, (void *)(uintptr_t)delay_ms) == 0, "thread");
	finish(v);
	pthread_join(t, NULL);
	validate_get_counts(v, n);
	*pass = validate_verdict(v, reason, len);
	validate_free(v);
	fk_init(&k, (uintptr_t)mem, PFN0);
}

int main(void)
{
	bool pass;
	struct validate_counts n;
	struct validate *v;
	struct report *rep;
	char reason[512];
	uint64_t u;

	mem = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");
	fk_init(&k, (uintptr_t)mem, PFN0);
	src = fk_sources(&k);

	/* Snapshot: every page read once at start, then a full sweep at stop; clean -> PASS. */
	v = started(0, false, NULL, 0);
	validate_get_counts(v, &n);
	TEST_ASSERT(n.samples == 1 && n.pages_checked == PAGES, "snapshot: %" PRIu64 " samples %" PRIu64 " pages",
		    n.samples, n.pages_checked);
	TEST_ASSERT(n.evidence == VALIDATE_EV_OWN && n.pinned_pages == PAGES && n.expected_pages == PAGES,
		    "own evidence: %s pinned %" PRIu64, validate_evidence_name(n.evidence), n.pinned_pages);
	TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)) && strstr(reason, "release check"),
		    "no PASS before the release check: %s", reason);
	finish(v);
	validate_get_counts(v, &n);
	TEST_ASSERT(n.pages_checked == 2 * PAGES && n.pfn_changes == 0 && n.leaked_pins == 0, "clean run");
	TEST_ASSERT(validate_verdict(v, reason, sizeof(reason)), "clean run passes: %s", reason);
	rep = report_new();
	TEST_ASSERT(rep && validate_fill_report(v, rep) == 0, "report");
	TEST_ASSERT(report_get_str(rep, "pinning.evidence") && !strcmp(report_get_str(rep, "pinning.evidence"), "own_counter"),
		    "pinning.evidence");
	TEST_ASSERT(report_get_u64(rep, "pinning.pinned_pages", &u) && u == PAGES, "pinning.pinned_pages");
	TEST_ASSERT(report_get_u64(rep, "pinning.leaked_pins", &u) && u == 0, "pinning.leaked_pins");
	TEST_ASSERT(!strcmp(report_get_str(rep, "pinning.backend"), "io_uring"), "pinning.backend from the target");
	report_free(rep);
	validate_free(v);

	/* PFN change seen by the final sweep. */
	v = started(0, false, NULL, 0);
	fk_set(&k, 3, PAGEMAP_PRESENT | 0x777777);
	finish(v);
	validate_get_counts(v, &n);
	TEST_ASSERT(n.pfn_changes == 1 && n.not_present == 0, "one PFN change: %" PRIu64, n.pfn_changes);
	TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)) && strstr(reason, "moved from PFN 0x100003 to 0x777777")
		    && strstr(reason, "ram0"), "reason names the move: %s", reason);
	validate_free(v);
	fk_init(&k, (uintptr_t)mem, PFN0);

	/* A page that goes away (the re-read loop gives it 50 ms to come back; it does not). */
	v = started(0, false, NULL, 0);
	fk_set(&k, 5, 0);
	finish(v);
	validate_get_counts(v, &n);
	TEST_ASSERT(n.not_present == 1 && n.pfn_changes == 0, "one page gone: %" PRIu64, n.not_present);
	TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)) && strstr(reason, "no longer present"), "%s", reason);
	validate_free(v);
	fk_init(&k, (uintptr_t)mem, PFN0);

	/* A refused migration of 8 pages in a row that lasts 300 ms (a migrating thread off the
	 * CPU on a loaded machine): waited for, counted as transient, not a failure. */
	migrating_for(300, &n, reason, sizeof(reason), &pass);
	TEST_ASSERT(pass && n.not_present == 0 && n.transient_unmapped == MIGRATING_PAGES,
		    "a refused batch migration is not a failure: %s (not present %" PRIu64 ", transient %" PRIu64 ")",
		    reason, n.not_present, n.transient_unmapped);
	/* The wait is bounded: migration entries still there after 2 s fail the run. */
	migrating_for(3000, &n, reason, sizeof(reason), &pass);
	TEST_ASSERT(!pass && n.not_present >= 1 && strstr(reason, "no longer present"),
		    "a migration entry that stays is a failure: %s", reason);

	/* The sampler thread catches a change while running (before stop's final sweep). */
	v = started(2, false, NULL, 0);
	fk_set(&k, 40, PAGEMAP_PRESENT | 0x555555);
	for (int i = 0; i < 2000; i++) {
		validate_get_counts(v, &n);
		if (n.pfn_changes)
			break;
		usleep(1000);
	}
	TEST_ASSERT(n.pfn_changes == 1 && n.samples > 1, "sampler saw the move: %" PRIu64 " changes in %" PRIu64 " samples",
		    n.pfn_changes, n.samples);
	finish(v);
	validate_free(v);
	fk_init(&k, (uintptr_t)mem, PFN0);

	/* devmap: ranges cover all PFNs but the last page's -> exactly one outside. */
	{
		struct backing_phys_range dr = { .start = PFN0 * 4096, .end = (PFN0 + PAGES - 1) * 4096 - 1 };

		v = started(0, true, &dr, 1);
		validate_get_counts(v, &n);
		TEST_ASSERT(n.outside_devmap == 1, "one page outside the devdax range: %" PRIu64, n.outside_devmap);
		TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)) && strstr(reason, "device-dax"), "%s", reason);
		finish(v);
		validate_free(v);
		/* A devdax page vanishing under a live pin is the teardown hazard. */
		dr.end = (PFN0 + PAGES) * 4096 - 1;
		v = started(0, true, &dr, 1);
		validate_get_counts(v, &n);
		TEST_ASSERT(n.outside_devmap == 0, "all inside");
		fk_set(&k, 7, 0);
		finish(v);
		TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)) && strstr(reason, "hazard"), "%s", reason);
		validate_free(v);
		fk_init(&k, (uintptr_t)mem, PFN0);
	}

	/* PFNs hidden (what an unprivileged reader gets): not a failure, but the report says which
	 * checks could not run; presence is still checked (a page gone still fails). */
	for (unsigned i = 0; i < PAGES; i++)
		fk_set(&k, i, PAGEMAP_PRESENT);
	v = started(0, false, NULL, 0);
	finish(v);
	TEST_ASSERT(validate_verdict(v, reason, sizeof(reason)), "hidden PFNs alone fail: %s", reason);
	TEST_ASSERT(validate_pfns_hidden(v) && validate_skipped(v) && strstr(validate_skipped(v), "CAP_SYS_ADMIN"),
		    "the skipped checks are named");
	{
		struct report *hr = report_new();
		bool frames = true;

		TEST_ASSERT(hr && validate_fill_report(v, hr) == 0, "report");
		TEST_ASSERT(report_get_bool(hr, "validation.frames_checked", &frames) && !frames,
			    "validation.frames_checked false");
		TEST_ASSERT(report_get_str(hr, "validation.skipped"), "validation.skipped present");
		report_free(hr);
	}
	validate_free(v);
	v = started(0, false, NULL, 0);
	fk_set(&k, 3, 0);	/* hidden PFNs, and a page goes away: still caught */
	finish(v);
	TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)) && validate_pfns_hidden(v), "a vanished page with hidden PFNs passed");
	validate_free(v);
	fk_init(&k, (uintptr_t)mem, PFN0);

	/* Release add-on, range by range: a range whose VmPin did not drop at its unmap is only
	 * remembered; the release check after everything is unmapped decides (6.1 releases an
	 * io_uring buffer's pins late). A real leak: still charged at the end. */
	{
		struct validate_range r;
		struct err e = { 0 };

		target(&r);
		v = started(0, false, NULL, 0);
		TEST_ASSERT(validate_stop(v, &e) == 0, "stop");
		validate_unmap_hook(v, &r, false);
		k.vmpin_kib -= SZ / 1024 / 2;	/* only half released */
		validate_unmap_hook(v, &r, true);
		validate_get_counts(v, &n);
		TEST_ASSERT(n.leaked_pins == 0, "the hook alone calls nothing a leak: %" PRIu64, n.leaked_pins);
		k.released += PAGES / 2;
		TEST_ASSERT(validate_release_check(v, &e) == 0, "release");
		validate_get_counts(v, &n);
		TEST_ASSERT(n.leaked_pins == PAGES / 2 && n.own_after_unpin_kib == (int64_t)(SZ / 1024 / 2),
			    "final check finds the kept half: %" PRIu64 " leaked, %" PRId64 " KiB", n.leaked_pins, n.own_after_unpin_kib);
		TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)) && strstr(reason, "pin leak") &&
			    strstr(reason, "ram0") && strstr(reason, "0x40000000"), "%s", reason);
		validate_free(v);
		k.vmpin_kib = 0;
		k.released = k.acquired;

		/* Released late (after the range's unmap, before the release check): no leak. */
		v = started(0, false, NULL, 0);
		TEST_ASSERT(validate_stop(v, &e) == 0, "stop");
		validate_unmap_hook(v, &r, false);
		k.vmpin_kib -= SZ / 1024 / 2;
		validate_unmap_hook(v, &r, true);
		k.vmpin_kib = 0;		/* the rest goes when the ring lets go */
		k.released = k.acquired;
		TEST_ASSERT(validate_release_check(v, &e) == 0, "release");
		validate_get_counts(v, &n);
		TEST_ASSERT(n.leaked_pins == 0 && validate_verdict(v, reason, sizeof(reason)),
			    "a late release is not a leak: %" PRIu64 " leaked, %s", n.leaked_pins, reason);
		validate_free(v);
	}

	/* The 7.x root kernel: VmPin never charged; vmstat shows the pins; hook stays quiet; PASS. */
	{
		struct validate_config cfg = { .window_pages = 16 };
		struct validate_range r;
		struct validate_target t = target(&r);
		struct err e = { 0 };

		TEST_ASSERT(validate_new(&cfg, &v, &e) == 0 && validate_target_begin(v, &t, &e) == 0, "begin");
		k.acquired += PAGES;	/* no VmPin */
		TEST_ASSERT(validate_target_start(v, &t, &e) == 0, "start: %s", e.msg);
		TEST_ASSERT(validate_stop(v, &e) == 0, "stop");
		validate_unmap_hook(v, &r, false);
		k.released += PAGES;
		validate_unmap_hook(v, &r, true);
		TEST_ASSERT(validate_release_check(v, &e) == 0, "release");
		validate_get_counts(v, &n);
		TEST_ASSERT(n.evidence == VALIDATE_EV_VMSTAT && n.pinned_pages == PAGES && n.leaked_pins == 0,
			    "7.x: %s pinned %" PRIu64 " leaked %" PRIu64, validate_evidence_name(n.evidence),
			    n.pinned_pages, n.leaked_pins);
		TEST_ASSERT(validate_verdict(v, reason, sizeof(reason)), "7.x clean run passes: %s", reason);
		validate_free(v);

		/* Same kernel, pins kept after unmap (VFIO type1 on devdax): caught by vmstat. */
		t.own_field = "VmLck";
		TEST_ASSERT(validate_new(&cfg, &v, &e) == 0 && validate_target_begin(v, &t, &e) == 0, "begin");
		k.acquired += PAGES;
		TEST_ASSERT(validate_target_start(v, &t, &e) == 0, "start: %s", e.msg);
		TEST_ASSERT(validate_stop(v, &e) == 0 && validate_release_check(v, &e) == 0, "release");
		validate_get_counts(v, &n);
		TEST_ASSERT(n.leaked_pins == PAGES && n.vmstat_after_unpin_net == PAGES, "leak: %" PRIu64, n.leaked_pins);
		TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)) && strstr(reason, "pin leak"), "%s", reason);
		validate_free(v);
		k.released = k.acquired;
	}

	/* A target pid is passed to every reader (another VMM's pid for `inspect`). */
	{
		struct validate_config cfg = { 0 };
		struct validate_range r;
		struct validate_target t = target(&r);
		struct err e = { 0 };

		t.pid = 4242;
		k.last_pid = 0;
		TEST_ASSERT(validate_new(&cfg, &v, &e) == 0, "new");
		k.vmpin_kib = SZ / 1024;	/* no baseline: absolute value */
		TEST_ASSERT(validate_target_start(v, &t, &e) == 0, "start without baseline: %s", e.msg);
		TEST_ASSERT(k.last_pid == 4242, "pid reached the readers: %d", (int)k.last_pid);
		TEST_ASSERT(validate_stop(v, &e) == 0, "stop");
		TEST_ASSERT(validate_verdict(v, reason, sizeof(reason)), "watching without a release check passes: %s", reason);
		validate_free(v);
	}

	/* The real readers take a pid: this process by its number equals "self". */
	{
		uint64_t a = 0, b = 0;
		int fd = pagemap_open(getpid(), NULL);

		TEST_ASSERT(fd >= 0, "pagemap of getpid()");
		close(fd);
		TEST_ASSERT(vmstat_status_kib(getpid(), "VmLck", &a, NULL) == 0 &&
			    vmstat_status_kib(0, "VmLck", &b, NULL) == 0 && a == b, "VmLck by pid");
		TEST_ASSERT(vmstat_status_kib(getpid(), "NoSuchField", &a, NULL) == -ENOENT, "absent field");
	}
	munmap(mem, SZ);
	printf("PASS: snapshot, PFN change, not present, refused batch migration, sampler, devmap, hidden PFNs, release hook, 7.x, pid\n");
	return T_PASS;
}
