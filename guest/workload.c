/* The built-in guest's workload, run at CPL3 on every vCPU: write a pattern that is a
 * function of (guest-physical address, pass, seed) over this vCPU's share of RAM, verify
 * it, report progress and mismatches through the control device, repeat until stopped. */
#include <stdint.h>

#include "guest/abi.h"
#include "guest/dma_stress.h"
#include "guest/hostile.h"

#define CHUNK_BYTES (2ULL << 20)		/* areas are 2 MiB aligned, so a chunk never spans the hole */
#define REPORT_EVERY_BYTES (64ULL << 20)	/* progress and heartbeat interval */
#define MISMATCH_REPORTS_PER_PASS 16		/* each report is a VM exit: cap them */
#define GUEST_BAD_MMIO_GPA 0xdead0000ULL	/* in the MMIO hole, claimed by no device */

void guest_main(unsigned cpu);
void guest_hostile_main(unsigned cpu);

static volatile struct guest_params *const params = (volatile struct guest_params *)GUEST_PARAMS_GPA;

static void ctl_write(unsigned cpu, uint64_t reg, uint64_t value)
{
	*(volatile uint64_t *)(GUEST_MMIO_CTL_GPA + cpu * GUEST_CTL_STRIDE + reg) = value;
}

static void put_str(unsigned cpu, const char *s)
{
	while (*s)
		ctl_write(cpu, CTL_PUTC, (unsigned char)*s++);
}

static void put_u64(unsigned cpu, uint64_t v)
{
	char buf[24];
	int i = 0;

	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		ctl_write(cpu, CTL_PUTC, (unsigned char)buf[--i]);
}

/* RAM-linear offset -> guest-physical address (RAM above ram_low_bytes sits at 4 GiB). */
static inline uint64_t linear_to_gpa(uint64_t lin, uint64_t low)
{
	return lin < low ? lin : GUEST_RAM_HIGH_BASE + (lin - low);
}

static void write_area(unsigned cpu, uint64_t lin0, uint64_t bytes, uint64_t low, uint64_t key,
		       uint64_t progress)
{
	for (uint64_t off = 0; off < bytes; off += CHUNK_BYTES) {
		uint64_t gpa = linear_to_gpa(lin0 + off, low);
		uint64_t *p = (uint64_t *)gpa;

		for (uint64_t i = 0; i < CHUNK_BYTES / 8; i++)
			p[i] = guest_pattern(gpa + i * 8, key);
		if ((off + CHUNK_BYTES) % REPORT_EVERY_BYTES == 0)
			ctl_write(cpu, CTL_PROGRESS, progress);	/* heartbeat: nothing verified yet */
	}
}

static uint64_t verify_area(unsigned cpu, uint64_t lin0, uint64_t bytes, uint64_t low,
			    uint64_t key, uint64_t *progress)
{
	uint64_t bad = 0;

	for (uint64_t off = 0; off < bytes; off += CHUNK_BYTES) {
		uint64_t gpa = linear_to_gpa(lin0 + off, low);
		const uint64_t *p = (const uint64_t *)gpa;

		for (uint64_t i = 0; i < CHUNK_BYTES / 8; i++) {
			if (p[i] != guest_pattern(gpa + i * 8, key)) {
				if (bad < MISMATCH_REPORTS_PER_PASS)
					ctl_write(cpu, CTL_MISMATCH, gpa + i * 8);
				bad++;
			}
		}
		*progress += CHUNK_BYTES;
		if ((off + CHUNK_BYTES) % REPORT_EVERY_BYTES == 0 || off + CHUNK_BYTES >= bytes)
			ctl_write(cpu, CTL_PROGRESS, *progress);
	}
	return bad;
}

/* The hostile guest's whole life on this vCPU; entry.S resumes here after an exception. */
void guest_hostile_main(unsigned cpu)
{
	guest_hostile(params, cpu);
	ctl_write(cpu, CTL_DONE, 0);
}

void guest_main(unsigned cpu)
{
	uint64_t low = params->ram_low_bytes;
	uint64_t bytes = params->work_bytes_per_cpu;
	uint64_t start = params->work_gpa[cpu];
	uint64_t lin0 = start < GUEST_RAM_HIGH_BASE ? start : start - GUEST_RAM_HIGH_BASE + low;
	uint64_t progress = 0, failures = 0;
	uint32_t flags = params->flags;

	ctl_write(cpu, CTL_READY, cpu);
	if (params->magic != GUEST_PARAMS_MAGIC || cpu >= params->nr_cpus) {
		ctl_write(cpu, CTL_DONE, 1);
		return;
	}
	if (flags & GUEST_F_HOSTILE) {
		guest_hostile_main(cpu);
		return;
	}
	if (cpu == 0) {
		put_str(cpu, "daxvm guest: ");
		put_u64(cpu, params->nr_cpus);
		put_str(cpu, " vCPUs at CPL3, ");
		put_u64(cpu, bytes >> 20);
		put_str(cpu, " MiB pattern area per vCPU\n");
	}
	for (uint64_t pass = 1;; pass++) {
		uint64_t key = params->seed + pass * 0xd1b54a32d192ed03ULL;

		write_area(cpu, lin0, bytes, low, key, progress);
		if (cpu == 0 && pass == 1 && (flags & GUEST_F_CORRUPT))
			*(volatile uint64_t *)(start + GUEST_CORRUPT_OFFSET) ^= 1;
		/* The verify must read memory, not values the compiler still holds. */
		__asm__ volatile("" ::: "memory");
		failures += verify_area(cpu, lin0, bytes, low, key, &progress);
		if (cpu == 0 && (flags & (GUEST_F_INJECT_UD | GUEST_F_TRIPLE_FAULT)))
			__asm__ volatile("ud2");
		if (cpu == 0 && (flags & GUEST_F_BAD_MMIO))
			*(volatile uint64_t *)GUEST_BAD_MMIO_GPA = pass;
		while (cpu == 0 && (flags & GUEST_F_HANG))
			__asm__ volatile("pause");
		if (flags & GUEST_F_DMA)
			failures += guest_dma_stress(params, cpu);
		if (params->stop && pass >= params->min_passes)
			break;
	}
	ctl_write(cpu, CTL_DONE, failures);
}
