/* A passed-through PCI function: config model over the device's config space, BAR placement
 * into memslots or traps, INTx and MSI into KVM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/vfio_pci.h"

#include "devices/vfio_pci_internal.h"

#define PAGE VFIO_PCI_PAGE

static uint32_t rd(const uint8_t *p, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- INTx and MSI ---- */

int vfio_pci_intx_enable(struct vfio_pci *v)
{
	int ret;

	if (v->intx_on || v->msi_on || v->msix.on || !v->dev.cfg.regs[PCI_CFG_INT_PIN] || !v->host.irqfd)
		return 0;
	v->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->intx_resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->intx_fd < 0 || v->intx_resample_fd < 0) {
		ret = -errno;
		goto fail;
	}
	/* Level-triggered: VFIO masks the host line when it fires (AUTOMASKED); KVM signals the
	 * resample fd on the guest's EOI and VFIO unmasks it (the order kvmtool uses). */
	ret = v->host.irqfd(v->host.opaque, v->dev.irq, v->intx_fd, v->intx_resample_fd, true);
	if (ret)
		goto fail;
	ret = v->ops->irq_set(v->h, VFIO_PCI_IRQ_INTX, false, 1, &v->intx_fd);
	if (!ret)
		ret = v->ops->irq_set(v->h, VFIO_PCI_IRQ_INTX, true, 1, &v->intx_resample_fd);
	if (ret) {
		v->ops->irq_set(v->h, VFIO_PCI_IRQ_INTX, false, 0, NULL);
		v->host.irqfd(v->host.opaque, v->dev.irq, v->intx_fd, v->intx_resample_fd, false);
		goto fail;
	}
	v->intx_on = true;
	return 0;
fail:
	close_fd(&v->intx_fd);
	close_fd(&v->intx_resample_fd);
	return ret;
}

void vfio_pci_intx_disable(struct vfio_pci *v)
{
	if (!v->intx_on)
		return;
	if (v->ops->irq_set(v->h, VFIO_PCI_IRQ_INTX, false, 0, NULL))
		v->n.irq_errors++;
	v->host.irqfd(v->host.opaque, v->dev.irq, v->intx_fd, v->intx_resample_fd, false);
	close_fd(&v->intx_fd);
	close_fd(&v->intx_resample_fd);
	v->intx_on = false;
}

static void msi_disable(struct vfio_pci *v)
{
	if (!v->msi_on)
		return;
	if (v->ops->irq_set(v->h, VFIO_PCI_IRQ_MSI, false, 0, NULL))
		v->n.irq_errors++;
	v->host.irqfd(v->host.opaque, v->msi_gsi, v->msi_fd, -1, false);
	close_fd(&v->msi_fd);
	v->msi_on = false;
}

static int msi_enable(struct vfio_pci *v)
{
	int ret;

	if (!v->host.msi_route || !v->host.irqfd)
		return -ENOTSUP;
	/* VFIO refuses MSI while INTx is enabled (vfio_pci_set_irqs_ioctl): INTx goes first. */
	vfio_pci_intx_disable(v);
	ret = v->host.msi_route(v->host.opaque, &v->msi_gsi, v->msi_addr, v->msi_data);
	if (ret)
		return ret;
	v->msi_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->msi_fd < 0)
		return -errno;
	ret = v->host.irqfd(v->host.opaque, v->msi_gsi, v->msi_fd, -1, true);
	if (ret) {
		close_fd(&v->msi_fd);
		return ret;
	}
	ret = v->ops->irq_set(v->h, VFIO_PCI_IRQ_MSI, false, 1, &v->msi_fd);
	if (ret) {
		v->host.irqfd(v->host.opaque, v->msi_gsi, v->msi_fd, -1, false);
		close_fd(&v->msi_fd);
		return ret;
	}
	v->msi_on = true;
	v->n.msi_enables++;
	return 0;
}

/* The guest wrote into the MSI capability: follow enable, address and data. */
static void msi_written(struct vfio_pci *v)
{
	const uint8_t *cap = v->dev.cfg.regs + v->msi_off;
	uint16_t ctrl = (uint16_t)rd(cap + 2, 2);
	bool want = ctrl & 1;

	v->msi_addr = rd(cap + 4, 4) | (v->msi_64 ? (uint64_t)rd(cap + 8, 4) << 32 : 0);
	v->msi_data = rd(cap + (v->msi_64 ? 12 : 8), 2);
	if (want && ((ctrl >> 4) & 7)) {
		/* Multiple Message Enable beyond the one vector offered (MMC = 0): out of range. */
		v->n.msi_errors++;
	}
	if (want && !v->msi_on && v->msix.on) {
		v->n.msix_errors++;	/* MSI and MSI-X at once: undefined (PCI 3.0 6.8.1.3); MSI-X kept */
	} else if (want && !v->msi_on) {
		if (msi_enable(v)) {
			v->n.irq_errors++;
			vfio_pci_intx_enable(v);
		}
	} else if (!want && v->msi_on) {
		msi_disable(v);
		if (vfio_pci_intx_enable(v))
			v->n.irq_errors++;
	} else if (want && v->msi_on && v->host.msi_route(v->host.opaque, &v->msi_gsi, v->msi_addr, v->msi_data)) {
		v->n.irq_errors++;
	}
}

/* ---- The bus's callbacks ---- */

static void cfg_written(struct pci_dev *d, unsigned off, unsigned len, uint32_t value)
{
	struct vfio_pci *v = d->opaque;

	if (off < PCI_CFG_COMMAND + 2 && off + len > PCI_CFG_COMMAND) {
		/* COMMAND reaches the device: bus mastering and INTx disable are the guest's. */
		uint16_t cmd = (uint16_t)pci_config_read(&d->cfg, PCI_CFG_COMMAND, 2);

		if (v->ops->region_rw(v->h, VFIO_PCI_CFG_REGION, PCI_CFG_COMMAND, &cmd, 2, true))
			v->n.irq_errors++;
	}
	if (v->msi_off && off < v->msi_off + v->msi_len && off + len > v->msi_off) {
		msi_written(v);
		return;
	}
	if (v->msix.off && off < v->msix.off + 4u && off + len > v->msix.off + 2u) {
		vfio_pci_msix_ctrl_written(v);
		return;
	}
	if (off >= PCI_CFG_HEADER_BYTES && off >= v->dev.cfg.cap_free)
		v->ops->region_rw(v->h, VFIO_PCI_CFG_REGION, off, &value, len, true);	/* device-specific */
}

static bool cfg_read(struct pci_dev *d, unsigned off, unsigned len, uint32_t *value)
{
	struct vfio_pci *v = d->opaque;

	if (off < PCI_CFG_STATUS + 2 && off + len > PCI_CFG_STATUS) {
		/* STATUS comes from the device (its INTx status bit is what uio_pci_generic's and
		 * Linux's pci_check_and_mask_intx() test), with the model's capability-list bit. */
		uint8_t st[2], cap = d->cfg.regs[PCI_CFG_STATUS] & PCI_STATUS_CAP_LIST;

		*value = pci_config_read(&d->cfg, off, len);
		if (v->ops->region_rw(v->h, VFIO_PCI_CFG_REGION, PCI_CFG_STATUS, st, 2, false))
			return true;
		st[0] = (uint8_t)((st[0] & ~PCI_STATUS_CAP_LIST) | cap);
		for (unsigned i = 0; i < 2; i++) {
			unsigned at = PCI_CFG_STATUS + i;

			if (at >= off && at < off + len) {
				*value &= ~(0xffu << (8 * (at - off)));
				*value |= (uint32_t)st[i] << (8 * (at - off));
			}
		}
		return true;
	}
	if (off < PCI_CFG_HEADER_BYTES || off < v->dev.cfg.cap_free)
		return false;
	*value = 0;
	return v->ops->region_rw(v->h, VFIO_PCI_CFG_REGION, off, value, len, false) == 0;
}

static int unmap_bar(struct vfio_pci *v, unsigned b, struct err *e)
{
	while (v->nr_slots[b]) {
		int ret = v->host.mem_unmap(v->host.opaque, v->slot[b][v->nr_slots[b] - 1]);

		if (ret)
			return err_set(e, ret, "%s: removing a memslot of BAR %u failed", v->dev.name, b);
		if (!--v->nr_slots[b])
			v->n.bar_mmapped--;
	}
	return 0;
}

/* The BAR's memslots at to: the whole BAR, or the pieces between the MSI-X table and PBA
 * pages, which stay trapped (the guest's table is daxvm's, the device's is the host kernel's). */
static int map_bar(struct vfio_pci *v, unsigned b, uint64_t to, uint64_t size, struct err *e)
{
	uint64_t holes[2][2], at = 0;
	unsigned nh = vfio_pci_msix_holes(v, b, size, holes);

	for (unsigned i = 0; i <= nh; i++) {
		uint64_t end = i < nh ? holes[i][0] : size;
		int ret;

		if (end > at) {
			ret = v->host.mem_map(v->host.opaque, to + at, end - at, (uint8_t *)v->map[b] + at,
					      &v->slot[b][v->nr_slots[b]]);
			if (ret) {
				unmap_bar(v, b, e);
				return err_set(e, ret, "%s: a memslot for BAR %u at 0x%llx failed", v->dev.name, b,
					       (unsigned long long)(to + at));
			}
			if (!v->nr_slots[b]++)
				v->n.bar_mmapped++;
		}
		if (i < nh)
			at = holes[i][1];
	}
	return 0;
}

static int bar_move(struct pci_dev *d, const struct pci_bar_move *m, struct err *e)
{
	struct vfio_pci *v = d->opaque;
	int ret = unmap_bar(v, m->bar, e);

	if (ret)
		return ret;
	/* A memslot needs whole pages at a page-aligned address; otherwise the BAR stays
	 * trapped (the bus routes its accesses to bar_access). */
	if (m->to == PCI_ADDR_NONE || !v->map[m->bar] || m->to % PAGE || m->size % PAGE || !v->host.mem_map)
		return 0;
	return map_bar(v, m->bar, m->to, m->size, e);
}

static int bar_access(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data, unsigned len,
		      bool is_write)
{
	struct vfio_pci *v = d->opaque;

	if (bar == PCI_BAR_ROM && is_write)
		return 0;	/* a ROM ignores writes */
	if (vfio_pci_msix_access(v, bar, off, data, len, is_write))
		return 0;
	if (is_write)
		v->n.trapped_writes++;
	else
		v->n.trapped_reads++;
	if (v->ops->region_rw(v->h, bar, off, data, len, is_write) && !is_write)
		memset(data, 0xff, len);	/* like a master abort: the guest keeps running */
	return 0;
}

static const struct pci_dev_ops vfio_pci_dev_ops = {
	.cfg_written = cfg_written,
	.cfg_read = cfg_read,
	.bar_move = bar_move,
	.bar_access = bar_access,
};

/* ---- Creation from the device's config space ---- */

unsigned vfio_pci_find_cap(const uint8_t *cfg, uint8_t id)
{
	unsigned off = cfg[PCI_CFG_STATUS] & PCI_STATUS_CAP_LIST ? cfg[PCI_CFG_CAP_PTR] & 0xfc : 0;

	for (unsigned hops = 0; off >= PCI_CFG_HEADER_BYTES && off < PCI_CFG_BYTES - 12 && hops < 48; hops++) {
		if (cfg[off] == id)
			return off;
		off = cfg[off + 1] & 0xfc;
	}
	return 0;
}

/* Copies the device's MSI capability (if any) into the model with one vector, no per-vector
 * masking, and daxvm-owned enable/address/data. */
static int add_msi(struct vfio_pci *v, const uint8_t *cfg, struct err *e)
{
	unsigned off = vfio_pci_find_cap(cfg, PCI_CAP_ID_MSI);
	uint8_t body[16] = { PCI_CAP_ID_MSI }, wmask[16] = { 0 };

	if (!off)
		return 0;
	v->msi_64 = cfg[off + 2] & 0x80;
	v->msi_len = v->msi_64 ? 14 : 10;
	body[2] = v->msi_64 ? 0x80 : 0;		/* MMC = 0: one vector; no per-vector masking */
	wmask[2] = 0x71;			/* enable, multiple message enable */
	memset(wmask + 4, 0xff, 4);
	wmask[4] = 0xfc;			/* the address is dword-aligned */
	memset(wmask + 8, 0xff, v->msi_64 ? 6 : 2);
	return pci_config_add_cap(&v->dev.cfg, body, wmask, v->msi_len, &v->msi_off, e);
}

static int add_bars(struct vfio_pci *v, const uint8_t *cfg, struct err *e)
{
	for (unsigned b = 0; b < 6; b++) {
		uint32_t reg = rd(cfg + PCI_CFG_BAR0 + 4 * b, 4);
		enum pci_bar_type t = reg & 1 ? PCI_BAR_IO : ((reg >> 1) & 3) == 2 ? PCI_BAR_MEM64 : PCI_BAR_MEM32;
		int ret = v->ops->region_info(v->h, b, &v->region[b]);

		if (ret)
			return err_set(e, ret, "%s: the VFIO info of BAR %u failed", v->dev.name, b);
		if (!v->region[b].size)
			continue;
		ret = pci_config_set_bar(&v->dev.cfg, b, t, v->region[b].size, !(reg & 1) && (reg & 8), e);
		if (ret)
			return ret;
		if (t != PCI_BAR_IO && v->region[b].mmap_ok && v->ops->region_mmap) {
			v->map[b] = v->ops->region_mmap(v->h, b, v->region[b].size);	/* NULL: trapped */
		}
		if (t == PCI_BAR_MEM64)
			b++;
	}
	if (v->ops->region_info(v->h, PCI_BAR_ROM, &v->region[PCI_BAR_ROM]) == 0 && v->region[PCI_BAR_ROM].size)
		return pci_config_set_bar(&v->dev.cfg, PCI_BAR_ROM, PCI_BAR_ROM_MEM, v->region[PCI_BAR_ROM].size,
					  false, e);
	return 0;
}

int vfio_pci_create(const char *name, const struct vfio_pci_dev_ops *ops, void *h,
		    const struct vfio_pci_host *host, struct vfio_pci **out, struct err *e)
{
	uint8_t cfg[PCI_CFG_BYTES];
	unsigned intx = 0;
	struct vfio_pci *v;
	int ret;

	v = calloc(1, sizeof(*v));
	if (!v)
		return err_set(e, -ENOMEM, "out of memory for %s", name);
	v->ops = ops;
	v->h = h;
	v->host = *host;
	v->msi_fd = v->intx_fd = v->intx_resample_fd = -1;
	snprintf(v->dev.name, sizeof(v->dev.name), "%s", name);
	v->dev.ops = &vfio_pci_dev_ops;
	v->dev.opaque = v;
	/* A device left busy by its last user starts from its reset state. */
	v->reset_status = ops->reset ? ops->reset(h) : -ENOTTY;
	ret = ops->region_rw(h, VFIO_PCI_CFG_REGION, 0, cfg, sizeof(cfg), false);
	if (ret) {
		err_set(e, ret, "%s: reading its config space through VFIO failed", name);
		goto fail;
	}
	if ((cfg[PCI_CFG_HEADER_TYPE] & 0x7f) != 0) {
		ret = err_set(e, -ENODEV, "%s has header type %u: only endpoints (type 0) can be passed through",
			      name, cfg[PCI_CFG_HEADER_TYPE] & 0x7f);
		goto fail;
	}
	pci_config_init(&v->dev.cfg, (uint16_t)rd(cfg, 2), (uint16_t)rd(cfg + 2, 2), rd(cfg + 9, 3), cfg[8]);
	pci_config_set_subsystem(&v->dev.cfg, (uint16_t)rd(cfg + PCI_CFG_SUBSYS, 2),
				 (uint16_t)rd(cfg + PCI_CFG_SUBSYS + 2, 2));
	if (ops->irq_count && ops->irq_count(h, VFIO_PCI_IRQ_INTX, &intx) == 0 && intx)
		pci_config_set_int_pin(&v->dev.cfg, cfg[PCI_CFG_INT_PIN]);
	ret = add_bars(v, cfg, e);
	if (!ret)
		ret = add_msi(v, cfg, e);
	if (!ret)
		ret = vfio_pci_msix_add(v, cfg, e);
	if (ret)
		goto fail;
	*out = v;
	return 0;
fail:
	v->stopped = true;	/* nothing was started: no quiesce to do */
	vfio_pci_destroy(v);
	return ret;
}

struct pci_dev *vfio_pci_dev(struct vfio_pci *v)
{
	return &v->dev;
}

int vfio_pci_start(struct vfio_pci *v, struct err *e)
{
	int ret = vfio_pci_intx_enable(v);

	if (ret)
		return err_set(e, ret, "%s: wiring INTx (IRQ %u) through VFIO and a KVM irqfd failed", v->dev.name,
			       v->dev.irq);
	return 0;
}

void vfio_pci_stop(struct vfio_pci *v, struct vfio_pci_stop_info *info)
{
	uint16_t cmd = 0;

	memset(info, 0, sizeof(*info));
	info->reset = -ENOTTY;
	if (v->stopped)
		return;
	v->stopped = true;
	info->master_at_stop = pci_config_read(&v->dev.cfg, PCI_CFG_COMMAND, 2) & PCI_CMD_MASTER;
	if (v->ops->region_rw(v->h, VFIO_PCI_CFG_REGION, PCI_CFG_COMMAND, &cmd, 2, false) == 0) {
		cmd &= (uint16_t)~PCI_CMD_MASTER;
		if (v->ops->region_rw(v->h, VFIO_PCI_CFG_REGION, PCI_CFG_COMMAND, &cmd, 2, true) == 0 &&
		    v->ops->region_rw(v->h, VFIO_PCI_CFG_REGION, PCI_CFG_COMMAND, &cmd, 2, false) == 0)
			info->master_cleared = !(cmd & PCI_CMD_MASTER);
	}
	info->reset = v->ops->reset ? v->ops->reset(v->h) : -ENOTTY;
	info->hazard = info->master_at_stop && !info->master_cleared && info->reset != 0;
	msi_disable(v);
	vfio_pci_msix_disable(v);
	vfio_pci_intx_disable(v);
}

void vfio_pci_destroy(struct vfio_pci *v)
{
	struct vfio_pci_stop_info info;

	if (!v)
		return;
	vfio_pci_stop(v, &info);
	for (unsigned b = 0; b < PCI_BARS; b++) {
		for (unsigned i = 0; i < v->nr_slots[b]; i++)
			v->host.mem_unmap(v->host.opaque, v->slot[b][i]);
		if (v->map[b] && v->ops->region_munmap)
			v->ops->region_munmap(v->h, v->map[b], v->region[b].size);
	}
	vfio_pci_msix_free(v);
	free(v);
}

void vfio_pci_get_counters(struct vfio_pci *v, struct vfio_pci_counters *out)
{
	*out = v->n;
}

void *vfio_pci_bar_host(struct vfio_pci *v, unsigned bar)
{
	return bar < PCI_BARS ? v->map[bar] : NULL;
}

int vfio_pci_reset_status(struct vfio_pci *v)
{
	return v->reset_status;
}
