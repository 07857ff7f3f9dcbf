/* The control device (guest/abi.h): per-vCPU MMIO registers through which the built-in
 * guest reports readiness, progress, mismatches, completion and exceptions. */
#ifndef DAXVM_DEVICES_CTL_H
#define DAXVM_DEVICES_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/bus.h"
#include "devices/serial.h"

#define CTL_MAX_CPUS 64		/* guest_params holds 64 per-vCPU slots */
#define CTL_MISMATCHES_KEPT 8	/* first mismatch addresses remembered per vCPU */

/* What one vCPU told the VMM so far. Times are CLOCK_MONOTONIC nanoseconds. */
struct ctl_cpu_state {
	bool ready;			/* CTL_READY seen */
	uint64_t ready_ns;		/* when CTL_READY arrived */
	uint64_t last_seen_ns;		/* last write to any register: hang detection */
	uint64_t progress_bytes;	/* last CTL_PROGRESS: bytes written and verified */
	uint64_t mismatches;		/* CTL_MISMATCH writes */
	uint64_t mismatch_gpa[CTL_MISMATCHES_KEPT];	/* the first guest addresses reported */
	bool done;			/* CTL_DONE seen */
	uint64_t done_failures;		/* its value: 0 ok, else the guest's failure count */
	bool exception;			/* the ring-0 handler reported an exception (RIP written) */
	uint64_t exc_vector, exc_error, exc_cr2, exc_rip;
	uint64_t bad_writes;		/* writes to unknown registers or with a bad length */
	uint64_t exceptions_survived;	/* hostile guest: CTL_EXC_SURVIVED writes (faults it resumed from) */
	uint64_t last_survived_vector;
};

struct ctl_device;

/* console receives CTL_PUTC characters; it may be NULL (they are dropped). */
int ctl_create(struct ctl_device **out, unsigned nr_cpus, struct serial *console, struct err *e);
void ctl_destroy(struct ctl_device *ctl);

/* Registers nr_cpus * GUEST_CTL_STRIDE bytes at GUEST_MMIO_CTL_GPA. */
__attribute__((warn_unused_result))
int ctl_attach(struct ctl_device *ctl, struct bus *bus, struct err *e);

void ctl_snapshot(struct ctl_device *ctl, unsigned cpu, struct ctl_cpu_state *out);

/* True once the vCPU has nothing more to say: it reported CTL_DONE or an exception. */
bool ctl_cpu_finished(struct ctl_device *ctl, unsigned cpu);

uint64_t ctl_now_ns(void);

#endif
