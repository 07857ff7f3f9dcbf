/* Populating a backing before it is pinned: the mechanism per kind (see backing.h). */
#include "memory/backing.h"

int backing_populate(const struct backing *b, unsigned threads, volatile sig_atomic_t *cancel,
		     populate_progress_fn progress, void *opaque, struct populate_result *res,
		     struct err *e)
{
	struct populate_request req = {
		.host = b->host,
		.size = b->size,
		.page_size = b->page_size,
		.threads = threads,
		/* No fallocate first for shmem (.fd, .fallocate_first): one fallocate allocates on
		 * one thread under the inode lock, and on a host that backs guest memory lazily its
		 * slow rounds were far slower than N threads faulting in (2 GiB memfd, 8 interleaved
		 * rounds: 314-6,054 ms, median ~2,000, against 434-1,760, median ~520;
		 * docs/perf-ready.md round 4). bench/prefault still measures it. */
		.fd = -1,
		.cancel = cancel,
		.progress = progress,
		.opaque = opaque,
	};

	/* devdax: no populate pass. Its pages need no allocation or zeroing, and the pin's own
	 * fault-in maps them at 2 MiB; populating first only walked the range twice (lab 6.1,
	 * VFIO on /dev/dax0.0: pin-check 982 -> 330 ms at 256 MiB, 1,971 -> 667 ms at 512 MiB,
	 * medians of 3; docs/perf-ready.md). */
	if (b->kind == BACKING_DEVDAX) {
		if (res)
			*res = (struct populate_result){ .threads = 0, .method = "none", .ms = 0 };
		return 0;
	}
	return populate_range(&req, res, e);
}
