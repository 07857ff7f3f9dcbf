/* SIGINT and SIGTERM as a request to stop, for the commands that watch or hold something until
 * a time or a signal (inspect, pin-check), and their monotonic clock. */
#ifndef DAXVM_CLI_STOP_SIGNAL_H
#define DAXVM_CLI_STOP_SIGNAL_H

#include <signal.h>

/* 0, or the signal that asked the command to stop. */
extern volatile sig_atomic_t cli_stop_signal;

struct cli_stop_signals {
	struct sigaction old_int, old_term;
};

/* Clears cli_stop_signal and catches SIGINT and SIGTERM into it until the restore. */
void cli_stop_signals_install(struct cli_stop_signals *s);
void cli_stop_signals_restore(const struct cli_stop_signals *s);
/* "SIGINT" or "SIGTERM". */
const char *cli_stop_signal_name(int sig);
/* CLOCK_MONOTONIC in milliseconds. */
double cli_now_ms(void);

#endif
