/* The pinning stages of 'daxvm run': open the container, map guest RAM through the region
 * visitor (iova = guest-physical address), run the validator while the guest runs, unpin
 * and check that every pin was released. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/size.h"
#include "vmm/prealloc.h"
#include "vmm/session.h"

/* io_uring needs one registered-buffer slot per GiB of each region (buffers are at most
 * 1 GiB); keep the table small: the kernel scans it per huge page while pinning. */
static unsigned session_pin_slots(const struct run_session *s)
{
	unsigned slots = 0;

	for (unsigned i = 0; i < s->mem.nr_regions; i++)
		slots += (unsigned)((s->mem.regions[i].size + (1ULL << 30) - 1) >> 30);
	return slots + 4;
}

int session_pin(struct run_session *s, struct err *e)
{
	struct pin_options popt = {
		.backend = s->opt->pin,
		.vfio_device = s->opt->vfio,
		.max_mappings = session_pin_slots(s),
	};
	struct validate_config vcfg = {
		.interval_ms = s->opt->validate_interval_ms,
		.devmap = s->backing.devmap,
		.ranges = s->backing.ranges,
		.nr_ranges = s->backing.nr_ranges,
	};
	bool live = isatty(STDOUT_FILENO) && !s->opt->console_path;
	int ret;

	if (s->opt->pin == PIN_NONE)
		return 0;
	if (!backing_longterm_pinnable(s->backing.kind))
		return err_set(e, -EINVAL, "%s cannot be long-term pinned: use a devdax device, a hugetlbfs or tmpfs file, memfd, memfd-huge or anon",
			       s->backing.path);
	ret = pin_container_open(&popt, &s->pins, e);
	if (ret)
		return ret;
	snprintf(s->pin_backend_name, sizeof(s->pin_backend_name), "%s",
		 pin_backend_name(pin_container_backend(s->pins)));
	/* Populated on N threads first, so the pin (timing.pin_ms) only walks present pages. */
	ret = prealloc_backing(&s->backing, s->opt->prealloc_threads, live, s->interrupted,
			       &s->populate, e);
	if (!ret)
		ret = validate_new(&vcfg, &s->validator, e);
	if (!ret)
		ret = validate_begin(s->validator, e);
	/* io_uring pins the 1 GiB pieces on the same threads (pin_uring_parallel.c). */
	pin_container_set_parallel(s->pins, s->opt->prealloc_threads ? s->opt->prealloc_threads : populate_default_threads(),
				   live ? prealloc_pin_progress : NULL, NULL);
	prealloc_pin_line(&s->backing, live && !ret, false);
	if (!ret)
		ret = pin_map_regions(s->pins, session_visit_pin_regions, &s->mem, e);
	prealloc_pin_line(&s->backing, live, true);
	if (!ret)
		ret = validate_start(s->validator, s->pins, e);
	if (!ret)
		s->validating = true;
	return ret;	/* session_close() unpins whatever was mapped */
}

void session_unpin(struct run_session *s)
{
	struct err e = { 0 };
	uint64_t unmapped = 0;

	if (!s->pins || s->unpinned)
		goto close;
	s->unpinned = true;
	/* The device must be quiet before its memory goes away. */
	session_stop_dma(s);
	/* Setup failed before validation started: just release (close below). */
	if (!s->validating)
		goto close;
	if (validate_stop(s->validator, &e) ||
	    pin_unmap_all(s->pins, &unmapped, &e) ||
	    validate_finish(s->validator, &e))
		session_fail(s, "unpinning failed: %s", e.msg);
close:
	pin_container_close(s->pins);	/* releases anything still mapped on error paths */
	s->pins = NULL;
}

int session_pin_report(struct run_session *s, struct report *r)
{
	char reason[512];
	int ret = 0;

	ret |= report_set_str(r, "pinning.requested", s->opt->pin_name);
	if (!s->validator) {
		ret |= report_set_str(r, "pinning.backend", "none");
		ret |= report_set_str(r, "pinning.backend_why",
				      s->opt->pin == PIN_NONE ? "--pin none: guest RAM was not pinned and the DMA device was off"
							      : "pinning did not start");
		return ret ? -EINVAL : 0;
	}
	if (validate_fill_report(s->validator, r))
		ret = -EINVAL;
	ret |= report_set_double(r, "timing.populate_ms", s->populate.ms);
	ret |= report_set_u64(r, "pinning.populate_threads", s->populate.threads);
	ret |= report_set_str(r, "pinning.populate_method", s->populate.method ? s->populate.method : "none");
	if (!validate_verdict(s->validator, reason, sizeof(reason)))
		session_fail(s, "%s", reason);
	return ret ? -EINVAL : 0;
}

void session_pin_summary(struct run_session *s, FILE *out)
{
	struct validate_counts n;
	char a[32], b[32], c[32];

	if (!s->validator) {
		fprintf(out, "  pinning  none (--pin %s): guest RAM was not pinned, no DMA\n", s->opt->pin_name);
		return;
	}
	validate_get_counts(s->validator, &n);
	fprintf(out, "  populate %s on %u thread%s (%s) in %.1f ms\n", size_format(s->backing.size, a, sizeof(a)),
		s->populate.threads, s->populate.threads == 1 ? "" : "s",
		s->populate.method ? s->populate.method : "none", s->populate.ms);
	fprintf(out, "  pinning  %s pages pinned with %s on %s (%s expected) in %.1f ms, unpinned in %.1f ms,\n"
		     "           %s leaked; vmstat +%" PRId64 " acquired, net %" PRId64 " after unpin\n",
		count_format(n.pinned_pages, a, sizeof(a)), s->pin_backend_name, backing_kind_name(s->backing.kind),
		count_format(n.expected_pages, b, sizeof(b)), n.pin_ms, n.unpin_ms,
		count_format(n.leaked_pins, c, sizeof(c)), n.vmstat_acquired_delta, n.vmstat_final_net);
	fprintf(out, "  frames   %s pages checked in %" PRIu64 " samples: %" PRIu64 " moved, %" PRIu64
		     " not present, %" PRIu64 " outside devmap%s\n",
		count_format(n.pages_checked, a, sizeof(a)), n.samples, n.pfn_changes, n.not_present,
		n.outside_devmap, s->backing.devmap ? "" : " (not devdax: range check n/a)");
}
