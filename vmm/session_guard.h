/* The dax guard stage of a run (after pinning and devices, before the vCPUs): on a devdax
 * backing with pinned guest RAM it watches the device (validate/dax_guard.h) and, when the
 * device goes away under the live pins, stops device DMA at once (guest_ops->stop_dma) and
 * makes the run fail with a live finding naming the device and the pin count.
 *
 * A second source: once the device is torn down, the process's mapping of it is gone and any
 * CPU access to guest RAM raises SIGBUS (the kernel's teardown precedes its unbind uevent).
 * While armed, a SIGBUS handler catches faults inside guest RAM: it stops device DMA, records
 * the fault and maps anonymous memory over guest RAM so the faulting thread (a DMA queue, the
 * report) can finish instead of killing the process; a SIGBUS anywhere else keeps its default
 * action. */
#ifndef DAXVM_VMM_SESSION_GUARD_H
#define DAXVM_VMM_SESSION_GUARD_H

#include "vmm/session.h"

int session_guard_setup(struct run_session *s, struct err *e);
void session_guard_undo(struct run_session *s);

/* True once the guard or the SIGBUS handler saw the device go (thread-safe, cheap). */
bool session_guard_tripped(const struct run_session *s);

/* Before unwinding: when the guard tripped (or a vCPU failed on devdax and the guard trips
 * within a second), puts its sentence first in s->found.live. */
void session_guard_judge(struct run_session *s);

/* dax_guard.* report keys (after the guest's keys, which give dma.transfers_after_fence). */
int session_guard_collect(struct run_session *s, struct report *r);

/* Frees the guard's state (after unwinding). */
void session_guard_free(struct run_session *s);

#endif
