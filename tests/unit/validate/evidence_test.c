/* validate_decide() on made-up kernels: each scenario is what a real kernel reports (see
 * ../shared/LAB-FACTS.md). Positive controls: a real leak (VFIO type1 on devdax) must be a
 * leak and unpinned memory must fail; the 7.x io_uring run as root (VmPin never charged)
 * must pass. */
#include <inttypes.h>

#include "test.h"
#include "validate/evidence.h"

#define MIB (1ull << 20)

/* 64 MiB of 4 KiB pages pinned through io_uring by this process; baseline counters. */
static struct validate_readings uring_4k(void)
{
	return (struct validate_readings){
		.kernel_pins = true, .mapped_bytes = 64 * MIB, .expected_pins = 16384, .pin_unit = 4096,
		.has_baseline = true, .own_field = "VmPin", .own_readable = true,
		.own_before_kib = 100, .own_pinned_kib = 100, .vmstat_refreshed = true,
		.acq_before = 1000000, .rel_before = 900000, .acq_pinned = 1000000, .rel_pinned = 900000,
	};
}

static void released_clean(struct validate_readings *r)
{
	r->released = true;
	r->own_after_readable = true;
	r->own_after_kib = r->own_before_kib;
	r->acq_after = r->acq_pinned;
	r->rel_after = r->rel_before + (r->acq_pinned - r->acq_before);
}

int main(void)
{
	struct validate_readings r;
	struct validate_decision d;

	/* 6.1/6.12: VmPin charged, exact; clean release. */
	r = uring_4k();
	r.own_pinned_kib += 65536;
	r.acq_pinned += 16384;
	released_clean(&r);
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_OWN && !d.pin_failed && !d.leak && d.pinned_pages == 16384,
		    "6.x own counter: ev %s pinned %" PRIu64 " fail '%s' leak %d", validate_evidence_name(d.evidence),
		    d.pinned_pages, d.pin_failure, d.leak);

	/* 7.x as root: VmPin stays 0 while io_uring pins; vmstat counts every pin taken and released.
	 * Today's false FAIL: this must PASS, on vmstat evidence. */
	r = uring_4k();
	r.acq_pinned += 16384;
	released_clean(&r);
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_VMSTAT, "7.x root: evidence %s", validate_evidence_name(d.evidence));
	TEST_ASSERT(!d.pin_failed && !d.leak && d.leaked_pins == 0 && d.pinned_pages == 16384,
		    "7.x root clean run is PASS: fail '%s' leak %d (%" PRIu64 ") pinned %" PRIu64, d.pin_failure,
		    d.leak, d.leaked_pins, d.pinned_pages);
	TEST_ASSERT(strstr(d.why, "VmPin") && strstr(d.why, "vmstat"), "why names both counters: %s", d.why);

	/* 7.x as root with 2 MiB folios: GUP counts 512 per folio, io_uring drops 511 (6.10+). */
	r = uring_4k();
	r.expected_pins = 32;
	r.pin_unit = 2 * MIB;
	r.acq_pinned += 16384;
	r.rel_pinned += 16384 - 32;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_VMSTAT && !d.pin_failed && d.pinned_pages == 32,
		    "2 MiB folios on vmstat: pinned %" PRIu64 " fail '%s'", d.pinned_pages, d.pin_failure);

	/* Positive control: VFIO type1 on devdax. VmLck is never charged (reserved pages) and
	 * UNMAP_DMA never unpins: vmstat net stays at the pins taken. Must be a leak. */
	r = uring_4k();
	r.own_field = "VmLck";
	r.acq_pinned += 16384;
	r.released = true;
	r.own_after_readable = true;
	r.own_after_kib = r.own_before_kib;
	r.acq_after = r.acq_pinned;
	r.rel_after = r.rel_pinned;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_VMSTAT && !d.pin_failed, "vfio devdax pins shown by vmstat: %s",
		    validate_evidence_name(d.evidence));
	TEST_ASSERT(d.leak && d.leaked_pins == 16384 && d.vm_after_net == 16384,
		    "vfio devdax leak caught: leak %d leaked %" PRIu64 " net %" PRId64, d.leak, d.leaked_pins,
		    d.vm_after_net);
	TEST_ASSERT(strstr(d.release_failure, "VmLck"), "the leak says why vmstat: %s", d.release_failure);

	/* vmstat is system-wide: never blame more pins than the target took. */
	r.rel_after -= 5 * 16384;	/* other processes' pins left over too */
	validate_decide(&r, &d);
	TEST_ASSERT(d.leak && d.leaked_pins == 16384, "leak capped at the pins taken: %" PRIu64, d.leaked_pins);

	/* Own counter leak: VmPin stays 8 MiB above baseline after unmap. */
	r = uring_4k();
	r.own_pinned_kib += 65536;
	r.acq_pinned += 16384;
	released_clean(&r);
	r.own_after_kib += 8192;
	r.rel_after -= 2048;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_OWN && d.leak && d.leaked_pins == 2048,
		    "own-counter leak: leak %d leaked %" PRIu64, d.leak, d.leaked_pins);

	/* Own counter back to baseline while vmstat shows pins: another process's, no leak. */
	r = uring_4k();
	r.own_pinned_kib += 65536;
	r.acq_pinned += 16384;
	released_clean(&r);
	r.acq_after += 300;
	validate_decide(&r, &d);
	TEST_ASSERT(!d.leak && d.vm_after_net == 300 && strstr(d.note, "another process"),
		    "foreign pins are not this target's leak: leak %d note '%s'", d.leak, d.note);

	/* Positive control: memory that was not pinned at all (no counter moved). */
	r = uring_4k();
	r.acq_pinned += 10;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_NONE && d.pin_failed && strstr(d.pin_failure, "not pinned"),
		    "unpinned memory fails: %s '%s'", validate_evidence_name(d.evidence), d.pin_failure);
	r.released = true;	/* and no leak is invented for pins never shown taken */
	r.acq_after = r.acq_pinned;
	r.rel_after = r.rel_pinned;
	validate_decide(&r, &d);
	TEST_ASSERT(!d.leak, "no release judgement without evidence");

	/* Own counter moved by less than mapped: a shortfall. */
	r = uring_4k();
	r.own_pinned_kib += 4096;
	r.acq_pinned += 16384;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_OWN && d.pin_failed && strstr(d.pin_failure, "4096 KiB"),
		    "partial pin fails: '%s'", d.pin_failure);

	/* Own counter exact but vmstat (refreshed) saw fewer FOLL_PIN pages. */
	r = uring_4k();
	r.own_pinned_kib += 65536;
	r.acq_pinned += 100;
	validate_decide(&r, &d);
	TEST_ASSERT(d.pin_failed && strstr(d.pin_failure, "FOLL_PIN"), "no FOLL_PIN: '%s'", d.pin_failure);
	r.vmstat_refreshed = false;	/* lagging per-CPU counters: no cross-check */
	validate_decide(&r, &d);
	TEST_ASSERT(!d.pin_failed, "unrefreshed vmstat is not a failure: '%s'", d.pin_failure);

	/* Mock: bookkeeping, including a leak the container still counts. */
	r = (struct validate_readings){ .kernel_pins = false, .expected_pins = 8, .bookkeeping_pinned = 8 };
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_BOOKKEEPING && !d.pin_failed, "mock ok");
	r.bookkeeping_pinned = 7;
	validate_decide(&r, &d);
	TEST_ASSERT(d.pin_failed, "mock shortfall fails");
	r.bookkeeping_pinned = 8;
	r.released = true;
	r.bookkeeping_after = 3;
	validate_decide(&r, &d);
	TEST_ASSERT(d.leak && d.leaked_pins == 3, "mock leak");

	/* No baseline (watching another VMM): absolute VmPin covering the ranges proves them;
	 * VmLck 0 under VFIO on devdax cannot, and that is reported, not failed. */
	r = uring_4k();
	r.has_baseline = false;
	r.own_pinned_kib = 70000;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_OWN && !d.pin_failed, "absolute VmPin: %s", validate_evidence_name(d.evidence));
	r.own_field = "VmLck";
	r.own_pinned_kib = 0;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_UNPROVEN && !d.pin_failed && !d.leak, "unproven: %s",
		    validate_evidence_name(d.evidence));
	/* Attached (inspect): QEMU with vfio-pci and 512 MiB of devdax RAM. VmLck 0 (devdax is not
	 * charged); the system-wide net since boot covers the pins and shows more (earlier leaks). */
	memset(&r, 0, sizeof(r));
	r.kernel_pins = true;
	r.attached = true;
	r.own_field = "VmLck";
	r.own_readable = true;
	r.pin_unit = 4096;
	r.mapped_bytes = 512ull << 20;
	r.expected_pins = 131072;
	r.uncharged_bytes = 512ull << 20;
	r.acq_pinned = 1000000 + 262080;
	r.rel_pinned = 1000000;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_VMSTAT && !d.pin_failed && d.pinned_pages == 131072 &&
		    d.vm_net_at_attach == 262080 && strstr(d.note, "131008 more pins"), "attached devdax: %s / %s",
		    validate_evidence_name(d.evidence), d.note);
	/* It exits and releases none of them (VFIO type1 skips PG_reserved pages): a leak of all. */
	r.released = true;
	r.acq_after = r.acq_pinned;
	r.rel_after = r.rel_pinned;
	validate_decide(&r, &d);
	TEST_ASSERT(d.leak && d.leaked_pins == 131072, "attached exit leak %" PRIu64, d.leaked_pins);
	/* ... or releases them all: no leak. */
	r.rel_after = r.rel_pinned + 131072;
	validate_decide(&r, &d);
	TEST_ASSERT(!d.leak, "attached exit released");
	/* Not enough pins anywhere: the target cannot hold its pins. */
	r.released = false;
	r.acq_pinned = r.rel_pinned + 100;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_NONE && d.pin_failed, "attached, too few pins: %s", d.pin_failure);

	/* RAM under VFIO with mlock: VmLck 600,000 KiB of which 0 mlocked covers the 524,288 KiB;
	 * the 18,928 pages beyond (ROMs) must be released at exit as well. */
	r.uncharged_bytes = 0;
	r.own_pinned_kib = 600000;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_OWN && !d.pin_failed && d.outside_pins == 18928, "own: %s %" PRIu64,
		    validate_evidence_name(d.evidence), d.outside_pins);
	r.released = true;
	r.rel_after = r.rel_pinned + 131072 + 18928;
	validate_decide(&r, &d);
	TEST_ASSERT(!d.leak, "own: all released");
	r.rel_after = r.rel_pinned + 131072;
	validate_decide(&r, &d);
	TEST_ASSERT(d.leak && d.leaked_pins == 18928, "own: the ROM pins' worth kept: %" PRIu64, d.leaked_pins);
	/* The same VmLck, but 500,000 KiB of it is mlock (mem-lock=on): not pins, so not enough. */
	r.released = false;
	r.own_not_pins_kib = 500000;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_NONE && d.pin_failed, "mlock is not pins: %s", validate_evidence_name(d.evidence));
	/* No pin path: nothing expected, nothing judged at exit. */
	r.expected_pins = 0;
	r.released = true;
	r.rel_after = r.rel_pinned;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_NOT_PINNED && !d.pin_failed && !d.leak, "not pinned: %s",
		    validate_evidence_name(d.evidence));
	/* libvirt in the lab (6.1): 256 MiB RAM charged, but QEMU maps 64 pages of it not for DMA (VmLck
	 * 261,888 KiB), and a 256 MiB nvdimm on devdax, uncharged. At exit the RAM pins come back, the
	 * nvdimm's do not: exactly the nvdimm's 65,536 leak. */
	memset(&r, 0, sizeof(r));
	r.kernel_pins = r.attached = r.own_readable = true;
	r.own_field = "VmLck";
	r.pin_unit = 4096;
	r.mapped_bytes = 512ull << 20;
	r.expected_pins = 131072;
	r.uncharged_bytes = 256ull << 20;
	r.own_pinned_kib = 261888;
	r.acq_pinned = 131008;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_VMSTAT && !d.pin_failed && d.pinned_pages == 131008, "libvirt: %s %" PRIu64,
		    validate_evidence_name(d.evidence), d.pinned_pages);
	r.released = true;
	r.acq_after = r.acq_pinned;
	r.rel_after = 65472;
	validate_decide(&r, &d);
	TEST_ASSERT(d.leak && d.leaked_pins == 65536, "libvirt exit: %" PRIu64 " (%s)", d.leaked_pins, d.release_failure);
	/* 7.x io_uring as root: VmPin shows nothing; vmstat covers; at exit all 65,536 must come back. */
	memset(&r, 0, sizeof(r));
	r.kernel_pins = r.attached = r.own_readable = true;
	r.own_field = "VmPin";
	r.pin_unit = 4096;
	r.mapped_bytes = 256ull << 20;
	r.expected_pins = 65536;
	r.acq_pinned = 70000;
	validate_decide(&r, &d);
	TEST_ASSERT(d.evidence == VALIDATE_EV_VMSTAT && d.pinned_pages == 65536, "7.x: %s", validate_evidence_name(d.evidence));
	r.released = true;
	r.rel_after = 65536;
	r.acq_after = r.acq_pinned;
	validate_decide(&r, &d);
	TEST_ASSERT(!d.leak, "7.x released");
	r.rel_after = 1000;
	validate_decide(&r, &d);
	TEST_ASSERT(d.leak && d.leaked_pins == 64536, "7.x kept %" PRIu64, d.leaked_pins);
	printf("PASS: evidence decision on 6.x, 7.x root, VFIO devdax leak, foreign pins, mock, no baseline, "
	       "attached targets (devdax, RAM, mlock, no pin path) and their exit\n");
	return T_PASS;
}
