/* daxvm pin-check: map a backing, populate it, pin it, validate the pins over time, unpin and
 * check the release, all without a guest. The pmem lab runs it on real /dev/dax0.0. Populate
 * and pin are daxvm run's own calls (backing_populate, pin_container_set_parallel,
 * pin_map_regions), so bench/ready times run's path with it where no /dev/kvm exists. */
#include <errno.h>
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
#include "memory/populate.h"
#include "pinning/pin.h"
#include "validate/validate.h"
#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "cli/pin_check_options.h"
#include "cli/process_age.h"
#include "cli/ram_progress.h"

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

static void hold(double seconds)
{
	double until = cli_now_ms() + seconds * 1e3;

	while (!cli_stop_signal) {
		double left = until - cli_now_ms();

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
	struct cli_stop_signals stops;
	struct validate_counts n;
	struct check_region region = { .b = &b };
	struct err e = { 0 };
	struct pin_check_options o;
	char reason[512] = "", s1[32], s2[32];
	struct ram_progress rp;
	struct populate_result pres = { .threads = 0, .method = "none" };
	double t0, age_ms, populate_ms = 0, pinned_at_ms = 0;
	uint64_t unmapped = 0;
	int ret, status = EXIT_USAGE;
	bool ok;

	memset(&b, 0, sizeof(b));
	b.fd = -1;
	if (pin_check_options_parse(argc, argv, &o, &e)) {
		fprintf(stderr, "daxvm pin-check: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (o.help) {
		pin_check_options_usage(stdout);
		return EXIT_PASS;
	}
	t0 = cli_now_ms();
	age_ms = process_age_ms();
	cli_stop_signals_install(&stops);
	ram_progress_init(&rp);

	req.spec = o.mem;
	req.size = o.mem_size;
	req.may_grow_pool = true;
	ret = backing_open(&req, &b, &e);
	if (ret) {
		fprintf(stderr, "daxvm pin-check: %s\n", e.msg);
		goto out;
	}
	popt.backend = o.backend;
	popt.vfio_device = o.vfio;
	ret = pin_container_open(&popt, &c, &e);
	if (ret) {
		fprintf(stderr, "daxvm pin-check: %s\n", e.msg);
		goto out;
	}
	/* As daxvm run: populate on N threads (fallocate first on shmem), then pin; 0 threads
	 * leaves the first touch to the pin itself (one thread, the path before populate). */
	if (o.prealloc_threads) {
		ret = backing_populate(&b, o.prealloc_threads, &cli_stop_signal, ram_progress_populate, &rp,
				       &pres, &e);
		if (ret) {
			fprintf(stderr, "daxvm pin-check: %s\n", e.msg);
			if (ret == -EINTR)
				status = EXIT_CHECK_FAILED;	/* SIGINT/SIGTERM: 1, as during the hold */
			goto out;
		}
		populate_ms = pres.ms;
	}
	pin_container_set_parallel(c, o.prealloc_threads ? o.prealloc_threads : 1, ram_progress_pin, &rp);
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
	pinned_at_ms = cli_now_ms();
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
	if (cli_stop_signal) {
		ok = false;
		snprintf(reason, sizeof(reason), "interrupted by %s: pins were released before exiting",
			 cli_stop_signal_name(cli_stop_signal));
	}
	validate_get_counts(v, &n);
	report_set_str(rep, "verdict", ok ? "PASS" : "FAIL");
	if (!ok)
		report_set_str(rep, "reason", reason);
	report_set_str(rep, "command", "pin-check");
	report_set_bool(rep, "interrupted", cli_stop_signal != 0);
	report_set_str(rep, "backing.kind", backing_kind_name(b.kind));
	report_set_str(rep, "backing.path", b.path);
	report_set_bool(rep, "backing.devmap", b.devmap);
	report_set_u64(rep, "backing.size_bytes", b.size);
	report_set_u64(rep, "backing.page_size", b.page_size);
	report_set_str(rep, "backing.why", b.why);
	report_set_double(rep, "timing.populate_ms", populate_ms);
	report_set_u64(rep, "pinning.populate_threads", pres.threads);
	report_set_str(rep, "pinning.populate_method", pres.method);
	report_set_double(rep, "timing.launch_to_pinned_ms", age_ms + (pinned_at_ms - t0));
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
	printf("pin-check: %s %s (%s pages) populated in %.1f ms (%s, %u threads), pinned with %s in %.1f ms, "
	       "unpinned in %.1f ms; launch to pinned %.1f ms\n",
	       backing_kind_name(b.kind), size_format(b.size, s1, sizeof(s1)),
	       size_format(b.page_size, s2, sizeof(s2)), populate_ms, pres.method, pres.threads,
	       pin_backend_name(pin_container_backend(c)), n.pin_ms, n.unpin_ms, age_ms + (pinned_at_ms - t0));
	printf("  pins: %" PRIu64 " held, %" PRIu64 " expected (evidence: %s); vmstat while pinning +%" PRId64
	       " acquired, +%" PRId64 " released; vmstat net after unpin %" PRId64 "; leaked %" PRIu64 "\n",
	       n.pinned_pages, n.expected_pages, validate_evidence_name(n.evidence), n.vmstat_pinning_acquired,
	       n.vmstat_pinning_released, n.vmstat_after_unpin_net, n.leaked_pins);
	printf("  frames: %" PRIu64 " samples, %" PRIu64 " pages checked, %" PRIu64 " moved, %" PRIu64
	       " not present, %" PRIu64 " outside devmap\n",
	       n.samples, n.pages_checked, n.pfn_changes, n.not_present, n.outside_devmap);
	if (validate_skipped(v))
		printf("  not checked without privilege: %s\n", validate_skipped(v));
	printf("%s%s%s\n", ok ? "PASS" : "FAIL", ok ? "" : ": ", ok ? "" : reason);
out:
	pin_container_close(c);	/* unpins whatever is still mapped */
	validate_free(v);
	report_free(rep);
	backing_close(&b);
	cli_stop_signals_restore(&stops);
	return status;
}
