/* bench/pin: how fast daxvm pins guest RAM (pin_map_dma on io_uring) against the raw
 * io_uring_register_buffers it is built on and against mlock, for 1 GiB and 8 GiB of
 * touched memory with 4 KiB and 2 MiB pages; plus device-DMA throughput through the shared
 * ring with 1, 2 and 4 threads. Prints a table; never a pass/fail. */
#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "memory/backing.h"
#include "pinning/pin.h"

#define G1 ((uint64_t)1 << 30)
#define REPS 7

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct mem {
	struct backing b;	/* hugetlb through the backing layer (pool grown and restored) */
	void *anon;		/* or anonymous memory (4 KiB, or THP with MADV_HUGEPAGE) */
	char *host;
	uint64_t size, page;
	const char *kind;
};

/* The memory of the running case: released on SIGINT/SIGTERM so a grown hugetlb pool is
 * restored (backing_close) even when the bench is interrupted. */
static struct mem *current_mem;

static void mem_put(struct mem *m);

static void on_signal(int sig)
{
	if (current_mem)
		mem_put(current_mem);
	_exit(1);
}

static int mem_get(struct mem *m, uint64_t size, bool huge)
{
	struct backing_request req = { .spec = "memfd-huge", .size = size, .may_grow_pool = true };
	struct err e = { 0 };

	memset(m, 0, sizeof(*m));
	m->size = size;
	if (huge && backing_open(&req, &m->b, &e) == 0) {
		m->host = m->b.host;
		m->page = m->b.page_size;
		m->kind = "hugetlb";
	} else {
		if (huge)
			fprintf(stderr, "note: hugetlb unavailable (%s): using THP\n", e.msg);
		m->anon = mmap(NULL, size + (2ull << 20), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m->anon == MAP_FAILED)
			return -errno;
		m->host = (char *)(((uintptr_t)m->anon + (2ull << 20) - 1) & ~((2ull << 20) - 1));
		madvise(m->host, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		m->page = huge ? 2ull << 20 : 4096;
		m->kind = huge ? "THP" : "anon";
	}
	current_mem = m;
	for (uint64_t off = 0; off < size; off += 4096)
		m->host[off] = 1;
	return 0;
}

static void mem_put(struct mem *m)
{
	current_mem = NULL;
	if (m->anon)
		munmap(m->anon, m->size + (2ull << 20));
	else
		backing_close(&m->b);
}

static double bench_daxvm(struct mem *m, unsigned threads)
{
	struct pin_options opt = { .backend = PIN_IO_URING };
	struct pin_dma_map map = { .vaddr = (uintptr_t)m->host, .iova = 0, .size = m->size,
				   .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = m->page };
	struct pin_container *c;
	struct err e = { 0 };
	double t0, t;

	if (pin_container_open(&opt, &c, &e))
		return fprintf(stderr, "daxvm: %s\n", e.msg), -1;
	pin_container_set_parallel(c, threads, NULL, NULL);
	t0 = now_s();
	if (pin_map_dma(c, &map, &e))
		return fprintf(stderr, "daxvm: %s\n", e.msg), pin_container_close(c), -1;
	t = now_s() - t0;
	pin_container_close(c);
	return t;
}

static double bench_raw(struct mem *m)
{
	unsigned n = (unsigned)((m->size + G1 - 1) / G1);
	struct iovec iov[64];
	struct io_uring ring;
	double t0, t;
	int ret;

	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = m->host + (uint64_t)i * G1;
		iov[i].iov_len = m->size - (uint64_t)i * G1 < G1 ? m->size - (uint64_t)i * G1 : G1;
	}
	if (io_uring_queue_init(8, &ring, 0))
		return -1;
	t0 = now_s();
	ret = io_uring_register_buffers(&ring, iov, n);
	t = now_s() - t0;
	io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	return ret ? (fprintf(stderr, "raw: %s\n", strerror(-ret)), -1) : t;
}

static double bench_mlock(struct mem *m)
{
	double t0 = now_s(), t;

	if (mlock(m->host, m->size))
		return fprintf(stderr, "mlock: %s\n", strerror(errno)), -1;
	t = now_s() - t0;
	munlock(m->host, m->size);
	return t;
}

struct dma_worker {
	struct pin_container *c;
	int media;
	int id;
	uint64_t len, bytes;
	double until;
};

static void *dma_work(void *arg)
{
	struct dma_worker *w = arg;
	struct err e = { 0 };
	uint64_t iova = (uint64_t)w->id * (64ull << 20);

	while (now_s() < w->until) {
		for (int i = 0; i < 16; i++) {
			if (pin_dma_rw(w->c, w->media, (uint64_t)w->id * w->len, iova, w->len, true, &e))
				return NULL;
			w->bytes += w->len;
		}
	}
	return NULL;
}

static void bench_dma(void)
{
	struct pin_options opt = { .backend = PIN_IO_URING };
	struct pin_container *c;
	struct mem m;
	struct err e = { 0 };
	int media = memfd_create("bench-media", MFD_CLOEXEC);
	char *buf = malloc(8ull << 20);

	if (media < 0 || !buf || ftruncate(media, 8ull << 20) || mem_get(&m, 256ull << 20, false) ||
	    pin_container_open(&opt, &c, &e)) {
		fprintf(stderr, "dma bench setup failed\n");
		exit(1);
	}
	memset(buf, 3, 8ull << 20);
	(void)!pwrite(media, buf, 8ull << 20, 0);
	struct pin_dma_map map = { .vaddr = (uintptr_t)m.host, .iova = 0, .size = m.size,
				   .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	pin_map_dma(c, &map, &e);
	printf("\ndevice DMA media->RAM through pin_dma_rw (io_uring READ_FIXED, one shared ring):\n");
	printf("| transfer | threads | GiB/s | transfers/s |\n|---:|---:|---:|---:|\n");
	for (uint64_t len = 4096; len <= (1ull << 20); len *= 16) {
		for (int threads = 1; threads <= 4; threads *= 2) {
			struct dma_worker w[4];
			pthread_t th[4];
			double t0 = now_s(), t;
			uint64_t bytes = 0;

			for (int i = 0; i < threads; i++) {
				w[i] = (struct dma_worker){ .c = c, .media = media, .id = i, .len = len, .until = t0 + 1.0 };
				pthread_create(&th[i], NULL, dma_work, &w[i]);
			}
			for (int i = 0; i < threads; i++) {
				pthread_join(th[i], NULL);
				bytes += w[i].bytes;
			}
			t = now_s() - t0;
			printf("| %" PRIu64 " KiB | %d | %.2f | %.0f |\n", len / 1024, threads,
			       (double)bytes / t / (double)G1, (double)bytes / (double)len / t);
		}
	}
	pin_container_close(c);
	mem_put(&m);
	close(media);
	free(buf);
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[] = { 1 * G1, 8 * G1 };
	bool dma = true;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	/* Issue 13: pin_container_set_parallel, the pieces pinned on one thread per CPU. */
	unsigned cpus = ncpu > 1 ? (unsigned)ncpu : 2;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (argc > 1 && !strcmp(argv[1], "--no-dma"))
		dma = false;
	else if (argc > 1) {
		printf("usage: %s [--no-dma]\n", argv[0]);
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	printf("pin throughput, GiB/s (best of %d; memory touched before; daxvm = pin_map_dma on io_uring)\n", REPS);
	printf("| size | pages | backing | daxvm map_dma | raw io_uring register | mlock | daxvm/raw "
	       "| daxvm map_dma, %u threads | parallel/raw |\n", cpus);
	printf("|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
	for (size_t s = 0; s < 2; s++) {
		for (int huge = 0; huge < 2; huge++) {
			struct mem m;
			double d, r, l, p;

			if (mem_get(&m, sizes[s], huge)) {
				printf("| %" PRIu64 " GiB | %s | - | no memory | | | |\n", sizes[s] / G1, huge ? "2 MiB" : "4 KiB");
				continue;
			}
			/* Interleave so drift hits every method alike; keep the best of each. */
			r = d = l = p = -1;
			for (int rep = 0; rep < REPS; rep++) {
				double t;

				if ((t = bench_raw(&m)) > 0 && (r < 0 || t < r))
					r = t;
				if ((t = bench_daxvm(&m, 1)) > 0 && (d < 0 || t < d))
					d = t;
				if ((t = bench_daxvm(&m, cpus)) > 0 && (p < 0 || t < p))
					p = t;
				if ((t = bench_mlock(&m)) > 0 && (l < 0 || t < l))
					l = t;
			}
			printf("| %" PRIu64 " GiB | %s | %s | %.1f | %.1f | %.1f | %.2f | %.1f | %.2f |\n", sizes[s] / G1,
			       huge ? "2 MiB" : "4 KiB", m.kind, (double)m.size / d / (double)G1,
			       (double)m.size / r / (double)G1, (double)m.size / l / (double)G1, r / d,
			       (double)m.size / p / (double)G1, r / p);
			fflush(stdout);
			mem_put(&m);
		}
	}
	if (dma)
		bench_dma();
	return 0;
}
