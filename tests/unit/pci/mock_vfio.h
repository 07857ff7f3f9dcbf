/* A mock VFIO PCI function and a mock KVM host for the vfio-pci model (unit tests and the fuzz
 * target): config space and BARs in memory, every SET_IRQS, memslot and irqfd call recorded. */
#ifndef DAXVM_TESTS_UNIT_PCI_MOCK_VFIO_H
#define DAXVM_TESTS_UNIT_PCI_MOCK_VFIO_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vfio_pci.h"

#define MOCK_BAR0_SIZE (1u << 20)

struct mock_dev {
	uint8_t cfg[256];		/* the "hardware" config space */
	uint8_t *bar0;			/* BAR0 contents */
	bool bar0_mmap;			/* region flag */
	int reset_ret;			/* what reset returns (0 or -ENOTTY) */
	bool cfg_write_fails;		/* config writes fail (a dead device) */
	unsigned resets, mmaps, munmaps, bar_reads, bar_writes;
	uint64_t last_bar_off;
	/* SET_IRQS log: last call per index */
	unsigned intx_trigger_count, intx_unmask_count, msi_count, irq_calls;
	int32_t intx_fd, msi_fd;
	/* MSI-X (mock_dev_add_msix): VFIO's vector count, the last SET_IRQS on its index */
	unsigned msix_vfio_nr, msix_count;
	int32_t msix_fds[VFIO_PCI_MSIX_MAX];
	bool msix_set_fails;		/* SET_IRQS on the MSI-X index fails (host out of vectors) */
};

/* bar0: MOCK_BAR0_SIZE bytes the caller owns (the fuzz target reuses one), or NULL: calloc'd
 * here, the caller frees m->bar0. */
static inline void mock_dev_init_buf(struct mock_dev *m, bool mmap_ok, uint8_t *bar0)
{
	memset(m, 0, sizeof(*m));
	m->bar0 = bar0 ? bar0 : calloc(1, MOCK_BAR0_SIZE);
	m->bar0_mmap = mmap_ok;
	m->reset_ret = 0;
	/* QEMU's edu: 1234:11e8 rev 0x10, class 0x00ff00, BAR0 32-bit memory 1 MiB, MSI 64-bit at 0x40 */
	m->cfg[0] = 0x34; m->cfg[1] = 0x12; m->cfg[2] = 0xe8; m->cfg[3] = 0x11;
	m->cfg[6] = 0x10;				/* status: capability list */
	m->cfg[8] = 0x10; m->cfg[0xa] = 0xff;
	m->cfg[0x2c] = 0xf4; m->cfg[0x2d] = 0x1a;	/* subsystem vendor 0x1af4 */
	m->cfg[0x34] = 0x40;
	m->cfg[0x3d] = 1;				/* INTA# */
	m->cfg[0x40] = 0x05; m->cfg[0x41] = 0x00; m->cfg[0x42] = 0x80;	/* MSI, 64-bit */
}

/* An MSI-X capability at 0x50 after MSI: nr vectors (table size), table and PBA in BAR0 at
 * the given offsets; VFIO offers vfio_nr vectors. */
static inline void mock_dev_add_msix(struct mock_dev *m, unsigned nr, uint32_t table_off, uint32_t pba_off,
				     unsigned vfio_nr)
{
	m->cfg[0x41] = 0x50;
	m->cfg[0x50] = 0x11;
	m->cfg[0x51] = 0;
	m->cfg[0x52] = (uint8_t)(nr - 1);
	m->cfg[0x53] = (uint8_t)((nr - 1) >> 8);
	for (unsigned i = 0; i < 4; i++) {
		m->cfg[0x54 + i] = (uint8_t)(table_off >> (8 * i));	/* BIR 0 */
		m->cfg[0x58 + i] = (uint8_t)(pba_off >> (8 * i));
	}
	m->msix_vfio_nr = vfio_nr;
}

static inline void mock_dev_init(struct mock_dev *m, bool mmap_ok)
{
	mock_dev_init_buf(m, mmap_ok, NULL);
}

static inline int mock_region_info(void *h, unsigned index, struct vfio_pci_region *r)
{
	struct mock_dev *m = h;

	memset(r, 0, sizeof(*r));
	if (index == 0) {
		r->size = MOCK_BAR0_SIZE;
		r->mmap_ok = m->bar0_mmap;
	} else if (index == VFIO_PCI_CFG_REGION) {
		r->size = 256;
	}
	return 0;
}

static inline int mock_region_rw(void *h, unsigned index, uint64_t off, void *buf, unsigned len, bool is_write)
{
	struct mock_dev *m = h;
	uint8_t *base = index == 0 ? m->bar0 : index == VFIO_PCI_CFG_REGION ? m->cfg : NULL;
	uint64_t size = index == 0 ? MOCK_BAR0_SIZE : 256;

	if (!base || off + len > size)
		return -EINVAL;
	if (index == 0) {
		m->last_bar_off = off;
		if (is_write)
			m->bar_writes++;
		else
			m->bar_reads++;
	}
	if (is_write && index == VFIO_PCI_CFG_REGION && m->cfg_write_fails)
		return -EIO;
	if (is_write)
		memcpy(base + off, buf, len);
	else
		memcpy(buf, base + off, len);
	return 0;
}

static inline void *mock_region_mmap(void *h, unsigned index, uint64_t size)
{
	struct mock_dev *m = h;

	if (index != 0 || !m->bar0_mmap || size != MOCK_BAR0_SIZE)
		return NULL;
	m->mmaps++;
	return m->bar0;
}

static inline void mock_region_munmap(void *h, void *p, uint64_t size)
{
	struct mock_dev *m = h;

	(void)p;
	(void)size;
	m->munmaps++;
}

static inline int mock_irq_set(void *h, unsigned index, bool unmask, unsigned count, const int32_t *fds)
{
	struct mock_dev *m = h;

	m->irq_calls++;
	if (index == VFIO_PCI_IRQ_INTX && !unmask) {
		/* VFIO refuses INTx while MSI is on (and the reverse) */
		if (count && (m->msi_count || m->msix_count))
			return -EINVAL;
		m->intx_trigger_count = count;
		m->intx_fd = count ? fds[0] : -1;
	} else if (index == VFIO_PCI_IRQ_INTX) {
		m->intx_unmask_count = count;
	} else if (index == VFIO_PCI_IRQ_MSI) {
		if (count && (m->intx_trigger_count || m->msix_count))
			return -EINVAL;
		m->msi_count = count;
		m->msi_fd = count ? fds[0] : -1;
	} else if (index == VFIO_PCI_IRQ_MSIX) {
		if (count && (m->intx_trigger_count || m->msi_count || count > m->msix_vfio_nr || m->msix_set_fails))
			return -EINVAL;
		m->msix_count = count;
		for (unsigned i = 0; i < count && i < VFIO_PCI_MSIX_MAX; i++)
			m->msix_fds[i] = fds[i];
	} else {
		return -EINVAL;
	}
	return 0;
}

static inline int mock_irq_count(void *h, unsigned index, unsigned *count)
{
	struct mock_dev *m = h;

	*count = index <= VFIO_PCI_IRQ_MSI ? 1 : index == VFIO_PCI_IRQ_MSIX ? m->msix_vfio_nr : 0;
	return 0;
}

static inline int mock_reset(void *h)
{
	struct mock_dev *m = h;

	m->resets++;
	if (m->reset_ret == 0)
		m->cfg[4] = m->cfg[5] = 0;	/* a reset clears COMMAND */
	return m->reset_ret;
}

static const struct vfio_pci_dev_ops mock_dev_ops = {
	.region_info = mock_region_info, .region_rw = mock_region_rw, .region_mmap = mock_region_mmap,
	.region_munmap = mock_region_munmap, .irq_set = mock_irq_set, .irq_count = mock_irq_count,
	.reset = mock_reset,
};

/* ---- the host (KVM) side ---- */

#define MOCK_SLOTS 8
#define MOCK_GSIS 128

struct mock_host {
	struct { bool used; uint64_t gpa, size; void *host; } slot[MOCK_SLOTS];
	unsigned maps, unmaps;
	unsigned irqfds_assigned;	/* currently assigned */
	unsigned last_gsi;
	int last_resample;
	unsigned routes;		/* routes allocated */
	unsigned route_limit;		/* 0: any number; else more routes fail with -ENOSPC */
	uint64_t route_addr;
	uint32_t route_data;
	/* Per GSI (below MOCK_GSIS): the irqfd assigned to it, and its MSI route. */
	bool gsi_irqfd[MOCK_GSIS];
	int gsi_fd[MOCK_GSIS];
	uint64_t gsi_addr[MOCK_GSIS];
	uint32_t gsi_data[MOCK_GSIS];
};

static inline int mock_mem_map(void *o, uint64_t gpa, uint64_t size, void *host, unsigned *slot)
{
	struct mock_host *mh = o;

	for (unsigned i = 0; i < MOCK_SLOTS; i++) {
		if (mh->slot[i].used)
			continue;
		mh->slot[i].used = true;
		mh->slot[i].gpa = gpa;
		mh->slot[i].size = size;
		mh->slot[i].host = host;
		*slot = i;
		mh->maps++;
		return 0;
	}
	return -ENOSPC;
}

static inline int mock_mem_unmap(void *o, unsigned slot)
{
	struct mock_host *mh = o;

	if (slot >= MOCK_SLOTS || !mh->slot[slot].used)
		return -ENOENT;
	mh->slot[slot].used = false;
	mh->unmaps++;
	return 0;
}

static inline int mock_irqfd(void *o, unsigned gsi, int fd, int resample_fd, bool assign)
{
	struct mock_host *mh = o;

	if (fd < 0)
		return -EBADF;
	if (gsi >= MOCK_GSIS)
		return -EINVAL;
	if (assign) {
		if (mh->gsi_irqfd[gsi])
			return -EBUSY;	/* KVM: one irqfd per eventfd; the model never reuses a GSI */
		mh->irqfds_assigned++;
		mh->last_gsi = gsi;
		mh->last_resample = resample_fd;
		mh->gsi_irqfd[gsi] = true;
		mh->gsi_fd[gsi] = fd;
	} else {
		if (!mh->irqfds_assigned || !mh->gsi_irqfd[gsi] || mh->gsi_fd[gsi] != fd)
			return -ENOENT;
		mh->irqfds_assigned--;
		mh->gsi_irqfd[gsi] = false;
	}
	return 0;
}

static inline int mock_msi_route(void *o, unsigned *gsi, uint64_t addr, uint32_t data)
{
	struct mock_host *mh = o;

	if (!*gsi) {
		if ((mh->route_limit && mh->routes >= mh->route_limit) || 24 + mh->routes >= MOCK_GSIS)
			return -ENOSPC;
		*gsi = 24 + mh->routes++;
	}
	if (*gsi >= MOCK_GSIS)
		return -ENOENT;
	mh->route_addr = addr;
	mh->route_data = data;
	mh->gsi_addr[*gsi] = addr;
	mh->gsi_data[*gsi] = data;
	return 0;
}

static inline struct vfio_pci_host mock_host_ops(struct mock_host *mh)
{
	return (struct vfio_pci_host){ .opaque = mh, .mem_map = mock_mem_map, .mem_unmap = mock_mem_unmap,
				       .irqfd = mock_irqfd, .msi_route = mock_msi_route };
}

/* The layout the tests use: RAM [0, 3 GiB) and [4 GiB, 5 GiB), PCI MMIO [0xe0000000, 0xfec00000),
 * I/O ports [0xc000, 0x10000). */
static inline struct pci_bus_layout mock_layout(void)
{
	struct pci_bus_layout l = { .mmio_base = 0xe0000000ull, .mmio_size = 0xfec00000ull - 0xe0000000ull,
				    .io_base = 0xc000, .io_size = 0x4000, .nr_ram = 2 };

	l.ram[0].gpa = 0;
	l.ram[0].size = 3ull << 30;
	l.ram[1].gpa = 4ull << 30;
	l.ram[1].size = 1ull << 30;
	return l;
}

#endif
