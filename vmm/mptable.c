/* MP table builder: entries are collected by kind and laid out in spec order at the end, so a
 * later part (a PCI host) can add its bus and interrupts without knowing the layout. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/mptable.h"

#define MP_FPS_BYTES	16
#define MP_HDR_BYTES	44
#define MP_CPU_BYTES	20
#define MP_SMALL_BYTES	8	/* bus, IOAPIC, I/O interrupt, local interrupt */
#define MP_NR_LINTS	2

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

int mptable_init_pc(struct mptable *t, unsigned nr_cpus, struct err *e)
{
	int ret;

	memset(t, 0, sizeof(*t));
	if (!nr_cpus || nr_cpus > MPTABLE_MAX_CPUS)
		return err_set(e, -EINVAL, "the MP table describes 1 to %d CPUs, not %u", MPTABLE_MAX_CPUS,
			       nr_cpus);
	t->nr_cpus = nr_cpus;
	t->ioapic_id = (uint8_t)nr_cpus;	/* after the CPUs' APIC ids */
	t->cpu_signature = 0x600;		/* family 6; Linux reads CPUID itself */
	t->cpu_features = 0x201;		/* FPU, APIC */
	ret = mptable_add_bus(t, MPTABLE_ISA_BUS_ID, "ISA", e);
	/* KVM's default routing sends GSI n to IOAPIC pin n (and to the PIC for n < 16); IRQ 2
	 * is the PIC cascade. */
	for (uint8_t irq = 0; !ret && irq < 16; irq++)
		if (irq != 2)
			ret = mptable_add_irq(t, MPTABLE_ISA_BUS_ID, irq, irq, MPTABLE_IRQ_CONFORMS, e);
	return ret;
}

int mptable_add_bus(struct mptable *t, uint8_t id, const char *type, struct err *e)
{
	if (strlen(type) > 6)
		return err_set(e, -EINVAL, "MP bus type \"%s\" is longer than 6 characters", type);
	for (unsigned i = 0; i < t->nr_buses; i++)
		if (t->buses[i].id == id)
			return err_set(e, -EEXIST, "MP bus %u is already %s", id, t->buses[i].type);
	if (t->nr_buses == MPTABLE_MAX_BUSES)
		return err_set(e, -ENOSPC, "the MP table holds at most %d buses", MPTABLE_MAX_BUSES);
	t->buses[t->nr_buses].id = id;
	strcpy(t->buses[t->nr_buses].type, type);
	t->nr_buses++;
	return 0;
}

int mptable_add_irq(struct mptable *t, uint8_t bus_id, uint8_t bus_irq, uint8_t ioapic_pin,
		    uint16_t flags, struct err *e)
{
	bool known = false;

	for (unsigned i = 0; i < t->nr_buses; i++)
		known |= t->buses[i].id == bus_id;
	if (!known)
		return err_set(e, -ENOENT, "MP interrupt entry on bus %u, which the table does not have", bus_id);
	if (ioapic_pin >= MPTABLE_IOAPIC_PINS)
		return err_set(e, -EINVAL, "IOAPIC pin %u does not exist (the IOAPIC has %d)", ioapic_pin,
			       MPTABLE_IOAPIC_PINS);
	for (unsigned i = 0; i < t->nr_irqs; i++)
		if (t->irqs[i].bus_id == bus_id && t->irqs[i].bus_irq == bus_irq)
			return err_set(e, -EEXIST, "bus %u interrupt %u is already routed to IOAPIC pin %u",
				       bus_id, bus_irq, t->irqs[i].ioapic_pin);
	if (t->nr_irqs == MPTABLE_MAX_IRQS)
		return err_set(e, -ENOSPC, "the MP table holds at most %d interrupt entries", MPTABLE_MAX_IRQS);
	t->irqs[t->nr_irqs++] = (struct mptable_irq){ bus_id, bus_irq, ioapic_pin, flags };
	return 0;
}

size_t mptable_bytes(const struct mptable *t)
{
	return MP_FPS_BYTES + MP_HDR_BYTES + t->nr_cpus * MP_CPU_BYTES +
	       (t->nr_buses + 1 + t->nr_irqs + MP_NR_LINTS) * MP_SMALL_BYTES;
}

static uint8_t *small_entry(uint8_t *p, uint8_t type)
{
	memset(p, 0, MP_SMALL_BYTES);
	p[0] = type;
	return p + MP_SMALL_BYTES;
}

int mptable_write(const struct mptable *t, uint64_t gpa, uint8_t *buf, size_t room, struct err *e)
{
	size_t need = mptable_bytes(t);
	uint8_t *hdr = buf + MP_FPS_BYTES, *p = hdr + MP_HDR_BYTES;
	unsigned entries = 0;

	if (need > room || need > 0xffff + MP_FPS_BYTES)
		return err_set(e, -ENOSPC, "the MP table needs %zu bytes, more than the %zu it has", need, room);
	if (gpa & 15 || gpa + need > 0x100000)
		return err_set(e, -EINVAL, "the MP table at 0x%llx is not 16-byte aligned below 1 MiB",
			       (unsigned long long)gpa);
	memset(buf, 0, need);
	for (unsigned c = 0; c < t->nr_cpus; c++, entries++, p += MP_CPU_BYTES) {
		p[0] = MP_PROCESSOR;
		p[1] = (uint8_t)c;		/* local APIC id = vCPU index (CPUID.1 EBX too) */
		p[2] = 0x14;			/* local APIC version: integrated */
		p[3] = 0x1 | (c == 0 ? 0x2 : 0);	/* enabled; CPU 0 boots */
		put32(p + 4, t->cpu_signature);
		put32(p + 8, t->cpu_features);
	}
	for (unsigned b = 0; b < t->nr_buses; b++, entries++) {
		uint8_t *q = p;

		p = small_entry(p, MP_BUS);
		q[1] = t->buses[b].id;
		memset(q + 2, ' ', 6);
		memcpy(q + 2, t->buses[b].type, strlen(t->buses[b].type));
	}
	{
		uint8_t *q = p;

		p = small_entry(p, MP_IOAPIC);
		q[1] = t->ioapic_id;
		q[2] = 0x11;			/* IOAPIC version */
		q[3] = 0x1;			/* usable */
		put32(q + 4, MPTABLE_IOAPIC_GPA);
		entries++;
	}
	for (unsigned i = 0; i < t->nr_irqs; i++, entries++) {
		uint8_t *q = p;

		p = small_entry(p, MP_INTSRC);
		q[1] = MP_INT;
		put16(q + 2, t->irqs[i].flags);
		q[4] = t->irqs[i].bus_id;
		q[5] = t->irqs[i].bus_irq;
		q[6] = t->ioapic_id;
		q[7] = t->irqs[i].ioapic_pin;
	}
	/* The legacy PIC reaches every LAPIC's LINT0 (ExtINT), NMIs arrive on LINT1. */
	for (unsigned l = 0; l < MP_NR_LINTS; l++, entries++) {
		uint8_t *q = p;

		p = small_entry(p, MP_LINTSRC);
		q[1] = l == 0 ? MP_EXTINT : MP_NMI;
		q[4] = MPTABLE_ISA_BUS_ID;
		q[6] = 0xff;			/* every local APIC */
		q[7] = (uint8_t)l;
	}
	memcpy(hdr, "PCMP", 4);
	put16(hdr + 4, (uint16_t)(p - hdr));
	hdr[6] = 4;				/* spec 1.4 */
	memcpy(hdr + 8, "DAXVM   ", 8);
	memcpy(hdr + 16, "LINUX GUEST ", 12);
	put16(hdr + 34, (uint16_t)entries);
	put32(hdr + 36, MPTABLE_LAPIC_GPA);
	hdr[7] = checksum(hdr, (size_t)(p - hdr));
	memcpy(buf, "_MP_", 4);
	put32(buf + 4, (uint32_t)(gpa + MP_FPS_BYTES));
	buf[8] = 1;				/* length in 16-byte units */
	buf[9] = 4;
	buf[10] = checksum(buf, MP_FPS_BYTES);
	return 0;
}
