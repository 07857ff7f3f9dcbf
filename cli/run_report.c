/* The human summary of 'daxvm run', written from the JSON report alone, so the two never
 * disagree. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/run_report.h"
#include "common/size.h"
#include "cli/report_read.h"

static void summary_pinning(const struct report *r, FILE *out)
{
	char a[32], b[32], c[32];
	const char *backend = str(r, "pinning.backend", "none");

	if (!strcmp(backend, "none")) {
		fprintf(out, "  pinning  none (--pin %s): guest RAM was not pinned, no DMA\n",
			str(r, "pinning.requested", "none"));
		return;
	}
	fprintf(out, "  populate %s on %" PRIu64 " thread%s (%s) in %.1f ms\n",
		size_format(u64(r, "backing.size_bytes"), a, sizeof(a)), u64(r, "pinning.populate_threads"),
		u64(r, "pinning.populate_threads") == 1 ? "" : "s", str(r, "pinning.populate_method", "none"),
		dbl(r, "timing.populate_ms"));
	fprintf(out, "  pinning  %s pages pinned with %s on %s (%s expected) in %.1f ms, unpinned in %.1f ms,\n"
		     "           %s leaked; vmstat +%" PRId64 " acquired, net %" PRId64 " after unpin;\n"
		     "           evidence: %s\n",
		count_format(u64(r, "pinning.pinned_pages"), a, sizeof(a)), backend,
		str(r, "backing.kind", "?"), count_format(u64(r, "pinning.expected_pages"), b, sizeof(b)),
		dbl(r, "timing.pin_ms"), dbl(r, "timing.unpin_ms"),
		count_format(u64(r, "pinning.leaked_pins"), c, sizeof(c)),
		i64(r, "pinning.vmstat_while_pinning.acquired"), i64(r, "pinning.vmstat_after_unpin.net"),
		str(r, "pinning.evidence_why", str(r, "pinning.evidence", "?")));
	fprintf(out, "  frames   %s pages checked in %" PRIu64 " samples: %" PRIu64 " moved, %" PRIu64
		     " not present, %" PRIu64 " outside devmap%s\n",
		count_format(u64(r, "validation.pages_checked"), a, sizeof(a)), u64(r, "validation.samples"),
		u64(r, "validation.pfn_changes"), u64(r, "validation.not_present"),
		u64(r, "validation.outside_devmap"),
		flag(r, "backing.devmap") ? "" : " (not devdax: range check n/a)");
	if (report_get_str(r, "validation.skipped"))
		fprintf(out, "  skipped  %s\n", report_get_str(r, "validation.skipped"));
}

/* --inject hostile: what the guest threw at the VMM and whether the host came through. */
static void summary_hostile(const struct report *r, FILE *out)
{
	char a[32];

	if (!report_get_str(r, "guest.workload"))
		return;
	fprintf(out, "  hostile  %s accesses refused (%.0f/s): %" PRIu64 " to unclaimed MMIO, %" PRIu64
		     " control, %" PRIu64 " DMA;\n"
		     "           %" PRIu64 " guest exceptions survived; guard pages: %" PRIu64 " touched; host %s\n",
		count_format(u64(r, "hostile.refused_accesses"), a, sizeof(a)), dbl(r, "hostile.refused_per_s"),
		u64(r, "hostile.unclaimed_io"), u64(r, "hostile.ctl_bad_writes"), u64(r, "hostile.dma_refused"),
		u64(r, "hostile.exceptions"), u64(r, "hostile.guard_violations"),
		flag(r, "hostile.host_intact") ? "intact" : "NOT intact");
}

static void summary_dma(const struct report *r, FILE *out, const struct run_config *cfg)
{
	char a[32], b[32];
	uint64_t queues = u64(r, "dma.queues");

	if (report_get_str(r, "dma.state") || cfg->kernel) {
		fprintf(out, "  dma      off%s\n", cfg->kernel ? " (a Linux guest has no DMA engine)"
					     : cfg->dma ? " (nothing pinned)" : " (--dma off)");
		return;
	}
	fprintf(out, "  dma      %s transfers verified (%s, %.2f GiB/s) on %" PRIu64 " queue%s through %s pins,\n"
		     "           %" PRIu64 " IOMMU faults (injected on purpose), %" PRIu64 " verify failures\n",
		count_format(u64(r, "dma.transfers"), a, sizeof(a)), size_format(u64(r, "dma.bytes"), b, sizeof(b)),
		dbl(r, "dma.gib_per_s"), queues, queues == 1 ? "" : "s", str(r, "pinning.backend", "?"),
		u64(r, "dma.iommu_faults"), u64(r, "dma.verify_failures"));
}

/* The Linux guest: how it ended, what its tool verified, when /init and the tool started. */
static void summary_linux(const struct report *r, FILE *out)
{
	char a[32], b[32];
	uint64_t proto = u64(r, "guest.linux.boot_protocol");

	fprintf(out, "  guest    Linux %s (boot protocol %" PRIu64 ".%02" PRIu64 "), %" PRIu64 " vCPUs, %s RAM, initrd %s;\n"
		     "           ended by %s, guest verdict %s, %" PRIu64 " unclaimed port accesses (%s)\n",
		str(r, "guest.linux.kernel", "?"), proto >> 8, proto & 0xff, u64(r, "guest.vcpus"),
		size_format(u64(r, "guest.ram_bytes"), a, sizeof(a)), str(r, "guest.linux.initrd", "none"),
		str(r, "guest.linux.end", "?"), str(r, "guest.verdict", "none"),
		u64(r, "guest.unclaimed_port_accesses"), str(r, "guest.unclaimed_ports", ""));
	fprintf(out, "  verified %s by the in-guest %s tool on %" PRIu64 " threads in %.2f s (%s/s over the run), %" PRIu64 " mismatches\n",
		size_format(u64(r, "guest.verified_bytes"), a, sizeof(a)), str(r, "guest.linux.tool", "?"),
		u64(r, "guest.linux.threads"), dbl(r, "guest.linux.tool_seconds"),
		size_format((uint64_t)dbl(r, "guest.verified_bytes_per_s"), b, sizeof(b)),
		u64(r, "guest.mismatches"));
	fprintf(out, "  linux    launch to /init %.1f ms, to the tool running %.1f ms\n",
		dbl(r, "timing.launch_to_init_ms"), dbl(r, "timing.launch_to_running_ms"));
}

/* Passed-through devices (--device): one line each, then the bus's counters. */
static void summary_pci(const struct report *r, FILE *out)
{
	uint64_t n = u64(r, "pci.devices");

	for (uint64_t i = 0; i < n; i++) {
		char k[64];

#define PK(name) (snprintf(k, sizeof(k), "pci.device%" PRIu64 "." name, i), k)
		fprintf(out, "  device   vfio-pci %s (IOMMU group %" PRId64 ") at 00:%02" PRIx64 ".0 IRQ %" PRIu64
			", interrupts %s, %" PRId64 " delivered; reset %s/%s, bus master at stop %s%s\n",
			str(r, PK("host"), "?"), i64(r, PK("iommu_group")), u64(r, PK("slot")), u64(r, PK("irq")),
			str(r, PK("interrupts_wired"), "?"), i64(r, PK("interrupts_delivered")),
			str(r, PK("reset_at_start"), "?"), str(r, PK("reset_at_stop"), "?"),
			flag(r, PK("bus_master_at_stop")) ? (flag(r, PK("bus_master_cleared")) ? "on, cleared" : "ON, NOT cleared")
							   : "off",
			flag(r, PK("dma_hazard")) ? ": DMA HAZARD" : "");
#undef PK
	}
	if (n)
		fprintf(out, "  pci      %" PRIu64 " BAR moves, %" PRIu64 " refused, %" PRIu64 " config errors, %" PRIu64
			" unclaimed accesses\n", u64(r, "pci.bar_moves"), u64(r, "pci.refused_bar_moves"),
			u64(r, "pci.config_errors"), u64(r, "pci.unclaimed_accesses"));
}

void run_summary(const struct report *r, const struct run_config *cfg, FILE *out)
{
	char a[32], b[32], c[32], d[32];
	const char *kind = str(r, "backing.kind", "?"), *path = str(r, "backing.path", "");
	const char *why = str(r, "backing.why", "");
	uint64_t ram = u64(r, "guest.ram_bytes"), low = u64(r, "guest.ram_low_bytes");
	double run_ms = dbl(r, "timing.run_ms");

	if (!strcmp(str(r, "verdict", "FAIL"), "PASS"))
		fprintf(out, "daxvm run: PASS\n");
	else
		fprintf(out, "daxvm run: FAIL: %s\n", str(r, "reason", "no reason recorded"));
	fprintf(out, "  backing  %s%s%s, %s pages, %s%s: %s\n", kind, strcmp(path, kind) ? " " : "",
		strcmp(path, kind) ? path : "", size_format(u64(r, "backing.page_size"), a, sizeof(a)),
		size_format(u64(r, "backing.size_bytes"), b, sizeof(b)),
		flag(r, "backing.devmap") ? ", devmap" : "", why[0] ? why : "as requested");
	if (!strcmp(str(r, "guest.kind", "stress"), "linux")) {
		summary_linux(r, out);
		goto timing;
	}
	fprintf(out, "  guest    %" PRIu64 " vCPUs at CPL3, %s RAM (%s at 0, %s at 4 GiB), %s pattern area per vCPU\n",
		u64(r, "guest.vcpus"), size_format(ram, a, sizeof(a)), size_format(low, b, sizeof(b)),
		size_format(ram - low, c, sizeof(c)),
		size_format(u64(r, "guest.work_bytes_per_vcpu"), d, sizeof(d)));
	fprintf(out, "  verified %s written and read back as address-tagged patterns in %.2f s (%s/s),\n"
		     "           at least %" PRIu64 " full passes per vCPU, %" PRIu64 " mismatches\n",
		size_format(u64(r, "guest.verified_bytes"), a, sizeof(a)), run_ms / 1e3,
		size_format((uint64_t)dbl(r, "guest.verified_bytes_per_s"), b, sizeof(b)),
		u64(r, "guest.passes_min"), u64(r, "guest.mismatches"));
	if (report_get_str(r, "guest.exception.name"))
		fprintf(out, "  guest    exception on vCPU %" PRIu64 ": vector %" PRIu64 " (%s) at RIP 0x%" PRIx64 "\n",
			u64(r, "guest.exception.cpu"), u64(r, "guest.exception.vector"),
			str(r, "guest.exception.name", "?"), u64(r, "guest.exception.rip"));
timing:
	fprintf(out, "  timing   launch to first guest instruction %.1f ms (run command to it %.1f ms),\n"
		     "           map %.1f ms, boot %.1f ms, run %.0f ms\n",
		dbl(r, "timing.launch_to_first_insn_ms"), dbl(r, "timing.cmd_to_first_insn_ms"),
		dbl(r, "timing.map_ms"), dbl(r, "timing.boot_ms"), run_ms);
	summary_pinning(r, out);
	summary_dma(r, out, cfg);
	summary_pci(r, out);
	summary_hostile(r, out);
	fflush(out);
}
