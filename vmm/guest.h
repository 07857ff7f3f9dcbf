/* The guest interface: what a guest needs from the machine, how it is loaded, how its
 * vCPUs start, which exits it handles, how it reports progress and what it found. The
 * run loop knows guests only through it. The built-in stress guest (vmm/stress_guest.c)
 * is one implementation, a Linux bzImage (vmm/linux_guest.c) the second. */
#ifndef DAXVM_VMM_GUEST_H
#define DAXVM_VMM_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/report.h"
#include "common/thread_filter.h"
#include "devices/bus.h"
#include "devices/serial.h"
#include "pinning/pin.h"
#include "vmm/guest_mem.h"
#include "vmm/kvm_vm.h"
#include "vmm/machine.h"
#include "vmm/run_config.h"

/* What the machine hands a guest; owned by the run session, valid until the guest is freed. */
struct pci_bus;

struct guest_machine {
	const struct run_config *cfg;
	const struct vm *vm;
	const struct machine_map *map;
	const struct guest_mem *mem;
	struct bus *bus;
	struct serial *serial;		/* the console */
	struct pin_container *pins;	/* NULL when guest RAM is not pinned */
	unsigned nr_vcpus;
	struct pci_bus *pci;		/* PCI bus 0 with passed-through devices, NULL without (its
					 * devices need an MP table INT entry: pci_bus_for_each_intx) */
	uint64_t cmd_start_ns;		/* the command started (CLOCK_MONOTONIC ns) */
	double process_age_ms;		/* the process's age then: launch = cmd_start - age */
};

/* Live progress for the progress line. */
struct guest_progress {
	uint64_t verified_bytes;	/* bytes the guest wrote and read back */
	bool has_dma;			/* a DMA device runs */
	uint64_t dma_transfers;		/* its completed transfers */
};

/* Why a vCPU ended, as the guest explains it (the session knows only vcpu_end). */
struct guest;

struct guest_ops {
	const char *name;
	/* A PC guest (Linux) probes ports nothing claims and halts when idle: the vCPUs ignore
	 * and count the former and let the in-kernel irqchip wake the latter (vmm/vcpu.h). */
	bool ignore_unclaimed_pio;
	bool hlt_is_idle;
	int (*create)(const struct run_config *cfg, struct guest **out, struct err *e);
	/* Right after KVM is opened: refuses a KVM this guest cannot run on. May be NULL. */
	int (*check_kvm)(struct guest *g, const struct vm *vm, struct err *e);
	/* Checks the RAM it is given and adds its device windows to the map. */
	int (*plan)(struct guest *g, struct machine_map *map, struct err *e);
	/* Registers its devices on m->bus (after RAM is mapped and pinned). */
	int (*create_devices)(struct guest *g, const struct guest_machine *m, struct err *e);
	/* Writes the guest into RAM (image, tables, parameters). */
	int (*load)(struct guest *g, const struct guest_machine *m, struct err *e);
	/* Sets the registers vCPU cpu starts with. */
	int (*setup_vcpu)(struct guest *g, const struct guest_machine *m, unsigned cpu, int vcpu_fd,
			  struct err *e);
	/* What its devices' handlers do on a vCPU thread beyond the filter's base set (locks,
	 * clock, memory, write) and the vCPU's own KVM_RUN: added to r, the allowlist every vCPU
	 * thread installs once set up (--seccomp). Called after create_devices. May be NULL:
	 * nothing beyond. */
	void (*vcpu_allow)(struct guest *g, struct thread_filter_rules *r);
	/* Starts device threads, just before the vCPUs run. */
	int (*start_devices)(struct guest *g, struct err *e);
	/* After an MMIO or port exit the bus served: VCPU_RUNNING or how the vCPU ends
	 * (thread-safe). */
	int (*mmio_done)(void *g, unsigned cpu);
	/* True once every vCPU ran its first instruction; fills when (CLOCK_MONOTONIC ns). */
	bool (*ready)(struct guest *g, uint64_t *first_ns, uint64_t *all_ns);
	/* True once the guest as a whole has ended (a verdict, a reboot): the session then stops
	 * the vCPUs still running (idle in HLT). May be NULL. */
	bool (*finished)(struct guest *g);
	/* Asks the guest to finish its current work and end. */
	void (*request_stop)(struct guest *g);
	/* Hang detection: false with a sentence when the running vCPU cpu stopped reporting. */
	bool (*alive)(struct guest *g, unsigned cpu, uint64_t now_ns, char *why, size_t len);
	/* Whether a vCPU of this guest can be at rip (its code's range): a hung vCPU stopped
	 * elsewhere had its state changed below the VMM. May be NULL: not known. */
	bool (*code_contains)(struct guest *g, uint64_t rip);
	/* One sentence on why vCPU cpu ended with end (enum vcpu_end) and what it said. */
	void (*explain_end)(struct guest *g, unsigned cpu, int end, const char *vcpu_why,
			    char *why, size_t len);
	void (*progress)(struct guest *g, struct guest_progress *p);
	/* Stops device DMA and drains it; before guest RAM is unpinned. Idempotent. */
	void (*quiesce)(struct guest *g);
	/* The dax guard's fast stop, from any thread or a signal handler (atomics only, no
	 * join): no device DMA starts after it returns and devices stop touching guest RAM;
	 * since_ns is the event it answers. Returns when DMA was stopped (CLOCK_MONOTONIC ns),
	 * 0 when the guest has no DMA device. May be NULL. */
	uint64_t (*stop_dma)(struct guest *g, uint64_t since_ns);
	/* After the vCPUs ended and quiesce: the guest's and its devices' report keys and, when
	 * they found a failure, one sentence each (empty strings otherwise). Reads guest RAM: call
	 * before unpinning. */
	int (*collect)(struct guest *g, const struct guest_machine *m, struct report *r,
		       char *guest_failure, char *device_failure, size_t len);
	/* Unregisters and frees its devices (before guest RAM is unpinned). Idempotent. */
	void (*destroy_devices)(struct guest *g);
	/* Frees the guest. */
	void (*destroy)(struct guest *g);
};

extern const struct guest_ops stress_guest_ops;
extern const struct guest_ops linux_guest_ops;

#endif
