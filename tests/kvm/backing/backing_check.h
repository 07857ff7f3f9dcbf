/* Helpers for the backing integration tests: leak checks (fds, mappings), the hugetlb pool
 * saved and restored on every exit path, and a real long-term pin through io_uring. */
#ifndef DAXVM_TESTS_KVM_BACKING_CHECK_H
#define DAXVM_TESTS_KVM_BACKING_CHECK_H

#include <dirent.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "memory/backing.h"
#include "test.h"

static inline int bk_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	TEST_ASSERT(d, "opendir /proc/self/fd");
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/* Lines of /proc/self/maps that overlap [addr, addr+len) or contain needle (either may be 0). */
static inline int bk_maps_matching(const void *addr, uint64_t len, const char *needle)
{
	char line[512];
	unsigned long lo, hi, a = (unsigned long)addr;
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	TEST_ASSERT(f, "open /proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if ((len && lo < a + len && hi > a) || (needle && strstr(line, needle)))
			n++;
	}
	fclose(f);
	return n;
}

static inline long bk_read_long(const char *path)
{
	char text[64] = "";
	FILE *f = fopen(path, "re");

	TEST_ASSERT(f, "open %s", path);
	TEST_ASSERT(fgets(text, sizeof(text), f), "read %s", path);
	fclose(f);
	return strtol(text, NULL, 10);
}

static inline long bk_status_kib(const char *field)
{
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "re");

	TEST_ASSERT(f, "open /proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* The machine's pool as found, put back by exit() from any path, including failed asserts. */
static long bk_pool_saved = -1;

static inline void bk_pool_restore(void)
{
	FILE *f;

	if (bk_pool_saved < 0)
		return;
	if (bk_read_long("/proc/sys/vm/nr_hugepages") == bk_pool_saved)
		return;
	f = fopen("/proc/sys/vm/nr_hugepages", "we");
	if (f) {
		fprintf(f, "%ld\n", bk_pool_saved);
		fclose(f);
	}
	printf("test restored /proc/sys/vm/nr_hugepages to %ld\n", bk_pool_saved);
}

static inline void bk_pool_guard(void)
{
	bk_pool_saved = bk_read_long("/proc/sys/vm/nr_hugepages");
	atexit(bk_pool_restore);
}

/* Long-term pins len bytes at addr as an io_uring registered buffer (pin_user_pages with
 * FOLL_LONGTERM, Linux 5.x) and unpins them; returns 0 or the kernel's -errno. */
static inline int bk_pin_probe(void *addr, size_t len)
{
	struct io_uring ring;
	struct iovec iov = { .iov_base = addr, .iov_len = len };
	int ret = io_uring_queue_init(2, &ring, 0);

	TEST_REQUIRE(ret == 0, "feature missing: io_uring_queue_init failed (%s)", strerror(-ret));
	ret = io_uring_register_buffers(&ring, &iov, 1);
	if (ret == 0)
		io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	return ret;
}

/* Checks an open backing: sane fields, memory usable at both ends. */
static inline void bk_check_fields(const struct backing *b, enum backing_kind kind, uint64_t size)
{
	volatile uint8_t *p = b->host;

	TEST_ASSERT(b->kind == kind, "kind %s, want %s", backing_kind_name(b->kind),
		    backing_kind_name(kind));
	TEST_ASSERT(b->size == size, "size %llu, want %llu", (unsigned long long)b->size,
		    (unsigned long long)size);
	TEST_ASSERT(b->host && (uintptr_t)b->host % b->align == 0, "host %p not aligned to %llu",
		    b->host, (unsigned long long)b->align);
	TEST_ASSERT(b->size % b->align == 0 && b->align >= 4096 && b->page_size >= 4096,
		    "align %llu page %llu", (unsigned long long)b->align,
		    (unsigned long long)b->page_size);
	TEST_ASSERT(b->shared == (kind != BACKING_ANON), "shared %d for %s", b->shared,
		    backing_kind_name(kind));
	TEST_ASSERT((b->fd >= 0) == (kind != BACKING_ANON), "fd %d for %s", b->fd,
		    backing_kind_name(kind));
	TEST_ASSERT(b->why[0], "empty why");
	p[0] = 0x5a;
	p[b->size - 1] = 0xa5;
	TEST_ASSERT(p[0] == 0x5a && p[b->size - 1] == 0xa5, "memory does not hold data");
}

/* The first 64 KiB (or less) of the backing, pinned long-term through io_uring. */
static inline int bk_pin_backing(const struct backing *b)
{
	return bk_pin_probe(b->host, b->size < (64 << 10) ? b->size : (64 << 10));
}

/* bk_check_fields, then the memory must be long-term pinnable. */
static inline void bk_check_open(const struct backing *b, enum backing_kind kind, uint64_t size)
{
	int ret;

	bk_check_fields(b, kind, size);
	ret = bk_pin_backing(b);
	TEST_ASSERT(ret == 0, "io_uring cannot long-term pin %s memory: %s", backing_kind_name(kind),
		    strerror(-ret));
}

#endif
