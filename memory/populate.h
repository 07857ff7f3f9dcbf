/* Parallel prefault of guest RAM before it is pinned: N threads fault in chunks of the
 * mapping (allocate, zero, map), so the single-threaded pin only walks present pages. */
#ifndef DAXVM_MEMORY_POPULATE_H
#define DAXVM_MEMORY_POPULATE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* Called from one thread about every 200 ms and once at the end: bytes done so far. */
typedef void (*populate_progress_fn)(uint64_t done, uint64_t total, double secs, void *opaque);

struct populate_request {
	void *host;			/* the mapping, page_size aligned */
	uint64_t size;			/* bytes, a multiple of page_size */
	uint64_t page_size;		/* backing page size (chunks are whole pages) */
	unsigned threads;		/* 0 = populate_default_threads() */
	int fd;				/* shmem file behind the mapping for fallocate, else -1 */
	uint64_t fd_offset;		/* file offset of host, bytes */
	bool fallocate_first;		/* fallocate(fd) the range on one thread, then map it */
	volatile sig_atomic_t *cancel;	/* non-zero (e.g. SIGINT seen) stops at the next chunk with
					 * -EINTR; NULL = never */
	populate_progress_fn progress;	/* NULL = none */
	void *opaque;
	/* Test seam: called for each chunk instead of MADV_POPULATE_WRITE (from any worker);
	 * returns 0 or -errno. NULL in daxvm. Lets a unit test see the chunks cover the range
	 * exactly once and inject a failure mid-way. */
	int (*chunk_fn)(void *p, uint64_t off, uint64_t len, void *opaque);
	void *chunk_opaque;
};

struct populate_result {
	unsigned threads;		/* threads that actually ran (thread creation may fall short) */
	const char *method;		/* "madvise" (MADV_POPULATE_WRITE), "fallocate+madvise", or
					 * "touch" (pre-5.14 kernels) */
	double ms;			/* wall time */
};

/* Online CPUs (at least 1): QEMU's and cloud-hypervisor's default prefault thread count. */
unsigned populate_default_threads(void);

/* Faults in every page of the range writable on up to req->threads threads, each taking
 * the next chunk from a shared cursor (MADV_POPULATE_WRITE, Linux 5.14; older kernels get
 * a content-preserving write per page). With fallocate_first the file's pages are
 * allocated first by one fallocate() (shmem serialises it on the inode lock anyway, and it
 * measured faster than faulting 4 KiB shmem pages in: docs/perf-ready.md); the threads
 * then only map them. Returns 0, or -errno with one sentence naming the
 * offset and the cause (e.g. the hugetlb pool ran out); on every path all threads it
 * started have been joined and nothing else is left behind. res may be NULL. */
int populate_range(const struct populate_request *req, struct populate_result *res,
		   struct err *e);

#endif
