/* vCPU threads: one thread per vCPU runs KVM_RUN and routes its exits to the I/O bus
 * until the guest says it is done (through its guest interface), triple-faults, or the VMM
 * stops it. */
#ifndef DAXVM_VMM_VCPU_H
#define DAXVM_VMM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/thread_filter.h"
#include "devices/bus.h"
#include "vmm/kvm_vm.h"

struct kvm_run;

/* How a vCPU thread ended. */
enum vcpu_end {
	VCPU_RUNNING,		/* not ended (or never started) */
	VCPU_END_DONE,		/* the guest finished its work on this vCPU */
	VCPU_END_EXCEPTION,	/* the guest reported an exception it could not handle */
	VCPU_END_SHUTDOWN,	/* triple fault: KVM_EXIT_SHUTDOWN */
	VCPU_END_STOPPED,	/* the VMM stopped it (interrupt, another vCPU failed, hang) */
	VCPU_END_ERROR,		/* an unexpected exit or an I/O the VMM could not serve */
};

/* Asked by a vCPU thread after each MMIO or port I/O exit the bus served: has the guest
 * finished on this vCPU? Returns VCPU_RUNNING to go on, or VCPU_END_DONE / VCPU_END_EXCEPTION to end it.
 * The guest implementation decides (vmm/guest.h); it must be thread-safe. */
typedef int (*vcpu_mmio_done_fn)(void *guest, unsigned cpu);

#define VCPU_PORT_STATS 8

/* What all vCPU threads share; owned by the run session. */
struct vcpu_shared {
	struct bus *bus;
	vcpu_mmio_done_fn mmio_done;	/* NULL: the guest never ends a vCPU through MMIO */
	void *guest;			/* its argument */
	/* A Linux guest probes ports no device claims (other UARTs, PCI, CMOS): reads see all
	 * ones, writes vanish, and they are counted. Otherwise such an access ends the vCPU. */
	bool ignore_unclaimed_pio;
	/* HLT exits (only without an in-kernel irqchip) are idle time, not an end. */
	bool hlt_is_idle;
	atomic_ulong unclaimed_pio;	/* port accesses nothing claimed */
	/* The first VCPU_PORT_STATS distinct unclaimed ports and their counts (port + 1; 0 =
	 * free slot), to see what a guest probes. */
	struct {
		_Atomic uint32_t port_plus_1;
		atomic_ulong count;
	} unclaimed[VCPU_PORT_STATS];
	bool seccomp;		/* each vCPU thread filters its system calls (common/thread_filter.h) */
	/* What the guest's devices do on a vCPU thread (vmm/vcpu_filter.c); every thread adds
	 * KVM_RUN and KVM_GET_REGS on its own fd. */
	const struct thread_filter_rules *filter_rules;
	bool seccomp_probe;	/* each filtered thread makes one forbidden call (openat) at start */
	bool refuse_unclaimed;	/* hostile guest: an access no device claims is refused and counted
				 * (reads return all ones), not the end of the vCPU */
	atomic_bool stop;	/* set by the VMM: leave KVM_RUN and end */
	atomic_uint ended;	/* vCPU threads that have ended */
};

struct vcpu {
	unsigned index;
	int fd;				/* KVM_CREATE_VCPU, -1 when closed */
	struct kvm_run *run;		/* shared kvm_run page(s), NULL when unmapped */
	size_t run_bytes;
	pthread_t thread;
	bool started;			/* thread running or to be joined */
	struct vcpu_shared *shared;
	_Atomic int end;		/* enum vcpu_end, written once by the thread */
	char why[256];			/* for VCPU_END_SHUTDOWN / VCPU_END_ERROR: what happened */
	_Atomic uint64_t exits;		/* VM exits handled */
	_Atomic uint64_t refused;	/* accesses no device claims (refuse_unclaimed) */
	/* Where the thread is, so a hang can say whether the guest or the VMM stopped (vcpu_where).
	 * Relaxed stores, no clock: the vCPU loop pays a few plain writes per exit; the watcher
	 * times the silence from how the exits count moves (vcpu_where's caller). */
	_Atomic bool serving;		/* serving an exit in the VMM, not inside KVM_RUN */
	_Atomic uint32_t last_exit;	/* KVM exit reason of the last exit */
	_Atomic uint64_t last_addr;	/* ... its MMIO address or port */
	_Atomic bool last_write;	/* ... and direction */
	_Atomic uint64_t stop_rip;	/* the guest's RIP when the thread left on a stop; 0 unknown */
};

int vcpu_create(struct vcpu *v, const struct vm *vm, unsigned index, struct vcpu_shared *shared,
		struct err *e);
/* Installs the kick signal handler (once per process) and starts the thread. */
int vcpu_start(struct vcpu *v, struct err *e);
/* Makes a vCPU in KVM_RUN return at once (immediate_exit + a signal); the thread then
 * sees shared->stop. Safe to call on a vCPU that has ended. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);	/* joins first if needed; safe on a closed vcpu */

const char *vcpu_end_name(enum vcpu_end end);
/* One phrase on where a running vCPU's thread is: inside KVM_RUN or serving which exit, how
 * long its exits count has not moved (still_s, as the caller watched it), after how many
 * exits. For a hang's message. */
void vcpu_where(struct vcpu *v, double still_s, char *buf, size_t len);

#endif
