/* MSI-X of vfio-pci over a mock device and a mock KVM host: the capability in the model, the
 * table and PBA pages trapped with the rest of the BAR in memslots (which follow BAR moves),
 * table writes never reaching the device, enable / function mask / per-vector mask through
 * SET_IRQS, routes and irqfds, a live entry rewritten, pending bits of masked vectors, MSI and
 * MSI-X exclusive, disable bringing INTx back; bad input refused and counted: a table larger
 * than VFIO's vector count, a table outside its BAR, SET_IRQS failing, routes exhausted, a
 * non-interrupt address, a BAR moved over RAM. */
#include <sys/eventfd.h>

#include "devices/bus.h"
#include "devices/pci_bus.h"
#include "devices/vfio_pci.h"
#include "unit/pci/mock_vfio.h"
#include "test.h"

#define TABLE 0x3000u	/* table at BAR0 + 0x3000, PBA in the same page: one trapped page */
#define PBA 0x3800u
#define CAP 0x50u
#define MSIX_CTRL_ENABLE 0x8000	/* Message Control bits (PCI 3.0 6.8.2.3) */
#define MSIX_CTRL_FMASK 0x4000

struct rig {
	struct pci_bus_layout l;
	struct mock_dev m;
	struct mock_host mh;
	struct vfio_pci_host host;
	struct vfio_pci *v;
	struct pci_bus *pb;
	struct bus *io;
	struct pci_dev *d;
};

static void rig_up(struct rig *r, unsigned nr, uint32_t table, uint32_t pba, unsigned vfio_nr)
{
	struct err e = { 0 };

	memset(r, 0, sizeof(*r));
	r->l = mock_layout();
	mock_dev_init(&r->m, true);
	mock_dev_add_msix(&r->m, nr, table, pba, vfio_nr);
	r->host = mock_host_ops(&r->mh);
	TEST_ASSERT(vfio_pci_create("vfio-pci msix", &mock_dev_ops, &r->m, &r->host, &r->v, &e) == 0, "%s", e.msg);
	r->d = vfio_pci_dev(r->v);
	TEST_ASSERT(bus_create(&r->io) == 0 && pci_bus_create(&r->l, &r->pb, &e) == 0 &&
		    pci_bus_attach(r->pb, r->io, &e) == 0 && pci_bus_add(r->pb, r->d, &e) == 0 &&
		    vfio_pci_start(r->v, &e) == 0, "%s", e.msg);
}

static void rig_down(struct rig *r)
{
	vfio_pci_destroy(r->v);
	TEST_ASSERT(r->mh.irqfds_assigned == 0, "irqfds left: %u", r->mh.irqfds_assigned);
	for (unsigned s = 0; s < MOCK_SLOTS; s++)
		TEST_ASSERT(!r->mh.slot[s].used, "memslot %u left", s);
	pci_bus_destroy(r->pb);
	bus_destroy(r->io);
	free(r->m.bar0);
}

static void mmio(struct rig *r, uint64_t off, void *buf, unsigned len, bool is_write)
{
	TEST_ASSERT(bus_dispatch(r->io, BUS_MMIO, 0, r->d->cfg.active[0] + off, buf, len, is_write) == 0,
		    "MMIO at BAR0+0x%llx", (unsigned long long)off);
}

static void wr32(struct rig *r, uint64_t off, uint32_t v)
{
	mmio(r, off, &v, 4, true);
}

static uint32_t rd32(struct rig *r, uint64_t off)
{
	uint32_t v = 0;

	mmio(r, off, &v, 4, false);
	return v;
}

static void entry(struct rig *r, unsigned i, uint64_t addr, uint32_t data, bool masked)
{
	wr32(r, TABLE + 16 * i, (uint32_t)addr);
	wr32(r, TABLE + 16 * i + 4, (uint32_t)(addr >> 32));
	wr32(r, TABLE + 16 * i + 8, data);
	wr32(r, TABLE + 16 * i + 12, masked);
}

static void ctrl(struct rig *r, uint16_t v)
{
	pci_bus_cfg_write(r->pb, r->d->slot, 0, CAP + 2, 2, v);
}

static unsigned slots_used(const struct rig *r)
{
	unsigned n = 0;

	for (unsigned s = 0; s < MOCK_SLOTS; s++)
		n += r->mh.slot[s].used;
	return n;
}

/* The memslots cover BAR0 exactly except the page of the table and PBA. */
static void check_slots(const struct rig *r, uint64_t base)
{
	uint64_t covered = 0;

	for (unsigned s = 0; s < MOCK_SLOTS; s++) {
		const typeof(r->mh.slot[0]) *sl = &r->mh.slot[s];

		if (!sl->used)
			continue;
		TEST_ASSERT(sl->gpa >= base && sl->gpa + sl->size <= base + MOCK_BAR0_SIZE &&
			    sl->host == r->m.bar0 + (sl->gpa - base), "memslot 0x%llx+0x%llx", (unsigned long long)sl->gpa,
			    (unsigned long long)sl->size);
		TEST_ASSERT(sl->gpa + sl->size <= base + TABLE || sl->gpa >= base + TABLE + 4096,
			    "a memslot covers the MSI-X page");
		covered += sl->size;
	}
	TEST_ASSERT(covered == MOCK_BAR0_SIZE - 4096, "memslots cover 0x%llx bytes", (unsigned long long)covered);
}

static unsigned gsi_of_fd(const struct rig *r, int fd)
{
	for (unsigned g = 0; g < MOCK_GSIS; g++)
		if (r->mh.gsi_irqfd[g] && r->mh.gsi_fd[g] == fd)
			return g;
	return 0;
}

static void lifecycle(void)
{
	struct rig r;
	struct vfio_pci_counters n;
	struct vfio_pci_stop_info st;
	uint64_t one = 1;
	unsigned g0, g2;

	rig_up(&r, 5, TABLE, PBA, 5);
	TEST_ASSERT(pci_config_read(&r.d->cfg, 0x41, 1) == CAP && pci_config_read(&r.d->cfg, CAP, 1) == 0x11 &&
		    pci_config_read(&r.d->cfg, CAP + 2, 2) == 4 && pci_config_read(&r.d->cfg, CAP + 4, 4) == TABLE &&
		    pci_config_read(&r.d->cfg, CAP + 8, 4) == PBA, "MSI-X capability in the model");
	TEST_ASSERT(slots_used(&r) == 2, "BAR0 in %u memslots", slots_used(&r));
	check_slots(&r, 0xe0000000);
	/* The guest moves BAR0: both pieces follow. */
	pci_bus_cfg_write(r.pb, r.d->slot, 0, 0x10, 4, 0xe0400000);
	TEST_ASSERT(slots_used(&r) == 2 && r.d->cfg.active[0] == 0xe0400000, "pieces after the move");
	check_slots(&r, 0xe0400000);

	/* Reset state: every vector masked; writes land in daxvm's table, not the device's. */
	TEST_ASSERT(rd32(&r, TABLE + 12) == 1 && rd32(&r, TABLE + 16 * 4 + 12) == 1, "vectors masked at reset");
	entry(&r, 0, 0xfee00003, 0x4041, true);
	entry(&r, 1, 0, 0x4042, true);
	entry(&r, 2, 0xfee01000, 0x4043, true);
	wr32(&r, TABLE + 12, 0xfffffffe);	/* reserved control bits: read-only zero */
	TEST_ASSERT(rd32(&r, TABLE) == 0xfee00000 && rd32(&r, TABLE + 8) == 0x4041 && rd32(&r, TABLE + 12) == 0,
		    "entry 0 read back 0x%x 0x%x 0x%x", rd32(&r, TABLE), rd32(&r, TABLE + 8), rd32(&r, TABLE + 12));
	wr32(&r, TABLE + 12, 1);
	for (unsigned i = 0; i < 64; i++)
		TEST_ASSERT(r.m.bar0[TABLE + i] == 0, "a table write reached the device");
	TEST_ASSERT(r.m.msix_count == 0 && r.mh.irqfds_assigned == 1, "nothing wired before enable");

	/* Enable with the function masked: SET_IRQS with all vectors, INTx off, no irqfd yet. */
	ctrl(&r, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	TEST_ASSERT(r.m.msix_count == 5 && r.m.intx_trigger_count == 0 && r.mh.irqfds_assigned == 0,
		    "enable: msix %u intx %u irqfds %u", r.m.msix_count, r.m.intx_trigger_count, r.mh.irqfds_assigned);
	wr32(&r, TABLE + 12, 0);	/* unmask vector 0, function still masked */
	TEST_ASSERT(r.mh.irqfds_assigned == 0, "a vector went live under the function mask");
	ctrl(&r, MSIX_CTRL_ENABLE);
	g0 = gsi_of_fd(&r, r.m.msix_fds[0]);
	TEST_ASSERT(r.mh.irqfds_assigned == 1 && g0 && r.mh.gsi_addr[g0] == 0xfee00000 && r.mh.gsi_data[g0] == 0x4041,
		    "vector 0: irqfd on its route (gsi %u)", g0);
	/* A vector with a non-interrupt address: refused, counted. */
	wr32(&r, TABLE + 16 + 12, 0);
	vfio_pci_get_counters(r.v, &n);
	TEST_ASSERT(r.mh.irqfds_assigned == 1 && n.msix_errors == 1, "address 0 accepted (errors %llu)",
		    (unsigned long long)n.msix_errors);
	/* Vector 2 fires while masked: pending in the PBA; unmasked: the irqfd takes it over. */
	TEST_ASSERT(rd32(&r, PBA) == 0, "PBA 0x%x before", rd32(&r, PBA));
	TEST_ASSERT(write(r.m.msix_fds[2], &one, 8) == 8, "signal vector 2");
	TEST_ASSERT(rd32(&r, PBA) == 0x4, "PBA 0x%x with vector 2 pending", rd32(&r, PBA));
	wr32(&r, PBA, 0);	/* read-only */
	TEST_ASSERT(rd32(&r, PBA) == 0x4, "a PBA write cleared a pending bit");
	wr32(&r, TABLE + 32 + 12, 0);
	g2 = gsi_of_fd(&r, r.m.msix_fds[2]);
	TEST_ASSERT(g2 && g2 != g0 && rd32(&r, PBA) == 0, "vector 2 live (gsi %u), PBA 0x%x", g2, rd32(&r, PBA));
	/* The guest rewrites live vector 0 (a new CPU): the route follows, the irqfd stays. */
	wr32(&r, TABLE + 8, 0x4051);
	vfio_pci_get_counters(r.v, &n);
	TEST_ASSERT(r.mh.gsi_data[g0] == 0x4051 && r.mh.gsi_irqfd[g0] && n.msix_route_updates == 1,
		    "live rewrite: data 0x%x updates %llu", r.mh.gsi_data[g0], (unsigned long long)n.msix_route_updates);
	/* Mask vector 0: its irqfd goes, vector 2's stays. The function mask takes both. */
	wr32(&r, TABLE + 12, 1);
	TEST_ASSERT(!r.mh.gsi_irqfd[g0] && r.mh.gsi_irqfd[g2], "per-vector mask");
	ctrl(&r, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	TEST_ASSERT(r.mh.irqfds_assigned == 0, "function mask");
	ctrl(&r, MSIX_CTRL_ENABLE);
	TEST_ASSERT(r.mh.irqfds_assigned == 1 && r.mh.gsi_irqfd[g2], "function unmask");
	/* MSI while MSI-X is on: refused, counted; the device keeps MSI-X. */
	pci_bus_cfg_write(r.pb, r.d->slot, 0, 0x44, 4, 0xfee00000);
	pci_bus_cfg_write(r.pb, r.d->slot, 0, 0x42, 2, 1);
	vfio_pci_get_counters(r.v, &n);
	TEST_ASSERT(r.m.msi_count == 0 && r.m.msix_count == 5 && n.msix_errors == 2 && n.msi_enables == 0,
		    "MSI with MSI-X on: msi %u errors %llu", r.m.msi_count, (unsigned long long)n.msix_errors);
	pci_bus_cfg_write(r.pb, r.d->slot, 0, 0x42, 2, 0);
	/* Disable: vectors off at VFIO, INTx back. Enable again: same routes, no new GSI. */
	ctrl(&r, 0);
	TEST_ASSERT(r.m.msix_count == 0 && r.m.intx_trigger_count == 1 && r.mh.irqfds_assigned == 1 &&
		    r.mh.gsi_irqfd[r.d->irq], "disable: msix %u intx %u", r.m.msix_count, r.m.intx_trigger_count);
	ctrl(&r, MSIX_CTRL_ENABLE);
	TEST_ASSERT(r.m.msix_count == 5 && r.mh.irqfds_assigned == 1 && gsi_of_fd(&r, r.m.msix_fds[2]) == g2 &&
		    r.mh.routes == 2, "re-enable: routes %u", r.mh.routes);
	vfio_pci_get_counters(r.v, &n);
	TEST_ASSERT(n.msix_enables == 2 && n.irq_errors == 0, "enables %llu irq errors %llu",
		    (unsigned long long)n.msix_enables, (unsigned long long)n.irq_errors);
	vfio_pci_stop(r.v, &st);
	TEST_ASSERT(r.m.msix_count == 0 && r.mh.irqfds_assigned == 0 && r.m.intx_trigger_count == 0, "stop");
	rig_down(&r);
	printf("msix lifecycle: 5 vectors, table/PBA page trapped, 2 memslots followed the BAR, masks, pending, "
	       "live rewrite, MSI exclusive, disable/re-enable\n");
}

static void bad_input(void)
{
	struct rig r;
	struct vfio_pci_counters n;
	struct pci_bus_counters bn;

	/* The capability says 8 vectors, VFIO offers 4: 4 exposed, all 8 entries trapped. */
	rig_up(&r, 8, TABLE, PBA, 4);
	vfio_pci_get_counters(r.v, &n);
	TEST_ASSERT(pci_config_read(&r.d->cfg, CAP + 2, 2) == 3 && n.msix_errors == 1, "table size shown 0x%x",
		    pci_config_read(&r.d->cfg, CAP + 2, 2));
	entry(&r, 6, 0xfee00000, 0x4060, false);
	TEST_ASSERT(rd32(&r, TABLE + 16 * 6 + 8) == 0 && r.m.bar0[TABLE + 16 * 6 + 8] == 0,
		    "a vector the device does not offer took a write");
	/* SET_IRQS fails: counted, INTx kept. */
	r.m.msix_set_fails = true;
	ctrl(&r, MSIX_CTRL_ENABLE);
	vfio_pci_get_counters(r.v, &n);
	TEST_ASSERT(r.m.msix_count == 0 && r.m.intx_trigger_count == 1 && n.irq_errors == 1, "failed enable");
	ctrl(&r, 0);
	r.m.msix_set_fails = false;
	/* Routes exhausted: the vector stays dark, counted. */
	r.mh.route_limit = 1;
	entry(&r, 0, 0xfee00000, 0x4041, false);
	entry(&r, 1, 0xfee00000, 0x4042, false);
	ctrl(&r, MSIX_CTRL_ENABLE);
	vfio_pci_get_counters(r.v, &n);
	TEST_ASSERT(r.mh.irqfds_assigned == 1 && n.irq_errors == 2, "route exhaustion: irqfds %u errors %llu",
		    r.mh.irqfds_assigned, (unsigned long long)n.irq_errors);
	/* The guest moves BAR0 (with the table) over RAM: refused, nothing mapped, the VMM runs on. */
	pci_bus_cfg_write(r.pb, r.d->slot, 0, 0x10, 4, 0x10000000);
	pci_bus_get_counters(r.pb, &bn);
	TEST_ASSERT(bn.refused_moves == 1 && r.d->cfg.active[0] == PCI_ADDR_NONE && slots_used(&r) == 0,
		    "BAR0 over RAM: refused %llu", (unsigned long long)bn.refused_moves);
	rig_down(&r);

	/* A table that does not fit in its BAR: MSI-X hidden, MSI still offered. */
	memset(&r, 0, sizeof(r));
	r.l = mock_layout();
	mock_dev_init(&r.m, true);
	mock_dev_add_msix(&r.m, 64, MOCK_BAR0_SIZE - 512, 0, 64);
	r.host = mock_host_ops(&r.mh);
	{
		struct err e = { 0 };

		TEST_ASSERT(vfio_pci_create("bad table", &mock_dev_ops, &r.m, &r.host, &r.v, &e) == 0, "%s", e.msg);
	}
	r.d = vfio_pci_dev(r.v);
	vfio_pci_get_counters(r.v, &n);
	TEST_ASSERT(pci_config_read(&r.d->cfg, 0x41, 1) == 0 && n.msix_errors == 1, "MSI-X past its BAR exposed");
	vfio_pci_destroy(r.v);
	free(r.m.bar0);
	printf("msix bad input: shrunk table, failed SET_IRQS, exhausted routes, BAR over RAM, table past its BAR\n");
}

int main(void)
{
	lifecycle();
	bad_input();
	return T_PASS;
}
