/* The validator's state, shared by its own files: validate.c (lifecycle, pin counts, release),
 * validate_frames.c (PFN snapshot, sampler, comparison) and validate_report.c (the report).
 * Callers use validate/validate.h. */
#ifndef DAXVM_VALIDATE_VALIDATE_PRIV_H
#define DAXVM_VALIDATE_VALIDATE_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "validate/validate.h"

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

/* Records the first failed check (later ones are counted by the caller, not described). */
__attribute__((format(printf, 2, 3)))
void vd_fail(struct validate *v, const char *fmt, ...);

/* nr pagemap entries from vaddr: the injected source, else the target's /proc/PID/pagemap. */
int vd_read_pagemap(struct validate *v, uint64_t vaddr, uint64_t page_size, size_t nr, uint64_t *out,
		    struct err *e);

/* validate_frames.c */
int vd_add_seg(struct validate *v, const struct validate_range *r);	/* 0, -EINVAL, -ENOMEM */
int vd_snapshot(struct validate *v, struct err *e);	/* the PFN of every page, at start */
int vd_sample_window(struct validate *v, size_t want, struct err *e);	/* want pages from the cursor */
void *vd_sampler(void *arg);	/* the sampler thread: a window every interval until stop_req */

#endif
