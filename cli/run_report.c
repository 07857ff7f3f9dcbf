/* The outcome of a run: the final verdict, the JSON report keys and the human summary. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/size.h"
#include "vmm/session.h"

static double ms_between(uint64_t from_ns, uint64_t to_ns)
{
	return from_ns && to_ns >= from_ns ? (double)(to_ns - from_ns) / 1e6 : 0.0;
}

/* Sums what the vCPUs reported and fails the run on mismatches or protocol errors. */
struct run_totals {
	uint64_t verified_bytes;
	uint64_t mismatches;
	uint64_t first_mismatch_gpa;
	uint64_t guest_failures;	/* CTL_DONE values */
	uint64_t bad_writes;
	uint64_t min_passes;		/* completed passes of the slowest vCPU */
	unsigned done_cpus;
	int exc_cpu;			/* first vCPU with an exception, -1 */
	struct ctl_cpu_state exc;
};

static void run_totals_collect(struct run_session *s, struct run_totals *t)
{
	uint64_t per_cpu = s->params ? s->params->work_bytes_per_cpu : 0;

	memset(t, 0, sizeof(*t));
	t->exc_cpu = -1;
	t->min_passes = UINT64_MAX;
	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		struct ctl_cpu_state st;

		ctl_snapshot(s->ctl, i, &st);
		t->verified_bytes += st.progress_bytes;
		if (st.mismatches && !t->mismatches)
			t->first_mismatch_gpa = st.mismatch_gpa[0];
		t->mismatches += st.mismatches;
		t->guest_failures += st.done_failures;
		t->bad_writes += st.bad_writes;
		t->done_cpus += st.done;
		if (per_cpu && st.progress_bytes / per_cpu < t->min_passes)
			t->min_passes = st.progress_bytes / per_cpu;
		if (st.exception && t->exc_cpu < 0) {
			t->exc_cpu = (int)i;
			t->exc = st;
		}
	}
	if (t->min_passes == UINT64_MAX)
		t->min_passes = 0;
}

static void session_judge(struct run_session *s, const struct run_totals *t)
{
	if (t->mismatches)
		session_fail(s, "%" PRIu64 " pattern mismatches in guest RAM, the first at guest-physical 0x%" PRIx64,
			     t->mismatches, t->first_mismatch_gpa);
	if (t->guest_failures)
		session_fail(s, "the guest counted %" PRIu64 " verify failures", t->guest_failures);
	if (t->bad_writes)
		session_fail(s, "the guest wrote %" PRIu64 " times outside the control protocol", t->bad_writes);
	if (t->done_cpus < s->nr_vcpus)
		session_fail(s, "only %u of %u vCPUs finished their passes", t->done_cpus, s->nr_vcpus);
}

static int report_keys(struct run_session *s, struct report *r, const struct run_totals *t,
		       double run_s, double rate)
{
	const struct backing *b = &s->backing;
	int ret = 0;

	ret |= report_set_str(r, "verdict", s->failed ? "FAIL" : "PASS");
	if (s->failed)
		ret |= report_set_str(r, "reason", s->reason);
	ret |= report_set_str(r, "backing.kind", backing_kind_name(b->kind));
	ret |= report_set_str(r, "backing.path", b->path);
	ret |= report_set_bool(r, "backing.devmap", b->devmap);
	ret |= report_set_bool(r, "backing.shared", b->shared);
	ret |= report_set_u64(r, "backing.page_size", b->page_size);
	ret |= report_set_u64(r, "backing.size_bytes", b->size);
	ret |= report_set_str(r, "backing.why", b->why);
	ret |= report_set_u64(r, "guest.ram_bytes", s->mem.ram_bytes);
	ret |= report_set_u64(r, "guest.ram_low_bytes", s->mem.regions[0].size);
	ret |= report_set_u64(r, "guest.ram_high_bytes", s->mem.ram_bytes - s->mem.regions[0].size);
	ret |= report_set_u64(r, "guest.memslots", s->mem.nr_regions);
	ret |= report_set_u64(r, "guest.vcpus", s->nr_vcpus);
	ret |= report_set_u64(r, "guest.work_bytes_per_vcpu", s->params ? s->params->work_bytes_per_cpu : 0);
	ret |= report_set_u64(r, "guest.passes_min", t->min_passes);
	ret |= report_set_u64(r, "guest.verified_bytes", t->verified_bytes);
	ret |= report_set_double(r, "guest.verified_bytes_per_s", rate);
	ret |= report_set_u64(r, "guest.mismatches", t->mismatches);
	if (t->mismatches)
		ret |= report_set_u64(r, "guest.first_mismatch_gpa", t->first_mismatch_gpa);
	ret |= report_set_u64(r, "guest.vcpus_done", t->done_cpus);
	for (unsigned i = 0; s->params && i < s->nr_vcpus; i++) {
		char key[48];

		snprintf(key, sizeof(key), "guest.work_gpa.cpu%u", i);
		ret |= report_set_u64(r, key, s->params->work_gpa[i]);
	}
	if (t->exc_cpu >= 0) {
		ret |= report_set_u64(r, "guest.exception.cpu", (uint64_t)t->exc_cpu);
		ret |= report_set_u64(r, "guest.exception.vector", t->exc.exc_vector);
		ret |= report_set_str(r, "guest.exception.name", x86_exception_name(t->exc.exc_vector));
		ret |= report_set_u64(r, "guest.exception.error_code", t->exc.exc_error);
		ret |= report_set_u64(r, "guest.exception.rip", t->exc.exc_rip);
		ret |= report_set_u64(r, "guest.exception.cr2", t->exc.exc_cr2);
	}
	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		if (atomic_load(&s->vcpus[i].end) == VCPU_END_SHUTDOWN) {
			ret |= report_set_bool(r, "guest.triple_fault", true);
			ret |= report_set_u64(r, "guest.triple_fault_cpu", i);
			break;
		}
	}
	ret |= report_set_double(r, "timing.launch_to_first_insn_ms",
				 s->t.process_age_ms + ms_between(s->t.cmd_start_ns, s->t.first_ready_ns));
	ret |= report_set_str(r, "timing.launch_clock",
			      "process start from /proc/self/stat starttime (10 ms ticks) to the first CTL_READY");
	ret |= report_set_double(r, "timing.cmd_to_first_insn_ms",
				 ms_between(s->t.cmd_start_ns, s->t.first_ready_ns));
	ret |= report_set_double(r, "timing.map_ms", ms_between(s->t.map_start_ns, s->t.map_end_ns));
	ret |= report_set_double(r, "timing.boot_ms", ms_between(s->t.boot_start_ns, s->t.all_ready_ns));
	ret |= report_set_double(r, "timing.run_ms", run_s * 1e3);
	return ret ? -EINVAL : 0;
}

int session_report(struct run_session *s, struct report *r, FILE *out)
{
	struct run_totals t;
	double run_s, rate;
	char a[32], b[32], c[32], d[32];
	const struct backing *bk = &s->backing;

	int ret = 0;

	run_totals_collect(s, &t);
	session_judge(s, &t);
	/* Pinning and DMA judge too: collect them before the verdict line. */
	ret |= session_pin_report(s, r);
	ret |= session_dma_report(s, r);
	run_s = ms_between(s->t.all_ready_ns, s->t.run_end_ns) / 1e3;
	rate = run_s > 0 ? (double)t.verified_bytes / run_s : 0.0;

	if (s->failed)
		fprintf(out, "daxvm run: FAIL: %s\n", s->reason);
	else
		fprintf(out, "daxvm run: PASS\n");
	fprintf(out, "  backing  %s%s%s, %s pages, %s%s: %s\n", backing_kind_name(bk->kind),
		strcmp(bk->path, backing_kind_name(bk->kind)) ? " " : "",
		strcmp(bk->path, backing_kind_name(bk->kind)) ? bk->path : "",
		size_format(bk->page_size, a, sizeof(a)), size_format(bk->size, b, sizeof(b)),
		bk->devmap ? ", devmap" : "", bk->why[0] ? bk->why : "as requested");
	fprintf(out, "  guest    %u vCPUs at CPL3, %s RAM (%s at 0, %s at 4 GiB), %s pattern area per vCPU\n",
		s->nr_vcpus, size_format(s->mem.ram_bytes, a, sizeof(a)),
		size_format(s->mem.regions[0].size, b, sizeof(b)),
		size_format(s->mem.ram_bytes - s->mem.regions[0].size, c, sizeof(c)),
		size_format(s->params ? s->params->work_bytes_per_cpu : 0, d, sizeof(d)));
	fprintf(out, "  verified %s written and read back as address-tagged patterns in %.2f s (%s/s),\n"
		     "           at least %" PRIu64 " full passes per vCPU, %" PRIu64 " mismatches\n",
		size_format(t.verified_bytes, a, sizeof(a)), run_s,
		size_format((uint64_t)rate, b, sizeof(b)), t.min_passes, t.mismatches);
	if (t.exc_cpu >= 0)
		fprintf(out, "  guest    exception on vCPU %d: vector %" PRIu64 " (%s) at RIP 0x%" PRIx64 "\n",
			t.exc_cpu, t.exc.exc_vector, x86_exception_name(t.exc.exc_vector), t.exc.exc_rip);
	fprintf(out, "  timing   launch to first guest instruction %.1f ms (run command to it %.1f ms),\n"
		     "           map %.1f ms, boot %.1f ms, run %.0f ms\n",
		s->t.process_age_ms + ms_between(s->t.cmd_start_ns, s->t.first_ready_ns),
		ms_between(s->t.cmd_start_ns, s->t.first_ready_ns),
		ms_between(s->t.map_start_ns, s->t.map_end_ns),
		ms_between(s->t.boot_start_ns, s->t.all_ready_ns), run_s * 1e3);
	session_pin_summary(s, out);
	session_dma_summary(s, out);
	fflush(out);
	ret |= report_keys(s, r, &t, run_s, rate);
	return ret ? -EINVAL : 0;
}
