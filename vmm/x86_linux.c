/* Linux's 64-bit entry on KVM. Order per vCPU as firecracker does it: CPUID before MSRs
 * (KVM refuses MSRs the CPUID does not advertise) and XCR0 (KVM checks it against the
 * CPUID), then the LAPIC, FPU, special and general registers. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/linux_boot_params.h"
#include "vmm/x86_linux.h"
#include "vmm/x86_xstate.h"

#define PTE_P	(1ULL << 0)
#define PTE_RW	(1ULL << 1)
#define PTE_PS	(1ULL << 7)
#define CR0_PE	(1ULL << 0)
#define CR0_ET	(1ULL << 4)
#define CR0_PG	(1ULL << 31)
#define CR4_PAE	(1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MISC_ENABLE_FAST_STRING 0x1

static int fail(struct err *e, const char *what)
{
	int code = -errno;

	return err_set(e, code, "%s failed: %s: this KVM does not accept the Linux boot state",
		       what, strerror(-code));
}

int x86_linux_irqchip(const struct vm *vm, struct err *e)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail(e, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return fail(e, "KVM_CREATE_PIT2");
	return 0;
}

void x86_linux_write_tables(uint8_t *low)
{
	uint64_t *gdt = (uint64_t *)(low + LINUX_GDT_GPA);
	uint64_t *pml4 = (uint64_t *)(low + LINUX_PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(low + LINUX_PDPT_GPA);

	memset(gdt, 0, 0x1000);
	gdt[X86_LINUX_BOOT_CS / 8] = 0x00af9b000000ffffULL;	/* 64-bit code, DPL0 */
	gdt[X86_LINUX_BOOT_DS / 8] = 0x00cf93000000ffffULL;	/* flat data, DPL0 */
	gdt[X86_LINUX_BOOT_TSS / 8] = 0x00808b000000ffffULL;	/* busy TSS: VMX wants a usable TR */
	memset(low + LINUX_PML4_GPA, 0, LINUX_PD_GPA + 4 * 0x1000 - LINUX_PML4_GPA);
	pml4[0] = LINUX_PDPT_GPA | PTE_P | PTE_RW;
	for (uint64_t g = 0; g < LINUX_IDENTITY_BYTES >> 30; g++) {
		uint64_t *pd = (uint64_t *)(low + LINUX_PD_GPA + g * 0x1000);

		pdpt[g] = (LINUX_PD_GPA + g * 0x1000) | PTE_P | PTE_RW;
		for (uint64_t i = 0; i < 512; i++)
			pd[i] = (g << 30 | i << 21) | PTE_P | PTE_RW | PTE_PS;
	}
}

static int set_cpuid(const struct vm *vm, int fd, unsigned cpu, struct err *e)
{
	size_t bytes = sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(bytes);
	int ret = 0;

	if (!c)
		return err_set(e, -ENOMEM, "out of memory for vCPU %u's CPUID", cpu);
	memcpy(c, vm->cpuid, bytes);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *ent = &c->entries[i];

		switch (ent->function) {
		case 1:
			ent->ebx = (ent->ebx & 0x00ffffff) | (cpu << 24);	/* initial APIC id */
			ent->ecx |= 1U << 31;					/* hypervisor */
			break;
		case 0xb:
		case 0x1f:
			ent->edx = cpu;						/* x2APIC id */
			break;
		}
	}
	if (ioctl(fd, KVM_SET_CPUID2, c) < 0)
		ret = fail(e, "KVM_SET_CPUID2");
	free(c);
	return ret;
}

static int set_msrs(int fd, struct err *e)
{
	static const struct { uint32_t index; uint64_t value; } boot[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 }, { MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 }, { MSR_CSTAR, 0 }, { MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 }, { MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_WB },
	};
	enum { N = sizeof(boot) / sizeof(boot[0]) };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[N];
	} m;
	int n;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = N;
	for (unsigned i = 0; i < N; i++) {
		m.entries[i].index = boot[i].index;
		m.entries[i].data = boot[i].value;
	}
	n = ioctl(fd, KVM_SET_MSRS, &m);
	if (n < 0)
		return fail(e, "KVM_SET_MSRS");
	if (n != N)	/* KVM stops at the first MSR it refuses */
		return err_set(e, -EINVAL, "KVM refused boot MSR 0x%x (set %d of %d): this KVM lacks an MSR Linux needs",
			       boot[n].index, n, N);
	return 0;
}

static int set_lapic(int fd, struct err *e)
{
	struct kvm_lapic_state l;
	uint32_t v;

	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return fail(e, "KVM_GET_LAPIC");
	/* Delivery mode is bits 8-10 of the LVT entry. */
	memcpy(&v, l.regs + APIC_LVT_LINT0, 4);
	v = (v & ~0x700U) | APIC_MODE_EXTINT << 8;
	memcpy(l.regs + APIC_LVT_LINT0, &v, 4);
	memcpy(&v, l.regs + APIC_LVT_LINT1, 4);
	v = (v & ~0x700U) | APIC_MODE_NMI << 8;
	memcpy(l.regs + APIC_LVT_LINT1, &v, 4);
	if (ioctl(fd, KVM_SET_LAPIC, &l) < 0)
		return fail(e, "KVM_SET_LAPIC");
	return 0;
}

static void segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = code64;
	s->db = !code64;
	s->g = 1;
	s->limit = 0xffffffff;
}

static int set_entry_state(int fd, uint64_t entry, uint64_t zero_page, struct err *e)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return fail(e, "KVM_GET_SREGS");
	segment(&s.cs, X86_LINUX_BOOT_CS, 11, true);
	segment(&s.ds, X86_LINUX_BOOT_DS, 3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = X86_LINUX_BOOT_TSS;
	s.tr.type = 11;
	s.tr.present = 1;
	s.tr.limit = 0xffff;
	s.gdt.base = LINUX_GDT_GPA;
	s.gdt.limit = X86_LINUX_BOOT_TSS + 7;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = CR0_PE | CR0_ET | CR0_PG;
	s.cr3 = LINUX_PML4_GPA;
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0)
		return fail(e, "KVM_SET_SREGS");
	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;			/* interrupts off */
	r.rip = entry;
	r.rsi = zero_page;
	r.rsp = r.rbp = LINUX_STACK_TOP;
	if (ioctl(fd, KVM_SET_REGS, &r) < 0)
		return fail(e, "KVM_SET_REGS");
	return 0;
}

int x86_linux_vcpu(const struct vm *vm, int fd, unsigned cpu, uint64_t entry, uint64_t zero_page,
		   struct err *e)
{
	struct kvm_fpu fpu;
	int ret = set_cpuid(vm, fd, cpu, e);

	if (!ret)	/* KVM's copy of XCR0 = what Linux will write (x86_xstate.h) */
		ret = x86_xstate_set_boot_xcr0(fd, vm->cpuid, NULL, e);
	if (!ret)
		ret = set_msrs(fd, e);
	if (!ret)
		ret = set_lapic(fd, e);
	if (ret)
		return ret;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0)
		return fail(e, "KVM_SET_FPU");
	/* KVM keeps the application processors in wait-for-SIPI; Linux starts them. */
	return cpu == 0 ? set_entry_state(fd, entry, zero_page, e) : 0;
}
