/* The hugetlb page pool (/sys/kernel/mm/hugepages): query, grow for a run, restore. */
#ifndef DAXVM_MEMORY_HUGEPOOL_H
#define DAXVM_MEMORY_HUGEPOOL_H

#include <stdint.h>

#include "common/err.h"

struct hugepool_state {
	uint64_t page_size;	/* bytes per hugepage of this pool (2 MiB, 1 GiB) */
	long total;		/* nr_hugepages: pages in the persistent pool */
	long free;		/* free_hugepages: pages not yet used nor reserved */
	long reserved;		/* resv_hugepages: promised to mappings but not yet faulted in */
};

/* Reads the pool of page_size. -ENOENT when the kernel has no pool of that size. */
int hugepool_query(uint64_t page_size, struct hugepool_state *st, struct err *e);

/* Pages a mapping can still reserve: free minus reserved (never negative). */
long hugepool_available(const struct hugepool_state *st);

/* The system default hugepage size from /proc/meminfo (Hugepagesize), bytes; 0 if unknown. */
uint64_t hugepool_default_page_size(void);

/* The file to write to resize the pool of page_size, for error messages and for growing:
 * /proc/sys/vm/nr_hugepages for the default size, else the per-size sysfs file. */
void hugepool_control_path(uint64_t page_size, char *buf, unsigned len);

/* Grows the pool so that at least `needed` pages are available. Sets *restore_to to the
 * number of pages it added, for hugepool_restore() (-1 when nothing changed). If the kernel could not
 * allocate enough pages (fragmented memory) the pool is restored and -ENOMEM returned. */
int hugepool_grow(uint64_t page_size, long needed, long *restore_to, struct err *e);

/* Shrinks nr_hugepages by restore_to, the pages hugepool_grow() added (so concurrent runs
 * each give back only their own); no-op when restore_to <= 0. Returns 0 or -errno. */
int hugepool_restore(uint64_t page_size, long restore_to);

#endif
