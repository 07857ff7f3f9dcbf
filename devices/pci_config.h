/* A PCI function's type-0 configuration space as the guest sees it: registers, writable masks
 * (read-only fields stay read-only), BARs with sizing (32/64-bit memory, I/O, expansion ROM), a
 * capability list. A write returns the BAR moves it implies (cloud-hypervisor's design): moves
 * are released only while COMMAND decodes the BAR's space, a 64-bit BAR is acted on when its
 * upper dword is written, size probes are not moves. The caller (devices/pci_bus.c) carries a
 * move out, or refuses it, and tells the model where the BAR decodes now. */
#ifndef DAXVM_DEVICES_PCI_CONFIG_H
#define DAXVM_DEVICES_PCI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define PCI_CFG_BYTES		256
#define PCI_CFG_HEADER_BYTES	0x40
#define PCI_BARS		7		/* BAR0-5 and the expansion ROM */
#define PCI_BAR_ROM		6		/* index of the expansion ROM in the BAR arrays */
#define PCI_ADDR_NONE		UINT64_MAX	/* a BAR that decodes nowhere */

/* Register offsets and bits (PCI Local Bus 3.0, chapter 6). */
#define PCI_CFG_VENDOR		0x00
#define PCI_CFG_DEVICE		0x02
#define PCI_CFG_COMMAND		0x04
#define PCI_CFG_STATUS		0x06
#define PCI_CFG_CLASS_REV	0x08		/* revision at 0x08, class code 0x09-0x0b */
#define PCI_CFG_HEADER_TYPE	0x0e
#define PCI_CFG_BAR0		0x10
#define PCI_CFG_SUBSYS		0x2c
#define PCI_CFG_ROM		0x30
#define PCI_CFG_CAP_PTR		0x34
#define PCI_CFG_INT_LINE	0x3c
#define PCI_CFG_INT_PIN		0x3d
#define PCI_CMD_IO		0x0001
#define PCI_CMD_MEM		0x0002
#define PCI_CMD_MASTER		0x0004
#define PCI_CMD_INTX_DISABLE	0x0400
#define PCI_STATUS_CAP_LIST	0x0010
#define PCI_ROM_ENABLE		0x1
#define PCI_CAP_ID_MSI		0x05

enum pci_bar_type {
	PCI_BAR_UNUSED,
	PCI_BAR_IO,		/* I/O space; size 4 bytes .. 64 KiB */
	PCI_BAR_MEM32,		/* memory below 4 GiB; size 16 bytes .. 2 GiB */
	PCI_BAR_MEM64,		/* memory anywhere; takes the next BAR slot for its upper dword */
	PCI_BAR_ROM_MEM,	/* the expansion ROM (index PCI_BAR_ROM); size 2 KiB .. 16 MiB */
};

/* One BAR's change of place. from/to: guest address (or port) where it decodes before/after,
 * PCI_ADDR_NONE for nowhere (to = NONE: decoding was turned off). */
struct pci_bar_move {
	unsigned bar;			/* 0-5, or PCI_BAR_ROM */
	enum pci_bar_type type;
	uint64_t from, to;
	uint64_t size;			/* bytes (or ports) */
};

struct pci_config {
	uint8_t regs[PCI_CFG_BYTES];	/* what a read returns */
	uint8_t wmask[PCI_CFG_BYTES];	/* bits a write may change */
	uint8_t w1c[PCI_CFG_BYTES];	/* bits a write of 1 clears (STATUS error bits) */
	enum pci_bar_type bar_type[PCI_BARS];
	uint64_t bar_size[PCI_BARS];	/* bytes, a power of two; 0 when unused */
	uint64_t active[PCI_BARS];	/* where the BAR decodes now (PCI_ADDR_NONE: nowhere) */
	uint64_t refused[PCI_BARS];	/* the last place the bus refused (not offered again) */
	bool hi_pending[PCI_BARS];	/* a 64-bit BAR's lower dword written, upper not yet */
	uint8_t cap_free;		/* first free byte for the next capability */
	uint8_t cap_last;		/* offset of the last capability (0: none) */
	uint64_t ro_writes;		/* writes that tried to change read-only bits */
};

/* A function with nothing decoded: IDs, class code (class << 8 | prog-if, e.g. 0x060000 for a
 * host bridge) and revision; no BARs, no capabilities, interrupt pin none. */
void pci_config_init(struct pci_config *c, uint16_t vendor, uint16_t device, uint32_t class_code,
		     uint8_t revision);
void pci_config_set_subsystem(struct pci_config *c, uint16_t vendor, uint16_t device);
/* INTA#..INTD# = 1..4 (0: none). The interrupt line register stays writable. */
void pci_config_set_int_pin(struct pci_config *c, uint8_t pin);

/* Declares BAR bar (0-5, or PCI_BAR_ROM with PCI_BAR_ROM_MEM) of size bytes, a power of two
 * within the type's limits; a 64-bit BAR also takes bar + 1. -EINVAL naming what is wrong. */
int pci_config_set_bar(struct pci_config *c, unsigned bar, enum pci_bar_type type, uint64_t size,
		       bool prefetchable, struct err *e);

/* Appends a capability: body[0] is its ID, body[1] (the next pointer) is filled here; wmask
 * gives the bits the guest may write (NULL: read-only). len 2..64 bytes. *off receives its
 * offset (dword-aligned, from 0x40). -ENOSPC when it does not fit. */
int pci_config_add_cap(struct pci_config *c, const uint8_t *body, const uint8_t *wmask,
		       unsigned len, uint8_t *off, struct err *e);

/* Little-endian value of len (1, 2 or 4) bytes at off; 0 outside the 256 bytes. */
uint32_t pci_config_read(const struct pci_config *c, unsigned off, unsigned len);

/* Applies a guest write of len (1, 2, 4) bytes at off within one dword; misaligned or
 * crossing writes are dropped (-EINVAL). Fills moves (room for PCI_BARS) with the BAR moves it
 * implies and returns how many (>= 0). The model does not move anything itself: the caller
 * calls pci_config_placed() for each move. */
int pci_config_write(struct pci_config *c, unsigned off, unsigned len, uint32_t value,
		     struct pci_bar_move *moves);

/* The bus's answer to a move: the BAR decodes at at (PCI_ADDR_NONE: nowhere). refused: the
 * guest's address was not accepted (it is not offered again until the guest changes it). */
void pci_config_placed(struct pci_config *c, const struct pci_bar_move *m, uint64_t at,
		       bool refused);

/* Where BAR bar's registers point now (the guest's programmed address), PCI_ADDR_NONE when
 * the BAR is unused. */
uint64_t pci_config_bar_addr(const struct pci_config *c, unsigned bar);
/* Programs BAR bar to addr (aligned to its size) as firmware would, with no move. */
void pci_config_set_bar_addr(struct pci_config *c, unsigned bar, uint64_t addr);

/* Which BAR index a register offset belongs to (the upper dword of a 64-bit BAR maps to the
 * BAR itself), or -1. */
int pci_config_bar_of(const struct pci_config *c, unsigned off);

#endif
