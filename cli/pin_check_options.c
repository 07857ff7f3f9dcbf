/* 'daxvm pin-check': its option table, defaults and the checks that span options. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cli/cli_opts.h"
#include "cli/pin_check_options.h"
#include "memory/populate.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define OFF(field) offsetof(struct pin_check_options, field)

static int set_pin(const struct opt *o, void *target, const char *val, struct err *e)
{
	return cli_set_pin(o, &((struct pin_check_options *)target)->backend, val, e);
}

static int set_vfio(const struct opt *o, void *target, const char *val, struct err *e)
{
	return cli_set_vfio(o, &((struct pin_check_options *)target)->vfio, val, e);
}

static const struct opt pin_check_opts[] = {
	{ .name = "--mem", .value = CLI_VALUE_MEM, .kind = OPT_STR, .off = OFF(mem),
	  .help = CLI_HELP_MEM, .def = CLI_DEFAULT_MEM, .fix = "a path, memfd, memfd-huge or anon" },
	{ .name = "--mem-size", .value = "SIZE", .kind = OPT_SIZE, .off = OFF(mem_size),
	  .help = "bytes to map with K/M/G suffix, such as 512M or 2G", .def = CLI_DEFAULT_MEM_SIZE,
	  .fix = "such as 512M" },
	{ .name = "--pin", .kind = OPT_CALL, .set = set_pin, .choices = cli_pin_choices,
	  .help = "pinning backend: auto is vfio when --vfio is given, else io_uring; iommufd pins only while a device is attached to its IOAS, which pin-check does not do; none is refused, as it leaves nothing to check",
	  .def = "auto" },
	{ .name = "--vfio", .value = "ADDR", .kind = OPT_CALL, .set = set_vfio,
	  .help = "PCI device (DDDD:BB:DD.F) whose IOMMU group the vfio container uses; only with --pin vfio or auto" },
	{ .name = "--hold", .value = "SEC", .kind = OPT_SECONDS, .off = OFF(hold_s), .min = 0,
	  .max = 604800, .help = "how long to hold the pins while sampling, fractions allowed" },
	{ .name = "--validate-interval", .value = "MS", .kind = OPT_UINT, .off = OFF(interval_ms),
	  .min = 0, .max = 3600000,
	  .help = "PFN sampling period in ms, up to an hour; 0 = snapshot and final sweep only",
	  .fix = "such as " STR(PIN_CHECK_DEFAULT_INTERVAL_MS) },
	{ .name = "--window", .value = "PAGES", .kind = OPT_U64, .off = OFF(window), .min = 1,
	  .max = UINT64_MAX,
	  .help = "pages re-checked per sample; a full sweep of a big backing takes several samples",
	  .def = "the validator's, 65536", .fix = "such as 65536" },
	{ .name = "--prealloc-threads", .value = "N", .kind = OPT_UINT, .off = OFF(prealloc_threads),
	  .min = 0, .max = 256,
	  .help = "threads that populate the backing before it is pinned and, on io_uring, pin it a GiB each (as daxvm run); 0 = no populate pass, the pin faults pages in on one thread",
	  .def = "the CPU count", .fix = "such as 2" },
	{ .name = "--report", .value = "FILE.json", .kind = OPT_STR, .off = OFF(report),
	  .help = "write the JSON report (backing.*, pinning.*, validation.*, timing.*)",
	  .fix = "a file name such as report.json" },
	{ .name = "--help", .short_name = 'h', .kind = OPT_HELP, .help = "print this help and exit" },
};

static void pin_check_defaults(void *target)
{
	struct pin_check_options *o = target;

	memset(o, 0, sizeof(*o));
	o->backend = PIN_AUTO;
	o->hold_s = PIN_CHECK_DEFAULT_HOLD_S;
	o->interval_ms = PIN_CHECK_DEFAULT_INTERVAL_MS;
	o->prealloc_threads = populate_default_threads();
}

const struct opt_command pin_check_command = {
	.name = "pin-check",
	.summary = "map, pin, validate and unpin a backing without a guest",
	.description =
		"Maps guest-RAM backing memory, populates it on --prealloc-threads threads, pins it for device DMA, validates the pins "
		"while it holds them, unpins, and checks that every pin was released. No guest runs."
		"\n\n"
		"Checks: pin counts (this process's VmPin/VmLck exactly, /proc/vmstat "
		"nr_foll_pin_acquired at least the pages pinned), every backing page present at an "
		"unchanged PFN, devdax PFNs inside the device's physical ranges, and no pin left after "
		"unpinning. Needs root for PFNs and vm.stat_refresh.",
	.exit_status =
		"Exit status: 0 every check held, 1 a check failed (or SIGINT/SIGTERM: pins are "
		"released first), 2 usage or environment error.",
	.opts = pin_check_opts,
	.nr_opts = sizeof(pin_check_opts) / sizeof(pin_check_opts[0]),
	.target_size = sizeof(struct pin_check_options),
	.defaults = pin_check_defaults,
};

int pin_check_options_parse(int argc, char **argv, struct pin_check_options *o, struct err *e)
{
	int ret;

	pin_check_defaults(o);
	ret = opts_parse(&pin_check_command, argc, argv, o, &o->help, e);
	if (ret)
		return ret;
	if (o->vfio && o->backend != PIN_VFIO && o->backend != PIN_AUTO)
		return err_set(e, -EINVAL, "--vfio only applies to --pin vfio or auto: drop --vfio or use --pin vfio");
	if (o->backend == PIN_NONE)
		return err_set(e, -EINVAL, "--pin none pins nothing, so there is nothing to check: choose another backend, such as auto");
	return 0;
}

void pin_check_options_usage(FILE *out)
{
	opts_usage(&pin_check_command, out);
}
