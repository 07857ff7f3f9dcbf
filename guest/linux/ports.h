/* The I/O ports the tool reports through (daxvm_guest_abi.h): the event, progress and verdict
 * registers, written with 4-byte OUTs from user space after ioperm(). */
#ifndef DAXVM_GUEST_LINUX_PORTS_H
#define DAXVM_GUEST_LINUX_PORTS_H

#include <stdint.h>

/* Asks the kernel for the ports; returns 0 or -errno. Until it succeeds, the writes below do
 * nothing (an OUT without permission would kill the process with SIGSEGV). */
int ports_open(void);

void ports_event(uint32_t event);		/* DAXVM_GUEST_EVENT_* */
void ports_progress(uint32_t mib_verified);
/* Ends the run under daxvm and under QEMU's isa-debug-exit: the call may not return. */
void ports_verdict(uint32_t verdict);

#endif
