/* The pin validator core: decides which counter proves a target's pins (evidence.c), snapshots
 * the PFN of every backing page at pin time, re-checks a rotating window from a sampler
 * thread, checks devdax ranges, and (release add-on) proves that every pin was released. The
 * target is any process: everything is read through /proc/PID or injected sources. */
#include "validate/validate.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "validate/pagemap.h"
#include "validate/proc_maps.h"

#define DEFAULT_WINDOW 65536u
#define SNAP_GONE UINT64_MAX	/* snapshot marker: page seen not present */

struct seg {
	uint64_t iova, vaddr, size, page_size;	/* the range (bytes) */
	char label[VALIDATE_LABEL_MAX];
	bool devmap;				/* its PFNs must lie in the devmap ranges */
	bool gone;				/* the target unmapped it: no longer watched */
	size_t first;				/* index of its first page in snap[] */
	size_t nr;				/* backing pages */
};

struct validate {
	struct validate_config cfg;
	struct backing_phys_range ranges[BACKING_MAX_RANGES];	/* devmap ranges of the target */
	unsigned nr_ranges;
	bool devmap;
	pid_t pid;
	struct validate_sources src;
	bool has_src;
	char backend_name[32];
	char backend_why[160];
	const char *own_field;		/* "VmPin", "VmLck" or NULL (mock, none) */
	bool kernel_pins;
	bool attached;			/* another process, pinned before we looked */
	bool unpinned;			/* attached with 0 pins expected: moves are notes */
	uint64_t (*bookkeeping_pins)(void *opaque);
	void *bookkeeping_opaque;
	int pm_fd;

	struct seg *segs;
	size_t nr_segs;
	uint64_t *snap;			/* PFN per backing page at pin time */
	uint64_t *buf;			/* pagemap entries of one window */
	size_t total;			/* backing pages */
	uint64_t mapped_bytes;
	uint64_t unit;			/* bytes per pin (common page size; 4 KiB for VFIO) */
	size_t cursor;			/* next page the sampler looks at */

	uint64_t own_base_pin, own_base_lck;	/* VmPin, VmLck at begin, KiB */
	bool own_base_pin_ok, own_base_lck_ok;
	uint64_t own_before_unmap;	/* KiB, set by the pre-unmap hook */
	uint64_t hook_kept_kib;		/* KiB the per-range hook saw still charged after an unmap */
	char hook_range[160];		/* the first such range, for the report */
	struct validate_readings rd;
	struct validate_decision dec;

	struct validate_counts n;
	bool pfn_hidden, began, started, stopped, finished;
	char failure[512];		/* the first failed check */
	char note[256];			/* what a check could not prove, for the report */

	pthread_t thread;
	bool thread_running, stop_req;
	pthread_mutex_t lock;		/* stop_req, counters while the sampler runs */
	pthread_cond_t cond;
	struct timespec t_begin, t_start, t_stop, t_finish;
};

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

__attribute__((format(printf, 2, 3)))
static void fail(struct validate *v, const char *fmt, ...)
{
	va_list ap;

	if (v->failure[0])
		return;
	va_start(ap, fmt);
	vsnprintf(v->failure, sizeof(v->failure), fmt, ap);
	va_end(ap);
}

int validate_new(const struct validate_config *cfg, struct validate **out, struct err *e)
{
	struct validate *v = calloc(1, sizeof(*v));

	*out = NULL;
	if (!v)
		return err_set(e, -ENOMEM, "out of memory allocating the validator");
	v->cfg = *cfg;
	if (!v->cfg.window_pages)
		v->cfg.window_pages = DEFAULT_WINDOW;
	if (cfg->nr_ranges > BACKING_MAX_RANGES) {
		free(v);
		return err_set(e, -EINVAL, "too many devdax ranges (%u)", cfg->nr_ranges);
	}
	/* The config's ranges are the adapter's: keep a copy, the caller's array may go. */
	if (cfg->nr_ranges)
		memcpy(v->ranges, cfg->ranges, cfg->nr_ranges * sizeof(*v->ranges));
	v->cfg.ranges = v->ranges;
	v->pm_fd = -1;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	*out = v;
	return 0;
}

const struct validate_config *validate_config_of(const struct validate *v)
{
	return &v->cfg;
}

void validate_free(struct validate *v)
{
	if (!v)
		return;
	if (v->thread_running)
		validate_stop(v, NULL);
	if (v->pm_fd >= 0)
		close(v->pm_fd);
	pthread_mutex_destroy(&v->lock);
	pthread_cond_destroy(&v->cond);
	free(v->segs);
	free(v->snap);
	free(v->buf);
	free(v);
}

/* ---- readings: injected sources or the real /proc files of the target ---- */

static int rd_vmstat(struct validate *v, struct vmstat_pins *p, struct err *e)
{
	if (v->src.vmstat) {
		int ret = v->src.vmstat(v->src.opaque, p);

		return ret ? err_set(e, ret, "the injected vmstat source failed") : 0;
	}
	return vmstat_read_pins(p, e);
}

static int rd_status(struct validate *v, const char *field, uint64_t *kib)
{
	if (!field)
		return -ENOENT;
	if (v->src.status_kib)
		return v->src.status_kib(v->src.opaque, v->pid, field, kib);
	return vmstat_status_kib(v->pid, field, kib, NULL);
}

static int rd_pagemap(struct validate *v, uint64_t vaddr, uint64_t page_size, size_t nr, uint64_t *out,
		      struct err *e)
{
	if (v->src.pagemap) {
		int ret = v->src.pagemap(v->src.opaque, v->pid, vaddr, page_size, nr, out);

		return ret ? err_set(e, ret, "the injected pagemap source failed at 0x%" PRIx64, vaddr) : 0;
	}
	return pagemap_read(v->pm_fd, vaddr, page_size, nr, out, e);
}

static void take_sources(struct validate *v, const struct validate_target *t)
{
	v->pid = t->pid;
	if (t->src)
		v->src = *t->src;
	else
		memset(&v->src, 0, sizeof(v->src));
	v->has_src = true;
}

int validate_target_begin(struct validate *v, const struct validate_target *t, struct err *e)
{
	struct vmstat_pins p;
	int ret;

	take_sources(v, t);
	ret = rd_vmstat(v, &p, e);
	if (ret)
		return ret;
	v->rd.has_baseline = true;
	v->rd.vmstat_refreshed = p.refreshed;
	v->rd.acq_before = p.acquired;
	v->rd.rel_before = p.released;
	/* The pin path may not be known yet: keep both (VmPin since Linux 4.2, VmLck much older). */
	v->own_base_pin_ok = rd_status(v, "VmPin", &v->own_base_pin) == 0;
	v->own_base_lck_ok = rd_status(v, "VmLck", &v->own_base_lck) == 0;
	v->began = true;
	/* timing.pin_ms starts here: pinning is what the caller does next. */
	clock_gettime(CLOCK_MONOTONIC, &v->t_begin);
	return 0;
}

/* ---- per-range release (add-on) ---- */

void validate_unmap_hook(struct validate *v, const struct validate_range *r, bool done)
{
	uint64_t now = 0, want = r->size / 1024, dropped, kept;

	/* Only a counter that counted these pins can show them released, range by range. */
	if (!v->started || v->dec.evidence != VALIDATE_EV_OWN)
		return;
	if (!done) {
		rd_status(v, v->own_field, &v->own_before_unmap);
		return;
	}
	/* Some kernels fold the release in a work item: allow it 200 ms. */
	for (int i = 0; i < 40; i++) {
		if (rd_status(v, v->own_field, &now) || v->own_before_unmap < now || v->own_before_unmap - now >= want)
			break;
		usleep(5000);
	}
	dropped = v->own_before_unmap >= now ? v->own_before_unmap - now : 0;
	if (dropped >= want)
		return;
	kept = want - dropped;
	/* Not yet a leak: some kernels release a registered buffer's pins only when the next
	 * update or the ring's teardown drops its last reference (6.1: the first of two io_uring
	 * mappings stayed charged until the second went). The release check after everything
	 * is unmapped decides; this only remembers where the counter lagged. */
	pthread_mutex_lock(&v->lock);
	if (!v->hook_kept_kib)
		snprintf(v->hook_range, sizeof(v->hook_range), "%s iova [0x%" PRIx64 ", 0x%" PRIx64 "): %s dropped by %" PRIu64 " of %" PRIu64 " KiB at its unmap",
			 r->label[0] ? r->label : "range", r->iova, r->iova + r->size, v->own_field, dropped, want);
	v->hook_kept_kib += kept;
	pthread_mutex_unlock(&v->lock);
}

/* ---- frames ---- */

static int add_seg(struct validate *v, const struct validate_range *r)
{
	struct seg *s;

	if (!r->page_size || (r->page_size & (r->page_size - 1)) || r->page_size < 4096 || !r->size)
		return -EINVAL;
	if (v->nr_segs % 16 == 0) {
		struct seg *n = realloc(v->segs, (v->nr_segs + 16) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		v->segs = n;
	}
	s = &v->segs[v->nr_segs++];
	memset(s, 0, sizeof(*s));
	s->iova = r->iova;
	s->vaddr = r->vaddr & ~(r->page_size - 1);
	s->size = r->size;
	s->page_size = r->page_size;
	snprintf(s->label, sizeof(s->label), "%s", r->label);
	s->devmap = v->devmap && !r->not_devmap;
	s->first = v->total;
	s->nr = (size_t)(((r->vaddr + r->size + r->page_size - 1) & ~(r->page_size - 1)) - s->vaddr) /
		r->page_size;
	v->total += s->nr;
	v->mapped_bytes += r->size;
	v->unit = !v->unit || v->unit == r->page_size ? r->page_size : 4096;
	return 0;
}

static bool in_devmap(const struct validate *v, uint64_t pfn, uint64_t page_size)
{
	uint64_t start = pfn * 4096, last = start + page_size - 1;

	for (unsigned i = 0; i < v->nr_ranges; i++)
		if (start >= v->ranges[i].start && last <= v->ranges[i].end)
			return true;
	return false;
}

static uint64_t seg_addr(const struct seg *s, size_t idx)
{
	return s->iova + (uint64_t)(idx - s->first) * s->page_size;
}

/* Whether the target still has a mapping at vaddr (injected sources: always). */
static bool still_mapped(struct validate *v, uint64_t vaddr)
{
	struct proc_vmas m = { 0 };
	bool yes;

	if (v->src.pagemap)
		return true;
	if (proc_vmas_read(v->pid ? v->pid : getpid(), &m, NULL))
		return false;	/* the process is gone: so is the mapping */
	yes = proc_vmas_find(&m, vaddr) != NULL;
	proc_vmas_free(&m);
	return yes;
}

/* Compares entries of pages [idx, idx+n) of s with the snapshot. */
static void compare(struct validate *v, struct seg *s, size_t idx, size_t n, const uint64_t *ent)
{
	unsigned gone_streak = 0;	/* pages in a row still absent after the re-reads */

	for (size_t i = 0; i < n && !s->gone; i++) {
		uint64_t en = ent[i];

		if (v->unpinned) {
			/* Nothing pins these pages: the kernel may fault them in, move or reclaim them. */
			uint64_t now = en & PAGEMAP_PRESENT ? pagemap_pfn(en) : SNAP_GONE;

			if (now != v->snap[idx + i])
				v->n.moved_unpinned++;
			v->snap[idx + i] = now;
			continue;
		}

		/* Compaction and NUMA balancing try to migrate even pinned pages: the PTE holds a
		 * migration entry until the kernel sees the pin and restores it. Back at the same
		 * frame is a refused migration, not a failure. A migration entry is a swap-type PTE,
		 * which pagemap flags as swapped (PM_SWAP, since 2.6.25): batch migration (6.3+) holds
		 * up to 512 of them at once, for as long as the migrating thread is off the CPU, so
		 * those are waited for up to 2 s. An empty PTE is re-read for up to 50 ms; two such
		 * pages in a row is a teardown (the whole mapping went), not migration: no more
		 * waiting in this window, so the run can stop at once. */
		for (int t = 0; !(en & PAGEMAP_PRESENT) && v->snap[idx + i] != SNAP_GONE &&
				((en & PAGEMAP_SWAPPED) ? t < 2000 : t < 50 && gone_streak < 2); t++) {
			usleep(1000);
			if (rd_pagemap(v, s->vaddr + (uint64_t)(idx + i - s->first) * s->page_size,
				       s->page_size, 1, &en, NULL))
				break;
			if ((en & PAGEMAP_PRESENT) && pagemap_pfn(en) == v->snap[idx + i])
				v->n.transient_unmapped++;
		}
		gone_streak = (en & PAGEMAP_PRESENT) || v->snap[idx + i] == SNAP_GONE ? 0 : gone_streak + 1;
		/* Each event is counted once: the snapshot follows the page afterwards. */
		if (!(en & PAGEMAP_PRESENT) && v->snap[idx + i] != SNAP_GONE && v->attached &&
		    !still_mapped(v, s->vaddr + (uint64_t)(idx + i - s->first) * s->page_size)) {
			/* The target unmapped its own memory (a VMM freeing RAM on its way out): not a
			 * teardown under its pins. The whole range stops being watched. */
			for (size_t j = s->first; j < s->first + s->nr; j++)
				if (v->snap[j] != SNAP_GONE) {
					v->snap[j] = SNAP_GONE;
					v->n.unmapped_by_target++;
				}
			s->gone = true;
			break;
		}
		if (!(en & PAGEMAP_PRESENT)) {
			if (v->snap[idx + i] != SNAP_GONE) {
				v->n.not_present++;
				if (s->devmap)
					fail(v, "hazard: devdax page at 0x%" PRIx64 " vanished from the page tables "
					     "under a live pin: the device was torn down (disabled or unbound) "
					     "while pinned, and DMA may still reach memory the kernel took back",
					     seg_addr(s, idx + i));
				else
					fail(v, "%s page at 0x%" PRIx64 " is no longer present in the page tables",
					     s->label[0] ? s->label : "pinned", seg_addr(s, idx + i));
				v->snap[idx + i] = SNAP_GONE;
			}
		} else if (pagemap_pfn(en) != v->snap[idx + i] && v->unpinned) {
			v->n.moved_unpinned++;	/* nothing pins it: the kernel may move it */
			v->snap[idx + i] = pagemap_pfn(en);
		} else if (pagemap_pfn(en) != v->snap[idx + i]) {
			v->n.pfn_changes++;
			fail(v, "pinned %s page at 0x%" PRIx64 " moved from PFN 0x%" PRIx64 " to 0x%" PRIx64,
			     s->label[0] ? s->label : "guest", seg_addr(s, idx + i), v->snap[idx + i], pagemap_pfn(en));
			v->snap[idx + i] = pagemap_pfn(en);
		}
	}
	v->n.pages_checked += n;
}

static int snapshot(struct validate *v, struct err *e)
{
	uint64_t zero_pfns = 0;

	v->snap = calloc(v->total ? v->total : 1, sizeof(*v->snap));
	v->buf = calloc(v->cfg.window_pages, sizeof(*v->buf));
	if (!v->snap || !v->buf)
		return err_set(e, -ENOMEM, "out of memory for the PFN snapshot of %zu pages", v->total);
	for (size_t k = 0; k < v->nr_segs; k++) {
		const struct seg *s = &v->segs[k];
		int ret = rd_pagemap(v, s->vaddr, s->page_size, s->nr, &v->snap[s->first], e);

		if (ret)
			return ret;
		for (size_t i = s->first; i < s->first + s->nr; i++) {
			uint64_t en = v->snap[i];

			v->snap[i] = pagemap_pfn(en);
			if (!(en & PAGEMAP_PRESENT) && v->unpinned) {
				v->snap[i] = SNAP_GONE;	/* not faulted in yet: nothing pins it */
			} else if (!(en & PAGEMAP_PRESENT)) {
				v->n.not_present++;
				fail(v, "pinned %s page at 0x%" PRIx64 " is not present at pin time",
				     s->label[0] ? s->label : "guest", seg_addr(s, i));
				v->snap[i] = SNAP_GONE;
			}
			if (!v->snap[i] && (en & PAGEMAP_PRESENT))
				zero_pfns++;
			else if (s->devmap && (en & PAGEMAP_PRESENT) && !in_devmap(v, v->snap[i], s->page_size))
				v->n.outside_devmap++;
		}
	}
	/* PFNs read as 0 without CAP_SYS_ADMIN (Linux 4.2): frame stability and the devmap range
	 * cannot be checked, which the report says (validation.skipped); presence still can. */
	if (zero_pfns && zero_pfns == v->total)
		v->pfn_hidden = true;
	if (v->n.outside_devmap)
		fail(v, "%" PRIu64 " pinned pages lie outside the device-dax physical ranges: they are not ZONE_DEVICE pages of the device",
		     v->n.outside_devmap);
	v->n.samples++;
	v->n.pages_checked += v->total;
	return 0;
}

/* Checks up to want pages from the cursor, wrapping around. */
static int sample_window(struct validate *v, size_t want, struct err *e)
{
	size_t k = 0;

	if (!v->total)
		return 0;
	want = want < v->total ? want : v->total;
	while (want) {
		struct seg *s;
		size_t n;
		int ret;

		if (v->cursor >= v->total)
			v->cursor = 0;
		while (k + 1 < v->nr_segs && v->segs[k].first + v->segs[k].nr <= v->cursor)
			k++;
		while (k > 0 && v->segs[k].first > v->cursor)
			k--;
		s = &v->segs[k];
		n = s->first + s->nr - v->cursor;
		n = n < want ? n : want;
		n = n < v->cfg.window_pages ? n : v->cfg.window_pages;
		ret = rd_pagemap(v, s->vaddr + (uint64_t)(v->cursor - s->first) * s->page_size,
				 s->page_size, n, v->buf, e);
		if (ret)
			return ret;
		compare(v, s, v->cursor, n, v->buf);
		v->cursor += n;
		want -= n;
	}
	return 0;
}

static void *sampler(void *arg)
{
	struct validate *v = arg;
	struct timespec until;
	int ret;

	pthread_mutex_lock(&v->lock);
	while (!v->stop_req) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += v->cfg.interval_ms / 1000;
		until.tv_nsec += (long)(v->cfg.interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!v->stop_req && pthread_cond_timedwait(&v->cond, &v->lock, &until) != ETIMEDOUT)
			;
		if (v->stop_req)
			break;
		if (v->n.target_exited)
			continue;	/* nothing left to sample: wait for the stop */
		ret = sample_window(v, v->cfg.window_pages, NULL);
		v->n.sampler_pages += v->total < v->cfg.window_pages ? v->total : v->cfg.window_pages;
		if (ret == -ESRCH && v->attached)
			v->n.target_exited = true;	/* its memory is gone: it exited */
		else if (ret)
			fail(v, "reading the target's pagemap failed during sampling");
		v->n.samples++;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &until);
	v->n.sampler_cpu_ms = (double)until.tv_sec * 1e3 + (double)until.tv_nsec / 1e6;
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

/* Copies the decision into the counters and records its failures and note. */
static void apply_decision(struct validate *v)
{
	const struct validate_decision *d = &v->dec;

	v->n.evidence = d->evidence;
	v->n.pinned_pages = d->pinned_pages;
	v->n.vmstat_pinning_acquired = d->vm_pinning_acquired;
	v->n.vmstat_pinning_released = d->vm_pinning_released;
	v->n.own_pinning_kib = d->own_pinning_kib;
	if (d->pin_failed)
		fail(v, "%s", d->pin_failure);
	if (d->note[0])
		snprintf(v->note, sizeof(v->note), "%s", d->note);
}

int validate_target_start(struct validate *v, const struct validate_target *t, struct err *e)
{
	struct timespec t0, t1;
	struct vmstat_pins p;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &v->t_start);
	if (v->started)
		return err_set(e, -EINVAL, "the validator already watches a target");
	if (v->began && t->pid != v->pid)
		return err_set(e, -EINVAL, "target pid %d differs from pid %d at validate_target_begin",
			       (int)t->pid, (int)v->pid);
	if (t->nr_devmap > BACKING_MAX_RANGES)
		return err_set(e, -EINVAL, "too many devdax ranges (%u)", t->nr_devmap);
	if (!v->began)
		take_sources(v, t);
	v->devmap = t->devmap;
	v->nr_ranges = t->nr_devmap;
	if (t->nr_devmap)
		memmove(v->ranges, t->devmap_ranges, t->nr_devmap * sizeof(*v->ranges));
	snprintf(v->backend_name, sizeof(v->backend_name), "%s", t->pin_path ? t->pin_path : "unknown");
	snprintf(v->backend_why, sizeof(v->backend_why), "%s", t->pin_path_why ? t->pin_path_why : "");
	v->own_field = t->own_field;
	v->kernel_pins = t->kernel_pins;
	v->attached = t->attached;
	v->unpinned = t->attached && !t->expected_pins;
	v->bookkeeping_pins = t->bookkeeping_pins;
	v->bookkeeping_opaque = t->bookkeeping_opaque;
	for (size_t k = 0; k < t->nr_ranges; k++) {
		ret = add_seg(v, &t->ranges[k]);
		if (ret)
			return err_set(e, ret, ret == -ENOMEM ? "out of memory listing the target's ranges"
				       : "range %zu of the target has a zero size or a page size that is not a power of two >= 4096", k);
	}
	if (!v->unit)
		v->unit = 4096;
	if (t->pin_unit)
		v->unit = t->pin_unit;
	v->n.expected_pages = t->expected_pins;

	/* Pin counts: gather the readings, let the decision pick the evidence. */
	v->rd.kernel_pins = t->kernel_pins;
	v->rd.mapped_bytes = v->mapped_bytes;
	v->rd.expected_pins = t->expected_pins;
	v->rd.pin_unit = v->unit;
	v->rd.own_field = t->own_field;
	if (t->own_field) {
		bool lck = !strcmp(t->own_field, "VmLck");
		bool base_ok = !v->began || (lck ? v->own_base_lck_ok : v->own_base_pin_ok);

		v->rd.own_before_kib = lck ? v->own_base_lck : v->own_base_pin;
		v->rd.own_readable = base_ok && rd_status(v, t->own_field, &v->rd.own_pinned_kib) == 0;
	}
	if (t->bookkeeping_pins)
		v->rd.bookkeeping_pinned = t->bookkeeping_pins(t->bookkeeping_opaque);
	v->rd.attached = t->attached && !v->began;
	v->rd.own_not_pins_kib = t->own_not_pins_kib;
	v->rd.uncharged_bytes = t->uncharged_bytes;
	if (v->began || v->rd.attached) {
		ret = rd_vmstat(v, &p, e);
		if (ret)
			return ret;
		v->rd.acq_pinned = p.acquired;
		v->rd.rel_pinned = p.released;
		v->rd.vmstat_refreshed = v->began ? v->rd.vmstat_refreshed && p.refreshed : p.refreshed;
	}
	validate_decide(&v->rd, &v->dec);
	apply_decision(v);

	/* Frames. */
	if (!v->src.pagemap) {
		v->pm_fd = pagemap_open(v->pid, e);
		if (v->pm_fd < 0)
			return v->pm_fd;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = snapshot(v, e);
	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	v->n.snapshot_ms = ms_between(&t0, &t1);
	v->started = true;
	if (v->cfg.interval_ms) {
		ret = pthread_create(&v->thread, NULL, sampler, v);
		if (ret)
			return err_set(e, -ret, "cannot start the PFN sampler thread: %s", strerror(ret));
		v->thread_running = true;
	}
	return 0;
}

int validate_stop(struct validate *v, struct err *e)
{
	int ret = 0;

	if (v->thread_running) {
		pthread_mutex_lock(&v->lock);
		v->stop_req = true;
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
		pthread_join(v->thread, NULL);
		v->thread_running = false;
	}
	if (v->started && !v->stopped && !v->n.target_exited) {
		/* One full sweep right before unpinning: every page is checked at least once. */
		v->cursor = 0;
		ret = sample_window(v, v->total, e);
		if (ret == -ESRCH && v->attached) {
			v->n.target_exited = true;
			ret = 0;
			err_reset(e);
		}
		v->n.samples++;
	}
	v->stopped = true;
	clock_gettime(CLOCK_MONOTONIC, &v->t_stop);
	return ret;
}

int validate_release_check(struct validate *v, struct err *e)
{
	struct vmstat_pins p;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &v->t_finish);
	if (!v->began)
		return err_set(e, -EINVAL, "the release check needs the baseline of validate_target_begin");
	ret = rd_vmstat(v, &p, e);
	if (ret)
		return ret;
	v->finished = true;
	v->n.vmstat_after_unpin_net = (int64_t)(p.acquired - v->rd.acq_before) - (int64_t)(p.released - v->rd.rel_before);
	if (!v->started)
		return 0;
	v->rd.released = true;
	v->rd.acq_after = p.acquired;
	v->rd.rel_after = p.released;
	v->rd.own_after_readable = rd_status(v, v->own_field, &v->rd.own_after_kib) == 0;
	if (v->bookkeeping_pins)
		v->rd.bookkeeping_after = v->bookkeeping_pins(v->bookkeeping_opaque);
	validate_decide(&v->rd, &v->dec);
	apply_decision(v);
	v->n.own_after_unpin_kib = v->dec.own_after_kib;
	if (v->dec.leak) {
		if (v->dec.leaked_pins > v->n.leaked_pins)
			v->n.leaked_pins = v->dec.leaked_pins;
		fail(v, "pin leak: after unmapping every range (iova 0x%" PRIx64 " .. 0x%" PRIx64 ") %s%s%s",
		     v->nr_segs ? v->segs[0].iova : 0,
		     v->nr_segs ? v->segs[v->nr_segs - 1].iova + v->segs[v->nr_segs - 1].size : 0,
		     v->dec.release_failure, v->hook_kept_kib ? "; first seen at " : "",
		     v->hook_kept_kib ? v->hook_range : "");
	} else if (v->hook_kept_kib && !v->note[0]) {
		snprintf(v->note, sizeof(v->note), "released late, not leaked: %.200s", v->hook_range);
	}
	return 0;
}

int validate_target_exited(struct validate *v, struct err *e)
{
	struct vmstat_pins p;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &v->t_finish);
	if (!v->rd.attached || !v->started)
		return err_set(e, -EINVAL, "the exit check needs an attached target that was started");
	ret = rd_vmstat(v, &p, e);
	if (ret)
		return ret;
	v->finished = true;
	v->n.target_exited = true;
	v->rd.released = true;
	v->rd.acq_after = p.acquired;
	v->rd.rel_after = p.released;
	validate_decide(&v->rd, &v->dec);
	apply_decision(v);
	v->n.vmstat_after_unpin_net = v->dec.vm_after_net;
	if (v->dec.leak) {
		v->n.leaked_pins = v->dec.leaked_pins;
		fail(v, "pin leak: %s", v->dec.release_failure);
	}
	return 0;
}

void validate_get_counts(const struct validate *v, struct validate_counts *out)
{
	/* The sampler updates the counters under the lock: a live read takes it too. */
	pthread_mutex_lock((pthread_mutex_t *)&v->lock);
	*out = v->n;
	pthread_mutex_unlock((pthread_mutex_t *)&v->lock);
	out->pin_ms = v->started && v->began ? ms_between(&v->t_begin, &v->t_start) : 0;
	out->unpin_ms = v->finished && v->stopped ? ms_between(&v->t_stop, &v->t_finish) : 0;
}

bool validate_verdict(const struct validate *v, char *reason, size_t len)
{
	const char *why = NULL;

	if (v->failure[0])
		why = v->failure;
	else if (!v->started)
		why = "the pins were never validated (validate_target_start did not run)";
	else if (v->began && !v->finished)
		/* A baseline means the watcher pins and unpins itself: the release must be checked. */
		why = "the release check did not run (validate_release_check after unpinning)";
	if (why && reason && len)
		snprintf(reason, len, "%s", why);
	return !why;
}

bool validate_pfns_hidden(const struct validate *v)
{
	return v->pfn_hidden;
}

const char *validate_skipped(const struct validate *v)
{
	if (!v->pfn_hidden)
		return NULL;
	return v->devmap ? "frame stability and the devmap range check: the target's pagemap hides PFNs from a reader without CAP_SYS_ADMIN (pages were still checked present)"
			 : "frame stability: the target's pagemap hides PFNs from a reader without CAP_SYS_ADMIN (pages were still checked present)";
}

int validate_fill_report(const struct validate *v, struct report *r)
{
	struct validate_counts n;
	char reason[512];
	bool ok = validate_verdict(v, reason, sizeof(reason));
	int ret = 0;

	validate_get_counts(v, &n);
	ret |= report_set_str(r, "pinning.backend", v->started ? v->backend_name : "none");
	ret |= report_set_str(r, "pinning.backend_why", v->backend_why);
	ret |= report_set_u64(r, "pinning.pinned_pages", n.pinned_pages);
	ret |= report_set_u64(r, "pinning.expected_pages", n.expected_pages);
	ret |= report_set_u64(r, "pinning.page_size", v->unit);
	ret |= report_set_u64(r, "pinning.mapped_bytes", v->mapped_bytes);
	ret |= report_set_str(r, "pinning.evidence", validate_evidence_name(n.evidence));
	ret |= report_set_str(r, "pinning.evidence_why", v->dec.why);
	if (v->began) {
		ret |= report_set_i64(r, "pinning.vmstat_while_pinning.acquired", n.vmstat_pinning_acquired);
		ret |= report_set_i64(r, "pinning.vmstat_while_pinning.released", n.vmstat_pinning_released);
		ret |= report_set_bool(r, "pinning.vmstat_refreshed", v->rd.vmstat_refreshed);
	}
	ret |= report_set_str(r, "pinning.own_counter", v->own_field ? v->own_field : "none");
	if (v->own_field)
		ret |= report_set_i64(r, "pinning.own_counter_while_pinning_kib", n.own_pinning_kib);
	if (v->finished && !v->rd.attached) {
		ret |= report_set_i64(r, "pinning.vmstat_after_unpin.net", n.vmstat_after_unpin_net);
		if (v->own_field && v->rd.own_after_readable)
			ret |= report_set_i64(r, "pinning.own_counter_after_unpin_kib", n.own_after_unpin_kib);
	}
	ret |= report_set_u64(r, "pinning.leaked_pins", n.leaked_pins);
	if (v->rd.attached) {
		ret |= report_set_i64(r, "pinning.vmstat_at_attach.net", v->dec.vm_net_at_attach);
		ret |= report_set_bool(r, "pinning.vmstat_refreshed", v->rd.vmstat_refreshed);
		ret |= report_set_u64(r, "pinning.own_counter_not_pins_kib", v->rd.own_not_pins_kib);
		ret |= report_set_u64(r, "pinning.outside_pins", v->dec.outside_pins);
		if (v->finished) {
			ret |= report_set_i64(r, "pinning.vmstat_after_exit.released", v->dec.exit_released);
			ret |= report_set_i64(r, "pinning.vmstat_after_exit.net", v->dec.vm_after_net);
		}
	}
	ret |= report_set_u64(r, "validation.samples", n.samples);
	ret |= report_set_u64(r, "validation.pages_checked", n.pages_checked);
	ret |= report_set_u64(r, "validation.pfn_changes", n.pfn_changes);
	ret |= report_set_u64(r, "validation.not_present", n.not_present);
	ret |= report_set_u64(r, "validation.outside_devmap", n.outside_devmap);
	ret |= report_set_u64(r, "validation.transient_unmapped", n.transient_unmapped);
	if (v->attached) {
		ret |= report_set_bool(r, "validation.target_exited", n.target_exited);
		ret |= report_set_u64(r, "validation.unmapped_by_target", n.unmapped_by_target);
		ret |= report_set_u64(r, "validation.moved_unpinned", n.moved_unpinned);
	}
	ret |= report_set_u64(r, "validation.interval_ms", v->cfg.interval_ms);
	ret |= report_set_double(r, "validation.sampler_cpu_ms", n.sampler_cpu_ms);
	ret |= report_set_u64(r, "validation.sampler_pages", n.sampler_pages);
	ret |= report_set_double(r, "timing.snapshot_ms", n.snapshot_ms);
	ret |= report_set_bool(r, "validation.passed", ok);
	if (!ok)
		ret |= report_set_str(r, "validation.failure", reason);
	if (v->note[0])
		ret |= report_set_str(r, "validation.note", v->note);
	ret |= report_set_bool(r, "validation.frames_checked", v->started && !v->pfn_hidden);
	if (v->pfn_hidden)
		ret |= report_set_str(r, "validation.skipped", validate_skipped(v));
	ret |= report_set_double(r, "timing.pin_ms", n.pin_ms);
	ret |= report_set_double(r, "timing.unpin_ms", n.unpin_ms);
	return ret ? -EINVAL : 0;
}
