/* Guest memory layout and the sharing of RAM between vCPU pattern areas (pure functions):
 * below and above 3 GiB, alignment and size errors, the 5 GiB layout, the region visitor,
 * gpa -> host translation, and areas that continue across the 3-4 GiB hole. */
#include <stdint.h>

#include "guest/abi.h"
#include "test.h"
#include "vmm/guest_mem.h"
#include "vmm/guest_params.h"
#include "stress_plan.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static int count_regions(const struct guest_mem_region *r, void *opaque)
{
	uint64_t *sum = opaque;

	sum[0]++;
	sum[1] += r->size;
	return 0;
}

static int stop_at_first(const struct guest_mem_region *r, void *opaque)
{
	(void)r;
	(void)opaque;
	return 42;
}

static void test_small(void)
{
	struct guest_mem gm;
	struct err e = { 0 };

	TEST_ASSERT(test_plan(512 * MiB, 4096, &gm, &e) == 0, "512 MiB: %s", e.msg);
	TEST_ASSERT(gm.nr_regions == 1, "one region below 3 GiB, got %u", gm.nr_regions);
	TEST_ASSERT(gm.regions[0].gpa == 0 && gm.regions[0].size == 512 * MiB, "region 0 at 0");
	TEST_ASSERT(gm.ram_bytes == 512 * MiB, "ram_bytes");
	/* Exactly 3 GiB still fits below the hole. */
	TEST_ASSERT(test_plan(3 * GiB, 2 * MiB, &gm, &e) == 0, "3 GiB: %s", e.msg);
	TEST_ASSERT(gm.nr_regions == 1 && gm.regions[0].size == 3 * GiB, "3 GiB is one region");
}

static void test_five_gib(void)
{
	struct guest_mem gm;
	struct err e = { 0 };
	uint64_t sums[2] = { 0, 0 };
	const uintptr_t base = 0x100000000000ULL;	/* a fake host address, never dereferenced */
	struct backing b = { .fd = 7, .offset = 1 * GiB, .size = 5 * GiB, .page_size = 4096,
			     .align = 4096 };

	TEST_ASSERT(test_plan(5 * GiB, 4096, &gm, &e) == 0, "5 GiB: %s", e.msg);
	TEST_ASSERT(gm.nr_regions == 2, "5 GiB needs two regions, got %u", gm.nr_regions);
	TEST_ASSERT(gm.regions[0].gpa == 0 && gm.regions[0].size == 3 * GiB, "low 3 GiB at 0");
	TEST_ASSERT(gm.regions[1].gpa == 4 * GiB && gm.regions[1].size == 2 * GiB,
		    "2 GiB at 4 GiB, got %llu at 0x%llx", (unsigned long long)gm.regions[1].size,
		    (unsigned long long)gm.regions[1].gpa);
	TEST_ASSERT(gm.regions[1].backing_off == 3 * GiB, "high region follows low in the backing");
	TEST_ASSERT(gm.regions[0].slot != gm.regions[1].slot, "one memslot per region");
	TEST_ASSERT(guest_mem_for_each_region(&gm, count_regions, sums) == 0, "visitor result");
	TEST_ASSERT(sums[0] == 2 && sums[1] == 5 * GiB, "visitor saw %llu regions, %llu bytes",
		    (unsigned long long)sums[0], (unsigned long long)sums[1]);
	TEST_ASSERT(guest_mem_for_each_region(&gm, stop_at_first, NULL) == 42, "visitor stops early");

	/* Attach to a fake backing: host addresses and file offsets follow the layout. */
	b.host = (void *)base;
	TEST_ASSERT(guest_mem_attach(&gm, &b, &e) == 0, "attach: %s", e.msg);
	TEST_ASSERT(gm.regions[1].fd == 7 && gm.regions[1].fd_offset == 4 * GiB,
		    "high region's file offset is backing offset + 3 GiB");
	TEST_ASSERT((uintptr_t)guest_mem_gpa_to_host(&gm, 0x1000, 8) == base + 0x1000, "low gpa");
	TEST_ASSERT((uintptr_t)guest_mem_gpa_to_host(&gm, 4 * GiB + 0x2000, 8) == base + 3 * GiB + 0x2000,
		    "high gpa");
	TEST_ASSERT(guest_mem_gpa_to_host(&gm, 3 * GiB + 0x1000, 8) == NULL, "the hole is not RAM");
	TEST_ASSERT(guest_mem_gpa_to_host(&gm, 3 * GiB - 4, 8) == NULL, "a range running into the hole");
	TEST_ASSERT(guest_mem_gpa_to_host(&gm, 6 * GiB, 1) == NULL, "beyond RAM");
	TEST_ASSERT(guest_mem_linear_to_gpa(&gm, 3 * GiB) == 4 * GiB, "linear 3 GiB is gpa 4 GiB");
	TEST_ASSERT(guest_mem_linear_to_gpa(&gm, 3 * GiB - 8) == 3 * GiB - 8, "below the hole");

	b.size = 4 * GiB;
	TEST_ASSERT(guest_mem_attach(&gm, &b, &e) == -ENOSPC, "a backing smaller than RAM is refused");
}

static void test_errors(void)
{
	struct guest_mem gm;
	struct err e = { 0 };

	TEST_ASSERT(test_plan(2 * MiB, 4096, &gm, &e) == -EINVAL, "2 MiB is below the minimum");
	err_reset(&e);
	TEST_ASSERT(test_plan(5 * MiB, 4096, &gm, &e) == -EINVAL, "not a multiple of 2 MiB");
	TEST_ASSERT(strstr(e.msg, "2 MiB"), "message names 2 MiB: %s", e.msg);
	err_reset(&e);
	TEST_ASSERT(test_plan(1 * GiB + 2 * MiB, 1 * GiB, &gm, &e) == -EINVAL,
		    "not a multiple of a 1 GiB devdax alignment");
	TEST_ASSERT(strstr(e.msg, "alignment"), "message names the alignment: %s", e.msg);
	err_reset(&e);
	TEST_ASSERT(test_plan(4 * GiB, 1 * GiB, &gm, &e) == 0, "4 GiB on 1 GiB alignment: %s", e.msg);
	TEST_ASSERT(test_plan(300 * GiB, 4096, &gm, &e) == -E2BIG, "beyond the page tables");
}

static void test_params(void)
{
	struct guest_mem gm;
	struct guest_params p;
	struct err e = { 0 };

	TEST_ASSERT(test_plan(64 * MiB, 4096, &gm, &e) == 0, "64 MiB");
	TEST_ASSERT(guest_params_layout(&gm, 2, 0, 1, 0, 0, &p, &e) == 0, "2 vCPUs: %s", e.msg);
	TEST_ASSERT(p.magic == GUEST_PARAMS_MAGIC && p.nr_cpus == 2, "header");
	TEST_ASSERT(p.work_bytes_per_cpu == 30 * MiB, "(64 - 2) / 2 = 31, rounded to 2 MiB: %llu",
		    (unsigned long long)p.work_bytes_per_cpu);
	TEST_ASSERT(p.work_gpa[0] == GUEST_RESERVED_BYTES && p.work_gpa[1] == GUEST_RESERVED_BYTES + 30 * MiB,
		    "areas follow the boot area back to back");
	TEST_ASSERT(p.min_passes == 1 && p.stop == 0, "at least one pass, not stopped");
	err_reset(&e);
	TEST_ASSERT(guest_params_layout(&gm, 0, 0, 1, 0, 0, &p, &e) == -EINVAL, "0 vCPUs");
	err_reset(&e);
	TEST_ASSERT(guest_params_layout(&gm, 65, 0, 1, 0, 0, &p, &e) == -EINVAL, "65 vCPUs");
	err_reset(&e);
	TEST_ASSERT(test_plan(4 * MiB, 4096, &gm, &e) == 0, "4 MiB");
	TEST_ASSERT(guest_params_layout(&gm, 2, 0, 1, 0, 0, &p, &e) == -EINVAL,
		    "4 MiB cannot give 2 vCPUs 2 MiB each");
	TEST_ASSERT(strstr(e.msg, "6 MiB"), "message says how much is needed: %s", e.msg);

	/* 5 GiB, 2 vCPUs: vCPU 1's share starts at 2.5 GiB; a 600 MiB area crosses the hole. */
	err_reset(&e);
	TEST_ASSERT(test_plan(5 * GiB, 4096, &gm, &e) == 0, "5 GiB");
	TEST_ASSERT(guest_params_layout(&gm, 2, 0, 1, 0, 600 * MiB, &p, &e) == 0, "%s", e.msg);
	TEST_ASSERT(p.ram_low_bytes == 3 * GiB && p.ram_high_bytes == 2 * GiB, "RAM split");
	TEST_ASSERT(p.work_bytes_per_cpu == 600 * MiB, "capped area");
	TEST_ASSERT(p.work_gpa[1] == 2 * MiB + 2558 * MiB, "vCPU 1 at its share: 0x%llx",
		    (unsigned long long)p.work_gpa[1]);
	TEST_ASSERT(p.work_gpa[1] < p.ram_low_bytes && p.work_gpa[1] + p.work_bytes_per_cpu > p.ram_low_bytes,
		    "vCPU 1's area continues at 4 GiB");
	/* 4 vCPUs: vCPU 3's share lies wholly above 4 GiB. */
	TEST_ASSERT(guest_params_layout(&gm, 4, 0, 1, 0, 0, &p, &e) == 0, "%s", e.msg);
	TEST_ASSERT(p.work_gpa[3] >= 4 * GiB, "vCPU 3 above 4 GiB: 0x%llx", (unsigned long long)p.work_gpa[3]);
	TEST_ASSERT(p.work_gpa[3] - 4 * GiB + 3 * GiB + p.work_bytes_per_cpu <= 5 * GiB,
		    "vCPU 3's area ends inside RAM");
	err_reset(&e);
	TEST_ASSERT(guest_params_layout(&gm, 2, 0, 1, 0, 1 * MiB, &p, &e) == -EINVAL,
		    "an area below 2 MiB");
	err_reset(&e);
	TEST_ASSERT(guest_params_layout(&gm, 2, 0, 1, 64 * MiB, 0, &p, &e) == 0, "tail reserve");
	TEST_ASSERT(p.work_bytes_per_cpu == (5 * GiB - 2 * MiB - 64 * MiB) / 2 / (2 * MiB) * (2 * MiB),
		    "the DMA reserve is left out");
}

int main(void)
{
	test_small();
	test_five_gib();
	test_errors();
	test_params();
	printf("PASS: guest memory layout and vCPU areas\n");
	return T_PASS;
}
