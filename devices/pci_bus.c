/* PCI bus 0: host bridge, conf1, BAR placement and moves, trapped BAR dispatch by address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci_bus.h"

struct pci_bus {
	struct pci_bus_layout layout;
	pthread_mutex_t lock;		/* config space, placements, counters */
	uint32_t conf1_addr;		/* last dword written to 0xCF8 */
	struct pci_dev bridge;		/* 8086:0d57 host bridge in slot 0 */
	struct pci_dev *slots[PCI_SLOTS];
	uint64_t next_mmio, next_io;	/* firmware-style bump allocation */
	struct pci_bus_counters n;
};

int pci_bus_create(const struct pci_bus_layout *layout, struct pci_bus **out, struct err *e)
{
	struct pci_bus *pb;

	if (!layout->mmio_size || layout->nr_ram > PCI_MAX_RAM_RANGES ||
	    layout->mmio_base + layout->mmio_size < layout->mmio_base || layout->io_base + layout->io_size > 0x10000)
		return err_set(e, -EINVAL, "PCI windows mmio 0x%llx+0x%llx io 0x%llx+0x%llx are not valid",
			       (unsigned long long)layout->mmio_base, (unsigned long long)layout->mmio_size,
			       (unsigned long long)layout->io_base, (unsigned long long)layout->io_size);
	pb = calloc(1, sizeof(*pb));
	if (!pb)
		return err_set(e, -ENOMEM, "out of memory for the PCI bus");
	pb->layout = *layout;
	pthread_mutex_init(&pb->lock, NULL);
	pb->next_mmio = layout->mmio_base;
	pb->next_io = layout->io_base;
	/* The Intel host bridge cloud-hypervisor and Firecracker show: Linux's pci_sanity_check
	 * (arch/x86/pci/direct.c) accepts conf1 when bus 0 has a host bridge or an Intel device. */
	pci_config_init(&pb->bridge.cfg, 0x8086, 0x0d57, 0x060000, 0);
	snprintf(pb->bridge.name, sizeof(pb->bridge.name), "host bridge");
	pb->slots[0] = &pb->bridge;
	*out = pb;
	return 0;
}

void pci_bus_destroy(struct pci_bus *pb)
{
	if (!pb)
		return;
	pthread_mutex_destroy(&pb->lock);
	free(pb);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool is_io(enum pci_bar_type t)
{
	return t == PCI_BAR_IO;
}

/* Why the bus cannot place m (NULL: it can). */
static const char *refusal(struct pci_bus *pb, const struct pci_dev *d, const struct pci_bar_move *m)
{
	const struct pci_bus_layout *l = &pb->layout;
	bool io = is_io(m->type);
	uint64_t base = io ? l->io_base : l->mmio_base, size = io ? l->io_size : l->mmio_size;

	if (m->to + m->size < m->to || m->to % m->size)
		return "unaligned or wrapping";
	for (unsigned i = 0; !io && i < l->nr_ram; i++)
		if (overlaps(m->to, m->size, l->ram[i].gpa, l->ram[i].size))
			return "over guest RAM";
	if (m->to < base || m->to + m->size > base + size)
		return "outside the PCI window";
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		const struct pci_dev *o = pb->slots[s];

		for (unsigned b = 0; o && b < PCI_BARS; b++) {
			if ((o == d && b == m->bar) || o->cfg.active[b] == PCI_ADDR_NONE ||
			    is_io(o->cfg.bar_type[b]) != io)
				continue;
			if (overlaps(m->to, m->size, o->cfg.active[b], o->cfg.bar_size[b]))
				return "over another BAR";
		}
	}
	return NULL;
}

/* Carries out one move the model asked for (bus lock held). */
static void carry_out(struct pci_bus *pb, struct pci_dev *d, const struct pci_bar_move *m)
{
	struct pci_bar_move done = *m;
	struct err e = { 0 };
	bool refused = false;

	if (m->to != PCI_ADDR_NONE && refusal(pb, d, m)) {
		pb->n.refused_moves++;
		refused = true;
		done.to = PCI_ADDR_NONE;	/* it stops decoding where it was */
	}
	if (done.to == done.from) {
		pci_config_placed(&d->cfg, m, done.to, refused);
		return;
	}
	if (d->ops && d->ops->bar_move && d->ops->bar_move(d, &done, &e)) {
		pb->n.move_failures++;
		pci_config_placed(&d->cfg, m, PCI_ADDR_NONE, true);
		return;
	}
	if (!refused)
		pb->n.moves++;
	pci_config_placed(&d->cfg, m, done.to, refused);
}

static void dev_write(struct pci_bus *pb, struct pci_dev *d, unsigned off, unsigned len, uint32_t value)
{
	struct pci_bar_move moves[PCI_BARS];
	uint64_t ro0 = d->cfg.ro_writes;
	int n = pci_config_write(&d->cfg, off, len, value, moves);

	if (n < 0) {
		pb->n.config_errors++;
		return;
	}
	pb->n.config_errors += d->cfg.ro_writes - ro0;
	for (int i = 0; i < n; i++)
		carry_out(pb, d, &moves[i]);
	if (d->ops && d->ops->cfg_written)
		d->ops->cfg_written(d, off, len, value);
}

static uint64_t place(uint64_t *next, uint64_t size)
{
	uint64_t at = (*next + size - 1) & ~(size - 1);

	*next = at + size;
	return at;
}

int pci_bus_add(struct pci_bus *pb, struct pci_dev *d, struct err *e)
{
	const struct pci_bus_layout *l = &pb->layout;
	uint16_t cmd = 0;
	unsigned s;

	pthread_mutex_lock(&pb->lock);
	for (s = 1; s < PCI_SLOTS && pb->slots[s]; s++)
		;
	if (s == PCI_SLOTS) {
		pthread_mutex_unlock(&pb->lock);
		return err_set(e, -ENOSPC, "PCI bus 0 is full (%d slots): %s does not fit", PCI_SLOTS - 1, d->name);
	}
	for (unsigned b = 0; b < PCI_BARS; b++) {
		uint64_t size = d->cfg.bar_size[b], at;
		bool io = is_io(d->cfg.bar_type[b]);
		uint64_t *next = io ? &pb->next_io : &pb->next_mmio;
		uint64_t end = io ? l->io_base + l->io_size : l->mmio_base + l->mmio_size;

		if (!size)
			continue;
		at = place(next, size);
		if (at + size > end || at + size < at) {
			pthread_mutex_unlock(&pb->lock);
			return err_set(e, -ENOSPC, "%s: BAR %u of %llu bytes does not fit in the PCI %s window",
				       d->name, b, (unsigned long long)size, io ? "I/O" : "MMIO");
		}
		pci_config_set_bar_addr(&d->cfg, b, at);
		cmd |= io ? PCI_CMD_IO : PCI_CMD_MEM;
	}
	d->slot = s;
	d->irq = PCI_IRQ_BASE + s % PCI_IRQ_COUNT;
	if (d->cfg.regs[PCI_CFG_INT_PIN])
		d->cfg.regs[PCI_CFG_INT_LINE] = (uint8_t)d->irq;
	pb->slots[s] = d;
	if (cmd)
		dev_write(pb, d, PCI_CFG_COMMAND, 2, pci_config_read(&d->cfg, PCI_CFG_COMMAND, 2) | cmd);
	pthread_mutex_unlock(&pb->lock);
	return 0;
}

void pci_bus_quiesce(struct pci_bus *pb)
{
	pthread_mutex_lock(&pb->lock);
	for (unsigned s = 1; s < PCI_SLOTS; s++) {
		struct pci_dev *d = pb->slots[s];

		if (d)
			dev_write(pb, d, PCI_CFG_COMMAND, 2, pci_config_read(&d->cfg, PCI_CFG_COMMAND, 2) &
				  ~(PCI_CMD_IO | PCI_CMD_MEM));
	}
	pthread_mutex_unlock(&pb->lock);
}

uint32_t pci_bus_cfg_read(struct pci_bus *pb, unsigned slot, unsigned fn, unsigned off, unsigned len)
{
	uint32_t v = len == 4 ? 0xffffffff : (1u << (8 * len)) - 1;
	struct pci_dev *d;

	pthread_mutex_lock(&pb->lock);
	d = slot < PCI_SLOTS && fn == 0 ? pb->slots[slot] : NULL;
	if (d && (off % len || off + len > PCI_CFG_BYTES))
		pb->n.config_errors++;
	else if (d && !(d->ops && d->ops->cfg_read && d->ops->cfg_read(d, off, len, &v)))
		v = pci_config_read(&d->cfg, off, len);
	pthread_mutex_unlock(&pb->lock);
	return v;
}

void pci_bus_cfg_write(struct pci_bus *pb, unsigned slot, unsigned fn, unsigned off, unsigned len,
		       uint32_t value)
{
	struct pci_dev *d;

	pthread_mutex_lock(&pb->lock);
	d = slot < PCI_SLOTS && fn == 0 ? pb->slots[slot] : NULL;
	if (d)
		dev_write(pb, d, off, len, value);
	pthread_mutex_unlock(&pb->lock);
}

static uint32_t le(const uint8_t *p, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, unsigned len, uint32_t v)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = i < 4 ? (uint8_t)(v >> (8 * i)) : 0;
}

int pci_bus_conf1_io(void *opaque, unsigned cpu, uint64_t port, uint8_t *data, unsigned len, bool is_write)
{
	struct pci_bus *pb = opaque;
	uint32_t a;

	(void)cpu;
	if (port < PCI_CONF1_DATA_PORT) {
		/* Only dword accesses at 0xCF8 are the address register (byte writes to 0xCFB are
		 * the PIIX mechanism-select register Linux pokes while probing). */
		if (port != PCI_CONF1_ADDR_PORT || len != 4) {
			if (!is_write)
				put_le(data, len, 0xffffffff);
			return 0;
		}
		pthread_mutex_lock(&pb->lock);
		if (is_write)
			pb->conf1_addr = le(data, 4) & 0x80fffffc;
		else
			put_le(data, 4, pb->conf1_addr);
		pthread_mutex_unlock(&pb->lock);
		return 0;
	}
	pthread_mutex_lock(&pb->lock);
	a = pb->conf1_addr;
	pthread_mutex_unlock(&pb->lock);
	unsigned off = (a & 0xfc) + (unsigned)(port - PCI_CONF1_DATA_PORT);
	bool hit = (a & 0x80000000) && ((a >> 16) & 0xff) == 0 && (port - PCI_CONF1_DATA_PORT) + len <= 4;

	if (!hit) {
		if (!is_write)
			put_le(data, len, 0xffffffff);
		return 0;
	}
	if (is_write)
		pci_bus_cfg_write(pb, (a >> 11) & 0x1f, (a >> 8) & 7, off, len, le(data, len));
	else
		put_le(data, len, pci_bus_cfg_read(pb, (a >> 11) & 0x1f, (a >> 8) & 7, off, len));
	return 0;
}

/* A guest access inside a PCI window: the BAR that decodes it, or all-ones / dropped. */
static int window_access(struct pci_bus *pb, bool io, uint64_t addr, uint8_t *data, unsigned len, bool is_write)
{
	int ret = 0;

	pthread_mutex_lock(&pb->lock);
	for (unsigned s = 1; s < PCI_SLOTS; s++) {
		struct pci_dev *d = pb->slots[s];

		for (unsigned b = 0; d && b < PCI_BARS; b++) {
			uint64_t at = d->cfg.active[b];

			if (at == PCI_ADDR_NONE || is_io(d->cfg.bar_type[b]) != io ||
			    addr < at || addr + len > at + d->cfg.bar_size[b])
				continue;
			if (d->ops && d->ops->bar_access)
				ret = d->ops->bar_access(d, b, addr - at, data, len, is_write);
			else if (!is_write)
				memset(data, 0xff, len);
			pthread_mutex_unlock(&pb->lock);
			return ret;
		}
	}
	pb->n.unclaimed++;
	pthread_mutex_unlock(&pb->lock);
	if (!is_write)
		memset(data, 0xff, len);	/* master abort */
	return 0;
}

static int mmio_window(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len, bool is_write)
{
	(void)cpu;
	return window_access(opaque, false, addr, data, len, is_write);
}

static int io_window(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len, bool is_write)
{
	(void)cpu;
	return window_access(opaque, true, addr, data, len, is_write);
}

int pci_bus_attach(struct pci_bus *pb, struct bus *io, struct err *e)
{
	int ret = bus_register(io, BUS_PIO, PCI_CONF1_ADDR_PORT, 8, pci_bus_conf1_io, pb, "pci-conf1", e);

	if (!ret)
		ret = bus_register(io, BUS_MMIO, pb->layout.mmio_base, pb->layout.mmio_size, mmio_window, pb,
				   "pci-mmio-window", e);
	if (!ret && pb->layout.io_size)
		ret = bus_register(io, BUS_PIO, pb->layout.io_base, pb->layout.io_size, io_window, pb,
				   "pci-io-window", e);
	return ret;
}

void pci_bus_get_counters(struct pci_bus *pb, struct pci_bus_counters *out)
{
	pthread_mutex_lock(&pb->lock);
	*out = pb->n;
	pthread_mutex_unlock(&pb->lock);
}

struct pci_dev *pci_bus_device(struct pci_bus *pb, unsigned slot)
{
	return slot < PCI_SLOTS ? pb->slots[slot] : NULL;
}
