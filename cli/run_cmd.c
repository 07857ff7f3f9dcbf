/* daxvm run: parse options, run the session stages in order, report, tear down. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "vmm/session.h"

static volatile sig_atomic_t run_interrupted;

static void run_on_signal(int sig)
{
	(void)sig;
	run_interrupted = 1;
}

/* Age of this process in ms: CLOCK_BOOTTIME now minus /proc/self/stat starttime, which
 * the kernel keeps in clock ticks since boot (so it is good to about 10 ms). */
static double process_age_ms(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	unsigned long long start_ticks = 0;
	struct timespec now;
	size_t n;
	char *p;

	if (!f)
		return 0.0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may contain spaces; fields count from after it */
	if (!p)
		return 0.0;
	/* After ")": state is field 3; starttime is field 22, i.e. the 20th after state. */
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start_ticks) != 1)
		return 0.0;
	clock_gettime(CLOCK_BOOTTIME, &now);
	return ((double)now.tv_sec + (double)now.tv_nsec / 1e9) * 1e3 -
	       (double)start_ticks * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

static int run_setup(struct run_session *s, struct err *e)
{
	int (*const stages[])(struct run_session *, struct err *) = {
		session_open_kvm, session_open_backing, session_map_guest_mem, session_pin,
		session_create_devices, session_create_vcpus, session_boot,
	};

	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		int ret = stages[i](s, e);

		if (ret)
			return ret;
		if (run_interrupted && !s->failed)
			session_fail(s, "interrupted");
		if (s->failed)
			return 0;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct sigaction sa, old_int, old_term;
	struct run_options opt;
	struct run_session *s;
	struct report *r = NULL;
	struct err e = { 0 };
	int status;

	if (run_options_parse(argc, argv, &opt, &e)) {
		fprintf(stderr, "daxvm: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (opt.help) {
		run_options_usage(stdout);
		return EXIT_PASS;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fprintf(stderr, "daxvm: out of memory: free some memory\n");
		return EXIT_USAGE;
	}
	s->t.cmd_start_ns = ctl_now_ns();
	s->t.process_age_ms = process_age_ms();
	s->opt = &opt.cfg;
	s->interrupted = &run_interrupted;
	r = report_new();
	if (!r) {
		free(s);
		fprintf(stderr, "daxvm: out of memory for the report: free some memory\n");
		return EXIT_USAGE;
	}
	s->report = r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	if (run_setup(s, &e)) {
		session_close(s);
		fprintf(stderr, "daxvm: %s\n", e.msg[0] ? e.msg : "setup failed: see the messages above");
		status = EXIT_USAGE;
		goto out;
	}
	session_run(s);
	/* Order matters: the device drains and reports through the pins, then they go. */
	session_stop_dma(s);
	session_unpin(s);
	if (session_report(s, r, stdout))
		fprintf(stderr, "daxvm: internal error: the report rejected a key\n");
	session_close(s);
	status = s->failed ? EXIT_CHECK_FAILED : EXIT_PASS;
	if (opt.report_path && report_write_file(r, opt.report_path)) {
		fprintf(stderr, "daxvm: cannot write the report %s: %s: give a writable --report path\n",
			opt.report_path, strerror(errno));
		status = EXIT_USAGE;
	}
out:
	report_free(r);
	free(s);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return status;
}
