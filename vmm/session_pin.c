/* The pinning stage of a run: open the container, map guest RAM through the region visitor
 * (iova = guest-physical address), validate while the guest runs, unpin and check that every
 * pin was released. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/session_pin.h"

/* io_uring needs one registered-buffer slot per GiB of each region (buffers are at most
 * 1 GiB); keep the table small: the kernel scans it per huge page while pinning. */
static unsigned pin_slots(const struct guest_mem *mem)
{
	unsigned slots = 0;

	for (unsigned i = 0; i < mem->nr_regions; i++)
		slots += (unsigned)((mem->regions[i].size + (1ULL << 30) - 1) >> 30);
	return slots + 4;
}

int session_visit_pin_regions(void *guest_mem, pin_region_fn fn, void *data)
{
	const struct guest_mem *gm = guest_mem;

	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct guest_mem_region *r = &gm->regions[i];
		struct pin_region pr = { .gpa = r->gpa, .host = r->host, .size = r->size,
					 .page_size = r->page_size };
		int ret = fn(&pr, data);

		if (ret)
			return ret;
	}
	return 0;
}

int session_pin_setup(struct run_session *s, struct err *e)
{
	struct pin_options popt = {
		.backend = s->cfg->pin,
		/* Every passed-through device's group joins the one container. */
		.vfio_device = s->cfg->vfio ? s->cfg->vfio : s->cfg->devices[0],
		.vfio_more = s->cfg->devices,
		.nr_vfio_more = s->cfg->nr_devices,
		.max_mappings = pin_slots(&s->mem),
	};
	struct validate_config vcfg = {
		.interval_ms = s->cfg->validate_interval_ms,
		.devmap = s->backing.devmap,
		.ranges = s->backing.ranges,
		.nr_ranges = s->backing.nr_ranges,
	};
	int ret;

	if (s->cfg->pin == PIN_NONE)
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
	ret = backing_populate(&s->backing, s->cfg->prealloc_threads, s->interrupted, s->on_populate,
			       s->progress_opaque, &s->populate, e);
	if (!ret)
		ret = validate_new(&vcfg, &s->validator, e);
	if (!ret)
		ret = validate_begin(s->validator, e);
	/* io_uring pins the 1 GiB pieces on the same threads (pinning/pin_uring_parallel.c). */
	pin_container_set_parallel(s->pins, s->cfg->prealloc_threads ? s->cfg->prealloc_threads
								: populate_default_threads(),
				   s->on_pin, s->progress_opaque);
	if (!ret)
		ret = pin_map_regions(s->pins, session_visit_pin_regions, &s->mem, e);
	if (!ret)
		ret = validate_start(s->validator, s->pins, e);
	if (!ret)
		s->validating = true;
	return ret;	/* session_pin_undo() unpins whatever was mapped */
}

void session_pin_undo(struct run_session *s)
{
	struct err e = { 0 };
	uint64_t unmapped = 0;

	if (!s->pins)
		return;
	/* Setup failed before validation started: just release. */
	if (s->validating &&
	    (validate_stop(s->validator, &e) || pin_unmap_all(s->pins, &unmapped, &e) ||
	     validate_finish(s->validator, &e)))
		snprintf(s->found.unpin, sizeof(s->found.unpin), "unpinning failed: %.480s", e.msg);
	pin_container_close(s->pins);	/* releases anything still mapped on error paths */
	s->pins = NULL;
	s->gm.pins = NULL;
}

void session_pin_collect(struct run_session *s, struct report *r)
{
	char reason[SESSION_REASON_BYTES];
	int ret = 0;

	ret |= report_set_str(r, "pinning.requested", s->cfg->pin_name ? s->cfg->pin_name : "auto");
	if (!s->validator) {
		ret |= report_set_str(r, "pinning.backend", "none");
		ret |= report_set_str(r, "pinning.backend_why",
				      s->cfg->pin == PIN_NONE ? "pinning none: guest RAM was not pinned and the DMA device was off"
							      : "pinning did not start");
	} else {
		ret |= validate_fill_report(s->validator, r);
		ret |= report_set_double(r, "timing.populate_ms", s->populate.ms);
		ret |= report_set_u64(r, "pinning.populate_threads", s->populate.threads);
		ret |= report_set_str(r, "pinning.populate_method",
				      s->populate.method ? s->populate.method : "none");
		if (!s->validating)
			snprintf(s->found.pins, sizeof(s->found.pins), "the pins were never validated");
		else if (!validate_verdict(s->validator, reason, sizeof(reason)))
			snprintf(s->found.pins, sizeof(s->found.pins), "%s", reason);
	}
	if (ret && !s->found.pins[0])
		snprintf(s->found.pins, sizeof(s->found.pins), "internal error: the report rejected a pinning key");
}

void session_pin_free(struct run_session *s)
{
	validate_free(s->validator);
	s->validator = NULL;
	s->validating = false;
}
