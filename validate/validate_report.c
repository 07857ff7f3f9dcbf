/* The validator's part of the report: the pin evidence, the frame checks and the timings. */
#include "validate/validate_priv.h"

#include <errno.h>

int validate_fill_report(const struct validate *v, struct report *r)
{
	struct validate_counts n;
	char reason[512];
	bool ok = validate_verdict(v, reason, sizeof(reason));
	int ret = 0;

	validate_get_counts(v, &n);
	ret |= report_set_str(r, "pinning.backend", v->started ? v->backend_name : "none");
	ret |= report_set_str(r, "pinning.backend_why", v->backend_why);
	ret |= report_set_u64(r, "pinning.pinned_pages", n.pinned_pages);
	ret |= report_set_u64(r, "pinning.expected_pages", n.expected_pages);
	ret |= report_set_u64(r, "pinning.page_size", v->unit);
	ret |= report_set_u64(r, "pinning.mapped_bytes", v->mapped_bytes);
	ret |= report_set_str(r, "pinning.evidence", validate_evidence_name(n.evidence));
	ret |= report_set_str(r, "pinning.evidence_why", v->dec.why);
	if (v->began) {
		ret |= report_set_i64(r, "pinning.vmstat_while_pinning.acquired", n.vmstat_pinning_acquired);
		ret |= report_set_i64(r, "pinning.vmstat_while_pinning.released", n.vmstat_pinning_released);
		ret |= report_set_bool(r, "pinning.vmstat_refreshed", v->rd.vmstat_refreshed);
	}
	ret |= report_set_str(r, "pinning.own_counter", v->own_field ? v->own_field : "none");
	if (v->own_field)
		ret |= report_set_i64(r, "pinning.own_counter_while_pinning_kib", n.own_pinning_kib);
	if (v->finished && !v->rd.attached) {
		ret |= report_set_i64(r, "pinning.vmstat_after_unpin.net", n.vmstat_after_unpin_net);
		if (v->own_field && v->rd.own_after_readable)
			ret |= report_set_i64(r, "pinning.own_counter_after_unpin_kib", n.own_after_unpin_kib);
	}
	ret |= report_set_u64(r, "pinning.leaked_pins", n.leaked_pins);
	if (v->rd.attached) {
		ret |= report_set_i64(r, "pinning.vmstat_at_attach.net", v->dec.vm_net_at_attach);
		ret |= report_set_bool(r, "pinning.vmstat_refreshed", v->rd.vmstat_refreshed);
		ret |= report_set_u64(r, "pinning.own_counter_not_pins_kib", v->rd.own_not_pins_kib);
		ret |= report_set_u64(r, "pinning.outside_pins", v->dec.outside_pins);
		if (v->finished) {
			ret |= report_set_i64(r, "pinning.vmstat_after_exit.released", v->dec.exit_released);
			ret |= report_set_i64(r, "pinning.vmstat_after_exit.net", v->dec.vm_after_net);
		}
	}
	ret |= report_set_u64(r, "validation.samples", n.samples);
	ret |= report_set_u64(r, "validation.pages_checked", n.pages_checked);
	ret |= report_set_u64(r, "validation.pfn_changes", n.pfn_changes);
	ret |= report_set_u64(r, "validation.not_present", n.not_present);
	ret |= report_set_u64(r, "validation.outside_devmap", n.outside_devmap);
	ret |= report_set_u64(r, "validation.transient_unmapped", n.transient_unmapped);
	if (v->attached) {
		ret |= report_set_bool(r, "validation.target_exited", n.target_exited);
		ret |= report_set_u64(r, "validation.unmapped_by_target", n.unmapped_by_target);
		ret |= report_set_u64(r, "validation.moved_unpinned", n.moved_unpinned);
	}
	ret |= report_set_u64(r, "validation.interval_ms", v->cfg.interval_ms);
	ret |= report_set_double(r, "validation.sampler_cpu_ms", n.sampler_cpu_ms);
	ret |= report_set_u64(r, "validation.sampler_pages", n.sampler_pages);
	ret |= report_set_double(r, "timing.snapshot_ms", n.snapshot_ms);
	ret |= report_set_bool(r, "validation.passed", ok);
	if (!ok)
		ret |= report_set_str(r, "validation.failure", reason);
	if (v->note[0])
		ret |= report_set_str(r, "validation.note", v->note);
	ret |= report_set_bool(r, "validation.frames_checked", v->started && !v->pfn_hidden);
	if (v->pfn_hidden)
		ret |= report_set_str(r, "validation.skipped", validate_skipped(v));
	ret |= report_set_double(r, "timing.pin_ms", n.pin_ms);
	ret |= report_set_double(r, "timing.unpin_ms", n.unpin_ms);
	return ret ? -EINVAL : 0;
}
