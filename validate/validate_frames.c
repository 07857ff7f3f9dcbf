/* The validator's frames: the PFN of every backing page at pin time, a sampler thread that
 * re-reads a rotating window of them, and the comparison that tells a moved, vanished or
 * out-of-device page from the target's own unmapping (see validate_priv.h). */
#include "validate/validate_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "validate/pagemap.h"
#include "validate/proc_maps.h"

int vd_add_seg(struct validate *v, const struct validate_range *r)
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
			if (vd_read_pagemap(v, s->vaddr + (uint64_t)(idx + i - s->first) * s->page_size,
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
					vd_fail(v, "hazard: devdax page at 0x%" PRIx64 " vanished from the page tables "
					     "under a live pin: the device was torn down (disabled or unbound) "
					     "while pinned, and DMA may still reach memory the kernel took back",
					     seg_addr(s, idx + i));
				else
					vd_fail(v, "%s page at 0x%" PRIx64 " is no longer present in the page tables",
					     s->label[0] ? s->label : "pinned", seg_addr(s, idx + i));
				v->snap[idx + i] = SNAP_GONE;
			}
		} else if (pagemap_pfn(en) != v->snap[idx + i] && v->unpinned) {
			v->n.moved_unpinned++;	/* nothing pins it: the kernel may move it */
			v->snap[idx + i] = pagemap_pfn(en);
		} else if (pagemap_pfn(en) != v->snap[idx + i]) {
			v->n.pfn_changes++;
			vd_fail(v, "pinned %s page at 0x%" PRIx64 " moved from PFN 0x%" PRIx64 " to 0x%" PRIx64,
			     s->label[0] ? s->label : "guest", seg_addr(s, idx + i), v->snap[idx + i], pagemap_pfn(en));
			v->snap[idx + i] = pagemap_pfn(en);
		}
	}
	v->n.pages_checked += n;
}

int vd_snapshot(struct validate *v, struct err *e)
{
	uint64_t zero_pfns = 0;

	v->snap = calloc(v->total ? v->total : 1, sizeof(*v->snap));
	v->buf = calloc(v->cfg.window_pages, sizeof(*v->buf));
	if (!v->snap || !v->buf)
		return err_set(e, -ENOMEM, "out of memory for the PFN snapshot of %zu pages", v->total);
	for (size_t k = 0; k < v->nr_segs; k++) {
		const struct seg *s = &v->segs[k];
		int ret = vd_read_pagemap(v, s->vaddr, s->page_size, s->nr, &v->snap[s->first], e);

		if (ret)
			return ret;
		for (size_t i = s->first; i < s->first + s->nr; i++) {
			uint64_t en = v->snap[i];

			v->snap[i] = pagemap_pfn(en);
			if (!(en & PAGEMAP_PRESENT) && v->unpinned) {
				v->snap[i] = SNAP_GONE;	/* not faulted in yet: nothing pins it */
			} else if (!(en & PAGEMAP_PRESENT)) {
				v->n.not_present++;
				vd_fail(v, "pinned %s page at 0x%" PRIx64 " is not present at pin time",
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
		vd_fail(v, "%" PRIu64 " pinned pages lie outside the device-dax physical ranges: they are not ZONE_DEVICE pages of the device",
		     v->n.outside_devmap);
	v->n.samples++;
	v->n.pages_checked += v->total;
	return 0;
}

/* Checks up to want pages from the cursor, wrapping around. */
int vd_sample_window(struct validate *v, size_t want, struct err *e)
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
		ret = vd_read_pagemap(v, s->vaddr + (uint64_t)(v->cursor - s->first) * s->page_size,
				 s->page_size, n, v->buf, e);
		if (ret)
			return ret;
		compare(v, s, v->cursor, n, v->buf);
		v->cursor += n;
		want -= n;
	}
	return 0;
}

void *vd_sampler(void *arg)
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
		ret = vd_sample_window(v, v->cfg.window_pages, NULL);
		v->n.sampler_pages += v->total < v->cfg.window_pages ? v->total : v->cfg.window_pages;
		if (ret == -ESRCH && v->attached)
			v->n.target_exited = true;	/* its memory is gone: it exited */
		else if (ret)
			vd_fail(v, "reading the target's pagemap failed during sampling");
		v->n.samples++;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &until);
	v->n.sampler_cpu_ms = (double)until.tv_sec * 1e3 + (double)until.tv_nsec / 1e6;
	pthread_mutex_unlock(&v->lock);
	return NULL;
}
