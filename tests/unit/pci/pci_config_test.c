/* The config-space model alone: read-only fields, BAR sizing (32/64-bit memory, I/O, ROM),
 * the moves a write implies (decode gating, 64-bit upper-half rule, size probes), the
 * capability list and STATUS write-1-to-clear. */
#include "devices/pci_config.h"
#include "test.h"

static struct pci_bar_move mv[PCI_BARS];

static int wr(struct pci_config *c, unsigned off, unsigned len, uint32_t v)
{
	return pci_config_write(c, off, len, v, mv);
}

/* Carries out every move as the bus would when nothing is refused. */
static int wr_place(struct pci_config *c, unsigned off, unsigned len, uint32_t v)
{
	int n = wr(c, off, len, v);

	for (int i = 0; i < n; i++)
		pci_config_placed(c, &mv[i], mv[i].to, false);
	return n;
}

int main(void)
{
	struct pci_config c;
	struct err e = { 0 };
	uint8_t off = 0, msi[10] = { PCI_CAP_ID_MSI }, msi_w[10] = { 0, 0, 0x01 };

	pci_config_init(&c, 0x1234, 0x11e8, 0x00ff00, 0x10);
	TEST_ASSERT(pci_config_read(&c, 0, 4) == 0x11e81234, "ids 0x%x", pci_config_read(&c, 0, 4));
	TEST_ASSERT(pci_config_read(&c, 8, 4) == 0x00ff0010, "class/rev 0x%x", pci_config_read(&c, 8, 4));

	/* Read-only fields stay, and the attempt is counted; writable ones change. */
	TEST_ASSERT(wr(&c, 0, 4, 0xdeadbeef) == 0, "ID write");
	TEST_ASSERT(pci_config_read(&c, 0, 4) == 0x11e81234 && c.ro_writes == 1, "ID changed or not counted");
	TEST_ASSERT(wr(&c, 0x0e, 1, 0x80) == 0 && c.regs[0x0e] == 0 && c.ro_writes == 2, "header type writable");
	wr(&c, 0x3c, 1, 0x0b);
	TEST_ASSERT(pci_config_read(&c, 0x3c, 1) == 0x0b && c.ro_writes == 2, "interrupt line");
	/* Same value written back to read-only bits is not an error. */
	wr(&c, 8, 4, 0x00ff0010);
	TEST_ASSERT(c.ro_writes == 2, "rewriting the class code counted");
	/* Sizing an absent BAR or ROM is not an error (Linux does it for every device). */
	wr(&c, 0x24, 4, 0xffffffff);
	wr(&c, 0x30, 4, 0xfffffffe);
	TEST_ASSERT(c.ro_writes == 2 && pci_config_read(&c, 0x30, 4) == 0, "absent ROM sizing counted or stored");
	TEST_ASSERT(wr(&c, 1, 2, 0) == -EINVAL && wr(&c, 2, 4, 0) == -EINVAL && wr(&c, 0, 3, 0) == -EINVAL,
		    "misaligned writes accepted");

	/* Declaring BARs. */
	TEST_ASSERT(pci_config_set_bar(&c, 0, PCI_BAR_MEM32, 1 << 20, false, &e) == 0, "%s", e.msg);
	TEST_ASSERT(pci_config_set_bar(&c, 2, PCI_BAR_MEM64, 16 << 10, true, &e) == 0, "%s", e.msg);
	TEST_ASSERT(pci_config_set_bar(&c, 3, PCI_BAR_MEM32, 4096, false, &e) == -EEXIST, "BAR3 is BAR2's upper half");
	TEST_ASSERT(pci_config_set_bar(&c, 4, PCI_BAR_IO, 256, false, &e) == 0, "%s", e.msg);
	TEST_ASSERT(pci_config_set_bar(&c, 5, PCI_BAR_MEM32, 3000, false, &e) == -EINVAL, "size 3000 accepted");
	TEST_ASSERT(pci_config_set_bar(&c, 5, PCI_BAR_MEM64, 4096, false, &e) == -EINVAL, "64-bit BAR5 accepted");
	TEST_ASSERT(pci_config_set_bar(&c, PCI_BAR_ROM, PCI_BAR_ROM_MEM, 64 << 10, false, &e) == 0, "%s", e.msg);
	TEST_ASSERT(pci_config_bar_of(&c, 0x1c) == 2 && pci_config_bar_of(&c, 0x14) == -1 &&
		    pci_config_bar_of(&c, 0x30) == PCI_BAR_ROM, "bar_of");

	/* Sizing, decode off: no moves, the register reads the size mask with the type bits. */
	TEST_ASSERT(wr(&c, 0x10, 4, 0xffffffff) == 0 && pci_config_read(&c, 0x10, 4) == 0xfff00000,
		    "BAR0 probe reads 0x%x", pci_config_read(&c, 0x10, 4));
	wr(&c, 0x18, 4, 0xffffffff);
	wr(&c, 0x1c, 4, 0xffffffff);
	TEST_ASSERT(pci_config_read(&c, 0x18, 4) == 0xffffc00c && pci_config_read(&c, 0x1c, 4) == 0xffffffff,
		    "64-bit probe 0x%x 0x%x", pci_config_read(&c, 0x18, 4), pci_config_read(&c, 0x1c, 4));
	wr(&c, 0x20, 4, 0xffffffff);
	TEST_ASSERT(pci_config_read(&c, 0x20, 4) == 0xffffff01, "I/O probe 0x%x", pci_config_read(&c, 0x20, 4));
	wr(&c, 0x30, 4, 0xfffffffe);
	TEST_ASSERT(pci_config_read(&c, 0x30, 4) == 0xffff0000, "ROM probe 0x%x", pci_config_read(&c, 0x30, 4));
	TEST_ASSERT(c.ro_writes == 2, "sizing counted as read-only writes (%llu)", (unsigned long long)c.ro_writes);

	/* Program addresses with decode off: still no moves. */
	TEST_ASSERT(wr(&c, 0x10, 4, 0xe0000000) == 0 && wr(&c, 0x18, 4, 0xe0100000) == 0 &&
		    wr(&c, 0x1c, 4, 0) == 0 && wr(&c, 0x20, 4, 0xc000) == 0 && wr(&c, 0x30, 4, 0xe0200000) == 0,
		    "moves with decode off");
	/* MEM decode on: BAR0 and BAR2 move in (the ROM stays off: its enable bit is clear). */
	TEST_ASSERT(wr(&c, 4, 2, PCI_CMD_MEM) == 2, "MEM on gave %d moves", wr(&c, 4, 2, PCI_CMD_MEM));
	TEST_ASSERT(wr_place(&c, 4, 2, PCI_CMD_MEM) == 2, "moves");
	TEST_ASSERT(c.active[0] == 0xe0000000 && c.active[2] == 0xe0100000 && c.active[4] == PCI_ADDR_NONE &&
		    c.active[PCI_BAR_ROM] == PCI_ADDR_NONE, "placements");
	TEST_ASSERT(wr_place(&c, 4, 2, PCI_CMD_MEM | PCI_CMD_IO) == 1 && c.active[4] == 0xc000, "I/O on");
	/* ROM enable. */
	TEST_ASSERT(wr_place(&c, 0x30, 4, 0xe0200001) == 1 && c.active[PCI_BAR_ROM] == 0xe0200000, "ROM on");

	/* Size probe with decode on: recognised, no move, BAR keeps decoding where it was. */
	TEST_ASSERT(wr(&c, 0x10, 4, 0xffffffff) == 0 && c.active[0] == 0xe0000000, "probe with decode on moved");
	TEST_ASSERT(wr(&c, 0x10, 4, 0xfffffff0) == 0, "OpenBSD's probe moved");
	/* A real move with decode on. */
	TEST_ASSERT(wr(&c, 0x10, 4, 0xe0400000) == 1 && mv[0].from == 0xe0000000 && mv[0].to == 0xe0400000 &&
		    mv[0].size == 1 << 20 && mv[0].bar == 0, "move of BAR0");
	pci_config_placed(&c, &mv[0], mv[0].to, false);
	/* Unaligned address bits are dropped by the mask. */
	TEST_ASSERT(wr(&c, 0x10, 4, 0xe0512345) == 1 && mv[0].to == 0xe0500000, "mask to 0x%llx",
		    (unsigned long long)mv[0].to);
	pci_config_placed(&c, &mv[0], mv[0].to, false);

	/* 64-bit: the lower dword alone does nothing; the upper dword releases one move. */
	TEST_ASSERT(wr(&c, 0x18, 4, 0x00008000) == 0, "lower dword of a 64-bit BAR moved it");
	TEST_ASSERT(wr(&c, 0x1c, 4, 0x1) == 1 && mv[0].bar == 2 && mv[0].to == 0x100008000ull &&
		    mv[0].from == 0xe0100000, "upper dword: move to 0x%llx", (unsigned long long)mv[0].to);
	/* Refused: not offered again until the guest changes it. */
	pci_config_placed(&c, &mv[0], PCI_ADDR_NONE, true);
	TEST_ASSERT(wr(&c, 4, 2, PCI_CMD_MEM | PCI_CMD_IO) == 0, "refused place offered again");
	TEST_ASSERT(wr(&c, 0x18, 4, 0xe0600000) == 0 && wr(&c, 0x1c, 4, 0) == 1 && mv[0].from == PCI_ADDR_NONE &&
		    mv[0].to == 0xe0600000, "new place after a refusal");
	pci_config_placed(&c, &mv[0], mv[0].to, false);

	/* Decode off: everything of that space stops decoding. */
	TEST_ASSERT(wr(&c, 4, 2, PCI_CMD_IO) == 3, "MEM off: 3 moves (BAR0, BAR2, ROM)");
	for (unsigned i = 0; i < 3; i++)
		TEST_ASSERT(mv[i].to == PCI_ADDR_NONE, "move %u to 0x%llx", i, (unsigned long long)mv[i].to);

	/* Capabilities. */
	TEST_ASSERT(!(pci_config_read(&c, PCI_CFG_STATUS, 2) & PCI_STATUS_CAP_LIST), "cap list bit early");
	TEST_ASSERT(pci_config_add_cap(&c, msi, msi_w, sizeof(msi), &off, &e) == 0 && off == 0x40, "MSI at %u", off);
	TEST_ASSERT(pci_config_read(&c, PCI_CFG_CAP_PTR, 1) == 0x40 && pci_config_read(&c, 0x40, 2) == 0x0005 &&
		    (pci_config_read(&c, PCI_CFG_STATUS, 2) & PCI_STATUS_CAP_LIST), "cap list");
	TEST_ASSERT(pci_config_add_cap(&c, (uint8_t[4]){ 0x09 }, NULL, 4, &off, &e) == 0 && off == 0x4c &&
		    pci_config_read(&c, 0x41, 1) == 0x4c, "second cap at %u, next 0x%x", off, pci_config_read(&c, 0x41, 1));
	wr(&c, 0x42, 2, 0xffff);
	TEST_ASSERT(pci_config_read(&c, 0x42, 2) == 0x0001 && c.ro_writes == 3, "MSI control 0x%x",
		    pci_config_read(&c, 0x42, 2));
	wr(&c, 0x41, 1, 0x99);
	TEST_ASSERT(pci_config_read(&c, 0x41, 1) == 0x4c, "next pointer written");
	{
		uint8_t big[64] = { 0x09 };	/* vendor-specific */

		TEST_ASSERT(pci_config_add_cap(&c, big, NULL, 64, &off, &e) == 0 &&
			    pci_config_add_cap(&c, big, NULL, 64, &off, &e) == 0 &&
			    pci_config_add_cap(&c, big, NULL, 64, &off, &e) == -ENOSPC, "full config space accepted a cap");
	}

	/* STATUS: error bits are write-1-to-clear, the rest read-only. */
	c.regs[PCI_CFG_STATUS + 1] = 0x80;	/* detected parity error */
	wr(&c, PCI_CFG_STATUS, 2, 0x8000);
	TEST_ASSERT(!(pci_config_read(&c, PCI_CFG_STATUS, 2) & 0x8000) &&
		    (pci_config_read(&c, PCI_CFG_STATUS, 2) & PCI_STATUS_CAP_LIST), "STATUS w1c");
	printf("pci_config: header, BAR sizing (mem32, mem64, I/O, ROM), moves, caps, w1c: ok\n");
	return T_PASS;
}
