/* kvm-pvm detection: a fake sysfs root with and without module/kvm_pvm (and with kvm_intel
 * as the negative control), and supported-CPUID arrays with PVM's signature in either ABI
 * revision, with KVM's own signature only, and empty; and the sentence for a missing /dev/kvm
 * from a fake /proc/misc and sysfs. */
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	TEST_ASSERT(f && fputs(text, f) >= 0 && fclose(f) == 0, "writing %s", path);
}

/* Why /dev/kvm is missing, from a fake /proc/misc and sysfs: registered (only the node is
 * missing), kvm_pvm loaded without a device (this machine), kvm_amd loaded, nothing. */
static void absent_reasons(void)
{
	char root[] = "/tmp/daxvm-fake-kvm-XXXXXX", misc[64], mod[64], dir[128], why[512];

	TEST_ASSERT(mkdtemp(root), "mkdtemp");
	snprintf(misc, sizeof(misc), "%s/misc", root);
	snprintf(mod, sizeof(mod), "%s/module", root);
	TEST_ASSERT(mkdir(mod, 0755) == 0, "mkdir");

	write_file(misc, "229 fuse\n232 kvm\n 58 memory_bandwidth\n");
	kvm_flavor_absent_reason(root, misc, why, sizeof(why));
	TEST_ASSERT(strstr(why, "registered KVM") && strstr(why, "mknod /dev/kvm c 10 232"), "registered: %s", why);

	write_file(misc, "229 fuse\n 58 kvmx\n");	/* a name that only starts with kvm is not KVM */
	kvm_flavor_absent_reason(root, misc, why, sizeof(why));
	TEST_ASSERT(strstr(why, "modprobe kvm_intel or kvm_amd"), "nothing loaded: %s", why);

	snprintf(dir, sizeof(dir), "%s/kvm_amd", mod);
	TEST_ASSERT(mkdir(dir, 0755) == 0, "mkdir");
	kvm_flavor_absent_reason(root, misc, why, sizeof(why));
	TEST_ASSERT(strstr(why, "kvm_amd is loaded") && strstr(why, "firmware"), "kvm_amd: %s", why);
	rmdir(dir);

	snprintf(dir, sizeof(dir), "%s/kvm_pvm", mod);
	TEST_ASSERT(mkdir(dir, 0755) == 0, "mkdir");
	kvm_flavor_absent_reason(root, misc, why, sizeof(why));
	TEST_ASSERT(strstr(why, "kvm_pvm module is loaded but registered no KVM device"), "kvm_pvm: %s", why);
	rmdir(dir);

	unlink(misc);	/* no /proc/misc at all: the module decides */
	kvm_flavor_absent_reason(root, misc, why, sizeof(why));
	TEST_ASSERT(strstr(why, "modprobe"), "no misc file: %s", why);
	rmdir(mod);
	rmdir(root);
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
	absent_reasons();
	printf("kvm_flavor_test: sysfs and CPUID signals both detect kvm-pvm, hardware KVM is not flagged; a missing /dev/kvm is explained\n");
	return T_PASS;
}
