/* The stages of one run in a {setup, undo} table, the run loop, and the end of a run:
 * collect, unwind, judge. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/thread_filter.h"
#include "devices/ctl.h"
#include "guest/abi.h"
#include "vmm/session.h"
#include "vmm/session_guard.h"
#include "vmm/session_pci.h"
#include "vmm/session_pin.h"

#define SESSION_POLL_NS (10ULL * 1000 * 1000)	/* run-loop tick */

static uint64_t now_ns(void)
{
	return ctl_now_ns();
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };

	nanosleep(&ts, NULL);	/* EINTR (SIGINT) just ends the tick early */
}

static void note(char *slot, const char *why)
{
	if (!slot[0] && why && why[0])
		snprintf(slot, SESSION_REASON_BYTES, "%s", why);
}

/* --- stages --- */

static int stage_backing(struct run_session *s, struct err *e)
{
	struct backing_request req = {
		.spec = s->cfg->mem,
		.size = s->cfg->mem_size,
		/* The hugetlb pool is global state: changed only when asked, and given back. */
		.may_grow_pool = s->cfg->grow_pool,
	};
	int ret;

	s->t.map_start_ns = now_ns();
	s->pmem.own.fd = -1;
	/* pmem on RAM's own device or file: one mapping spans both. */
	ret = pmem_ram_request(s->cfg, &req.size, e);
	if (!ret)
		ret = backing_open(&req, &s->backing, e);
	if (!ret)
		ret = pmem_open(s->cfg, &s->backing, &s->pmem, e);
	return ret;
}

static void undo_backing(struct run_session *s)
{
	pmem_close(&s->pmem);
	backing_close(&s->backing);
}

static int stage_kvm(struct run_session *s, struct err *e)
{
	int ret = vm_open(&s->vm, e);

	if (ret)
		return ret;
	if (s->cfg->cpus > s->vm.max_vcpus || s->cfg->cpus > SESSION_MAX_VCPUS) {
		vm_close(&s->vm);
		return err_set(e, -EINVAL, "%u vCPUs are more than this KVM allows (%u, KVM_CAP_MAX_VCPUS)",
			       s->cfg->cpus, s->vm.max_vcpus);
	}
	if (s->guest_ops->check_kvm && (ret = s->guest_ops->check_kvm(s->guest, &s->vm, e))) {
		vm_close(&s->vm);
		return ret;
	}
	return 0;
}

/* KVM memslots go with the VM fd: it closes before the RAM they point at is unmapped
 * (this stage comes after the backing's). */
static void undo_kvm(struct run_session *s)
{
	vm_close(&s->vm);
}

static int stage_guest(struct run_session *s, struct err *e)
{
	return s->guest_ops->create(s->cfg, &s->guest, e);
}

static void undo_guest(struct run_session *s)
{
	s->guest_ops->destroy(s->guest);
	s->guest = NULL;
}

/* The machine map, the guest's windows in it and guest RAM on the backing: all checked
 * before KVM is opened, so a bad size is reported on any machine. */
static int stage_layout(struct run_session *s, struct err *e)
{
	uint64_t ram = s->cfg->mem_size ? s->cfg->mem_size : s->backing.size;
	int ret;

	ret = machine_map_x86(ram, s->backing.align, &s->map, e);
	if (!ret)
		ret = s->guest_ops->plan(s->guest, &s->map, e);
	if (!ret)
		ret = guest_mem_plan(&s->map, &s->mem, e);
	if (!ret)
		ret = guest_mem_attach(&s->mem, &s->backing, e);
	if (!ret)
		ret = pmem_layout(&s->pmem, &s->backing, &s->map, &s->mem, e);
	return ret;
}

static int stage_memslots(struct run_session *s, struct err *e)
{
	int ret = guest_mem_register(&s->mem, s->vm.vm_fd, e);

	s->t.map_end_ns = now_ns();
	return ret;
}

static int stage_devices(struct run_session *s, struct err *e)
{
	int ret;

	if (s->cfg->console_path) {
		s->console = fopen(s->cfg->console_path, "we");
		if (!s->console)
			return err_set(e, -errno, "cannot create the console file %s: %s",
				       s->cfg->console_path, strerror(errno));
		s->console_owned = true;
	} else {
		s->console = stdout;
	}
	ret = bus_create(&s->bus);
	if (ret)
		return err_set(e, ret, "out of memory creating the I/O bus");
	ret = serial_create(&s->serial, s->console, e);
	if (!ret)
		ret = serial_attach(s->serial, s->bus, e);
	if (ret)
		return ret;
	s->gm = (struct guest_machine){
		.cfg = s->cfg, .vm = &s->vm, .map = &s->map, .mem = &s->mem, .bus = s->bus,
		.serial = s->serial, .pins = s->pins, .nr_vcpus = s->cfg->cpus,
		.cmd_start_ns = s->t.cmd_start_ns, .process_age_ms = s->t.process_age_ms,
	};
	return s->guest_ops->create_devices(s->guest, &s->gm, e);
}

static void undo_devices(struct run_session *s)
{
	s->guest_ops->destroy_devices(s->guest);
	serial_destroy(s->serial);
	s->serial = NULL;
	if (s->console_owned)
		fclose(s->console);
	else if (s->console)
		fflush(s->console);
	s->console = NULL;
	s->console_owned = false;
	bus_destroy(s->bus);	/* after every device on it */
	s->bus = NULL;
}

static int stage_vcpus(struct run_session *s, struct err *e)
{
	s->shared.bus = s->bus;
	s->shared.mmio_done = s->guest_ops->mmio_done;
	s->shared.guest = s->guest;
	s->shared.ignore_unclaimed_pio = s->guest_ops->ignore_unclaimed_pio;
	s->shared.hlt_is_idle = s->guest_ops->hlt_is_idle;
	/* The vCPU allowlist comes from the guest (its devices' handlers) and the passed-through
	 * PCI devices; each thread adds its own KVM_RUN (vmm/vcpu.c). */
	s->shared.seccomp = s->cfg->seccomp;
	s->shared.seccomp_probe = s->cfg->seccomp && s->cfg->seccomp_probe;
	memset(&s->vcpu_rules, 0, sizeof(s->vcpu_rules));
	if (s->guest_ops->vcpu_allow)
		s->guest_ops->vcpu_allow(s->guest, &s->vcpu_rules);
	session_pci_vcpu_allow(s, &s->vcpu_rules);
	s->shared.filter_rules = &s->vcpu_rules;
	s->shared.refuse_unclaimed = s->cfg->guest_flags & GUEST_F_HOSTILE;
	for (unsigned i = 0; i < s->cfg->cpus; i++) {
		int ret = vcpu_create(&s->vcpus[i], &s->vm, i, &s->shared, e);

		if (ret)
			return ret;
		s->nr_vcpus++;
	}
	return 0;
}

static void stop_vcpus(struct run_session *s)
{
	atomic_store(&s->shared.stop, true);
	for (unsigned i = 0; i < s->nr_vcpus; i++)
		vcpu_kick(&s->vcpus[i]);
	for (unsigned i = 0; i < s->nr_vcpus; i++)
		vcpu_join(&s->vcpus[i]);
}

static void undo_vcpus(struct run_session *s)
{
	stop_vcpus(s);
	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		s->vcpu_ends[i] = atomic_load(&s->vcpus[i].end);
		s->refused_io += atomic_load(&s->vcpus[i].refused);
	}
	for (unsigned i = s->nr_vcpus; i > 0; i--)
		vcpu_destroy(&s->vcpus[i - 1]);
	s->nr_vcpus = 0;
}

/* Notes how vCPU threads ended; any end before the stop, or other than done, is a finding.
 * Returns true when all have ended. */
static bool check_vcpus(struct run_session *s)
{
	unsigned ended = 0;

	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		struct vcpu *v = &s->vcpus[i];
		int end = atomic_load(&v->end);
		char why[SESSION_REASON_BYTES];

		if (end == VCPU_RUNNING)
			continue;
		ended++;
		s->guest_ops->explain_end(s->guest, i, end, v->why, why, sizeof(why));
		note(s->found.live, why);
	}
	return ended == s->nr_vcpus;
}

static int stage_boot(struct run_session *s, struct err *e)
{
	uint64_t deadline;
	int ret;

	s->t.boot_start_ns = now_ns();
	ret = s->guest_ops->load(s->guest, &s->gm, e);
	for (unsigned i = 0; !ret && i < s->nr_vcpus; i++)
		ret = s->guest_ops->setup_vcpu(s->guest, &s->gm, i, s->vcpus[i].fd, e);
	if (!ret)
		ret = s->guest_ops->start_devices(s->guest, e);
	for (unsigned i = 0; !ret && i < s->nr_vcpus; i++)
		ret = vcpu_start(&s->vcpus[i], e);
	if (ret)
		return ret;
	deadline = now_ns() + (uint64_t)(s->cfg->hang_s * 1e9);
	while (!s->guest_ops->ready(s->guest, &s->t.first_ready_ns, &s->t.all_ready_ns)) {
		if (*s->interrupted) {
			note(s->found.live, "interrupted");
			break;
		}
		if (check_vcpus(s) || s->found.live[0])
			break;
		if (now_ns() > deadline) {
			char why[SESSION_REASON_BYTES];

			snprintf(why, sizeof(why), "the guest did not start: not every vCPU ran its first instruction within %.1f s",
				 s->cfg->hang_s);
			note(s->found.live, why);
			break;
		}
		sleep_ns(100 * 1000);
	}
	return 0;
}

static const struct session_stage {
	const char *name;
	int (*setup)(struct run_session *s, struct err *e);
	void (*undo)(struct run_session *s);
} stages[] = {
	{ "pci_check", session_pci_check, NULL },	/* --device: bound to vfio-pci? (vmm/session_pci.c) */
	{ "backing", stage_backing, undo_backing },
	{ "guest", stage_guest, undo_guest },
	{ "layout", stage_layout, NULL },
	{ "kvm", stage_kvm, undo_kvm },
	{ "memslots", stage_memslots, NULL },	/* memslots go with the VM fd */
	{ "pinning", session_pin_setup, session_pin_undo },	/* vmm/session_pin.c */
	{ "devices", stage_devices, undo_devices },
	{ "pci", session_pci_setup, session_pci_undo },	/* PCI bus 0 and vfio-pci devices */
	/* devdax under pins: watch the device, stop DMA if it goes (vmm/session_guard.c) */
	{ "dax_guard", session_guard_setup, session_guard_undo },
	{ "vcpus", stage_vcpus, undo_vcpus },
	{ "boot", stage_boot, NULL },
};
#define NR_STAGES (sizeof(stages) / sizeof(stages[0]))

static void unwind(struct run_session *s)
{
	while (s->stages_done > 0) {
		const struct session_stage *st = &stages[--s->stages_done];

		if (st->undo)
			st->undo(s);
	}
}

const char *session_failed_stage(const struct run_session *s)
{
	return s->stages_done < NR_STAGES ? stages[s->stages_done].name : NULL;
}

int session_start(struct run_session *s, struct err *e)
{
	for (size_t i = 0; i < NR_STAGES; i++) {
		int ret = stages[i].setup(s, e);

		if (ret) {
			/* A stage that failed undoes itself first: its undo may see a half setup. */
			if (stages[i].undo)
				stages[i].undo(s);
			{
				unsigned failed = (unsigned)i;

				unwind(s);
				session_pci_free(s);
				session_pin_free(s);
				session_guard_free(s);
				s->stages_done = failed;	/* for session_failed_stage */
			}
			return ret;
		}
		s->stages_done = (unsigned)i + 1;
		if (*s->interrupted)
			note(s->found.live, "interrupted");
		if (session_guard_tripped(s))
			session_guard_judge(s);
		if (s->found.live[0])
			return 0;
	}
	return 0;
}

void session_progress(struct run_session *s, struct guest_progress *p)
{
	s->guest_ops->progress(s->guest, p);
}

static bool seccomp_refused(void)
{
	struct thread_filter_violations v;

	thread_filter_get_violations(&v);
	return v.count > 0;
}

void session_run(struct run_session *s)
{
	uint64_t duration_ns = (uint64_t)(s->cfg->duration_s * 1e9);

	while (s->stages_done == NR_STAGES && !s->found.live[0]) {
		uint64_t now = now_ns();

		if (*s->interrupted) {
			note(s->found.live, "interrupted");
			break;
		}
		if (session_guard_tripped(s))
			break;	/* device DMA is already stopped; session_finish says why */
		if (s->cfg->seccomp && seccomp_refused())
			break;	/* a served thread tried what it must not: session_finish names it */
		if (check_vcpus(s))
			break;
		if (s->guest_ops->finished && s->guest_ops->finished(s->guest))
			break;
		if (!s->t.stop_ns && now - s->t.all_ready_ns >= duration_ns) {
			s->guest_ops->request_stop(s->guest);
			s->t.stop_ns = now;
		}
		for (unsigned i = 0; i < s->nr_vcpus && !s->found.live[0]; i++) {
			char why[SESSION_REASON_BYTES];
			uint64_t exits = atomic_load_explicit(&s->vcpus[i].exits, memory_order_relaxed);

			if (atomic_load(&s->vcpus[i].end) != VCPU_RUNNING)
				continue;
			if (exits != s->exits_seen[i] || !s->exits_seen_ns[i]) {
				s->exits_seen[i] = exits;
				s->exits_seen_ns[i] = now;
			}
			if (!s->guest_ops->alive(s->guest, i, now, why, sizeof(why))) {
				size_t n = strlen(why);

				if (n + 2 < sizeof(why)) {
					snprintf(why + n, sizeof(why) - n, "; ");
					vcpu_where(&s->vcpus[i], (double)(now - s->exits_seen_ns[i]) / 1e9, why + n + 2,
						   sizeof(why) - n - 2);
				}
				note(s->found.live, why);
				s->hung_vcpu_plus_1 = i + 1;
			}
		}
		if (s->on_tick)
			s->on_tick(s, now, s->tick_opaque);
		sleep_ns(SESSION_POLL_NS);
	}
	if (!s->t.stop_ns)
		s->t.stop_ns = now_ns();
	stop_vcpus(s);
	if (s->hung_vcpu_plus_1) {
		uint64_t rip = atomic_load(&s->vcpus[s->hung_vcpu_plus_1 - 1].stop_rip);
		size_t n = strlen(s->found.live);

		if (rip && n < sizeof(s->found.live))
			snprintf(s->found.live + n, sizeof(s->found.live) - n, "; stopped at guest RIP 0x%" PRIx64 "%s", rip,
				 s->guest_ops->code_contains && !s->guest_ops->code_contains(s->guest, rip)
				 ? ", outside the guest's code: its vCPU state was changed below daxvm (the kernel's KVM or the machine under it)" : "");
	}
	check_vcpus(s);
	s->t.run_end_ns = now_ns();
}

bool run_judge(const struct run_findings *f, char *reason, size_t len)
{
	const char *order[] = { f->live, f->device, f->unpin, f->guest, f->pins };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (order[i][0]) {
			snprintf(reason, len, "%s", order[i]);
			return false;
		}
	}
	if (len)
		reason[0] = '\0';
	return true;
}

void session_finish(struct run_session *s)
{
	bool ran = s->stages_done == NR_STAGES || s->found.live[0] || session_guard_tripped(s);

	if (s->nr_vcpus)
		stop_vcpus(s);
	if (s->guest) {
		char dev[SESSION_REASON_BYTES];

		/* The device must be quiet before its memory goes away, and the guest's counters
		 * are read through the pins: both before unwinding. */
		s->guest_ops->quiesce(s->guest);
		dev[0] = '\0';
		if (ran && s->report &&
		    s->guest_ops->collect(s->guest, &s->gm, s->report, s->found.guest, dev, sizeof(dev)))
			note(s->found.device, "internal error: the report rejected a key of the guest");
		note(s->found.device, dev);
	}
	session_guard_judge(s);	/* the device went under the pins: that is the run's first cause */
	/* Host memory right next to guest RAM: untouched while every device access stayed in
	 * the pinned mappings (looked at before the backing goes). */
	if (s->backing.host && backing_guard_check(&s->backing, &s->guard_violations) == 0) {
		s->guard_checked = true;
		if (s->guard_violations) {
			char why[SESSION_REASON_BYTES];

			snprintf(why, sizeof(why), "%llu guard pages next to guest RAM were touched or unprotected: an access strayed outside the pinned mappings",
				 (unsigned long long)s->guard_violations);
			note(s->found.device, why);
		}
	}
	unwind(s);	/* unpinning runs the release check */
	if (ran && s->report) {
		session_pin_collect(s, s->report);
		if (session_guard_collect(s, s->report))
			note(s->found.device, "internal error: the report rejected a dax_guard key");
		session_pci_collect(s, s->report);
	}
	session_pci_free(s);
	session_pin_free(s);
	session_guard_free(s);
	if (s->cfg->seccomp) {
		struct thread_filter_violations v;

		thread_filter_get_violations(&v);
		if (v.count) {
			char name[64], why[SESSION_REASON_BYTES];

			char all[256];

			thread_filter_syscall_name(v.first_syscall, name, sizeof(name));
			thread_filter_describe(&v, session_ioctl_name, all, sizeof(all));
			snprintf(why, sizeof(why), "seccomp: a %s thread made the forbidden system call %s (%llu refused in all: %s); it was refused, not run",
				 v.first_role, name, (unsigned long long)v.count, all);
			note(s->found.live, why);
		}
	}
	s->failed = !run_judge(&s->found, s->reason, sizeof(s->reason));
}
