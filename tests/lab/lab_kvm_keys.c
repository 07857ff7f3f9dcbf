/* Holds KVM's static keys on for the whole lab boot, so that no check flips them.
 *
 * Every KVM VM created while none exists turns on the scheduler's preempt_notifier_key
 * (kvm_create_vm -> preempt_notifier_inc, Linux 4.6+), and the last one destroyed turns it off;
 * vCPUs without an in-kernel LAPIC do the same with kvm_has_noapic_vcpu, and LAPICs with
 * apic_sw_disabled. Each flip patches kernel text (__schedule, KVM's LAPIC paths) while the other
 * vCPU runs it, and QEMU 7.2's multi-threaded TCG (the lab's L0) races with such cross-modifying
 * code: L1 died in __schedule on a half-patched jump ("Oops: int3"), 7.3 in 3 of 3 boots under CI
 * load. One VM of each kind (no irqchip + a vCPU; irqchip + a vCPU whose LAPIC is never enabled),
 * alive from before the first check to the end, keeps those counts above zero: the checks' VMs
 * then never patch text; its own VMs flip them once, before the first check. Runs until killed (the kernel closes the VMs); prints one line once they
 * exist. Usage: lab_kvm_keys (exit 1 when /dev/kvm or a VM cannot be set up). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* A VM with one vCPU (never run); with_irqchip gives it KVM's LAPIC. Returns 0 or -errno. */
static int hold_vm(int kvm, int with_irqchip, int *vm_out, int *vcpu_out)
{
	int vm = ioctl(kvm, KVM_CREATE_VM, 0), vcpu;

	if (vm < 0)
		return -errno;
	if (with_irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0)) {
		int ret = -errno;

		close(vm);
		return ret;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		int ret = -errno;

		close(vm);
		return ret;
	}
	*vm_out = vm;
	*vcpu_out = vcpu;
	return 0;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), fds[4], ret;

	if (kvm < 0) {
		fprintf(stderr, "lab_kvm_keys: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	ret = hold_vm(kvm, 0, &fds[0], &fds[1]);
	if (!ret)
		ret = hold_vm(kvm, 1, &fds[2], &fds[3]);
	if (ret) {
		fprintf(stderr, "lab_kvm_keys: creating a VM and vCPU: %s\n", strerror(-ret));
		return 1;
	}
	printf("lab_kvm_keys: holding 2 VMs (one without, one with an in-kernel irqchip), pid %d\n", getpid());
	fflush(stdout);
	for (;;)
		pause();
}
