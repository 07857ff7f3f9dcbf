/* The kvm suite's one requirement: a KVM that daxvm can open. The skip says what vm_open() says
 * to daxvm's users (vmm/kvm_flavor.c: only the node missing, a module loaded without a device as
 * on a kvm-pvm kernel that is itself a PVM guest, none loaded; no permission); any other
 * failure of vm_open() is a test failure, not a skip. */
#ifndef DAXVM_TESTS_KVM_KVM_REQUIRE_H
#define DAXVM_TESTS_KVM_KVM_REQUIRE_H

#include "test.h"
#include "vmm/kvm_vm.h"

/* Opens vm (vm_open) or skips; the caller closes it with vm_close. */
static inline void t_require_vm(struct vm *vm)
{
	struct err e = { 0 };
	int ret = vm_open(vm, &e);

	TEST_REQUIRE(ret != -ENOENT && ret != -ENXIO && ret != -ENODEV && ret != -EACCES && ret != -EPERM,
		     "feature missing: %s", e.msg);
	TEST_ASSERT(ret == 0, "vm_open: %s", e.msg);
}

#endif
