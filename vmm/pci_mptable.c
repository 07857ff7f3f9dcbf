/* MP table entries for PCI bus 0. */
#include "vmm/pci_mptable.h"

int pci_mptable_add(struct pci_bus *pb, struct mptable *t, struct err *e)
{
	int ret;

	if (!pb)
		return 0;
	ret = mptable_add_bus(t, MPTABLE_PCI_BUS_ID, "PCI", e);
	for (unsigned slot = 1; !ret && slot < PCI_SLOTS; slot++) {
		struct pci_dev *d = pci_bus_device(pb, slot);
		uint8_t pin = d ? d->cfg.regs[PCI_CFG_INT_PIN] : 0;

		/* Linux (mp_irqs, arch/x86/kernel/mpparse.c) matches srcbusirq = device << 2 | INTx. */
		if (pin)
			ret = mptable_add_irq(t, MPTABLE_PCI_BUS_ID, (uint8_t)(slot << 2 | (pin - 1)), (uint8_t)d->irq,
					      MPTABLE_IRQ_LEVEL_LOW, e);
	}
	return ret;
}
