/* --prealloc-threads: guest RAM is populated on N threads before it is pinned, with a
 * progress line on a terminal. Called by the pinning stage (vmm/session_pin.c). */
#ifndef DAXVM_VMM_PREALLOC_H
#define DAXVM_VMM_PREALLOC_H

#include <signal.h>
#include <stdbool.h>

#include "common/err.h"
#include "pinning/backing.h"
#include "pinning/populate.h"

/* Populates the whole backing mapping on threads threads (0 = CPU count), choosing the
 * mechanism for its kind (shmem: fallocate, then map on N threads; others: N threads of
 * MADV_POPULATE_WRITE). live: print "populating X of Y (rate)" on stdout every 200 ms.
 * cancel stops it (-EINTR). Fills res; 0 or -errno with one sentence in e. */
int prealloc_backing(const struct backing *b, unsigned threads, bool live,
		     volatile sig_atomic_t *cancel, struct populate_result *res, struct err *e);

/* The pin's progress line on a terminal: "pinning X ..." before it, cleared after. */
void prealloc_pin_line(const struct backing *b, bool live, bool done);

/* pin_progress_fn for pin_container_set_parallel: "pinning X of Y (rate)" on stdout. */
void prealloc_pin_progress(uint64_t done, uint64_t total, double secs, void *opaque);

#endif
