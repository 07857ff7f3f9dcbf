/* Helpers every backing opener shares (memory/backing_map.c); not a public interface. */
#ifndef DAXVM_MEMORY_BACKING_MAP_H
#define DAXVM_MEMORY_BACKING_MAP_H

#include "memory/backing.h"

/* Maps b->size bytes of b->fd (or anonymous memory when fd < 0) with backing_mmap_flags(b->kind)
 * at an address aligned to b->align; sets b->host and b->shared. */
int backing_map_aligned(struct backing *b, struct err *e);

/* Makes sure the hugetlb pool of page_size can back size bytes, growing it when allowed
 * (recorded in b->pool_restore), else fills e with the numbers and the fix. */
int backing_reserve_huge(struct backing *b, const struct backing_request *req, uint64_t size,
			 uint64_t page_size, struct err *e);

/* Gives back the hugetlb pages this backing added to the pool. */
void backing_restore_pool(struct backing *b);

#endif
