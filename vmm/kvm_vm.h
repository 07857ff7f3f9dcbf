/* The KVM system and VM file descriptors and what the VMM learns from them once. */
#ifndef DAXVM_VMM_KVM_VM_H
#define DAXVM_VMM_KVM_VM_H

#include <stddef.h>

#include "common/err.h"

struct kvm_cpuid2;

/* Intel VMX needs three pages for a real-mode TSS somewhere in guest-physical space, and KVM
 * keeps its EPT identity page just below them (0xfffbc000, the default): the top of the
 * 3-4 GiB hole, away from RAM and daxvm's MMIO. A Linux guest's e820 reserves all four. */
#define VM_TSS_GPA		0xfffbd000ULL
#define VM_KVM_PAGES_GPA	0xfffbc000ULL
#define VM_KVM_PAGES_BYTES	0x4000ULL

struct vm {
	int kvm_fd;			/* /dev/kvm, -1 when closed */
	int vm_fd;			/* KVM_CREATE_VM, -1 when closed */
	size_t vcpu_mmap_bytes;		/* size of each vCPU's struct kvm_run mapping */
	unsigned max_vcpus;		/* KVM_CAP_MAX_VCPUS */
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID, given to every vCPU */
};

/* Opens /dev/kvm and creates a VM. Errors name the cause and the fix (-ENOENT: no KVM,
 * -EACCES: no permission). On failure nothing is left open. */
int vm_open(struct vm *vm, struct err *e);
void vm_close(struct vm *vm);	/* safe on a closed vm (fds -1) */

#endif
