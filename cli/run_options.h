/* Options of 'daxvm run', parsed without global state so they can be unit-tested. */
#ifndef DAXVM_CLI_RUN_OPTIONS_H
#define DAXVM_CLI_RUN_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "vmm/run_config.h"

/* The run command's options: the run's configuration plus what only the command uses. */
struct run_options {
	struct run_config cfg;		/* handed to the VM, read-only */
	const char *report_path;	/* --report FILE.json, NULL = none */
	bool help;			/* --help: print usage, run nothing */
	char device_addr[RUN_MAX_DEVICES][16];	/* --device host= addresses, cfg.devices points here */
	char *pmem_path_buf;		/* --pmem's path (cfg.pmem_path points here); freed by the caller */
};

/* Fills o from argv (argv[0] is "run"). Returns 0, or -EINVAL with one sentence in e
 * naming the bad option and how to fix it. Does not check limits that need KVM. */
int run_options_parse(int argc, char **argv, struct run_options *o, struct err *e);

void run_options_usage(FILE *out);

#endif
