/* The stress tool's parameters: what /proc/cmdline asks for (daxvm_guest_abi.h names the keys),
 * checked and defaulted in one place. */
#ifndef DAXVM_GUEST_LINUX_PARAMS_H
#define DAXVM_GUEST_LINUX_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#define PARAMS_DURATION_DEFAULT		10	/* seconds */
#define PARAMS_RAM_PERCENT_DEFAULT	70	/* of MemAvailable */
#define PARAMS_RAM_PERCENT_MAX		90	/* the kernel and the tool need the rest */
#define PARAMS_THREADS_MAX		256
#define PARAMS_PATH_MAX			64

/* How the pmem device is chosen: daxvm_pmem= absent (auto: /dev/pmem0 when the kernel's
 * resource map shows persistent memory or the node exists), none, or a named device. */
enum params_pmem_mode { PARAMS_PMEM_AUTO, PARAMS_PMEM_NONE, PARAMS_PMEM_PATH };

/* A debug knob for negative controls: daxvm_inject=mismatch flips one bit of RAM between the
 * first pass's write and its verify, so a correct tool must report exactly one mismatch. */
enum params_inject { PARAMS_INJECT_NONE, PARAMS_INJECT_MISMATCH };
#define PARAMS_PARAM_INJECT		"daxvm_inject="
/* Another, for testing the fallback: daxvm_ports=devport writes the ports through /dev/port
 * even where direct port I/O works (ports.h). */
#define PARAMS_PARAM_PORTS		"daxvm_ports="

struct stress_params {
	unsigned duration_s;		/* run at least this long (and at least two passes) */
	unsigned threads;		/* 0: one per online CPU */
	unsigned ram_percent;		/* share of MemAvailable to test */
	enum params_pmem_mode pmem_mode;
	char pmem_path[PARAMS_PATH_MAX];	/* PARAMS_PMEM_PATH: the device; else "/dev/pmem0" */
	enum params_inject inject;
	bool ports_devport;		/* daxvm_ports=devport */
};

void params_defaults(struct stress_params *p);

/* Reads the daxvm_* words of a kernel command line into p (which holds the defaults); other
 * words are the kernel's and ignored. Returns 0, or -EINVAL with one sentence in why naming
 * the word that is wrong (an unknown daxvm_ key is wrong: a typo must not pass silently). */
int params_parse(const char *cmdline, struct stress_params *p, char *why, size_t why_len);

#endif
