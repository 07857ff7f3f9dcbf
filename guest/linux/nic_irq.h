/* MSI-X and MSI inside a Linux guest, by Linux's own driver: QEMU's e1000e (8086:10d3), passed
 * through by the VMM, driven by the e1000e module in MSI-X mode (its default) and again in MSI
 * mode (reloaded with IntMode=1). Each mode: the interface goes up, the driver programs the
 * vectors (for MSI-X: table entries, masks, enable) and raises interrupts itself (e1000_open
 * fires a link-status interrupt; in MSI mode e1000_test_msi fires one and falls back to INTx
 * when it does not arrive), and the interrupts the guest took on the device's MSI/MSI-X IRQs
 * (/sys/bus/pci/devices/BDF/msi_irqs, /proc/interrupts) are counted. */
#ifndef DAXVM_GUEST_LINUX_NIC_IRQ_H
#define DAXVM_GUEST_LINUX_NIC_IRQ_H

#include <stddef.h>
#include <stdint.h>

struct nic_irq_result {
	char bdf[32];			/* "" when no e1000e is on the bus */
	unsigned msix_vectors;		/* IRQs the driver took in MSI-X mode */
	uint64_t msix_irqs;		/* interrupts counted on them */
	unsigned msi_vectors;
	uint64_t msi_irqs;
	double seconds;			/* the whole phase */
	char msi_why[128];		/* "" when MSI delivered; else what went wrong (not fatal) */
};

/* Unloads e1000e if the initramfs's module list loaded it: the device stays idle until
 * nic_irq_run (which loads it itself). */
void nic_irq_park(void);
/* Runs both modes. 0 when MSI-X delivered (an MSI failure is recorded in r->msi_why: the lab
 * reports it as an open gap), -ENODEV when there is no e1000e (nothing tried), else -errno
 * with why. */
int nic_irq_run(struct nic_irq_result *r, char *why, size_t why_len);

#endif
