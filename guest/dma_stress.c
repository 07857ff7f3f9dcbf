/* Guest DMA stress (guest/dma_abi.h), at CPL3 on each vCPU: submits batches of descriptors
 * with random lengths (512 B .. 2 MiB), alignments and boundary crossings, verifies media->RAM
 * and RAM->RAM data, lets the device verify RAM->media, and injects bad IOVAs it counts. */
#include <stdint.h>

#include "guest/dma_abi.h"
#include "guest/dma_stress.h"

#define BATCH			8		/* descriptors in flight per vCPU (< ring entries) */
#define CALL_DESCRIPTORS	64		/* descriptors per call: the pattern workload interleaves, */
#define CALL_BYTES		(32ULL << 20)	/* and its CTL writes keep the VMM hang check fed */
#define SAMPLE_STRIDE		64		/* verify one 8-byte word every 64 bytes (64 per 4 KiB page) */
#define MIN_LEN			512ULL
#define MAX_LEN			(2ULL << 20)
#define SZ_4K			4096ULL
#define SZ_2M			(2ULL << 20)
#define SZ_1G			(1ULL << 30)
#define FAULT_OP		0xffu		/* pending.kind of a deliberately bad descriptor */

typedef uint64_t u64_unaligned __attribute__((aligned(1), may_alias));

struct pending {
	uint32_t slot;		/* ring index */
	uint32_t kind;		/* enum dma_op, or FAULT_OP */
	uint64_t iova, iova2, len, media_off, seed;
};

struct dma_cpu {
	int state;		/* 0 = not set up, 1 = running, -1 = device absent */
	uint64_t rng;
	uint32_t prod;
	uint32_t entries;
	uint64_t align, area, area_bytes, boundary_1g;	/* boundary_1g: 0 when the area crosses none */
	uint64_t wslice_off, wslice_len, read_bytes;
	uint64_t injected;
	struct pending pend[BATCH];
	unsigned nr_pend;
};

static struct dma_cpu cpus[DMA_MAX_RINGS];

#ifdef DMA_STRESS_HOST_TEST
/* Host-side test build (tests/unit/dma): MMIO goes to the test, which routes it to the bus. */
uint64_t dma_stress_test_mmio(unsigned cpu, uint64_t gpa, uint64_t value, int is_write);
void dma_stress_test_relax(void);
#define mmio_read(cpu, gpa)		dma_stress_test_mmio(cpu, gpa, 0, 0)
#define mmio_write(cpu, gpa, v)		((void)dma_stress_test_mmio(cpu, gpa, v, 1))
#define cpu_relax()			dma_stress_test_relax()
#else
#define mmio_read(cpu, gpa)		(*(volatile uint64_t *)(gpa))
#define mmio_write(cpu, gpa, v)		((void)(*(volatile uint64_t *)(gpa) = (v)))
#define cpu_relax()			__asm__ volatile("pause")
#endif

static inline uint64_t dma_reg_gpa(unsigned cpu, uint64_t reg)
{
	return GUEST_MMIO_DMA_GPA + cpu * DMA_REG_STRIDE + reg;
}

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static uint64_t rnd(struct dma_cpu *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(struct dma_cpu *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v / a * a;
}

static struct dma_ring_header *ring_hdr(volatile struct guest_params *p, unsigned cpu)
{
	return (struct dma_ring_header *)p->dma_ring_gpa[cpu];
}

static struct dma_desc *ring_desc(volatile struct guest_params *p, unsigned cpu, uint32_t slot)
{
	return (struct dma_desc *)(p->dma_ring_gpa[cpu] + sizeof(struct dma_ring_header)) + slot;
}

static int setup(volatile struct guest_params *p, unsigned cpu, struct dma_cpu *s)
{
	struct dma_ring_header *h = ring_hdr(p, cpu);

	if (mmio_read(cpu, dma_reg_gpa(cpu, DMA_REG_ID)) != DMA_ID_VALUE || !p->dma_ring_entries || !p->dma_area_bytes)
		return -1;
	s->rng = (p->seed ^ ((uint64_t)(cpu + 1) * 0x9e3779b97f4a7c15ULL)) | 1;
	s->entries = p->dma_ring_entries;
	s->align = mmio_read(cpu, dma_reg_gpa(cpu, DMA_REG_ALIGN));
	if (!s->align)
		s->align = 1;
	s->area = p->dma_area_gpa[cpu];
	s->area_bytes = p->dma_area_bytes;
	s->boundary_1g = (s->area / SZ_1G + 1) * SZ_1G;
	if (s->boundary_1g >= s->area + s->area_bytes)
		s->boundary_1g = 0;
	s->read_bytes = dma_media_read_bytes(p->media_bytes);
	dma_media_write_slice(p->media_bytes, p->nr_cpus, cpu, &s->wslice_off, &s->wslice_len);
	h->prod = 0;
	h->cons = 0;
	h->faults_injected = 0;
	barrier();
	h->magic = DMA_RING_MAGIC;	/* x86 stores are ordered: the device sees a clean ring */
	return 1;
}

static uint64_t pick_len(struct dma_cpu *s)
{
	unsigned shift = 9 + (unsigned)rnd_below(s, 12);	/* 512 B .. 1 MiB, then up to x2 */
	uint64_t len = (1ULL << shift) + rnd_below(s, 1ULL << shift);

	if (len > MAX_LEN)
		len = MAX_LEN;
	len = align_down(len, s->align);
	return len < MIN_LEN ? (MIN_LEN > s->align ? MIN_LEN : s->align) : len;
}

/* A start in the area for len bytes; a quarter of them straddle a 4 KiB, 2 MiB or 1 GiB edge. */
static uint64_t pick_ram(struct dma_cpu *s, uint64_t len)
{
	uint64_t lo = s->area, hi = s->area + s->area_bytes - len, at;

	if (rnd_below(s, 4) == 0) {
		unsigned k = (unsigned)rnd_below(s, 3);
		uint64_t gran = k == 0 ? SZ_4K : SZ_2M, b;

		if (k == 2 && s->boundary_1g)
			b = s->boundary_1g;
		else
			b = (lo / gran + 1 + rnd_below(s, s->area_bytes / gran - 1)) * gran;
		at = b - 1 - rnd_below(s, len - 1);
	} else {
		at = lo + rnd_below(s, hi - lo + 1);
	}
	if (at < lo)
		at = lo;
	if (at > hi)
		at = hi;
	at = align_down(at - s->area, s->align) + s->area;
	return at;
}

static int overlaps(struct dma_cpu *s, uint64_t a, uint64_t len)
{
	for (unsigned i = 0; i < s->nr_pend; i++) {
		const struct pending *q = &s->pend[i];

		if (q->kind == FAULT_OP)
			continue;
		if (a < q->iova + q->len && q->iova < a + len)
			return 1;
		if (q->kind == DMA_OP_RAM_TO_RAM && a < q->iova2 + q->len && q->iova2 < a + len)
			return 1;
	}
	return 0;
}

/* Byte i of the range holds dma_pattern(seed, origin + i). */
static void fill_pattern(uint64_t ram, uint64_t len, uint64_t seed, uint64_t origin)
{
	uint64_t i = 0;

	for (; i < len && ((origin + i) & 7); i++)
		*(volatile uint8_t *)(ram + i) = dma_pattern_byte(seed, origin + i);
	for (; i + 8 <= len; i += 8)
		*(u64_unaligned *)(ram + i) = dma_pattern_word(seed, (origin + i) >> 3);
	for (; i < len; i++)
		*(volatile uint8_t *)(ram + i) = dma_pattern_byte(seed, origin + i);
}

/* The sampled words: aligned pattern positions every SAMPLE_STRIDE bytes, plus the last
 * whole word, so every 4 KiB page of the transfer is looked at. */
static uint64_t first_sample(uint64_t origin)
{
	return (origin + 7) & ~7ULL;
}

static uint64_t last_sample(uint64_t origin, uint64_t len)
{
	return (origin + len - 8) & ~7ULL;	/* len >= 512: always >= first_sample */
}

static void poison_samples(uint64_t ram, uint64_t len, uint64_t seed, uint64_t origin)
{
	uint64_t last = last_sample(origin, len);

	for (uint64_t o = first_sample(origin); o < last; o += SAMPLE_STRIDE)
		*(u64_unaligned *)(ram + (o - origin)) = ~dma_pattern_word(seed, o >> 3);
	*(u64_unaligned *)(ram + (last - origin)) = ~dma_pattern_word(seed, last >> 3);
}

/* 0, or the guest-physical address of the first wrong sampled word. */
static uint64_t check_samples(uint64_t ram, uint64_t len, uint64_t seed, uint64_t origin)
{
	uint64_t last = last_sample(origin, len);

	for (uint64_t o = first_sample(origin); o < last; o += SAMPLE_STRIDE)
		if (*(u64_unaligned *)(ram + (o - origin)) != dma_pattern_word(seed, o >> 3))
			return ram + (o - origin);
	if (*(u64_unaligned *)(ram + (last - origin)) != dma_pattern_word(seed, last >> 3))
		return ram + (last - origin);
	return 0;
}

/* Writes go to this vCPU's slice of the media: a length that fits it. */
static uint64_t clamp_len(struct dma_cpu *s, uint64_t len, uint64_t room)
{
	if (len > room)
		len = align_down(room, s->align);
	return len;
}

static void make_fault(volatile struct guest_params *p, struct dma_cpu *s, struct dma_desc *d,
		       struct pending *q)
{
	unsigned kind = (unsigned)rnd_below(s, 4);
	uint64_t len = pick_len(s);

	d->op = (uint32_t)(1 + rnd_below(s, 3));
	if (d->op == DMA_OP_RAM_TO_MEDIA)
		len = clamp_len(s, len, s->wslice_len);
	d->len = len;
	d->media_off = d->op == DMA_OP_RAM_TO_MEDIA ? s->wslice_off : 0;
	d->iova2 = pick_ram(s, len);	/* only read for RAM->RAM */
	if (kind == 0) {	/* the MMIO hole: never RAM */
		d->iova = GUEST_RAM_LOW_MAX + align_down(rnd_below(s, 256ULL << 20), s->align);
	} else if (kind == 1) {	/* far above any RAM */
		d->iova = (1ULL << 40) + align_down(rnd_below(s, SZ_1G), s->align);
	} else if (kind == 2) {	/* starts in RAM, runs off the end of low RAM into the hole */
		d->len = len < 2 * SZ_4K ? 2 * SZ_4K : len;
		d->iova = p->ram_low_bytes - SZ_4K;
	} else {		/* RAM->RAM with a good source and a destination in the hole */
		d->op = DMA_OP_RAM_TO_RAM;
		d->iova = pick_ram(s, len);
		d->iova2 = GUEST_RAM_LOW_MAX + align_down(rnd_below(s, 256ULL << 20), s->align);
	}
	q->kind = FAULT_OP;
	q->iova = d->iova;
	s->injected++;
}

/* Prepares the next descriptor in slot; 0 when it must wait for the batch to finish. */
static int prepare(volatile struct guest_params *p, unsigned cpu, struct dma_cpu *s)
{
	struct pending q = { .slot = s->prod % s->entries };
	struct dma_desc *d = ring_desc(p, cpu, q.slot);
	uint64_t len = pick_len(s), r = rnd_below(s, 1000);

	if (r < p->dma_fault_permille) {
		make_fault(p, s, d, &q);
	} else {
		q.kind = (uint32_t)(r % 5 < 2 ? DMA_OP_MEDIA_TO_RAM : r % 5 < 4 ? DMA_OP_RAM_TO_MEDIA
								       : DMA_OP_RAM_TO_RAM);
		len = clamp_len(s, len, q.kind == DMA_OP_RAM_TO_MEDIA ? s->wslice_len : s->read_bytes);
		q.len = len;
		q.iova = pick_ram(s, len);
		q.seed = rnd(s) | 1;
		if (overlaps(s, q.iova, len))
			return 0;
		if (q.kind == DMA_OP_MEDIA_TO_RAM) {
			q.media_off = align_down(rnd_below(s, s->read_bytes - len), s->align);
			poison_samples(q.iova, len, DMA_MEDIA_SEED, q.media_off);
		} else if (q.kind == DMA_OP_RAM_TO_MEDIA) {
			q.media_off = s->wslice_off + align_down(rnd_below(s, s->wslice_len - len), s->align);
			fill_pattern(q.iova, len, q.seed, q.media_off);
		} else {
			q.iova2 = pick_ram(s, len);
			if (overlaps(s, q.iova2, len) ||
			    (q.iova2 < q.iova + len && q.iova < q.iova2 + len))
				return 0;
			fill_pattern(q.iova, len, q.seed, 0);
			poison_samples(q.iova2, len, q.seed, 0);
		}
		d->op = q.kind;
		d->iova = q.iova;
		d->len = len;
		d->media_off = q.media_off;
		d->iova2 = q.iova2;
	}
	d->pattern_seed = q.seed;
	d->status = DMA_ST_PENDING;
	s->pend[s->nr_pend++] = q;
	barrier();
	if (q.kind == FAULT_OP)
		ring_hdr(p, cpu)->faults_injected = s->injected;
	s->prod++;
	barrier();
	ring_hdr(p, cpu)->prod = s->prod;
	return 1;
}

static void report(unsigned cpu, uint64_t gpa, int device_found)
{
	if (!device_found)
		mmio_write(cpu, dma_reg_gpa(cpu, DMA_REG_VERIFY_FAIL), gpa);
	mmio_write(cpu, GUEST_MMIO_CTL_GPA + cpu * GUEST_CTL_STRIDE + CTL_MISMATCH, gpa);
}

/* Rings the doorbell, waits for every pending descriptor and checks it; returns failures. */
static uint64_t complete_batch(volatile struct guest_params *p, unsigned cpu, struct dma_cpu *s,
			       uint64_t *bytes)
{
	uint64_t failures = 0;

	if (!s->nr_pend)
		return 0;
	mmio_write(cpu, dma_reg_gpa(cpu, DMA_REG_DOORBELL), s->prod);
	for (unsigned i = 0; i < s->nr_pend; i++) {
		const struct pending *q = &s->pend[i];
		struct dma_desc *d = ring_desc(p, cpu, q->slot);
		uint32_t st;
		uint64_t bad = 0;

		while ((st = d->status) == DMA_ST_PENDING)
			cpu_relax();
		barrier();
		if (q->kind == FAULT_OP) {
			if (st != DMA_ST_IOMMU_FAULT)
				bad = q->iova ? q->iova : 1;
		} else if (st != DMA_ST_OK) {
			bad = q->iova ? q->iova : 1;
		} else if (q->kind == DMA_OP_MEDIA_TO_RAM) {
			bad = check_samples(q->iova, q->len, DMA_MEDIA_SEED, q->media_off);
		} else if (q->kind == DMA_OP_RAM_TO_RAM) {
			bad = check_samples(q->iova2, q->len, q->seed, 0);
		}
		if (bad) {
			report(cpu, bad, st == DMA_ST_VERIFY_FAIL);
			failures++;
		} else if (q->kind != FAULT_OP) {
			*bytes += q->len;
		}
	}
	s->nr_pend = 0;
	return failures;
}

uint64_t guest_dma_stress(volatile struct guest_params *p, unsigned cpu)
{
	struct dma_cpu *s;
	uint64_t failures = 0, bytes = 0;

	if (cpu >= DMA_MAX_RINGS || cpu >= p->nr_cpus)
		return 0;
	s = &cpus[cpu];
	if (s->state == 0)
		s->state = setup(p, cpu, s);
	if (s->state < 0)
		return 0;	/* no DMA engine on the bus: the VMM did not wire it */
	for (unsigned n = 0; n < CALL_DESCRIPTORS && bytes < CALL_BYTES && !p->stop; n++) {
		if (s->nr_pend == BATCH || s->nr_pend + 1 >= s->entries)
			failures += complete_batch(p, cpu, s, &bytes);
		if (!prepare(p, cpu, s)) {
			failures += complete_batch(p, cpu, s, &bytes);
			if (!prepare(p, cpu, s))
				n--;	/* only an unlucky RAM->RAM pick: try another */
		}
	}
	failures += complete_batch(p, cpu, s, &bytes);
	return failures;
}
