/* The MP table entries PCI bus 0 needs: the PCI bus and one I/O interrupt entry per device's
 * INTx line (level, active low, to the IOAPIC pin the bus wired it to). */
#ifndef DAXVM_VMM_PCI_MPTABLE_H
#define DAXVM_VMM_PCI_MPTABLE_H

#include "common/err.h"
#include "devices/pci_bus.h"
#include "vmm/mptable.h"

/* Adds PCI bus MPTABLE_PCI_BUS_ID and the INT entries of pb's devices to t (before
 * mptable_write). pb may be NULL (no PCI devices: nothing added). */
int pci_mptable_add(struct pci_bus *pb, struct mptable *t, struct err *e);

#endif
