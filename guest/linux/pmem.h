/* The pmem device under test (/dev/pmem0 from the guest's nd_e820/nd_pmem drivers): finding it,
 * and one pass of address-tagged patterns over a slice of it with O_DIRECT block I/O.
 *
 * Why O_DIRECT and not mmap: a raw block device has no DAX mmap (that needs a filesystem
 * mounted with -o dax), so an mmap of /dev/pmem0 goes through the page cache, and a verify would
 * read the page cache back, not the device. O_DIRECT moves every byte between the tool's
 * buffer and the persistent-memory range itself (the pmem driver copies straight to and from
 * its mapping of the range), and the verify reads after the whole slice was written, into a
 * buffer scrambled first, so each verified byte made the round trip through the device. */
#ifndef DAXVM_GUEST_LINUX_PMEM_H
#define DAXVM_GUEST_LINUX_PMEM_H

#include <stddef.h>
#include <stdint.h>

#include "params.h"
#include "pattern.h"

#define PMEM_CHUNK	(1u << 20)	/* bytes per O_DIRECT request */
#define PMEM_WAIT_MS	5000		/* how long a pmem device may take to appear */

/* Decides the device: none, the named one, or in auto mode /dev/pmem0 when the kernel's
 * resource map shows persistent memory (then it waits for the node) or the node exists.
 * Returns 0 with path[0] == 0 for none, 0 with the path and its size, or -errno with why. */
int pmem_find(const struct stress_params *p, char *path, size_t path_len, uint64_t *size,
	      char *why, size_t why_len);

/* What one pass over a slice found. */
struct pmem_pass {
	uint64_t verified;		/* bytes read back and compared */
	uint64_t mismatches;
	uint64_t errors;		/* failed or short reads and writes */
	int first_errno;
	int have_miss;
	uint64_t miss_offset;		/* device byte offset of the first mismatch */
	uint64_t miss_expected, miss_found;
};

/* Writes the pattern of `seed` over [off, off + len) of the device (fd opened O_DIRECT), then
 * reads it back and verifies it. buf: PMEM_CHUNK bytes, page aligned. progress (may be NULL)
 * is called with the bytes verified by each chunk. */
void pmem_pass_slice(int fd, uint64_t off, uint64_t len, uint64_t seed, void *buf,
		     void (*progress)(uint64_t bytes), struct pmem_pass *out);

#endif
