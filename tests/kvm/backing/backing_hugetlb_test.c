/* Integration: memfd-huge and hugetlbfs backings against the real hugetlb pool: a clear
 * error when the pool is short, and (as root) growing it for the run with the pool put
 * back at close and on every failure path. The test restores the pool itself on any exit. */
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "backing_check.h"
#include "kvm/common/host_require.h"

#define MiB (1ULL << 20)
#define POOL "/proc/sys/vm/nr_hugepages"
#define FREE "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define RESV "/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages"

static int fds_before;

static long available_pages(void)
{
	return bk_read_long(FREE) - bk_read_long(RESV);
}

/* A pool too small for the request: refused with the numbers and both fixes, pool untouched. */
static void test_short_pool(void)
{
	long pool = bk_read_long(POOL);
	uint64_t size = ((uint64_t)available_pages() + 8) * 2 * MiB;
	struct backing_request req = { .spec = "memfd-huge", .size = size };
	struct backing b;
	struct err e = { 0 };
	char want[128];
	int ret = backing_open(&req, &b, &e);

	TEST_ASSERT(ret == -ENOMEM, "short pool: ret %d (%s)", ret, e.msg);
	snprintf(want, sizeof(want), "memfd-huge needs %llu free 2 MiB hugepages, the pool has %ld free",
		 (unsigned long long)(size / (2 * MiB)), available_pages());
	TEST_ASSERT(strstr(e.msg, want), "message '%s' lacks '%s'", e.msg, want);
	TEST_ASSERT(strstr(e.msg, "> /proc/sys/vm/nr_hugepages") && strstr(e.msg, "memfd backing"),
		    "message lacks the fixes: %s", e.msg);
	TEST_ASSERT(bk_read_long(POOL) == pool, "pool changed without may_grow_pool");
	TEST_ASSERT(b.fd == -1 && !b.host && bk_count_fds() == fds_before, "left an fd or mapping");
	backing_close(&b);
	TEST_ASSERT(bk_read_long(POOL) == pool, "close of a failed open changed the pool");
	printf("ok: short pool refused: %s\n", e.msg);
}

/* Grows the pool for the run; the backing works and pins; close puts the pool back. */
static void test_grow(const char *spec, enum backing_kind kind)
{
	long pool = bk_read_long(POOL), room = available_pages();
	struct backing_request req = { .spec = spec, .size = 16 * MiB, .may_grow_pool = true };
	struct backing b;
	struct err e = { 0 };
	void *host;
	int ret = backing_open(&req, &b, &e);

	if (ret == -ENOMEM && strstr(e.msg, "only")) {
		/* The kernel could not find free 2 MiB blocks: the pool must still be as it was. */
		TEST_ASSERT(bk_read_long(POOL) == pool, "pool not restored after a failed grow");
		TEST_REQUIRE(0, "feature missing: no free contiguous 2 MiB memory (%s)", e.msg);
	}
	TEST_ASSERT(ret == 0, "%s with may_grow_pool: %d %s", spec, ret, e.msg);
	bk_check_open(&b, kind, 16 * MiB);
	TEST_ASSERT(b.page_size == 2 * MiB && b.align == 2 * MiB, "page size %llu",
		    (unsigned long long)b.page_size);
	if (room >= 8) {
		TEST_ASSERT(b.pool_restore == -1, "pool had room but was grown");
	} else {
		TEST_ASSERT(bk_read_long(POOL) > pool, "pool not grown");
		TEST_ASSERT(b.pool_restore == bk_read_long(POOL) - pool, "pool_restore %ld, want the %ld pages added",
			    b.pool_restore, bk_read_long(POOL) - pool);
	}
	printf("ok: %s ran with the pool at %ld -> %ld pages\n", spec, pool, bk_read_long(POOL));
	host = b.host;
	backing_close(&b);
	TEST_ASSERT(bk_read_long(POOL) == pool, "pool %ld after close, want %ld", bk_read_long(POOL),
		    pool);
	TEST_ASSERT(bk_count_fds() == fds_before, "%s leaked an fd", spec);
	TEST_ASSERT(bk_maps_matching(host, 16 * MiB, "daxvm-guest-ram") == 0, "%s left a mapping",
		    spec);
}

/* A failure after the pool was grown (no address space left for the mapping) must put the
 * pool back before backing_open returns. */
static void test_grow_then_fail(void)
{
	long pool = bk_read_long(POOL);
	struct backing_request req = { .spec = "memfd-huge", .size = 64 * MiB, .may_grow_pool = true };
	struct rlimit saved, tight;
	struct backing b;
	struct err e = { 0 };
	int ret;

	TEST_ASSERT(getrlimit(RLIMIT_AS, &saved) == 0, "getrlimit");
	tight = saved;
	/* Room for small allocations, not for the 64 MiB guest mapping. */
	tight.rlim_cur = (rlim_t)(bk_status_kib("VmSize") + 16 * 1024) * 1024;
	TEST_ASSERT(setrlimit(RLIMIT_AS, &tight) == 0, "setrlimit");
	ret = backing_open(&req, &b, &e);
	TEST_ASSERT(setrlimit(RLIMIT_AS, &saved) == 0, "restore rlimit");
	TEST_ASSERT(ret == -ENOMEM && strstr(e.msg, "address space"),
		    "mapping with no address space left: ret %d (%s)", ret, e.msg);
	TEST_ASSERT(bk_read_long(POOL) == pool, "pool %ld after a failed open, want %ld",
		    bk_read_long(POOL), pool);
	TEST_ASSERT(b.fd == -1 && bk_count_fds() == fds_before, "failed open leaked an fd");
	printf("ok: failure after growing restored the pool to %ld: %s\n", pool, e.msg);
}

/* A hugetlbfs mount private to this test (its own mount namespace), holding a guest file. */
static void test_hugetlbfs(void)
{
	char dir[] = "/tmp/daxvm-hugetlbfs-XXXXXX", path[64];

	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		printf("note: hugetlbfs part not run: no private mount namespace (%s)\n",
		       strerror(errno));
		return;
	}
	TEST_ASSERT(mkdtemp(dir), "mkdtemp");
	if (mount("none", dir, "hugetlbfs", 0, "pagesize=2M") != 0) {
		int err = errno;

		rmdir(dir);
		TEST_ASSERT(0, "mount hugetlbfs: %s", strerror(err));
	}
	snprintf(path, sizeof(path), "%s/guest-ram", dir);
	test_grow(path, BACKING_HUGETLBFS);
	TEST_ASSERT(access(path, F_OK) != 0, "created hugetlbfs file not removed");
	umount(dir);
	rmdir(dir);
}

int main(void)
{
	t_require_root("grows the hugetlb pool and mounts hugetlbfs");
	TEST_REQUIRE(access(POOL, R_OK) == 0 && access(FREE, R_OK) == 0,
		     "feature missing: no 2 MiB hugetlb pool in this kernel");
	bk_pool_guard();
	fds_before = bk_count_fds();

	test_short_pool();
	test_grow("memfd-huge", BACKING_MEMFD_HUGE);
	test_grow_then_fail();
	test_hugetlbfs();
	printf("PASS\n");
	return T_PASS;
}
