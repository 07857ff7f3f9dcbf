/* 'daxvm inspect': its option table, defaults and the checks that span options. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/inspect_options.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define OFF(field) offsetof(struct inspect_options, field)

static int set_connect(const struct opt *o, void *target, const char *val, struct err *e)
{
	struct inspect_options *io = target;

	size_t scheme = strspn(val, "abcdefghijklmnopqrstuvwxyz0123456789+.-");

	/* A URI starts with its scheme ("qemu:", "test:", "qemu+ssh:"). */
	if (!val[0] || scheme == 0 || val[scheme] != ':' || !(val[0] >= 'a' && val[0] <= 'z'))
		return err_set(e, -EINVAL, "%s '%s' is not a libvirt URI: use one such as qemu:///system", o->name, val);
	io->connect = val;
	io->connect_given = true;
	return 0;
}

static const struct opt inspect_opts[] = {
	{ .name = "--pid", .value = "PID", .kind = OPT_UINT, .off = OFF(pid), .min = 1, .max = 4194304,
	  .help = "the VMM process to inspect: a QEMU (qemu-system-*) or a daxvm run or pin-check",
	  .def = "none", .fix = "such as the pid of a running qemu-system-x86_64" },
	{ .name = "--domain", .value = "NAME", .kind = OPT_STR, .off = OFF(domain),
	  .help = "a running libvirt domain: its XML is read through libvirt (read-only) and its QEMU process inspected",
	  .fix = "a domain name as virsh list shows it" },
	{ .name = "--connect", .value = "URI", .kind = OPT_CALL, .set = set_connect,
	  .help = "libvirt connection URI for --domain; the domain's QEMU must run on this host",
	  .def = INSPECT_DEFAULT_CONNECT },
	{ .name = "--duration", .value = "SEC", .kind = OPT_SECONDS, .off = OFF(duration_s), .min = 0,
	  .max = 604800,
	  .help = "how long to watch, fractions allowed; with --until-exit the longest to wait for the process to end",
	  .def = "5, or no limit with --until-exit" },
	{ .name = "--interval", .value = "MS", .kind = OPT_UINT, .off = OFF(interval_ms), .min = 0,
	  .max = 3600000, .help = "PFN sampling period in ms, up to an hour; 0 = snapshot and final sweep only",
	  .fix = "such as " STR(INSPECT_DEFAULT_INTERVAL_MS) },
	{ .name = "--report", .value = "FILE.json", .kind = OPT_STR, .off = OFF(report),
	  .help = "write the JSON report (target.*, backing.*, pinning.*, validation.*, timing.*)",
	  .fix = "a file name such as report.json" },
	{ .name = "--until-exit", .kind = OPT_FLAG, .off = OFF(until_exit),
	  .help = "keep watching until the process ends, then check that every pin it held was released" },
	{ .name = "--help", .short_name = 'h', .kind = OPT_HELP, .help = "print this help and exit" },
};

static void inspect_defaults(void *target)
{
	struct inspect_options *o = target;

	memset(o, 0, sizeof(*o));
	o->connect = INSPECT_DEFAULT_CONNECT;
	o->duration_s = -1;
	o->interval_ms = INSPECT_DEFAULT_INTERVAL_MS;
}

const struct opt_command inspect_command = {
	.name = "inspect",
	.summary = "validate the pins of a running QEMU or libvirt domain from outside",
	.description =
		"Finds the guest RAM and NVDIMM mappings of a VMM daxvm did not start in /proc/PID/maps, "
		"compares them with what its configuration promised (the QEMU command line; for a libvirt "
		"domain also its XML: memoryBacking, nvdimm memory devices, VFIO hostdevs), and validates "
		"them as daxvm run validates its own: pins expected (VFIO maps all guest RAM: every page) "
		"against the counters, every page present at an unchanged PFN, devdax PFNs inside the "
		"device, and the devdax device staying enabled under the pins."
		"\n\n"
		"With --until-exit it keeps watching until the process ends and then checks that the pins "
		"it held were released. Nothing is changed in the process. Needs root.",
	.exit_status =
		"Exit status: 0 every check held, 1 a check failed (a configuration mismatch, a moved or "
		"missing page, a pin leak, SIGINT/SIGTERM), 2 usage or environment error (no such pid, not "
		"a VMM, the process exited during inspection, not root, libvirt unreachable, no such domain).",
	.opts = inspect_opts,
	.nr_opts = sizeof(inspect_opts) / sizeof(inspect_opts[0]),
	.target_size = sizeof(struct inspect_options),
	.defaults = inspect_defaults,
};

int inspect_options_parse(int argc, char **argv, struct inspect_options *o, struct err *e)
{
	int ret;

	inspect_defaults(o);
	ret = opts_parse(&inspect_command, argc, argv, o, &o->help, e);
	if (ret || o->help)
		return ret;
	if (!o->pid && !o->domain)
		return err_set(e, -EINVAL, "nothing to inspect: give --pid PID or --domain NAME");
	if (o->pid && o->domain)
		return err_set(e, -EINVAL, "--pid and --domain both name a target: give one of them");
	if (o->connect_given && !o->domain)
		return err_set(e, -EINVAL, "--connect only applies to --domain: drop --connect or use --domain");
	return 0;
}

void inspect_options_usage(FILE *out)
{
	opts_usage(&inspect_command, out);
}
