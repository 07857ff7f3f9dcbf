/* The built-in stress guest behind the guest interface: its control device, its DMA engine,
 * its boot area and parameters, readiness and hang detection from the control protocol
 * (guest/abi.h), and what it verified. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/size.h"
#include "devices/ctl.h"
#include "devices/dma_engine.h"
#include "guest/abi.h"
#include "guest/guest_image.h"
#include "vmm/guest.h"
#include "vmm/guest_params.h"
#include "vmm/stress_guest.h"
#include "vmm/vcpu.h"
#include "vmm/x86_boot.h"

#define STRESS_SEED 0x5eed0fda7a5eedULL
#define SZ_1G (1ULL << 30)
/* RAM the pattern workload keeps at least, per vCPU, beside the DMA areas. */
#define STRESS_MIN_PATTERN_BYTES (4ULL << 20)

/* The guest's RAM layout is the machine's: its ABI must agree. */
_Static_assert(GUEST_RAM_LOW_MAX == X86_MMIO_HOLE_START, "guest/abi.h RAM below the MMIO hole");
_Static_assert(GUEST_RAM_HIGH_BASE == X86_MMIO_HOLE_END, "guest/abi.h RAM above the MMIO hole");

struct guest {
	const struct run_config *cfg;
	struct ctl_device *ctl;
	bool ctl_attached;
	struct dma_engine *dma;		/* NULL without DMA (off, or nothing pinned) */
	bool dma_quiesced;
	struct guest_params *params;	/* host view of GUEST_PARAMS_GPA */
	struct x86_boot_info boot;
	unsigned nr_cpus;
};

int stress_guest_check_ram(uint64_t ram_bytes, struct err *e)
{
	char a[32], b[32];

	if (ram_bytes < STRESS_GUEST_MIN_RAM)
		return err_set(e, -EINVAL, "guest RAM of %s is too small for the stress guest: give it %s or more",
			       size_format(ram_bytes, a, sizeof(a)),
			       size_format(STRESS_GUEST_MIN_RAM, b, sizeof(b)));
	return 0;
}

static int stress_create(const struct run_config *cfg, struct guest **out, struct err *e)
{
	struct guest *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g)
		return err_set(e, -ENOMEM, "out of memory for the stress guest");
	if (cfg->cpus == 0 || cfg->cpus > GUEST_MAX_CPUS) {
		free(g);
		return err_set(e, -EINVAL, "the stress guest runs 1 to %d vCPUs, not %u",
			       GUEST_MAX_CPUS, cfg->cpus);
	}
	g->cfg = cfg;
	g->nr_cpus = cfg->cpus;
	*out = g;
	return 0;
}

static int stress_plan(struct guest *g, struct machine_map *map, struct err *e)
{
	struct guest_mem ram;
	struct guest_params p;
	int ret = stress_guest_check_ram(map->ram_bytes, e);

	/* Every vCPU's share of RAM, before KVM is opened (the DMA share is checked at load). */
	if (!ret)
		ret = guest_mem_plan(map, &ram, e);
	if (!ret)
		ret = guest_params_layout(&ram, g->nr_cpus, g->cfg->guest_flags, STRESS_SEED, 0,
					  g->cfg->work_bytes, &p, e);
	if (!ret)
		ret = machine_map_add(map, GUEST_MMIO_CTL_GPA, GUEST_MAX_CPUS * GUEST_CTL_STRIDE,
				      MACHINE_DEVICE, "stress-ctl", e);
	if (!ret && g->cfg->dma)
		ret = machine_map_add(map, GUEST_MMIO_DMA_GPA, GUEST_MMIO_DMA_SIZE, MACHINE_DEVICE,
				      "dma-engine", e);
	return ret;
}

static int stress_create_devices(struct guest *g, const struct guest_machine *m, struct err *e)
{
	const struct run_config *cfg = g->cfg;
	struct dma_config dcfg = {
		.nr_queues = cfg->dma_queues,
		.media_path = cfg->dma_media,
		.vm_fd = m->vm->vm_fd,
		.verify_writes = true,
		.fault_permille = DMA_DEFAULT_FAULT_PERMILLE,
		.seccomp = cfg->seccomp,
	};
	int ret;

	ret = ctl_create(&g->ctl, g->nr_cpus, m->serial, e);
	if (ret)
		return ret;
	ret = ctl_attach(g->ctl, m->bus, e);
	if (ret)
		return ret;
	g->ctl_attached = true;
	/* The device reaches guest RAM only through pins: no pins, no DMA. */
	if (!cfg->dma || !m->pins)
		return 0;
	return dma_engine_create(&dcfg, m->pins, m->bus, &g->dma, e);
}

/* The DMA region sits at the end of the last RAM bank, so it never straddles the hole. */
static uint64_t stress_dma_reserve_bytes(const struct guest *g, const struct guest_mem *mem)
{
	const struct guest_mem_region *last;
	uint64_t spare, bytes, end, edge;

	if (!g->dma || !mem->nr_regions)
		return 0;
	last = &mem->regions[mem->nr_regions - 1];
	/* Half of RAM for DMA keeps the pattern workload its share; small guests give DMA
	 * what it needs at least and keep STRESS_MIN_PATTERN_BYTES per vCPU. */
	spare = mem->ram_bytes / 2;
	if (spare < (2ULL << 20) + (uint64_t)g->nr_cpus * DMA_AREA_MIN_BYTES) {
		spare = mem->ram_bytes - GUEST_RESERVED_BYTES -
			(uint64_t)g->nr_cpus * STRESS_MIN_PATTERN_BYTES;
		if (spare > mem->ram_bytes)	/* underflow: too little RAM */
			return 0;
	}
	if (spare > last->size)
		spare = last->size;
	bytes = dma_engine_region_bytes(g->nr_cpus, spare);
	/* Reach down over the last 1 GiB IOVA edge inside the bank when RAM allows, so one DMA
	 * area can straddle it (the io_uring backend splits a mapping into 1 GiB buffers there). */
	end = last->gpa + last->size;
	edge = (end - 1) & ~(SZ_1G - 1);
	if (edge > last->gpa && edge < end) {
		uint64_t reach = end - (edge - DMA_AREA_MAX_BYTES / 2) + (2ULL << 20);

		reach = (reach + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
		if (reach > bytes && reach <= spare)
			bytes = reach;
	}
	return bytes;
}

static int stress_dma_layout(struct guest *g, const struct guest_mem *mem, struct guest_params *p,
			     struct err *e)
{
	const struct guest_mem_region *last;
	uint64_t bytes = stress_dma_reserve_bytes(g, mem);
	/* Rings (2 MiB) plus the smallest data area per vCPU. */
	uint64_t need = (2ULL << 20) + (uint64_t)g->nr_cpus * DMA_AREA_MIN_BYTES;

	if (!g->dma)
		return 0;
	if (bytes < need)
		return err_set(e, -EINVAL, "guest RAM of %" PRIu64 " MiB is too small for the DMA stress on %u vCPUs (it needs %" PRIu64 " MiB beside the boot area and %" PRIu64 " MiB of pattern area per vCPU): give it %" PRIu64 " MiB or more, or run without DMA",
			       mem->ram_bytes >> 20, g->nr_cpus, need >> 20,
			       (uint64_t)(STRESS_MIN_PATTERN_BYTES >> 20),
			       (uint64_t)((GUEST_RESERVED_BYTES + need + g->nr_cpus * STRESS_MIN_PATTERN_BYTES) >> 20));
	last = &mem->regions[mem->nr_regions - 1];
	return dma_engine_fill_guest_params(g->dma, p, last->gpa + last->size - bytes, bytes, e);
}

static int stress_load(struct guest *g, const struct guest_machine *m, struct err *e)
{
	struct guest_params p;
	int ret;

	g->params = guest_mem_gpa_to_host(m->mem, GUEST_PARAMS_GPA, sizeof(*g->params));
	if (!g->params)
		return err_set(e, -EINVAL, "the stress guest's parameter page at 0x%llx is not in RAM",
			       (unsigned long long)GUEST_PARAMS_GPA);
	ret = x86_boot_prepare(m->mem, g->nr_cpus, &g->boot, e);
	if (!ret)
		ret = guest_params_layout(m->mem, g->nr_cpus, g->cfg->guest_flags, STRESS_SEED,
					  stress_dma_reserve_bytes(g, m->mem), g->cfg->work_bytes, &p, e);
	if (!ret)
		ret = stress_dma_layout(g, m->mem, &p, e);
	if (!ret)
		memcpy(g->params, &p, sizeof(p));
	return ret;
}

static int stress_setup_vcpu(struct guest *g, const struct guest_machine *m, unsigned cpu,
			     int vcpu_fd, struct err *e)
{
	bool broken_idt = g->cfg->guest_flags & GUEST_F_TRIPLE_FAULT;

	return x86_boot_vcpu(m->vm, vcpu_fd, cpu, &g->boot, broken_idt, e);
}

static int stress_start_devices(struct guest *g, struct err *e)
{
	return g->dma ? dma_engine_start(g->dma, e) : 0;
}

static int stress_mmio_done(void *opaque, unsigned cpu)
{
	struct guest *g = opaque;
	struct ctl_cpu_state st;

	if (!ctl_cpu_finished(g->ctl, cpu))
		return VCPU_RUNNING;
	ctl_snapshot(g->ctl, cpu, &st);
	return st.exception ? VCPU_END_EXCEPTION : VCPU_END_DONE;
}

static bool stress_ready(struct guest *g, uint64_t *first_ns, uint64_t *all_ns)
{
	uint64_t first = 0, last = 0;

	for (unsigned i = 0; i < g->nr_cpus; i++) {
		struct ctl_cpu_state st;

		ctl_snapshot(g->ctl, i, &st);
		if (!st.ready)
			return false;
		if (!first || st.ready_ns < first)
			first = st.ready_ns;
		if (st.ready_ns > last)
			last = st.ready_ns;
	}
	*first_ns = first;
	*all_ns = last;
	return true;
}

static void stress_request_stop(struct guest *g)
{
	if (g->params)
		__atomic_store_n(&g->params->stop, 1, __ATOMIC_SEQ_CST);
}

static bool stress_alive(struct guest *g, unsigned cpu, uint64_t now_ns, char *why, size_t len)
{
	uint64_t hang_ns = (uint64_t)(g->cfg->hang_s * 1e9);
	struct ctl_cpu_state st;

	ctl_snapshot(g->ctl, cpu, &st);
	if (now_ns <= st.last_seen_ns || now_ns - st.last_seen_ns <= hang_ns)
		return true;
	snprintf(why, len, "vCPU %u hung: no report from the guest for %.1f s (after %" PRIu64 " bytes verified)",
		 cpu, (double)(now_ns - st.last_seen_ns) / 1e9, st.progress_bytes);
	return false;
}

/* The built-in guest runs only its own image, identity-mapped at GUEST_IMAGE_GPA. */
static bool stress_code_contains(struct guest *g, uint64_t rip)
{
	(void)g;
	return rip >= GUEST_IMAGE_GPA && rip - GUEST_IMAGE_GPA < guest_image_size;
}

static void stress_explain_end(struct guest *g, unsigned cpu, int end, const char *vcpu_why,
			       char *why, size_t len)
{
	struct ctl_cpu_state st;

	switch (end) {
	case VCPU_END_EXCEPTION:
		ctl_snapshot(g->ctl, cpu, &st);
		snprintf(why, len, "guest exception on vCPU %u: vector %" PRIu64 " (%s), error code 0x%" PRIx64 ", RIP 0x%" PRIx64 ", CR2 0x%" PRIx64,
			 cpu, st.exc_vector, x86_exception_name(st.exc_vector), st.exc_error,
			 st.exc_rip, st.exc_cr2);
		break;
	case VCPU_END_SHUTDOWN:
		snprintf(why, len, "guest %s on vCPU %u", vcpu_why, cpu);
		break;
	case VCPU_END_ERROR:
		snprintf(why, len, "vCPU %u: %s", cpu, vcpu_why);
		break;
	default:
		why[0] = '\0';
		break;
	}
}

static void stress_progress(struct guest *g, struct guest_progress *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < g->nr_cpus; i++) {
		struct ctl_cpu_state st;

		ctl_snapshot(g->ctl, i, &st);
		p->verified_bytes += st.progress_bytes;
	}
	if (g->dma) {
		struct dma_stats ds;

		dma_engine_get_stats(g->dma, &ds);
		p->has_dma = true;
		p->dma_transfers = ds.transfers;
	}
}

static uint64_t stress_stop_dma(struct guest *g, uint64_t since_ns)
{
	return g->dma ? dma_engine_fence(g->dma, since_ns) : 0;
}

static void stress_quiesce(struct guest *g)
{
	if (!g->dma || g->dma_quiesced)
		return;
	g->dma_quiesced = true;
	dma_engine_stop_and_drain(g->dma);
}

static void stress_destroy_devices(struct guest *g)
{
	stress_quiesce(g);
	dma_engine_destroy(g->dma);	/* before the bus and the pins it uses */
	g->dma = NULL;
	ctl_destroy(g->ctl);
	g->ctl = NULL;
}

static void stress_destroy(struct guest *g)
{
	if (g)
		stress_destroy_devices(g);
	free(g);
}

/* On a vCPU thread the control device and the DMA engine's registers need only the base set:
 * locks, console writes (CTL_PUTC) and eventfd doorbell writes when KVM has no ioeventfd. */
static void stress_vcpu_allow(struct guest *g, struct thread_filter_rules *r)
{
	(void)g;
	(void)r;
}

const struct guest_ops stress_guest_ops = {
	.name = "stress",
	.create = stress_create,
	.plan = stress_plan,
	.create_devices = stress_create_devices,
	.vcpu_allow = stress_vcpu_allow,
	.load = stress_load,
	.setup_vcpu = stress_setup_vcpu,
	.start_devices = stress_start_devices,
	.mmio_done = stress_mmio_done,
	.ready = stress_ready,
	.request_stop = stress_request_stop,
	.alive = stress_alive,
	.code_contains = stress_code_contains,
	.explain_end = stress_explain_end,
	.progress = stress_progress,
	.quiesce = stress_quiesce,
	.stop_dma = stress_stop_dma,
	.collect = stress_guest_collect,	/* vmm/stress_guest_report.c */
	.destroy_devices = stress_destroy_devices,
	.destroy = stress_destroy,
};

/* For stress_guest_report.c: the parts it reads. */
struct ctl_device *stress_guest_ctl(struct guest *g) { return g->ctl; }
struct dma_engine *stress_guest_dma(struct guest *g) { return g->dma; }
const struct guest_params *stress_guest_params(struct guest *g) { return g->params; }
unsigned stress_guest_cpus(struct guest *g) { return g->nr_cpus; }
