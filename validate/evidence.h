/* Which pin counter a verdict can rest on. Kernels differ in what they charge (see
 * ../shared/LAB-FACTS.md): the decision is made here, once, from the counter readings alone,
 * so it can be tested with made-up readings. */
#ifndef DAXVM_VALIDATE_EVIDENCE_H
#define DAXVM_VALIDATE_EVIDENCE_H

#include <stdbool.h>
#include <stdint.h>

enum validate_evidence {
	VALIDATE_EV_NONE,		/* no counter shows the pins: the pin check fails */
	VALIDATE_EV_BOOKKEEPING,	/* no kernel pins (mock): the container's own count */
	VALIDATE_EV_OWN,		/* the target's VmPin/VmLck: per process, exact */
	VALIDATE_EV_VMSTAT,		/* nr_foll_pin_*: system-wide, the own counter did not move */
	VALIDATE_EV_UNPROVEN,		/* no baseline and no own counter covering the ranges:
					 * nothing to compare with, reported but not a failure */
	VALIDATE_EV_NOT_PINNED,		/* the target has no pin path (0 pins expected): nothing
					 * to count, the frames are watched all the same */
};

/* Report spelling of each kind ("none", "bookkeeping", "own_counter", "vmstat", "unproven",
 * "not_pinned"). */
const char *validate_evidence_name(enum validate_evidence ev);

/* Counter readings at three moments: before pinning (baseline), while pinned, after the
 * pins were released. Values are what the files said; the decision computes the deltas. */
struct validate_readings {
	bool kernel_pins;		/* false: mock, nothing for the kernel to count */
	uint64_t mapped_bytes;		/* bytes of all ranges */
	uint64_t expected_pins;		/* pins the ranges need (pin_expected_pins) */
	uint64_t pin_unit;		/* bytes one pin covers, to turn KiB into pins */

	bool has_baseline;		/* readings were taken before pinning */
	const char *own_field;		/* "VmPin", "VmLck" or NULL: what the pin path charges */
	bool own_readable;		/* the field exists at baseline and while pinned */
	uint64_t own_before_kib, own_pinned_kib;
	bool vmstat_refreshed;		/* stat_refresh was written before each read */
	uint64_t acq_before, rel_before, acq_pinned, rel_pinned;
	uint64_t bookkeeping_pinned;	/* mock: pins the container counts while pinned */
	/* Attached to a process that pinned before anyone looked (inspect): no baseline. */
	bool attached;			/* acq_pinned/rel_pinned are absolute (since boot), read at attach;
					 * the release readings are taken after the process exited */
	uint64_t own_not_pins_kib;	/* part of the own counter that is not pins (VmLck also counts
					 * mlock: the sizes of the target's VM_LOCKED mappings) */
	uint64_t uncharged_bytes;	/* bytes of the ranges pinned without charging the own counter */

	bool released;			/* after-release readings below are set */
	bool own_after_readable;
	uint64_t own_after_kib;
	uint64_t acq_after, rel_after;
	uint64_t bookkeeping_after;	/* mock: pins the container still counts */
};

struct validate_decision {
	enum validate_evidence evidence;
	char why[320];			/* which counter the verdict rests on, and why that one */
	uint64_t pinned_pages;		/* pins measured by that evidence */
	int64_t own_pinning_kib;	/* own counter, baseline -> pinned */
	int64_t vm_pinning_acquired;	/* vmstat, baseline -> pinned */
	int64_t vm_pinning_released;
	int64_t own_after_kib;		/* own counter, baseline -> after release */
	int64_t vm_after_net;		/* vmstat (acquired - released), baseline -> after release */
	bool pin_failed;
	char pin_failure[320];		/* why the pins are not proven taken */
	bool leak;
	uint64_t leaked_pins;
	char release_failure[320];	/* the leak, in one sentence (without the IOVA range) */
	char note[256];			/* what could not be proven, or foreign pins seen */
	/* Attached targets: */
	uint64_t outside_pins;		/* pins the own counter shows beyond the ranges (ROMs, VGA RAM
					 * a VMM also maps for DMA): released at exit too */
	int64_t vm_net_at_attach;	/* nr_foll_pin_acquired - released since boot, at attach */
	int64_t exit_released;		/* nr_foll_pin_released growth, attach -> after exit */
};

/* Decides from the readings; pure (no I/O), so unit tests feed it made-up kernels. */
void validate_decide(const struct validate_readings *r, struct validate_decision *d);

#endif
