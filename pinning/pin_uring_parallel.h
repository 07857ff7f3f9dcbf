/* Parallel io_uring registration of a mapping's 1 GiB buffers (private to pin_uring.c). */
#ifndef DAXVM_PINNING_PIN_URING_PARALLEL_H
#define DAXVM_PINNING_PIN_URING_PARALLEL_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pinning/pin.h"

/* Fills slots [first, first + n) of ring's buffer table with iov[0..n) (new_table: first
 * registers an empty table of nr_slots; else the slots exist and are empty), pinning on
 * up to threads threads: each buffer is registered on a temporary ring by a worker, then
 * cloned into ring (IORING_REGISTER_CLONE_BUFFERS with offsets, Linux 6.13), which moves
 * the pinned pages without pinning them again; fn (may be NULL) hears the bytes pinned
 * after each buffer. Returns 0; 1 when the kernel cannot clone into offsets (the table is
 * as before: the caller registers the usual way); or the first registration's -errno,
 * after which every temporary ring is closed, the new table dropped or the filled slots
 * emptied, and nothing of iov stays pinned. */
int uring_register_parallel(struct io_uring *ring, const struct iovec *iov, unsigned n,
			    unsigned first, unsigned nr_slots, bool new_table, unsigned threads,
			    pin_progress_fn fn, void *opaque);

#endif
