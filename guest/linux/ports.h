/* The I/O ports the tool reports through (daxvm_guest_abi.h): the event, progress and verdict
 * registers. Normally 4-byte OUTs from user space after ioperm(). Where user-space port I/O
 * faults although ioperm() succeeded — seen in the pmem lab: the L2 guest QEMU -accel kvm ran
 * inside the TCG lab guest took #GP on the first OUT (under daxvm there it did not) — the
 * writes go through /dev/port instead:
 * the kernel does them at CPL0, one byte per port, so each register gets its value's low byte
 * (exact for events and verdicts; progress then counts modulo 256 MiB). The VMM takes a short
 * write zero-extended, as QEMU's isa-debug-exit does. */
#ifndef DAXVM_GUEST_LINUX_PORTS_H
#define DAXVM_GUEST_LINUX_PORTS_H

#include <stdbool.h>
#include <stdint.h>

/* Asks the kernel for the ports and probes them with a read (no side effect); falls back to
 * /dev/port (devtmpfs must be mounted), or uses it at once when force_devport. Returns 0 or
 * -errno; until it succeeds, the writes below do nothing. */
int ports_open(bool force_devport);

/* "out" (direct port I/O), "devport" (through /dev/port) or "none". */
const char *ports_mode(void);

void ports_event(uint32_t event);		/* DAXVM_GUEST_EVENT_* */
void ports_progress(uint32_t mib_verified);
/* Ends the run under daxvm and under QEMU's isa-debug-exit: the call may not return. */
void ports_verdict(uint32_t verdict);

#endif
