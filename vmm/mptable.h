/* The Intel MultiProcessor table (MP spec 1.4) a Linux guest reads to find its vCPUs, the
 * IOAPIC and how ISA (and later PCI) interrupts reach it (pure, no KVM).
 *
 * Use: mptable_init_pc() describes the PC part (CPUs, the ISA bus, one IOAPIC, ISA IRQs
 * 0-15 but 2 on the IOAPIC pin of the same number, as KVM's default GSI routing wires them,
 * LINT0 ExtINT, LINT1 NMI). A PCI host adds its bus and one entry per INTx line before
 * writing:
 *     mptable_add_bus(&t, MPTABLE_PCI_BUS_ID, "PCI");
 *     mptable_add_irq(&t, MPTABLE_PCI_BUS_ID, slot << 2 | (pin - 1), gsi, MPTABLE_IRQ_LEVEL_LOW);
 * then mptable_write() lays the entries out in the order the spec requires (CPUs, buses,
 * IOAPIC, I/O interrupts, local interrupts) with both checksums. */
#ifndef DAXVM_VMM_MPTABLE_H
#define DAXVM_VMM_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MPTABLE_MAX_CPUS	64
#define MPTABLE_MAX_BUSES	4
#define MPTABLE_MAX_IRQS	64
/* Linux matches PCI interrupt entries by MP bus id == PCI bus number, so bus 0 is left to
 * PCI and ISA is bus 1 (as kvmtool does). */
#define MPTABLE_PCI_BUS_ID	0
#define MPTABLE_ISA_BUS_ID	1
#define MPTABLE_IOAPIC_PINS	24
#define MPTABLE_IOAPIC_GPA	0xfec00000U	/* KVM's in-kernel IOAPIC */
#define MPTABLE_LAPIC_GPA	0xfee00000U

/* I/O interrupt entry flags (polarity bits 0-1, trigger bits 2-3). */
#define MPTABLE_IRQ_CONFORMS	0x0	/* the bus's default: ISA is edge, active high */
#define MPTABLE_IRQ_LEVEL_LOW	0xf	/* level-triggered, active low: PCI INTx */

struct mptable_bus {
	uint8_t id;
	char type[7];		/* "ISA", "PCI" (padded with spaces when written) */
};

struct mptable_irq {
	uint8_t bus_id;
	uint8_t bus_irq;	/* ISA: the IRQ; PCI: device << 2 | (INTx pin - 1) */
	uint8_t ioapic_pin;
	uint16_t flags;
};

struct mptable {
	unsigned nr_cpus;	/* APIC ids 0 .. nr_cpus-1; CPU 0 is the boot CPU */
	uint8_t ioapic_id;
	uint32_t cpu_signature;	/* CPUID.1 EAX, for the processor entries */
	uint32_t cpu_features;	/* CPUID.1 EDX */
	unsigned nr_buses, nr_irqs;
	struct mptable_bus buses[MPTABLE_MAX_BUSES];
	struct mptable_irq irqs[MPTABLE_MAX_IRQS];
};

/* The PC part for nr_cpus vCPUs (1 to MPTABLE_MAX_CPUS). */
int mptable_init_pc(struct mptable *t, unsigned nr_cpus, struct err *e);

__attribute__((warn_unused_result))
int mptable_add_bus(struct mptable *t, uint8_t id, const char *type, struct err *e);

/* Routes bus_irq of bus bus_id (added before) to IOAPIC pin ioapic_pin. */
__attribute__((warn_unused_result))
int mptable_add_irq(struct mptable *t, uint8_t bus_id, uint8_t bus_irq, uint8_t ioapic_pin,
		    uint16_t flags, struct err *e);

/* Bytes mptable_write() needs. */
size_t mptable_bytes(const struct mptable *t);

/* Writes the floating pointer at buf (its guest-physical address is gpa, 16-byte aligned and
 * inside the BIOS area Linux scans: 0xf0000-0xfffff) followed by the configuration table. */
int mptable_write(const struct mptable *t, uint64_t gpa, uint8_t *buf, size_t room,
		  struct err *e);

#endif
