/* Which KVM this is: hardware KVM (VMX/SVM) boots Linux; kvm-pvm (the Pagetable-based
 * Virtual Machine, arch/x86/kvm/pvm) runs guest user mode natively but emulates every
 * supervisor instruction (~160x slower measured here), so an unmodified Linux never boots.
 * Two independent signals, either one is enough:
 *   - sysfs: /sys/module/kvm_pvm exists (module or built in; built in it has no initstate);
 *   - the KVM fd itself: KVM_GET_SUPPORTED_CPUID carries PVM's vendor signature "PVM" in a
 *     hypervisor leaf (kvm_cpuid_vendor_signature = PVM_CPUID_SIGNATURE 0x4d5650 in leaf
 *     0x40000002 EBX of the PVM patches; later revisions put a "PVM" signature at 0x40000200).
 * The sysfs test runs before /dev/kvm is opened, the CPUID test covers a container without
 * the host's sysfs. */
#ifndef DAXVM_VMM_KVM_FLAVOR_H
#define DAXVM_VMM_KVM_FLAVOR_H

#include <stdbool.h>
#include <stddef.h>

struct kvm_cpuid2;

#define KVM_PVM_CPUID_SIGNATURE 0x4d5650	/* "PVM\0" */

/* True when sysfs_root (normally "/sys") shows the kvm_pvm module. */
bool kvm_flavor_pvm_in_sysfs(const char *sysfs_root);

/* True when the supported CPUID has PVM's signature in a hypervisor leaf. */
bool kvm_flavor_pvm_in_cpuid(const struct kvm_cpuid2 *cpuid);

/* The one sentence daxvm says when it refuses to boot Linux on kvm-pvm; where names which
 * signal showed it. */
void kvm_flavor_pvm_refusal(const char *where, char *buf, size_t len);

/* The one sentence for a missing /dev/kvm, from what the kernel shows: a "kvm" line in
 * proc_misc (normally "/proc/misc": KVM registered, only the node is missing), or which KVM
 * module sysfs_root lists without registering a device (kvm-pvm in a kernel that is itself a
 * PVM guest does not bind; kvm_intel/kvm_amd without usable VMX/SVM fail to load instead). */
void kvm_flavor_absent_reason(const char *sysfs_root, const char *proc_misc, char *buf, size_t len);

#endif
