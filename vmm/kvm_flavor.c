/* kvm-pvm detection from sysfs and from KVM's supported CPUID (see kvm_flavor.h). */
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/kvm_flavor.h"

bool kvm_flavor_pvm_in_sysfs(const char *sysfs_root)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/module/kvm_pvm", sysfs_root);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool kvm_flavor_pvm_in_cpuid(const struct kvm_cpuid2 *c)
{
	for (unsigned i = 0; c && i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *ent = &c->entries[i];
		char sig[13];

		if (ent->function < 0x40000000 || ent->function > 0x400002ff)
			continue;
		if (ent->ebx == KVM_PVM_CPUID_SIGNATURE)
			return true;
		memcpy(sig, &ent->ebx, 4);
		memcpy(sig + 4, &ent->ecx, 4);
		memcpy(sig + 8, &ent->edx, 4);
		sig[12] = '\0';
		if (!strncmp(sig, "PVM", 3))
			return true;
	}
	return false;
}

void kvm_flavor_pvm_refusal(const char *where, char *buf, size_t len)
{
	snprintf(buf, len, "this host's KVM is kvm-pvm (%s): it emulates guest supervisor code about 160x slower, so a Linux kernel cannot boot on it; boot Linux on hardware KVM (VMX/SVM), or in the pmem lab's nested KVM (tests/lab/run, check linux_guest); the built-in stress guest (without a kernel) runs here",
		 where);
}
