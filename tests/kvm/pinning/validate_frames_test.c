/* The validator's frame checks over io_uring-pinned anonymous memory (pinned anon pages are
 * never migrated, so nothing moves unless the test moves it): a stable run passes, two pages
 * whose frames are swapped with mremap are caught once each with the guest address, devmap
 * ranges are enforced, and the verdict and report follow. Needs root for PFNs in pagemap.
 * (Unpinned memory is no good here: compaction run by another test moves it at any time.) */
#include <inttypes.h>
#include <sys/mman.h>
#include <time.h>

#include "validate/pagemap.h"
#include "validate/validate.h"
#include "test.h"
#include "kvm/common/host_require.h"

#define SZ (8u << 20)

static struct pin_container *pin_map(void *mem)
{
	struct pin_options opt = { .backend = PIN_IO_URING };
	struct pin_dma_map m = { .vaddr = (uintptr_t)mem, .iova = 1ull << 32, .size = SZ,
				 .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	struct pin_container *c;
	struct err e = { 0 };

	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "open: %s", e.msg);
	TEST_ASSERT(pin_map_dma(c, &m, &e) == 0, "map: %s", e.msg);
	return c;
}

static void run(bool move_page, bool devmap_wrong)
{
	char *mem = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct backing_phys_range r = { .start = 0, .end = 4095 };	/* no RAM page lies here */
	struct validate_config cfg = { .interval_ms = 5, .window_pages = 256, .devmap = devmap_wrong,
				       .ranges = &r, .nr_ranges = 1 };
	struct validate_counts n;
	struct validate *v;
	struct pin_container *c;
	struct report *rep = report_new();
	struct err e = { 0 };
	char reason[512];
	uint64_t u;

	TEST_ASSERT(mem != MAP_FAILED && rep, "mmap");
	memset(mem, 0x5a, SZ);
	TEST_ASSERT(validate_new(&cfg, &v, &e) == 0, "new");
	TEST_ASSERT(validate_begin(v, &e) == 0, "begin: %s", e.msg);
	c = pin_map(mem);
	TEST_ASSERT(validate_start(v, c, &e) == 0, "start: %s", e.msg);
	if (move_page) {
		/* Swap the frames of pages 7 and 8 with mremap (the pins follow the frames). */
		char *tmp = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		TEST_ASSERT(tmp != MAP_FAILED, "tmp");
		TEST_ASSERT(mremap(mem + 4096 * 7, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, tmp) == tmp, "mremap");
		TEST_ASSERT(mremap(mem + 4096 * 8, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, mem + 4096 * 7) ==
			    mem + 4096 * 7, "mremap");
		TEST_ASSERT(mremap(tmp, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, mem + 4096 * 8) == mem + 4096 * 8,
			    "mremap");
	}
	/* Let the sampler make at least two passes (snapshot + 2), however loaded the machine. */
	for (int i = 0; i < 500; i++) {
		validate_get_counts(v, &n);
		if (n.samples >= 3)
			break;
		usleep(10000);
	}
	TEST_ASSERT(validate_stop(v, &e) == 0, "stop: %s", e.msg);
	pin_container_close(c);
	TEST_ASSERT(validate_finish(v, &e) == 0, "finish: %s", e.msg);
	validate_get_counts(v, &n);
	TEST_ASSERT(n.expected_pages == SZ / 4096 && n.pinned_pages == SZ / 4096, "pages %" PRIu64 "/%" PRIu64,
		    n.pinned_pages, n.expected_pages);
	TEST_ASSERT(n.samples >= 4, "the sampler ran: %" PRIu64 " samples (move %d devmap %d)", n.samples, move_page, devmap_wrong);
	TEST_ASSERT(n.pages_checked >= 2 * (SZ / 4096), "snapshot + final sweep: %" PRIu64, n.pages_checked);
	TEST_ASSERT(validate_fill_report(v, rep) == 0, "report");
	TEST_ASSERT(report_get_u64(rep, "validation.pfn_changes", &u) && u == n.pfn_changes, "report pfn_changes");
	TEST_ASSERT(report_get_str(rep, "pinning.backend") && !strcmp(report_get_str(rep, "pinning.backend"), "io_uring"),
		    "backend in report");
	if (move_page) {
		TEST_ASSERT(n.pfn_changes == 2, "two swapped pages caught once each: %" PRIu64, n.pfn_changes);
		TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)), "verdict fails");
		TEST_ASSERT(strstr(reason, "0x100007000"), "reason names the guest address: %s", reason);
	} else if (devmap_wrong) {
		TEST_ASSERT(n.outside_devmap == SZ / 4096, "every page outside: %" PRIu64, n.outside_devmap);
		TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)) && strstr(reason, "device-dax"),
			    "devmap failure: %s", reason);
	} else {
		TEST_ASSERT(n.pfn_changes == 0 && n.not_present == 0, "stable");
		TEST_ASSERT(validate_verdict(v, reason, sizeof(reason)), "verdict passes: %s", reason);
	}
	report_free(rep);
	validate_free(v);
	munmap(mem, SZ);
}

int main(void)
{
	t_require_root("pagemap shows PFNs only to CAP_SYS_ADMIN");
	t_require_io_uring();
	run(false, false);
	run(true, false);
	run(false, true);
	printf("PASS: validator frames on pinned memory: stable, two swapped pages, outside devmap\n");
	return T_PASS;
}
