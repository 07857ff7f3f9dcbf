/* The pin validator: proves from outside the kernel that a TARGET's memory is pinned, stays
 * at the same frames while it runs, lies inside the devdax ranges, and (add-on, for daxvm's
 * own container) is released at the end.
 *
 * A target is {pid, ranges [vaddr, size, page size, label], devmap ranges, counter sources}:
 * any process (daxvm itself, later QEMU through `inspect`). Core lifecycle:
 *   validate_new()            configure the sampler
 *   validate_target_begin()   optional, BEFORE the target pins: baseline counters
 *   ...the target pins...
 *   validate_target_start()   AFTER pinning: decide the evidence, pin-count check, PFN
 *                             snapshot, sampler thread
 *   ...the target runs...
 *   validate_stop()           stop the sampler, one last full sweep
 * Release add-on (the watcher itself unpins; daxvm's own container):
 *   validate_unmap_begin/done() around each unmap (per-range release, own-counter evidence)
 *   validate_release_check()  AFTER every pin was released: leak verdict on the same evidence
 * then validate_fill_report(), validate_verdict(), validate_free().
 *
 * Adapter for daxvm's own pin container (validate_begin/start/finish below): builds the target
 * from the container's mappings and backend and installs the unmap hook. validate_start
 * installs that hook: unmap everything (or close the container) before validate_free, or
 * clear it with pin_set_unmap_hook(c, NULL, NULL).
 * A failed check is not an error return: it is counted and decides the verdict. Errors
 * (-errno) are for environment problems (no pagemap, out of memory). */
#ifndef DAXVM_VALIDATE_VALIDATE_H
#define DAXVM_VALIDATE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/report.h"
#include "memory/backing.h"
#include "pinning/pin.h"
#include "validate/evidence.h"
#include "validate/vmstat.h"

/* Where readings come from; a NULL member reads the real /proc file. Tests inject made-up
 * kernels here. Each returns 0 or -errno. */
struct validate_sources {
	/* System-wide nr_foll_pin_acquired/released (after a stat_refresh when possible). */
	int (*vmstat)(void *opaque, struct vmstat_pins *out);
	/* A "VmPin"/"VmLck" field of /proc/PID/status, KiB; -ENOENT when absent. */
	int (*status_kib)(void *opaque, pid_t pid, const char *field, uint64_t *kib);
	/* nr raw pagemap entries (see pagemap_read) of pages of page_size from vaddr. */
	int (*pagemap)(void *opaque, pid_t pid, uint64_t vaddr, uint64_t page_size, size_t nr,
		       uint64_t *out);
	void *opaque;
};

#define VALIDATE_LABEL_MAX 32

/* One watched range of the target's address space. */
struct validate_range {
	uint64_t vaddr;		/* start in the target's address space */
	uint64_t size;		/* bytes */
	uint64_t page_size;	/* backing page size, bytes (the unit of the PFN check) */
	uint64_t iova;		/* device address, for messages; the vaddr when there is none */
	char label[VALIDATE_LABEL_MAX];	/* "ram0", "pmem0", ... for messages */
	bool not_devmap;	/* a range of a devmap target that is not devdax: no range check */
};

struct validate_target {
	pid_t pid;				/* 0 = this process */
	const struct validate_range *ranges;	/* copied by validate_target_start */
	size_t nr_ranges;
	bool devmap;				/* every PFN must lie in devmap_ranges[] (devdax) */
	const struct backing_phys_range *devmap_ranges;	/* inclusive end */
	unsigned nr_devmap;
	const char *own_field;	/* per-process counter the pin path charges: "VmPin", "VmLck", NULL */
	uint64_t expected_pins;	/* pins the ranges need (pin_expected_pins) */
	uint64_t pin_unit;	/* bytes one pin covers (KiB of the own counter -> pins) */
	bool kernel_pins;	/* false: mock, the pins are bookkeeping (see bookkeeping_pins) */
	uint64_t (*bookkeeping_pins)(void *opaque);	/* mock: pins counted now */
	void *bookkeeping_opaque;	/* must stay valid until validate_release_check */
	/* Attached (inspect): another process pinned before the validator looked. No baseline;
	 * the counters are read at start (absolute) and, with validate_target_exited(), after the
	 * process ended. expected_pins 0 means the target does not pin: its frames are watched,
	 * but a page that moves is a note, not a failure. */
	bool attached;
	uint64_t own_not_pins_kib;	/* part of own_field that is not pins (VmLck counts mlock too) */
	uint64_t uncharged_bytes;	/* bytes of the ranges the pin path pins without charging
					 * own_field (VFIO type1: devdax pages, PG_reserved) */
	const char *pin_path;		/* report: pinning.backend ("io_uring", "vfio", ...) */
	const char *pin_path_why;	/* report: pinning.backend_why */
	const struct validate_sources *src;	/* NULL: the real /proc files */
};

struct validate_config {
	unsigned interval_ms;		/* sampler period, ms; 0 = no sampler (snapshot + final sweep) */
	uint64_t window_pages;		/* pages checked per sample; 0 = 65,536 */
	/* Used by the own-container adapter to build its target (a direct target brings its own). */
	bool devmap;			/* check every PFN against ranges[] (devdax) */
	const struct backing_phys_range *ranges;	/* physical ranges, inclusive end */
	unsigned nr_ranges;
	const struct validate_sources *src;	/* NULL: the real /proc files of this process */
};

struct validate;

int validate_new(const struct validate_config *cfg, struct validate **out, struct err *e);
void validate_free(struct validate *v);
const struct validate_config *validate_config_of(const struct validate *v);

/* Core: the target t (its pid and sources) before pinning; optional (without it the pin
 * count rests on absolute values: see enum validate_evidence). */
int validate_target_begin(struct validate *v, const struct validate_target *t, struct err *e);
/* Core: t's ranges are pinned now. t is copied; the same pid and sources as at begin. */
int validate_target_start(struct validate *v, const struct validate_target *t, struct err *e);
int validate_stop(struct validate *v, struct err *e);

/* Release add-on: the watcher unmaps range r itself (before: done = false, after: true).
 * With own-counter evidence, the counter must drop by r's size. */
void validate_unmap_hook(struct validate *v, const struct validate_range *r, bool done);
/* Release add-on: every pin of the target was released; reads the counters again and
 * judges leaks on the evidence chosen at start. */
int validate_release_check(struct validate *v, struct err *e);

/* Attached add-on: the target process has exited (call validate_stop first). Reads the
 * counters again and judges whether the pins it held on its ranges were released. */
int validate_target_exited(struct validate *v, struct err *e);

/* Adapter for daxvm's own container (validate_own.c): this process, the cfg's devmap ranges
 * and sources, the container's mappings and backend; the release check attached. */
int validate_begin(struct validate *v, struct err *e);
int validate_start(struct validate *v, struct pin_container *c, struct err *e);
int validate_finish(struct validate *v, struct err *e);	/* = validate_release_check */

/* Writes pinning.*, validation.* and timing.pin_ms / timing.unpin_ms. */
int validate_fill_report(const struct validate *v, struct report *r);

/* True when every check held; otherwise reason gets one line naming the first failure. A
 * check that could not run for lack of privilege is not a failure: see validate_skipped. */
bool validate_verdict(const struct validate *v, char *reason, size_t len);

/* Without CAP_SYS_ADMIN the target's pagemap reads PFN 0 for every page (Linux 4.2): true
 * then, and validate_skipped names the checks that could not run (NULL when none). */
bool validate_pfns_hidden(const struct validate *v);
const char *validate_skipped(const struct validate *v);

/* Counters for tests and summaries. */
struct validate_counts {
	uint64_t expected_pages;	/* pins the mappings need (one per backing page/folio) */
	uint64_t pinned_pages;		/* pins measured by the evidence: own counter / pin unit, vmstat net
					 * while pinning, or (mock) bookkeeping */
	enum validate_evidence evidence;	/* what pinned_pages and leaked_pins rest on */
	int64_t vmstat_pinning_acquired;	/* nr_foll_pin_acquired, begin -> start (system-wide) */
	int64_t vmstat_pinning_released;	/* nr_foll_pin_released, begin -> start */
	int64_t vmstat_after_unpin_net;	/* (acquired - released), begin -> release check:
					 * 0 without foreign pins */
	int64_t own_pinning_kib;	/* VmPin (io_uring, iommufd) or VmLck (vfio), begin -> start */
	int64_t own_after_unpin_kib;	/* the same, begin -> release check */
	uint64_t leaked_pins;		/* pins not released after unmap */
	uint64_t samples;		/* sampler passes plus the final sweep */
	uint64_t pages_checked;		/* pagemap entries compared with the snapshot */
	uint64_t pfn_changes;
	uint64_t not_present;
	uint64_t outside_devmap;
	uint64_t transient_unmapped;	/* pages briefly not present that came back at the same PFN
					 * (a migration the kernel refused because of the pin) */
	double pin_ms, unpin_ms;
	double snapshot_ms;		/* the PFN snapshot of every page at start, ms */
	double sampler_cpu_ms;		/* CPU time the sampler thread used (its cost), ms */
	uint64_t sampler_pages;		/* pages the sampler thread checked in that time */
	bool target_exited;		/* the target's memory went away while it was watched */
	uint64_t unmapped_by_target;	/* pages not present because the target unmapped them itself */
	uint64_t moved_unpinned;	/* pages that moved in ranges nothing pins (not a failure) */
};
/* Safe while the sampler runs (live progress for summaries and tests). */
void validate_get_counts(const struct validate *v, struct validate_counts *out);

#endif
