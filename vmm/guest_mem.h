/* Guest memory: the RAM ranges of the machine map backed by the run's backing, one KVM
 * memslot per region, and host addresses for guest-physical ones. */
#ifndef DAXVM_VMM_GUEST_MEM_H
#define DAXVM_VMM_GUEST_MEM_H

#include <stdint.h>

#include "common/err.h"
#include "memory/backing.h"
#include "vmm/machine.h"

#define GUEST_MEM_MAX_REGIONS 3	/* RAM below and above the hole, and pmem */
#define GUEST_MEM_PAGE_BYTES MACHINE_RAM_UNIT	/* RAM comes in 2 MiB units */

struct guest_mem_region {
	uint64_t gpa;		/* guest-physical start, bytes */
	uint64_t size;		/* bytes */
	uint64_t backing_off;	/* offset of the region inside the backing's mapping, bytes */
	void *host;		/* host address of gpa (NULL until attached) */
	int fd;			/* backing fd, -1 for anonymous memory */
	uint64_t fd_offset;	/* file offset of gpa in fd, bytes */
	uint64_t page_size;	/* backing page size, bytes */
	uint32_t slot;		/* KVM memslot number */
};

struct guest_mem {
	uint64_t ram_bytes;	/* total guest RAM, bytes */
	unsigned nr_regions;
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	const struct backing *backing;	/* not owned; NULL until attached */
};

/* Pure: one region per RAM range of the map, laid end to end in the backing. */
int guest_mem_plan(const struct machine_map *map, struct guest_mem *gm, struct err *e);

/* Points the planned regions at the backing's mapping (fd, offsets, host addresses).
 * The backing must be at least ram_bytes large. */
int guest_mem_attach(struct guest_mem *gm, const struct backing *b, struct err *e);

/* After attach: a region that is not RAM (pmem) from another part of a backing: its own
 * memslot, pinned and validated like RAM; ram_bytes does not count it. */
int guest_mem_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *host, int fd,
			 uint64_t fd_offset, uint64_t page_size, struct err *e);

/* Registers one KVM memslot per region (KVM_SET_USER_MEMORY_REGION). */
int guest_mem_register(const struct guest_mem *gm, int vm_fd, struct err *e);

/* Calls fn for every region in guest-physical order; stops at and returns the first
 * non-zero result. */
typedef int (*guest_mem_region_fn)(const struct guest_mem_region *region, void *opaque);
int guest_mem_for_each_region(const struct guest_mem *gm, guest_mem_region_fn fn, void *opaque);

/* Host address of [gpa, gpa + len), or NULL when that range is not all inside one region. */
void *guest_mem_gpa_to_host(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Guest-physical address of the RAM byte at linear offset lin (0 .. ram_bytes). */
uint64_t guest_mem_linear_to_gpa(const struct guest_mem *gm, uint64_t lin);

#endif
