/* What the stress guest verified: totals over its vCPUs' control registers, its verdict, its
 * guest.* report keys, and its DMA engine's dma.* keys and verdict. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "devices/ctl.h"
#include "devices/dma_engine.h"
#include "vmm/stress_guest.h"
#include "vmm/x86_boot.h"

struct stress_totals {
	uint64_t verified_bytes;
	uint64_t mismatches;
	uint64_t first_mismatch_gpa;
	uint64_t guest_failures;	/* CTL_DONE values */
	uint64_t bad_writes;
	uint64_t exceptions_survived;	/* hostile guest */
	uint64_t min_passes;		/* completed passes of the slowest vCPU */
	unsigned done_cpus;
	int exc_cpu;			/* first vCPU with an exception, -1 */
	struct ctl_cpu_state exc;
};

static void stress_totals(struct guest *g, struct stress_totals *t)
{
	const struct guest_params *p = stress_guest_params(g);
	uint64_t per_cpu = p ? p->work_bytes_per_cpu : 0;

	memset(t, 0, sizeof(*t));
	t->exc_cpu = -1;
	t->min_passes = UINT64_MAX;
	for (unsigned i = 0; i < stress_guest_cpus(g); i++) {
		struct ctl_cpu_state st;

		ctl_snapshot(stress_guest_ctl(g), i, &st);
		t->verified_bytes += st.progress_bytes;
		if (st.mismatches && !t->mismatches)
			t->first_mismatch_gpa = st.mismatch_gpa[0];
		t->mismatches += st.mismatches;
		t->guest_failures += st.done_failures;
		t->bad_writes += st.bad_writes;
		t->exceptions_survived += st.exceptions_survived;
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

/* Pure: the guest's own verdict from its totals (the first failure, in this order). */
static void stress_judge(const struct stress_totals *t, unsigned nr_cpus, char *why, size_t len)
{
	why[0] = '\0';
	if (t->mismatches)
		snprintf(why, len, "%" PRIu64 " pattern mismatches in guest RAM, the first at guest-physical 0x%" PRIx64,
			 t->mismatches, t->first_mismatch_gpa);
	else if (t->guest_failures)
		snprintf(why, len, "the guest counted %" PRIu64 " verify failures", t->guest_failures);
	else if (t->bad_writes)
		snprintf(why, len, "the guest wrote %" PRIu64 " times outside the control protocol", t->bad_writes);
	else if (t->done_cpus < nr_cpus)
		snprintf(why, len, "only %u of %u vCPUs finished their passes", t->done_cpus, nr_cpus);
}

/* The hostile guest's own verdict: its garbage is refused, not a failure; every vCPU must
 * still have been served to the end. */
static void hostile_judge(const struct stress_totals *t, unsigned nr_cpus, char *why, size_t len)
{
	why[0] = '\0';
	if (t->done_cpus < nr_cpus)
		snprintf(why, len, "only %u of %u hostile vCPUs were served to the end", t->done_cpus, nr_cpus);
}

/* The DMA engine under attack: refusals are expected; a media error is not (a device copy
 * that failed: a stray host address would surface as EFAULT here), nor a fence or a queue
 * thread that could not filter its system calls. */
static void hostile_dma_judge(struct dma_engine *dma, char *why, size_t len)
{
	struct dma_stats s;
	char v[384];

	why[0] = '\0';
	dma_engine_get_stats(dma, &s);
	if (s.media_errors)
		snprintf(why, len, "DMA under attack: %" PRIu64 " media errors (a device copy failed)", s.media_errors);
	else if (!dma_engine_verdict_ok(dma, v, sizeof(v)) &&
		 (dma_engine_fenced(dma, NULL) || strstr(v, "system call filter")))
		snprintf(why, len, "DMA under attack: %s", v);
}

static int stress_keys(struct guest *g, struct report *r, const struct stress_totals *t)
{
	const struct guest_params *p = stress_guest_params(g);
	int ret = 0;

	ret |= report_set_str(r, "guest.kind", "stress");
	ret |= report_set_u64(r, "guest.work_bytes_per_vcpu", p ? p->work_bytes_per_cpu : 0);
	ret |= report_set_u64(r, "guest.passes_min", t->min_passes);
	ret |= report_set_u64(r, "guest.verified_bytes", t->verified_bytes);
	ret |= report_set_u64(r, "guest.mismatches", t->mismatches);
	if (t->mismatches)
		ret |= report_set_u64(r, "guest.first_mismatch_gpa", t->first_mismatch_gpa);
	ret |= report_set_u64(r, "guest.vcpus_done", t->done_cpus);
	ret |= report_set_u64(r, "guest.ctl_bad_writes", t->bad_writes);
	if (p && (p->flags & GUEST_F_HOSTILE)) {
		ret |= report_set_str(r, "guest.workload", "hostile");
		ret |= report_set_u64(r, "guest.exceptions_survived", t->exceptions_survived);
	}
	for (unsigned i = 0; p && i < stress_guest_cpus(g); i++) {
		char key[48];

		snprintf(key, sizeof(key), "guest.work_gpa.cpu%u", i);
		ret |= report_set_u64(r, key, p->work_gpa[i]);
	}
	if (t->exc_cpu >= 0) {
		ret |= report_set_u64(r, "guest.exception.cpu", (uint64_t)t->exc_cpu);
		ret |= report_set_u64(r, "guest.exception.vector", t->exc.exc_vector);
		ret |= report_set_str(r, "guest.exception.name", x86_exception_name(t->exc.exc_vector));
		ret |= report_set_u64(r, "guest.exception.error_code", t->exc.exc_error);
		ret |= report_set_u64(r, "guest.exception.rip", t->exc.exc_rip);
		ret |= report_set_u64(r, "guest.exception.cr2", t->exc.exc_cr2);
	}
	return ret;
}

int stress_guest_collect(struct guest *g, const struct guest_machine *m, struct report *r,
			 char *guest_failure, char *device_failure, size_t len)
{
	struct dma_engine *dma = stress_guest_dma(g);
	const struct guest_params *p = stress_guest_params(g);
	struct stress_totals t;
	int ret;

	guest_failure[0] = device_failure[0] = '\0';
	/* A run stopped before its devices existed (an interrupt during set-up) has nothing to
	 * collect: the session's own finding says why. */
	if (!stress_guest_ctl(g))
		return report_set_str(r, "guest.kind", "stress");
	stress_totals(g, &t);
	if (p && (p->flags & GUEST_F_HOSTILE))
		hostile_judge(&t, stress_guest_cpus(g), guest_failure, len);
	else
		stress_judge(&t, stress_guest_cpus(g), guest_failure, len);
	ret = stress_keys(g, r, &t);
	device_failure[0] = '\0';
	if (!dma) {
		ret |= report_set_str(r, "dma.state", m->cfg->dma ? "off: guest RAM is not pinned"
								   : "off: not asked for");
		return ret;
	}
	/* The guest's DMA counters are read through the pins: before unpinning. */
	ret |= dma_engine_fill_report(dma, r);
	for (unsigned i = 0; p && i < stress_guest_cpus(g); i++) {
		char key[48];

		snprintf(key, sizeof(key), "dma.area_gpa.cpu%u", i);
		ret |= report_set_u64(r, key, p->dma_area_gpa[i]);
	}
	if (p)
		ret |= report_set_u64(r, "dma.area_bytes", p->dma_area_bytes);
	if (p && (p->flags & GUEST_F_HOSTILE)) {
		hostile_dma_judge(dma, device_failure, len);
		return ret;
	}
	{
		char why[384];

		if (!dma_engine_verdict_ok(dma, why, sizeof(why)))
			snprintf(device_failure, len, "DMA: %s", why);
	}
	return ret;
}
