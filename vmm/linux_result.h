/* The in-guest tool's result line (guest/linux/daxvm_guest_abi.h):
 *   DAXVM-GUEST-RESULT {"tool":"stress","verdict":"pass",...}
 * parsed without trusting it (pure; fuzzed). */
#ifndef DAXVM_VMM_LINUX_RESULT_H
#define DAXVM_VMM_LINUX_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct linux_result {
	char tool[32];
	bool pass;			/* "verdict":"pass" */
	uint64_t bytes_verified;
	uint64_t mismatches;
	uint64_t threads;
	uint64_t ram_bytes;		/* bytes the tool tested in RAM */
	uint64_t pmem_bytes;		/* bytes it tested on the pmem device */
	char pmem_device[64];
	double seconds;
	char first_mismatch[32];
};

/* line: one console line. 0 when it is a result line and parses (verdict, bytes_verified and
 * mismatches present); -ENOENT when it is not a result line; -EINVAL with one sentence when
 * it is a malformed one. */
int linux_result_parse(const char *line, struct linux_result *out, struct err *e);

#endif
