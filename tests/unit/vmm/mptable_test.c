/* The MP table as Linux's mpparse reads it: the floating pointer found by its signature on a
 * 16-byte boundary, both checksums zero, entries in spec order, one processor per vCPU (CPU 0
 * the boot CPU), the ISA bus, the IOAPIC, ISA IRQs identity-mapped but 2, LINT0 ExtINT and
 * LINT1 NMI; and a PCI bus with its INTx entry added the way issue 11 will. */
#include "test.h"
#include "vmm/linux_boot_params.h"
#include "vmm/mptable.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

int main(void)
{
	static uint8_t buf[LINUX_MPTABLE_ROOM];
	const uint64_t gpa = LINUX_MPTABLE_GPA;
	struct mptable t;
	struct err e = { 0 };
	const uint8_t *hdr, *p;
	unsigned cpus = 0, buses = 0, ioapics = 0, ints = 0, lints = 0, last_type = 0, pci_ints = 0;
	bool seen_irq[16] = { false };

	TEST_ASSERT(mptable_init_pc(&t, 3, &e) == 0, "%s", e.msg);
	TEST_ASSERT(mptable_add_bus(&t, MPTABLE_PCI_BUS_ID, "PCI", &e) == 0, "%s", e.msg);
	TEST_ASSERT(mptable_add_irq(&t, MPTABLE_PCI_BUS_ID, 1 << 2 | 0, 16, MPTABLE_IRQ_LEVEL_LOW, &e) == 0,
		    "%s", e.msg);
	/* What must be refused. */
	TEST_ASSERT(mptable_add_bus(&t, MPTABLE_PCI_BUS_ID, "PCI", &e) == -EEXIST, "a bus twice");
	TEST_ASSERT(mptable_add_irq(&t, 7, 0, 3, 0, &e) == -ENOENT, "an irq on a missing bus");
	TEST_ASSERT(mptable_add_irq(&t, MPTABLE_ISA_BUS_ID, 4, 4, 0, &e) == -EEXIST, "ISA IRQ 4 twice");
	TEST_ASSERT(mptable_add_irq(&t, MPTABLE_PCI_BUS_ID, 9, 24, 0, &e) == -EINVAL, "pin 24");
	TEST_ASSERT(mptable_init_pc(&t, 0, &e) == -EINVAL, "0 CPUs");
	TEST_ASSERT(mptable_init_pc(&t, 3, &e) == 0, "%s", e.msg);
	TEST_ASSERT(mptable_add_bus(&t, MPTABLE_PCI_BUS_ID, "PCI", &e) == 0, "%s", e.msg);
	TEST_ASSERT(mptable_add_irq(&t, MPTABLE_PCI_BUS_ID, 1 << 2 | 0, 16, MPTABLE_IRQ_LEVEL_LOW, &e) == 0,
		    "%s", e.msg);
	TEST_ASSERT(mptable_write(&t, gpa, buf, 16, &e) == -ENOSPC, "a 16-byte room");
	TEST_ASSERT(mptable_write(&t, gpa + 4, buf, sizeof(buf), &e) == -EINVAL, "unaligned");
	TEST_ASSERT(mptable_write(&t, gpa, buf, sizeof(buf), &e) == 0, "%s", e.msg);

	TEST_ASSERT(!memcmp(buf, "_MP_", 4) && buf[8] == 1 && sum(buf, 16) == 0, "floating pointer");
	TEST_ASSERT(get32(buf + 4) == gpa + 16, "physptr 0x%x", get32(buf + 4));
	hdr = buf + 16;
	TEST_ASSERT(!memcmp(hdr, "PCMP", 4) && hdr[6] == 4, "config header");
	TEST_ASSERT(sum(hdr, get16(hdr + 4)) == 0, "config checksum");
	TEST_ASSERT(get32(hdr + 36) == MPTABLE_LAPIC_GPA, "LAPIC address");
	TEST_ASSERT(16 + (size_t)get16(hdr + 4) == mptable_bytes(&t), "length %u vs %zu", get16(hdr + 4), mptable_bytes(&t));
	p = hdr + 44;
	for (unsigned i = 0; i < get16(hdr + 34); i++) {
		TEST_ASSERT(p[0] >= last_type, "entry %u of type %u after type %u: out of spec order", i, p[0], last_type);
		last_type = p[0];
		switch (p[0]) {
		case 0:
			TEST_ASSERT(p[1] == cpus && (p[3] & 1) && !!(p[3] & 2) == (cpus == 0), "CPU %u flags 0x%x", cpus, p[3]);
			cpus++;
			p += 20;
			continue;
		case 1:
			TEST_ASSERT(!memcmp(p + 2, p[1] == MPTABLE_ISA_BUS_ID ? "ISA   " : "PCI   ", 6), "bus %u type", p[1]);
			buses++;
			break;
		case 2:
			TEST_ASSERT(p[1] == 3 && get32(p + 4) == MPTABLE_IOAPIC_GPA && (p[3] & 1), "IOAPIC id %u", p[1]);
			ioapics++;
			break;
		case 3:
			TEST_ASSERT(p[6] == 3, "INT entry to IOAPIC %u", p[6]);
			if (p[4] == MPTABLE_ISA_BUS_ID) {
				TEST_ASSERT(p[5] < 16 && p[5] == p[7] && p[5] != 2 && get16(p + 2) == 0,
					    "ISA IRQ %u -> pin %u", p[5], p[7]);
				seen_irq[p[5]] = true;
			} else {
				TEST_ASSERT(p[5] == 4 && p[7] == 16 && get16(p + 2) == 0xf, "PCI INTA of slot 1");
				pci_ints++;
			}
			ints++;
			break;
		case 4:
			TEST_ASSERT(p[1] == (lints == 0 ? 3 : 1) && p[6] == 0xff && p[7] == lints, "LINT%u", lints);
			lints++;
			break;
		default:
			TEST_ASSERT(0, "unknown entry type %u", p[0]);
		}
		p += 8;
	}
	TEST_ASSERT(cpus == 3 && buses == 2 && ioapics == 1 && ints == 16 && lints == 2 && pci_ints == 1,
		    "counts: %u CPUs %u buses %u IOAPICs %u INTs %u LINTs", cpus, buses, ioapics, ints, lints);
	for (unsigned irq = 0; irq < 16; irq++)
		TEST_ASSERT(seen_irq[irq] == (irq != 2), "ISA IRQ %u", irq);
	printf("mptable_test: 3 CPUs, ISA + PCI buses, IOAPIC, 16 INT and 2 LINT entries, checksums zero\n");
	return T_PASS;
}
