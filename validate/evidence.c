/* The evidence decision: which counter proves the pins were taken and released.
 *
 *   own counter moved          -> own_counter (exact, per process); vmstat cross-checks FOLL_PIN
 *   own counter did not move,
 *     vmstat acquired covers   -> vmstat (system-wide; the kernel does not charge the own counter)
 *   neither moved              -> none: the memory was not pinned (FAIL)
 *   mock backend               -> bookkeeping
 *   no baseline                -> own_counter when its absolute value covers the ranges, else unproven
 *   attached (inspect)         -> own counter (minus what is not pins) covers the ranges: own_counter;
 *                                 the rest covered by the system-wide net since boot: vmstat;
 *                                 neither: none (FAIL); no pin path: not_pinned
 * The leak verdict after release uses the same evidence: never a counter that did not count
 * the pins in the first place. */
#include "validate/evidence.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

const char *validate_evidence_name(enum validate_evidence ev)
{
	switch (ev) {
	case VALIDATE_EV_BOOKKEEPING:
		return "bookkeeping";
	case VALIDATE_EV_OWN:
		return "own_counter";
	case VALIDATE_EV_VMSTAT:
		return "vmstat";
	case VALIDATE_EV_UNPROVEN:
		return "unproven";
	case VALIDATE_EV_NOT_PINNED:
		return "not_pinned";
	case VALIDATE_EV_NONE:
		break;
	}
	return "none";
}

static void decide_mock(const struct validate_readings *r, struct validate_decision *d)
{
	d->evidence = VALIDATE_EV_BOOKKEEPING;
	snprintf(d->why, sizeof(d->why), "no kernel pins (mock backend): the container's own count of pins");
	d->pinned_pages = r->bookkeeping_pinned;
	if (r->bookkeeping_pinned != r->expected_pins) {
		d->pin_failed = true;
		snprintf(d->pin_failure, sizeof(d->pin_failure),
			 "the container counts %" PRIu64 " pins but the ranges need %" PRIu64,
			 r->bookkeeping_pinned, r->expected_pins);
	}
	if (r->released && r->bookkeeping_after) {
		d->leak = true;
		d->leaked_pins = r->bookkeeping_after;
		snprintf(d->release_failure, sizeof(d->release_failure),
			 "the container still counts %" PRIu64 " pins after every range was unmapped",
			 r->bookkeeping_after);
	}
}

/* No reading before the pins were taken (another process's VMM): only absolute values. */
static void decide_no_baseline(const struct validate_readings *r, struct validate_decision *d)
{
	uint64_t unit = r->pin_unit ? r->pin_unit : 4096;

	d->own_pinning_kib = (int64_t)r->own_pinned_kib;
	if (r->own_field && r->own_readable && r->own_pinned_kib * 1024 >= r->mapped_bytes) {
		d->evidence = VALIDATE_EV_OWN;
		d->pinned_pages = r->mapped_bytes / unit;
		snprintf(d->why, sizeof(d->why),
			 "%s of the target is %" PRIu64 " KiB, at least the %" PRIu64 " KiB of the ranges "
			 "(no reading before pinning: absolute value)",
			 r->own_field, r->own_pinned_kib, r->mapped_bytes / 1024);
		return;
	}
	d->evidence = VALIDATE_EV_UNPROVEN;
	snprintf(d->why, sizeof(d->why),
		 "no reading before pinning and %s of the target (%" PRIu64 " KiB) does not cover the %" PRIu64
		 " KiB of the ranges: this kernel does not charge it for these pins, so the pin count cannot "
		 "be proven from outside", r->own_field ? r->own_field : "no per-process counter",
		 r->own_pinned_kib, r->mapped_bytes / 1024);
	snprintf(d->note, sizeof(d->note), "pin count unproven: %s", validate_evidence_name(d->evidence));
}

/* Attached after the pins were taken (inspect): absolute values only. The own counter, less
 * what it counts that is not a pin, proves what it covers exactly for this process; what it
 * cannot cover (VFIO type1 does not charge devdax pages, PG_reserved; 7.x io_uring does not
 * charge a CAP_IPC_LOCK process) must at least be held system-wide. */
static void decide_attached(const struct validate_readings *r, struct validate_decision *d)
{
	uint64_t unit = r->pin_unit ? r->pin_unit : 4096;
	uint64_t own_kib = r->own_field && r->own_readable ? r->own_pinned_kib : 0;
	uint64_t have = own_kib > r->own_not_pins_kib ? (own_kib - r->own_not_pins_kib) * 1024 : 0;
	uint64_t need = r->expected_pins * unit;
	uint64_t need_charged = need > r->uncharged_bytes ? need - r->uncharged_bytes : 0;
	uint64_t covered = have < need_charged ? have : need_charged, short_pages = (need - covered) / 4096;

	d->own_pinning_kib = (int64_t)own_kib;
	d->vm_net_at_attach = (int64_t)(r->acq_pinned - r->rel_pinned);
	d->outside_pins = (have - covered) / 4096;
	if (!r->expected_pins) {
		d->evidence = VALIDATE_EV_NOT_PINNED;
		snprintf(d->why, sizeof(d->why),
			 "the target has no pin path (no device that DMAs into its memory): 0 pins expected, "
			 "none counted");
		return;
	}
	if (!short_pages) {
		d->evidence = VALIDATE_EV_OWN;
		d->pinned_pages = r->expected_pins;
		snprintf(d->why, sizeof(d->why),
			 "%s of the target less its %" PRIu64 " KiB of mlocked mappings is %" PRIu64
			 " KiB, covering the %" PRIu64 " KiB of its ranges (attached after pinning: absolute value)",
			 r->own_field, r->own_not_pins_kib, have / 1024, need / 1024);
		return;
	}
	if (d->vm_net_at_attach >= (int64_t)short_pages) {
		d->evidence = VALIDATE_EV_VMSTAT;
		/* The charged ranges hold what the own counter shows (when it shows anything: 7.x does
		 * not charge io_uring pins of a CAP_IPC_LOCK process at all); the uncharged ones all. */
		d->pinned_pages = (have ? covered : need_charged) / unit + (need - need_charged) / unit;
		snprintf(d->why, sizeof(d->why),
			 "%s (less mlock) covers %" PRIu64 " of %" PRIu64 " KiB; the other %" PRIu64
			 " pages are not charged to it (VFIO skips devdax pages) and the system-wide net "
			 "of pins since boot (%" PRId64 ") covers them, whoever holds them", r->own_field ? r->own_field : "no own counter",
			 covered / 1024, need / 1024, short_pages, d->vm_net_at_attach);
		if ((uint64_t)d->vm_net_at_attach > short_pages)
			snprintf(d->note, sizeof(d->note),
				 "%" PRId64 " more pins are held system-wide than the target's uncharged %" PRIu64
				 ": other processes' pins, or pins leaked before it was attached (VFIO type1 leaks "
				 "devdax pins at every unmap)", d->vm_net_at_attach - (int64_t)short_pages, short_pages);
		return;
	}
	d->evidence = VALIDATE_EV_NONE;
	d->pinned_pages = covered / unit;
	d->pin_failed = true;
	snprintf(d->why, sizeof(d->why), "neither the own counter nor the system-wide pins cover the ranges");
	snprintf(d->pin_failure, sizeof(d->pin_failure),
		 "the target does not hold the %" PRIu64 " pins its ranges need: %s (less mlock) covers %"
		 PRIu64 " KiB of %" PRIu64 " KiB and only %" PRId64 " pins are held system-wide",
		 r->expected_pins, r->own_field ? r->own_field : "no own counter", covered / 1024,
		 need / 1024, d->vm_net_at_attach);
}

/* After an attached target exited: every pin it held on its ranges must have been released.
 * nr_foll_pin_released grew by what all processes released in the window; the target's pins
 * outside its ranges (own counter) were released at exit too, so they are taken off first.
 * Other processes' releases can only hide a leak, never invent one. */
static void decide_attached_exit(const struct validate_readings *r, struct validate_decision *d)
{
	uint64_t unit = r->pin_unit ? r->pin_unit : 4096, need = r->expected_pins * unit;
	uint64_t need_charged = need > r->uncharged_bytes ? need - r->uncharged_bytes : 0;
	uint64_t own_kib = r->own_field && r->own_readable ? r->own_pinned_kib : 0;
	uint64_t own_pins = own_kib > r->own_not_pins_kib ? (own_kib - r->own_not_pins_kib) / 4 : 0;
	int64_t for_ranges;
	uint64_t kept, held;

	d->exit_released = (int64_t)(r->rel_after - r->rel_pinned);
	d->vm_after_net = (int64_t)(r->acq_after - r->acq_pinned) - d->exit_released;
	if (d->evidence != VALIDATE_EV_OWN && d->evidence != VALIDATE_EV_VMSTAT)
		return;	/* the pins were never shown taken: no release to judge */
	/* What it held: every pin its own counter showed (in the ranges or not), or, when the
	 * counter showed none, the charged ranges' expected pins; plus every pin of the uncharged
	 * ranges (VFIO on devdax). */
	held = (own_pins ? own_pins : need_charged / 4096) + r->uncharged_bytes / 4096;
	for_ranges = d->exit_released;
	if ((uint64_t)for_ranges >= held)
		return;
	kept = held - (uint64_t)for_ranges;
	d->leak = true;
	d->leaked_pins = kept;
	snprintf(d->release_failure, sizeof(d->release_failure),
		 "%" PRIu64 " of the %" PRIu64 " pins the target held were not released when it exited "
		 "(nr_foll_pin_released grew by %" PRId64 " system-wide; %" PRIu64 " of its pins were on ranges "
		 "the pin path does not charge, such as devdax under VFIO)", kept, held, d->exit_released,
		 r->uncharged_bytes / 4096);
}

static void decide_release(const struct validate_readings *r, struct validate_decision *d)
{
	uint64_t unit = r->pin_unit ? r->pin_unit : 4096;
	uint64_t cap = d->pinned_pages > r->expected_pins ? d->pinned_pages : r->expected_pins;

	d->vm_after_net = (int64_t)(r->acq_after - r->acq_before) - (int64_t)(r->rel_after - r->rel_before);
	if (d->evidence == VALIDATE_EV_OWN && r->own_after_readable) {
		d->own_after_kib = (int64_t)r->own_after_kib - (int64_t)r->own_before_kib;
		if (d->own_after_kib > 0) {
			/* Exact for this process: anything above the pre-pin value is still pinned. */
			d->leak = true;
			d->leaked_pins = (uint64_t)d->own_after_kib * 1024 / unit;
			if (d->vm_after_net > 0 && (uint64_t)d->vm_after_net > d->leaked_pins)
				d->leaked_pins = (uint64_t)d->vm_after_net;
			snprintf(d->release_failure, sizeof(d->release_failure),
				 "%s is still %" PRId64 " KiB above its value before pinning (%" PRIu64
				 " pins not released; vmstat net %" PRId64 ")",
				 r->own_field, d->own_after_kib, d->leaked_pins, d->vm_after_net);
		} else if (d->vm_after_net > 0) {
			snprintf(d->note, sizeof(d->note),
				 "vmstat shows %" PRId64 " more pins acquired than released system-wide, but %s of "
				 "the target is back to its pre-pin value: another process holds them",
				 d->vm_after_net, r->own_field);
		}
		return;
	}
	if (d->evidence != VALIDATE_EV_OWN && d->evidence != VALIDATE_EV_VMSTAT)
		return;	/* the pins were never shown taken: no release to judge */
	if (d->vm_after_net > 0) {
		/* System-wide: a pin another process took in the window counts here too, so never
		 * blame more pins than this target took. */
		d->leak = true;
		d->leaked_pins = (uint64_t)d->vm_after_net < cap ? (uint64_t)d->vm_after_net : cap;
		snprintf(d->release_failure, sizeof(d->release_failure),
			 "%" PRId64 " more pins acquired than released system-wide since before pinning "
			 "(evidence: vmstat, as %s does not count these pins)",
			 d->vm_after_net, r->own_field ? r->own_field : "no per-process counter");
	}
}

void validate_decide(const struct validate_readings *r, struct validate_decision *d)
{
	uint64_t unit = r->pin_unit ? r->pin_unit : 4096;
	uint64_t pages4k = r->mapped_bytes / 4096;
	bool own_moved, vm_covers;

	memset(d, 0, sizeof(*d));
	if (!r->kernel_pins) {
		decide_mock(r, d);
		return;
	}
	if (r->attached) {
		decide_attached(r, d);
		if (r->released)
			decide_attached_exit(r, d);
		return;
	}
	if (!r->has_baseline) {
		decide_no_baseline(r, d);
		return;
	}
	d->vm_pinning_acquired = (int64_t)(r->acq_pinned - r->acq_before);
	d->vm_pinning_released = (int64_t)(r->rel_pinned - r->rel_before);
	if (r->own_readable)
		d->own_pinning_kib = (int64_t)r->own_pinned_kib - (int64_t)r->own_before_kib;
	own_moved = r->own_field && r->own_readable && d->own_pinning_kib > 0;
	/* GUP counts every 4 KiB page it pins, whatever the folio size (io_uring drops the extra
	 * pins of a large folio afterwards, 6.10+): compare 4 KiB pages. */
	vm_covers = d->vm_pinning_acquired >= (int64_t)pages4k;
	if (!vm_covers && !r->vmstat_refreshed && d->vm_pinning_acquired > (int64_t)pages4k / 2) {
		/* Unrefreshed counters may still hold per-CPU deltas: at most 125 per CPU (the
		 * largest threshold calculate_normal_threshold gives, mm/vmstat.c). */
		long cpus = sysconf(_SC_NPROCESSORS_CONF);
		int64_t lag = 125 * (int64_t)(cpus > 0 ? cpus : 1);

		vm_covers = d->vm_pinning_acquired + lag >= (int64_t)pages4k;
	}

	if (own_moved) {
		d->evidence = VALIDATE_EV_OWN;
		d->pinned_pages = (uint64_t)d->own_pinning_kib * 1024 / unit;
		snprintf(d->why, sizeof(d->why),
			 "%s of the target grew by %" PRId64 " KiB while pinning: per-process and exact",
			 r->own_field, d->own_pinning_kib);
		if ((uint64_t)d->own_pinning_kib * 1024 != r->mapped_bytes) {
			d->pin_failed = true;
			snprintf(d->pin_failure, sizeof(d->pin_failure),
				 "%s of the target grew by %" PRId64 " KiB while %" PRIu64
				 " KiB were mapped: the kernel did not pin exactly the mapped memory",
				 r->own_field, d->own_pinning_kib, r->mapped_bytes / 1024);
		} else if (!vm_covers && r->vmstat_refreshed) {
			/* Without stat_refresh the deltas lag by per-CPU batches: no cross-check. */
			d->pin_failed = true;
			snprintf(d->pin_failure, sizeof(d->pin_failure),
				 "nr_foll_pin_acquired grew by %" PRId64 ", fewer than the %" PRIu64
				 " 4 KiB pages mapped: the memory was not pinned with FOLL_PIN",
				 d->vm_pinning_acquired, pages4k);
		}
	} else if (vm_covers) {
		int64_t net = d->vm_pinning_acquired - d->vm_pinning_released;

		d->evidence = VALIDATE_EV_VMSTAT;
		d->pinned_pages = net > 0 ? (uint64_t)net : 0;
		if (r->own_field && r->own_readable)
			/* Linux 7.x: io_uring does not charge VmPin for a CAP_IPC_LOCK process;
			 * VFIO type1 (6.1+): reserved (devdax) pages are not charged to VmLck. */
			snprintf(d->why, sizeof(d->why),
				 "%s of the target did not move while nr_foll_pin_acquired grew by %" PRId64
				 " (>= the %" PRIu64 " 4 KiB pages mapped): this kernel does not charge %s for "
				 "these pins, so the verdict rests on the system-wide vmstat counters",
				 r->own_field, d->vm_pinning_acquired, pages4k, r->own_field);
		else
			snprintf(d->why, sizeof(d->why),
				 "the target has no per-process pin counter (%s): the verdict rests on the "
				 "system-wide vmstat counters", r->own_field ? r->own_field : "none for this pin path");
		if (!r->vmstat_refreshed)
			snprintf(d->note, sizeof(d->note),
				 "vm.stat_refresh was not writable: vmstat deltas may lag by per-CPU batches");
	} else {
		d->evidence = VALIDATE_EV_NONE;
		d->pin_failed = true;
		snprintf(d->why, sizeof(d->why), "no counter moved while pinning");
		snprintf(d->pin_failure, sizeof(d->pin_failure),
			 "neither %s (%+" PRId64 " KiB) nor nr_foll_pin_acquired (+%" PRId64 ", fewer than the %"
			 PRIu64 " 4 KiB pages mapped) shows the memory pinned: it was not pinned with FOLL_PIN",
			 r->own_field ? r->own_field : "a per-process counter", d->own_pinning_kib,
			 d->vm_pinning_acquired, pages4k);
	}
	if (r->released)
		decide_release(r, d);
}
