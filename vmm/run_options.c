/* 'daxvm run' option parsing: "--opt VALUE" and "--opt=VALUE", nothing positional. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/size.h"
#include "guest/abi.h"
#include "vmm/run_options.h"

void run_options_usage(FILE *out)
{
	fprintf(out,
		"usage: daxvm run [OPTIONS]\n"
		"\n"
		"Boots the built-in stress guest with its RAM on the chosen backing, pins that RAM,\n"
		"and for --duration seconds lets every vCPU write and verify address-tagged patterns\n"
		"and drive the DMA engine, which reaches guest RAM only through the pins, while the\n"
		"validator checks that every page stays pinned at the same frame. Any mismatch, DMA\n"
		"verify failure, moved or leaked pin, guest exception, triple fault or hang fails.\n"
		"\n"
		"options:\n"
		"  --mem PATH|memfd|memfd-huge|anon\n"
		"                     guest RAM backing: a /dev/daxX.Y device, a file on hugetlbfs\n"
		"                     or tmpfs, or memfd / memfd-huge (2 MiB hugetlb) / anon\n"
		"                     (default: the first devdax device, else the best stand-in)\n"
		"  --mem-size SIZE    guest RAM with K/M/G suffix, a multiple of 2 MiB and of the\n"
		"                     backing's alignment (default: the device size for devdax, else\n"
		"                     the backing's default); RAM above 3 GiB is placed at 4 GiB\n"
		"  --grow-pool        memfd-huge: when the hugetlb pool has too few free pages,\n"
		"                     grow it for the run (root) and give the pages back at exit\n"
		"                     (default: never touch the pool; say how to grow it)\n"
		"  --prealloc-threads N\n"
		"                     threads that populate guest RAM before it is pinned and,\n"
		"                     on io_uring, pin it a GiB each; 1 to 256, as QEMU's\n"
		"                     prealloc-threads (default: the CPU count)\n"
		"  --work-size SIZE   bytes each vCPU writes and verifies per pass, from the start\n"
		"                     of its equal share of RAM (default: the whole share; RAM\n"
		"                     above 2 MiB is shared out); smaller is quicker on big RAM\n"
		"  --cpus N           vCPUs, 1 to %d and at most KVM's limit (default %d)\n"
		"  --duration SEC     seconds the workload runs, fractions allowed (default %.0f);\n"
		"                     every vCPU completes at least one pass\n"
		"  --pin auto|io_uring|vfio|iommufd|none\n"
		"                     pinning backend (default auto: vfio with --vfio, else\n"
		"                     io_uring registered buffers; iommufd only when asked, as an\n"
		"                     IOAS pins nothing until a device is attached); none runs\n"
		"                     the guest unpinned and without DMA\n"
		"  --vfio ADDR        PCI device (DDDD:BB:DD.F) whose IOMMU group the vfio backend\n"
		"                     attaches; implies --pin vfio under auto\n"
		"  --validate-interval MS\n"
		"                     how often the validator re-reads the pinned frames (default %d)\n"
		"  --dma on|off       run the DMA stress through the pins (default on; off with\n"
		"                     --pin none)\n"
		"  --dma-queues N     DMA device threads, 1 to 8 (default %d)\n"
		"  --dma-media PATH   the DMA device's media: an existing file or block device,\n"
		"                     OVERWRITTEN (default: a 64 MiB memfd)\n"
		"  --report FILE.json write the JSON report there (written on PASS and FAIL)\n"
		"  --console FILE     guest console output to FILE instead of stdout\n"
		"  --hang-timeout SEC a vCPU silent this long is a hang (default %.0f)\n"
		"  --inject ud|triple-fault|bad-mmio|hang|corrupt\n"
		"                     for testing: after its first pass vCPU 0 raises #UD\n"
		"                     (reported as exception vector 6), triple-faults, writes\n"
		"                     to an address no device claims (0xdead0000), or spins\n"
		"                     silently (a hang after --hang-timeout); corrupt: it flips\n"
		"                     one bit of its pattern before verifying pass 1 (a mismatch)\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit status: 0 PASS, 1 FAIL (mismatch, DMA verify failure, moved, missing or\n"
		"leaked pin, guest exception or triple fault, hang, interrupted by SIGINT/SIGTERM;\n"
		"every pin is released first), 2 usage or environment error.\n",
		GUEST_MAX_CPUS, RUN_DEFAULT_CPUS, RUN_DEFAULT_DURATION_S, RUN_DEFAULT_VALIDATE_MS,
		RUN_DEFAULT_DMA_QUEUES, RUN_DEFAULT_HANG_S);
}

static int parse_seconds(const char *opt, const char *text, double *out, struct err *e)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(v) || v <= 0 || v > 1e6)
		return err_set(e, -EINVAL, "%s '%s' is not a number of seconds: give a positive number such as 1 or 0.5",
			       opt, text);
	*out = v;
	return 0;
}

static int parse_count(const char *opt, const char *text, unsigned long min, unsigned long max,
		       unsigned *out, struct err *e)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || n < min || n > max)
		return err_set(e, -EINVAL, "%s '%s' is not a whole number from %lu to %lu: give one such as %lu",
			       opt, text, min, max, min);
	*out = (unsigned)n;
	return 0;
}

static int parse_pin(const char *text, enum pin_backend *out, struct err *e)
{
	static const struct { const char *name; enum pin_backend b; } names[] = {
		{ "auto", PIN_AUTO }, { "io_uring", PIN_IO_URING }, { "vfio", PIN_VFIO },
		{ "iommufd", PIN_IOMMUFD }, { "none", PIN_NONE },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(text, names[i].name)) {
			*out = names[i].b;
			return 0;
		}
	}
	return err_set(e, -EINVAL, "--pin '%s' is not a pinning backend: use auto, io_uring, vfio, iommufd or none",
		       text);
}

static int parse_one(struct run_options *o, const char *opt, const char *val, struct err *e)
{
	if (!strcmp(opt, "--mem")) {
		if (!*val)
			return err_set(e, -EINVAL, "--mem is empty: give a path, memfd, memfd-huge or anon");
		o->mem = val;
	} else if (!strcmp(opt, "--mem-size")) {
		if (size_parse(val, &o->mem_size) || o->mem_size == 0)
			return err_set(e, -EINVAL, "--mem-size '%s' is not a size: use a number with K, M or G, such as 512M",
				       val);
	} else if (!strcmp(opt, "--work-size")) {
		if (size_parse(val, &o->work_bytes) || o->work_bytes == 0)
			return err_set(e, -EINVAL, "--work-size '%s' is not a size: use a number with K, M or G, such as 256M",
				       val);
	} else if (!strcmp(opt, "--cpus")) {
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(val, &end, 10);
		if (errno || end == val || *end || val[0] == '-')
			return err_set(e, -EINVAL, "--cpus '%s' is not a number: give a count such as 2", val);
		if (n == 0 || n > GUEST_MAX_CPUS)
			return err_set(e, -EINVAL, "--cpus %s is out of range: use 1 to %d", val, GUEST_MAX_CPUS);
		o->cpus = (unsigned)n;
	} else if (!strcmp(opt, "--duration")) {
		return parse_seconds(opt, val, &o->duration_s, e);
	} else if (!strcmp(opt, "--hang-timeout")) {
		return parse_seconds(opt, val, &o->hang_s, e);
	} else if (!strcmp(opt, "--report")) {
		if (!*val)
			return err_set(e, -EINVAL, "--report is empty: give a file name such as report.json");
		o->report_path = val;
	} else if (!strcmp(opt, "--console")) {
		if (!*val)
			return err_set(e, -EINVAL, "--console is empty: give a file name");
		o->console_path = val;
	} else if (!strcmp(opt, "--pin")) {
		o->pin_name = val;
		return parse_pin(val, &o->pin, e);
	} else if (!strcmp(opt, "--vfio")) {
		if (!pin_vfio_address_valid(val))
			return err_set(e, -EINVAL, "--vfio '%s' is not a PCI address: use the sysfs form DDDD:BB:DD.F, such as 0000:00:03.0",
				       val);
		o->vfio = val;
	} else if (!strcmp(opt, "--validate-interval")) {
		return parse_count(opt, val, 1, 60000, &o->validate_interval_ms, e);
	} else if (!strcmp(opt, "--prealloc-threads")) {
		return parse_count(opt, val, 1, 256, &o->prealloc_threads, e);
	} else if (!strcmp(opt, "--dma-queues")) {
		return parse_count(opt, val, 1, 8, &o->dma_queues, e);
	} else if (!strcmp(opt, "--dma-media")) {
		if (!*val)
			return err_set(e, -EINVAL, "--dma-media is empty: give a file or block device path");
		o->dma_media = val;
	} else if (!strcmp(opt, "--dma")) {
		if (strcmp(val, "on") && strcmp(val, "off"))
			return err_set(e, -EINVAL, "--dma '%s' is neither on nor off: use --dma on or --dma off", val);
		o->dma = !strcmp(val, "on");
	} else if (!strcmp(opt, "--inject")) {
		if (!strcmp(val, "ud"))
			o->guest_flags |= GUEST_F_INJECT_UD;
		else if (!strcmp(val, "triple-fault"))
			o->guest_flags |= GUEST_F_TRIPLE_FAULT;
		else if (!strcmp(val, "bad-mmio"))
			o->guest_flags |= GUEST_F_BAD_MMIO;
		else if (!strcmp(val, "hang"))
			o->guest_flags |= GUEST_F_HANG;
		else if (!strcmp(val, "corrupt"))
			o->guest_flags |= GUEST_F_CORRUPT;
		else
			return err_set(e, -EINVAL, "--inject '%s' is unknown: use ud, triple-fault, bad-mmio, hang or corrupt", val);
	} else {
		return err_set(e, -EINVAL, "unknown option '%s': see daxvm run --help", opt);
	}
	return 0;
}

static bool takes_value(const char *opt)
{
	static const char *const with_value[] = {
		"--mem", "--mem-size", "--work-size", "--cpus", "--duration", "--hang-timeout", "--report",
		"--console", "--pin", "--inject", "--vfio", "--validate-interval", "--dma",
		"--dma-queues", "--dma-media", "--prealloc-threads",
	};

	for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
		if (!strcmp(opt, with_value[i]))
			return true;
	return false;
}

int run_options_parse(int argc, char **argv, struct run_options *o, struct err *e)
{
	memset(o, 0, sizeof(*o));
	o->cpus = RUN_DEFAULT_CPUS;
	o->duration_s = RUN_DEFAULT_DURATION_S;
	o->hang_s = RUN_DEFAULT_HANG_S;
	o->pin = PIN_AUTO;
	o->pin_name = "auto";
	o->validate_interval_ms = RUN_DEFAULT_VALIDATE_MS;
	o->dma = true;
	o->dma_queues = RUN_DEFAULT_DMA_QUEUES;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		char opt[32];
		int ret;

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			o->help = true;
			continue;
		}
		if (!strcmp(arg, "--grow-pool")) {
			o->grow_pool = true;
			continue;
		}
		if (strncmp(arg, "--", 2) || (eq ? (size_t)(eq - arg) : strlen(arg)) >= sizeof(opt))
			return err_set(e, -EINVAL, "unexpected argument '%s': see daxvm run --help", arg);
		if (eq) {
			memcpy(opt, arg, (size_t)(eq - arg));
			opt[eq - arg] = '\0';
		} else {
			strcpy(opt, arg);
		}
		if (!takes_value(opt))
			return err_set(e, -EINVAL, "unknown option '%s': see daxvm run --help", opt);
		if (!eq && i + 1 >= argc)
			return err_set(e, -EINVAL, "%s needs a value: see daxvm run --help", opt);
		ret = parse_one(o, opt, eq ? eq + 1 : argv[++i], e);
		if (ret)
			return ret;
	}
	if (o->pin == PIN_NONE)
		o->dma = false;		/* the device reaches guest RAM only through pins */
	if (o->vfio && o->pin == PIN_AUTO)
		o->pin = PIN_VFIO;
	if (o->pin == PIN_VFIO && !o->vfio)
		return err_set(e, -EINVAL, "--pin vfio needs a device: add --vfio DDDD:BB:DD.F (a PCI device bound to vfio-pci)");
	if (o->guest_flags & (o->guest_flags - 1))
		return err_set(e, -EINVAL, "--inject takes one fault at a time: give it once");
	return 0;
}
