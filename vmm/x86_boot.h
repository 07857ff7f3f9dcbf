/* x86 long-mode setup for the built-in guest: the boot area in guest RAM (page tables,
 * GDT, IDT, TSSs, image, stacks) and each vCPU's registers, so vCPUs start at CPL3. */
#ifndef DAXVM_VMM_X86_BOOT_H
#define DAXVM_VMM_X86_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "vmm/guest_mem.h"
#include "vmm/kvm_vm.h"

/* Boot area layout (guest-physical, inside the first GUEST_RESERVED_BYTES). */
#define X86_PML4_GPA	0x1000ULL
#define X86_PDPT_GPA	0x2000ULL
#define X86_GDT_GPA	0x3000ULL
#define X86_IDT_GPA	0x4000ULL
#define X86_TSS_GPA	0x6000ULL	/* one X86_TSS_BYTES TSS per vCPU */
#define X86_TSS_BYTES	0x80ULL
#define X86_PD_GPA	0x10000ULL	/* one page directory per GiB of address space */

#define X86_SEL_KCODE	0x08
#define X86_SEL_KDATA	0x10
#define X86_SEL_UDATA	0x23	/* GDT entry 4, RPL 3 */
#define X86_SEL_UCODE	0x2b	/* GDT entry 5, RPL 3 */
#define X86_SEL_TSS(cpu) (0x30 + 16 * (cpu))

struct x86_boot_info {
	uint64_t entry;		/* guest entry point (guest-physical = virtual) */
	uint64_t image_bytes;	/* bytes of the image including bss */
};

/* Clears the boot area and writes the guest image, page tables, GDT, IDT and one TSS and
 * stack pair per vCPU. Guest parameters are written separately (vmm/guest_params.h). */
int x86_boot_prepare(const struct guest_mem *gm, unsigned nr_cpus, struct x86_boot_info *info,
		     struct err *e);

/* Sets CPUID, special and general registers of vCPU cpu so that it starts at the guest
 * entry in 64-bit mode at CPL3. broken_idt loads an empty IDT (GUEST_F_TRIPLE_FAULT). */
int x86_boot_vcpu(const struct vm *vm, int vcpu_fd, unsigned cpu, const struct x86_boot_info *info,
		  bool broken_idt, struct err *e);

/* "#UD invalid opcode" for 6, and so on. */
const char *x86_exception_name(uint64_t vector);

#endif
