/* Options of 'daxvm inspect', parsed without global state so they can be unit-tested. */
#ifndef DAXVM_CLI_INSPECT_OPTIONS_H
#define DAXVM_CLI_INSPECT_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"

#define INSPECT_DEFAULT_DURATION_S 5.0
#define INSPECT_DEFAULT_INTERVAL_MS 100
#define INSPECT_DEFAULT_CONNECT "qemu:///system"

struct inspect_options {
	unsigned pid;		/* --pid; 0 = not given */
	const char *domain;	/* --domain NAME, NULL = not given */
	const char *connect;	/* libvirt URI */
	double duration_s;	/* how long to watch; < 0: not given (5 s, or no limit with --until-exit) */
	unsigned interval_ms;	/* sampler period, ms; 0 = snapshot and final sweep */
	const char *report;	/* --report FILE.json, NULL = none */
	bool until_exit;	/* watch until the process ends, then check the release */
	bool connect_given;
	bool help;
};

/* Fills o from argv (argv[0] is "inspect"). Returns 0, or -EINVAL with one sentence in e
 * naming the bad option and how to fix it. */
int inspect_options_parse(int argc, char **argv, struct inspect_options *o, struct err *e);

void inspect_options_usage(FILE *out);

#endif
