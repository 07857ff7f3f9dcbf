/* Options of 'daxvm pin-check', parsed without global state so they can be unit-tested. */
#ifndef DAXVM_CLI_PIN_CHECK_OPTIONS_H
#define DAXVM_CLI_PIN_CHECK_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "pinning/pin.h"

#define PIN_CHECK_DEFAULT_HOLD_S 1.0
#define PIN_CHECK_DEFAULT_INTERVAL_MS 100

struct pin_check_options {
	const char *mem;	/* backing spec; NULL = auto */
	uint64_t mem_size;	/* bytes to map; 0 = the backing's default */
	enum pin_backend backend;	/* asked for; PIN_AUTO: the container decides */
	const char *vfio;	/* PCI device for the vfio container, NULL = none */
	double hold_s;		/* seconds the pins are held while sampling */
	unsigned interval_ms;	/* validator period, ms; 0 = snapshot and final sweep */
	uint64_t window;	/* pages per sample; 0 = the validator's default */
	const char *report;	/* --report FILE.json, NULL = none */
	unsigned prealloc_threads;	/* threads populating before the pin (and pinning on io_uring);
					 * 0 = no populate pass: the pin faults pages in on one thread */
	bool help;		/* --help: print usage, check nothing */
};

/* Fills o from argv (argv[0] is "pin-check"). Returns 0, or -EINVAL with one sentence in e
 * naming the bad option and how to fix it. */
int pin_check_options_parse(int argc, char **argv, struct pin_check_options *o, struct err *e);

void pin_check_options_usage(FILE *out);

#endif
