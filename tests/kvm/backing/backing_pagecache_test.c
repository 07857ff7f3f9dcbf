/* Integration: a file on a disk filesystem is refused as guest RAM (kind pagecache) and left
 * untouched, and the reason holds on this kernel: io_uring cannot long-term pin a shared
 * writable page-cache mapping, while it can pin memfd memory. argv[1]: a directory on disk. */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "backing_check.h"
#include "kvm/common/host_require.h"

#define MiB (1ULL << 20)

static uint64_t checksum(const char *path)
{
	uint64_t sum = 0;
	int c;
	FILE *f = fopen(path, "re");

	TEST_ASSERT(f, "open %s", path);
	while ((c = fgetc(f)) != EOF)
		sum = sum * 31 + (uint64_t)c;
	fclose(f);
	return sum;
}

static void make_file(const char *path, uint64_t size)
{
	FILE *f = fopen(path, "we");

	TEST_ASSERT(f, "create %s", path);
	for (uint64_t i = 0; i < size; i += 8)
		fprintf(f, "%07llx\n", (unsigned long long)(i / 8));
	fclose(f);
}

static void test_refused(const char *path, uint64_t size, int fds_before)
{
	struct backing_request req = { .spec = path, .size = size };
	struct stat before, after;
	uint64_t sum = checksum(path);
	struct backing b;
	struct err e = { 0 };
	int ret;

	TEST_ASSERT(stat(path, &before) == 0, "stat");
	ret = backing_open(&req, &b, &e);
	TEST_ASSERT(ret == -EOPNOTSUPP, "disk file: ret %d (%s)", ret, e.msg);
	TEST_ASSERT(b.kind == BACKING_PAGECACHE, "kind %s", backing_kind_name(b.kind));
	TEST_ASSERT(strstr(e.msg, "pagecache") && strstr(e.msg, "FOLL_LONGTERM") &&
		    strstr(e.msg, "devdax") && strstr(e.msg, "hugetlbfs") && strstr(e.msg, "tmpfs") &&
		    strstr(e.msg, "memfd-huge") && strstr(e.msg, "anon"),
		    "message does not say why and what to use: %s", e.msg);
	TEST_ASSERT(b.fd == -1 && !b.host && bk_count_fds() == fds_before, "left an fd or mapping");
	TEST_ASSERT(stat(path, &after) == 0, "stat after");
	TEST_ASSERT(after.st_size == before.st_size &&
		    after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
		    after.st_mtim.tv_nsec == before.st_mtim.tv_nsec &&
		    after.st_ctim.tv_nsec == before.st_ctim.tv_nsec && checksum(path) == sum,
		    "the refused file was modified");
	backing_close(&b);
	printf("ok: %s (size %llu) refused, file untouched: %s\n", path, (unsigned long long)size,
	       e.msg);
}

/* The kernel fact behind the refusal, checked on a scratch file (pinning dirties its pages). */
static void test_kernel_refuses_pin(const char *path, int fds_before)
{
	struct backing_request req = { .spec = "memfd", .size = 2 * MiB };
	struct backing b;
	struct err e = { 0 };
	int fd, ret;
	void *p;

	make_file(path, 2 * MiB);
	fd = open(path, O_RDWR | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open %s", path);
	p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(p != MAP_FAILED, "mmap %s", path);
	ret = bk_pin_probe(p, 2 * MiB);
	munmap(p, 2 * MiB);
	close(fd);
	unlink(path);
	/* -EFAULT from GUP since Linux 6.5; io_uring itself said -EOPNOTSUPP before. */
	TEST_ASSERT(ret == -EFAULT || ret == -EOPNOTSUPP,
		    "the kernel long-term pinned a page-cache mapping (ret %d): the refusal is wrong here",
		    ret);
	printf("ok: kernel refuses to long-term pin page cache: %s\n", strerror(-ret));

	TEST_ASSERT(backing_open(&req, &b, &e) == 0, "memfd: %s", e.msg);
	ret = bk_pin_probe(b.host, 2 * MiB);
	backing_close(&b);
	TEST_ASSERT(ret == 0, "the kernel refused to pin memfd memory: %s", strerror(-ret));
	TEST_ASSERT(bk_count_fds() == fds_before, "leaked an fd");
	printf("ok: the same pin of memfd memory works\n");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	char path[4096], scratch[4096];
	struct statfs fs;
	int fds_before;

	t_require_io_uring();
	TEST_ASSERT(statfs(dir, &fs) == 0, "statfs %s", dir);
	TEST_REQUIRE(fs.f_type != 0x01021994 && fs.f_type != 0x958458f6,
		     "feature missing: %s is on tmpfs, not a disk filesystem", dir);
	snprintf(path, sizeof(path), "%s/backing-pagecache-%d.img", dir, (int)getpid());
	snprintf(scratch, sizeof(scratch), "%s/backing-pagecache-pin-%d.img", dir, (int)getpid());
	fds_before = bk_count_fds();

	make_file(path, 8 * MiB);
	test_refused(path, 0, fds_before);
	test_refused(path, 8 * MiB, fds_before);
	test_refused(path, 64 * MiB, fds_before);	/* larger than the file: still not grown */
	unlink(path);
	test_kernel_refuses_pin(scratch, fds_before);
	printf("PASS\n");
	return T_PASS;
}
