/* The MP table entries for PCI bus 0: the PCI bus and one level/low INT entry per device with
 * an INTx pin, srcbusirq = slot << 2 | (pin - 1), to the IOAPIC pin the bus wired. */
#include "devices/pci_bus.h"
#include "vmm/pci_mptable.h"
#include "unit/pci/mock_vfio.h"
#include "test.h"

int main(void)
{
	struct pci_bus_layout l = mock_layout();
	struct pci_dev a = { .name = "a" }, b = { .name = "b" };
	struct pci_bus *pb;
	struct mptable t;
	struct err e = { 0 };
	unsigned pci_irqs = 0, base;

	TEST_ASSERT(pci_bus_create(&l, &pb, &e) == 0, "%s", e.msg);
	pci_config_init(&a.cfg, 0x1234, 1, 0xff00, 0);
	pci_config_set_int_pin(&a.cfg, 1);
	pci_config_init(&b.cfg, 0x1234, 2, 0xff00, 0);	/* no INTx pin: no entry */
	TEST_ASSERT(pci_bus_add(pb, &a, &e) == 0 && pci_bus_add(pb, &b, &e) == 0, "%s", e.msg);
	TEST_ASSERT(mptable_init_pc(&t, 2, &e) == 0, "%s", e.msg);
	base = t.nr_irqs;
	TEST_ASSERT(pci_mptable_add(NULL, &t, &e) == 0 && t.nr_irqs == base, "no bus: nothing added");
	TEST_ASSERT(pci_mptable_add(pb, &t, &e) == 0, "%s", e.msg);
	TEST_ASSERT(t.nr_buses >= 2, "buses %u", t.nr_buses);
	for (unsigned i = 0; i < t.nr_buses; i++)
		if (t.buses[i].id == MPTABLE_PCI_BUS_ID)
			TEST_ASSERT(!strncmp(t.buses[i].type, "PCI", 3), "bus 0 is %s", t.buses[i].type);
	for (unsigned i = base; i < t.nr_irqs; i++) {
		TEST_ASSERT(t.irqs[i].bus_id == MPTABLE_PCI_BUS_ID && t.irqs[i].bus_irq == (a.slot << 2) &&
			    t.irqs[i].ioapic_pin == a.irq && t.irqs[i].flags == MPTABLE_IRQ_LEVEL_LOW,
			    "entry %u: bus %u irq 0x%x pin %u flags 0x%x", i, t.irqs[i].bus_id, t.irqs[i].bus_irq,
			    t.irqs[i].ioapic_pin, t.irqs[i].flags);
		pci_irqs++;
	}
	TEST_ASSERT(pci_irqs == 1, "%u PCI entries, want 1", pci_irqs);
	pci_bus_destroy(pb);
	printf("pci_mptable: bus 0 PCI, INTA# of slot %u -> IOAPIC pin %u, level/low\n", a.slot, a.irq);
	return T_PASS;
}
