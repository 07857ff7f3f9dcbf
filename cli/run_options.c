/* 'daxvm run': its option table, defaults and the checks that span options. */
#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "guest/abi.h"
#include "cli/cli_opts.h"
#include "cli/run_options.h"
#include "pinning/pin.h"
#include "common/size.h"
#include "vmm/linux_guest.h"

/* For the help text: the command line daxvm gives a Linux guest, and its boot silence bound. */
#define LINUX_CMDLINE_BASE_TEXT LINUX_CMDLINE_BASE
#define LINUX_BOOT_SILENCE_S_INT 30
_Static_assert(LINUX_BOOT_SILENCE_S == LINUX_BOOT_SILENCE_S_INT, "the help names the boot silence bound");

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

/* --seccomp probe: on, and each vCPU thread makes one forbidden call once filtered (the
 * positive control that the filter traps and the run reports it). */
static size_t seccomp_choices(const char **names, size_t max)
{
	if (max < 3)
		return 0;
	names[0] = "on";
	names[1] = "off";
	names[2] = "probe";
	return 3;
}

static int set_seccomp(const struct opt *o, void *target, const char *val, struct err *e)
{
	struct run_options *ro = target;

	if (strcmp(val, "on") && strcmp(val, "off") && strcmp(val, "probe"))
		return opts_choice_error(o, val, "a seccomp mode", e);
	ro->cfg.seccomp = strcmp(val, "off") != 0;
	ro->cfg.seccomp_probe = !strcmp(val, "probe");
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

/* --device vfio-pci,host=DDDD:BB:DD.F, as QEMU spells it (host=BB:DD.F means domain 0000). */
static int set_device(const struct opt *o, void *target, const char *val, struct err *e)
{
	struct run_options *ro = target;
	const char *host = strstr(val, ",host=");
	char addr[32];

	if (strncmp(val, "vfio-pci,", 9) || !host || strchr(host + 6, ','))
		return err_set(e, -EINVAL, "%s '%s': only passthrough is offered, written %s vfio-pci,host=DDDD:BB:DD.F",
			       o->name, val, o->name);
	snprintf(addr, sizeof(addr), "%s%s", strlen(host + 6) == 7 ? "0000:" : "", host + 6);
	if (!pin_vfio_address_valid(addr))
		return err_set(e, -EINVAL, "%s '%s': host=%s is not a PCI address: use the sysfs form DDDD:BB:DD.F, such as 0000:00:03.0 (lspci -D)",
			       o->name, val, host + 6);
	for (unsigned i = 0; i < ro->cfg.nr_devices; i++)
		if (!strcmp(ro->cfg.devices[i], addr))
			return err_set(e, -EINVAL, "%s: %s is given twice: pass each device once", o->name, addr);
	if (ro->cfg.nr_devices == RUN_MAX_DEVICES)
		return err_set(e, -EINVAL, "%s: at most %d devices can be passed through", o->name, RUN_MAX_DEVICES);
	memcpy(ro->device_addr[ro->cfg.nr_devices], addr, sizeof(ro->device_addr[0]));	/* valid: 12 chars */
	ro->cfg.devices[ro->cfg.nr_devices] = ro->device_addr[ro->cfg.nr_devices];
	ro->cfg.nr_devices++;
	return 0;
}

/* --pmem PATH[,size=SIZE][,offset=OFF] */
static int set_pmem(const struct opt *o, void *target, const char *val, struct err *e)
{
	struct run_options *ro = target;
	char *copy = strdup(val), *save = NULL, *part;
	int ret = 0;

	if (!copy)
		return err_set(e, -ENOMEM, "out of memory parsing %s", o->name);
	part = strtok_r(copy, ",", &save);
	if (!part || !*part || strchr(part, '=') ||
	    (!strchr(part, '/') && strcmp(part, "memfd") && strcmp(part, "memfd-huge"))) {
		free(copy);
		return err_set(e, -EINVAL, "%s '%s' does not start with a path (a device, a file with a '/', memfd or memfd-huge): give %s PATH[,size=SIZE][,offset=OFF]",
			       o->name, val, o->name);
	}
	free(ro->pmem_path_buf);	/* given twice: the last wins */
	ro->pmem_path_buf = strdup(part);
	ro->cfg.pmem_path = ro->pmem_path_buf;
	while (!ret && (part = strtok_r(NULL, ",", &save))) {
		uint64_t v = 0;

		if (!strncmp(part, "size=", 5) && size_parse(part + 5, &v) == 0 && v) {
			ro->cfg.pmem_size = v;
		} else if (!strncmp(part, "offset=", 7) && size_parse(part + 7, &v) == 0) {
			ro->cfg.pmem_offset = v;
		} else {
			ret = err_set(e, -EINVAL, "%s: '%s' is neither size=SIZE (such as 64M) nor offset=OFF: give %s PATH[,size=SIZE][,offset=OFF]",
				      o->name, part, o->name);
		}
	}
	free(copy);
	return ret;
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
	{ .name = "--device", .value = "vfio-pci,host=ADDR", .kind = OPT_CALL, .set = set_device,
	  .help = "pass the PCI device ADDR (DDDD:BB:DD.F, bound to vfio-pci) through to the guest on its PCI bus 0; repeatable; its IOMMU group joins the vfio container, which maps all guest RAM at its guest-physical address" },
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
	{ .name = "--seccomp", .kind = OPT_CALL, .set = set_seccomp, .choices = seccomp_choices,
	  .help = "after set-up, vCPU and DMA queue threads run under a system call filter; a forbidden call is refused and fails the run, naming it (probe: each vCPU thread makes one on purpose)",
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
	/* A Linux guest instead of the built-in one (issue 10); QEMU's names. */
	{ .name = "--kernel", .value = "BZIMAGE", .kind = OPT_STR, .off = CFG(kernel),
	  .help = "boot this Linux bzImage (boot protocol 2.12+, 64-bit) instead of the built-in stress guest, on the same pinned and validated RAM; its tool reports through ports 0x501/0x510/0x514 and a DAXVM-GUEST-RESULT console line; the run fails on a failed or missing verdict, a mismatch, a reboot (a panic reboots: panic=-1) or a triple fault; silence counts as a hang only after " STR(LINUX_BOOT_SILENCE_S_INT) " s before /init reports. Refused on kvm-pvm, which cannot boot Linux",
	  .fix = "a bzImage such as /boot/vmlinuz-$(uname -r)" },
	{ .name = "--initrd", .value = "FILE", .kind = OPT_STR, .off = CFG(initrd),
	  .help = "the initramfs for --kernel, placed as high in RAM below 3 GiB as the kernel allows",
	  .def = "daxvm's own initramfs, whose /init is the in-guest stress tool (built next to daxvm)",
	  .fix = "a cpio archive" },
	{ .name = "--append", .value = "CMDLINE", .kind = OPT_STR, .off = CFG(append),
	  .help = "text appended to the kernel command line daxvm gives --kernel: \"" LINUX_CMDLINE_BASE_TEXT " daxvm_duration=<--duration> daxvm_threads=<--cpus>\" (later values win); the whole line must fit the kernel's cmdline_size",
	  .fix = "kernel parameters such as \"quiet\"" },
	{ .name = "--pmem", .value = "PATH[,size=SIZE][,offset=OFF]", .kind = OPT_CALL, .set = set_pmem,
	  .help = "with --kernel: show part of a device or file to the guest as persistent memory (e820 type 12, /dev/pmem0 through nd_e820), above RAM, pinned and validated like RAM: the --mem device itself after guest RAM (offset defaults to --mem-size, which it must not undercut), or a stand-in (memfd, a tmpfs or hugetlbfs file) when RAM is one; offset and size are multiples of 2 MiB and of the backing's alignment",
	  .def = "none; size: to the end of the device or file" },
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
	o->cfg.pmem_offset = RUN_PMEM_OFFSET_AUTO;
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
	if (o->cfg.pin == PIN_VFIO && !o->cfg.vfio && !o->cfg.nr_devices)
		return err_set(e, -EINVAL, "--pin vfio needs a device: add --vfio DDDD:BB:DD.F (a PCI device bound to vfio-pci)");
	if (o->cfg.nr_devices && o->cfg.pin != PIN_VFIO && o->cfg.pin != PIN_AUTO)
		return err_set(e, -EINVAL, "--device needs the vfio container (the device DMAs through it): use --pin vfio or leave --pin out");
	if (o->cfg.guest_flags & (o->cfg.guest_flags - 1))
		return err_set(e, -EINVAL, "--inject takes one fault at a time: give it once");
	if (!o->cfg.kernel && (o->cfg.initrd || o->cfg.append || o->cfg.pmem_path))
		return err_set(e, -EINVAL, "%s needs --kernel: it belongs to a Linux guest",
			       o->cfg.initrd ? "--initrd" : o->cfg.append ? "--append" : "--pmem");
	if (o->cfg.kernel && (o->cfg.guest_flags || o->cfg.work_bytes))
		return err_set(e, -EINVAL, "%s is for the built-in stress guest, not --kernel: drop it",
			       o->cfg.guest_flags ? "--inject" : "--work-size");
	/* A Linux guest has no DMA engine yet (passed-through devices come with issue 11). */
	if (o->cfg.kernel)
		o->cfg.dma = false;
	return 0;
}

void run_options_usage(FILE *out)
{
	opts_usage(&run_command, out);
}
