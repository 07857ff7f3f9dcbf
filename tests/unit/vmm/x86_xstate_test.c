/* The XCR0 daxvm gives a Linux guest's vCPUs (vmm/x86_xstate.h), on fabricated CPUIDs: the
 * lab's L1 (QEMU 7.2 TCG -cpu max under KVM 6.1-7.3: x87, SSE, AVX, PKRU = 0x207, which is
 * Linux 7.3's max_features in the crash it fixes), a host with AVX-512, MPX and AMX, each
 * component dropped when its CPUID feature flag is missing, half groups, and no XSAVE. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>

#include "test.h"
#include "vmm/x86_xstate.h"

#define TEST_ASSERT_EQ_U64(got, want) do {					\
	uint64_t g_ = (got), w_ = (want);					\
	TEST_ASSERT(g_ == w_, "%s = 0x%llx, want 0x%llx", #got,		\
		    (unsigned long long)g_, (unsigned long long)w_);		\
} while (0)

enum { L1, L7_0, L7_1, LD_0, LD_1, N };

static struct kvm_cpuid2 *cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + N * sizeof(c->entries[0]));
	static const uint32_t fn[N][2] = { { 1, 0 }, { 7, 0 }, { 7, 1 }, { 0xd, 0 }, { 0xd, 1 } };

	TEST_ASSERT(c, "calloc");
	c->nent = N;
	for (unsigned i = 0; i < N; i++) {
		c->entries[i].function = fn[i][0];
		c->entries[i].index = fn[i][1];
	}
	return c;
}

/* The lab's L1: KVM_GET_SUPPORTED_CPUID on QEMU 7.2 TCG -cpu max (XSAVE, AVX, PKU). */
static struct kvm_cpuid2 *lab_l1(void)
{
	struct kvm_cpuid2 *c = cpuid();

	c->entries[L1].ecx = 1U << 26 | 1U << 28;		/* XSAVE, AVX */
	c->entries[L7_0].ecx = 1U << 3;				/* PKU */
	c->entries[LD_0].eax = 0x207;
	c->entries[LD_0].ebx = 2696;
	c->entries[LD_0].ecx = 2696;
	return c;
}

int main(void)
{
	struct kvm_cpuid2 *c = lab_l1();
	uint64_t x;

	TEST_ASSERT_EQ_U64(x86_xstate_guest_xcr0(c), 0x207);
	/* Each feature flag gates its component, as Linux's xsave_cpuid_features[] does. */
	c->entries[L7_0].ecx = 0;
	TEST_ASSERT_EQ_U64(x86_xstate_guest_xcr0(c), 0x7);
	c->entries[L1].ecx &= ~(1U << 28);
	TEST_ASSERT_EQ_U64(x86_xstate_guest_xcr0(c), 0x3);
	/* No XSAVE flag, no leaf 0xD.0, or no SSE in it: KVM's reset value stays. */
	c->entries[L1].ecx = 1U << 28;
	TEST_ASSERT_EQ_U64(x86_xstate_guest_xcr0(c), 0);
	free(c);
	c = lab_l1();
	c->entries[LD_0].function = 0x8000000d;
	TEST_ASSERT_EQ_U64(x86_xstate_guest_xcr0(c), 0);
	free(c);
	c = lab_l1();
	c->entries[LD_0].eax = 0x205;
	TEST_ASSERT_EQ_U64(x86_xstate_guest_xcr0(c), 0);
	c->entries[LD_0].eax = 0x207;
	/* Supervisor components (0xD.1 ECX, IA32_XSS) never go into XCR0. */
	c->entries[LD_1].ecx = 0x1800;				/* CET user + supervisor */
	c->entries[LD_0].eax |= 1U << 8;			/* PT: not a user feature Linux enables */
	TEST_ASSERT_EQ_U64(x86_xstate_guest_xcr0(c), 0x207);
	free(c);

	/* A big host: AVX-512, MPX, AMX, APX advertised with their flags. */
	c = lab_l1();
	c->entries[L7_0].ebx = 1U << 14 | 1U << 16;		/* MPX, AVX512F */
	c->entries[L7_0].edx = 1U << 24;			/* AMX-TILE */
	c->entries[L7_1].edx = 1U << 21;			/* APX */
	c->entries[LD_0].eax = 0x602ff;
	c->entries[LD_0].edx = 0;
	c->entries[LD_0].eax |= 1U << 19;
	TEST_ASSERT_EQ_U64(x86_xstate_guest_xcr0(c), 0xe02ff);
	/* Half groups are never written: XSETBV would #GP (KVM_SET_XCRS: EINVAL). */
	c->entries[LD_0].eax = 0xe02ff & ~(1U << 4) & ~(1U << 6) & ~(1U << 18);
	TEST_ASSERT_EQ_U64(x86_xstate_guest_xcr0(c), 0x80207);
	/* AVX-512 without AVX (YMM) is dropped with it. */
	c->entries[LD_0].eax = 0xe02ff;
	c->entries[L1].ecx &= ~(1U << 28);
	TEST_ASSERT_EQ_U64(x86_xstate_guest_xcr0(c), 0xe021b);
	free(c);

	/* Setting it: with no XSAVE nothing is asked of KVM, so a bad fd is never touched. */
	c = cpuid();
	{
		struct err e = { 0 };

		x = 1;
		TEST_ASSERT(x86_xstate_set_boot_xcr0(-1, c, &x, &e) == 0, "no XSAVE must not call KVM");
		TEST_ASSERT_EQ_U64(x, 0);
		free(c);
		c = lab_l1();
		TEST_ASSERT(x86_xstate_set_boot_xcr0(-1, c, &x, &e) == -EBADF, "the ioctl must run");
		TEST_ASSERT_EQ_U64(x, 0x207);
		TEST_ASSERT(strstr(e.msg, "KVM_SET_XCRS of XCR0 0x207"), "message: %s", e.msg);
	}
	free(c);
	printf("ok: XCR0 0x207 for the lab's CPUID, gated by feature flags, whole groups only\n");
	return 0;
}
