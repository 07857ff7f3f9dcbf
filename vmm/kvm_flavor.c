/* kvm-pvm detection from sysfs and from KVM's supported CPUID, and why /dev/kvm is missing
 * (see kvm_flavor.h). */
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/kvm_flavor.h"

/* A module's directory (built-in modules have one too). */
static bool module_loaded(const char *sysfs_root, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/module/%s", sysfs_root, name);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool kvm_flavor_pvm_in_sysfs(const char *sysfs_root)
{
	return module_loaded(sysfs_root, "kvm_pvm");
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

/* KVM's misc minor from a /proc/misc listing, or -1 when KVM registered none. */
static int misc_kvm_minor(const char *proc_misc)
{
	char line[128], name[64];
	int minor = -1, m;
	FILE *f = fopen(proc_misc, "re");

	if (!f)
		return -1;
	while (minor < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %63s", &m, name) == 2 && !strcmp(name, "kvm"))
			minor = m;
	fclose(f);
	return minor;
}

void kvm_flavor_absent_reason(const char *sysfs_root, const char *proc_misc, char *buf, size_t len)
{
	int minor = misc_kvm_minor(proc_misc);
	const char *hw = module_loaded(sysfs_root, "kvm_intel") ? "kvm_intel"
			 : module_loaded(sysfs_root, "kvm_amd") ? "kvm_amd" : NULL;

	if (minor >= 0)
		snprintf(buf, len, "no /dev/kvm node, although the kernel registered KVM (misc minor %d in %s): create it (mknod /dev/kvm c 10 %d) or let udev do it",
			 minor, proc_misc, minor);
	else if (module_loaded(sysfs_root, "kvm_pvm"))
		snprintf(buf, len, "no /dev/kvm: the kvm_pvm module is loaded but registered no KVM device (no kvm in %s; a kvm-pvm kernel that is itself a PVM guest does not bind, see dmesg): run on a machine whose kernel provides /dev/kvm",
			 proc_misc);
	else if (hw)
		snprintf(buf, len, "no /dev/kvm although %s is loaded (no kvm in %s; see dmesg): check that virtualization is enabled in the firmware",
			 hw, proc_misc);
	else
		snprintf(buf, len, "no /dev/kvm: load the kvm module (modprobe kvm_intel or kvm_amd) or run on a machine with KVM");
}
