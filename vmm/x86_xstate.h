/* XCR0 of a Linux guest's vCPUs before it runs.
 *
 * KVM answers CPUID 0xD.0 EBX (the XSAVE area size for the features enabled in XCR0) and
 * 0xD.1 EBX at run time from ITS copy of the guest's XCR0 (kvm_update_cpuid_runtime(),
 * arch/x86/kvm/cpuid.c, 6.1-7.3), which it updates only when the guest's XSETBV exits to it.
 * Under a hypervisor that does not deliver that exit to KVM, KVM's copy stays at the reset
 * value (x87 only) while the guest has enabled AVX, PKRU, ...: the guest then reads a size
 * of 576 bytes for an XCR0 whose areas need more, Linux's paranoid_xstate_size_valid()
 * fails ("XSAVE consistency problem"), and Linux turns XSAVE off (6.1, 6.12: quietly, with a
 * WARN) or, on 7.3, crashes in that fallback (a NULL FPU pointer in fpstate_reset()). KVM
 * also loads its stale XCR0 into the CPU at VM entries, so the guest would not even keep
 * its own setting. QEMU 7.2's TCG is such a hypervisor (it ignores the SVM XSETBV intercept;
 * QEMU 8.2 added it: "target/i386: check intercept for XSETBV"), and the lab's L1 runs on it.
 *
 * So daxvm gives every vCPU, through KVM_SET_XCRS, the XCR0 Linux will write itself: the
 * user state components of CPUID 0xD.0 whose feature flag the vCPU's CPUID enumerates
 * (Linux's xsave_cpuid_features[] rule in fpu__init_system_xstate(), 6.1-7.3). Where the
 * guest's XSETBV does reach KVM (every hardware KVM) the guest's own write replaces it, as on
 * any reset; where it does not, KVM's copy already equals what the guest writes. */
#ifndef DAXVM_VMM_X86_XSTATE_H
#define DAXVM_VMM_X86_XSTATE_H

#include <stdint.h>

#include "common/err.h"

struct kvm_cpuid2;
struct kvm_cpuid_entry2;

#define X86_XFEATURE_FP		(1ULL << 0)
#define X86_XFEATURE_SSE	(1ULL << 1)
#define X86_XFEATURE_YMM	(1ULL << 2)
#define X86_XFEATURE_MPX	(3ULL << 3)	/* BNDREGS, BNDCSR */
#define X86_XFEATURE_AVX512	(7ULL << 5)	/* opmask, ZMM_Hi256, Hi16_ZMM */
#define X86_XFEATURE_PKRU	(1ULL << 9)
#define X86_XFEATURE_XTILE	(3ULL << 17)	/* XTILECFG, XTILEDATA */
#define X86_XFEATURE_APX	(1ULL << 19)

/* The XCR0 a Linux guest writes on a vCPU with this CPUID: the user components of leaf
 * 0xD.0 (EDX:EAX) kept only with their feature flag (YMM: AVX, MPX: MPX, AVX-512: AVX512F,
 * PKRU: PKU, AMX tiles: AMX-TILE, APX: APX) and as the architecture groups them. 0 (leave
 * KVM's reset value) when the CPUID has no XSAVE (leaf 1 ECX bit 26), no leaf 0xD.0, or
 * leaf 0xD.0 lacks x87 or SSE (then Linux does not use XSAVE). */
uint64_t x86_xstate_guest_xcr0(const struct kvm_cpuid2 *cpuid);

/* The entry for CPUID function fn, index idx in c, or NULL. */
const struct kvm_cpuid_entry2 *x86_cpuid_leaf(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx);

/* KVM_SET_XCRS with x86_xstate_guest_xcr0(cpuid) on one vCPU whose CPUID is already set;
 * nothing when that is 0. *xcr0 (may be NULL) gets the value set. */
int x86_xstate_set_boot_xcr0(int vcpu_fd, const struct kvm_cpuid2 *cpuid, uint64_t *xcr0,
			     struct err *e);

#endif
