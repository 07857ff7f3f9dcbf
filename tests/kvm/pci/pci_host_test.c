/* vmm/pci_host.c on a real KVM VM with the in-kernel irqchip: BAR memslots come and go at PCI
 * addresses, an INTx irqfd with resample raises the IOAPIC pin it names (read back from the
 * IOAPIC's IRR), MSI routes are allocated and updated over KVM's default GSI table (the serial
 * line GSI 4 still reaches the IOAPIC afterwards), and deassigned irqfds stop raising. */
#include <linux/kvm.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm/kvm_vm.h"
#include "vmm/pci_host.h"
#include "test.h"
#include "kvm/common/kvm_require.h"

static uint32_t ioapic_irr(int vm_fd)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	TEST_ASSERT(ioctl(vm_fd, KVM_GET_IRQCHIP, &chip) == 0, "KVM_GET_IRQCHIP");
	return chip.chip.ioapic.irr;
}

int main(void)
{
	struct vm vm;
	struct pci_host h;
	struct vfio_pci_host ops;
	unsigned slot = 99, gsi = 0, gsi2 = 0;
	uint64_t one = 1;
	void *bar;
	int fd, rfd;

	t_require_vm(&vm);
	TEST_ASSERT(ioctl(vm.vm_fd, KVM_CREATE_IRQCHIP, 0) == 0, "KVM_CREATE_IRQCHIP");
	pci_host_init(&h, vm.vm_fd);
	ops = pci_host_ops(&h);

	/* A BAR memslot in the PCI window, moved, removed. */
	bar = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(bar != MAP_FAILED, "mmap");
	TEST_ASSERT(ops.mem_map(ops.opaque, 0xe0000000, 1 << 20, bar, &slot) == 0 && slot == 0, "map slot %u", slot);
	TEST_ASSERT(ops.mem_map(ops.opaque, 0xe0000000, 1 << 20, bar, &slot) != 0, "overlapping memslot accepted");
	TEST_ASSERT(ops.mem_unmap(ops.opaque, 0) == 0 && ops.mem_unmap(ops.opaque, 0) == -ENOENT, "unmap");
	TEST_ASSERT(ops.mem_map(ops.opaque, 0xe1000000, 1 << 20, bar, &slot) == 0 && ops.mem_unmap(ops.opaque, slot) == 0,
		    "moved memslot");

	/* INTx: a level irqfd with resample on GSI 17 raises IOAPIC pin 17. */
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	TEST_ASSERT(!(ioapic_irr(vm.vm_fd) & (1u << 17)), "pin 17 raised before anything");
	TEST_ASSERT(ops.irqfd(ops.opaque, 17, fd, rfd, true) == 0, "irqfd with resample");
	TEST_ASSERT(write(fd, &one, 8) == 8, "eventfd write");
	usleep(20000);
	TEST_ASSERT(ioapic_irr(vm.vm_fd) & (1u << 17), "the irqfd did not raise IOAPIC pin 17 (irr 0x%x)",
		    ioapic_irr(vm.vm_fd));
	TEST_ASSERT(ops.irqfd(ops.opaque, 17, fd, rfd, false) == 0, "deassign");

	/* MSI routes: allocated from GSI 24, updated in place; the default table survives. */
	TEST_ASSERT(ops.msi_route(ops.opaque, &gsi, 0xfee00000, 0x4041) == 0 && gsi == PCI_HOST_MSI_GSI_BASE,
		    "msi route gsi %u", gsi);
	TEST_ASSERT(ops.msi_route(ops.opaque, &gsi2, 0xfee01000, 0x4042) == 0 && gsi2 == gsi + 1, "second route %u", gsi2);
	TEST_ASSERT(ops.msi_route(ops.opaque, &gsi, 0xfee00000, 0x4051) == 0 && h.nr_msi == 2, "update");
	{
		unsigned bogus = 9999;

		TEST_ASSERT(ops.msi_route(ops.opaque, &bogus, 0, 0) == -ENOENT, "update of an unknown route");
	}
	{
		struct kvm_irq_level line = { .irq = 4, .level = 1 };

		TEST_ASSERT(ioctl(vm.vm_fd, KVM_IRQ_LINE, &line) == 0 && (ioapic_irr(vm.vm_fd) & (1u << 4)),
			    "GSI 4 no longer reaches the IOAPIC after the routing table was replaced");
	}
	/* KVM's VFIO device: a non-VFIO fd is refused (the lab adds a real group). */
	{
		int kv = pci_host_add_group(&h, fd);

		TEST_ASSERT(kv == -EBADF || kv == -EINVAL || kv == -ENODEV, "a non-group fd accepted (%d)", kv);
	}
	printf("pci_host: memslots at PCI addresses, INTx irqfd raised IOAPIC pin 17, MSI routes %u and %u over the "
	       "default table (%llu memslot ops, %llu route updates)\n", gsi, gsi2,
	       (unsigned long long)h.memslot_ops, (unsigned long long)h.route_updates);
	close(fd);
	close(rfd);
	pci_host_fini(&h);
	vm_close(&vm);
	munmap(bar, 1 << 20);
	return T_PASS;
}
