/* Parallel prefault of guest RAM (see populate.h). On 4 KiB shmem and anonymous memory
 * first touch (allocate + zero + map) dominates the time to pin; io_uring registration does
 * it on one thread, so N threads populating chunks first leave the pin only a walk over
 * present pages (bench/ready, docs/perf-ready.md). */
#include "memory/populate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/size.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif

#define POPULATE_MAX_THREADS 256
#define POPULATE_MAX_CHUNK (64ULL << 20)	/* small enough to balance, large enough to amortise */
#define POPULATE_PROGRESS_NS (200ULL * 1000 * 1000)

struct populate_ctx {
	const struct populate_request *req;
	uint64_t chunk;			/* bytes per work item, a multiple of page_size */
	uint64_t next;			/* cursor: offset of the next chunk (atomic) */
	uint64_t done;			/* bytes populated (atomic) */
	int stop;			/* a thread failed: others stop taking chunks (atomic) */
	bool touch;			/* MADV_POPULATE_WRITE unsupported: write each page */
	pthread_mutex_t lock;		/* first_err, fail_off */
	int first_err;
	uint64_t fail_off;
	uint64_t start_ns, last_progress_ns;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

unsigned populate_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (n > POPULATE_MAX_THREADS ? POPULATE_MAX_THREADS : (unsigned)n) : 1;
}

/* A write that keeps the content (devdax and file backings may hold data). */
static void touch_range(char *p, uint64_t len, uint64_t step)
{
	for (uint64_t off = 0; off < len; off += step)
		__atomic_fetch_add((volatile char *)(p + off), 0, __ATOMIC_RELAXED);
}

static int populate_chunk(struct populate_ctx *c, uint64_t off, uint64_t len)
{
	char *p = (char *)c->req->host + off;

	if (c->req->chunk_fn)
		return c->req->chunk_fn(p, off, len, c->req->chunk_opaque);
	if (c->touch) {
		touch_range(p, len, c->req->page_size < 4096 ? 4096 : c->req->page_size);
		return 0;
	}
	while (madvise(p, len, MADV_POPULATE_WRITE)) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static void fail_at(struct populate_ctx *c, int err, uint64_t off)
{
	pthread_mutex_lock(&c->lock);
	if (!c->first_err || off < c->fail_off) {
		c->first_err = err;
		c->fail_off = off;
	}
	pthread_mutex_unlock(&c->lock);
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
}

static void maybe_progress(struct populate_ctx *c, bool last)
{
	uint64_t now = now_ns();

	if (!c->req->progress || (!last && now - c->last_progress_ns < POPULATE_PROGRESS_NS))
		return;
	c->last_progress_ns = now;
	c->req->progress(__atomic_load_n(&c->done, __ATOMIC_RELAXED), c->req->size,
			 (double)(now - c->start_ns) / 1e9, c->req->opaque);
}

/* One worker: takes chunks until none are left or another failed. reporter = the calling
 * thread, which also drives the progress callback (only it touches last_progress_ns). */
static void work(struct populate_ctx *c, bool reporter)
{
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		uint64_t off = __atomic_fetch_add(&c->next, c->chunk, __ATOMIC_RELAXED);
		uint64_t len;
		int ret;

		if (off >= c->req->size)
			break;
		if (c->req->cancel && *c->req->cancel) {
			fail_at(c, -EINTR, off);
			break;
		}
		len = c->req->size - off < c->chunk ? c->req->size - off : c->chunk;
		ret = populate_chunk(c, off, len);
		if (ret) {
			fail_at(c, ret, off);
			break;
		}
		__atomic_fetch_add(&c->done, len, __ATOMIC_RELAXED);
		if (reporter)
			maybe_progress(c, false);
	}
}

static void *worker(void *arg)
{
	work(arg, false);
	return NULL;
}

static int populate_error(const struct populate_request *req, int err, uint64_t off,
			  struct err *e)
{
	char at[32], total[32], page[32];

	size_format(off, at, sizeof(at));
	size_format(req->size, total, sizeof(total));
	size_format(req->page_size, page, sizeof(page));
	if (err == -ENOMEM || err == -ENOSPC)
		return err_set(e, err,
			       "populating guest RAM ran out of memory %s into %s (%s pages): free memory, "
			       "grow the hugetlb pool or ask for less guest RAM",
			       at, total, page);
	if (err == -EINTR)
		return err_set(e, -EINTR, "populating guest RAM was interrupted %s into %s", at, total);
	if (err == -EFAULT || err == -EINVAL)
		return err_set(e, err,
			       "populating guest RAM failed %s into %s: part of the mapping is not "
			       "accessible (%s)", at, total, strerror(-err));
	return err_set(e, err, "populating guest RAM failed %s into %s: %s", at, total,
		       strerror(-err));
}

int populate_range(const struct populate_request *req, struct populate_result *res,
		   struct err *e)
{
	struct populate_ctx c = { .req = req };
	pthread_t tid[POPULATE_MAX_THREADS];
	unsigned want = req->threads ? req->threads : populate_default_threads();
	unsigned started = 0;
	uint64_t page = req->page_size ? req->page_size : 4096;
	uint64_t t0 = now_ns();

	if (res)
		*res = (struct populate_result){ .threads = 1, .method = "madvise" };
	if (!req->size)
		return 0;
	if (((uintptr_t)req->host | req->size) & (page - 1))
		return err_set(e, -EINVAL, "populate of %" PRIu64 " bytes at %p is not %" PRIu64
			       "-byte aligned", req->size, req->host, page);
	if (want > POPULATE_MAX_THREADS)
		want = POPULATE_MAX_THREADS;
	/* About four chunks per thread, whole pages, at most 64 MiB. */
	c.chunk = req->size / ((uint64_t)want * 4);
	if (c.chunk > POPULATE_MAX_CHUNK)
		c.chunk = POPULATE_MAX_CHUNK;
	c.chunk = c.chunk / page * page;
	if (c.chunk < page)
		c.chunk = page;
	c.start_ns = c.last_progress_ns = t0;
	if (req->fallocate_first && req->fd >= 0) {
		/* Mode 0 keeps the file size; the pages are allocated and zeroed in the kernel. */
		while (fallocate(req->fd, 0, (off_t)req->fd_offset, (off_t)req->size)) {
			if (errno == EINTR)
				continue;
			if (errno == EOPNOTSUPP)
				break;	/* not shmem after all: faulting in does the allocation */
			return populate_error(req, -errno, 0, e);
		}
	}
	pthread_mutex_init(&c.lock, NULL);
	/* Probe the kernel on the first page (EINVAL: no MADV_POPULATE_WRITE before 5.14). */
	if (!req->chunk_fn && madvise(req->host, page, MADV_POPULATE_WRITE)) {
		if (errno != EINVAL) {
			int err = -errno;

			pthread_mutex_destroy(&c.lock);
			return populate_error(req, err, 0, e);
		}
		c.touch = true;
	}
	if (res)
		res->method = c.touch ? "touch" : req->fallocate_first && req->fd >= 0 ? "fallocate+madvise" : "madvise";
	/* Threads beyond the first: a failed pthread_create just means fewer workers. */
	for (unsigned i = 1; i < want && (uint64_t)i * c.chunk < req->size; i++) {
		if (pthread_create(&tid[started], NULL, worker, &c))
			break;
		started++;
	}
	work(&c, true);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&c.lock);
	if (!c.first_err)
		maybe_progress(&c, true);
	if (res) {
		res->threads = started + 1;
		res->ms = (double)(now_ns() - t0) / 1e6;
	}
	return c.first_err ? populate_error(req, c.first_err, c.fail_off, e) : 0;
}
