/* The tool's outcome and the one console line that carries it (DAXVM-GUEST-RESULT, JSON; the
 * keys are daxvm_guest_abi.h's, then the stress tool's own). */
#ifndef DAXVM_GUEST_LINUX_RESULT_H
#define DAXVM_GUEST_LINUX_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESULT_REASON_MAX 320

struct stress_result {
	uint32_t verdict;		/* DAXVM_GUEST_PASS or DAXVM_GUEST_FAIL_* */
	char reason[RESULT_REASON_MAX];	/* why it failed; "" on pass */
	uint64_t ram_bytes;		/* RAM under test (mlocked), all threads */
	uint64_t ram_bytes_verified;
	uint64_t pmem_bytes;		/* device bytes under test; 0 without pmem */
	uint64_t pmem_bytes_verified;
	char pmem_device[64];		/* "" without pmem */
	uint64_t ram_bytes_per_s;	/* verify throughput of all threads on RAM */
	uint64_t pmem_bytes_per_s;	/* ... and on the pmem device */
	uint64_t pmem_errors;		/* failed or short O_DIRECT reads and writes */
	uint64_t mismatches;		/* words that did not verify */
	bool have_miss;
	uint64_t miss_address;		/* RAM: guest-physical (pagemap); pmem: device offset */
	const char *miss_where;		/* "ram" or "pmem" */
	uint64_t miss_expected, miss_found;
	unsigned threads;
	unsigned passes;		/* complete passes of the slowest thread */
	uint64_t seed;			/* the run's base seed (per-pass seeds derive from it) */
	double seconds;			/* stress time, thread start to the last thread's end */
	double init_seconds;		/* kernel uptime when /init started */
	double running_seconds;		/* kernel uptime when every thread ran (EVENT_RUNNING) */
	unsigned modules_loaded;
	const char *inject;		/* "none" or the debug knob used */
	const char *ports;		/* how the ports are written: ports_mode() */
};

/* Formats the whole line (prefix, JSON, newline) into buf, at most DAXVM_GUEST_RESULT_MAX
 * bytes with the NUL: the reason is shortened when the line would not fit. Returns its length. */
size_t result_format(const struct stress_result *r, char *buf, size_t len);

/* Prints the line on the console and waits (bounded) until the UART has sent it, so a VMM that
 * stops at the verdict write has the whole line. Writes it to /dev/ttyS0 as well when the
 * console is elsewhere. */
void result_print(const char *line, size_t len);

#endif
