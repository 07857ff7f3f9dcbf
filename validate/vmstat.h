/* Pin counters from outside the kernel: /proc/vmstat nr_foll_pin_* and /proc/PID/status. */
#ifndef DAXVM_VALIDATE_VMSTAT_H
#define DAXVM_VALIDATE_VMSTAT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct vmstat_pins {
	uint64_t acquired;	/* nr_foll_pin_acquired: pages pinned since boot, system-wide */
	uint64_t released;	/* nr_foll_pin_released: pages unpinned since boot, system-wide */
	bool refreshed;		/* per-CPU deltas were folded first (stat_refresh written) */
};

/* Writes 1 to /proc/sys/vm/stat_refresh so the per-CPU counters are folded into the
 * global ones (root only); returns 0 or -errno. */
int vmstat_refresh(void);

/* Refreshes (when possible) and reads the two pin counters. */
int vmstat_read_pins(struct vmstat_pins *p, struct err *e);

/* A "Name:  N kB" field of /proc/PID/status (VmPin, VmLck) in KiB; pid 0 = this process.
 * -ENOENT when the field is absent. */
int vmstat_status_kib(pid_t pid, const char *field, uint64_t *kib, struct err *e);

/* The same for this process (kept for tests that read their own counters). */
int vmstat_self_kib(const char *field, uint64_t *kib, struct err *e);

#endif
