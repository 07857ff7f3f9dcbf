/* PCI bus 0 through configuration mechanism #1 on the I/O bus, as a guest drives it: the host
 * bridge Linux's conf1 sanity check looks for, absent functions, BAR placement at add time,
 * moves carried out through the relocation callback, refusals over RAM / another BAR / outside
 * the window (counted), trapped window accesses routed to the BAR by address. */
#include "devices/bus.h"
#include "devices/pci_bus.h"
#include "unit/pci/mock_vfio.h"
#include "test.h"

static struct bus *io;

static void outl(uint16_t port, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	TEST_ASSERT(bus_dispatch(io, BUS_PIO, 0, port, d, 4, true) == 0, "outl 0x%x", port);
}

static void outb(uint16_t port, uint8_t v)
{
	TEST_ASSERT(bus_dispatch(io, BUS_PIO, 0, port, &v, 1, true) == 0, "outb 0x%x", port);
}

static uint32_t in(uint16_t port, unsigned len)
{
	uint8_t d[4] = { 0 };

	TEST_ASSERT(bus_dispatch(io, BUS_PIO, 0, port, d, len, false) == 0, "in 0x%x", port);
	return d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
}

static uint32_t cfg_rd(unsigned slot, unsigned off, unsigned len)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	return in((uint16_t)(0xcfc + (off & 3)), len);
}

static void cfg_wr(unsigned slot, unsigned off, unsigned len, uint32_t v)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	if (len == 4)
		outl(0xcfc, v);
	else {
		uint8_t d[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

		TEST_ASSERT(bus_dispatch(io, BUS_PIO, 0, 0xcfc + (off & 3), d, len, true) == 0, "cfg write");
	}
}

/* A plain device: BAR0 1 MiB mem32, BAR2 64 KiB mem64, BAR4 256 I/O ports; records moves. */
static struct pci_bar_move last_move;
static unsigned nr_moves, nr_access;
static uint64_t access_off;
static unsigned access_bar;

static int test_move(struct pci_dev *d, const struct pci_bar_move *m, struct err *e)
{
	(void)d; (void)e;
	last_move = *m;
	nr_moves++;
	return 0;
}

static int test_access(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data, unsigned len, bool is_write)
{
	(void)d;
	access_bar = bar;
	access_off = off;
	nr_access++;
	if (!is_write)
		memset(data, 0x5a, len);
	return 0;
}

static const struct pci_dev_ops test_ops = { .bar_move = test_move, .bar_access = test_access };

int main(void)
{
	struct pci_bus_layout l = mock_layout();
	struct pci_bus_counters n;
	struct pci_bus *pb;
	struct pci_dev d = { .ops = &test_ops, .name = "test" }, d2 = { .ops = &test_ops, .name = "test2" };
	struct err e = { 0 };
	uint8_t buf[8];

	TEST_ASSERT(bus_create(&io) == 0, "bus");
	TEST_ASSERT(pci_bus_create(&l, &pb, &e) == 0, "%s", e.msg);
	TEST_ASSERT(pci_bus_attach(pb, io, &e) == 0, "%s", e.msg);

	/* Linux's pci_check_type1 (arch/x86/pci/direct.c): byte to 0xCFB, then the address
	 * register must hold a dword. */
	outb(0xcfb, 1);
	outl(0xcf8, 0x80000000);
	TEST_ASSERT(in(0xcf8, 4) == 0x80000000, "conf1 address register 0x%x", in(0xcf8, 4));
	/* The host bridge at 00.0 (pci_sanity_check: class 0x0600 or vendor Intel). */
	TEST_ASSERT(cfg_rd(0, 0, 4) == 0x0d578086, "host bridge id 0x%x", cfg_rd(0, 0, 4));
	TEST_ASSERT(cfg_rd(0, 0x0a, 2) == 0x0600 && cfg_rd(0, 0x0e, 1) == 0, "host bridge class 0x%x", cfg_rd(0, 0x0a, 2));
	TEST_ASSERT(cfg_rd(0, 2, 2) == 0x0d57 && cfg_rd(0, 3, 1) == 0x0d, "sub-dword data port reads");
	/* Absent: empty slot, function 1, bus 1, enable bit clear. */
	TEST_ASSERT(cfg_rd(5, 0, 4) == 0xffffffff, "empty slot");
	outl(0xcf8, 0x80000100);
	TEST_ASSERT(in(0xcfc, 4) == 0xffffffff, "function 1");
	outl(0xcf8, 0x80010000);
	TEST_ASSERT(in(0xcfc, 4) == 0xffffffff, "bus 1");
	outl(0xcf8, 0x00000000);
	TEST_ASSERT(in(0xcfc, 4) == 0xffffffff, "enable bit clear");
	/* A write to the bridge's ID is refused and counted. */
	cfg_wr(0, 0, 4, 0x12345678);
	pci_bus_get_counters(pb, &n);
	TEST_ASSERT(cfg_rd(0, 0, 4) == 0x0d578086 && n.config_errors == 1, "bridge ID write (errors %llu)",
		    (unsigned long long)n.config_errors);

	/* Add a device: BARs placed in the windows, decode on, moves carried out. */
	pci_config_init(&d.cfg, 0x1234, 0x0001, 0x00ff00, 0);
	pci_config_set_int_pin(&d.cfg, 1);
	TEST_ASSERT(pci_config_set_bar(&d.cfg, 0, PCI_BAR_MEM32, 1 << 20, false, &e) == 0 &&
		    pci_config_set_bar(&d.cfg, 2, PCI_BAR_MEM64, 64 << 10, false, &e) == 0 &&
		    pci_config_set_bar(&d.cfg, 4, PCI_BAR_IO, 256, false, &e) == 0, "%s", e.msg);
	TEST_ASSERT(pci_bus_add(pb, &d, &e) == 0, "%s", e.msg);
	TEST_ASSERT(d.slot == 1 && d.irq == PCI_IRQ_BASE + 1 && cfg_rd(1, 0x3c, 1) == d.irq, "slot %u irq %u line %u",
		    d.slot, d.irq, cfg_rd(1, 0x3c, 1));
	TEST_ASSERT(nr_moves == 3 && d.cfg.active[0] == 0xe0000000 && d.cfg.active[2] == 0xe0100000 &&
		    d.cfg.active[4] == 0xc000, "placements %u: 0x%llx 0x%llx 0x%llx", nr_moves,
		    (unsigned long long)d.cfg.active[0], (unsigned long long)d.cfg.active[2],
		    (unsigned long long)d.cfg.active[4]);
	TEST_ASSERT((cfg_rd(1, 4, 2) & 3) == 3 && cfg_rd(1, 0x10, 4) == 0xe0000000, "command 0x%x bar0 0x%x",
		    cfg_rd(1, 4, 2), cfg_rd(1, 0x10, 4));

	/* Trapped accesses reach the BAR by address. */
	TEST_ASSERT(bus_dispatch(io, BUS_MMIO, 0, 0xe0000000 + 0x80, buf, 8, false) == 0 && nr_access == 1 &&
		    access_bar == 0 && access_off == 0x80 && buf[7] == 0x5a, "MMIO to BAR0");
	TEST_ASSERT(bus_dispatch(io, BUS_PIO, 0, 0xc010, buf, 2, true) == 0 && access_bar == 4 && access_off == 0x10,
		    "I/O to BAR4");
	/* Nothing there: reads as all-ones, counted, no vCPU error. */
	TEST_ASSERT(bus_dispatch(io, BUS_MMIO, 0, 0xf0000000, buf, 4, false) == 0 && buf[0] == 0xff, "unclaimed");

	/* Sizing with decode on (a probe): no move. */
	nr_moves = 0;
	cfg_wr(1, 0x10, 4, 0xffffffff);
	TEST_ASSERT(cfg_rd(1, 0x10, 4) == 0xfff00000 && nr_moves == 0 && d.cfg.active[0] == 0xe0000000, "probe");
	cfg_wr(1, 0x10, 4, 0xe0000000);
	TEST_ASSERT(nr_moves == 0, "restoring the probed BAR moved it");

	/* Over RAM: refused and counted; the BAR stops decoding. */
	cfg_wr(1, 0x10, 4, 0x00100000);
	pci_bus_get_counters(pb, &n);
	TEST_ASSERT(n.refused_moves == 1 && d.cfg.active[0] == PCI_ADDR_NONE && nr_moves == 1 &&
		    last_move.to == PCI_ADDR_NONE, "BAR over RAM: refused %llu, active 0x%llx",
		    (unsigned long long)n.refused_moves, (unsigned long long)d.cfg.active[0]);
	/* Over another BAR (BAR2 at 0xe0100000): refused. */
	cfg_wr(1, 0x10, 4, 0xe0100000);
	pci_bus_get_counters(pb, &n);
	TEST_ASSERT(n.refused_moves == 2 && d.cfg.active[0] == PCI_ADDR_NONE, "BAR over BAR");
	/* Outside the window (the LAPIC page): refused. */
	cfg_wr(1, 0x10, 4, 0xfee00000);
	pci_bus_get_counters(pb, &n);
	TEST_ASSERT(n.refused_moves == 3, "BAR outside the window");
	/* A legal place: carried out. */
	nr_moves = 0;
	cfg_wr(1, 0x10, 4, 0xe0800000);
	TEST_ASSERT(nr_moves == 1 && last_move.from == PCI_ADDR_NONE && last_move.to == 0xe0800000 &&
		    d.cfg.active[0] == 0xe0800000, "legal move");
	TEST_ASSERT(bus_dispatch(io, BUS_MMIO, 0, 0xe0800010, buf, 4, false) == 0 && access_off == 0x10, "moved BAR");

	/* 64-bit BAR: one move, after the upper dword, to above 4 GiB is outside the window. */
	nr_moves = 0;
	cfg_wr(1, 0x18, 4, 0xe0200000);
	TEST_ASSERT(nr_moves == 0, "lower dword moved a 64-bit BAR");
	cfg_wr(1, 0x1c, 4, 0);
	TEST_ASSERT(nr_moves == 1 && d.cfg.active[2] == 0xe0200000, "64-bit move");

	/* A second device cannot take the first one's place. */
	pci_config_init(&d2.cfg, 0x1234, 0x0002, 0x00ff00, 0);
	TEST_ASSERT(pci_config_set_bar(&d2.cfg, 0, PCI_BAR_MEM32, 4096, false, &e) == 0, "%s", e.msg);
	TEST_ASSERT(pci_bus_add(pb, &d2, &e) == 0 && d2.slot == 2, "second device");
	cfg_wr(2, 0x10, 4, 0xe0800000);
	pci_bus_get_counters(pb, &n);
	TEST_ASSERT(n.refused_moves == 4 && d2.cfg.active[0] == PCI_ADDR_NONE, "device 2 over device 1's BAR0");

	/* Quiesce: decode off, every BAR unplaced. */
	pci_bus_quiesce(pb);
	for (unsigned b = 0; b < PCI_BARS; b++)
		TEST_ASSERT(d.cfg.active[b] == PCI_ADDR_NONE && d2.cfg.active[b] == PCI_ADDR_NONE, "BAR %u after quiesce", b);
	pci_bus_get_counters(pb, &n);
	printf("pci_conf1: host bridge, conf1, placement, %llu moves, %llu refused, %llu config errors, %llu unclaimed\n",
	       (unsigned long long)n.moves, (unsigned long long)n.refused_moves,
	       (unsigned long long)n.config_errors, (unsigned long long)n.unclaimed);
	pci_bus_destroy(pb);
	bus_destroy(io);
	return T_PASS;
}
