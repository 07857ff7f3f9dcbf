/* vfio-pci over a mock device and a mock KVM host: the model built from the device's config
 * space, BAR0 in a memslot that follows guest moves, trapping when the region cannot be
 * mmapped, INTx with resample, MSI enable/disable (INTx off while MSI is on), COMMAND reaching
 * the device, and the teardown order's device part (bus master off, reset, interrupts off). */
#include "devices/bus.h"
#include "devices/pci_bus.h"
#include "devices/vfio_pci.h"
#include "unit/pci/mock_vfio.h"
#include "test.h"

static void cfg_wr(struct pci_bus *pb, unsigned slot, unsigned off, unsigned len, uint32_t v)
{
	pci_bus_cfg_write(pb, slot, 0, off, len, v);
}

static void mmapped_device(void)
{
	struct pci_bus_layout l = mock_layout();
	struct mock_dev m;
	struct mock_host mh = { 0 };
	struct vfio_pci_host host = mock_host_ops(&mh);
	struct vfio_pci_counters n;
	struct vfio_pci_stop_info st;
	struct pci_bus_counters bn;
	struct vfio_pci *v;
	struct pci_bus *pb;
	struct pci_dev *d;
	struct err e = { 0 };

	mock_dev_init(&m, true);
	m.cfg[4] = PCI_CMD_MASTER;	/* left on by the last user: the reset at create clears it */
	TEST_ASSERT(vfio_pci_create("vfio-pci mock", &mock_dev_ops, &m, &host, &v, &e) == 0, "%s", e.msg);
	d = vfio_pci_dev(v);
	TEST_ASSERT(m.resets == 1 && m.cfg[4] == 0 && vfio_pci_reset_status(v) == 0, "reset at create");
	TEST_ASSERT(pci_config_read(&d->cfg, 0, 4) == 0x11e81234 && pci_config_read(&d->cfg, 8, 4) == 0x00ff0010 &&
		    pci_config_read(&d->cfg, 0x2c, 2) == 0x1af4, "IDs through the model");
	TEST_ASSERT(d->cfg.bar_size[0] == MOCK_BAR0_SIZE && d->cfg.bar_type[0] == PCI_BAR_MEM32 &&
		    !d->cfg.bar_type[1] && !d->cfg.bar_type[PCI_BAR_ROM], "BARs from the regions");
	TEST_ASSERT(m.mmaps == 1, "BAR0 mmapped");
	TEST_ASSERT(pci_config_read(&d->cfg, 0x34, 1) == 0x40 && pci_config_read(&d->cfg, 0x40, 1) == PCI_CAP_ID_MSI &&
		    pci_config_read(&d->cfg, 0x41, 1) == 0 && pci_config_read(&d->cfg, 0x42, 2) == 0x0080,
		    "MSI capability, 64-bit, one vector");
	TEST_ASSERT(pci_config_read(&d->cfg, 0x3d, 1) == 1, "INTA#");

	TEST_ASSERT(pci_bus_create(&l, &pb, &e) == 0, "%s", e.msg);
	TEST_ASSERT(pci_bus_add(pb, d, &e) == 0, "%s", e.msg);
	TEST_ASSERT(mh.maps == 1 && mh.slot[0].gpa == 0xe0000000 && mh.slot[0].size == MOCK_BAR0_SIZE &&
		    mh.slot[0].host == m.bar0, "BAR0 memslot at 0x%llx", (unsigned long long)mh.slot[0].gpa);
	TEST_ASSERT(vfio_pci_start(v, &e) == 0, "%s", e.msg);
	TEST_ASSERT(mh.irqfds_assigned == 1 && mh.last_gsi == d->irq && mh.last_resample >= 0 &&
		    m.intx_trigger_count == 1 && m.intx_unmask_count == 1, "INTx: irqfd with resample, trigger + unmask");

	/* The guest moves BAR0: the memslot follows. */
	cfg_wr(pb, d->slot, 0x10, 4, 0xe1000000);
	TEST_ASSERT(mh.unmaps == 1 && mh.maps == 2 && mh.slot[0].used && mh.slot[0].gpa == 0xe1000000,
		    "memslot moved (maps %u unmaps %u)", mh.maps, mh.unmaps);
	/* Decode off: memslot gone; on again: back. */
	cfg_wr(pb, d->slot, 4, 2, 0);
	TEST_ASSERT(mh.unmaps == 2 && !mh.slot[0].used, "decode off keeps the memslot");
	cfg_wr(pb, d->slot, 4, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
	TEST_ASSERT(mh.maps == 3 && mh.slot[0].gpa == 0xe1000000, "decode on");
	/* COMMAND reached the device (bus mastering is the guest's). */
	TEST_ASSERT((m.cfg[4] & (PCI_CMD_MASTER | PCI_CMD_MEM)) == (PCI_CMD_MASTER | PCI_CMD_MEM), "COMMAND 0x%x", m.cfg[4]);

	/* STATUS is the device's (its INTx status bit), with the model's capability-list bit. */
	m.cfg[6] = 0x08;	/* interrupt status, and the device's own cap-list bit clear */
	TEST_ASSERT(pci_bus_cfg_read(pb, d->slot, 0, 6, 2) == 0x0018 &&
		    (pci_bus_cfg_read(pb, d->slot, 0, 4, 4) >> 16) == 0x0018 &&
		    (pci_bus_cfg_read(pb, d->slot, 0, 4, 4) & 0xffff) == (PCI_CMD_MEM | PCI_CMD_MASTER) &&
		    pci_bus_cfg_read(pb, d->slot, 0, 6, 1) == 0x18, "STATUS 0x%x", pci_bus_cfg_read(pb, d->slot, 0, 6, 2));
	m.cfg[6] = 0x10;

	/* MSI: program address and data, enable. */
	cfg_wr(pb, d->slot, 0x44, 4, 0xfee00000);
	cfg_wr(pb, d->slot, 0x48, 4, 0);
	cfg_wr(pb, d->slot, 0x4c, 2, 0x4041);
	TEST_ASSERT(m.msi_count == 0, "MSI on before enable");
	cfg_wr(pb, d->slot, 0x42, 2, 0x0001);
	vfio_pci_get_counters(v, &n);
	TEST_ASSERT(m.msi_count == 1 && m.intx_trigger_count == 0 && mh.routes == 1 && mh.route_addr == 0xfee00000 &&
		    mh.route_data == 0x4041 && mh.irqfds_assigned == 1 && n.msi_enables == 1 && n.irq_errors == 0,
		    "MSI enable: msi %u intx %u routes %u irqfds %u errors %llu", m.msi_count, m.intx_trigger_count,
		    mh.routes, mh.irqfds_assigned, (unsigned long long)n.irq_errors);
	/* Data changes while enabled: the route follows. */
	cfg_wr(pb, d->slot, 0x4c, 2, 0x4042);
	TEST_ASSERT(mh.route_data == 0x4042 && mh.routes == 1, "route update");
	/* Asking for 2 vectors (MME = 1) with one offered: counted. MME is writable but MMC 0. */
	cfg_wr(pb, d->slot, 0x42, 2, 0x0011);
	vfio_pci_get_counters(v, &n);
	TEST_ASSERT(n.msi_errors == 1, "MSI vectors out of range not counted");
	/* Disable: INTx back. */
	cfg_wr(pb, d->slot, 0x42, 2, 0);
	TEST_ASSERT(m.msi_count == 0 && m.intx_trigger_count == 1 && mh.irqfds_assigned == 1, "MSI off, INTx back");

	/* Teardown order, device part. */
	vfio_pci_stop(v, &st);
	TEST_ASSERT(st.master_at_stop && st.master_cleared && st.reset == 0 && !st.hazard, "stop info");
	TEST_ASSERT(!(m.cfg[4] & PCI_CMD_MASTER) && m.resets == 2 && m.intx_trigger_count == 0 &&
		    mh.irqfds_assigned == 0, "stop: master %x resets %u intx %u irqfds %u", m.cfg[4], m.resets,
		    m.intx_trigger_count, mh.irqfds_assigned);
	pci_bus_get_counters(pb, &bn);
	vfio_pci_destroy(v);
	TEST_ASSERT(!mh.slot[0].used && m.munmaps == 1, "destroy left a memslot or a mapping");
	pci_bus_destroy(pb);
	free(m.bar0);
	printf("vfio_pci mmapped: memslot followed %llu moves, INTx/MSI switched, stopped cleanly\n",
	       (unsigned long long)bn.moves);
}

/* A BAR that cannot be mmapped is trapped: accesses reach the region with pread/pwrite. A
 * device without reset whose bus master cannot be cleared is the hazard the report names. */
static void trapped_device(void)
{
	struct pci_bus_layout l = mock_layout();
	struct mock_dev m;
	struct mock_host mh = { 0 };
	struct vfio_pci_host host = mock_host_ops(&mh);
	struct vfio_pci_counters n;
	struct vfio_pci_stop_info st;
	struct vfio_pci *v;
	struct pci_bus *pb;
	struct bus *io;
	struct pci_dev *d;
	struct err e = { 0 };
	uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	mock_dev_init(&m, false);
	m.reset_ret = -ENOTTY;
	TEST_ASSERT(vfio_pci_create("vfio-pci mock2", &mock_dev_ops, &m, &host, &v, &e) == 0, "%s", e.msg);
	d = vfio_pci_dev(v);
	TEST_ASSERT(vfio_pci_reset_status(v) == -ENOTTY && m.mmaps == 0, "no reset, no mmap");
	TEST_ASSERT(bus_create(&io) == 0 && pci_bus_create(&l, &pb, &e) == 0 && pci_bus_attach(pb, io, &e) == 0,
		    "%s", e.msg);
	TEST_ASSERT(pci_bus_add(pb, d, &e) == 0 && mh.maps == 0, "memslot for an unmappable BAR");
	TEST_ASSERT(bus_dispatch(io, BUS_MMIO, 0, 0xe0000000 + 0x88, buf, 8, true) == 0 && m.bar_writes == 1 &&
		    m.last_bar_off == 0x88 && m.bar0[0x88] == 1 && m.bar0[0x8f] == 8, "trapped write");
	memset(buf, 0, sizeof(buf));
	TEST_ASSERT(bus_dispatch(io, BUS_MMIO, 0, 0xe0000000 + 0x88, buf, 4, false) == 0 && buf[3] == 4 &&
		    m.bar_reads == 1, "trapped read");
	vfio_pci_get_counters(v, &n);
	TEST_ASSERT(n.trapped_reads == 1 && n.trapped_writes == 1, "trap counters");
	/* Guest turns bus mastering on; then the device stops answering config writes. */
	pci_bus_cfg_write(pb, d->slot, 0, 4, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
	m.cfg_write_fails = true;
	vfio_pci_stop(v, &st);
	TEST_ASSERT(st.master_at_stop && !st.master_cleared && st.reset == -ENOTTY && st.hazard, "hazard not named");
	vfio_pci_destroy(v);
	pci_bus_destroy(pb);
	bus_destroy(io);
	free(m.bar0);
	printf("vfio_pci trapped: forwarded by pread/pwrite; a device that cannot be quiesced is a hazard\n");
}

/* A bridge (header type 1) cannot be passed through. */
static void bridge_refused(void)
{
	struct mock_dev m;
	struct mock_host mh = { 0 };
	struct vfio_pci_host host = mock_host_ops(&mh);
	struct vfio_pci *v = NULL;
	struct err e = { 0 };

	mock_dev_init(&m, true);
	m.cfg[0x0e] = 1;
	TEST_ASSERT(vfio_pci_create("bridge", &mock_dev_ops, &m, &host, &v, &e) == -ENODEV &&
		    strstr(e.msg, "header type 1"), "bridge accepted: %s", e.msg);
	TEST_ASSERT(m.munmaps == m.mmaps, "mapping leaked on failure");
	free(m.bar0);
}

int main(void)
{
	mmapped_device();
	trapped_device();
	bridge_refused();
	return T_PASS;
}
