/* The type-0 configuration space model: masked writes, BAR sizing and the moves a write implies. */
#include <errno.h>
#include <string.h>

#include "devices/pci_config.h"

static void put(uint8_t *p, unsigned off, unsigned len, uint32_t v)
{
	for (unsigned i = 0; i < len; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get(const uint8_t *p, unsigned off, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)p[off + i] << (8 * i);
	return v;
}

void pci_config_init(struct pci_config *c, uint16_t vendor, uint16_t device, uint32_t class_code,
		     uint8_t revision)
{
	memset(c, 0, sizeof(*c));
	put(c->regs, PCI_CFG_VENDOR, 2, vendor);
	put(c->regs, PCI_CFG_DEVICE, 2, device);
	put(c->regs, PCI_CFG_CLASS_REV, 4, class_code << 8 | revision);
	/* COMMAND: I/O, memory, bus master, parity, SERR, INTx disable. */
	put(c->wmask, PCI_CFG_COMMAND, 2, 0x0547);
	/* STATUS: parity/abort/SERR error bits are write-1-to-clear. */
	put(c->w1c, PCI_CFG_STATUS, 2, 0xf900);
	c->wmask[0x0c] = 0xff;		/* cache line size */
	c->wmask[0x0d] = 0xff;		/* latency timer */
	c->wmask[PCI_CFG_INT_LINE] = 0xff;
	for (unsigned i = 0; i < PCI_BARS; i++) {
		c->active[i] = PCI_ADDR_NONE;
		c->refused[i] = PCI_ADDR_NONE;
	}
	c->cap_free = PCI_CFG_HEADER_BYTES;
}

void pci_config_set_subsystem(struct pci_config *c, uint16_t vendor, uint16_t device)
{
	put(c->regs, PCI_CFG_SUBSYS, 2, vendor);
	put(c->regs, PCI_CFG_SUBSYS + 2, 2, device);
}

void pci_config_set_int_pin(struct pci_config *c, uint8_t pin)
{
	c->regs[PCI_CFG_INT_PIN] = pin <= 4 ? pin : 0;
}

static unsigned bar_reg(unsigned bar)
{
	return bar == PCI_BAR_ROM ? PCI_CFG_ROM : PCI_CFG_BAR0 + 4 * bar;
}

/* The low bits of a BAR register that say what it is (read-only). */
static uint32_t bar_type_bits(enum pci_bar_type t, bool prefetchable)
{
	switch (t) {
	case PCI_BAR_IO: return 0x1;
	case PCI_BAR_MEM64: return 0x4 | (prefetchable ? 0x8 : 0);
	case PCI_BAR_MEM32: return prefetchable ? 0x8 : 0;
	default: return 0;
	}
}

int pci_config_set_bar(struct pci_config *c, unsigned bar, enum pci_bar_type type, uint64_t size,
		       bool prefetchable, struct err *e)
{
	uint64_t min, max, addr_mask;
	unsigned reg;

	if (bar >= PCI_BARS || (bar == PCI_BAR_ROM) != (type == PCI_BAR_ROM_MEM) ||
	    type == PCI_BAR_UNUSED || (type == PCI_BAR_MEM64 && bar >= 5))
		return err_set(e, -EINVAL, "BAR %u cannot be of type %d", bar, type);
	if (c->bar_type[bar] != PCI_BAR_UNUSED || (bar > 0 && c->bar_type[bar - 1] == PCI_BAR_MEM64) ||
	    (type == PCI_BAR_MEM64 && c->bar_type[bar + 1] != PCI_BAR_UNUSED))
		return err_set(e, -EEXIST, "BAR %u is already declared", bar);
	switch (type) {
	case PCI_BAR_IO: min = 4; max = 1ull << 16; break;
	case PCI_BAR_MEM32: min = 16; max = 1ull << 31; break;
	case PCI_BAR_MEM64: min = 16; max = 1ull << 62; break;
	default: min = 2048; max = 16ull << 20; break;
	}
	if (size < min || size > max || (size & (size - 1)))
		return err_set(e, -EINVAL, "BAR %u size %llu is not a power of two in [%llu, %llu]", bar,
			       (unsigned long long)size, (unsigned long long)min, (unsigned long long)max);
	c->bar_type[bar] = type;
	c->bar_size[bar] = size;
	reg = bar_reg(bar);
	addr_mask = ~(size - 1);
	put(c->regs, reg, 4, bar_type_bits(type, prefetchable));
	if (type == PCI_BAR_IO)
		put(c->wmask, reg, 4, (uint32_t)addr_mask & 0xfffffffc);
	else if (type == PCI_BAR_ROM_MEM)
		put(c->wmask, reg, 4, ((uint32_t)addr_mask & 0xfffff800) | PCI_ROM_ENABLE);
	else
		put(c->wmask, reg, 4, (uint32_t)addr_mask & 0xfffffff0);
	if (type == PCI_BAR_MEM64)
		put(c->wmask, reg + 4, 4, (uint32_t)(addr_mask >> 32));
	return 0;
}

int pci_config_add_cap(struct pci_config *c, const uint8_t *body, const uint8_t *wmask,
		       unsigned len, uint8_t *off, struct err *e)
{
	unsigned at = (c->cap_free + 3u) & ~3u;

	if (len < 2 || len > 64 || at + len > PCI_CFG_BYTES)
		return err_set(e, -ENOSPC, "capability 0x%02x of %u bytes does not fit in config space",
			       body[0], len);
	memcpy(c->regs + at, body, len);
	c->regs[at + 1] = 0;
	if (wmask) {
		memcpy(c->wmask + at, wmask, len);
		c->wmask[at] = c->wmask[at + 1] = 0;
	}
	if (c->cap_last)
		c->regs[c->cap_last + 1] = (uint8_t)at;
	else
		c->regs[PCI_CFG_CAP_PTR] = (uint8_t)at;
	put(c->regs, PCI_CFG_STATUS, 2, get(c->regs, PCI_CFG_STATUS, 2) | PCI_STATUS_CAP_LIST);
	c->cap_last = (uint8_t)at;
	c->cap_free = (uint8_t)(at + len);
	if (off)
		*off = (uint8_t)at;
	return 0;
}

uint32_t pci_config_read(const struct pci_config *c, unsigned off, unsigned len)
{
	if ((len != 1 && len != 2 && len != 4) || off >= PCI_CFG_BYTES || off + len > PCI_CFG_BYTES)
		return 0;
	return get(c->regs, off, len);
}

int pci_config_bar_of(const struct pci_config *c, unsigned off)
{
	if (off >= PCI_CFG_ROM && off < PCI_CFG_ROM + 4)
		return c->bar_type[PCI_BAR_ROM] ? PCI_BAR_ROM : -1;
	if (off < PCI_CFG_BAR0 || off >= PCI_CFG_BAR0 + 24)
		return -1;
	int bar = (int)(off - PCI_CFG_BAR0) / 4;

	if (bar > 0 && c->bar_type[bar - 1] == PCI_BAR_MEM64)
		return bar - 1;
	return c->bar_type[bar] ? bar : -1;
}

uint64_t pci_config_bar_addr(const struct pci_config *c, unsigned bar)
{
	unsigned reg;
	uint64_t lo;

	if (bar >= PCI_BARS || !c->bar_type[bar])
		return PCI_ADDR_NONE;
	reg = bar_reg(bar);
	lo = get(c->regs, reg, 4);
	switch (c->bar_type[bar]) {
	case PCI_BAR_IO: return lo & ~3ull;
	case PCI_BAR_ROM_MEM: return lo & ~0x7ffull;
	case PCI_BAR_MEM64: return (lo & ~0xfull) | (uint64_t)get(c->regs, reg + 4, 4) << 32;
	default: return lo & ~0xfull;
	}
}

void pci_config_set_bar_addr(struct pci_config *c, unsigned bar, uint64_t addr)
{
	unsigned reg;

	if (bar >= PCI_BARS || !c->bar_type[bar])
		return;
	reg = bar_reg(bar);
	put(c->regs, reg, 4, (get(c->regs, reg, 4) & ~get(c->wmask, reg, 4)) |
		((uint32_t)addr & get(c->wmask, reg, 4)));
	if (c->bar_type[bar] == PCI_BAR_MEM64)
		put(c->regs, reg + 4, 4, (uint32_t)(addr >> 32));
}

/* An all-ones address (OpenBSD writes 0xfffffff0, Linux 0xffffffff): the guest is sizing. */
static bool is_size_probe(const struct pci_config *c, unsigned bar)
{
	unsigned reg = bar_reg(bar);
	uint32_t mask = get(c->wmask, reg, 4) & ~(uint32_t)PCI_ROM_ENABLE;

	if ((get(c->regs, reg, 4) & mask) == mask)
		return true;
	return c->bar_type[bar] == PCI_BAR_MEM64 && get(c->regs, reg + 4, 4) == get(c->wmask, reg + 4, 4) &&
	       get(c->wmask, reg + 4, 4) == 0xffffffff;
}

/* Where the guest wants BAR bar to decode now; *keep when the model must not act (probe, a
 * 64-bit BAR half written). */
static uint64_t wanted(const struct pci_config *c, unsigned bar, bool *keep)
{
	uint16_t cmd = (uint16_t)get(c->regs, PCI_CFG_COMMAND, 2);
	enum pci_bar_type t = c->bar_type[bar];
	bool decode = t == PCI_BAR_IO ? cmd & PCI_CMD_IO : cmd & PCI_CMD_MEM;

	*keep = false;
	if (t == PCI_BAR_ROM_MEM)
		decode = decode && (c->regs[PCI_CFG_ROM] & PCI_ROM_ENABLE);
	if (!decode)
		return PCI_ADDR_NONE;
	if (c->hi_pending[bar] || is_size_probe(c, bar)) {
		*keep = true;
		return c->active[bar];
	}
	return pci_config_bar_addr(c, bar);
}

int pci_config_write(struct pci_config *c, unsigned off, unsigned len, uint32_t value,
		     struct pci_bar_move *moves)
{
	int bar = pci_config_bar_of(c, off), n = 0;
	bool cmd_touched = off < PCI_CFG_COMMAND + 2 && off + len > PCI_CFG_COMMAND, ro = false;

	if ((len != 1 && len != 2 && len != 4) || off % len || off + len > PCI_CFG_BYTES)
		return -EINVAL;
	for (unsigned i = 0; i < len; i++) {
		unsigned o = off + i;
		uint8_t v = (uint8_t)(value >> (8 * i)), old = c->regs[o];
		uint8_t nv = (uint8_t)(((old & ~c->wmask[o]) | (v & c->wmask[o])) & ~(v & c->w1c[o]));

		/* BAR and ROM registers are exempt, implemented or not (sizing writes all-ones over the
		 * type bits; Linux sizes an absent ROM too), and so is STATUS (a dword write to COMMAND
		 * carries a STATUS of 0). */
		if (bar < 0 && (v ^ old) & ~c->wmask[o] & ~c->w1c[o] && !(o >= PCI_CFG_BAR0 && o < PCI_CFG_SUBSYS) &&
		    !(o >= PCI_CFG_ROM && o < PCI_CFG_ROM + 4) && o != PCI_CFG_STATUS && o != PCI_CFG_STATUS + 1)
			ro = true;
		c->regs[o] = nv;
	}
	c->ro_writes += ro;	/* one per write, however many bytes it touched */
	if (bar >= 0 && c->bar_type[bar] == PCI_BAR_MEM64)
		c->hi_pending[bar] = off < bar_reg((unsigned)bar) + 4;	/* lower dword: wait for the upper */
	if (cmd_touched)	/* the guest has finished reprogramming when it turns decode on */
		memset(c->hi_pending, 0, sizeof(c->hi_pending));
	if (!cmd_touched && bar < 0)
		return 0;
	for (unsigned b = 0; b < PCI_BARS; b++) {
		bool keep;
		uint64_t to;

		if (!c->bar_type[b] || (!cmd_touched && (int)b != bar))
			continue;
		to = wanted(c, b, &keep);
		if (keep || to == c->active[b])
			continue;
		if (to != PCI_ADDR_NONE && to == c->refused[b])
			continue;
		moves[n++] = (struct pci_bar_move){ .bar = b, .type = c->bar_type[b], .from = c->active[b],
						    .to = to, .size = c->bar_size[b] };
	}
	return n;
}

void pci_config_placed(struct pci_config *c, const struct pci_bar_move *m, uint64_t at, bool refused)
{
	if (m->bar >= PCI_BARS)
		return;
	c->active[m->bar] = at;
	c->refused[m->bar] = refused ? m->to : PCI_ADDR_NONE;
}
