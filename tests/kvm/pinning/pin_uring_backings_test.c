/* io_uring pinning on every backing this machine has, with exact pin deltas on pin and on
 * release: memfd, memfd-huge (pool grown for the test and restored by backing_close), tmpfs,
 * anon, THP anon; and a disk-filesystem file, which must be refused with a clear sentence. */
#include <signal.h>
#include <sys/mman.h>

#include "memory/backing.h"
#include "validate/pagemap.h"
#include "pin_kvm_util.h"
#include "kvm/common/host_require.h"

#define SZ (64ull << 20)

/* The backing open right now: closed at exit (also after a failed assertion or a signal), so a
 * grown hugetlb pool is always restored by backing_close. */
static struct backing *open_backing;

static void close_open_backing(void)
{
	if (open_backing) {
		backing_close(open_backing);
		open_backing = NULL;
		printf("  (exit: closed the backing, hugetlb pool restored)\n");
	}
}

static void on_signal(int sig)
{
	exit(T_FAIL);	/* runs close_open_backing */
}

static void via_backing(struct pin_container *c, const char *spec, uint64_t want_page)
{
	struct backing_request req = { .spec = spec, .size = SZ, .may_grow_pool = true };
	struct backing b;
	struct err e = { 0 };
	int ret = backing_open(&req, &b, &e);

	if (ret && !strcmp(spec, "memfd-huge")) {
		printf("  memfd-huge: not available here (%s): case skipped\n", e.msg);
		return;
	}
	TEST_ASSERT(ret == 0, "backing %s: %s", spec, e.msg);
	open_backing = &b;
	TEST_ASSERT(b.page_size == want_page, "%s page size %" PRIu64, spec, b.page_size);
	memset(b.host, 0x33, b.size);
	t_expect_exact_cycle(c, b.host, b.size, b.page_size, spec);
	open_backing = NULL;
	backing_close(&b);
}

/* Is every 2 MiB of mem a THP? (pagemap PFN -> /proc/kpageflags THP bit 22.) */
static bool all_thp(char *mem, uint64_t size)
{
	int pm = pagemap_open(0, NULL), kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	bool ok = pm >= 0 && kf >= 0;

	for (uint64_t off = 0; ok && off < size; off += 2ull << 20) {
		uint64_t ent, flags;

		ok = pagemap_read(pm, (uintptr_t)mem + off, 2ull << 20, 1, &ent, NULL) == 0 &&
		     (ent & PAGEMAP_PRESENT) &&
		     pread(kf, &flags, 8, (off_t)(pagemap_pfn(ent) * 8)) == 8 && (flags & (1ull << 22));
	}
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	return ok;
}

static void thp_anon(struct pin_container *c)
{
	char mode[128] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);
	char *raw, *mem;

	if (fd >= 0) {
		(void)!read(fd, mode, sizeof(mode) - 1);
		close(fd);
	}
	if (!strstr(mode, "[always]") && !strstr(mode, "[madvise]")) {
		printf("  thp-anon: transparent hugepages are '%s': case skipped\n", mode);
		return;
	}
	raw = mmap(NULL, SZ + (2ull << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(raw != MAP_FAILED, "mmap");
	mem = (char *)(((uintptr_t)raw + (2ull << 20) - 1) & ~((2ull << 20) - 1));
	TEST_ASSERT(madvise(mem, SZ, MADV_HUGEPAGE) == 0, "MADV_HUGEPAGE");
	memset(mem, 0x44, SZ);
	if (all_thp(mem, SZ))
		t_expect_exact_cycle(c, mem, SZ, 2ull << 20, "thp-anon");
	else	/* Fragmented memory: some 4 KiB folios, so io_uring keeps one pin per 4 KiB. */
		printf("  thp-anon: not every 2 MiB became a THP (fragmented memory): checked as 4 KiB\n"),
		t_expect_exact_cycle(c, mem, SZ, 4096, "thp-anon");
	munmap(raw, SZ + (2ull << 20));
}

static void disk_file(struct pin_container *c, const char *dir)
{
	char path[4096];
	struct pin_dma_map m = { .iova = 0, .size = 1 << 20, .flags = PIN_DMA_READ | PIN_DMA_WRITE };
	uint64_t pin0 = t_vmpin_kib();
	struct err e = { 0 };
	void *mem;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/pin-disk-file-XXXXXX", dir);
	fd = mkstemp(path);
	TEST_ASSERT(fd >= 0, "mkstemp %s", path);
	unlink(path);
	TEST_ASSERT(ftruncate(fd, 1 << 20) == 0, "ftruncate");
	mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");
	memset(mem, 1, 1 << 20);
	m.vaddr = (uintptr_t)mem;
	ret = pin_map_dma(c, &m, &e);
	TEST_ASSERT(ret == -EFAULT, "a disk file must be refused with -EFAULT, got %d (%s)", ret, e.msg);
	TEST_ASSERT(strstr(e.msg, "disk filesystem") && strstr(e.msg, "memfd"),
		    "the refusal names the cause and the fix: %s", e.msg);
	TEST_ASSERT(t_vmpin_kib() == pin0, "nothing stays pinned after the refusal");
	TEST_ASSERT(pin_container_pinned_pages(c) == 0, "no mapping recorded");
	printf("  disk file: refused: %s\n", e.msg);
	munmap(mem, 1 << 20);
	close(fd);
}

int main(int argc, char **argv)
{
	struct pin_options opt = { .backend = PIN_IO_URING };
	struct pin_container *c;
	struct err e = { 0 };

	t_require_root("vm.stat_refresh and PFNs");
	t_require_io_uring();
	TEST_ASSERT(argc > 1, "usage: %s DIR-ON-A-DISK-FILESYSTEM", argv[0]);
	atexit(close_open_backing);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "io_uring: %s", e.msg);
	via_backing(c, "memfd", 4096);
	via_backing(c, "anon", 4096);
	via_backing(c, "/dev/shm/daxvm-pin-test", 4096);
	via_backing(c, "memfd-huge", 2ull << 20);
	thp_anon(c);
	disk_file(c, argv[1]);
	pin_container_close(c);
	printf("PASS: io_uring pins with exact deltas on every backing\n");
	return T_PASS;
}
