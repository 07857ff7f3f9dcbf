/* MSI-X of a passed-through function. The capability is daxvm's (enable and function mask are
 * the guest's view); the table and PBA pages of their BARs stay trapped while the rest of the
 * BAR is in memslots (vfio_pci.c). On enable every exposed vector gets a VFIO trigger eventfd
 * at once (VFIO_DEVICE_SET_IRQS on the MSI-X index: before Linux 6.5 VFIO cannot add vectors to
 * an enabled MSI-X, so they are all given up front); a vector whose entry is unmasked (and the
 * function not masked) gets a KVM MSI route from its address/data and an irqfd on that eventfd.
 * Masking removes the irqfd, as kvmtool does, and the eventfd keeps counting: the PBA shows a
 * masked vector that fired as pending, and KVM injects it when the irqfd returns on unmask
 * (irqfd assignment checks for an already signalled eventfd). Rewriting a live entry moves its
 * route. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/vfio_pci_internal.h"

#define MSIX_ADDR_BASE	0xfee00000u	/* x86: MSIs are writes to the local APICs' window */

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Table size (N - 1) in bits 10:0 of Message Control, the capability's second word. */
static unsigned cap_vectors(const uint8_t *cap)
{
	return (le32(cap) >> 16 & 0x7ff) + 1u;
}

int vfio_pci_msix_add(struct vfio_pci *v, const uint8_t *cfg, struct err *e)
{
	struct vfio_pci_msix *x = &v->msix;
	unsigned off = vfio_pci_find_cap(cfg, PCI_CAP_ID_MSIX), dev_nr, vfio_nr = 0;
	uint8_t body[12] = { PCI_CAP_ID_MSIX }, wmask[12] = { 0 };
	uint32_t tbl, pba;
	uint64_t tspan, pspan;

	if (!off)
		return 0;
	dev_nr = cap_vectors(cfg + off);
	tbl = le32(cfg + off + 4);
	pba = le32(cfg + off + 8);
	x->bar = tbl & 7;
	x->pba_bar = pba & 7;
	x->table_off = tbl & ~7u;
	x->pba_off = pba & ~7u;
	/* The whole table and PBA the device has stay trapped, exposed vectors or not. */
	tspan = (uint64_t)dev_nr * MSIX_ENTRY_BYTES;
	pspan = (dev_nr + 63u) / 64u * 8u;
	if (v->ops->irq_count)
		v->ops->irq_count(v->h, VFIO_PCI_IRQ_MSIX, &vfio_nr);
	if (x->bar > 5 || x->pba_bar > 5 || !vfio_nr ||
	    (v->dev.cfg.bar_type[x->bar] != PCI_BAR_MEM32 && v->dev.cfg.bar_type[x->bar] != PCI_BAR_MEM64) ||
	    (v->dev.cfg.bar_type[x->pba_bar] != PCI_BAR_MEM32 && v->dev.cfg.bar_type[x->pba_bar] != PCI_BAR_MEM64) ||
	    x->table_off + tspan > v->dev.cfg.bar_size[x->bar] || x->pba_off + pspan > v->dev.cfg.bar_size[x->pba_bar] ||
	    (x->bar == x->pba_bar && x->table_off < x->pba_off + pspan && x->pba_off < x->table_off + tspan)) {
		/* Not usable: hidden (the guest falls back to MSI or INTx), counted. */
		v->n.msix_errors++;
		x->bar = x->pba_bar = 0;
		return 0;
	}
	/* A table bigger than VFIO's vector count or daxvm's limit is shown shrunk. */
	x->nr = dev_nr;
	if (x->nr > vfio_nr)
		x->nr = vfio_nr;
	if (x->nr > VFIO_PCI_MSIX_MAX)
		x->nr = VFIO_PCI_MSIX_MAX;
	if (x->nr < dev_nr)
		v->n.msix_errors++;
	x->dev_nr = dev_nr;
	x->vec = calloc(x->nr, sizeof(*x->vec));
	if (!x->vec)
		return err_set(e, -ENOMEM, "out of memory for %s's MSI-X table", v->dev.name);
	for (unsigned i = 0; i < x->nr; i++) {
		x->vec[i].fd = -1;
		x->vec[i].entry[12] = MSIX_ENTRY_MASKED;	/* every vector masked at reset */
	}
	body[2] = (uint8_t)(x->nr - 1);
	body[3] = (uint8_t)((x->nr - 1) >> 8);
	memcpy(body + 4, cfg + off + 4, 8);
	wmask[3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
	return pci_config_add_cap(&v->dev.cfg, body, wmask, sizeof(body), &x->off, e);
}

static uint16_t ctrl(const struct vfio_pci *v)
{
	const uint8_t *c = v->dev.cfg.regs + v->msix.off + 2;

	return (uint16_t)(c[0] | c[1] << 8);
}

static void irqfd_off(struct vfio_pci *v, struct vfio_pci_msix_vec *x)
{
	if (!x->irqfd)
		return;
	if (v->host.irqfd(v->host.opaque, x->gsi, x->fd, -1, false))
		v->n.irq_errors++;
	x->irqfd = false;
}

/* Brings vector i's route and irqfd in line with its entry, the function mask and enable. */
static void vector_sync(struct vfio_pci *v, unsigned i)
{
	struct vfio_pci_msix_vec *x = &v->msix.vec[i];
	uint64_t addr = le32(x->entry) | (uint64_t)le32(x->entry + 4) << 32;
	uint32_t data = le32(x->entry + 8);
	bool live = v->msix.on && !(ctrl(v) & MSIX_CTRL_FMASK) && !(x->entry[12] & MSIX_ENTRY_MASKED);

	if (!live) {
		irqfd_off(v, x);
		return;
	}
	if ((addr & 0xfff00000u) != MSIX_ADDR_BASE || addr >> 32) {
		/* Not an interrupt message on x86 (the device would DMA to memory): refused,
		 * counted once per value the guest writes. */
		irqfd_off(v, x);
		v->n.msix_errors += !x->refused;
		x->refused = true;
		return;
	}
	x->refused = false;
	if (!x->gsi || addr != x->addr || data != x->data) {
		if (v->host.msi_route(v->host.opaque, &x->gsi, addr, data)) {
			irqfd_off(v, x);
			v->n.irq_errors++;
			return;
		}
		if (x->irqfd)
			v->n.msix_route_updates++;
		x->addr = addr;
		x->data = data;
	}
	if (!x->irqfd) {
		if (v->host.irqfd(v->host.opaque, x->gsi, x->fd, -1, true))
			v->n.irq_errors++;
		else
			x->irqfd = true;
	}
}

static void close_fds(struct vfio_pci_msix *x)
{
	for (unsigned i = 0; i < x->nr; i++) {
		if (x->vec[i].fd >= 0)
			close(x->vec[i].fd);
		x->vec[i].fd = -1;
	}
}

static int msix_enable(struct vfio_pci *v)
{
	struct vfio_pci_msix *x = &v->msix;
	int32_t fds[VFIO_PCI_MSIX_MAX];
	int ret;

	if (!v->host.msi_route || !v->host.irqfd)
		return -ENOTSUP;
	vfio_pci_intx_disable(v);	/* VFIO allows one interrupt type at a time */
	for (unsigned i = 0; i < x->nr; i++) {
		x->vec[i].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (x->vec[i].fd < 0) {
			ret = -errno;
			close_fds(x);
			return ret;
		}
		fds[i] = x->vec[i].fd;
	}
	ret = v->ops->irq_set(v->h, VFIO_PCI_IRQ_MSIX, false, x->nr, fds);
	if (ret) {
		close_fds(x);
		return ret;
	}
	x->on = true;
	v->n.msix_enables++;
	return 0;
}

void vfio_pci_msix_disable(struct vfio_pci *v)
{
	struct vfio_pci_msix *x = &v->msix;

	if (!x->on)
		return;
	for (unsigned i = 0; i < x->nr; i++)
		irqfd_off(v, &x->vec[i]);
	if (v->ops->irq_set(v->h, VFIO_PCI_IRQ_MSIX, false, 0, NULL))
		v->n.irq_errors++;
	close_fds(x);
	x->on = false;
}

void vfio_pci_msix_ctrl_written(struct vfio_pci *v)
{
	struct vfio_pci_msix *x = &v->msix;
	bool want = ctrl(v) & MSIX_CTRL_ENABLE;

	if (want && !x->on) {
		if (v->msi_on) {
			v->n.msix_errors++;	/* MSI and MSI-X at once: MSI kept */
			return;
		}
		if (msix_enable(v)) {
			v->n.irq_errors++;
			if (vfio_pci_intx_enable(v))
				v->n.irq_errors++;
			return;
		}
	} else if (!want && x->on) {
		vfio_pci_msix_disable(v);
		if (vfio_pci_intx_enable(v))
			v->n.irq_errors++;
		return;
	}
	for (unsigned i = 0; x->on && i < x->nr; i++)	/* enable or the function mask changed */
		vector_sync(v, i);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static uint64_t table_bytes(const struct vfio_pci_msix *x)
{
	return (uint64_t)x->dev_nr * MSIX_ENTRY_BYTES;
}

static uint64_t pba_bytes(const struct vfio_pci_msix *x)
{
	return (x->dev_nr + 63u) / 64u * 8u;
}

/* A masked vector whose eventfd VFIO signalled: pending until the guest unmasks it. */
static bool pending(const struct vfio_pci_msix_vec *x)
{
	struct pollfd p = { .fd = x->fd, .events = POLLIN };

	return x->fd >= 0 && !x->irqfd && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

bool vfio_pci_msix_access(struct vfio_pci *v, unsigned bar, uint64_t off, uint8_t *data, unsigned len,
			  bool is_write)
{
	struct vfio_pci_msix *x = &v->msix;
	bool in_table, in_pba;
	unsigned first = ~0u, last = 0;

	if (!x->off)
		return false;
	in_table = bar == x->bar && overlaps(off, len, x->table_off, table_bytes(x));
	in_pba = bar == x->pba_bar && overlaps(off, len, x->pba_off, pba_bytes(x));
	if (!in_table && !in_pba)
		return false;
	v->n.msix_table_accesses++;
	for (unsigned i = 0; i < len; i++) {
		uint64_t o = off + i;

		if (in_table && o >= x->table_off && o < x->table_off + table_bytes(x)) {
			unsigned idx = (unsigned)((o - x->table_off) / MSIX_ENTRY_BYTES);
			unsigned b = (unsigned)((o - x->table_off) % MSIX_ENTRY_BYTES);

			if (idx >= x->nr) {		/* a vector not exposed: reads 0, writes dropped */
				if (!is_write)
					data[i] = 0;
				continue;
			}
			if (!is_write) {
				data[i] = x->vec[idx].entry[b];
				continue;
			}
			/* Address bits 1:0 and vector control bits 31:1 are read-only zero. */
			if (b == 0)
				x->vec[idx].entry[b] = data[i] & 0xfc;
			else if (b == 12)
				x->vec[idx].entry[b] = data[i] & MSIX_ENTRY_MASKED;
			else if (b < 12)
				x->vec[idx].entry[b] = data[i];
			x->vec[idx].refused = false;	/* a new value: judged afresh */
			if (idx < first)
				first = idx;
			last = idx;
		} else if (in_pba && o >= x->pba_off && o < x->pba_off + pba_bytes(x)) {
			unsigned bit0 = (unsigned)(o - x->pba_off) * 8;

			if (is_write)
				continue;	/* the PBA is read-only */
			data[i] = 0;
			for (unsigned k = 0; k < 8; k++)
				if (bit0 + k < x->nr && pending(&x->vec[bit0 + k]))
					data[i] |= (uint8_t)(1u << k);
		} else if (!is_write) {
			data[i] = 0;	/* an access straddling the table's or PBA's edge */
		}
	}
	for (unsigned i = first; is_write && i <= last && i < x->nr; i++)
		vector_sync(v, i);
	return true;
}

unsigned vfio_pci_msix_holes(const struct vfio_pci *v, unsigned bar, uint64_t bar_size, uint64_t holes[2][2])
{
	const struct vfio_pci_msix *x = &v->msix;
	const uint64_t page = VFIO_PCI_PAGE;
	unsigned n = 0;

	if (!x->off)
		return 0;
	if (bar == x->bar) {
		holes[n][0] = x->table_off / page * page;
		holes[n][1] = (x->table_off + table_bytes(x) + page - 1) / page * page;
		n++;
	}
	if (bar == x->pba_bar) {
		holes[n][0] = x->pba_off / page * page;
		holes[n][1] = (x->pba_off + pba_bytes(x) + page - 1) / page * page;
		n++;
	}
	for (unsigned i = 0; i < n; i++)
		if (holes[i][1] > bar_size)
			holes[i][1] = bar_size;
	if (n == 2 && holes[1][0] < holes[0][0]) {
		uint64_t t0 = holes[0][0], t1 = holes[0][1];

		holes[0][0] = holes[1][0];
		holes[0][1] = holes[1][1];
		holes[1][0] = t0;
		holes[1][1] = t1;
	}
	if (n == 2 && holes[1][0] <= holes[0][1]) {	/* same or adjacent pages: one hole */
		if (holes[1][1] > holes[0][1])
			holes[0][1] = holes[1][1];
		n = 1;
	}
	return n;
}

unsigned vfio_pci_msix_vectors(struct vfio_pci *v)
{
	return v->msix.off ? v->msix.nr : 0;
}

void vfio_pci_msix_free(struct vfio_pci *v)
{
	if (v->msix.vec)
		close_fds(&v->msix);
	free(v->msix.vec);
	v->msix.vec = NULL;
}
