/* A Linux bzImage behind the guest interface: it is refused on kvm-pvm, planned against the
 * machine map (kernel, initrd, command line), given the PC devices it probes (irqchip + PIT
 * in KVM, 8250 on IRQ 4, i8042, CMOS RTC, the guest ABI ports), booted at its 64-bit entry, and ends
 * by a verdict on its port or a reboot. */
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <time.h>

#include "common/size.h"
#include "devices/ctl.h"
#include "guest/linux/daxvm_guest_abi.h"
#include "vmm/kvm_flavor.h"
#include "vmm/linux_guest.h"
#include "vmm/mptable.h"
#include "vmm/vcpu.h"
#include "vmm/x86_linux.h"

static uint64_t now_ns(void)
{
	return ctl_now_ns();
}

static int linux_create(const struct run_config *cfg, struct guest **out, struct err *e)
{
	struct guest *g;
	char why[512];
	int ret;

	*out = NULL;
	if (!cfg->kernel)
		return err_set(e, -EINVAL, "no kernel to boot");
	if (cfg->cpus == 0 || cfg->cpus > MPTABLE_MAX_CPUS)
		return err_set(e, -EINVAL, "a Linux guest runs 1 to %d vCPUs, not %u", MPTABLE_MAX_CPUS,
			       cfg->cpus);
	g = calloc(1, sizeof(*g));
	if (!g)
		return err_set(e, -ENOMEM, "out of memory for the Linux guest");
	g->cfg = cfg;
	g->nr_cpus = cfg->cpus;
	g->vm_fd = -1;
	pthread_mutex_init(&g->lock, NULL);
	*out = g;	/* destroy() frees what was read so far */
	ret = linux_guest_read_files(g, e);
	if (!ret)
		ret = linux_guest_build_cmdline(g, e);
	/* Refused after the inputs are checked, before anything is opened or pinned: the boot
	 * would only hang. */
	if (!ret && kvm_flavor_pvm_in_sysfs("/sys")) {
		kvm_flavor_pvm_refusal("/sys/module/kvm_pvm exists", why, sizeof(why));
		ret = err_set(e, -EOPNOTSUPP, "%s", why);
	}
	return ret;
}

static int linux_check_kvm(struct guest *g, const struct vm *vm, struct err *e)
{
	char why[512];

	if (!kvm_flavor_pvm_in_cpuid(vm->cpuid))
		return 0;
	kvm_flavor_pvm_refusal("KVM's CPUID carries the PVM signature", why, sizeof(why));
	return err_set(e, -EOPNOTSUPP, "%s", why);
}

static int linux_plan(struct guest *g, struct machine_map *map, struct err *e)
{
	char a[32], b[32];

	if (map->ram_bytes < LINUX_MIN_RAM)
		return err_set(e, -EINVAL, "guest RAM of %s is too small for a Linux guest: give it %s or more",
			       size_format(map->ram_bytes, a, sizeof(a)),
			       size_format(LINUX_MIN_RAM, b, sizeof(b)));
	return linux_layout_plan(&g->info, map, g->initrd_bytes, g->cmdline_len, &g->layout, e);
}

static void linux_irq_line(void *opaque, int level)
{
	struct guest *g = opaque;
	struct kvm_irq_level irq = { .irq = SERIAL_COM1_IRQ, .level = (uint32_t)level };

	/* Both the PIC and the IOAPIC see GSI 4 (KVM's default routing). */
	ioctl(g->vm_fd, KVM_IRQ_LINE, &irq);
}

static void linux_console_line(void *opaque, const char *line)
{
	struct guest *g = opaque;
	struct linux_result res;
	struct err e = { 0 };
	int ret = linux_result_parse(line, &res, &e);

	if (ret == -ENOENT)
		return;
	pthread_mutex_lock(&g->lock);
	g->result_lines++;
	if (!g->result_seen) {	/* the first one counts */
		g->result_seen = true;
		g->result_status = ret;
		g->result = res;
		snprintf(g->result_error, sizeof(g->result_error), "%.250s", e.msg);
	}
	pthread_mutex_unlock(&g->lock);
}

static void linux_end(struct guest *g, enum linux_end end, unsigned cpu)
{
	int none = LINUX_RUNNING;

	if (atomic_compare_exchange_strong(&g->end, &none, (int)end))
		atomic_store(&g->end_cpu, (int)cpu);
}

static void linux_on_reset(void *opaque, unsigned cpu)
{
	linux_end(opaque, LINUX_END_REBOOT, cpu);
}

static void linux_on_verdict(void *opaque, unsigned cpu, uint32_t value)
{
	struct guest *g = opaque;

	atomic_store(&g->port_life_ns, now_ns());
	if (atomic_load(&g->end) == LINUX_RUNNING)
		atomic_store(&g->verdict, value);
	linux_end(g, LINUX_END_VERDICT, cpu);
}

static void linux_on_event(void *opaque, unsigned cpu, uint32_t value)
{
	struct guest *g = opaque;
	uint64_t now = now_ns(), zero = 0;

	atomic_store(&g->port_life_ns, now);
	if (value == DAXVM_GUEST_EVENT_INIT)
		atomic_compare_exchange_strong(&g->init_ns, &zero, now);
	else if (value == DAXVM_GUEST_EVENT_RUNNING)
		atomic_compare_exchange_strong(&g->running_ns, &zero, now);
	else if (value == DAXVM_GUEST_EVENT_DONE)
		atomic_compare_exchange_strong(&g->done_ns, &zero, now);
}

static void linux_on_progress(void *opaque, unsigned cpu, uint32_t mib)
{
	struct guest *g = opaque;

	atomic_store(&g->port_life_ns, now_ns());
	atomic_store(&g->progress_mib, mib);
}

static int linux_create_devices(struct guest *g, const struct guest_machine *m, struct err *e)
{
	static const struct guest_ports_ops ops = {
		.verdict = linux_on_verdict, .event = linux_on_event, .progress = linux_on_progress,
	};
	int ret = x86_linux_irqchip(m->vm, e);

	if (ret)
		return ret;
	g->vm_fd = m->vm->vm_fd;
	g->serial = m->serial;
	serial_set_irq(m->serial, linux_irq_line, g);
	serial_set_line_tap(m->serial, linux_console_line, g);
	ret = i8042_create(&g->kbd, linux_on_reset, g, e);
	if (!ret)
		ret = i8042_attach(g->kbd, m->bus, e);
	if (!ret)
		ret = cmos_rtc_create(&g->rtc, NULL, e);
	if (!ret)
		ret = cmos_rtc_attach(g->rtc, m->bus, e);
	if (!ret)
		ret = guest_ports_create(&g->ports, &ops, g, e);
	if (!ret)
		ret = guest_ports_attach(g->ports, m->bus, e);
	if (!ret)
		g->devices_attached = true;
	return ret;
}

static int linux_load(struct guest *g, const struct guest_machine *m, struct err *e)
{
	return linux_guest_write_ram(g, m, e);
}

static int linux_setup_vcpu(struct guest *g, const struct guest_machine *m, unsigned cpu,
			    int vcpu_fd, struct err *e)
{
	return x86_linux_vcpu(m->vm, vcpu_fd, cpu, g->layout.entry_gpa, LINUX_ZERO_PAGE_GPA, e);
}

static int linux_start_devices(struct guest *g, struct err *e)
{
	uint64_t now = now_ns();

	atomic_store(&g->start_ns, now);
	atomic_store(&g->port_life_ns, now);
	return 0;
}

static int linux_io_done(void *opaque, unsigned cpu)
{
	struct guest *g = opaque;

	return atomic_load(&g->end) == LINUX_RUNNING ? VCPU_RUNNING : VCPU_END_DONE;
}

/* The kernel's first instruction cannot be seen from outside: "ready" is the vCPUs'
 * start; /init and the running tool are timed by their events. */
static bool linux_ready(struct guest *g, uint64_t *first_ns, uint64_t *all_ns)
{
	uint64_t t = atomic_load(&g->start_ns);

	if (!t)
		return false;
	*first_ns = *all_ns = t;
	return true;
}

static bool linux_finished(struct guest *g)
{
	return atomic_load(&g->end) != LINUX_RUNNING;
}

/* The tool stops by itself after the duration on its command line. */
static void linux_request_stop(struct guest *g)
{
}

static bool linux_alive(struct guest *g, unsigned cpu, uint64_t now, char *why, size_t len)
{
	unsigned long bytes = g->serial ? serial_bytes_written(g->serial) : 0;
	uint64_t life = atomic_load(&g->port_life_ns), running = atomic_load(&g->running_ns);
	bool init = atomic_load(&g->init_ns) != 0;
	double hang = g->cfg->hang_s, limit = init || hang > LINUX_BOOT_SILENCE_S ? hang : LINUX_BOOT_SILENCE_S;
	/* The tool runs at least its duration and two passes, which on a slow (nested) host can
	 * take several times the duration: only a tool far past it, still reporting, is stuck. */
	double late = 10.0 * hang > LINUX_LATE_MIN_S ? 10.0 * hang : LINUX_LATE_MIN_S;

	if (linux_finished(g))
		return true;
	if (bytes != g->seen_serial_bytes) {
		g->seen_serial_bytes = bytes;
		g->serial_life_ns = now;
	}
	if (g->serial_life_ns > life)
		life = g->serial_life_ns;
	if (running && now > running && (double)(now - running) / 1e9 > g->cfg->duration_s + late) {
		snprintf(why, len, "the Linux guest's tool ran %.1f s, past its %.1f s duration, without a verdict (last progress %" PRIu32 " MiB verified)",
			 (double)(now - running) / 1e9, g->cfg->duration_s, atomic_load(&g->progress_mib));
		return false;
	}
	if (now > life && (double)(now - life) / 1e9 > limit) {
		snprintf(why, len, "the Linux guest hung: no console output and no report for %.1f s %s (%" PRIu32 " MiB verified)",
			 (double)(now - life) / 1e9,
			 running ? "while its tool ran" : init ? "after /init started" : "before /init started",
			 atomic_load(&g->progress_mib));
		return false;
	}
	return true;
}

static void linux_explain_end(struct guest *g, unsigned cpu, int end, const char *vcpu_why,
			      char *why, size_t len)
{
	why[0] = '\0';
	if (linux_finished(g))
		return;		/* the guest ended first: what its vCPUs did after does not count */
	if (end == VCPU_END_SHUTDOWN)
		snprintf(why, len, "the Linux guest shut down on vCPU %u (KVM_EXIT_SHUTDOWN: a triple fault, or a reset other than the i8042's): see the console",
			 cpu);
	else if (end == VCPU_END_ERROR || end == VCPU_END_EXCEPTION)
		snprintf(why, len, "vCPU %u: %s", cpu, vcpu_why);
}

static void linux_progress(struct guest *g, struct guest_progress *p)
{
	memset(p, 0, sizeof(*p));
	p->verified_bytes = (uint64_t)atomic_load(&g->progress_mib) << 20;
}

static void linux_quiesce(struct guest *g)
{
}

static void linux_destroy_devices(struct guest *g)
{
	if (g->serial) {
		serial_set_irq(g->serial, NULL, NULL);
		serial_set_line_tap(g->serial, NULL, NULL);
		g->serial = NULL;
	}
	i8042_destroy(g->kbd);
	g->kbd = NULL;
	guest_ports_destroy(g->ports);
	g->ports = NULL;
	cmos_rtc_destroy(g->rtc);
	g->rtc = NULL;
	g->vm_fd = -1;
}

static void linux_destroy(struct guest *g)
{
	if (!g)
		return;
	linux_destroy_devices(g);
	free(g->kernel);
	free(g->initrd);
	free(g->cmdline);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* On a vCPU thread: the 8250's interrupt (linux_irq_line: KVM_IRQ_LINE on the VM fd only)
 * and the CMOS clock (time(), which falls back to the system calls without a vDSO); console
 * writes, locks and the i8042/ports state are the base set. */
static void linux_vcpu_allow(struct guest *g, struct thread_filter_rules *r)
{
	/* The CMOS clock's first gmtime_r() initialises glibc's time zone, which opens
	 * /etc/localtime (glibc 2.36 tzset_internal; seen refused on a vCPU thread in the lab): do
	 * it now, on the main thread, before any vCPU thread is filtered. */
	tzset();
	thread_filter_rules_add_ioctl(r, g->vm_fd, KVM_IRQ_LINE);
	thread_filter_rules_add(r, SCMP_SYS(time), -1);
	thread_filter_rules_add(r, SCMP_SYS(gettimeofday), -1);
}

const struct guest_ops linux_guest_ops = {
	.name = "linux",
	.ignore_unclaimed_pio = true,
	.hlt_is_idle = true,
	.create = linux_create,
	.check_kvm = linux_check_kvm,
	.plan = linux_plan,
	.create_devices = linux_create_devices,
	.vcpu_allow = linux_vcpu_allow,
	.load = linux_load,
	.setup_vcpu = linux_setup_vcpu,
	.start_devices = linux_start_devices,
	.mmio_done = linux_io_done,
	.ready = linux_ready,
	.finished = linux_finished,
	.request_stop = linux_request_stop,
	.alive = linux_alive,
	.explain_end = linux_explain_end,
	.progress = linux_progress,
	.quiesce = linux_quiesce,
	.collect = linux_guest_collect,	/* vmm/linux_guest_report.c */
	.destroy_devices = linux_destroy_devices,
	.destroy = linux_destroy,
};
