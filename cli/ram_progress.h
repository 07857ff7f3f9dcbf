/* Progress of populating and pinning guest RAM, for run and pin-check: a big guest takes
 * seconds, so a terminal on stderr gets "pinning guest RAM: X of Y (rate)". */
#ifndef DAXVM_CLI_RAM_PROGRESS_H
#define DAXVM_CLI_RAM_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct ram_progress {
	bool tty;		/* stderr is a terminal: draw; otherwise stay silent */
	bool shown;		/* a line is on the terminal now */
};

void ram_progress_init(struct ram_progress *p);

/* populate_progress_fn / pin_progress_fn with opaque = struct ram_progress; the callers
 * serialise their calls. The line goes away when done reaches total. */
void ram_progress_populate(uint64_t done, uint64_t total, double secs, void *opaque);
void ram_progress_pin(uint64_t done, uint64_t total, double secs, void *opaque);

#endif
