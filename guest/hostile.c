/* The hostile guest (GUEST_F_HOSTILE), on every vCPU at CPL3 for the whole run: random values
 * to every register of the device windows (DMA engine, control device: its own unknown
 * registers and every other vCPU's), reads and writes of MMIO no device claims, random DMA
 * descriptors (bad ops, unmapped, wrapping and out-of-range IOVAs, zero and huge lengths,
 * media offsets anywhere), garbage ring headers (prod, magic), doorbells of any ring, and
 * exceptions (#DE, #BP, #UD, #GP, #PF), from which the ring-0 handler resumes it.
 * Limits, so the guest survives its own attack and keeps attacking: it never ends its own
 * vCPU through the control protocol (READY, DONE, EXC_* of its slot), prints nothing, and
 * DMA that writes guest RAM targets only its own DMA area or addresses outside RAM (a guest
 * that DMAs over its own page tables only hurts itself; the host side is the same). */
#include <stdint.h>

#include "guest/dma_abi.h"
#include "guest/hostile.h"

#define HEARTBEAT_EVERY 64		/* actions between CTL_PROGRESS writes (hang detection) */
#define UNCLAIMED_MMIO 0xe0000000ULL	/* in the 3-4 GiB hole, above every device window */
#define DESC_MAX_LEN (16ULL << 20)	/* what DMA_REG_MAX_LEN reads today */

static uint64_t rng[GUEST_MAX_CPUS];
static uint64_t actions[GUEST_MAX_CPUS];

static uint64_t rnd(unsigned cpu)
{
	uint64_t x = rng[cpu];

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng[cpu] = x;
	return x;
}

static void mmio_write(uint64_t gpa, uint64_t v, unsigned size)
{
	switch (size) {
	case 1: *(volatile uint8_t *)gpa = (uint8_t)v; break;
	case 2: *(volatile uint16_t *)gpa = (uint16_t)v; break;
	case 4: *(volatile uint32_t *)gpa = (uint32_t)v; break;
	default: *(volatile uint64_t *)gpa = v; break;
	}
}

static uint64_t mmio_read(uint64_t gpa, unsigned size)
{
	switch (size) {
	case 1: return *(volatile uint8_t *)gpa;
	case 2: return *(volatile uint16_t *)gpa;
	case 4: return *(volatile uint32_t *)gpa;
	default: return *(volatile uint64_t *)gpa;
	}
}

static unsigned rnd_size(unsigned cpu)
{
	return 1u << (rnd(cpu) % 4);
}

static void ctl(unsigned cpu, uint64_t reg, uint64_t v)
{
	*(volatile uint64_t *)(GUEST_MMIO_CTL_GPA + cpu * GUEST_CTL_STRIDE + reg) = v;
}

/* Any register of any vCPU's control slot, except the ones that would end this vCPU. */
static void poke_ctl(volatile struct guest_params *p, unsigned cpu)
{
	unsigned slot = (unsigned)(rnd(cpu) % (p->nr_cpus + 2));
	uint64_t reg = rnd(cpu) % GUEST_CTL_STRIDE;

	if (slot >= p->nr_cpus)
		return;		/* past the window: the unclaimed-MMIO case covers it */
	if (slot == cpu && (reg < CTL_PUTC + 8 || reg == CTL_EXC_CR2 || reg == CTL_EXC_SURVIVED))
		reg = 0x80 + (reg & 0x78);	/* its own slot: an unknown register instead */
	mmio_write(GUEST_MMIO_CTL_GPA + slot * GUEST_CTL_STRIDE + (reg & ~7ULL), rnd(cpu), 8);
}

static uint64_t rnd_iova(volatile struct guest_params *p, unsigned cpu, int writes_ram)
{
	uint64_t area = p->dma_area_gpa[cpu], bytes = p->dma_area_bytes;

	switch (rnd(cpu) % 7) {
	case 0: return UINT64_MAX - rnd(cpu) % 8192;			/* wraps */
	case 1: return 1ULL << (40 + rnd(cpu) % 23);			/* far above RAM */
	case 2: return 0xc0000000ULL + rnd(cpu) % 0x40000000ULL;	/* the MMIO hole */
	case 3: return rnd(cpu);					/* anything */
	case 4:
		if (!writes_ram)	/* reading guest RAM: anywhere, rings and page tables too */
			return rnd(cpu) % (p->ram_low_bytes ? p->ram_low_bytes : 1);
		/* fall through */
	default: return area + (bytes ? rnd(cpu) % bytes : 0) - (rnd(cpu) % 4 == 0 ? 4096 : 0);
	}
}

static uint64_t rnd_len(unsigned cpu)
{
	switch (rnd(cpu) % 5) {
	case 0: return 0;
	case 1: return rnd(cpu);					/* huge */
	case 2: return DESC_MAX_LEN + rnd(cpu) % 3 - 1;
	default: return 1 + rnd(cpu) % 65536;
	}
}

/* One to four random descriptors on this vCPU's ring, then its doorbell. */
static void submit(volatile struct guest_params *p, unsigned cpu)
{
	volatile struct dma_ring_header *h = (volatile struct dma_ring_header *)p->dma_ring_gpa[cpu];
	volatile struct dma_desc *ring = (volatile struct dma_desc *)(h + 1);
	unsigned n = 1 + (unsigned)(rnd(cpu) % 4);

	for (unsigned i = 0; i < n; i++) {
		volatile struct dma_desc *d = &ring[h->prod % p->dma_ring_entries];
		uint32_t op = (uint32_t)(rnd(cpu) % 6);	/* 0, 4, 5: bad ops */

		d->op = rnd(cpu) % 8 == 0 ? (uint32_t)rnd(cpu) : op;
		d->iova = rnd_iova(p, cpu, op == DMA_OP_MEDIA_TO_RAM);
		d->iova2 = rnd_iova(p, cpu, 1);
		d->len = rnd_len(cpu);
		d->media_off = rnd(cpu) % 2 ? rnd(cpu) % (p->media_bytes + 8192) : rnd(cpu);
		d->pattern_seed = rnd(cpu);
		d->status = (uint32_t)(rnd(cpu) % 4 == 0 ? rnd(cpu) : DMA_ST_PENDING);
		h->prod = h->prod + 1;
	}
	__asm__ volatile("" ::: "memory");	/* the descriptors are in memory before the doorbell */
	*(volatile uint64_t *)(GUEST_MMIO_DMA_GPA + cpu * DMA_REG_STRIDE + DMA_REG_DOORBELL) = rnd(cpu);
}

/* Garbage in the ring header, or a repair (so the device keeps serving between attacks). */
static void mangle_ring(volatile struct guest_params *p, unsigned cpu)
{
	volatile struct dma_ring_header *h = (volatile struct dma_ring_header *)p->dma_ring_gpa[cpu];

	switch (rnd(cpu) % 4) {
	case 0: h->prod = (uint32_t)rnd(cpu); break;			/* runs past the ring */
	case 1: h->magic = rnd(cpu); break;				/* uninitialised */
	case 2: h->cons = (uint32_t)rnd(cpu); break;			/* the device's field */
	default: h->magic = DMA_RING_MAGIC; h->prod = h->cons; break;	/* repaired */
	}
	*(volatile uint64_t *)(GUEST_MMIO_DMA_GPA + cpu * DMA_REG_STRIDE + DMA_REG_DOORBELL) = 1;
}

/* A fault the ring-0 handler reports (CTL_EXC_SURVIVED) and resumes from. */
static void fault(unsigned cpu)
{
	volatile uint64_t zero = 0;

	switch (rnd(cpu) % 7) {
	case 0: __asm__ volatile("ud2"); break;					/* #UD */
	case 1: __asm__ volatile("int3"); break;				/* #BP (or #GP) */
	case 2: (void)(*(volatile uint64_t *)0x8000000000000000ULL); break;	/* non-canonical: #GP */
	case 3: (void)(*(volatile uint64_t *)(1ULL << 46)); break;		/* not mapped: #PF */
	case 4: __asm__ volatile("hlt"); break;					/* privileged at CPL3: #GP */
	case 5: __asm__ volatile("inb $0x80, %%al" ::: "rax"); break;		/* port I/O at IOPL 0: #GP */
	default: {
		uint64_t q;

		__asm__ volatile("divq %2" : "=a"(q) : "a"(1ULL), "r"(zero), "d"(0ULL));	/* #DE */
		(void)q;
	}
	}
}

void guest_hostile(volatile struct guest_params *p, unsigned cpu)
{
	int dma = (p->flags & GUEST_F_DMA) && p->dma_ring_entries;

	if (!rng[cpu]) {
		rng[cpu] = (p->seed ^ (0x9e3779b97f4a7c15ULL * (cpu + 1))) | 1;
		if (dma) {
			volatile struct dma_ring_header *h = (volatile struct dma_ring_header *)p->dma_ring_gpa[cpu];

			h->prod = 0;
			h->cons = 0;
			h->magic = DMA_RING_MAGIC;
		}
	}
	while (!p->stop) {
		unsigned what = (unsigned)(rnd(cpu) % 16);
		unsigned size = rnd_size(cpu);

		if (++actions[cpu] % HEARTBEAT_EVERY == 0)
			ctl(cpu, CTL_PROGRESS, actions[cpu]);
		switch (what) {
		case 0: case 1:	/* any DMA register of any ring, any size */
			mmio_write(GUEST_MMIO_DMA_GPA + rnd(cpu) % GUEST_MMIO_DMA_SIZE / size * size, rnd(cpu), size);
			break;
		case 2:
			(void)mmio_read(GUEST_MMIO_DMA_GPA + rnd(cpu) % GUEST_MMIO_DMA_SIZE / size * size, size);
			break;
		case 3: case 4:
			poke_ctl(p, cpu);
			break;
		case 5:		/* MMIO no device claims */
			mmio_write(UNCLAIMED_MMIO + rnd(cpu) % 0x1000000 / size * size, rnd(cpu), size);
			break;
		case 6:
			(void)mmio_read(UNCLAIMED_MMIO + rnd(cpu) % 0x1000000 / size * size, size);
			break;
		case 7:		/* past the end of the control and DMA windows */
			mmio_write(GUEST_MMIO_CTL_GPA + p->nr_cpus * GUEST_CTL_STRIDE + rnd(cpu) % 0x1000, rnd(cpu), 8);
			break;
		case 8: case 9: case 10: case 11:
			if (dma)
				submit(p, cpu);
			break;
		case 12:
			if (dma)
				mangle_ring(p, cpu);
			break;
		case 13:	/* anyone's doorbell */
			mmio_write(GUEST_MMIO_DMA_GPA + rnd(cpu) % (DMA_MAX_RINGS + 2) * DMA_REG_STRIDE, rnd(cpu), 8);
			break;
		case 14:
			if (rnd(cpu) % 8 == 0)
				fault(cpu);
			break;
		default:
			break;
		}
	}
}
