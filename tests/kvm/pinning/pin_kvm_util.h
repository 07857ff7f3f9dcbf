/* Helpers shared by the pinning integration tests: counters and one map/unmap cycle whose
 * pin deltas are measured exactly (VmPin) and system-wide (vmstat, retried when another
 * process pinned at the same moment). */
#ifndef DAXVM_TESTS_KVM_PINNING_UTIL_H
#define DAXVM_TESTS_KVM_PINNING_UTIL_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "pinning/pin.h"
#include "validate/vmstat.h"
#include "test.h"

static inline uint64_t t_vmpin_kib(void)
{
	uint64_t kib = 0;

	TEST_ASSERT(vmstat_self_kib("VmPin", &kib, NULL) == 0, "VmPin in /proc/self/status");
	return kib;
}

static inline struct vmstat_pins t_vmstat(void)
{
	struct vmstat_pins p;
	struct err e = { 0 };

	TEST_ASSERT(vmstat_read_pins(&p, &e) == 0, "vmstat: %s", e.msg);
	TEST_ASSERT(p.refreshed, "vm.stat_refresh must be writable (root) for exact deltas");
	return p;
}

struct t_cycle {
	int64_t acq_map, rel_map;	/* vmstat deltas across map */
	int64_t acq_unmap, rel_unmap;	/* vmstat deltas across unmap */
	uint64_t vmpin_map_kib;		/* VmPin growth across map */
	uint64_t vmpin_left_kib;	/* VmPin above the start after unmap */
	uint64_t container_pins;	/* pin_container_pinned_pages after map */
};

/* Maps [mem, mem+size) at iova 0 with page_size accounting, then unmaps it. */
static inline int t_map_cycle(struct pin_container *c, void *mem, uint64_t size, uint64_t page_size,
			      struct t_cycle *out, struct err *e)
{
	struct pin_dma_map m = { .vaddr = (uintptr_t)mem, .iova = 0, .size = size,
				 .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = page_size };
	uint64_t pin0 = t_vmpin_kib(), pin1, pin2, unmapped = 0;
	struct vmstat_pins a = t_vmstat(), b, d;
	int ret = pin_map_dma(c, &m, e);

	b = t_vmstat();
	pin1 = t_vmpin_kib();
	out->container_pins = pin_container_pinned_pages(c);
	if (ret)
		return ret;
	TEST_ASSERT(pin_unmap_dma(c, 0, size, &unmapped, e) == 0 && unmapped == size, "unmap: %s", e->msg);
	d = t_vmstat();
	pin2 = t_vmpin_kib();
	out->acq_map = (int64_t)(b.acquired - a.acquired);
	out->rel_map = (int64_t)(b.released - a.released);
	out->acq_unmap = (int64_t)(d.acquired - b.acquired);
	out->rel_unmap = (int64_t)(d.released - b.released);
	out->vmpin_map_kib = pin1 - pin0;
	out->vmpin_left_kib = pin2 > pin0 ? pin2 - pin0 : 0;
	return 0;
}

/* Runs the cycle until the system-wide counters show exactly the expected deltas (another
 * test may pin at the same moment: up to 8 attempts); VmPin must be exact every time.
 * folio: bytes per pinned folio (4 KiB, or 2 MiB for hugetlb/THP where io_uring keeps one
 * pin per folio and drops the other 511 right away). */
static inline void t_expect_exact_cycle(struct pin_container *c, void *mem, uint64_t size,
					uint64_t folio, const char *what)
{
	int64_t n4k = (int64_t)(size / 4096), nf = (int64_t)(size / folio);
	struct t_cycle r = { 0 };
	int attempt;

	for (attempt = 1; attempt <= 8; attempt++) {
		struct err e = { 0 };

		TEST_ASSERT(t_map_cycle(c, mem, size, folio, &r, &e) == 0, "%s: map: %s", what, e.msg);
		TEST_ASSERT(r.vmpin_map_kib * 1024 == size, "%s: VmPin grew by %" PRIu64 " KiB for %" PRIu64
			    " KiB mapped", what, r.vmpin_map_kib, size / 1024);
		TEST_ASSERT(r.vmpin_left_kib == 0, "%s: %" PRIu64 " KiB still in VmPin after unmap", what,
			    r.vmpin_left_kib);
		TEST_ASSERT(r.container_pins == (uint64_t)nf, "%s: container counts %" PRIu64 " pins, want %" PRId64,
			    what, r.container_pins, nf);
		if (r.acq_map == n4k && r.rel_map == n4k - nf && r.acq_unmap == 0 && r.rel_unmap == nf)
			break;
		/* Before Linux 6.10 io_uring did not coalesce large folios: one pin per 4 KiB page
		 * is kept until unmap. Still exact, just per page. */
		if (nf != n4k && r.acq_map == n4k && r.rel_map == 0 && r.acq_unmap == 0 && r.rel_unmap == n4k) {
			printf("  %s: this kernel keeps one pin per 4 KiB page of large folios (pre-6.10 io_uring)\n", what);
			break;
		}
		printf("  %s attempt %d: vmstat map +%" PRId64 "/+%" PRId64 ", unmap +%" PRId64 "/+%" PRId64
		       " (want +%" PRId64 "/+%" PRId64 ", +0/+%" PRId64 "): another process pinned meanwhile, retrying\n",
		       what, attempt, r.acq_map, r.rel_map, r.acq_unmap, r.rel_unmap, n4k, n4k - nf, nf);
	}
	TEST_ASSERT(attempt <= 8, "%s: vmstat deltas never matched the expected pins in 8 attempts", what);
	printf("  %-10s %8" PRIu64 " KiB: pinned %" PRId64 " (acquired %" PRId64 ", released at once %" PRId64
	       "), released %" PRId64 " on unmap; VmPin +%" PRIu64 " KiB -> +0\n",
	       what, size / 1024, r.acq_map - r.rel_map, r.acq_map, r.rel_map, r.rel_unmap, r.vmpin_map_kib);
}

#endif
