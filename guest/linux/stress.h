/* The stress run: N threads, each with its own mlocked share of RAM and its own slice of the
 * pmem device, writing and verifying address-tagged patterns pass after pass. */
#ifndef DAXVM_GUEST_LINUX_STRESS_H
#define DAXVM_GUEST_LINUX_STRESS_H

#include <stdint.h>

#include "params.h"
#include "result.h"

#define STRESS_MIN_PASSES 2	/* a second seed shows that data of the first cannot verify */

struct stress_plan {
	unsigned threads;
	uint64_t ram_bytes;		/* all threads, a multiple of threads pages */
	const char *pmem_path;		/* NULL: no pmem */
	uint64_t pmem_bytes;
	unsigned duration_s;
	uint64_t seed;
	enum params_inject inject;
};

/* Called by the main thread while the workers run: once with event RUNNING when every thread
 * has its memory and started, then periodically with the MiB verified so far. */
struct stress_report_ops {
	void (*running)(void);
	void (*progress)(uint32_t mib_verified);
};

/* Runs the plan to the end and fills the counters, mismatch, passes, seconds and verdict of
 * out (setup failures: DAXVM_GUEST_FAIL_SETUP with the reason). */
void stress_run(const struct stress_plan *plan, const struct stress_report_ops *ops,
		struct stress_result *out);

#endif
