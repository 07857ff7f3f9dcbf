/* What the Linux guest found: how it ended, its tool's verdict and counts, launch -> /init
 * and launch -> tool running, and its boot layout. The guest's verdict is a failure unless
 * the verdict port said pass, the result line says pass, and nothing mismatched. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "guest/linux/daxvm_guest_abi.h"
#include "vmm/linux_guest.h"
#include "vmm/x86_xstate.h"

static double launch_ms(const struct guest_machine *m, uint64_t at_ns)
{
	if (!at_ns || at_ns < m->cmd_start_ns)
		return 0.0;
	return m->process_age_ms + (double)(at_ns - m->cmd_start_ns) / 1e6;
}

static const char *end_name(int end)
{
	switch (end) {
	case LINUX_END_VERDICT: return "verdict";
	case LINUX_END_REBOOT: return "rebooted";
	default: return "stopped";
	}
}

static const char *verdict_name(uint32_t v)
{
	switch (v) {
	case DAXVM_GUEST_PASS: return "pass";
	case DAXVM_GUEST_FAIL_MISMATCH: return "mismatch";
	case DAXVM_GUEST_FAIL_SETUP: return "setup failed";
	case DAXVM_GUEST_FAIL_DEVICE: return "device check failed";
	default: return "unknown failure code";
	}
}

/* One sentence when the guest's own outcome is a failure (empty otherwise). */
static void judge(struct guest *g, int end, uint32_t verdict, char *out, size_t len)
{
	const struct linux_result *res = &g->result;

	out[0] = '\0';
	if (end == LINUX_END_REBOOT) {
		snprintf(out, len, "the Linux guest rebooted before reporting a verdict (with panic=-1 a kernel panic reboots at once): see the console%s",
			 g->result_seen ? "" : "; no result line was printed");
		return;
	}
	if (end != LINUX_END_VERDICT) {
		snprintf(out, len, "the Linux guest never reported a verdict on port 0x%x", DAXVM_GUEST_EXIT_PORT);
		return;
	}
	if (verdict != DAXVM_GUEST_PASS) {
		snprintf(out, len, "the guest's tool failed: %s (verdict code %" PRIu32 ")%s%s",
			 verdict_name(verdict), verdict,
			 g->result_seen && g->result.mismatches ? ", mismatches reported" : "",
			 g->result_seen && g->result.first_mismatch[0] ? ", first at " : "");
		if (g->result_seen && g->result.first_mismatch[0])
			snprintf(out + strlen(out), len - strlen(out), "%s", g->result.first_mismatch);
		return;
	}
	if (!g->result_seen)
		snprintf(out, len, "the guest reported pass on port 0x%x but printed no %sline", DAXVM_GUEST_EXIT_PORT,
			 DAXVM_GUEST_RESULT_PREFIX);
	else if (g->result_status)
		snprintf(out, len, "%s", g->result_error);
	else if (!res->pass)
		snprintf(out, len, "the guest's result line says fail although its verdict port said pass");
	else if (res->mismatches)
		snprintf(out, len, "the guest found %" PRIu64 " mismatches (first at %s)", res->mismatches,
			 res->first_mismatch[0] ? res->first_mismatch : "?");
}

int linux_guest_collect(struct guest *g, const struct guest_machine *m, struct report *r,
			char *guest_failure, char *device_failure, size_t len)
{
	int end = atomic_load(&g->end);
	uint32_t verdict = atomic_load(&g->verdict);
	uint64_t init = atomic_load(&g->init_ns), running = atomic_load(&g->running_ns);
	int ret = 0;

	device_failure[0] = '\0';
	pthread_mutex_lock(&g->lock);
	judge(g, end, verdict, guest_failure, len);
	ret |= report_set_str(r, "guest.kind", "linux");
	ret |= report_set_str(r, "guest.linux.end", end_name(end));
	ret |= report_set_str(r, "guest.verdict",
			      end != LINUX_END_VERDICT ? "none" : guest_failure[0] ? "fail" : "pass");
	if (end == LINUX_END_VERDICT)
		ret |= report_set_u64(r, "guest.linux.verdict_code", verdict);
	ret |= report_set_bool(r, "guest.linux.result_line", g->result_seen && !g->result_status);
	ret |= report_set_u64(r, "guest.verified_bytes", g->result_seen ? g->result.bytes_verified : 0);
	ret |= report_set_u64(r, "guest.mismatches", g->result_seen ? g->result.mismatches : 0);
	if (g->result_seen && !g->result_status) {
		ret |= report_set_str(r, "guest.linux.tool", g->result.tool);
		ret |= report_set_u64(r, "guest.linux.threads", g->result.threads);
		ret |= report_set_u64(r, "guest.linux.ram_bytes_tested", g->result.ram_bytes);
		ret |= report_set_u64(r, "guest.linux.pmem_bytes_tested", g->result.pmem_bytes);
		ret |= report_set_str(r, "guest.linux.pmem_device", g->result.pmem_device);
		ret |= report_set_double(r, "guest.linux.tool_seconds", g->result.seconds);
		if (g->result.first_mismatch[0])
			ret |= report_set_str(r, "guest.first_mismatch_gpa", g->result.first_mismatch);
	}
	pthread_mutex_unlock(&g->lock);
	ret |= report_set_u64(r, "guest.linux.progress_mib", atomic_load(&g->progress_mib));
	ret |= report_set_str(r, "guest.linux.kernel", g->cfg->kernel);
	ret |= report_set_str(r, "guest.linux.initrd", g->cfg->initrd ? g->cfg->initrd : "");
	ret |= report_set_str(r, "guest.linux.cmdline", g->cmdline);
	ret |= report_set_u64(r, "guest.linux.boot_protocol", g->info.version);
	ret |= report_set_u64(r, "guest.linux.boot_xcr0", x86_xstate_guest_xcr0(m->vm->cpuid));
	ret |= report_set_u64(r, "guest.linux.kernel_gpa", g->layout.kernel_gpa);
	ret |= report_set_u64(r, "guest.linux.init_size", g->info.init_size);
	ret |= report_set_u64(r, "guest.linux.initrd_gpa", g->layout.initrd_gpa);
	ret |= report_set_u64(r, "guest.linux.initrd_bytes", g->layout.initrd_bytes);
	ret |= report_set_u64(r, "guest.linux.i8042_resets", g->kbd ? i8042_resets(g->kbd) : 0);
	if (m->serial)
		ret |= report_set_u64(r, "guest.linux.serial_irqs", serial_irqs_raised(m->serial));
	if (init)
		ret |= report_set_double(r, "timing.launch_to_init_ms", launch_ms(m, init));
	if (running)
		ret |= report_set_double(r, "timing.launch_to_running_ms", launch_ms(m, running));
	return ret ? -EINVAL : 0;
}
