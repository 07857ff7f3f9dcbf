/* Opening KVM: the system fd, the VM fd, capabilities and the supported CPUID. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/kvm_vm.h"
#include "vmm/kvm_flavor.h"

#define VM_CPUID_MAX_ENTRIES 256

static int vm_get_cpuid(struct vm *vm, struct err *e)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + VM_CPUID_MAX_ENTRIES * sizeof(c->entries[0]));

	if (!c)
		return err_set(e, -ENOMEM, "out of memory reading KVM's CPUID: free some memory");
	c->nent = VM_CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int code = -errno;

		free(c);
		return err_set(e, code, "KVM_GET_SUPPORTED_CPUID failed: %s: this KVM is too unusual for daxvm",
			       strerror(-code));
	}
	vm->cpuid = c;
	return 0;
}

int vm_open(struct vm *vm, struct err *e)
{
	int ret, n;

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ENXIO || ret == -ENODEV) {
			char why[320];

			kvm_flavor_absent_reason("/sys", "/proc/misc", why, sizeof(why));
			return err_set(e, ret, "%s", why);
		}
		if (ret == -EACCES || ret == -EPERM)
			return err_set(e, ret, "permission denied opening /dev/kvm: run as root or join the group owning /dev/kvm");
		return err_set(e, ret, "cannot open /dev/kvm: %s: check the KVM installation", strerror(-ret));
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		ret = err_set(e, -ENOTSUP, "/dev/kvm speaks an unexpected API version: use a standard KVM");
		goto fail;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		/* KVM_CAP_IMMEDIATE_EXIT: Linux 4.11; stopping vCPUs without races relies on it. */
		ret = err_set(e, -ENOTSUP, "this KVM lacks user memory or immediate_exit (Linux 4.11+): use a newer kernel");
		goto fail;
	}
	n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	vm->max_vcpus = n > 0 ? (unsigned)n : 1;
	n = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n <= 0) {
		ret = err_set(e, -ENOTSUP, "KVM_GET_VCPU_MMAP_SIZE failed: this KVM is too unusual for daxvm");
		goto fail;
	}
	vm->vcpu_mmap_bytes = (size_t)n;
	ret = vm_get_cpuid(vm, e);
	if (ret)
		goto fail;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		err_set(e, ret, "KVM_CREATE_VM failed: %s: free memory or check dmesg for KVM errors",
			strerror(-ret));
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VM_TSS_GPA) < 0) {
		ret = -errno;
		err_set(e, ret, "KVM_SET_TSS_ADDR failed: %s: check dmesg for KVM errors", strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	vm_close(vm);
	return ret;
}

void vm_close(struct vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
	vm->cpuid = NULL;
	vm->vm_fd = vm->kvm_fd = -1;
}
