/* The KVM side of booting Linux on x86 (Documentation/arch/x86/boot.rst, 64-bit protocol):
 * the in-kernel irqchip and PIT, the identity page tables and GDT in low guest memory, and
 * each vCPU's CPUID, MSRs, local APIC LINT pins, FPU and (on the boot CPU) the registers
 * of the 64-bit entry. */
#ifndef DAXVM_VMM_X86_LINUX_H
#define DAXVM_VMM_X86_LINUX_H

#include <stdint.h>

#include "common/err.h"
#include "vmm/kvm_vm.h"

#define X86_LINUX_BOOT_CS 0x10	/* __BOOT_CS */
#define X86_LINUX_BOOT_DS 0x18	/* __BOOT_DS */
#define X86_LINUX_BOOT_TSS 0x20
#define MSR_MTRR_DEF_TYPE 0x2ff
/* MTRRs enabled, fixed ranges enabled, default type write-back: with VFIO on an IOMMU
 * without snoop control KVM honours guest MTRRs, and an uncached default would make
 * guest RAM (and pmem) uncached (cloud-hypervisor PR #134, firecracker PR #5526). */
#define MTRR_DEF_TYPE_WB 0xc06

/* KVM_CREATE_IRQCHIP (PIC, IOAPIC, local APICs) and KVM_CREATE_PIT2: before any vCPU. */
int x86_linux_irqchip(const struct vm *vm, struct err *e);

/* Writes the GDT and the page tables (identity map of 0-4 GiB in 2 MiB pages, which covers
 * the kernel, its init_size, the zero page, the command line and the initrd: all in RAM
 * below the 3 GiB hole) into low guest memory; low is the host address of guest-physical 0
 * and covers at least 1 MiB. */
void x86_linux_write_tables(uint8_t *low);

/* CPUID (KVM's supported set, hypervisor bit, APIC id = cpu), XCR0 as Linux will set it
 * (x86_xstate.h), boot MSRs, LINT0 ExtINT and
 * LINT1 NMI, the FPU; on cpu 0 also the 64-bit entry state: long mode, CS 0x10, DS/ES/SS
 * 0x18, interrupts off, rip = entry, rsi = zero page. The other vCPUs wait for INIT/SIPI. */
int x86_linux_vcpu(const struct vm *vm, int vcpu_fd, unsigned cpu, uint64_t entry,
		   uint64_t zero_page, struct err *e);

#endif
