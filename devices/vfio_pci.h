/* A passed-through PCI function on daxvm's bus 0: the device's own config space (read from the
 * VFIO config region) behind daxvm's model, with BARs, the expansion ROM, MSI and MSI-X virtualised;
 * BARs mapped into KVM memslots where the VFIO region may be mmapped, trapped and forwarded
 * otherwise, and moved when the guest reprograms them; INTx through VFIO eventfds into a KVM
 * irqfd with resample, MSI through a KVM GSI route and an irqfd, MSI-X with its table and PBA
 * trapped (the rest of their BAR in memslots), one KVM route + irqfd per unmasked vector
 * (vfio_pci_msix.c). The device is reached only through struct vfio_pci_dev_ops (the real VFIO
 * device fd, or a mock in tests), and the VMM only through struct vfio_pci_host (memslots,
 * irqfds, MSI routes). */
#ifndef DAXVM_DEVICES_VFIO_PCI_H
#define DAXVM_DEVICES_VFIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/pci_bus.h"

/* VFIO's PCI region and IRQ indexes (linux/vfio.h): regions 0-5 BARs, 6 ROM, 7 config. */
#define VFIO_PCI_CFG_REGION	7
#define VFIO_PCI_IRQ_INTX	0
#define VFIO_PCI_IRQ_MSI	1
#define VFIO_PCI_IRQ_MSIX	2
#define VFIO_PCI_MSIX_MAX	64	/* vectors exposed at most (the table size is shrunk to it) */
#define VFIO_PCI_BAR_PIECES	3	/* memslots per BAR: around the MSI-X table and PBA pages */

struct vfio_pci_region {
	uint64_t size;			/* bytes; 0 = the region does not exist */
	bool mmap_ok;			/* VFIO_REGION_INFO_FLAG_MMAP */
};

/* The device side; h is the ops' own handle. All return 0 or -errno. */
struct vfio_pci_dev_ops {
	int (*region_info)(void *h, unsigned index, struct vfio_pci_region *r);
	int (*region_rw)(void *h, unsigned index, uint64_t off, void *buf, unsigned len, bool is_write);
	/* Maps the whole region shared; NULL (errno set) when it cannot. May be NULL itself. */
	void *(*region_mmap)(void *h, unsigned index, uint64_t size);
	void (*region_munmap)(void *h, void *p, uint64_t size);
	/* VFIO_DEVICE_SET_IRQS: fds (count of them) as DATA_EVENTFD with action ACTION_TRIGGER or,
	 * for INTx, ACTION_UNMASK; count 0 and fds NULL: DATA_NONE (disable). */
	int (*irq_set)(void *h, unsigned index, bool unmask, unsigned count, const int32_t *fds);
	int (*irq_count)(void *h, unsigned index, unsigned *count);
	int (*reset)(void *h);		/* -ENOTTY when the device has no reset */
};

/* The VMM side (KVM). opaque is the host's handle. All return 0 or -errno. */
struct vfio_pci_host {
	void *opaque;
	/* A memslot of [gpa, gpa+size) backed by host; *slot receives its handle. */
	int (*mem_map)(void *opaque, uint64_t gpa, uint64_t size, void *host, unsigned *slot);
	int (*mem_unmap)(void *opaque, unsigned slot);
	/* KVM_IRQFD: fd raises gsi; resample_fd (>= 0) is signalled on the guest's EOI (level). */
	int (*irqfd)(void *opaque, unsigned gsi, int fd, int resample_fd, bool assign);
	/* A KVM MSI route: *gsi = 0 allocates one, else updates it. */
	int (*msi_route)(void *opaque, unsigned *gsi, uint64_t addr, uint32_t data);
};

struct vfio_pci_counters {
	uint64_t trapped_reads, trapped_writes;	/* BAR accesses forwarded with pread/pwrite */
	uint64_t msi_enables;		/* times the guest turned MSI on */
	uint64_t msi_errors;		/* MSI programming daxvm refused (vectors out of range) */
	uint64_t msix_enables;		/* times the guest turned MSI-X on */
	uint64_t msix_errors;		/* MSI-X refused: an unusable capability, MSI and MSI-X at once */
	uint64_t msix_route_updates;	/* a live vector's address/data rewritten (route followed) */
	uint64_t msix_table_accesses;	/* trapped table and PBA accesses */
	uint64_t irq_errors;		/* SET_IRQS or irqfd calls that failed at run time */
	uint64_t bar_mmapped;		/* BARs served from a memslot at their current place */
};

struct vfio_pci;

/* Resets the device (when it can), reads its config space and regions, and builds the
 * model: type-0 header with the device's IDs and class, its BARs and ROM with their real
 * sizes, MSI and MSI-X kept from the capability list (others hidden). -EINVAL / -ENODEV naming what is
 * unsupported (a bridge, a BAR that is not a power of two). name is for messages. */
int vfio_pci_create(const char *name, const struct vfio_pci_dev_ops *ops, void *h,
		    const struct vfio_pci_host *host, struct vfio_pci **out, struct err *e);
/* The model the bus holds (for pci_bus_add). */
struct pci_dev *vfio_pci_dev(struct vfio_pci *v);
/* After pci_bus_add (the IRQ line is known): INTx eventfds, the irqfd with resample, SET_IRQS. */
int vfio_pci_start(struct vfio_pci *v, struct err *e);
/* The teardown order's device part (vCPUs already stopped): clear bus mastering on the device,
 * reset it, turn its interrupts off, drop the irqfds and the BAR memslots. Fills what happened
 * for the report. Safe to call twice. */
struct vfio_pci_stop_info {
	bool master_at_stop;		/* the guest left bus mastering on */
	bool master_cleared;		/* COMMAND read back with bus master off */
	int reset;			/* 0 reset done, -ENOTTY no reset, else -errno */
	bool hazard;			/* master was on and neither reset nor clear is confirmed */
};
void vfio_pci_stop(struct vfio_pci *v, struct vfio_pci_stop_info *info);
void vfio_pci_destroy(struct vfio_pci *v);

void vfio_pci_get_counters(struct vfio_pci *v, struct vfio_pci_counters *out);
/* MSI-X vectors the guest is offered (0: the device has no usable MSI-X). */
unsigned vfio_pci_msix_vectors(struct vfio_pci *v);
/* The host mapping of BAR bar (what its memslot shows the guest), NULL when it is trapped. */
void *vfio_pci_bar_host(struct vfio_pci *v, unsigned bar);
/* Whether the device reset at create worked (0), was unsupported (-ENOTTY) or failed. */
int vfio_pci_reset_status(struct vfio_pci *v);

/* The real device: ops over a VFIO device fd (not owned). */
extern const struct vfio_pci_dev_ops vfio_pci_fd_ops;
struct vfio_pci_fd {
	int fd;
	struct { uint64_t offset, size; uint32_t flags; } region[9];	/* VFIO_DEVICE_GET_REGION_INFO */
};
/* Reads the region table of fd into f. */
int vfio_pci_fd_init(struct vfio_pci_fd *f, int fd, struct err *e);
/* Interrupts the host took for the device at addr ("DDDD:BB:DD.F") on VFIO's handlers
 * (/proc/interrupts lines "vfio-intx(ADDR)", "vfio-msi[N](ADDR)"): each one was forwarded to
 * the guest by an irqfd. -ENOENT when /proc/interrupts cannot be read. */
int64_t vfio_pci_host_irqs(const char *addr);
/* The same, over the lines that also name a handler containing NAME ("vfio-msi",
 * "vfio-msix[2](", ...). */
int64_t vfio_pci_host_irqs_named(const char *name, const char *addr);

#endif
