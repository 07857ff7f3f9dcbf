/* The vfio-pci device's state, shared by vfio_pci.c (config, BARs, INTx, MSI) and
 * vfio_pci_msix.c (the MSI-X capability, its trapped table and PBA). Not a public header. */
#ifndef DAXVM_DEVICES_VFIO_PCI_INTERNAL_H
#define DAXVM_DEVICES_VFIO_PCI_INTERNAL_H

#include "devices/vfio_pci.h"

#define VFIO_PCI_PAGE		4096u
#define PCI_CAP_ID_MSIX		0x11
#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_FMASK		0x4000
#define MSIX_ENTRY_BYTES	16
#define MSIX_ENTRY_MASKED	0x1	/* vector control bit 0 */

/* One MSI-X vector: the guest's table entry and what daxvm wired for it. */
struct vfio_pci_msix_vec {
	uint8_t entry[MSIX_ENTRY_BYTES];	/* address lo, hi, data, vector control (LE) */
	int fd;				/* VFIO's trigger eventfd while MSI-X is on, else -1 */
	unsigned gsi;			/* KVM route (0: none allocated yet) */
	bool irqfd;			/* the irqfd is assigned (vector live and unmasked) */
	bool refused;			/* its address is no interrupt (counted once per write) */
	uint64_t addr;			/* what the route says */
	uint32_t data;
};

struct vfio_pci_msix {
	uint8_t off;			/* capability offset in the model; 0 = not exposed */
	unsigned bar;			/* BAR of the table (the PBA's must be the same or another) */
	unsigned pba_bar;
	uint64_t table_off, pba_off;	/* byte offsets in their BARs */
	unsigned dev_nr;		/* the device's table size (all of it stays trapped) */
	unsigned nr;			/* vectors exposed (<= dev_nr, VFIO's count, VFIO_PCI_MSIX_MAX) */
	bool on;			/* SET_IRQS done, eventfds given to VFIO */
	struct vfio_pci_msix_vec *vec;	/* nr of them */
};

struct vfio_pci {
	struct pci_dev dev;
	const struct vfio_pci_dev_ops *ops;
	void *h;
	struct vfio_pci_host host;
	struct vfio_pci_region region[PCI_BARS];
	void *map[PCI_BARS];		/* mmapped BAR, or NULL (trapped) */
	/* Memslots of a BAR: the whole BAR, or the pieces around MSI-X table and PBA pages. */
	unsigned nr_slots[PCI_BARS];
	unsigned slot[PCI_BARS][VFIO_PCI_BAR_PIECES];
	uint8_t msi_off, msi_len;	/* MSI capability in the model; 0 = none */
	bool msi_64;
	bool msi_on;
	unsigned msi_gsi;
	uint64_t msi_addr;
	uint32_t msi_data;
	int msi_fd;
	struct vfio_pci_msix msix;
	bool intx_on;
	int intx_fd, intx_resample_fd;
	int reset_status;
	bool stopped;
	struct vfio_pci_counters n;
};

/* vfio_pci.c: the offset of capability id in a device's config space, 0 when absent. */
unsigned vfio_pci_find_cap(const uint8_t *cfg, uint8_t id);
/* vfio_pci.c: INTx goes off while MSI or MSI-X is on (VFIO allows one interrupt type). */
int vfio_pci_intx_enable(struct vfio_pci *v);
void vfio_pci_intx_disable(struct vfio_pci *v);

/* vfio_pci_msix.c */
/* Exposes the device's MSI-X capability (cfg: its config space) when its table and PBA fit
 * in memory BARs the model has; otherwise hides it and counts an msix_error. */
int vfio_pci_msix_add(struct vfio_pci *v, const uint8_t *cfg, struct err *e);
/* The guest wrote into the capability: enable and function-mask transitions. */
void vfio_pci_msix_ctrl_written(struct vfio_pci *v);
/* An access at off of BAR bar that falls in the table or PBA: served, true. Else false. */
bool vfio_pci_msix_access(struct vfio_pci *v, unsigned bar, uint64_t off, uint8_t *data, unsigned len,
			  bool is_write);
/* Page-aligned [start, end) byte ranges of BAR bar that must stay trapped (table, PBA):
 * fills up to 2, returns how many, sorted and merged. */
unsigned vfio_pci_msix_holes(const struct vfio_pci *v, unsigned bar, uint64_t bar_size, uint64_t holes[2][2]);
void vfio_pci_msix_disable(struct vfio_pci *v);
void vfio_pci_msix_free(struct vfio_pci *v);

#endif
