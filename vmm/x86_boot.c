/* Long-mode setup by the VMM: the guest never runs a ring-0 boot path (every ring-0
 * instruction is emulated on kvm-pvm), so the VMM writes the tables and starts each vCPU
 * directly at CPL3. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "guest/abi.h"
#include "guest/guest_image.h"
#include "vmm/x86_boot.h"

#define PTE_P	(1ULL << 0)
#define PTE_RW	(1ULL << 1)
#define PTE_US	(1ULL << 2)	/* user pages: the workload runs at CPL3 */
#define PTE_PCD	(1ULL << 4)
#define PTE_PS	(1ULL << 7)	/* 2 MiB page in a PD entry; 1 GiB pages fault on kvm-pvm */

#define CR0_PE	(1ULL << 0)
#define CR0_MP	(1ULL << 1)
#define CR0_ET	(1ULL << 4)
#define CR0_NE	(1ULL << 5)
#define CR0_WP	(1ULL << 16)
#define CR0_PG	(1ULL << 31)
#define CR4_PAE	(1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define GDT_KCODE64 0x00209a0000000000ULL	/* present, DPL0, code, L */
#define GDT_KDATA   0x0000920000000000ULL	/* present, DPL0, data, writable */
#define GDT_UDATA   0x0000f20000000000ULL	/* present, DPL3, data, writable */
#define GDT_UCODE64 0x0020fa0000000000ULL	/* present, DPL3, code, L */
#define GDT_TSS_AVAIL 0x89ULL			/* present, 64-bit TSS (available) */

static uint64_t x86_address_space_end(const struct guest_mem *gm)
{
	const struct guest_mem_region *last = &gm->regions[gm->nr_regions - 1];
	uint64_t end = last->gpa + last->size;

	/* The 3-4 GiB hole holds the MMIO devices: always map it. */
	return end > GUEST_RAM_HIGH_BASE ? end : GUEST_RAM_HIGH_BASE;
}

static void x86_write_page_tables(uint8_t *boot, uint64_t end)
{
	uint64_t *pml4 = (uint64_t *)(boot + X86_PML4_GPA);
	uint64_t *pdpt = (uint64_t *)(boot + X86_PDPT_GPA);
	uint64_t gibs = (end + (1ULL << 30) - 1) >> 30;

	pml4[0] = X86_PDPT_GPA | PTE_P | PTE_RW | PTE_US;
	for (uint64_t g = 0; g < gibs; g++) {
		uint64_t *pd = (uint64_t *)(boot + X86_PD_GPA + g * 0x1000);

		pdpt[g] = (X86_PD_GPA + g * 0x1000) | PTE_P | PTE_RW | PTE_US;
		for (uint64_t i = 0; i < 512; i++) {
			uint64_t gpa = (g << 30) | (i << 21);
			uint64_t flags = PTE_P | PTE_RW | PTE_US | PTE_PS;

			if (gpa >= GUEST_RAM_LOW_MAX && gpa < GUEST_RAM_HIGH_BASE)
				flags |= PTE_PCD;	/* MMIO */
			pd[i] = gpa | flags;
		}
	}
}

static void x86_write_gdt_tss(uint8_t *boot, unsigned nr_cpus)
{
	uint64_t *gdt = (uint64_t *)(boot + X86_GDT_GPA);

	gdt[1] = GDT_KCODE64;
	gdt[2] = GDT_KDATA;
	gdt[4] = GDT_UDATA;
	gdt[5] = GDT_UCODE64;
	for (unsigned cpu = 0; cpu < nr_cpus; cpu++) {
		uint64_t tss = X86_TSS_GPA + cpu * X86_TSS_BYTES;
		uint8_t *t = boot + tss;
		uint64_t kstack = GUEST_KSTACK_GPA(cpu);
		uint64_t rsp0 = kstack + GUEST_STACK_BYTES - 16;	/* 16-aligned, below the ctl slot */
		uint64_t ctl = GUEST_MMIO_CTL_GPA + cpu * GUEST_CTL_STRIDE;
		unsigned idx = X86_SEL_TSS(cpu) / 8;

		memcpy(t + 4, &rsp0, 8);		/* TSS.RSP0 */
		t[102] = 104;				/* I/O map base past the limit: no bitmap */
		memcpy(boot + kstack + GUEST_KSTACK_CTL_SLOT, &ctl, 8);
		gdt[idx] = (X86_TSS_BYTES - 1) | ((tss & 0xffffff) << 16) | (GDT_TSS_AVAIL << 40) |
			   (((tss >> 24) & 0xff) << 56);
		gdt[idx + 1] = tss >> 32;
	}
}

static void x86_write_idt(uint8_t *boot, const struct guest_image_header *h)
{
	uint64_t *idt = (uint64_t *)(boot + X86_IDT_GPA);

	for (unsigned v = 0; v < GUEST_EXC_VECTORS; v++) {
		uint64_t stub = h->exc_stubs + v * h->exc_stub_bytes;

		/* 64-bit interrupt gate, DPL0, present, IST 0 (TSS.RSP0 on entry from CPL3). */
		idt[2 * v] = (stub & 0xffff) | ((uint64_t)X86_SEL_KCODE << 16) | (0x8eULL << 40) |
			     (((stub >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = stub >> 32;
	}
}

int x86_boot_prepare(const struct guest_mem *gm, unsigned nr_cpus, struct x86_boot_info *info,
		     struct err *e)
{
	uint8_t *boot = guest_mem_gpa_to_host(gm, 0, GUEST_RESERVED_BYTES);
	struct guest_image_header h;
	uint64_t end = x86_address_space_end(gm);

	if (!boot)
		return err_set(e, -EINVAL, "guest RAM does not cover the 2 MiB boot area: give the guest more RAM");
	if (nr_cpus == 0 || nr_cpus > GUEST_MAX_CPUS)
		return err_set(e, -EINVAL, "the built-in guest supports 1 to %d vCPUs, not %u",
			       GUEST_MAX_CPUS, nr_cpus);
	if (guest_image_size < sizeof(h))
		return err_set(e, -ENOEXEC, "the embedded guest image is truncated: rebuild daxvm");
	memcpy(&h, guest_image, sizeof(h));
	if (h.magic != GUEST_IMAGE_MAGIC || h.image_end != GUEST_IMAGE_GPA + guest_image_size ||
	    h.image_end > GUEST_STACKS_GPA || h.entry < GUEST_IMAGE_GPA || h.entry >= h.image_end)
		return err_set(e, -ENOEXEC, "the embedded guest image has a bad header or does not fit below 0x%llx: rebuild daxvm",
			       (unsigned long long)GUEST_STACKS_GPA);
	if (X86_PD_GPA + ((end + (1ULL << 30) - 1) >> 30) * 0x1000 > GUEST_IMAGE_GPA)
		return err_set(e, -E2BIG, "guest address space too large for the boot page tables: give the guest less RAM");

	/* RAM on a reused device holds old data: every table starts from zero. */
	memset(boot, 0, GUEST_RESERVED_BYTES);
	memcpy(boot + GUEST_IMAGE_GPA, guest_image, guest_image_size);
	x86_write_page_tables(boot, end);
	x86_write_gdt_tss(boot, nr_cpus);
	x86_write_idt(boot, &h);
	info->entry = h.entry;
	info->image_bytes = guest_image_size;
	return 0;
}

static void x86_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, uint8_t dpl,
			bool code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->dpl = dpl;
	s->s = 1;
	s->l = code64;
	s->g = 1;
	s->limit = 0xffffffff;
}

static int x86_ioctl_fail(struct err *e, const char *what)
{
	int code = -errno;

	return err_set(e, code, "%s failed: %s: this KVM does not accept daxvm's long-mode setup",
		       what, strerror(-code));
}

int x86_boot_vcpu(const struct vm *vm, int vcpu_fd, unsigned cpu, const struct x86_boot_info *info,
		  bool broken_idt, struct err *e)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	uint64_t gdt_bytes = X86_SEL_TSS(0) + 16 * (uint64_t)GUEST_MAX_CPUS;

	if (ioctl(vcpu_fd, KVM_SET_CPUID2, vm->cpuid) < 0)
		return x86_ioctl_fail(e, "KVM_SET_CPUID2");
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return x86_ioctl_fail(e, "KVM_GET_SREGS");
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = X86_PML4_GPA;
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	x86_segment(&s.cs, X86_SEL_UCODE, 11, 3, true);
	x86_segment(&s.ss, X86_SEL_UDATA, 3, 3, false);
	s.ds = s.es = s.fs = s.gs = s.ss;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = X86_SEL_TSS(cpu);
	s.tr.base = X86_TSS_GPA + cpu * X86_TSS_BYTES;
	s.tr.limit = X86_TSS_BYTES - 1;
	s.tr.type = 11;		/* busy 64-bit TSS, as after LTR */
	s.tr.present = 1;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.type = 2;
	s.ldt.unusable = 1;
	s.gdt.base = X86_GDT_GPA;
	s.gdt.limit = (uint16_t)(gdt_bytes - 1);
	s.idt.base = X86_IDT_GPA;
	/* An empty IDT turns the first exception into #GP, #DF, then a triple fault. */
	s.idt.limit = broken_idt ? 0 : (uint16_t)(GUEST_EXC_VECTORS * 16 - 1);
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return x86_ioctl_fail(e, "KVM_SET_SREGS");
	memset(&r, 0, sizeof(r));
	r.rip = info->entry;
	r.rsp = GUEST_USTACK_GPA(cpu) + GUEST_STACK_BYTES;
	r.rdi = cpu;
	r.rflags = 0x2;		/* reserved bit; interrupts off: the guest takes none */
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) < 0)
		return x86_ioctl_fail(e, "KVM_SET_REGS");
	return 0;
}

const char *x86_exception_name(uint64_t vector)
{
	static const char *const names[GUEST_EXC_VECTORS] = {
		"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
		"#BR bound range", "#UD invalid opcode", "#NM device not available",
		"#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
		"#NP segment not present", "#SS stack fault", "#GP general protection",
		"#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
		"#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
	};

	if (vector < GUEST_EXC_VECTORS && names[vector])
		return names[vector];
	return "reserved";
}
