/* Parallel io_uring registration of a mapping's 1 GiB buffers (private to pin_uring.c). */
#ifndef DAXVM_PINNING_PIN_URING_PARALLEL_H
#define DAXVM_PINNING_PIN_URING_PARALLEL_H

#include <liburing.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pinning/pin.h"

/* Fills slots [0, n) of a new nr_slots-slot buffer table of ring with iov[0..n), pinning on
 * up to threads threads: each buffer is registered on a temporary ring by a worker, then
 * cloned into ring (IORING_REGISTER_CLONE_BUFFERS with offsets, Linux 6.13), which moves
 * the pinned pages without pinning them again; fn (may be NULL) hears the bytes pinned
 * after each buffer. Returns 0; 1 when the kernel cannot clone into offsets (no table is
 * left: the caller registers the usual way); or the first registration's -errno,
 * after which every temporary ring is closed, the table is dropped and nothing stays
 * pinned. */
int uring_register_parallel(struct io_uring *ring, const struct iovec *iov, unsigned n,
			    unsigned nr_slots, unsigned threads, pin_progress_fn fn, void *opaque);

#endif
