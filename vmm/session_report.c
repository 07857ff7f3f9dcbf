/* The run's own report keys: verdict, backing, machine, vCPU ends and timing. The guest, its
 * devices and the validator add theirs when they are collected. */
#include <errno.h>
#include <stdio.h>

#include "common/thread_filter.h"
#include "vmm/session.h"

static double ms_between(uint64_t from_ns, uint64_t to_ns)
{
	return from_ns && to_ns >= from_ns ? (double)(to_ns - from_ns) / 1e6 : 0.0;
}

int session_fill_report(struct run_session *s, struct report *r)
{
	const struct backing *b = &s->backing;
	double run_s = ms_between(s->t.all_ready_ns, s->t.run_end_ns) / 1e3;
	uint64_t verified = 0;
	const struct machine_range *low = machine_map_nth(&s->map, MACHINE_RAM, 0);
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
	ret |= report_set_u64(r, "guest.ram_bytes", s->map.ram_bytes);
	ret |= report_set_u64(r, "guest.ram_low_bytes", low ? low->size : 0);
	ret |= report_set_u64(r, "guest.ram_high_bytes", s->map.ram_bytes - (low ? low->size : 0));
	ret |= report_set_u64(r, "guest.memslots", s->mem.nr_regions);
	ret |= report_set_u64(r, "guest.vcpus", s->cfg->cpus);
	for (unsigned i = 0; i < s->map.nr; i++) {
		const struct machine_range *m = &s->map.ranges[i];
		char key[64];

		snprintf(key, sizeof(key), "machine.map.%02u_%s.gpa", i, machine_range_type_name(m->type));
		ret |= report_set_u64(r, key, m->gpa);
		snprintf(key, sizeof(key), "machine.map.%02u_%s.size", i, machine_range_type_name(m->type));
		ret |= report_set_u64(r, key, m->size);
		snprintf(key, sizeof(key), "machine.map.%02u_%s.label", i, machine_range_type_name(m->type));
		ret |= report_set_str(r, key, m->label);
	}
	for (unsigned i = 0; i < s->cfg->cpus && i < SESSION_MAX_VCPUS; i++) {
		if (s->vcpu_ends[i] == VCPU_END_SHUTDOWN) {
			ret |= report_set_bool(r, "guest.triple_fault", true);
			ret |= report_set_u64(r, "guest.triple_fault_cpu", i);
			break;
		}
	}
	{
		struct thread_filter_violations v;
		char name[64] = "";

		thread_filter_get_violations(&v);
		ret |= report_set_bool(r, "security.seccomp", s->cfg->seccomp);
		ret |= report_set_u64(r, "security.seccomp_violations", v.count);
		if (v.count) {
			thread_filter_syscall_name(v.first_syscall, name, sizeof(name));
			ret |= report_set_str(r, "security.seccomp_first_syscall", name);
			ret |= report_set_str(r, "security.seccomp_first_thread", v.first_role);
		}
	}
	report_get_u64(r, "guest.verified_bytes", &verified);
	ret |= report_set_double(r, "guest.verified_bytes_per_s", run_s > 0 ? (double)verified / run_s : 0.0);
	ret |= report_set_double(r, "timing.launch_to_first_insn_ms",
				 s->t.process_age_ms + ms_between(s->t.cmd_start_ns, s->t.first_ready_ns));
	ret |= report_set_str(r, "timing.launch_clock",
			      "process start from /proc/self/stat starttime (10 ms ticks) to the guest's first instruction");
	ret |= report_set_double(r, "timing.cmd_to_first_insn_ms",
				 ms_between(s->t.cmd_start_ns, s->t.first_ready_ns));
	ret |= report_set_double(r, "timing.map_ms", ms_between(s->t.map_start_ns, s->t.map_end_ns));
	ret |= report_set_double(r, "timing.boot_ms", ms_between(s->t.boot_start_ns, s->t.all_ready_ns));
	ret |= report_set_double(r, "timing.run_ms", run_s * 1e3);
	return ret ? -EINVAL : 0;
}
