/* vmm/x86_xstate.c on a real KVM vCPU: KVM answers CPUID 0xD.0 EBX (the XSAVE size of the
 * enabled features) from its own copy of XCR0. Positive control: after KVM_SET_CPUID2 alone
 * that copy is the reset value (x87) and KVM_GET_CPUID2 says 576 bytes; after
 * x86_xstate_set_boot_xcr0 KVM holds the XCR0 Linux will write and answers the size that
 * Linux computes from the 0xD.i offsets and sizes (its paranoid_xstate_size_valid() check).
 * In the lab (QEMU 7.2 TCG -> L1 KVM) that is 0x207 and 2696 bytes. */
#include <linux/kvm.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "vmm/kvm_vm.h"
#include "vmm/x86_xstate.h"
#include "test.h"
#include "kvm/common/kvm_require.h"

#define XSAVE_LEGACY_AND_HEADER 576

/* The standard-format size Linux sums for xcr0: the end of the last enabled component. */
static uint32_t linux_size(const struct kvm_cpuid2 *c, uint64_t xcr0)
{
	uint32_t size = XSAVE_LEGACY_AND_HEADER;

	for (unsigned i = 2; i < 64; i++) {
		const struct kvm_cpuid_entry2 *ent = x86_cpuid_leaf(c, 0xd, i);

		if (!(xcr0 >> i & 1))
			continue;
		TEST_ASSERT(ent, "KVM's CPUID enables XSAVE component %u but has no leaf 0xD.%u", i, i);
		if (ent->ebx + ent->eax > size)
			size = ent->ebx + ent->eax;
	}
	return size;
}

static uint32_t kvm_xsave_size(int vcpu_fd)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	const struct kvm_cpuid_entry2 *d0;
	uint32_t ebx;

	TEST_ASSERT(c, "calloc");
	c->nent = 256;
	TEST_ASSERT(ioctl(vcpu_fd, KVM_GET_CPUID2, c) == 0, "KVM_GET_CPUID2: %s", strerror(errno));
	d0 = x86_cpuid_leaf(c, 0xd, 0);
	TEST_ASSERT(d0, "the vCPU's CPUID has no leaf 0xD.0");
	ebx = d0->ebx;
	free(c);
	return ebx;
}

static uint64_t kvm_xcr0(int vcpu_fd)
{
	struct kvm_xcrs x;

	memset(&x, 0, sizeof(x));
	TEST_ASSERT(ioctl(vcpu_fd, KVM_GET_XCRS, &x) == 0, "KVM_GET_XCRS: %s", strerror(errno));
	for (unsigned i = 0; i < x.nr_xcrs; i++)
		if (x.xcrs[i].xcr == 0)
			return x.xcrs[i].value;
	TEST_ASSERT(0, "KVM_GET_XCRS returned no XCR0");
	return 0;
}

int main(void)
{
	struct vm vm;
	struct err e = { 0 };
	uint64_t xcr0, set = 0;
	uint32_t want;
	int fd;

	t_require_vm(&vm);
	xcr0 = x86_xstate_guest_xcr0(vm.cpuid);
	TEST_REQUIRE(xcr0, "feature missing: KVM's supported CPUID offers no XSAVE");
	fd = ioctl(vm.vm_fd, KVM_CREATE_VCPU, 0);
	TEST_ASSERT(fd >= 0, "KVM_CREATE_VCPU: %s", strerror(errno));
	TEST_ASSERT(ioctl(fd, KVM_SET_CPUID2, vm.cpuid) == 0, "KVM_SET_CPUID2: %s", strerror(errno));

	/* Before: KVM's XCR0 is the reset value and the size it answers is for x87 alone. */
	TEST_ASSERT(kvm_xcr0(fd) == 1, "XCR0 after reset 0x%llx, want 1", (unsigned long long)kvm_xcr0(fd));
	TEST_ASSERT(kvm_xsave_size(fd) == XSAVE_LEGACY_AND_HEADER, "0xD.0 EBX after reset %u, want %u",
		    kvm_xsave_size(fd), XSAVE_LEGACY_AND_HEADER);

	TEST_ASSERT(x86_xstate_set_boot_xcr0(fd, vm.cpuid, &set, &e) == 0, "%s", e.msg);
	TEST_ASSERT(set == xcr0, "set 0x%llx, computed 0x%llx", (unsigned long long)set, (unsigned long long)xcr0);
	TEST_ASSERT(kvm_xcr0(fd) == xcr0, "KVM's XCR0 0x%llx, want 0x%llx", (unsigned long long)kvm_xcr0(fd),
		    (unsigned long long)xcr0);
	want = linux_size(vm.cpuid, xcr0);
	TEST_ASSERT(kvm_xsave_size(fd) == want, "0xD.0 EBX %u after XCR0 0x%llx, Linux sums %u", kvm_xsave_size(fd),
		    (unsigned long long)xcr0, want);
	printf("ok: XCR0 1 -> 0x%llx; CPUID 0xD.0 EBX %u -> %u bytes, as Linux sums it\n",
	       (unsigned long long)xcr0, XSAVE_LEGACY_AND_HEADER, want);
	close(fd);
	vm_close(&vm);
	return 0;
}
