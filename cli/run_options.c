/* 'daxvm run': its option table, defaults and the checks that span options. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "guest/abi.h"
#include "cli/cli_opts.h"
#include "cli/run_options.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define CFG(field) offsetof(struct run_options, cfg.field)

/* The faults --inject offers, each a stress-guest flag. */
static const struct { const char *name; uint32_t flag; } inject_names[] = {
	{ "ud", GUEST_F_INJECT_UD },   { "triple-fault", GUEST_F_TRIPLE_FAULT },
	{ "bad-mmio", GUEST_F_BAD_MMIO }, { "hang", GUEST_F_HANG }, { "corrupt", GUEST_F_CORRUPT },
	{ "hostile", GUEST_F_HOSTILE },
};

static size_t inject_choices(const char **names, size_t max)
{
	size_t n = 0;

	for (; n < sizeof(inject_names) / sizeof(inject_names[0]) && n < max; n++)
		names[n] = inject_names[n].name;
	return n;
}

static int set_inject(const struct opt *o, void *target, const char *val, struct err *e)
{
	struct run_options *ro = target;

	for (size_t i = 0; i < sizeof(inject_names) / sizeof(inject_names[0]); i++) {
		if (!strcmp(val, inject_names[i].name)) {
			ro->cfg.guest_flags |= inject_names[i].flag;
			return 0;
		}
	}
	return opts_choice_error(o, val, "a fault daxvm can inject", e);
}

static size_t on_off_choices(const char **names, size_t max)
{
	if (max < 2)
		return 0;
	names[0] = "on";
	names[1] = "off";
	return 2;
}

static int set_dma(const struct opt *o, void *target, const char *val, struct err *e)
{
	struct run_options *ro = target;

	if (strcmp(val, "on") && strcmp(val, "off"))
		return err_set(e, -EINVAL, "%s '%s' is neither on nor off: use %s on or %s off", o->name,
			       val, o->name, o->name);
	ro->cfg.dma = !strcmp(val, "on");
	return 0;
}

static int set_seccomp(const struct opt *o, void *target, const char *val, struct err *e)
{
	struct run_options *ro = target;

	if (strcmp(val, "on") && strcmp(val, "off"))
		return err_set(e, -EINVAL, "%s '%s' is neither on nor off: use %s on or %s off", o->name,
			       val, o->name, o->name);
	ro->cfg.seccomp = !strcmp(val, "on");
	return 0;
}

static int set_pin(const struct opt *o, void *target, const char *val, struct err *e)
{
	struct run_options *ro = target;
	int ret = cli_set_pin(o, &ro->cfg.pin, val, e);

	if (!ret)
		ro->cfg.pin_name = val;
	return ret;
}

static int set_vfio(const struct opt *o, void *target, const char *val, struct err *e)
{
	return cli_set_vfio(o, &((struct run_options *)target)->cfg.vfio, val, e);
}

static const struct opt run_opts[] = {
	{ .name = "--mem", .value = CLI_VALUE_MEM, .kind = OPT_STR, .off = CFG(mem),
	  .help = CLI_HELP_MEM, .def = CLI_DEFAULT_MEM, .fix = "a path, memfd, memfd-huge or anon" },
	{ .name = "--mem-size", .value = "SIZE", .kind = OPT_SIZE, .off = CFG(mem_size),
	  .help = "guest RAM with K/M/G suffix, a multiple of 2 MiB and of the backing's alignment; RAM above 3 GiB is placed at 4 GiB",
	  .def = CLI_DEFAULT_MEM_SIZE, .fix = "such as 512M" },
	{ .name = "--grow-pool", .kind = OPT_FLAG, .off = CFG(grow_pool),
	  .help = "memfd-huge: when the hugetlb pool has too few free pages, grow it for the run (root) and give the pages back at exit",
	  .def = "never touch the pool; say how to grow it" },
	{ .name = "--prealloc-threads", .value = "N", .kind = OPT_UINT, .off = CFG(prealloc_threads),
	  .min = 1, .max = 256,
	  .help = "threads that populate guest RAM before it is pinned and, on io_uring, pin it a GiB each; 1 to 256, as QEMU's prealloc-threads",
	  .def = "the CPU count", .fix = "such as 2" },
	{ .name = "--work-size", .value = "SIZE", .kind = OPT_SIZE, .off = CFG(work_bytes),
	  .help = "bytes each vCPU writes and verifies per pass, from the start of its equal share of RAM; smaller is quicker on big RAM",
	  .def = "the whole share; RAM above 2 MiB is shared out", .fix = "such as 256M" },
	{ .name = "--cpus", .value = "N", .kind = OPT_UINT, .off = CFG(cpus), .min = 1,
	  .max = GUEST_MAX_CPUS, .help = "vCPUs, 1 to " STR(GUEST_MAX_CPUS) " and at most KVM's limit",
	  .fix = "such as " STR(RUN_DEFAULT_CPUS) },
	{ .name = "--duration", .value = "SEC", .kind = OPT_SECONDS, .off = CFG(duration_s), .min = 1,
	  .max = 1000000,
	  .help = "seconds the workload runs, fractions allowed; every vCPU completes at least one pass" },
	{ .name = "--pin", .kind = OPT_CALL, .set = set_pin, .choices = cli_pin_choices,
	  .help = "pinning backend: auto is vfio with --vfio, else io_uring registered buffers; iommufd only when asked, as an IOAS pins nothing until a device is attached; none runs the guest unpinned and without DMA",
	  .def = "auto" },
	{ .name = "--vfio", .value = "ADDR", .kind = OPT_CALL, .set = set_vfio,
	  .help = "PCI device (DDDD:BB:DD.F) whose IOMMU group the vfio backend attaches; --pin auto then means vfio" },
	{ .name = "--validate-interval", .value = "MS", .kind = OPT_UINT,
	  .off = CFG(validate_interval_ms), .min = 1, .max = 60000,
	  .help = "how often, in ms from 1 to 60000, the validator re-reads the pinned frames",
	  .fix = "such as " STR(RUN_DEFAULT_VALIDATE_MS) },
	{ .name = "--dma", .kind = OPT_CALL, .set = set_dma, .choices = on_off_choices,
	  .help = "run the DMA stress through the pins; --pin none turns it off", .def = "on" },
	{ .name = "--dma-queues", .value = "N", .kind = OPT_UINT, .off = CFG(dma_queues), .min = 1,
	  .max = 8, .help = "DMA device threads, 1 to 8", .fix = "such as " STR(RUN_DEFAULT_DMA_QUEUES) },
	{ .name = "--dma-media", .value = "PATH", .kind = OPT_STR, .off = CFG(dma_media),
	  .help = "the DMA device's media: an existing file or block device, OVERWRITTEN",
	  .def = "a 64 MiB memfd", .fix = "a file or block device path" },
	{ .name = "--seccomp", .kind = OPT_CALL, .set = set_seccomp, .choices = on_off_choices,
	  .help = "after set-up, vCPU and DMA queue threads run under a system call filter; a forbidden call is refused and fails the run, naming it",
	  .def = "on" },
	{ .name = "--report", .value = "FILE.json", .kind = OPT_STR,
	  .off = offsetof(struct run_options, report_path),
	  .help = "write the JSON report there (written on PASS and FAIL)",
	  .fix = "a file name such as report.json" },
	{ .name = "--console", .value = "FILE", .kind = OPT_STR, .off = CFG(console_path),
	  .help = "guest console output to FILE instead of stdout", .fix = "a file name" },
	{ .name = "--hang-timeout", .value = "SEC", .kind = OPT_SECONDS, .off = CFG(hang_s), .min = 1,
	  .max = 1000000, .help = "a vCPU silent this long is a hang" },
	{ .name = "--inject", .kind = OPT_CALL, .set = set_inject, .choices = inject_choices,
	  .help = "for testing: after its first pass vCPU 0 raises #UD (reported as exception vector 6), triple-faults, writes to an address no device claims (0xdead0000), or spins silently (a hang after --hang-timeout); corrupt: it flips one bit of its pattern before verifying pass 1 (a mismatch); hostile: every vCPU attacks the VMM for the whole run (random device registers, DMA descriptors, ring indices, doorbells, unclaimed MMIO, exceptions) and the verdict says whether the host survived intact" },
	{ .name = "--help", .short_name = 'h', .kind = OPT_HELP, .help = "print this help and exit" },
};

static void run_defaults(void *target)
{
	struct run_options *o = target;

	memset(o, 0, sizeof(*o));
	o->cfg.cpus = RUN_DEFAULT_CPUS;
	o->cfg.duration_s = RUN_DEFAULT_DURATION_S;
	o->cfg.hang_s = RUN_DEFAULT_HANG_S;
	o->cfg.pin = PIN_AUTO;
	o->cfg.pin_name = "auto";
	o->cfg.validate_interval_ms = RUN_DEFAULT_VALIDATE_MS;
	o->cfg.dma = true;
	o->cfg.dma_queues = RUN_DEFAULT_DMA_QUEUES;
	o->cfg.seccomp = true;
}

const struct opt_command run_command = {
	.name = "run",
	.summary = "boot the built-in stress guest on pinned RAM and validate the pins",
	.description =
		"Boots the built-in stress guest with its RAM on the chosen backing, pins that RAM, "
		"and for --duration seconds lets every vCPU write and verify address-tagged patterns "
		"and drive the DMA engine, which reaches guest RAM only through the pins, while the "
		"validator checks that every page stays pinned at the same frame. Any mismatch, DMA "
		"verify failure, moved or leaked pin, guest exception, triple fault or hang fails.",
	.exit_status =
		"Exit status: 0 PASS, 1 FAIL (mismatch, DMA verify failure, moved, missing or leaked "
		"pin, guest exception or triple fault, hang, interrupted by SIGINT/SIGTERM; every pin "
		"is released first), 2 usage or environment error.",
	.opts = run_opts,
	.nr_opts = sizeof(run_opts) / sizeof(run_opts[0]),
	.target_size = sizeof(struct run_options),
	.defaults = run_defaults,
};

int run_options_parse(int argc, char **argv, struct run_options *o, struct err *e)
{
	int ret;

	run_defaults(o);
	ret = opts_parse(&run_command, argc, argv, o, &o->help, e);
	if (ret)
		return ret;
	if (o->cfg.pin == PIN_NONE)
		o->cfg.dma = false;		/* the device reaches guest RAM only through pins */
	/* --pin auto stays auto: pin_container_open chooses vfio when a device is given. */
	if (o->cfg.pin == PIN_VFIO && !o->cfg.vfio)
		return err_set(e, -EINVAL, "--pin vfio needs a device: add --vfio DDDD:BB:DD.F (a PCI device bound to vfio-pci)");
	if (o->cfg.guest_flags & (o->cfg.guest_flags - 1))
		return err_set(e, -EINVAL, "--inject takes one fault at a time: give it once");
	return 0;
}

void run_options_usage(FILE *out)
{
	opts_usage(&run_command, out);
}
