/* daxvm run: parse options, run the session with the stress guest, report, tear down. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/process_age.h"
#include "cli/ram_progress.h"
#include "cli/run_options.h"
#include "cli/run_report.h"
#include "common/size.h"
#include "devices/ctl.h"
#include "guest/linux/initramfs_path.h"
#include "vmm/session.h"
#include "vmm/stress_guest.h"

static volatile sig_atomic_t run_interrupted;

static void run_on_signal(int sig)
{
	(void)sig;
	run_interrupted = 1;
}


/* The options that set what each setup stage used: named after a stage's error so the
 * user knows what to change (libraries never name flags). */
static const char *stage_options(const char *stage)
{
	static const struct { const char *stage, *options; } map[] = {
		{ "backing", "--mem, --mem-size, --grow-pool, --pmem" },
		{ "guest", "--cpus, --kernel, --initrd, --append" },
		{ "layout", "--mem-size, --kernel, --initrd, --append" },
		{ "kvm", "--cpus, --kernel" },
		{ "memslots", "--mem, --mem-size" },
		{ "pci_check", "--device" },
		{ "pinning", "--pin, --vfio, --device, --mem" },
		{ "devices", "--console, --dma-media, --dma-queues" },
		{ "pci", "--device" },
		{ "vcpus", "--cpus" },
		{ "boot", "--mem-size, --cpus, --work-size, --dma off" },
	};

	for (size_t i = 0; stage && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].stage, stage))
			return map[i].options;
	return NULL;
}

struct progress_line {
	bool tty;		/* stdout is a terminal and the console is not a file */
	bool live;		/* a terminal, no console file, a run longer than a second */
	bool shown;
	uint64_t last_ns;
};

/* Every tick of the run loop: redraws the progress line four times a second. */
static void run_on_tick(struct run_session *s, uint64_t now, void *opaque)
{
	struct progress_line *pl = opaque;
	struct guest_progress p;
	double secs;
	char a[32], b[32], c[32] = "";

	/* The first line waits half a second, after the guest's banner on the console. */
	if (!pl->live || now - s->t.all_ready_ns <= 500ULL * 1000 * 1000 ||
	    now - pl->last_ns <= 250ULL * 1000 * 1000)
		return;
	pl->last_ns = now;
	session_progress(s, &p);
	secs = (double)(now - s->t.all_ready_ns) / 1e9;
	if (p.has_dma)
		snprintf(c, sizeof(c), ", %" PRIu64 " DMAs", p.dma_transfers);
	fprintf(stdout, "\r  %5.1f s / %.1f s  verified %s  (%s/s)%s   ", secs, s->cfg->duration_s,
		size_format(p.verified_bytes, a, sizeof(a)),
		size_format(secs > 0 ? (uint64_t)((double)p.verified_bytes / secs) : 0, b, sizeof(b)), c);
	fflush(stdout);
	pl->shown = true;
}

/* The initramfs the build makes for --kernel (guest/linux/meson.build: the in-guest stress
 * tool as /init): this build tree's copy when the daxvm running is the build tree's, else the
 * installed one. */
static const char *default_initrd(void)
{
	char exe[4096], root[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		snprintf(root, sizeof(root), "%s/", DAXVM_LINUX_BUILD_ROOT);
		if (!strncmp(exe, root, strlen(root)) && access(DAXVM_LINUX_INITRAMFS_BUILD, R_OK) == 0)
			return DAXVM_LINUX_INITRAMFS_BUILD;
	}
	return access(DAXVM_LINUX_INITRAMFS_INSTALLED, R_OK) == 0 ? DAXVM_LINUX_INITRAMFS_INSTALLED
								  : NULL;
}

int cmd_run(int argc, char **argv)
{
	struct sigaction sa, old_int, old_term;
	struct progress_line pl = { 0 };
	struct ram_progress rp;
	struct run_options opt;
	struct run_session *s;
	struct report *r = NULL;
	struct err e = { 0 };
	int status;

	if (run_options_parse(argc, argv, &opt, &e)) {
		fprintf(stderr, "daxvm: %s\n", e.msg);
		free(opt.pmem_path_buf);
		return EXIT_USAGE;
	}
	if (opt.help) {
		run_options_usage(stdout);
		free(opt.pmem_path_buf);
		return EXIT_PASS;
	}
	if (opt.cfg.kernel && !opt.cfg.initrd) {
		opt.cfg.initrd = default_initrd();
		if (!opt.cfg.initrd) {
			fprintf(stderr, "daxvm: --kernel without --initrd boots daxvm's own initramfs, but neither %s nor %s exists: build or install daxvm, or give --initrd FILE\n",
				DAXVM_LINUX_INITRAMFS_BUILD, DAXVM_LINUX_INITRAMFS_INSTALLED);
			free(opt.pmem_path_buf);
			return EXIT_USAGE;
		}
	}
	s = calloc(1, sizeof(*s));
	r = report_new();
	if (!s || !r) {
		free(s);
		report_free(r);
		free(opt.pmem_path_buf);
		fprintf(stderr, "daxvm: out of memory: free some memory\n");
		return EXIT_USAGE;
	}
	s->t.cmd_start_ns = ctl_now_ns();
	s->t.process_age_ms = process_age_ms();
	s->cfg = &opt.cfg;
	s->guest_ops = opt.cfg.kernel ? &linux_guest_ops : &stress_guest_ops;
	s->interrupted = &run_interrupted;
	s->report = r;
	pl.tty = isatty(STDOUT_FILENO) && !opt.cfg.console_path;
	pl.live = pl.tty && opt.cfg.duration_s > 1.0;
	s->on_tick = run_on_tick;
	s->tick_opaque = &pl;
	ram_progress_init(&rp);
	s->on_populate = ram_progress_populate;
	s->on_pin = ram_progress_pin;
	s->progress_opaque = &rp;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	if (session_start(s, &e)) {
		const char *stage = session_failed_stage(s);
		/* KVM itself missing or forbidden is not fixed by an option; too many vCPUs is. */
		const char *options = (stage && !strcmp(stage, "kvm") && e.code != -EINVAL) ||
				      e.code == -EOPNOTSUPP ? NULL : stage_options(stage);

		if (options)
			fprintf(stderr, "daxvm: %s (options: %s)\n",
				e.msg[0] ? e.msg : "setup failed: see the messages above", options);
		else
			fprintf(stderr, "daxvm: %s\n", e.msg[0] ? e.msg : "setup failed: see the messages above");
		status = EXIT_USAGE;
		goto out;
	}
	session_run(s);
	if (pl.shown) {
		fprintf(stdout, "\r%*s\r", 72, "");
		fflush(stdout);
	}
	/* Order matters: the device drains and reports through the pins, then they go. */
	session_finish(s);
	if (session_fill_report(s, r))
		fprintf(stderr, "daxvm: internal error: the report rejected a key\n");
	run_summary(r, &opt.cfg, stdout);
	status = s->failed ? EXIT_CHECK_FAILED : EXIT_PASS;
	if (opt.report_path && report_write_file(r, opt.report_path)) {
		fprintf(stderr, "daxvm: cannot write the report %s: %s: give a writable --report path\n",
			opt.report_path, strerror(errno));
		status = EXIT_USAGE;
	}
out:
	report_free(r);
	free(s);
	free(opt.pmem_path_buf);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return status;
}
