/* The contract between the VMM and the built-in guest: guest-physical memory map,
 * the boot parameter block, and the MMIO control protocol. Freestanding-safe. */
#ifndef DAXVM_GUEST_ABI_H
#define DAXVM_GUEST_ABI_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

/* Guest-physical map. RAM: [0, min(ram, 3 GiB)) and, above that, [4 GiB, ...).
 * The 3-4 GiB hole holds MMIO. The first 2 MiB of RAM belong to the VMM's boot data
 * (page tables, GDT/IDT/TSS, parameters, stacks) and the guest image. */
#define GUEST_RAM_LOW_MAX	(3ULL << 30)
#define GUEST_RAM_HIGH_BASE	(4ULL << 30)
#define GUEST_PARAMS_GPA	0x5000ULL		/* struct guest_params, one 4 KiB page */
#define GUEST_IMAGE_GPA		0x100000ULL		/* guest code and data are linked here */
#define GUEST_RESERVED_BYTES	(2ULL << 20)		/* boot area; workloads start above it */

#define GUEST_MMIO_CTL_GPA	0xd0000000ULL		/* control device, GUEST_CTL_STRIDE bytes per vCPU */
#define GUEST_CTL_STRIDE	0x100ULL
#define GUEST_MMIO_DMA_GPA	0xd0100000ULL		/* DMA engine registers (guest/dma_abi.h) */
#define GUEST_MMIO_DMA_SIZE	0x10000ULL

/* Control registers, at GUEST_MMIO_CTL_GPA + cpu * GUEST_CTL_STRIDE; 64-bit writes. */
#define CTL_READY	0x00	/* first instruction of this vCPU: value = cpu index */
#define CTL_PROGRESS	0x08	/* bytes written and verified so far by this vCPU */
#define CTL_MISMATCH	0x10	/* a verify failure: value = guest-physical address */
#define CTL_DONE	0x18	/* workload finished: value = 0 ok, else a failure count */
#define CTL_EXC_VECTOR	0x20	/* ring-0 handler: exception vector ... */
#define CTL_EXC_ERROR	0x28	/* ... its error code ... */
#define CTL_EXC_RIP	0x30	/* ... and the faulting RIP (the write of RIP ends the vCPU) */
#define CTL_PUTC	0x38	/* one character of debug output */
#define CTL_EXC_CR2	0x40	/* ... and CR2 for page faults (written before RIP) */
#define CTL_EXC_SURVIVED 0x48	/* hostile guest: an exception was taken and the guest goes on;
				 * value = vector (replaces the CR2/RIP writes that end the vCPU) */
/* Any write also counts as a heartbeat: the workload repeats CTL_PROGRESS while writing. */

#define GUEST_PARAMS_MAGIC	0x6d76786164ULL	/* "daxvm" */

/* The guest image starts with this header (at GUEST_IMAGE_GPA) so the VMM finds the entry
 * point and the exception stubs without parsing ELF. */
#define GUEST_IMAGE_MAGIC	0x6567616d69786164	/* no suffix: entry.S uses it */	/* "daximage" */
#ifndef __ASSEMBLER__
struct guest_image_header {
	uint64_t magic;
	uint64_t entry;		/* CPL3 entry: rdi = cpu index, rsp = that vCPU's user stack */
	uint64_t exc_stubs;	/* exception stub of vector v at exc_stubs + v * exc_stub_bytes */
	uint64_t exc_stub_bytes;
	uint64_t image_end;	/* first byte after code, data and bss */
};
#endif
#define GUEST_EXC_VECTORS	32

/* Per-vCPU stacks in the boot area. The ring-0 stack's top 8 bytes hold the vCPU's
 * control-register base so the exception handler needs no other per-CPU state. */
#define GUEST_STACKS_GPA	0x180000ULL
#define GUEST_STACK_BYTES	0x1000ULL	/* one ring-0 page then one user page per vCPU */
#define GUEST_KSTACK_GPA(cpu)	(GUEST_STACKS_GPA + (uint64_t)(cpu) * 2 * GUEST_STACK_BYTES)
#define GUEST_USTACK_GPA(cpu)	(GUEST_KSTACK_GPA(cpu) + GUEST_STACK_BYTES)
#define GUEST_KSTACK_CTL_SLOT	0xff8	/* offset in the ring-0 stack page of the ctl base */
#define GUEST_MAX_CPUS		64

/* Flags in guest_params.flags. */
#define GUEST_F_DMA		(1u << 0)	/* run the DMA stress (guest/dma_abi.h) */
#define GUEST_F_INJECT_UD	(1u << 1)	/* tests: execute ud2 at CPL3 after the first pass */
#define GUEST_F_BAD_MMIO	(1u << 3)	/* tests: write to an address no device claims */
#define GUEST_F_HANG		(1u << 4)	/* tests: spin at CPL3 without reporting (a hang) */
#define GUEST_F_CORRUPT		(1u << 5)	/* tests: vCPU 0 spoils one word between write and verify
						 * of pass 1, at work_gpa[0] + GUEST_CORRUPT_OFFSET */
#define GUEST_CORRUPT_OFFSET	0x1008ULL
#define GUEST_F_HOSTILE		(1u << 6)	/* the hostile guest (guest/hostile.c) instead of the pattern
						 * workload: random device registers, descriptors, doorbells and
						 * exceptions for the whole run; the handler resumes it */
#define GUEST_F_TRIPLE_FAULT	(1u << 2)	/* tests: break the IDT and fault (triple fault); the VMM
						 * loads an empty IDT, the guest executes ud2 */

#ifndef __ASSEMBLER__
struct guest_params {
	uint64_t magic;
	uint32_t nr_cpus;
	uint32_t flags;
	uint64_t ram_low_bytes;		/* RAM at [0, ram_low_bytes) */
	uint64_t ram_high_bytes;	/* RAM at [4 GiB, 4 GiB + ram_high_bytes) */
	uint64_t work_bytes_per_cpu;	/* pattern workload: bytes each vCPU writes and verifies per pass */
	uint64_t work_gpa[64];		/* pattern workload: start of each vCPU's area (2 MiB aligned);
					 * an area that reaches ram_low_bytes continues at 4 GiB */
	uint64_t seed;			/* pattern and DMA randomness */
	volatile uint32_t stop;		/* set to 1 by the VMM: finish the current pass and report done */
	uint32_t min_passes;		/* passes to complete even if stop is set earlier */
	/* DMA stress (GUEST_F_DMA): each vCPU owns a descriptor ring and a data area. */
	uint64_t dma_ring_gpa[64];	/* descriptor ring of each vCPU */
	uint64_t dma_area_gpa[64];	/* each vCPU's DMA target area */
	uint64_t dma_area_bytes;	/* bytes of each area */
	uint64_t media_bytes;		/* size of the device media */
	uint32_t dma_fault_permille;	/* share of descriptors with a deliberately bad IOVA */
	uint32_t dma_ring_entries;
};

/* The word the workload writes at guest-physical address gpa in the pass keyed pass_key:
 * different for every address and pass, so a page that moved, aliased or kept stale data from
 * an earlier pass reads back wrong (guest/workload.c; bench/validator's stand-in). */
static inline uint64_t guest_pattern(uint64_t gpa, uint64_t pass_key)
{
	return (gpa * 0x9e3779b97f4a7c15ULL) ^ pass_key;
}
#endif

#endif
