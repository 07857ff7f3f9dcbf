/* The PCI stages of a run with passed-through devices (--device vfio-pci,host=): an early check
 * of each device (before any memory is mapped), then PCI bus 0 on the I/O bus with one vfio-pci
 * device per address (after the pin container attached their groups and mapped guest RAM);
 * the undo is the device part of the teardown order: bus master off and reset, interrupts and
 * BAR memslots gone, device fds closed, before guest RAM is unpinned. */
#ifndef DAXVM_VMM_SESSION_PCI_H
#define DAXVM_VMM_SESSION_PCI_H

#include "common/report.h"
#include "vmm/session.h"

/* PCI windows in the 3-4 GiB hole (above the stress guest's device windows at 0xd0000000,
 * below the IOAPIC at 0xfec00000) and the I/O ports BARs may use. */
#define SESSION_PCI_MMIO_BASE	0xe0000000ULL
#define SESSION_PCI_MMIO_END	0xfec00000ULL
#define SESSION_PCI_IO_BASE	0xc000
#define SESSION_PCI_IO_END	0x10000

/* Stage "pci_check": every device exists, is bound to vfio-pci and has an IOMMU group, and
 * VFIO is present. Nothing to undo. */
int session_pci_check(struct run_session *s, struct err *e);
/* Stage "pci": the bus and the devices. */
int session_pci_setup(struct run_session *s, struct err *e);
void session_pci_undo(struct run_session *s);
/* After unwinding: devices with their groups, counters, what the stop found (a device that
 * may still DMA is a finding). */
void session_pci_collect(struct run_session *s, struct report *r);
void session_pci_free(struct run_session *s);
/* What the passed-through devices do on a vCPU thread when the guest touches their config
 * space or a trapped BAR (devices/vfio_pci.c over vfio_pci_fd.c, KVM through pci_host.c):
 * pread/pwrite and VFIO_DEVICE_SET_IRQS on each device's fd only, eventfds for interrupts
 * made and closed, and pci_host_vcpu_allow. Nothing without devices. */
void session_pci_vcpu_allow(const struct run_session *s, struct thread_filter_rules *r);

#endif
