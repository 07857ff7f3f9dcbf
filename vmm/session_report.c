/* The run's own report keys: verdict, backing, machine, vCPU ends and timing. The guest, its
 * devices and the validator add theirs when they are collected. */
#include <errno.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <stdio.h>

#include "common/thread_filter.h"
#include "guest/abi.h"
#include "vmm/session.h"

static double ms_between(uint64_t from_ns, uint64_t to_ns)
{
	return from_ns && to_ns >= from_ns ? (double)(to_ns - from_ns) / 1e6 : 0.0;
}

static uint64_t key_u64(const struct report *r, const char *key)
{
	uint64_t v = 0;

	report_get_u64(r, key, &v);
	return v;
}

/* The hostile guest's attack, counted where each part refused it, and whether the host came
 * through intact (the verdict: the VMM served every vCPU to the end, no guard page touched,
 * pins validated, no forbidden system call). */
static int session_hostile_keys(struct run_session *s, struct report *r, double run_s)
{
	uint64_t dma = key_u64(r, "dma.iommu_faults") + key_u64(r, "dma.bad_ops") + key_u64(r, "dma.bad_lens") +
		       key_u64(r, "dma.media_range_errors") + key_u64(r, "dma.ring_errors");
	uint64_t ctl = key_u64(r, "guest.ctl_bad_writes");
	uint64_t total = s->refused_io + dma + ctl;
	int ret = 0;

	ret |= report_set_u64(r, "hostile.refused_accesses", total);
	ret |= report_set_double(r, "hostile.refused_per_s", run_s > 0 ? (double)total / run_s : 0.0);
	ret |= report_set_u64(r, "hostile.unclaimed_io", s->refused_io);
	ret |= report_set_u64(r, "hostile.ctl_bad_writes", ctl);
	ret |= report_set_u64(r, "hostile.dma_refused", dma);
	ret |= report_set_u64(r, "hostile.dma_transfers", key_u64(r, "dma.transfers"));
	ret |= report_set_u64(r, "hostile.exceptions", key_u64(r, "guest.exceptions_survived"));
	ret |= report_set_u64(r, "hostile.guard_violations", s->guard_violations);
	ret |= report_set_bool(r, "hostile.guard_checked", s->guard_checked);
	ret |= report_set_bool(r, "hostile.host_intact", !s->failed && s->guard_checked && !s->guard_violations);
	return ret;
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
	{
		struct thread_filter_violations v;
		char name[64] = "";

		thread_filter_get_violations(&v);
		ret |= report_set_bool(r, "security.seccomp", s->shared.seccomp);
		if (s->shared.seccomp) {
			/* The vCPU allowlist beyond the base set and KVM_RUN/KVM_GET_REGS: from the
			 * guest and its devices. */
			ret |= report_set_u64(r, "security.seccomp_vcpu_rules", s->vcpu_rules.nr);
			ret |= report_set_bool(r, "security.seccomp_probe", s->shared.seccomp_probe);
		}
		ret |= report_set_u64(r, "security.seccomp_violations", v.count);
		ret |= report_set_u64(r, "security.seccomp_quiet_refusals", v.quiet);
		if (v.count) {
			char all[512];

			thread_filter_syscall_name(v.first_syscall, name, sizeof(name));
			ret |= report_set_str(r, "security.seccomp_first_syscall", name);
			ret |= report_set_str(r, "security.seccomp_first_thread", v.first_role);
			thread_filter_describe(&v, session_ioctl_name, all, sizeof(all));
			ret |= report_set_str(r, "security.seccomp_refused", all);
		}
	}
	if (s->guard_checked) {
		ret |= report_set_u64(r, "memory.guard_bytes", s->backing.guard_bytes ? s->backing.guard_bytes : BACKING_GUARD_BYTES);
		ret |= report_set_u64(r, "memory.guard_violations", s->guard_violations);
	}
	if (s->cfg->guest_flags & GUEST_F_HOSTILE)
		ret |= session_hostile_keys(s, r, run_s);
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

const char *session_ioctl_name(unsigned long request)
{
	static const struct { unsigned long request; const char *name; } names[] = {
		{ KVM_RUN, "KVM_RUN" }, { KVM_GET_REGS, "KVM_GET_REGS" }, { KVM_SET_REGS, "KVM_SET_REGS" },
		{ KVM_IRQ_LINE, "KVM_IRQ_LINE" }, { KVM_IRQ_LINE_STATUS, "KVM_IRQ_LINE_STATUS" },
		{ KVM_IRQFD, "KVM_IRQFD" }, { KVM_SET_GSI_ROUTING, "KVM_SET_GSI_ROUTING" },
		{ KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION" }, { KVM_SIGNAL_MSI, "KVM_SIGNAL_MSI" },
		{ KVM_IOEVENTFD, "KVM_IOEVENTFD" }, { KVM_GET_SREGS, "KVM_GET_SREGS" },
		{ KVM_SET_SREGS, "KVM_SET_SREGS" }, { KVM_GET_MSRS, "KVM_GET_MSRS" },
		{ KVM_SET_MSRS, "KVM_SET_MSRS" }, { KVM_GET_LAPIC, "KVM_GET_LAPIC" },
		{ KVM_INTERRUPT, "KVM_INTERRUPT" }, { KVM_NMI, "KVM_NMI" },
		{ VFIO_DEVICE_SET_IRQS, "VFIO_DEVICE_SET_IRQS" }, { VFIO_DEVICE_GET_IRQ_INFO, "VFIO_DEVICE_GET_IRQ_INFO" },
		{ VFIO_DEVICE_GET_REGION_INFO, "VFIO_DEVICE_GET_REGION_INFO" }, { VFIO_DEVICE_RESET, "VFIO_DEVICE_RESET" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].request == request)
			return names[i].name;
	return NULL;
}
