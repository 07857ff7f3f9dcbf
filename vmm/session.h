/* One run of a VM: every resource of the run, set up by a table of {setup, undo} stages
 * run in order and unwound in reverse from wherever it stopped.
 *   backing -> guest -> layout (machine map, guest RAM) -> kvm -> memslots -> pinning +
 *   validator -> devices -> vcpus -> boot ... run ... stop -> collect -> unwind (unpin,
 *   release check) -> judge
 * The guest is known only through its interface (vmm/guest.h). */
#ifndef DAXVM_VMM_SESSION_H
#define DAXVM_VMM_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "common/report.h"
#include "devices/bus.h"
#include "devices/serial.h"
#include "memory/backing.h"
#include "pinning/pin.h"
#include "validate/validate.h"
#include "vmm/guest.h"
#include "vmm/guest_mem.h"
#include "vmm/kvm_vm.h"
#include "vmm/machine.h"
#include "vmm/run_config.h"
#include "vmm/session_pmem.h"
#include "vmm/vcpu.h"

#define SESSION_MAX_VCPUS 64
#define SESSION_REASON_BYTES 512

/* Wall-clock marks, CLOCK_MONOTONIC nanoseconds (0 = not reached). */
struct run_timing {
	uint64_t cmd_start_ns;		/* the command started (set by the caller) */
	double process_age_ms;		/* process age at cmd_start_ns (set by the caller) */
	uint64_t map_start_ns, map_end_ns;	/* backing open + memslots */
	uint64_t boot_start_ns;		/* guest loaded, vCPUs about to start */
	uint64_t first_ready_ns;	/* the guest's first instruction ran */
	uint64_t all_ready_ns;		/* every vCPU ran its first instruction */
	uint64_t stop_ns;		/* stop asked (duration reached or failure) */
	uint64_t run_end_ns;		/* every vCPU ended */
};

/* What each part found, kept apart until the judge weighs them (first non-empty wins, in
 * this order, which is the order they are noticed in a run). */
struct run_findings {
	char live[SESSION_REASON_BYTES];	/* while running: interrupt, hang, a vCPU's end */
	char device[SESSION_REASON_BYTES];	/* the guest's devices (DMA verify, faults) */
	char unpin[SESSION_REASON_BYTES];	/* unpinning itself failed */
	char guest[SESSION_REASON_BYTES];	/* the guest's own verdict */
	char pins[SESSION_REASON_BYTES];	/* the validator */
};

struct session_pci;

struct run_session {
	const struct run_config *cfg;
	const struct guest_ops *guest_ops;
	volatile sig_atomic_t *interrupted;	/* set by the caller's SIGINT/SIGTERM handler */
	struct report *report;			/* filled as parts are collected */
	/* Called from session_run's loop every tick (10 ms) while the guest runs; may be NULL.
	 * The command line draws its progress line here. */
	void (*on_tick)(struct run_session *s, uint64_t now_ns, void *opaque);
	void *tick_opaque;
	/* Progress of populating and of pinning guest RAM (may be NULL): the command line draws
	 * them on a terminal; both get progress_opaque. */
	populate_progress_fn on_populate;
	pin_progress_fn on_pin;
	void *progress_opaque;

	struct backing backing;
	struct pmem_region pmem;	/* a Linux guest's pmem range (vmm/session_pmem.h) */
	struct vm vm;
	struct machine_map map;
	struct guest_mem mem;
	struct guest *guest;
	struct pin_container *pins;	/* NULL without pinning */
	struct validate *validator;	/* created with the container */
	struct session_guard *guard;	/* the dax guard stage (vmm/session_guard.c) */
	struct session_pci *pci;	/* passed-through PCI devices (vmm/session_pci.c), NULL without */
	bool validating;		/* validate_start() succeeded: stop/finish at unpin */
	char pin_backend_name[16];	/* the backend actually used ("io_uring") */
	struct populate_result populate;	/* how guest RAM was populated before the pin */
	FILE *console;
	bool console_owned;
	struct bus *bus;
	struct serial *serial;
	struct guest_machine gm;	/* what the guest is handed */
	struct vcpu_shared shared;
	struct thread_filter_rules vcpu_rules;	/* the guest's and its devices' vCPU allowlist */
	struct vcpu vcpus[SESSION_MAX_VCPUS];
	unsigned nr_vcpus;		/* vCPUs created (and to destroy) */
	int vcpu_ends[SESSION_MAX_VCPUS];	/* enum vcpu_end of each, kept after they are destroyed */

	uint64_t refused_io;		/* guest accesses no device claims, refused (hostile guest) */
	bool guard_checked;		/* backing_guard_check ran before the backing was closed */
	uint64_t guard_violations;	/* guard pages around guest RAM found touched */
	unsigned hung_vcpu_plus_1;	/* the vCPU a hang was found on (its RIP is added at the stop) */
	/* Each vCPU's exits count as the run loop last saw it change, and when: how long a hung
	 * vCPU went without an exit (vcpu_where). */
	uint64_t exits_seen[SESSION_MAX_VCPUS];
	uint64_t exits_seen_ns[SESSION_MAX_VCPUS];

	unsigned stages_done;		/* setup stages that succeeded (to undo) */
	struct run_timing t;
	struct run_findings found;
	bool failed;			/* the verdict: FAIL */
	char reason[SESSION_REASON_BYTES];	/* the judge's first cause */
};

/* Runs the setup stages in order. 0: the guest runs (or a live finding already ended it, e.g.
 * an interrupt; session_finish reports it). -errno with one sentence in e: an environment or
 * usage error; everything set up so far is undone. */
int session_start(struct run_session *s, struct err *e);

/* Runs until the configured duration, a failure, a hang or an interrupt; stops the vCPUs. */
void session_run(struct run_session *s);

/* Quiesces the guest's devices, collects every part's findings into s->report (guest and
 * devices before unpinning), undoes every stage (unpinning runs the release check), then
 * judges: s->failed and s->reason. Safe after session_start failed (only undoes). */
void session_finish(struct run_session *s);

/* The name of a KVM or VFIO ioctl request a vCPU thread may make, NULL for others (for the
 * report of refused calls). */
const char *session_ioctl_name(unsigned long request);

/* The run's own report keys (verdict, backing, machine map, timing); after session_finish. */
int session_fill_report(struct run_session *s, struct report *r);

/* Live progress for a progress line. */
void session_progress(struct run_session *s, struct guest_progress *p);

/* The judge: pure. Returns true (PASS) when no part found anything; else copies the first
 * finding into reason. */
bool run_judge(const struct run_findings *f, char *reason, size_t len);

/* The name of the stage that failed last in session_start ("backing", "pinning", ...), or
 * NULL; the command line uses it to say which options to change. */
const char *session_failed_stage(const struct run_session *s);

#endif
