/* The human summary of 'daxvm inspect', written from the JSON report alone (as run's), so the
 * two never disagree. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/inspect_report.h"
#include "common/size.h"
#include "cli/report_read.h"

static void mappings(const struct report *r, FILE *out)
{
	static const char *const roles[] = { "ram", "nvdimm" };
	char k[128], name[16], a[32], b[32], c[32];

	for (unsigned role = 0; role < 2; role++) {
		for (unsigned i = 0; i < 16; i++) {
			snprintf(k, sizeof(k), "target.mappings.%s%u.promised.origin", roles[role], i);
			if (!report_get_str(r, k))
				break;
			snprintf(name, sizeof(name), "%s%u", roles[role], i);
			fprintf(out, "  %-8s promised by %s\n", name, str(r, k, "?"));
			snprintf(k, sizeof(k), "target.mappings.%s%u.found.found", roles[role], i);
			if (!flag(r, k)) {
				fprintf(out, "           found: nothing in /proc/PID/maps\n");
				continue;
			}
#define F(name) (snprintf(k, sizeof(k), "target.mappings.%s%u.found." name, roles[role], i), k)
			fprintf(out, "           found: %s %s, %s, %s pages, %s%s%s; %s pins expected%s\n",
				str(r, F("kind"), "?"), str(r, F("path"), "")[0] ? str(r, F("path"), "") : "(anonymous)",
				size_format(u64(r, F("size_bytes")), a, sizeof(a)),
				size_format(u64(r, F("page_size")), b, sizeof(b)), flag(r, F("shared")) ? "shared" : "private",
				flag(r, F("locked")) ? ", locked" : "", flag(r, F("devmap")) ? ", devmap" : "",
				count_format(u64(r, F("pins_expected")), c, sizeof(c)),
				u64(r, F("pins_expected")) && !flag(r, F("pins_charged")) ? " (not charged to VmLck: devdax)" : "");
#undef F
		}
	}
}

void inspect_summary(const struct report *r, FILE *out)
{
	char a[32], b[32], c[32], k[64];
	uint64_t pages = u64(r, "validation.pages_checked");
	double snap = dbl(r, "timing.snapshot_ms"), cpu = dbl(r, "validation.sampler_cpu_ms");

	if (!strcmp(str(r, "verdict", "FAIL"), "PASS"))
		fprintf(out, "daxvm inspect: PASS\n");
	else
		fprintf(out, "daxvm inspect: FAIL: %s\n", str(r, "reason", "no reason recorded"));
	fprintf(out, "  target   pid %" PRIu64 " (%s, %s), configuration from the %s%s%s\n", u64(r, "target.pid"),
		str(r, "target.comm", "?"), str(r, "target.vmm", "?"), str(r, "target.config_source", "?"),
		report_get_str(r, "target.domain.name") ? ", domain " : "", str(r, "target.domain.name", ""));
	mappings(r, out);
	for (unsigned i = 0; i < u64(r, "target.mismatches"); i++) {
		snprintf(k, sizeof(k), "target.mismatch%u", i);
		fprintf(out, "  mismatch %s\n", str(r, k, "?"));
	}
	fprintf(out, "  pin path %s (%s); VmLck %s KiB (%s KiB of it mlocked), VmPin %s KiB\n",
		str(r, "target.found.pin_path", "none"), str(r, "pinning.backend_why", ""),
		count_format(u64(r, "target.found.vmlck_kib"), a, sizeof(a)),
		count_format(u64(r, "target.found.mlocked_kib"), b, sizeof(b)),
		count_format(u64(r, "target.found.vmpin_kib"), c, sizeof(c)));
	if (!report_get_str(r, "pinning.evidence"))
		return;
	fprintf(out, "  pinning  %s pins held, %s expected; evidence %s: %s\n",
		count_format(u64(r, "pinning.pinned_pages"), a, sizeof(a)),
		count_format(u64(r, "pinning.expected_pages"), b, sizeof(b)), str(r, "pinning.evidence", "?"),
		str(r, "pinning.evidence_why", ""));
	fprintf(out, "  frames   %s pages checked in %" PRIu64 " samples: %" PRIu64 " moved, %" PRIu64
		" not present, %" PRIu64 " outside devmap%s; %" PRIu64 " unmapped by the target\n",
		count_format(pages, a, sizeof(a)), u64(r, "validation.samples"), u64(r, "validation.pfn_changes"),
		u64(r, "validation.not_present"), u64(r, "validation.outside_devmap"),
		flag(r, "backing.devmap") ? "" : " (no devdax: range check n/a)", u64(r, "validation.unmapped_by_target"));
	if (report_get_str(r, "validation.note"))
		fprintf(out, "  note     %s\n", str(r, "validation.note", ""));
	if (flag(r, "target.exited") && report_get_str(r, "pinning.backend"))
		fprintf(out, "  exit     the process exited: nr_foll_pin_released +%" PRId64 " system-wide, %s pins not released\n",
			i64(r, "pinning.vmstat_after_exit.released"), count_format(u64(r, "pinning.leaked_pins"), a, sizeof(a)));
	fprintf(out, "  timing   attach %.1f ms, first verdict %.1f ms (PFN snapshot %.1f ms), watched %.0f ms; "
		"sampler %.1f ms CPU%s",
		dbl(r, "timing.attach_ms"), dbl(r, "timing.first_verdict_ms"), snap, dbl(r, "timing.watch_ms"), cpu,
		cpu > 0 ? "" : "\n");
	if (cpu > 0)
		fprintf(out, " for %s pages (%s pages/s per CPU)\n", count_format(u64(r, "validation.sampler_pages"), b, sizeof(b)),
			count_format((uint64_t)((double)u64(r, "validation.sampler_pages") / (cpu / 1e3)), a, sizeof(a)));
	fflush(out);
}
