/* daxvm pin-check: map a backing, touch it, pin it, validate the pins over time, unpin and
 * check the release, all without a guest. The pmem lab runs it on real /dev/dax0.0. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/report.h"
#include "common/size.h"
#include "memory/backing.h"
#include "pinning/pin.h"
#include "validate/validate.h"
#include "cli/commands.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: daxvm pin-check [OPTIONS]\n"
		"\n"
		"Maps guest-RAM backing memory, touches it, pins it for device DMA, validates the pins\n"
		"while it holds them, unpins, and checks that every pin was released. No guest runs.\n"
		"\n"
		"options:\n"
		"  --mem BACKING            /dev/daxX.Y, a hugetlbfs or tmpfs file, memfd, memfd-huge or\n"
		"                           anon (default: the first devdax device, else the best stand-in)\n"
		"  --mem-size SIZE          bytes to map, e.g. 512M, 2G (default: the device size for\n"
		"                           devdax, else the backing's default)\n"
		"  --pin BACKEND            auto, io_uring, vfio, iommufd or none (default auto: vfio when\n"
		"                           --vfio is given, else io_uring; iommufd pins only while a device\n"
		"                           is attached to its IOAS, which pin-check does not do)\n"
		"  --vfio ADDR              PCI device (DDDD:BB:DD.F) whose IOMMU group the vfio container uses\n"
		"  --hold SEC               how long to hold the pins while sampling (default 1; fractions ok)\n"
		"  --validate-interval MS   PFN sampling period (default 100; 0 = snapshot and final sweep only)\n"
		"  --window PAGES           pages re-checked per sample (default 65536; a full sweep of a big\n"
		"                           backing takes several samples)\n"
		"  --report FILE.json       write the JSON report (backing.*, pinning.*, validation.*, timing.*)\n"
		"  -h, --help               show this help\n"
		"\n"
		"Checks: pin counts (this process's VmPin/VmLck exactly, /proc/vmstat nr_foll_pin_acquired at\n"
		"least the pages pinned), every backing page present at an unchanged PFN, devdax PFNs inside the\n"
		"device's physical ranges, and no pin left after unpinning. Needs root for PFNs and vm.stat_refresh.\n"
		"\n"
		"Exit status: 0 every check held, 1 a check failed (or SIGINT/SIGTERM: pins are released\n"
		"first), 2 usage or environment error.\n");
}

struct opts {
	const char *mem, *vfio, *report;
	uint64_t mem_size, window;
	enum pin_backend backend;
	double hold_s;
	unsigned interval_ms;
};

static int parse_u64(const char *opt, const char *arg, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-') {
		fprintf(stderr, "daxvm pin-check: %s '%s' is not a whole number\n", opt, arg);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },      { "mem-size", required_argument, NULL, 's' },
		{ "pin", required_argument, NULL, 'p' },      { "vfio", required_argument, NULL, 'v' },
		{ "hold", required_argument, NULL, 'H' },     { "validate-interval", required_argument, NULL, 'i' },
		{ "window", required_argument, NULL, 'w' },   { "report", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },	      { 0 },
	};
	uint64_t u;
	char *end;
	int ch;

	*o = (struct opts){ .backend = PIN_AUTO, .hold_s = 1.0, .interval_ms = 100 };
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			o->mem = optarg;
			break;
		case 's':
			if (size_parse(optarg, &o->mem_size) || !o->mem_size) {
				fprintf(stderr, "daxvm pin-check: --mem-size '%s' is not a size: use e.g. 256M or 2G\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'p':
			if (pin_backend_parse(optarg, &o->backend) || o->backend == PIN_MOCK) {
				fprintf(stderr, "daxvm pin-check: --pin '%s' is unknown: use auto, io_uring, vfio, iommufd or none\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'v':
			o->vfio = optarg;
			break;
		case 'H':
			errno = 0;
			o->hold_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->hold_s >= 0) || o->hold_s > 86400 * 7) {
				fprintf(stderr, "daxvm pin-check: --hold '%s' is not a number of seconds (0 to 604800)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'i':
			if (parse_u64("--validate-interval", optarg, &u))
				return -EINVAL;
			if (u > 3600000) {
				fprintf(stderr, "daxvm pin-check: --validate-interval %s ms is over an hour\n", optarg);
				return -EINVAL;
			}
			o->interval_ms = (unsigned)u;
			break;
		case 'w':
			if (parse_u64("--window", optarg, &o->window) || !o->window) {
				if (!o->window)
					fprintf(stderr, "daxvm pin-check: --window must be at least 1 page\n");
				return -EINVAL;
			}
			break;
		case 'r':
			o->report = optarg;
			break;
		case 'h':
			return 1;
		case ':':
			fprintf(stderr, "daxvm pin-check: %s needs a value (see daxvm pin-check --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "daxvm pin-check: unknown option '%s' (see daxvm pin-check --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "daxvm pin-check: unexpected argument '%s' (see daxvm pin-check --help)\n",
			argv[optind]);
		return -EINVAL;
	}
	if (o->vfio && o->backend != PIN_VFIO && o->backend != PIN_AUTO) {
		fprintf(stderr, "daxvm pin-check: --vfio only applies to --pin vfio or auto\n");
		return -EINVAL;
	}
	if (o->backend == PIN_NONE) {
		fprintf(stderr, "daxvm pin-check: --pin none pins nothing, so there is nothing to check: "
				"choose auto, io_uring, vfio or iommufd\n");
		return -EINVAL;
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

struct check_region {
	const struct backing *b;
	uint64_t iova;		/* where the backing appears to the device */
};

static int visit_backing(void *opaque, pin_region_fn fn, void *data)
{
	const struct check_region *cr = opaque;
	struct pin_region r = { .gpa = cr->iova, .host = cr->b->host, .size = cr->b->size,
				.page_size = cr->b->page_size };

	return fn(&r, data);
}

/* The lowest IOVA, aligned to the backing page, in a usable range that holds the whole
 * backing (a real IOMMU reserves holes such as the MSI window at 0xfee00000). */
static int choose_iova(struct pin_container *c, const struct backing *b, uint64_t *iova, struct err *e)
{
	struct pin_info info;
	uint64_t align = b->page_size > 4096 ? b->page_size : 4096;
	char sz[32];

	pin_get_info(c, &info);
	if (!info.nr_iova_ranges) {
		*iova = 0;
		return 0;
	}
	for (unsigned i = 0; i < info.nr_iova_ranges; i++) {
		uint64_t start = (info.iova_ranges[i].start + align - 1) & ~(align - 1);

		if (start >= info.iova_ranges[i].start && start <= info.iova_ranges[i].end &&
		    info.iova_ranges[i].end - start >= b->size - 1) {
			*iova = start;
			return 0;
		}
	}
	return err_set(e, -ENOSPC, "no usable IOVA range of the %s backend holds %s: use a smaller --mem-size",
		       pin_backend_name(pin_container_backend(c)), size_format(b->size, sz, sizeof(sz)));
}

/* Writes every 4 KiB so each backing page is faulted in before pinning. */
static void touch(const struct backing *b)
{
	volatile char *p = b->host;

	for (uint64_t off = 0; off < b->size; off += 4096)
		p[off] = (char)(off >> 12);
}

static void install_signals(struct sigaction *old_int, struct sigaction *old_term)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, old_int);
	sigaction(SIGTERM, &sa, old_term);
}

static void hold(double seconds)
{
	double until = now_ms() + seconds * 1e3;

	while (!stop_signal) {
		double left = until - now_ms();

		if (left <= 0)
			break;
		usleep(left > 50 ? 50000 : (useconds_t)(left * 1e3));
	}
}

int cmd_pin_check(int argc, char **argv)
{
	struct backing b;
	struct backing_request req = { 0 };
	struct pin_options popt = { 0 };
	struct pin_container *c = NULL;
	struct validate *v = NULL;
	struct validate_config vcfg = { 0 };
	struct report *rep = NULL;
	struct sigaction old_int, old_term;
	struct validate_counts n;
	struct check_region region = { .b = &b };
	struct err e = { 0 };
	struct opts o;
	char reason[512] = "", s1[32], s2[32];
	double t0, touch_ms;
	uint64_t unmapped = 0;
	int ret, status = EXIT_USAGE;
	bool ok;

	memset(&b, 0, sizeof(b));
	b.fd = -1;
	ret = parse_args(argc, argv, &o);
	if (ret > 0) {
		usage(stdout);
		return EXIT_PASS;
	}
	if (ret < 0)
		return EXIT_USAGE;
	stop_signal = 0;
	install_signals(&old_int, &old_term);

	req.spec = o.mem;
	req.size = o.mem_size;
	req.may_grow_pool = true;
	ret = backing_open(&req, &b, &e);
	if (ret) {
		fprintf(stderr, "daxvm pin-check: %s\n", e.msg);
		goto out;
	}
	t0 = now_ms();
	touch(&b);
	touch_ms = now_ms() - t0;

	popt.backend = o.backend;
	popt.vfio_device = o.vfio;
	ret = pin_container_open(&popt, &c, &e);
	if (ret) {
		fprintf(stderr, "daxvm pin-check: %s\n", e.msg);
		goto out;
	}
	vcfg.interval_ms = o.interval_ms;
	vcfg.window_pages = o.window;
	vcfg.devmap = b.devmap;
	vcfg.ranges = b.ranges;
	vcfg.nr_ranges = b.nr_ranges;
	rep = report_new();
	if (!rep || validate_new(&vcfg, &v, &e) || validate_begin(v, &e)) {
		fprintf(stderr, "daxvm pin-check: %s\n", e.msg[0] ? e.msg : "out of memory");
		goto out;
	}
	ret = choose_iova(c, &b, &region.iova, &e);
	if (!ret)
		ret = pin_map_regions(c, visit_backing, &region, &e);
	if (ret) {
		fprintf(stderr, "daxvm pin-check: %s\n", e.msg);
		goto out;
	}
	ret = validate_start(v, c, &e);
	if (ret) {
		fprintf(stderr, "daxvm pin-check: %s\n", e.msg);
		goto out;	/* pin_container_close below unpins */
	}
	hold(o.hold_s);
	ret = validate_stop(v, &e);
	if (!ret)
		ret = pin_unmap_all(c, &unmapped, &e);
	if (!ret)
		ret = validate_finish(v, &e);
	if (ret) {
		fprintf(stderr, "daxvm pin-check: %s\n", e.msg);
		goto out;
	}

	ok = validate_verdict(v, reason, sizeof(reason));
	if (stop_signal) {
		ok = false;
		snprintf(reason, sizeof(reason), "interrupted by %s: pins were released before exiting",
			 stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
	}
	validate_get_counts(v, &n);
	report_set_str(rep, "verdict", ok ? "PASS" : "FAIL");
	if (!ok)
		report_set_str(rep, "reason", reason);
	report_set_str(rep, "command", "pin-check");
	report_set_bool(rep, "interrupted", stop_signal != 0);
	report_set_str(rep, "backing.kind", backing_kind_name(b.kind));
	report_set_str(rep, "backing.path", b.path);
	report_set_bool(rep, "backing.devmap", b.devmap);
	report_set_u64(rep, "backing.size_bytes", b.size);
	report_set_u64(rep, "backing.page_size", b.page_size);
	report_set_str(rep, "backing.why", b.why);
	report_set_double(rep, "timing.touch_ms", touch_ms);
	report_set_u64(rep, "pinning.iova", region.iova);
	report_set_double(rep, "timing.hold_ms", o.hold_s * 1e3);
	validate_fill_report(v, rep);
	if (o.report && report_write_file(rep, o.report)) {
		fprintf(stderr, "daxvm pin-check: cannot write the report to %s: %s\n", o.report, strerror(errno));
		ok = false;
		status = EXIT_USAGE;
	} else {
		status = ok ? EXIT_PASS : EXIT_CHECK_FAILED;
	}
	printf("pin-check: %s %s (%s pages) pinned with %s in %.1f ms, unpinned in %.1f ms\n",
	       backing_kind_name(b.kind), size_format(b.size, s1, sizeof(s1)),
	       size_format(b.page_size, s2, sizeof(s2)), pin_backend_name(pin_container_backend(c)),
	       n.pin_ms, n.unpin_ms);
	printf("  pins: %" PRIu64 " held, %" PRIu64 " expected (evidence: %s); vmstat while pinning +%" PRId64
	       " acquired, +%" PRId64 " released; vmstat net after unpin %" PRId64 "; leaked %" PRIu64 "\n",
	       n.pinned_pages, n.expected_pages, validate_evidence_name(n.evidence), n.vmstat_pinning_acquired,
	       n.vmstat_pinning_released, n.vmstat_after_unpin_net, n.leaked_pins);
	printf("  frames: %" PRIu64 " samples, %" PRIu64 " pages checked, %" PRIu64 " moved, %" PRIu64
	       " not present, %" PRIu64 " outside devmap\n",
	       n.samples, n.pages_checked, n.pfn_changes, n.not_present, n.outside_devmap);
	printf("%s%s%s\n", ok ? "PASS" : "FAIL", ok ? "" : ": ", ok ? "" : reason);
out:
	pin_container_close(c);	/* unpins whatever is still mapped */
	validate_free(v);
	report_free(rep);
	backing_close(&b);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return status;
}
