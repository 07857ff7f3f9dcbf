/* Parallel pinning on io_uring: one registration pins on one thread (pin_user_pages in the
 * calling task), and a registered buffer is at most 1 GiB. Workers register one buffer each
 * on their own short-lived ring and clone it into the device ring's table, which takes a
 * reference on the pinned pages instead of pinning again; the temporary ring then closes.
 * Each buffer is registered whole (IORING_REGISTER_BUFFERS2), so the kernel's per-hugepage
 * duplicate-accounting scan sees only that buffer (docs/perf-pin.md). */
#include "pinning/pin_uring_parallel.h"
#include "pinning/pin_backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef IORING_REGISTER_CLONE_BUFFERS
#define IORING_REGISTER_CLONE_BUFFERS 30	/* Linux 6.12; offsets and DST_REPLACE 6.13 */
struct io_uring_clone_buffers {
	__u32 src_fd;
	__u32 flags;
	__u32 src_off;
	__u32 dst_off;
	__u32 nr;
	__u32 pad[3];
};
#endif
#ifndef IORING_REGISTER_DST_REPLACE
#define IORING_REGISTER_DST_REPLACE (1U << 1)
#endif

#define PAR_MAX_THREADS 64

struct par_ctx {
	struct io_uring *ring;
	const struct iovec *iov;
	unsigned n;
	unsigned first;			/* slot of iov[0] */
	uint8_t *cloned;		/* per buffer: in the table (error path clears these) */
	unsigned next;			/* next buffer to take (atomic) */
	int stop;			/* a worker failed (atomic) */
	pthread_mutex_t lock;		/* clone into ring, first_err, progress */
	int first_err;
	bool no_clone;			/* the kernel refused the clone itself */
	uint64_t done_bytes, total_bytes;
	struct timespec t0;
	pin_progress_fn fn;
	void *opaque;
};

static int clone_into(struct io_uring *dst, int src_fd, unsigned dst_off)
{
	struct io_uring_clone_buffers arg = {
		.src_fd = (__u32)src_fd,
		.flags = IORING_REGISTER_DST_REPLACE,
		.src_off = 0,
		.dst_off = dst_off,
		.nr = 1,
	};
	int ret = (int)syscall(__NR_io_uring_register, dst->ring_fd, IORING_REGISTER_CLONE_BUFFERS,
			       &arg, 1);

	return ret < 0 ? -errno : 0;
}

/* Registers buffer i on a temporary ring and clones it into slot i of the device ring. */
static int one_buffer(struct par_ctx *c, unsigned i)
{
	struct io_uring tmp;
	int ret = io_uring_queue_init(1, &tmp, 0);

	if (ret)
		return ret;
	ret = io_uring_register_buffers(&tmp, &c->iov[i], 1);
	if (!ret) {
		pthread_mutex_lock(&c->lock);
		ret = clone_into(c->ring, tmp.ring_fd, c->first + i);
		if (ret == -EINVAL)
			c->no_clone = true;
		if (!ret) {
			c->cloned[i] = 1;
			c->done_bytes += c->iov[i].iov_len;
			if (c->fn)
				c->fn(c->done_bytes, c->total_bytes, pin_secs_since(&c->t0), c->opaque);
		}
		pthread_mutex_unlock(&c->lock);
	}
	/* The clone holds its own reference, so dropping the temporary table unpins nothing.
	 * Drop it here, synchronously: a ring's own teardown runs later in a kernel worker and
	 * would hold the last reference past our unmap (VmPin would lag behind it). */
	io_uring_unregister_buffers(&tmp);
	io_uring_queue_exit(&tmp);
	return ret;
}

static void *worker(void *arg)
{
	struct par_ctx *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		unsigned i = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
		int ret;

		if (i >= c->n)
			break;
		ret = one_buffer(c, i);
		if (ret) {
			pthread_mutex_lock(&c->lock);
			if (!c->first_err)
				c->first_err = ret;
			pthread_mutex_unlock(&c->lock);
			__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
			break;
		}
	}
	return NULL;
}

int uring_register_parallel(struct io_uring *ring, const struct iovec *iov, unsigned n,
			    unsigned first, unsigned nr_slots, bool new_table, unsigned threads,
			    pin_progress_fn fn, void *opaque)
{
	struct par_ctx c = { .ring = ring, .iov = iov, .n = n, .first = first, .fn = fn,
			     .opaque = opaque };
	pthread_t tid[PAR_MAX_THREADS];
	unsigned started = 0;
	int ret;

	if (threads > PAR_MAX_THREADS)
		threads = PAR_MAX_THREADS;
	if (threads > n)
		threads = n;
	for (unsigned i = 0; i < n; i++)
		c.total_bytes += iov[i].iov_len;
	c.cloned = calloc(n, 1);
	if (!c.cloned)
		return -ENOMEM;
	if (new_table) {
		ret = io_uring_register_buffers_sparse(ring, nr_slots);
		if (ret) {
			free(c.cloned);
			return ret;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &c.t0);
	pthread_mutex_init(&c.lock, NULL);
	/* The calling thread works too; a failed pthread_create means fewer workers. */
	for (unsigned i = 1; i < threads; i++) {
		if (pthread_create(&tid[started], NULL, worker, &c))
			break;
		started++;
	}
	worker(&c);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&c.lock);
	if (c.first_err) {
		if (new_table) {
			/* Dropping the table releases every buffer cloned so far. */
			io_uring_unregister_buffers(ring);
		} else {
			/* Other mappings live in the table: empty just the slots we filled. */
			for (unsigned i = 0; i < n; i++) {
				struct iovec none = { 0 };
				__u64 tag = 0;

				if (c.cloned[i])
					io_uring_register_buffers_update_tag(ring, first + i, &none, &tag, 1);
			}
		}
	}
	free(c.cloned);
	/* EINVAL from the clone: a kernel without offsets (6.12) or without cloning. */
	return c.first_err ? (c.no_clone ? 1 : c.first_err) : 0;
}
