/* kvm-pvm detection: a fake sysfs root with and without module/kvm_pvm (and with kvm_intel
 * as the negative control), and supported-CPUID arrays with PVM's signature in either ABI
 * revision, with KVM's own signature only, and empty. */
#include <linux/kvm.h>
#include <stdint.h>
#include <sys/stat.h>

#include "test.h"
#include "vmm/kvm_flavor.h"

static struct kvm_cpuid2 *cpuid(unsigned n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	TEST_ASSERT(c, "calloc");
	c->nent = n;
	return c;
}

static void sig(struct kvm_cpuid_entry2 *ent, uint32_t fn, const char s[12])
{
	ent->function = fn;
	memcpy(&ent->ebx, s, 4);
	memcpy(&ent->ecx, s + 4, 4);
	memcpy(&ent->edx, s + 8, 4);
}

int main(void)
{
	char root[] = "/tmp/daxvm-fake-sysfs-XXXXXX", path[256], why[512];
	struct kvm_cpuid2 *c;

	TEST_ASSERT(mkdtemp(root), "mkdtemp");
	snprintf(path, sizeof(path), "%s/module", root);
	TEST_ASSERT(mkdir(path, 0755) == 0, "mkdir");
	snprintf(path, sizeof(path), "%s/module/kvm_intel", root);
	TEST_ASSERT(mkdir(path, 0755) == 0, "mkdir");
	TEST_ASSERT(!kvm_flavor_pvm_in_sysfs(root), "kvm_intel alone is hardware KVM");
	snprintf(path, sizeof(path), "%s/module/kvm_pvm", root);
	TEST_ASSERT(mkdir(path, 0755) == 0, "mkdir");
	TEST_ASSERT(kvm_flavor_pvm_in_sysfs(root), "module/kvm_pvm not seen");
	rmdir(path);
	snprintf(path, sizeof(path), "%s/module/kvm_intel", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/module", root);
	rmdir(path);
	rmdir(root);
	TEST_ASSERT(!kvm_flavor_pvm_in_sysfs(root), "a missing root is not kvm-pvm");

	c = cpuid(3);
	c->entries[0].function = 1;
	c->entries[0].ebx = KVM_PVM_CPUID_SIGNATURE;	/* not a hypervisor leaf: no */
	sig(&c->entries[1], 0x40000000, "KVMKVMKVM\0\0\0");
	TEST_ASSERT(!kvm_flavor_pvm_in_cpuid(c), "KVM's signature is hardware KVM");
	c->entries[2].function = 0x40000002;
	c->entries[2].ebx = KVM_PVM_CPUID_SIGNATURE;
	TEST_ASSERT(kvm_flavor_pvm_in_cpuid(c), "vendor features leaf with PVM not seen");
	c->entries[2].ebx = 0;
	sig(&c->entries[2], 0x40000200, "PVMPVMPVM\0\0\0");
	TEST_ASSERT(kvm_flavor_pvm_in_cpuid(c), "0x40000200 PVM signature not seen");
	c->nent = 0;
	TEST_ASSERT(!kvm_flavor_pvm_in_cpuid(c) && !kvm_flavor_pvm_in_cpuid(NULL), "empty CPUID");
	free(c);
	kvm_flavor_pvm_refusal("test", why, sizeof(why));
	TEST_ASSERT(strstr(why, "kvm-pvm") && strstr(why, "hardware KVM") && strstr(why, "lab"),
		    "the refusal names the reason and both alternatives: %s", why);
	printf("kvm_flavor_test: sysfs and CPUID signals both detect kvm-pvm, hardware KVM is not flagged\n");
	return T_PASS;
}
