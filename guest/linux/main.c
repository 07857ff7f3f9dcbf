/* daxvm-stress: the /init of daxvm's built-in initramfs for Linux guests. Sets up the guest
 * (mounts, modules, pmem), runs the stress threads over most of the free RAM and over the pmem
 * device, prints one DAXVM-GUEST-RESULT line, writes the verdict port and powers off. Every
 * step that cannot be done ends the run as DAXVM_GUEST_FAIL_SETUP with the reason in the line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "daxvm_guest_abi.h"
#include "params.h"
#include "pmem.h"
#include "ports.h"
#include "result.h"
#include "stress.h"

static const char *inject_name(enum params_inject i)
{
	return i == PARAMS_INJECT_MISMATCH ? "mismatch" : "none";
}

/* A new base seed every run, so data from an earlier run (pmem keeps it) never verifies.
 * getrandom may not be ready this early: the clock is a fine fallback for this purpose. */
static uint64_t run_seed(void)
{
	uint64_t s = 0;
	struct timespec t;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == sizeof(s) && s)
		return s;
	clock_gettime(CLOCK_REALTIME, &t);
	return ((uint64_t)t.tv_sec << 32) ^ (uint64_t)t.tv_nsec ^ 0x5eed5eed5eed5eedull;
}

/* One result per run; the RUNNING callback stamps its time into it. */
static struct stress_result result;

static void on_running(void)
{
	ports_event(DAXVM_GUEST_EVENT_RUNNING);
	result.running_seconds = boot_uptime();
	printf("daxvm-stress: running at uptime %.3f s\n", result.running_seconds);
	fflush(stdout);
}

static void finish(struct stress_result *r) __attribute__((noreturn));
static void finish(struct stress_result *r)
{
	char line[DAXVM_GUEST_RESULT_MAX];
	size_t n = result_format(r, line, sizeof(line));

	result_print(line, n);
	ports_event(DAXVM_GUEST_EVENT_DONE);
	ports_verdict(r->verdict);
	boot_power_off();
}

static void setup_failed(struct stress_result *r, const char *why) __attribute__((noreturn));
static void setup_failed(struct stress_result *r, const char *why)
{
	r->verdict = DAXVM_GUEST_FAIL_SETUP;
	snprintf(r->reason, sizeof(r->reason), "setup: %s", why);
	finish(r);
}

int main(void)
{
	struct stress_result *r = &result;
	struct stress_params p;
	struct stress_plan plan = { 0 };
	char why[RESULT_REASON_MAX] = "", cmdline[4096], pmem_path[PARAMS_PATH_MAX];
	uint64_t avail, pmem_bytes;
	long cpus;
	int err = 0, perr, mounted;

	/* Powering off is what this program does at the end: never on a machine it did not boot. */
	if (getpid() != 1) {
		fprintf(stderr, "daxvm-stress: this is the /init of a guest's initramfs (pid 1), not "
			"a command: boot it with daxvm run --kernel or qemu -initrd\n");
		return 2;
	}
	boot_console();
	r->inject = "none";
	/* Mounts and parameters first: the ports may need /dev/port, and daxvm_ports= can ask for
	 * it (a few ms before the INIT event). */
	params_defaults(&p);
	mounted = boot_mounts(why, sizeof(why));
	if (!mounted) {
		err = boot_read_file("/proc/cmdline", cmdline, sizeof(cmdline));
		if (err)
			snprintf(why, sizeof(why), "cannot read /proc/cmdline: %s", strerror(-err));
		else
			err = params_parse(cmdline, &p, why, sizeof(why));
	}
	r->init_seconds = boot_uptime();
	perr = ports_open(p.ports_devport);
	r->ports = ports_mode();
	ports_event(DAXVM_GUEST_EVENT_INIT);
	/* Console milestones: a VMM or a script that timestamps the console sees launch -> /init
	 * and launch -> running without port events (QEMU as a peer has none). */
	printf("daxvm-stress: /init started at uptime %.3f s (ports: %s)\n", r->init_seconds, r->ports);
	fflush(stdout);
	if (mounted || err)
		setup_failed(r, why);
	if (perr) {
		snprintf(why, sizeof(why), "no way to the report ports: ioperm or its probe failed, "
			 "and /dev/port: %s", strerror(-perr));
		setup_failed(r, why);
	}
	r->inject = inject_name(p.inject);
	err = boot_load_modules(why, sizeof(why));
	if (err < 0)
		setup_failed(r, why);
	r->modules_loaded = (unsigned)err;
	if (pmem_find(&p, pmem_path, sizeof(pmem_path), &pmem_bytes, why, sizeof(why)))
		setup_failed(r, why);
	snprintf(r->pmem_device, sizeof(r->pmem_device), "%s", pmem_path);

	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	plan.threads = p.threads ? p.threads : (cpus > 0 ? (unsigned)cpus : 1);
	avail = boot_mem_available();
	plan.ram_bytes = avail / 100 * p.ram_percent;
	if (plan.ram_bytes < (uint64_t)plan.threads * 4096) {
		snprintf(why, sizeof(why), "MemAvailable is %llu bytes: %u%% of it leaves less than a "
			 "page for each of %u threads", (unsigned long long)avail, p.ram_percent, plan.threads);
		setup_failed(r, why);
	}
	plan.pmem_path = pmem_path[0] ? pmem_path : NULL;
	plan.pmem_bytes = pmem_bytes;
	plan.duration_s = p.duration_s;
	plan.seed = r->seed = run_seed();
	plan.inject = p.inject;
	printf("daxvm-stress: %u threads, %llu MiB of RAM%s%s%s, at least %u s and %u passes\n",
	       plan.threads, (unsigned long long)(plan.ram_bytes >> 20), plan.pmem_path ? " and " : "",
	       plan.pmem_path ? plan.pmem_path : "", plan.pmem_path ? " (O_DIRECT)" : "", plan.duration_s,
	       STRESS_MIN_PASSES);
	fflush(stdout);

	stress_run(&plan, &(struct stress_report_ops){ on_running, ports_progress }, r);
	finish(r);
}
