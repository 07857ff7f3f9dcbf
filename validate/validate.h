/* The pin validator: proves from outside the kernel that guest RAM is pinned, stays at the
 * same frames while the VM runs, lies inside the devdax ranges, and is released at the end.
 *
 * Lifecycle (one validator per container):
 *   validate_new()     configure
 *   validate_begin()   BEFORE pinning: baseline counters
 *   ...pin (pin_map_regions / pin_map_dma)...
 *   validate_start()   AFTER pinning: pin-count check, PFN snapshot, sampler thread, unmap hook
 *   ...the VM runs...
 *   validate_stop()    BEFORE unpinning: stop the sampler, one last full sweep
 *   ...unpin (pin_unmap_all / pin_container_close)...
 *   validate_finish()  AFTER unpinning: release (leak) check
 *   validate_fill_report(), validate_verdict(), validate_free()
 * validate_start installs an unmap hook in the container: unmap everything (or close the
 * container) before validate_free, or clear it with pin_set_unmap_hook(c, NULL, NULL).
 * Call validate_begin right before pinning: pins this process takes in between are counted.
 * A failed check is not an error return: it is counted and decides the verdict. Errors
 * (-errno) are for environment problems (no pagemap, out of memory). */
#ifndef DAXVM_VALIDATE_VALIDATE_H
#define DAXVM_VALIDATE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/report.h"
#include "memory/backing.h"
#include "pinning/pin.h"

struct validate_config {
	unsigned interval_ms;		/* sampler period, ms; 0 = no sampler (snapshot + final sweep) */
	uint64_t window_pages;		/* pages checked per sample; 0 = 65,536 */
	bool devmap;			/* check every PFN against ranges[] (devdax) */
	const struct backing_phys_range *ranges;	/* physical ranges, inclusive end */
	unsigned nr_ranges;
};

struct validate;

int validate_new(const struct validate_config *cfg, struct validate **out, struct err *e);
void validate_free(struct validate *v);

int validate_begin(struct validate *v, struct err *e);
int validate_start(struct validate *v, struct pin_container *c, struct err *e);
int validate_stop(struct validate *v, struct err *e);
int validate_finish(struct validate *v, struct err *e);

/* Writes pinning.*, validation.* and timing.pin_ms / timing.unpin_ms. */
int validate_fill_report(const struct validate *v, struct report *r);

/* True when every check held; otherwise reason gets one line naming the first failure. */
bool validate_verdict(const struct validate *v, char *reason, size_t len);

/* Counters for tests and summaries. */
struct validate_counts {
	uint64_t expected_pages;	/* pins the mappings need (one per backing page/folio) */
	uint64_t pinned_pages;		/* pins measured: own-process counter / page size (mock: bookkeeping) */
	int64_t vmstat_acquired_delta;	/* nr_foll_pin_acquired, begin -> start (system-wide) */
	int64_t vmstat_released_delta;	/* nr_foll_pin_released, begin -> start */
	int64_t vmstat_final_net;	/* (acquired - released), begin -> finish: 0 without foreign pins */
	uint64_t own_pinned_kib;	/* VmPin (io_uring, iommufd) or VmLck (vfio) delta at start, KiB */
	uint64_t leaked_pins;		/* pins not released after unmap */
	uint64_t samples;		/* sampler passes plus the final sweep */
	uint64_t pages_checked;		/* pagemap entries compared with the snapshot */
	uint64_t pfn_changes;
	uint64_t not_present;
	uint64_t outside_devmap;
	uint64_t transient_unmapped;	/* pages briefly not present that came back at the same PFN
					 * (a migration the kernel refused because of the pin) */
	double pin_ms, unpin_ms;
};
/* Safe while the sampler runs (live progress for summaries and tests). */
void validate_get_counts(const struct validate *v, struct validate_counts *out);

#endif
