/* bench/prefault: one measurement of making fresh guest-sized memory present (and
 * optionally pinned), for bench/ready and for comparing mechanisms. Prints one line
 * "ms=<wall ms>" (from before the memory is created to done, unmapping excluded).
 *
 *   prefault KIND SIZE THREADS MODE
 *     KIND  memfd | memfd-huge | anon   (memfd-huge needs free 2 MiB hugetlb pages), or a
 *           device-dax path such as /dev/dax0.0 (MAP_SHARED at 2 MiB pages, no zeroing: the
 *           lab's devdax limit; touch and populate only)
 *     MODE  touch      N threads write one byte per page, each its own slice: the physical
 *                      limit of first touch (bench/ready's baseline)
 *           populate   populate_range(): N threads MADV_POPULATE_WRITE over chunks
 *           fallocate  fallocate() the whole memfd, then populate (maps only)
 *           register   io_uring_register_buffers of the fresh memory in 1 GiB iovecs on one
 *                      thread (daxvm's pin before populate existed)
 *           populate+register, fallocate+register   the two steps in a row
 *           daxvm      daxvm's pinning stage without KVM: backing_open, backing_populate on
 *                      THREADS threads, pin_map_dma on io_uring with THREADS pinning threads
 *                      (what 'daxvm run' does between its memslots and its devices)
 *           daxvm-serial   the same stage as before issue 13: no populate, one registration
 * Also prints "age_ms=<process age when done>", measured as daxvm measures its launch_to_* times
 * (cli/process_age.c: from the process's start, the fork, to done), so that a launched process
 * touching the memory can be compared with daxvm's launch -> pinned.
 * Never a pass/fail on speed. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cli/process_age.h"
#include "common/size.h"
#include "memory/backing.h"
#include "pinning/pin.h"
#include "memory/populate.h"

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)
#endif
#define G1 (1ULL << 30)

struct slice {
	char *p;
	uint64_t len, step;
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void *touch(void *arg)
{
	struct slice *s = arg;

	for (uint64_t off = 0; off < s->len; off += s->step)
		s->p[off] = 1;
	return NULL;
}

static int touch_all(char *p, uint64_t size, uint64_t page, unsigned n)
{
	if (!n || n > 256)
		return -1;
	pthread_t tid[256];
	struct slice sl[256] = { 0 };
	uint64_t per = size / page / n * page;

	for (unsigned i = 0; i < n; i++) {
		sl[i].p = p + (uint64_t)i * per;
		sl[i].len = i == n - 1 ? size - (uint64_t)i * per : per;
		sl[i].step = page;
		if (i && pthread_create(&tid[i], NULL, touch, &sl[i]))
			return -1;
	}
	touch(&sl[0]);
	for (unsigned i = 1; i < n; i++)
		pthread_join(tid[i], NULL);
	return 0;
}

static int register_all(struct io_uring *ring, char *p, uint64_t size)
{
	unsigned n = (unsigned)((size + G1 - 1) / G1);
	struct iovec iov[128];
	int ret;

	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = p + (uint64_t)i * G1;
		iov[i].iov_len = size - (uint64_t)i * G1 < G1 ? size - (uint64_t)i * G1 : G1;
	}
	ret = io_uring_register_buffers(ring, iov, n);
	if (ret)
		fprintf(stderr, "register: %s\n", strerror(-ret));
	return ret;
}

/* daxvm's stage: returns the wall ms, or -1. */
static double daxvm_stage(const char *kind, uint64_t size, unsigned threads, bool serial)
{
	struct backing_request req = { .spec = kind, .size = size };
	struct pin_options opt = { .backend = PIN_IO_URING, .max_mappings = (unsigned)(size >> 30) + 5 };
	struct populate_result res;
	struct pin_container *c = NULL;
	struct backing b;
	struct err e = { 0 };
	struct pin_dma_map map = { .iova = 0, .size = size, .flags = PIN_DMA_READ | PIN_DMA_WRITE };
	double t0, tp, t1 = -1;

	/* The container is opened before the clock, as daxvm opens it before mapping. */
	if (pin_container_open(&opt, &c, &e)) {
		fprintf(stderr, "daxvm: %s\n", e.msg);
		return -1;
	}
	t0 = now_ms();
	if (backing_open(&req, &b, &e))
		goto out;
	if (!serial) {
		pin_container_set_parallel(c, threads, NULL, NULL);
		if (backing_populate(&b, threads, NULL, NULL, NULL, &res, &e))
			goto out_b;
	}
	map.vaddr = (uintptr_t)b.host;
	map.page_size = b.page_size;
	tp = now_ms();
	if (pin_map_dma(c, &map, &e))
		goto out_b;
	t1 = now_ms() - t0;
	/* The split, for comparing mechanisms (stdout keeps the one ms= line). */
	fprintf(stderr, "populate_ms=%.1f pin_ms=%.1f\n", serial ? 0.0 : res.ms, now_ms() - tp);
out_b:
	pin_container_close(c);
	c = NULL;
	backing_close(&b);
out:
	if (t1 < 0)
		fprintf(stderr, "daxvm: %s\n", e.msg);
	pin_container_close(c);
	return t1;
}

int main(int argc, char **argv)
{
	uint64_t size, page = 4096;
	unsigned threads;
	const char *kind, *mode;
	int fd = -1, ret = 0;
	char *p;
	double t0, t1;
	struct err e = { 0 };
	struct io_uring ring;

	if (argc != 5 || size_parse(argv[2], &size) || !(threads = (unsigned)atoi(argv[3])) ||
	    threads > 256) {
		fprintf(stderr, "usage: prefault memfd|memfd-huge|anon SIZE THREADS "
				"touch|populate|fallocate|register|populate+register|fallocate+register\n");
		return 2;
	}
	kind = argv[1];
	mode = argv[4];
	if (!strncmp(mode, "daxvm", 5)) {
		double ms = daxvm_stage(kind, size, threads, !strcmp(mode, "daxvm-serial"));

		if (ms < 0)
			return 1;
		printf("ms=%.1f\n", ms);
		return 0;
	}
	/* The ring exists before the clock starts (daxvm opens its container earlier too);
	 * unregistering is teardown, after it stops. */
	if (io_uring_queue_init(8, &ring, 0)) {
		fprintf(stderr, "io_uring_queue_init failed\n");
		return 2;
	}
	t0 = now_ms();
	if (!strcmp(kind, "anon")) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	} else if (kind[0] == '/') {
		/* devdax: the kernel aligns the mapping to the device's 2 MiB (dax_get_unmapped_area). */
		page = 2ULL << 20;
		fd = open(kind, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			perror(kind);
			return 2;
		}
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	} else {
		bool huge = !strcmp(kind, "memfd-huge");

		page = huge ? 2ULL << 20 : 4096;
		fd = memfd_create("prefault", MFD_CLOEXEC | (huge ? MFD_HUGETLB | MFD_HUGE_2MB : 0));
		if (fd < 0 || ftruncate(fd, (off_t)size)) {
			perror("memfd");
			return 2;
		}
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	}
	if (p == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	if (strstr(mode, "fallocate")) {
		if (fd < 0 || fallocate(fd, 0, 0, (off_t)size)) {
			perror("fallocate");
			return 2;
		}
	}
	if (!strcmp(mode, "touch")) {
		ret = touch_all(p, size, page, threads);
	} else if (strstr(mode, "populate") || strstr(mode, "fallocate")) {
		struct populate_request req = { .host = p, .size = size, .page_size = page, .threads = threads };

		ret = populate_range(&req, NULL, &e);
		if (ret)
			fprintf(stderr, "populate: %s\n", e.msg);
	}
	if (!ret && strstr(mode, "register"))
		ret = register_all(&ring, p, size);
	t1 = now_ms();
	if (ret)
		return 1;
	printf("ms=%.1f\nage_ms=%.1f\n", t1 - t0, process_age_ms());
	fflush(stdout);
	io_uring_queue_exit(&ring);
	munmap(p, size);
	if (fd >= 0)
		close(fd);
	return 0;
}
