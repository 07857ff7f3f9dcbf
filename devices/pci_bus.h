/* PCI bus 0: a host bridge (8086:0d57 at 00.0, so Linux's conf1 sanity check passes without
 * pci=conf1), configuration mechanism #1 on ports 0xCF8/0xCFC-0xCFF, devices in slots 1-31,
 * BAR placement in the machine's PCI windows, and the BAR moves config writes imply: refused
 * (and counted) when a BAR would land on RAM, outside its window or on another BAR; carried out
 * through the device's relocation callback otherwise. Trapped BAR accesses are routed here by
 * address (one bus range per window, so BARs can move while vCPUs run). */
#ifndef DAXVM_DEVICES_PCI_BUS_H
#define DAXVM_DEVICES_PCI_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/bus.h"
#include "devices/pci_config.h"

#define PCI_CONF1_ADDR_PORT	0xcf8
#define PCI_CONF1_DATA_PORT	0xcfc
#define PCI_SLOTS		32
#define PCI_MAX_RAM_RANGES	8
/* INTA# of slot s is wired to IOAPIC pin PCI_IRQ_BASE + (s % PCI_IRQ_COUNT): pins 16-23 are
 * the IOAPIC's PCI pins (active low, level). */
#define PCI_IRQ_BASE		16
#define PCI_IRQ_COUNT		8

struct pci_dev;

/* What a device does beyond the config model; every member may be NULL. Called with the bus
 * lock held, on vCPU threads (or the setup thread). */
struct pci_dev_ops {
	/* After the model applied a guest write (moves already carried out). */
	void (*cfg_written)(struct pci_dev *d, unsigned off, unsigned len, uint32_t value);
	/* Overrides a read of [off, off+len) (device-specific bytes outside the model's header and
	 * capabilities); return false to read the model. */
	bool (*cfg_read)(struct pci_dev *d, unsigned off, unsigned len, uint32_t *value);
	/* The relocation callback: BAR bar now decodes at to instead of from (either may be
	 * PCI_ADDR_NONE). 0, or -errno: the BAR then decodes nowhere. */
	int (*bar_move)(struct pci_dev *d, const struct pci_bar_move *m, struct err *e);
	/* A trapped access at offset off of BAR bar. 0 or -errno. */
	int (*bar_access)(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data, unsigned len,
			  bool is_write);
};

struct pci_dev {
	struct pci_config cfg;
	const struct pci_dev_ops *ops;
	void *opaque;			/* the device's own state */
	char name[32];			/* "vfio-pci 0000:00:03.0" */
	unsigned slot;			/* set by pci_bus_add */
	unsigned irq;			/* IOAPIC pin (= KVM GSI) of INTA#, set by pci_bus_add */
};

/* The guest-physical windows BARs go in and the RAM they must never cover. */
struct pci_bus_layout {
	uint64_t mmio_base, mmio_size;	/* memory BARs (inside the 32-bit hole) */
	uint64_t io_base, io_size;	/* I/O BARs (ports) */
	struct { uint64_t gpa, size; } ram[PCI_MAX_RAM_RANGES];
	unsigned nr_ram;
};

struct pci_bus_counters {
	uint64_t config_errors;		/* malformed config accesses + writes to read-only bits */
	uint64_t refused_moves;		/* BAR placements refused (RAM, another BAR, outside window) */
	uint64_t moves;			/* BAR placements carried out */
	uint64_t move_failures;		/* relocation callbacks that failed */
	uint64_t unclaimed;		/* window accesses no BAR decodes (read as all-ones) */
};

struct pci_bus;

int pci_bus_create(const struct pci_bus_layout *layout, struct pci_bus **out, struct err *e);
/* Frees the bus (not the devices, which their owners free after it). */
void pci_bus_destroy(struct pci_bus *pb);

/* Registers conf1's ports and the MMIO and I/O windows on io. Before vCPUs start. */
__attribute__((warn_unused_result))
int pci_bus_attach(struct pci_bus *pb, struct bus *io, struct err *e);

/* Puts d in the next free slot, wires INTA# (when its pin is set), places its BARs naturally
 * aligned in the windows (as firmware would), turns memory/I/O decode on and carries the
 * placements out through d->ops->bar_move. Before vCPUs start. */
__attribute__((warn_unused_result))
int pci_bus_add(struct pci_bus *pb, struct pci_dev *d, struct err *e);
/* Turns decode off for every device (BARs unmapped through bar_move): the first step of
 * removing the devices. */
void pci_bus_quiesce(struct pci_bus *pb);

/* Configuration access to bus 0 (what conf1 does once it has decoded the address). Reads of a
 * missing function return all-ones. */
uint32_t pci_bus_cfg_read(struct pci_bus *pb, unsigned slot, unsigned fn, unsigned off, unsigned len);
void pci_bus_cfg_write(struct pci_bus *pb, unsigned slot, unsigned fn, unsigned off, unsigned len,
		       uint32_t value);

/* The bus handlers (exposed for tests that drive the bus without KVM). */
int pci_bus_conf1_io(void *opaque, unsigned cpu, uint64_t port, uint8_t *data, unsigned len, bool is_write);

void pci_bus_get_counters(struct pci_bus *pb, struct pci_bus_counters *out);
/* Devices on the bus (the host bridge is slot 0), in slot order; NULL past the end. */
struct pci_dev *pci_bus_device(struct pci_bus *pb, unsigned slot);

#endif
