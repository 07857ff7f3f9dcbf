/* The pin validator core: decides which counter proves a target's pins (evidence.c), snapshots
 * the PFN of every backing page at pin time, re-checks a rotating window from a sampler
 * thread, checks devdax ranges, and (release add-on) proves that every pin was released. The
 * target is any process: everything is read through /proc/PID or injected sources. This file
 * holds the lifecycle and the pin counts; the frames are validate_frames.c, the report
 * validate_report.c. */
#include "validate/validate_priv.h"

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

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

void vd_fail(struct validate *v, const char *fmt, ...)
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

int vd_read_pagemap(struct validate *v, uint64_t vaddr, uint64_t page_size, size_t nr, uint64_t *out,
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
		vd_fail(v, "%s", d->pin_failure);
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
		ret = vd_add_seg(v, &t->ranges[k]);
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
	ret = vd_snapshot(v, e);
	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	v->n.snapshot_ms = ms_between(&t0, &t1);
	v->started = true;
	if (v->cfg.interval_ms) {
		ret = pthread_create(&v->thread, NULL, vd_sampler, v);
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
		ret = vd_sample_window(v, v->total, e);
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
		vd_fail(v, "pin leak: after unmapping every range (iova 0x%" PRIx64 " .. 0x%" PRIx64 ") %s%s%s",
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
		vd_fail(v, "pin leak: %s", v->dec.release_failure);
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
