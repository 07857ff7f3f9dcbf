/* KVM's side of passed-through PCI devices: memslots for mmapped BARs (slots from
 * PCI_HOST_SLOT_BASE up, above guest RAM's), irqfds (with resample for INTx), and MSI routes
 * (the GSI routing table is KVM's default one, rebuilt, plus one MSI entry per route). Its
 * struct vfio_pci_host is what devices/vfio_pci.c calls. Thread-safe (vCPU threads move BARs). */
#ifndef DAXVM_VMM_PCI_HOST_H
#define DAXVM_VMM_PCI_HOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/thread_filter.h"
#include "devices/vfio_pci.h"

#define PCI_HOST_SLOT_BASE	32	/* guest RAM and pmem use the slots below */
#define PCI_HOST_SLOTS		32
#define PCI_HOST_MAX_MSI	32
#define PCI_HOST_MSI_GSI_BASE	24	/* after the IOAPIC's 24 pins */

struct pci_host {
	int vm_fd;
	pthread_mutex_t lock;
	bool slot_used[PCI_HOST_SLOTS];
	unsigned nr_msi;
	struct { unsigned gsi; uint64_t addr; uint32_t data; } msi[PCI_HOST_MAX_MSI];
	uint64_t memslot_ops, irqfd_ops, route_updates;	/* counters for the report */
	int kvm_vfio_fd;		/* KVM's VFIO pseudo-device, -1 until a group is added */
};

void pci_host_init(struct pci_host *h, int vm_fd);
void pci_host_fini(struct pci_host *h);
struct vfio_pci_host pci_host_ops(struct pci_host *h);
/* Tells KVM about a VFIO group (KVM_DEV_TYPE_VFIO, KVM_DEV_VFIO_GROUP_ADD): KVM then knows
 * the VM has assigned devices and handles non-coherent DMA (guest MTRRs/PAT, WBINVD) when the
 * IOMMU does not enforce snooping. 0 or -errno (no CONFIG_KVM_VFIO: -ENODEV). */
int pci_host_add_group(struct pci_host *h, int group_fd);
/* What the callbacks of pci_host_ops do on a vCPU thread (the guest moves a BAR, enables MSI
 * or INTx through config space): KVM_SET_USER_MEMORY_REGION, KVM_IRQFD and KVM_SET_GSI_ROUTING
 * on the VM fd only. */
void pci_host_vcpu_allow(const struct pci_host *h, struct thread_filter_rules *r);

#endif
