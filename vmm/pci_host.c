/* KVM memslots, irqfds and MSI routes for passed-through PCI devices. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/pci_host.h"

void pci_host_init(struct pci_host *h, int vm_fd)
{
	memset(h, 0, sizeof(*h));
	h->vm_fd = vm_fd;
	h->kvm_vfio_fd = -1;
	pthread_mutex_init(&h->lock, NULL);
}

void pci_host_fini(struct pci_host *h)
{
	if (h->kvm_vfio_fd >= 0)
		close(h->kvm_vfio_fd);
	h->kvm_vfio_fd = -1;
	pthread_mutex_destroy(&h->lock);
}

int pci_host_add_group(struct pci_host *h, int group_fd)
{
	struct kvm_device_attr attr = { .group = KVM_DEV_VFIO_GROUP, .attr = KVM_DEV_VFIO_GROUP_ADD,
					.addr = (uintptr_t)&group_fd };

	if (h->kvm_vfio_fd < 0) {
		struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };

		if (ioctl(h->vm_fd, KVM_CREATE_DEVICE, &cd))
			return -errno;
		h->kvm_vfio_fd = (int)cd.fd;
	}
	return ioctl(h->kvm_vfio_fd, KVM_SET_DEVICE_ATTR, &attr) ? -errno : 0;
}

static int set_slot(struct pci_host *h, unsigned slot, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = PCI_HOST_SLOT_BASE + slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	h->memslot_ops++;
	return ioctl(h->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

static int host_mem_map(void *opaque, uint64_t gpa, uint64_t size, void *host, unsigned *slot)
{
	struct pci_host *h = opaque;
	int ret = -ENOSPC;

	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < PCI_HOST_SLOTS; i++) {
		if (h->slot_used[i])
			continue;
		ret = set_slot(h, i, gpa, size, host);
		if (!ret) {
			h->slot_used[i] = true;
			*slot = i;
		}
		break;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static int host_mem_unmap(void *opaque, unsigned slot)
{
	struct pci_host *h = opaque;
	int ret;

	if (slot >= PCI_HOST_SLOTS)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	ret = h->slot_used[slot] ? set_slot(h, slot, 0, 0, NULL) : -ENOENT;	/* size 0 deletes */
	if (!ret)
		h->slot_used[slot] = false;
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static int host_irqfd(void *opaque, unsigned gsi, int fd, int resample_fd, bool assign)
{
	struct pci_host *h = opaque;
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi };

	if (!assign)
		f.flags = KVM_IRQFD_FLAG_DEASSIGN;
	else if (resample_fd >= 0) {
		f.flags = KVM_IRQFD_FLAG_RESAMPLE;
		f.resamplefd = (uint32_t)resample_fd;
	}
	__atomic_add_fetch(&h->irqfd_ops, 1, __ATOMIC_RELAXED);
	return ioctl(h->vm_fd, KVM_IRQFD, &f) ? -errno : 0;
}

/* KVM_SET_GSI_ROUTING replaces the whole table: KVM's default one (kvm_setup_default_irq_routing,
 * arch/x86/kvm/irq_comm.c: GSI 0-15 to the PICs and the IOAPIC pin of the same number, 16-23 to
 * the IOAPIC) plus the MSI routes (lock held). */
static int push_routes(struct pci_host *h)
{
	unsigned max = 16 * 2 + 8 + h->nr_msi, n = 0;
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	int ret;

	if (!r)
		return -ENOMEM;
	for (unsigned gsi = 0; gsi < 24; gsi++) {
		if (gsi < 16)
			r->entries[n++] = (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
					       .pin = gsi % 8 } };
		r->entries[n++] = (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi } };
	}
	for (unsigned i = 0; i < h->nr_msi; i++)
		r->entries[n++] = (struct kvm_irq_routing_entry){ .gsi = h->msi[i].gsi, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)h->msi[i].addr, .address_hi = (uint32_t)(h->msi[i].addr >> 32),
				   .data = h->msi[i].data } };
	r->nr = n;
	h->route_updates++;
	ret = ioctl(h->vm_fd, KVM_SET_GSI_ROUTING, r) ? -errno : 0;
	free(r);
	return ret;
}

static int host_msi_route(void *opaque, unsigned *gsi, uint64_t addr, uint32_t data)
{
	struct pci_host *h = opaque;
	unsigned i;
	int ret;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->nr_msi && h->msi[i].gsi != *gsi; i++)
		;
	if (i == h->nr_msi) {
		if (*gsi || h->nr_msi == PCI_HOST_MAX_MSI) {
			pthread_mutex_unlock(&h->lock);
			return *gsi ? -ENOENT : -ENOSPC;
		}
		h->msi[i].gsi = PCI_HOST_MSI_GSI_BASE + i;
		h->nr_msi++;
	}
	h->msi[i].addr = addr;
	h->msi[i].data = data;
	ret = push_routes(h);
	if (!ret)
		*gsi = h->msi[i].gsi;
	else if (!*gsi)
		h->nr_msi--;
	pthread_mutex_unlock(&h->lock);
	return ret;
}

struct vfio_pci_host pci_host_ops(struct pci_host *h)
{
	return (struct vfio_pci_host){ .opaque = h, .mem_map = host_mem_map, .mem_unmap = host_mem_unmap,
				       .irqfd = host_irqfd, .msi_route = host_msi_route };
}

void pci_host_vcpu_allow(const struct pci_host *h, struct thread_filter_rules *r)
{
	thread_filter_rules_add_ioctl(r, h->vm_fd, KVM_SET_USER_MEMORY_REGION);
	thread_filter_rules_add_ioctl(r, h->vm_fd, KVM_IRQFD);
	thread_filter_rules_add_ioctl(r, h->vm_fd, KVM_SET_GSI_ROUTING);
}
