/* Unit: size/alignment rules, kind names and pinnability, and the auto-selection decision
 * over made-up machines (no kernel feature needed). */
#include <stdbool.h>
#include <stdint.h>

#include "memory/backing.h"
#include "test.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static void check_size(uint64_t size, uint64_t align, int want_ret, const char *want_text)
{
	struct err e = { 0 };
	int ret = backing_check_size(size, align, "memfd-huge", &e);

	TEST_ASSERT(ret == want_ret, "size %llu align %llu: ret %d, want %d", (unsigned long long)size,
		    (unsigned long long)align, ret, want_ret);
	if (want_ret == 0) {
		TEST_ASSERT(e.msg[0] == '\0', "no message on success, got '%s'", e.msg);
		return;
	}
	TEST_ASSERT(e.code == want_ret, "err code %d", e.code);
	TEST_ASSERT(strstr(e.msg, want_text), "message '%s' lacks '%s'", e.msg, want_text);
}

static void test_sizes(void)
{
	check_size(512 * MiB, 2 * MiB, 0, NULL);
	check_size(4096, 4096, 0, NULL);
	check_size(5 * GiB, 4096, 0, NULL);
	check_size(1 * GiB, 1 * GiB, 0, NULL);
	/* Not a multiple: the size, the alignment, and both neighbours. */
	check_size(3 * MiB, 2 * MiB, -EINVAL, "3 MiB");
	check_size(3 * MiB, 2 * MiB, -EINVAL, "2 MiB alignment of memfd-huge");
	check_size(3 * MiB, 2 * MiB, -EINVAL, "use 2M or 4M");
	check_size(513 * MiB, 2 * MiB, -EINVAL, "use 512M or 514M");
	/* Below one alignment unit only the size above is valid. */
	check_size(1 * MiB, 2 * MiB, -EINVAL, "use 2M");
	check_size(3000, 4096, -EINVAL, "3000 bytes");
	check_size(3000, 4096, -EINVAL, "use 4K");
	check_size(0, 4096, -EINVAL, "use 4K");
	check_size(1 * GiB + 4096, 1 * GiB, -EINVAL, "use 1G or 2G");
	/* Absurd sizes are refused before any arithmetic can overflow. */
	check_size(BACKING_MAX_SIZE, 2 * MiB, 0, NULL);
	check_size(BACKING_MAX_SIZE + 2 * MiB, 2 * MiB, -EINVAL, "larger than the 64 TiB");
	check_size(UINT64_MAX, 4096, -EINVAL, "larger than");
}

static void test_names(void)
{
	static const struct {
		enum backing_kind kind;
		const char *name;
		bool pinnable;
	} kinds[] = {
		{ BACKING_DEVDAX, "devdax", true },
		{ BACKING_HUGETLBFS, "hugetlbfs", true },
		{ BACKING_MEMFD, "memfd", true },
		{ BACKING_MEMFD_HUGE, "memfd-huge", true },
		{ BACKING_TMPFS, "tmpfs", true },
		{ BACKING_ANON, "anon", true },
		{ BACKING_PAGECACHE, "pagecache", false },
	};

	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		TEST_ASSERT(strcmp(backing_kind_name(kinds[i].kind), kinds[i].name) == 0,
			    "kind %d named '%s', want '%s'", kinds[i].kind,
			    backing_kind_name(kinds[i].kind), kinds[i].name);
		TEST_ASSERT(backing_longterm_pinnable(kinds[i].kind) == kinds[i].pinnable,
			    "%s pinnable should be %d", kinds[i].name, kinds[i].pinnable);
	}
	TEST_ASSERT(strcmp(backing_kind_name((enum backing_kind)99), "unknown") == 0,
		    "out-of-range kind");
}

static enum backing_kind choose(const char *dax, unsigned nr_dax, uint64_t size, uint64_t huge,
				long available, char *why, unsigned len)
{
	struct backing_auto_facts f = {
		.devdax_first = dax, .nr_devdax = nr_dax, .size = size,
		.huge_page_size = huge, .huge_available = available,
	};

	return backing_auto_choose(&f, why, len);
}

static void test_auto(void)
{
	char why[256];
	enum backing_kind k;

	/* A devdax device wins over everything, whatever the pool. */
	k = choose("/dev/dax0.0", 2, 0, 2 * MiB, 100000, why, sizeof(why));
	TEST_ASSERT(k == BACKING_DEVDAX, "devdax present: got %s", backing_kind_name(k));
	TEST_ASSERT(strstr(why, "/dev/dax0.0") && strstr(why, "2 device-dax devices"), "why: %s", why);

	/* This host: no devdax, empty pool: memfd, and why says the numbers. */
	k = choose(NULL, 0, 0, 2 * MiB, 0, why, sizeof(why));
	TEST_ASSERT(k == BACKING_MEMFD, "empty pool: got %s", backing_kind_name(k));
	TEST_ASSERT(strstr(why, "no devdax device; hugetlb pool has 0 free 2 MiB pages") &&
		    strstr(why, "memfd chosen"), "why: %s", why);
	TEST_ASSERT(strstr(why, "256 needed for 512 MiB"), "default size is 512 MiB: %s", why);

	/* Pool exactly large enough for the default 512 MiB: hugepages. */
	k = choose(NULL, 0, 0, 2 * MiB, 256, why, sizeof(why));
	TEST_ASSERT(k == BACKING_MEMFD_HUGE, "256 free: got %s (%s)", backing_kind_name(k), why);
	TEST_ASSERT(strstr(why, "memfd-huge chosen"), "why: %s", why);

	/* One page short: memfd, auto never grows the pool. */
	k = choose(NULL, 0, 0, 2 * MiB, 255, why, sizeof(why));
	TEST_ASSERT(k == BACKING_MEMFD, "255 free: got %s", backing_kind_name(k));

	/* Explicit size counts: 1 GiB needs 512 pages. */
	k = choose(NULL, 0, GiB, 2 * MiB, 511, why, sizeof(why));
	TEST_ASSERT(k == BACKING_MEMFD, "1 GiB, 511 free: got %s", backing_kind_name(k));
	k = choose(NULL, 0, GiB, 2 * MiB, 512, why, sizeof(why));
	TEST_ASSERT(k == BACKING_MEMFD_HUGE, "1 GiB, 512 free: got %s", backing_kind_name(k));

	/* A size hugepages cannot hold exactly: memfd, saying why. */
	k = choose(NULL, 0, 3 * MiB, 2 * MiB, 1000, why, sizeof(why));
	TEST_ASSERT(k == BACKING_MEMFD && strstr(why, "not a multiple"), "3 MiB: %s / %s",
		    backing_kind_name(k), why);

	/* No hugetlb in the kernel, or an unreadable pool. */
	k = choose(NULL, 0, 0, 0, -1, why, sizeof(why));
	TEST_ASSERT(k == BACKING_MEMFD && strstr(why, "no hugetlb pool"), "no hugetlb: %s", why);
	k = choose(NULL, 0, 0, 2 * MiB, -1, why, sizeof(why));
	TEST_ASSERT(k == BACKING_MEMFD, "unknown pool: got %s", backing_kind_name(k));

	/* A short why buffer is truncated, never overrun. */
	why[8] = 'X';
	choose(NULL, 0, 0, 2 * MiB, 0, why, 8);
	TEST_ASSERT(strlen(why) == 7 && why[8] == 'X', "truncated why: '%s'", why);
}

int main(void)
{
	test_sizes();
	test_names();
	test_auto();
	printf("PASS: backing size rules, kind names, auto selection\n");
	return T_PASS;
}
