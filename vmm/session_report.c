/* The run's own report keys: verdict, backing, machine, vCPU ends and timing. The guest, its
 * devices and the validator add theirs when they are collected. */
#include <errno.h>
#include <stdio.h>

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
	if (s->cfg->pmem_path) {
		const struct backing *pb = s->pmem.shares_ram ? &s->backing : &s->pmem.own;

		ret |= report_set_str(r, "guest.pmem.path", s->cfg->pmem_path);
		ret |= report_set_str(r, "guest.pmem.kind", backing_kind_name(pb->kind));
		ret |= report_set_bool(r, "guest.pmem.shares_ram_backing", s->pmem.shares_ram);
		ret |= report_set_u64(r, "guest.pmem.gpa", s->pmem.gpa);
		ret |= report_set_u64(r, "guest.pmem.bytes", s->pmem.size);
		ret |= report_set_u64(r, "guest.pmem.offset", s->pmem.offset);
	}
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
	if (s->guest_ops->ignore_unclaimed_pio) {
		char ports[256] = "";
		size_t n = 0;

		ret |= report_set_u64(r, "guest.unclaimed_port_accesses", atomic_load(&s->shared.unclaimed_pio));
		for (unsigned i = 0; i < VCPU_PORT_STATS && n < sizeof(ports); i++) {
			uint32_t p = atomic_load(&s->shared.unclaimed[i].port_plus_1);

			if (p)
				n += (size_t)snprintf(ports + n, sizeof(ports) - n, "%s0x%x:%lu", n ? " " : "",
						      p - 1, atomic_load(&s->shared.unclaimed[i].count));
		}
		ret |= report_set_str(r, "guest.unclaimed_ports", ports);
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
