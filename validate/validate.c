/* The pin validator: counts pins (vmstat + this process's VmPin/VmLck), snapshots the PFN of
 * every backing page at pin time, re-checks a rotating window from a sampler thread, checks
 * devdax ranges, and after unpinning proves that every pin was released. */
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
#include "validate/vmstat.h"

#define DEFAULT_WINDOW 65536u
#define SNAP_GONE UINT64_MAX	/* snapshot marker: page seen not present */

struct seg {
	uint64_t iova, vaddr, size, page_size;	/* the mapping (bytes) */
	size_t first;				/* index of its first page in snap[] */
	size_t nr;				/* backing pages */
};

struct validate {
	struct validate_config cfg;
	struct backing_phys_range ranges[BACKING_MAX_RANGES];
	enum pin_backend backend;
	char backend_why[160];
	const char *own_field;		/* "VmPin", "VmLck" or NULL (mock, none) */
	int pm_fd;

	struct seg *segs;
	size_t nr_segs;
	uint64_t *snap;			/* PFN per backing page at pin time */
	uint64_t *buf;			/* pagemap entries of one window */
	size_t total;			/* backing pages */
	uint64_t mapped_bytes;
	uint64_t unit;			/* common page size of all mappings, bytes */
	size_t cursor;			/* next page the sampler looks at */

	struct vmstat_pins base, at_start, at_finish;
	uint64_t own_base, own_start, own_finish;	/* KiB of the backend's counter */
	uint64_t own_base_lck;		/* VmLck at begin, KiB (own_base holds VmPin until start) */
	uint64_t own_before_unmap;	/* KiB, set by the pre-unmap hook */
	bool own_ok;			/* own counter readable at begin */

	struct validate_counts n;
	bool pfn_hidden, began, started, stopped, finished;
	char failure[384];		/* the first failed check */
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
	if (cfg->nr_ranges)
		memcpy(v->ranges, cfg->ranges, cfg->nr_ranges * sizeof(*v->ranges));
	v->cfg.ranges = v->ranges;
	v->pm_fd = -1;
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	*out = v;
	return 0;
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

int validate_begin(struct validate *v, struct err *e)
{
	int ret;

	ret = vmstat_read_pins(&v->base, e);
	if (ret)
		return ret;
	/* The backend is not known yet: keep both (VmPin since Linux 4.2, VmLck much older). */
	v->own_ok = vmstat_self_kib("VmPin", &v->own_base, NULL) == 0 &&
		    vmstat_self_kib("VmLck", &v->own_base_lck, NULL) == 0;
	v->began = true;
	/* timing.pin_ms starts here: pinning is what the caller does next. */
	clock_gettime(CLOCK_MONOTONIC, &v->t_begin);
	return 0;
}

static int own_read(struct validate *v, uint64_t *kib)
{
	if (!v->own_field)
		return -ENOENT;
	return vmstat_self_kib(v->own_field, kib, NULL);
}

/* Pre/post hook around each unmap: this process's pinned-KiB counter must drop by the
 * mapping's size (pins are released synchronously on the kernels we support). */
static void unmap_hook(const struct pin_mapping_view *m, bool done, void *opaque)
{
	struct validate *v = opaque;
	uint64_t now = 0, want = m->size / 1024;

	if (!v->own_field)
		return;
	if (!done) {
		own_read(v, &v->own_before_unmap);
		return;
	}
	/* Some kernels fold the release in a work item: allow it 200 ms. */
	for (int i = 0; i < 40; i++) {
		if (own_read(v, &now) || v->own_before_unmap < now || v->own_before_unmap - now >= want)
			break;
		usleep(5000);
	}
	if (v->own_before_unmap >= now && v->own_before_unmap - now >= want)
		return;
	{
		uint64_t kept = v->own_before_unmap >= now ? want - (v->own_before_unmap - now) : want;

		v->n.leaked_pins += kept * 1024 / (v->backend == PIN_VFIO ? 4096 : m->page_size);
		fail(v, "pin leak: after unmapping iova [0x%" PRIx64 ", 0x%" PRIx64 ") %s dropped by only %" PRIu64
		     " of %" PRIu64 " KiB: %" PRIu64 " KiB stay pinned",
		     m->iova, m->iova + m->size, v->own_field,
		     v->own_before_unmap >= now ? v->own_before_unmap - now : 0, want, kept);
	}
}

struct collect {
	struct validate *v;
	int ret;
};

static int collect_seg(const struct pin_mapping_view *m, void *data)
{
	struct collect *col = data;
	struct validate *v = col->v;
	struct seg *s;

	if (v->nr_segs % 16 == 0) {
		struct seg *n = realloc(v->segs, (v->nr_segs + 16) * sizeof(*n));

		if (!n)
			return col->ret = -ENOMEM;
		v->segs = n;
	}
	s = &v->segs[v->nr_segs++];
	s->iova = m->iova;
	s->vaddr = m->vaddr & ~(m->page_size - 1);
	s->size = m->size;
	s->page_size = m->page_size;
	s->first = v->total;
	s->nr = (size_t)(((m->vaddr + m->size + m->page_size - 1) & ~(m->page_size - 1)) - s->vaddr) /
		m->page_size;
	v->total += s->nr;
	v->mapped_bytes += m->size;
	v->unit = !v->unit || v->unit == m->page_size ? m->page_size : 4096;
	return 0;
}

static bool in_devmap(const struct validate *v, uint64_t pfn, uint64_t page_size)
{
	uint64_t start = pfn * 4096, last = start + page_size - 1;

	for (unsigned i = 0; i < v->cfg.nr_ranges; i++)
		if (start >= v->ranges[i].start && last <= v->ranges[i].end)
			return true;
	return false;
}

static uint64_t seg_addr(const struct seg *s, size_t idx)
{
	return s->iova + (uint64_t)(idx - s->first) * s->page_size;
}

/* Compares entries of pages [idx, idx+n) of s with the snapshot. */
static void compare(struct validate *v, const struct seg *s, size_t idx, size_t n, const uint64_t *ent)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t en = ent[i];

		/* Compaction and NUMA balancing try to migrate even pinned pages: the PTE holds a
		 * migration entry until the kernel sees the pin and restores it. Re-read for up to
		 * 50 ms; back at the same frame is a refused migration, not a failure. */
		for (int t = 0; !(en & PAGEMAP_PRESENT) && v->snap[idx + i] != SNAP_GONE && t < 50; t++) {
			usleep(1000);
			if (pagemap_read(v->pm_fd, s->vaddr + (uint64_t)(idx + i - s->first) * s->page_size,
					 s->page_size, 1, &en, NULL))
				break;
			if ((en & PAGEMAP_PRESENT) && pagemap_pfn(en) == v->snap[idx + i])
				v->n.transient_unmapped++;
		}
		/* Each event is counted once: the snapshot follows the page afterwards. */
		if (!(en & PAGEMAP_PRESENT)) {
			if (v->snap[idx + i] != SNAP_GONE) {
				v->n.not_present++;
				if (v->cfg.devmap)
					fail(v, "hazard: devdax page at 0x%" PRIx64 " vanished from the page tables "
					     "under a live pin: the device was torn down (disabled or unbound) "
					     "while pinned, and DMA may still reach memory the kernel took back",
					     seg_addr(s, idx + i));
				else
					fail(v, "guest page at 0x%" PRIx64 " is no longer present in the page tables",
					     seg_addr(s, idx + i));
				v->snap[idx + i] = SNAP_GONE;
			}
		} else if (pagemap_pfn(en) != v->snap[idx + i]) {
			v->n.pfn_changes++;
			fail(v, "pinned guest page at 0x%" PRIx64 " moved from PFN 0x%" PRIx64 " to 0x%" PRIx64,
			     seg_addr(s, idx + i), v->snap[idx + i], pagemap_pfn(en));
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
		int ret = pagemap_read(v->pm_fd, s->vaddr, s->page_size, s->nr, &v->snap[s->first], e);

		if (ret)
			return ret;
		for (size_t i = s->first; i < s->first + s->nr; i++) {
			uint64_t en = v->snap[i];

			v->snap[i] = pagemap_pfn(en);
			if (!(en & PAGEMAP_PRESENT)) {
				v->n.not_present++;
				fail(v, "pinned guest page at 0x%" PRIx64 " is not present at pin time",
				     seg_addr(s, i));
				v->snap[i] = SNAP_GONE;
			}
			if (!v->snap[i] && (en & PAGEMAP_PRESENT))
				zero_pfns++;
			else if (v->cfg.devmap && (en & PAGEMAP_PRESENT) && !in_devmap(v, v->snap[i], s->page_size))
				v->n.outside_devmap++;
		}
	}
	if (zero_pfns && zero_pfns == v->total) {
		v->pfn_hidden = true;
		fail(v, "/proc/self/pagemap hides PFNs from this process: run as root (CAP_SYS_ADMIN) so frames can be checked");
	}
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
		const struct seg *s;
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
		ret = pagemap_read(v->pm_fd, s->vaddr + (uint64_t)(v->cursor - s->first) * s->page_size,
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
		if (sample_window(v, v->cfg.window_pages, NULL))
			fail(v, "reading /proc/self/pagemap failed during sampling");
		v->n.samples++;
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

int validate_start(struct validate *v, struct pin_container *c, struct err *e)
{
	struct collect col = { .v = v };
	uint64_t own_now = 0;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &v->t_start);
	if (!v->began)
		return err_set(e, -EINVAL, "validate_start called without validate_begin before pinning");
	v->backend = pin_container_backend(c);
	snprintf(v->backend_why, sizeof(v->backend_why), "%s", pin_container_why(c));
	v->own_field = v->backend == PIN_IO_URING || v->backend == PIN_IOMMUFD ? "VmPin"
		       : v->backend == PIN_VFIO ? "VmLck" : NULL;
	if (v->own_field && !strcmp(v->own_field, "VmLck"))
		v->own_base = v->own_base_lck;
	ret = pin_for_each_mapping(c, collect_seg, &col);
	if (ret || col.ret)
		return err_set(e, -ENOMEM, "out of memory listing the mappings");
	if (!v->unit)
		v->unit = 4096;
	for (size_t k = 0; k < v->nr_segs; k++)
		v->n.expected_pages += v->segs[k].nr;
	/* VFIO type1 pins PFN by PFN (vaddr_get_pfns), one pin per 4 KiB page whatever the
	 * folio size; io_uring keeps one per folio (6.10+ coalescing). Count as each does. */
	if (v->backend == PIN_VFIO) {
		v->unit = 4096;
		v->n.expected_pages = v->mapped_bytes / 4096;
	}

	/* Pin counts. */
	ret = vmstat_read_pins(&v->at_start, e);
	if (ret)
		return ret;
	v->n.vmstat_acquired_delta = (int64_t)(v->at_start.acquired - v->base.acquired);
	v->n.vmstat_released_delta = (int64_t)(v->at_start.released - v->base.released);
	if (!v->own_field) {
		/* mock: bookkeeping only, nothing for the kernel to count. */
		v->n.pinned_pages = pin_container_pinned_pages(c);
		if (v->n.pinned_pages != v->n.expected_pages)
			fail(v, "the container counts %" PRIu64 " pins but the mappings need %" PRIu64,
			     v->n.pinned_pages, v->n.expected_pages);
	} else {
		bool own_exact = v->own_ok && own_read(v, &own_now) == 0;

		/* VFIO does not charge reserved pages (ZONE_DEVICE is marked reserved, 6.1) to locked_vm. */
		if (v->backend == PIN_VFIO && v->cfg.devmap)
			own_exact = false;
		if (own_exact) {
			v->own_start = own_now;
			v->n.own_pinned_kib = own_now >= v->own_base ? own_now - v->own_base : 0;
			v->n.pinned_pages = v->n.own_pinned_kib * 1024 / v->unit;
			if (v->n.own_pinned_kib * 1024 != v->mapped_bytes)
				fail(v, "%s of this process grew by %" PRIu64 " KiB while %" PRIu64
				     " KiB were mapped: the kernel did not pin exactly the mapped memory",
				     v->own_field, v->n.own_pinned_kib, v->mapped_bytes / 1024);
		} else {
			v->n.pinned_pages = (uint64_t)(v->n.vmstat_acquired_delta - v->n.vmstat_released_delta);
			snprintf(v->note, sizeof(v->note),
				 "%s does not count these pins; pinned_pages is the system-wide vmstat net delta",
				 v->own_field);
			v->own_field = NULL;
		}
		/* Foreign pins only add to acquired: fewer than expected is a real shortfall.
		 * GUP counts every 4 KiB page it pins, whatever the folio size (io_uring drops
		 * the extra pins of a large folio afterwards, 6.10+), so compare 4 KiB pages. */
		if (v->n.vmstat_acquired_delta < (int64_t)(v->mapped_bytes / 4096))
			fail(v, "nr_foll_pin_acquired grew by %" PRId64 ", fewer than the %" PRIu64
			     " 4 KiB pages mapped: the memory was not pinned with FOLL_PIN",
			     v->n.vmstat_acquired_delta, v->mapped_bytes / 4096);
		if (!v->at_start.refreshed && !v->note[0])
			snprintf(v->note, sizeof(v->note),
				 "vm.stat_refresh was not writable: vmstat deltas may lag by per-CPU batches");
	}

	/* Frames. */
	v->pm_fd = pagemap_open(e);
	if (v->pm_fd < 0)
		return v->pm_fd;
	ret = snapshot(v, e);
	if (ret)
		return ret;
	pin_set_unmap_hook(c, unmap_hook, v);
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
	if (v->started && !v->stopped) {
		/* One full sweep right before unpinning: every page is checked at least once. */
		v->cursor = 0;
		ret = sample_window(v, v->total, e);
		v->n.samples++;
	}
	v->stopped = true;
	clock_gettime(CLOCK_MONOTONIC, &v->t_stop);
	return ret;
}

int validate_finish(struct validate *v, struct err *e)
{
	int64_t acq, rel;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &v->t_finish);
	if (!v->began)
		return err_set(e, -EINVAL, "validate_finish called without validate_begin");
	ret = vmstat_read_pins(&v->at_finish, e);
	if (ret)
		return ret;
	acq = (int64_t)(v->at_finish.acquired - v->base.acquired);
	rel = (int64_t)(v->at_finish.released - v->base.released);
	v->n.vmstat_final_net = acq - rel;
	v->finished = true;
	if (!v->started || v->backend == PIN_MOCK || v->backend == PIN_NONE)
		return 0;
	if (v->own_field && own_read(v, &v->own_finish) == 0) {
		/* Exact for this process: anything above the pre-pin value is still pinned. */
		if (v->own_finish > v->own_base) {
			uint64_t kib = v->own_finish - v->own_base;
			uint64_t pins = kib * 1024 / v->unit;

			if (v->n.vmstat_final_net > 0 && (uint64_t)v->n.vmstat_final_net > pins)
				pins = (uint64_t)v->n.vmstat_final_net;
			if (pins > v->n.leaked_pins)
				v->n.leaked_pins = pins;
			fail(v, "pin leak: after unmapping every IOVA range (iova 0x%" PRIx64 " .. 0x%" PRIx64
			     ") %s is still %" PRIu64 " KiB above its value before pinning (%" PRIu64
			     " pins not released; vmstat net %" PRId64 ")",
			     v->nr_segs ? v->segs[0].iova : 0,
			     v->nr_segs ? v->segs[v->nr_segs - 1].iova + v->segs[v->nr_segs - 1].size : 0,
			     v->own_field, kib, pins, v->n.vmstat_final_net);
		} else if (v->n.vmstat_final_net > 0) {
			snprintf(v->note, sizeof(v->note),
				 "vmstat shows %" PRId64 " more pins acquired than released system-wide, but %s of "
				 "this process is back to its pre-pin value: another process holds them",
				 v->n.vmstat_final_net, v->own_field);
		}
	} else if (v->n.vmstat_final_net > 0) {
		/* No per-process counter: the system-wide delta is all we have (the lab is isolated). */
		v->n.leaked_pins = (uint64_t)v->n.vmstat_final_net;
		fail(v, "pin leak: %" PRId64 " more pins acquired than released system-wide since pinning "
		     "iova 0x%" PRIx64 " .. 0x%" PRIx64,
		     v->n.vmstat_final_net, v->nr_segs ? v->segs[0].iova : 0,
		     v->nr_segs ? v->segs[v->nr_segs - 1].iova + v->segs[v->nr_segs - 1].size : 0);
	}
	return 0;
}

void validate_get_counts(const struct validate *v, struct validate_counts *out)
{
	/* The sampler updates the counters under the lock: a live read takes it too. */
	pthread_mutex_lock((pthread_mutex_t *)&v->lock);
	*out = v->n;
	pthread_mutex_unlock((pthread_mutex_t *)&v->lock);
	out->pin_ms = v->started ? ms_between(&v->t_begin, &v->t_start) : 0;
	out->unpin_ms = v->finished && v->stopped ? ms_between(&v->t_stop, &v->t_finish) : 0;
}

bool validate_verdict(const struct validate *v, char *reason, size_t len)
{
	const char *why = NULL;

	if (v->failure[0])
		why = v->failure;
	else if (!v->began || !v->started)
		why = "the pins were never validated (validate_start did not run)";
	else if (!v->finished)
		why = "the release check did not run (validate_finish after unpinning)";
	if (why && reason && len)
		snprintf(reason, len, "%s", why);
	return !why;
}

int validate_fill_report(const struct validate *v, struct report *r)
{
	struct validate_counts n;
	char reason[512];
	bool ok = validate_verdict(v, reason, sizeof(reason));
	int ret = 0;

	validate_get_counts(v, &n);
	ret |= report_set_str(r, "pinning.backend", pin_backend_name(v->backend));
	ret |= report_set_str(r, "pinning.backend_why", v->backend_why);
	ret |= report_set_u64(r, "pinning.pinned_pages", n.pinned_pages);
	ret |= report_set_u64(r, "pinning.expected_pages", n.expected_pages);
	ret |= report_set_u64(r, "pinning.page_size", v->unit);
	ret |= report_set_u64(r, "pinning.mapped_bytes", v->mapped_bytes);
	ret |= report_set_i64(r, "pinning.vmstat_acquired_delta", n.vmstat_acquired_delta);
	ret |= report_set_i64(r, "pinning.vmstat_released_delta", n.vmstat_released_delta);
	ret |= report_set_i64(r, "pinning.vmstat_final_net", n.vmstat_final_net);
	ret |= report_set_u64(r, "pinning.own_pinned_kib", n.own_pinned_kib);
	ret |= report_set_str(r, "pinning.own_counter", v->own_field ? v->own_field : "none");
	ret |= report_set_u64(r, "pinning.leaked_pins", n.leaked_pins);
	ret |= report_set_u64(r, "validation.samples", n.samples);
	ret |= report_set_u64(r, "validation.pages_checked", n.pages_checked);
	ret |= report_set_u64(r, "validation.pfn_changes", n.pfn_changes);
	ret |= report_set_u64(r, "validation.not_present", n.not_present);
	ret |= report_set_u64(r, "validation.outside_devmap", n.outside_devmap);
	ret |= report_set_u64(r, "validation.transient_unmapped", n.transient_unmapped);
	ret |= report_set_u64(r, "validation.interval_ms", v->cfg.interval_ms);
	ret |= report_set_bool(r, "validation.passed", ok);
	if (!ok)
		ret |= report_set_str(r, "validation.failure", reason);
	if (v->note[0])
		ret |= report_set_str(r, "validation.note", v->note);
	ret |= report_set_double(r, "timing.pin_ms", n.pin_ms);
	ret |= report_set_double(r, "timing.unpin_ms", n.unpin_ms);
	return ret ? -EINVAL : 0;
}
