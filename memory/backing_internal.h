/* Helpers shared by the backing files (backing.c, backing_file.c); not a public interface. */
#ifndef DAXVM_MEMORY_BACKING_INTERNAL_H
#define DAXVM_MEMORY_BACKING_INTERNAL_H

#include "memory/backing.h"

/* Maps b->size bytes of b->fd (or anonymous memory when fd < 0) at an address aligned to
 * b->align, sets b->host. flags: MAP_SHARED or MAP_PRIVATE plus extras. */
int backing_map_aligned(struct backing *b, int flags, struct err *e);

/* Makes sure the hugetlb pool of page_size can back size bytes, growing it when allowed
 * (recorded in b->pool_restore), else fills e with the numbers and the fix. */
int backing_reserve_huge(struct backing *b, const struct backing_request *req, uint64_t size,
			 uint64_t page_size, struct err *e);

/* A spec that is a path: devdax, hugetlbfs, tmpfs, or a refused page-cache file. */
int backing_open_path(const struct backing_request *req, struct backing *b, struct err *e);

#endif
