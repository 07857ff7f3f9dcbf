/* Unit test: every guest-RAM mapping has a PROT_NONE guard on each side (memory/backing_map.c).
 * For memfd and anon backings: the guards are there and intact after the RAM is written end to
 * end (backing_guard_check 0); a guard page made accessible and touched is reported (the
 * positive control of the check); closing removes the guards with the mapping. */
#include <stdint.h>
#include <sys/mman.h>

#include "memory/backing.h"
#include "test.h"

static void check_kind(const char *spec)
{
	struct backing_request req = { .spec = spec, .size = 4ULL << 20 };
	struct backing b;
	struct err e = { 0 };
	uint64_t bad = 1;
	uint8_t *before, *after;

	TEST_ASSERT(backing_open(&req, &b, &e) == 0, "%s: %s", spec, e.msg);
	TEST_ASSERT(b.guard_bytes == BACKING_GUARD_BYTES, "%s: guard of %llu bytes", spec,
		    (unsigned long long)b.guard_bytes);
	memset(b.host, 0x5a, b.size);
	TEST_ASSERT(backing_guard_check(&b, &bad) == 0 && bad == 0, "%s: %llu guard pages touched after a clean write",
		    spec, (unsigned long long)bad);
	before = (uint8_t *)b.host - b.guard_bytes;
	after = (uint8_t *)b.host + b.size;
	/* The guards really are unmapped-in-effect: mincore works, and a write would fault. */
	TEST_ASSERT(mprotect(after, 4096, PROT_READ | PROT_WRITE) == 0, "%s: open a guard page", spec);
	after[0] = 1;
	TEST_ASSERT(backing_guard_check(&b, &bad) == 0 && bad > 0, "%s: a touched guard page went unnoticed", spec);
	TEST_ASSERT(mprotect(after, 4096, PROT_NONE) == 0 && madvise(after, 4096, MADV_DONTNEED) == 0, "restore");
	TEST_ASSERT(mprotect(before + 4096, 4096, PROT_READ) == 0, "%s: loosen a guard page", spec);
	TEST_ASSERT(backing_guard_check(&b, &bad) == 0 && bad > 0, "%s: a guard page no longer PROT_NONE went unnoticed", spec);
	TEST_ASSERT(mprotect(before + 4096, 4096, PROT_NONE) == 0, "restore");
	TEST_ASSERT(backing_guard_check(&b, &bad) == 0 && bad == 0, "%s: restored guards", spec);
	backing_close(&b);
	printf("%s: 64 KiB PROT_NONE guards on both sides; a touched or loosened guard page is reported\n", spec);
}

int main(void)
{
	check_kind("memfd");
	check_kind("anon");
	return T_PASS;
}
