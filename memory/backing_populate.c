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
		.fd = b->fd,
		.fd_offset = b->offset,
		/* shmem: one fallocate allocates 4 KiB pages faster than faulting them in
		 * (docs/perf-ready.md). */
		.fallocate_first = b->kind == BACKING_MEMFD || b->kind == BACKING_TMPFS,
		.cancel = cancel,
		.progress = progress,
		.opaque = opaque,
	};

	return populate_range(&req, res, e);
}
