/* SIGINT/SIGTERM as a stop request (see stop_signal.h). */
#include <time.h>

#include "cli/stop_signal.h"

volatile sig_atomic_t cli_stop_signal;

static void on_stop_signal(int sig)
{
	cli_stop_signal = sig;
}

void cli_stop_signals_install(struct cli_stop_signals *s)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	cli_stop_signal = 0;
	sigaction(SIGINT, &sa, &s->old_int);
	sigaction(SIGTERM, &sa, &s->old_term);
}

void cli_stop_signals_restore(const struct cli_stop_signals *s)
{
	sigaction(SIGINT, &s->old_int, NULL);
	sigaction(SIGTERM, &s->old_term, NULL);
}

const char *cli_stop_signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

double cli_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}
