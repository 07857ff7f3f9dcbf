/* XCR0 of a Linux guest's vCPUs before it runs (see x86_xstate.h). */
#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/x86_xstate.h"

#define XCR_XFEATURE_ENABLED_MASK 0

const struct kvm_cpuid_entry2 *x86_cpuid_leaf(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

enum reg { EBX, ECX, EDX };

static bool has(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, enum reg r, unsigned bit)
{
	const struct kvm_cpuid_entry2 *ent = x86_cpuid_leaf(c, fn, idx);
	uint32_t v;

	if (!ent)
		return false;
	v = r == EBX ? ent->ebx : r == ECX ? ent->ecx : ent->edx;
	return v >> bit & 1;
}

uint64_t x86_xstate_guest_xcr0(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *d0 = x86_cpuid_leaf(c, 0xd, 0);
	uint64_t xcr0;

	if (!d0 || !has(c, 1, 0, ECX, 26))	/* XSAVE */
		return 0;
	xcr0 = ((uint64_t)d0->edx << 32 | d0->eax) & (X86_XFEATURE_FP | X86_XFEATURE_SSE |
		X86_XFEATURE_YMM | X86_XFEATURE_MPX | X86_XFEATURE_AVX512 | X86_XFEATURE_PKRU |
		X86_XFEATURE_XTILE | X86_XFEATURE_APX);
	/* Without both, Linux does not use XSAVE at all ("FP/SSE not present amongst the CPU's
	 * xstate features"): leave KVM's reset value. */
	if ((xcr0 & (X86_XFEATURE_FP | X86_XFEATURE_SSE)) != (X86_XFEATURE_FP | X86_XFEATURE_SSE))
		return 0;
	/* Linux keeps a component only with its CPUID feature (xsave_cpuid_features[]). */
	if (!has(c, 1, 0, ECX, 28))			/* AVX */
		xcr0 &= ~X86_XFEATURE_YMM;
	if (!has(c, 7, 0, EBX, 14))			/* MPX */
		xcr0 &= ~X86_XFEATURE_MPX;
	if (!has(c, 7, 0, EBX, 16) || !(xcr0 & X86_XFEATURE_YMM))	/* AVX512F */
		xcr0 &= ~X86_XFEATURE_AVX512;
	if (!has(c, 7, 0, ECX, 3))			/* PKU */
		xcr0 &= ~X86_XFEATURE_PKRU;
	if (!has(c, 7, 0, EDX, 24))			/* AMX-TILE */
		xcr0 &= ~X86_XFEATURE_XTILE;
	if (!has(c, 7, 1, EDX, 21))			/* APX */
		xcr0 &= ~X86_XFEATURE_APX;
	/* The groups XSETBV takes only whole (SDM vol. 1, 13.3; KVM's __kvm_set_xcr()). */
	if ((xcr0 & X86_XFEATURE_MPX) != X86_XFEATURE_MPX)
		xcr0 &= ~X86_XFEATURE_MPX;
	if ((xcr0 & X86_XFEATURE_AVX512) != X86_XFEATURE_AVX512)
		xcr0 &= ~X86_XFEATURE_AVX512;
	if ((xcr0 & X86_XFEATURE_XTILE) != X86_XFEATURE_XTILE)
		xcr0 &= ~X86_XFEATURE_XTILE;
	return xcr0;
}

int x86_xstate_set_boot_xcr0(int vcpu_fd, const struct kvm_cpuid2 *cpuid, uint64_t *xcr0,
			     struct err *e)
{
	uint64_t v = x86_xstate_guest_xcr0(cpuid);
	struct kvm_xcrs x;

	if (xcr0)
		*xcr0 = v;
	if (!v)
		return 0;
	memset(&x, 0, sizeof(x));
	x.nr_xcrs = 1;
	x.xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
	x.xcrs[0].value = v;
	if (ioctl(vcpu_fd, KVM_SET_XCRS, &x) < 0) {
		int code = -errno;

		return err_set(e, code, "KVM_SET_XCRS of XCR0 0x%llx (the XSAVE features of the vCPU's CPUID) failed: %s: this KVM refuses the XSAVE state its own CPUID offers",
			       (unsigned long long)v, strerror(-code));
	}
	return 0;
}
