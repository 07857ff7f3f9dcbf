/* The x86 machine's guest-physical map: typed ranges (RAM, reserved, MMIO windows, device
 * windows, pmem). Memslots, the stress guest's page tables, a Linux e820 table and the
 * pinning layer's regions are all built from it. */
#ifndef DAXVM_VMM_MACHINE_H
#define DAXVM_VMM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* The PC layout: RAM below the 32-bit MMIO hole, the rest above 4 GiB. */
#define X86_MMIO_HOLE_START	(3ULL << 30)
#define X86_MMIO_HOLE_END	(4ULL << 30)
#define MACHINE_RAM_UNIT	(2ULL << 20)	/* RAM is placed in 2 MiB units (huge-page memslots) */
/* The highest guest-physical address daxvm places RAM below (the stress guest's page
 * directories cover this much). */
#define MACHINE_MAX_GPA		(240ULL << 30)
#define MACHINE_MAX_RANGES	16

enum machine_range_type {
	MACHINE_RAM,		/* guest RAM, backed by the run's backing */
	MACHINE_RESERVED,	/* neither RAM nor MMIO (e820 reserved) */
	MACHINE_MMIO,		/* a window devices may be placed in (the 32-bit hole) */
	MACHINE_DEVICE,		/* one device's registers, inside an MMIO window */
	MACHINE_PMEM,		/* persistent memory shown to the guest (e820 type 12) */
};

struct machine_range {
	uint64_t gpa;			/* guest-physical start, bytes */
	uint64_t size;			/* bytes */
	enum machine_range_type type;
	char label[24];			/* "ram-low", "dma-engine", ... */
};

struct machine_map {
	struct machine_range ranges[MACHINE_MAX_RANGES];	/* sorted by gpa */
	unsigned nr;
	uint64_t ram_bytes;		/* sum of the RAM ranges */
};

/* Lays out ram_bytes of RAM the PC way (below 3 GiB, the rest from 4 GiB) with the
 * 3-4 GiB MMIO window. ram_bytes: a non-zero multiple of MACHINE_RAM_UNIT and of align
 * (the backing's alignment; 0 = none), all of it below MACHINE_MAX_GPA. */
int machine_map_x86(uint64_t ram_bytes, uint64_t align, struct machine_map *m, struct err *e);

/* Adds a range. A MACHINE_DEVICE range must lie inside one MACHINE_MMIO window and overlap
 * no other device; any other type must overlap nothing. */
__attribute__((warn_unused_result))
int machine_map_add(struct machine_map *m, uint64_t gpa, uint64_t size,
		    enum machine_range_type type, const char *label, struct err *e);

/* The range of that type containing [gpa, gpa + len), or NULL. */
const struct machine_range *machine_map_find(const struct machine_map *m, uint64_t gpa,
					     uint64_t len, enum machine_range_type type);

/* The n-th range of a type in address order, or NULL. */
const struct machine_range *machine_map_nth(const struct machine_map *m,
					    enum machine_range_type type, unsigned n);

/* Guest-physical address of RAM byte number lin when the RAM ranges are laid end to end. */
uint64_t machine_map_ram_linear_to_gpa(const struct machine_map *m, uint64_t lin);

const char *machine_range_type_name(enum machine_range_type type);

#endif
