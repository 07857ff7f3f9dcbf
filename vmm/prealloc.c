/* --prealloc-threads: populate guest RAM in parallel before pinning (see prealloc.h). */
#include "vmm/prealloc.h"

#include <stdio.h>

#include "common/size.h"

static void progress_line(uint64_t done, uint64_t total, double secs, void *opaque)
{
	char a[32], b[32], r[32];

	*(bool *)opaque = true;
	fprintf(stdout, "\r  populating guest RAM: %s of %s (%s/s)   ", size_format(done, a, sizeof(a)),
		size_format(total, b, sizeof(b)),
		size_format(secs > 0 ? (uint64_t)((double)done / secs) : 0, r, sizeof(r)));
	fflush(stdout);
}

int prealloc_backing(const struct backing *b, unsigned threads, bool live,
		     volatile sig_atomic_t *cancel, struct populate_result *res, struct err *e)
{
	bool printed = false;
	struct populate_request req = {
		.host = b->host,
		.size = b->size,
		.page_size = b->page_size,
		.threads = threads,
		.fd = b->fd,
		.fd_offset = b->offset,
		/* shmem: one fallocate allocates 4 KiB pages faster than faulting them in. */
		.fallocate_first = b->kind == BACKING_MEMFD || b->kind == BACKING_TMPFS,
		.cancel = cancel,
		.progress = live ? progress_line : NULL,
		.opaque = &printed,
	};
	int ret = populate_range(&req, res, e);

	if (printed) {
		fprintf(stdout, "\r%*s\r", 72, "");
		fflush(stdout);
	}
	return ret;
}

void prealloc_pin_line(const struct backing *b, bool live, bool done)
{
	char a[32];

	if (!live)
		return;
	if (done)
		fprintf(stdout, "\r%*s\r", 72, "");
	else
		fprintf(stdout, "\r  pinning guest RAM: %s ...   ", size_format(b->size, a, sizeof(a)));
	fflush(stdout);
}

void prealloc_pin_progress(uint64_t done, uint64_t total, double secs, void *opaque)
{
	char a[32], b[32], r[32];

	(void)opaque;
	fprintf(stdout, "\r  pinning guest RAM: %s of %s (%s/s)   ", size_format(done, a, sizeof(a)),
		size_format(total, b, sizeof(b)),
		size_format(secs > 0 ? (uint64_t)((double)done / secs) : 0, r, sizeof(r)));
	fflush(stdout);
}
