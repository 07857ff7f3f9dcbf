/* --pmem placement (pure parts of vmm/session_pmem.c): a slice of RAM's own device after RAM
 * (offset defaults to the RAM size; overlap, misalignment, running past the end refused), the
 * size RAM's mapping then needs, a stand-in of its own, and the range's place above RAM. */
#include "test.h"
#include "vmm/session_pmem.h"

static void refused(int ret, const struct err *e, const char *word)
{
	TEST_ASSERT(ret == -EINVAL && strstr(e->msg, word), "want -EINVAL with \"%s\": %d %s", word, ret, e->msg);
}

int main(void)
{
	struct run_config cfg = { .mem = "/dev/dax0.0", .mem_size = 256ULL << 20,
				  .pmem_path = "/dev/dax0.0", .pmem_size = 64ULL << 20,
				  .pmem_offset = RUN_PMEM_OFFSET_AUTO };
	const uint64_t dev = 1006ULL << 20, a2m = 2ULL << 20;
	struct pmem_region p = { 0 };
	struct err e = { 0 };
	uint64_t req;

	/* Same path: shared, RAM's mapping spans RAM and the pmem. */
	TEST_ASSERT(pmem_shares_ram(&cfg), "same path must share");
	TEST_ASSERT(pmem_ram_request(&cfg, &req, &e) == 0 && req == 320ULL << 20, "request %llu: %s",
		    (unsigned long long)req, e.msg);
	TEST_ASSERT(pmem_place(&cfg, req, a2m, true, &p, &e) == 0 && p.offset == 256ULL << 20 &&
		    p.size == 64ULL << 20 && p.shares_ram, "auto offset: %s", e.msg);
	cfg.pmem_offset = 512ULL << 20;
	TEST_ASSERT(pmem_ram_request(&cfg, &req, &e) == 0 && req == 576ULL << 20, "explicit offset request");
	/* No size: the whole device is mapped, the pmem runs to its end. */
	cfg.pmem_size = 0;
	TEST_ASSERT(pmem_ram_request(&cfg, &req, &e) == 0 && req == 0, "no size: whole device");
	TEST_ASSERT(pmem_place(&cfg, dev, a2m, true, &p, &e) == 0 && p.size == dev - (512ULL << 20), "to the end");
	cfg.pmem_size = 64ULL << 20;
	/* Refusals. */
	cfg.pmem_offset = 128ULL << 20;
	err_reset(&e);
	refused(pmem_place(&cfg, dev, a2m, true, &p, &e), &e, "overlaps guest RAM");
	cfg.pmem_offset = (256ULL << 20) + 4096;
	err_reset(&e);
	refused(pmem_place(&cfg, dev, a2m, true, &p, &e), &e, "not aligned");
	cfg.pmem_offset = 1000ULL << 20;
	err_reset(&e);
	refused(pmem_place(&cfg, dev, a2m, true, &p, &e), &e, "runs past the end");
	cfg.pmem_offset = 2000ULL << 20;
	err_reset(&e);
	refused(pmem_place(&cfg, dev, a2m, true, &p, &e), &e, "past the end");
	cfg.mem_size = 0;
	err_reset(&e);
	refused(pmem_ram_request(&cfg, &req, &e), &e, "explicit RAM size");
	/* A devdax aligned to 1 GiB: 2 MiB steps are refused. */
	cfg.mem_size = 1ULL << 30;
	cfg.pmem_offset = RUN_PMEM_OFFSET_AUTO;
	err_reset(&e);
	refused(pmem_place(&cfg, 4ULL << 30, 1ULL << 30, true, &p, &e), &e, "1 GiB");
	/* A stand-in of its own: offset 0 by default, RAM's request untouched. */
	cfg = (struct run_config){ .mem = "memfd", .mem_size = 256ULL << 20, .pmem_path = "memfd",
				   .pmem_size = 64ULL << 20, .pmem_offset = RUN_PMEM_OFFSET_AUTO };
	TEST_ASSERT(!pmem_shares_ram(&cfg), "memfd never shares");
	TEST_ASSERT(pmem_ram_request(&cfg, &req, &e) == 0 && req == 256ULL << 20, "own backing: RAM as asked");
	TEST_ASSERT(pmem_place(&cfg, 64ULL << 20, 4096, false, &p, &e) == 0 && p.offset == 0 && !p.shares_ram,
		    "stand-in: %s", e.msg);
	printf("pmem_place_test: shared and own pmem ranges placed, every bad placement refused\n");
	return T_PASS;
}
