/* daxvm inspect: the validator on a VMM daxvm did not start. Finds the target (a pid, or a
 * libvirt domain's QEMU), matches its configuration to its mappings, validates its pins for
 * --duration (or until it exits), prints the summary and writes the report. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/report.h"
#include "inspect/domain.h"
#include "inspect/process.h"
#include "inspect/target.h"
#include "validate/dax_guard.h"
#include "validate/validate.h"
#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "cli/inspect_options.h"
#include "cli/inspect_report.h"
#include "cli/pin_check_options.h"
#include "cli/run_options.h"

struct guard_state {
	volatile bool tripped;
	struct dax_guard_event ev;
};

static void on_guard(const struct dax_guard_event *ev, void *opaque)
{
	struct guard_state *g = opaque;

	g->ev = *ev;
	g->tripped = true;
}

/* --domain: the domain's XML through libvirt, then its QEMU by the UUID libvirt gave it. */
static int find_domain(const struct inspect_options *o, struct inspect_domain *dom, pid_t *pid, struct err *e)
{
	char *xml = NULL, uuid[40] = "";
	int ret = inspect_libvirt_domain_xml(o->connect, o->domain, &xml, uuid, e);

	if (ret) {
		if (ret == -ECONNREFUSED)
			snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
				 ": is libvirtd running? (--connect names another URI)");
		return ret;
	}
	ret = inspect_domain_xml_parse(xml, strlen(xml), dom, e);
	free(xml);
	if (!ret)
		ret = inspect_find_qemu_by_uuid(uuid, pid, e);
	if (ret == -ESRCH)
		snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
			 " (domain '%s'): run inspect on the host the domain runs on", o->domain);
	return ret;
}

/* A daxvm target's command line, read with daxvm's own option tables. */
static int daxvm_config(const struct inspect_process *p, struct inspect_config *cfg, struct err *e)
{
	struct run_options ro;
	struct pin_check_options po;
	int ret;

	if (!strcmp(p->argv[1], "run")) {
		ret = run_options_parse(p->argc - 1, (char **)p->argv + 1, &ro, e);
		if (!ret)
			inspect_daxvm_config("run", ro.cfg.mem, ro.cfg.mem_size, ro.cfg.pin_name, ro.cfg.vfio, cfg);
	} else {
		ret = pin_check_options_parse(p->argc - 1, (char **)p->argv + 1, &po, e);
		if (!ret)
			inspect_daxvm_config("pin-check", po.mem, po.mem_size, pin_backend_name(po.backend), po.vfio, cfg);
	}
	if (ret)
		return err_replace(e, ret, "its daxvm %s command line does not parse: %.400s", p->argv[1], e->msg);
	return 0;
}

/* Watches until the duration ends, the process exits or a signal comes. Returns true when
 * the process exited. */
static bool watch(const struct inspect_process *p, const struct inspect_options *o, const struct guard_state *g)
{
	double limit = o->duration_s >= 0 ? o->duration_s : o->until_exit ? -1 : INSPECT_DEFAULT_DURATION_S;
	double until = cli_now_ms() + limit * 1e3;

	while (!cli_stop_signal && !g->tripped) {
		double left = until - cli_now_ms();

		if (limit >= 0 && left <= 0)
			return false;
		if (inspect_process_wait_exit(p, limit < 0 || left > 50 ? 50 : (int)left + 1))
			return true;
	}
	return false;
}

static void fill_backing(struct report *rep, const struct inspect_target *t)
{
	for (unsigned i = 0; i < t->nr_found; i++) {
		const struct inspect_found *f = &t->found[i];

		if (!f->found)
			continue;
		/* The first watched mapping, as run reports its backing. */
		report_set_str(rep, "backing.kind", f->kind);
		report_set_str(rep, "backing.path", f->path[0] ? f->path : "anon");
		report_set_bool(rep, "backing.devmap", f->devmap);
		report_set_bool(rep, "backing.shared", f->shared);
		report_set_u64(rep, "backing.size_bytes", f->size);
		report_set_u64(rep, "backing.page_size", f->page_size);
		report_set_str(rep, "backing.why", "found in the target's /proc/PID/maps");
		return;
	}
	report_set_str(rep, "backing.kind", "none");
}

int cmd_inspect(int argc, char **argv)
{
	struct inspect_options o;
	struct inspect_process p = { .pidfd = -1 };
	struct inspect_config cfg;
	struct inspect_domain dom;
	struct inspect_target *t = calloc(1, sizeof(*t));
	struct proc_vmas vmas = { 0 };
	struct validate *v = NULL;
	struct validate_config vcfg = { 0 };
	struct dax_guard *guard = NULL;
	struct guard_state gs = { 0 };
	struct report *rep = NULL;
	struct cli_stop_signals stops;
	struct err e = { 0 };
	char reason[640] = "";
	double t0 = cli_now_ms(), t_attach, t_verdict;
	pid_t pid;
	bool exited = false, ok;
	int ret, status = EXIT_USAGE;

	if (!t) {
		fprintf(stderr, "daxvm inspect: out of memory\n");
		return EXIT_USAGE;
	}
	if (inspect_options_parse(argc, argv, &o, &e)) {
		fprintf(stderr, "daxvm inspect: %s\n", e.msg);
		free(t);
		return EXIT_USAGE;
	}
	if (o.help) {
		inspect_options_usage(stdout);
		free(t);
		return EXIT_PASS;
	}
	cli_stop_signals_install(&stops);
	if (geteuid() != 0) {
		fprintf(stderr, "daxvm inspect: reading another process's page frames and pin counters needs root: run it as root\n");
		goto out;
	}
	pid = (pid_t)o.pid;
	if (o.domain && find_domain(&o, &dom, &pid, &e)) {
		fprintf(stderr, "daxvm inspect: %s\n", e.msg);
		goto out;
	}
	if (inspect_process_open(pid, &p, &e)) {
		fprintf(stderr, "daxvm inspect: %s%s\n", e.msg, o.pid && e.code == -ESRCH ? " (check --pid)" : "");
		goto out;
	}
	ret = p.vmm == INSPECT_VMM_QEMU ? inspect_qemu_cmdline(p.argc, p.argv, &cfg, &e) : daxvm_config(&p, &cfg, &e);
	if (!ret)
		ret = proc_vmas_read(p.pid, &vmas, &e);
	if (!ret)
		ret = inspect_target_build(&p, &cfg, o.domain ? &dom : NULL, &vmas, t, &e);
	if (ret) {
		fprintf(stderr, "daxvm inspect: pid %d: %s\n", (int)p.pid, e.msg);
		goto out;
	}
	t_attach = cli_now_ms();
	vcfg.interval_ms = o.interval_ms;
	rep = report_new();
	if (!rep || validate_new(&vcfg, &v, &e)) {
		fprintf(stderr, "daxvm inspect: %s\n", e.msg[0] ? e.msg : "out of memory");
		goto out;
	}
	if (t->nr_ranges && validate_target_start(v, &t->vt, &e)) {
		if (inspect_process_exited(&p) || e.code == -ESRCH)
			fprintf(stderr, "daxvm inspect: pid %d exited while it was being inspected: nothing to validate\n", (int)p.pid);
		else
			fprintf(stderr, "daxvm inspect: pid %d: %s\n", (int)p.pid, e.msg);
		goto out;
	}
	t_verdict = cli_now_ms();
	if (t->devdax_device[0]) {
		struct dax_guard_config gc = { .device = t->devdax_device, .uevent_fd = -1, .fn = on_guard, .opaque = &gs };

		/* Without a guard the run still validates; the report says why it was off. */
		if (dax_guard_start(&gc, &guard, &e))
			report_set_str(rep, "dax_guard.why", e.msg);
		err_reset(&e);
	}
	exited = watch(&p, &o, &gs);
	if (v && t->nr_ranges && validate_stop(v, &e)) {
		fprintf(stderr, "daxvm inspect: pid %d: %s\n", (int)p.pid, e.msg);
		goto out;
	}
	if (exited && !o.until_exit) {
		fprintf(stderr, "daxvm inspect: pid %d exited during the inspection: watch a running VMM, or give "
			"--until-exit to check its release at exit\n", (int)p.pid);
		goto out;
	}
	if (exited && t->nr_ranges) {
		/* The kernel releases the pins in the exit path; give it a moment. */
		usleep(200000);
		if (validate_target_exited(v, &e)) {
			fprintf(stderr, "daxvm inspect: %s\n", e.msg);
			goto out;
		}
	}

	ok = t->nr_ranges ? validate_verdict(v, reason, sizeof(reason)) : false;
	if (!t->nr_ranges)
		snprintf(reason, sizeof(reason), "no guest memory of the configuration was found in /proc/%d/maps", (int)p.pid);
	if (gs.tripped) {
		ok = false;
		snprintf(reason, sizeof(reason), "hazard: %s went away under the target's pins: %s", t->devdax_device,
			 gs.ev.what);
	}
	if (ok && t->nr_mismatch) {
		ok = false;
		snprintf(reason, sizeof(reason), "configuration mismatch: %.600s", t->mismatch[0]);
	}
	if (ok && o.until_exit && !exited) {
		ok = false;
		snprintf(reason, sizeof(reason), "pid %d did not exit within %.1f s: its release was not checked",
			 (int)p.pid, o.duration_s);
	}
	if (cli_stop_signal) {
		ok = false;
		snprintf(reason, sizeof(reason), "interrupted by %s", cli_stop_signal_name(cli_stop_signal));
	}
	report_set_str(rep, "verdict", ok ? "PASS" : "FAIL");
	if (!ok)
		report_set_str(rep, "reason", reason);
	report_set_str(rep, "command", "inspect");
	report_set_bool(rep, "interrupted", cli_stop_signal != 0);
	inspect_target_fill_report(t, &p, &cfg, o.domain ? &dom : NULL, rep);
	if (o.domain)
		report_set_str(rep, "target.connect", o.connect);
	report_set_bool(rep, "target.exited", exited);
	fill_backing(rep, t);
	if (t->nr_ranges)
		validate_fill_report(v, rep);
	report_set_str(rep, "dax_guard.state", !guard ? "off" : gs.tripped ? "tripped" : "armed");
	if (gs.tripped)
		report_set_str(rep, "dax_guard.event", gs.ev.what);
	report_set_double(rep, "timing.attach_ms", t_attach - t0);
	report_set_double(rep, "timing.first_verdict_ms", t_verdict - t0);
	report_set_double(rep, "timing.watch_ms", cli_now_ms() - t_verdict);
	status = ok ? EXIT_PASS : EXIT_CHECK_FAILED;
	if (o.report && report_write_file(rep, o.report)) {
		fprintf(stderr, "daxvm inspect: cannot write the report to %s: %s\n", o.report, strerror(errno));
		status = EXIT_USAGE;
	}
	inspect_summary(rep, stdout);
out:
	dax_guard_stop(guard);
	validate_free(v);
	report_free(rep);
	proc_vmas_free(&vmas);
	inspect_process_close(&p);
	free(t);
	cli_stop_signals_restore(&stops);
	return status;
}
