/* The DMA stages of 'daxvm run': the DMA engine device on the bus, its share of guest RAM
 * (rings and data areas at the end of RAM, apart from the pattern areas), start before the
 * vCPUs, stop and drain after them, and its part of the report. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/size.h"
#include "vmm/session.h"

/* RAM the pattern workload keeps at least, per vCPU, beside the DMA areas. */
#define SESSION_MIN_PATTERN_BYTES (4ULL << 20)

int session_dma_create(struct run_session *s, struct err *e)
{
	struct dma_config cfg = {
		.nr_queues = s->opt->dma_queues,
		.media_path = s->opt->dma_media,
		.vm_fd = s->vm.vm_fd,
		.verify_writes = true,
		.fault_permille = DMA_DEFAULT_FAULT_PERMILLE,
	};

	if (!s->opt->dma || !s->pins)
		return 0;
	return dma_engine_create(&cfg, s->pins, s->bus, &s->dma, e);
}

/* The DMA region sits at the end of the last RAM bank, so it never straddles the hole. */
uint64_t session_dma_reserve_bytes(const struct run_session *s)
{
	const struct guest_mem_region *last;
	uint64_t spare;

	if (!s->dma || !s->mem.nr_regions)
		return 0;
	last = &s->mem.regions[s->mem.nr_regions - 1];
	/* Half of RAM for DMA keeps the pattern workload its share; small guests give DMA
	 * what it needs at least and keep SESSION_MIN_PATTERN_BYTES per vCPU. */
	spare = s->mem.ram_bytes / 2;
	if (spare < (2ULL << 20) + (uint64_t)s->nr_vcpus * DMA_AREA_MIN_BYTES) {
		spare = s->mem.ram_bytes - GUEST_RESERVED_BYTES -
			(uint64_t)s->nr_vcpus * SESSION_MIN_PATTERN_BYTES;
		if (spare > s->mem.ram_bytes)	/* underflow: too little RAM */
			return 0;
	}
	if (spare > last->size)
		spare = last->size;
	return dma_engine_region_bytes(s->nr_vcpus, spare);
}

int session_dma_layout(struct run_session *s, struct guest_params *p, struct err *e)
{
	const struct guest_mem_region *last;
	uint64_t bytes = session_dma_reserve_bytes(s);
	/* Rings (2 MiB) plus the smallest data area per vCPU. */
	uint64_t need = (2ULL << 20) + (uint64_t)s->nr_vcpus * DMA_AREA_MIN_BYTES;

	if (!s->dma)
		return 0;
	if (bytes < need)
		return err_set(e, -EINVAL, "guest RAM of %" PRIu64 " MiB is too small for the DMA stress on %u vCPUs (it needs %" PRIu64 " MiB beside the boot area and %" PRIu64 " MiB of pattern area per vCPU): use --mem-size %" PRIu64 "M or more, or --dma off",
			       s->mem.ram_bytes >> 20, s->nr_vcpus, need >> 20, (uint64_t)(SESSION_MIN_PATTERN_BYTES >> 20),
			       (uint64_t)((GUEST_RESERVED_BYTES + need + s->nr_vcpus * SESSION_MIN_PATTERN_BYTES) >> 20));
	last = &s->mem.regions[s->mem.nr_regions - 1];
	return dma_engine_fill_guest_params(s->dma, p, last->gpa + last->size - bytes, bytes, e);
}

int session_dma_start(struct run_session *s, struct err *e)
{
	return s->dma ? dma_engine_start(s->dma, e) : 0;
}

void session_stop_dma(struct run_session *s)
{
	char why[512];

	if (!s->dma || s->dma_stopped)
		return;
	s->dma_stopped = true;
	dma_engine_stop_and_drain(s->dma);
	/* The guest's counters are read through the pins: before unpinning. */
	if (s->report && dma_engine_fill_report(s->dma, s->report))
		fprintf(stderr, "daxvm: internal error: the report rejected a DMA key\n");
	if (!dma_engine_verdict_ok(s->dma, why, sizeof(why)))
		session_fail(s, "DMA: %s", why);
}

int session_dma_report(struct run_session *s, struct report *r)
{
	if (!s->dma)
		return report_set_str(r, "dma.state", s->opt->dma ? "off: no pinned memory (--pin none)"
								    : "off (--dma off)");
	return 0;	/* filled by session_stop_dma() */
}

void session_dma_summary(struct run_session *s, FILE *out)
{
	struct dma_stats st;
	char a[32], b[32];
	double secs;

	if (!s->dma) {
		fprintf(out, "  dma      off%s\n", s->opt->dma ? " (nothing pinned)" : " (--dma off)");
		return;
	}
	dma_engine_get_stats(s->dma, &st);
	secs = (double)st.busy_ns / 1e9;
	fprintf(out, "  dma      %s transfers verified (%s, %.2f GiB/s) on %u queue%s through %s pins,\n"
		     "           %" PRIu64 " IOMMU faults (injected on purpose), %" PRIu64 " verify failures\n",
		count_format(st.transfers, a, sizeof(a)), size_format(st.bytes, b, sizeof(b)),
		secs > 0 ? (double)st.bytes / secs / (double)(1ULL << 30) : 0.0, s->opt->dma_queues,
		s->opt->dma_queues == 1 ? "" : "s", s->pin_backend_name, st.iommu_faults,
		st.host_verify_failures + st.guest_verify_failures);
}
