/* One 'daxvm run': every resource of the run and its ordered stages. Start-up runs the
 * stages in order; session_close() undoes whatever was set up, in reverse, on any path.
 *   kvm -> backing -> guest memory + memslots -> pinning -> devices (DMA engine) -> vcpus
 *   -> boot -> run -> stop -> DMA drain -> unpin (release check) -> report
 * Pinning stages live in vmm/session_pin.c, the DMA engine's in vmm/session_dma.c. */
#ifndef DAXVM_VMM_SESSION_H
#define DAXVM_VMM_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "common/report.h"
#include "devices/bus.h"
#include "devices/ctl.h"
#include "devices/dma_engine.h"
#include "devices/serial.h"
#include "guest/abi.h"
#include "pinning/backing.h"
#include "pinning/pin.h"
#include "pinning/populate.h"
#include "pinning/validate.h"
#include "vmm/guest_mem.h"
#include "vmm/kvm_vm.h"
#include "vmm/run_options.h"
#include "vmm/vcpu.h"
#include "vmm/x86_boot.h"

/* Wall-clock marks, CLOCK_MONOTONIC nanoseconds (0 = not reached). */
struct run_timing {
	uint64_t cmd_start_ns;		/* top of cmd_run */
	double process_age_ms;		/* process age at cmd_start_ns (/proc/self/stat starttime) */
	uint64_t map_start_ns, map_end_ns;	/* backing open + memslots */
	uint64_t boot_start_ns;		/* image and tables written, vCPUs about to start */
	uint64_t first_ready_ns;	/* first CTL_READY: the first guest instruction ran */
	uint64_t all_ready_ns;		/* every vCPU reported CTL_READY */
	uint64_t stop_ns;		/* stop flag set (duration reached or failure) */
	uint64_t run_end_ns;		/* every vCPU ended */
};

struct run_session {
	const struct run_options *opt;
	volatile sig_atomic_t *interrupted;	/* set by the SIGINT/SIGTERM handler */

	struct vm vm;
	bool vm_open;
	struct backing backing;
	bool backing_open;
	struct guest_mem mem;
	struct pin_container *pins;	/* NULL with --pin none */
	struct validate *validator;	/* created with the container */
	bool validating;		/* validate_start() succeeded: stop/finish at unpin */
	bool unpinned;			/* session_unpin() ran (validate_finish done) */
	char pin_backend_name[16];	/* the backend actually used ("io_uring") */
	struct populate_result populate;	/* --prealloc-threads: how guest RAM was populated */
	struct report *report;		/* filled as stages finish (DMA before unpinning) */

	FILE *console;			/* stdout or --console */
	bool console_owned;		/* fclose at the end */
	struct bus *bus;
	struct serial *serial;
	struct ctl_device *ctl;
	struct dma_engine *dma;		/* NULL with --dma off or --pin none */
	bool dma_stopped;		/* stopped and drained, report filled */

	struct vcpu_shared shared;
	struct vcpu vcpus[GUEST_MAX_CPUS];
	unsigned nr_vcpus;		/* vCPUs created (and to destroy) */
	struct x86_boot_info boot;
	struct guest_params *params;	/* host view of GUEST_PARAMS_GPA */

	struct run_timing t;
	bool failed;			/* verdict FAIL */
	char reason[512];		/* why it failed (first cause) */
	bool progress_line;		/* a live progress line is on the terminal */
};

/* Setup stages: each returns 0 or -errno with one sentence in e (an environment or usage
 * error: exit 2). */
int session_open_kvm(struct run_session *s, struct err *e);
int session_open_backing(struct run_session *s, struct err *e);
int session_map_guest_mem(struct run_session *s, struct err *e);
int session_pin(struct run_session *s, struct err *e);		/* vmm/session_pin.c */
int session_create_devices(struct run_session *s, struct err *e);
int session_create_vcpus(struct run_session *s, struct err *e);
/* Writes the guest, starts the vCPU threads and waits for every CTL_READY. */
int session_boot(struct run_session *s, struct err *e);

/* Runs until --duration, a failure, a hang or an interrupt; then stops every vCPU. The
 * outcome is in s->failed / s->reason. */
void session_run(struct run_session *s);
/* Stops the DMA engine after the vCPUs ended: drains in-flight descriptors. */
void session_stop_dma(struct run_session *s);
/* Stops the validator, unpins everything and runs the release check; once. */
void session_unpin(struct run_session *s);

/* Pinning and DMA parts of the report and summary (vmm/session_pin.c, session_dma.c). */
int session_pin_report(struct run_session *s, struct report *r);
void session_pin_summary(struct run_session *s, FILE *out);
int session_dma_create(struct run_session *s, struct err *e);
int session_dma_layout(struct run_session *s, struct guest_params *p, struct err *e);
int session_dma_start(struct run_session *s, struct err *e);
int session_dma_report(struct run_session *s, struct report *r);
void session_dma_summary(struct run_session *s, FILE *out);
/* DMA guest RAM kept out of the pattern areas: bytes at the end of RAM, inside one bank. */
uint64_t session_dma_reserve_bytes(const struct run_session *s);

/* Fills the report with everything the run learned and prints the human summary. */
int session_report(struct run_session *s, struct report *r, FILE *out);

/* Marks the run failed (keeps the first reason). */
void session_fail(struct run_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Tears down whatever exists, in reverse start-up order. Safe after any stage failed. */
void session_close(struct run_session *s);

/* Pinning's region visitor (pinning/pin.h pin_region_visitor) over a struct guest_mem. */
int session_visit_pin_regions(void *guest_mem, pin_region_fn fn, void *data);

#endif
