/* The pmem region of a Linux guest (run_config pmem_*): part of RAM's own backing (the same
 * devdax device or file, after guest RAM) or a backing of its own (a stand-in: memfd, a
 * tmpfs or hugetlbfs file), shown to the guest as e820 type 12 above RAM, given a memslot,
 * pinned and validated with RAM through the guest memory regions. */
#ifndef DAXVM_VMM_SESSION_PMEM_H
#define DAXVM_VMM_SESSION_PMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "memory/backing.h"
#include "vmm/guest_mem.h"
#include "vmm/machine.h"
#include "vmm/run_config.h"

#define PMEM_GPA_ALIGN (1ULL << 30)	/* the pmem range starts on a GiB above RAM and 4 GiB */

struct pmem_region {
	bool active;
	bool shares_ram;	/* a slice of RAM's backing (own unused) */
	struct backing own;	/* its own backing otherwise */
	uint64_t offset;	/* bytes into the backing's mapping */
	uint64_t size;		/* bytes */
	uint64_t gpa;		/* guest-physical start */
};

/* Pure: whether the pmem path names RAM's own backing (same path, resolved), and the size
 * RAM's backing must then be opened with (0: the whole device or file). */
bool pmem_shares_ram(const struct run_config *cfg);
int pmem_ram_request(const struct run_config *cfg, uint64_t *ram_request, struct err *e);

/* Pure: checks offset and size against the backing (its size and alignment) and RAM
 * (overlap when shared); fills p->offset and p->size. */
int pmem_place(const struct run_config *cfg, uint64_t backing_size, uint64_t align, bool shared,
	       struct pmem_region *p, struct err *e);

/* Opens its own backing when it does not share RAM's (ram is already open). */
int pmem_open(const struct run_config *cfg, const struct backing *ram, struct pmem_region *p,
	      struct err *e);
void pmem_close(struct pmem_region *p);

/* Adds the pmem range to the map (above RAM) and its region to guest memory. */
int pmem_layout(struct pmem_region *p, const struct backing *ram, struct machine_map *map,
		struct guest_mem *mem, struct err *e);

#endif
