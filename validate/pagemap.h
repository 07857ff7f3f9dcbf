/* /proc/PID/pagemap: the physical frame (PFN) behind each virtual page of a process. */
#ifndef DAXVM_VALIDATE_PAGEMAP_H
#define DAXVM_VALIDATE_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_SWAPPED (1ull << 62)
#define PAGEMAP_PFN_MASK ((1ull << 55) - 1)	/* zero unless CAP_SYS_ADMIN (Linux 4.2) */

static inline uint64_t pagemap_pfn(uint64_t entry)
{
	return entry & PAGEMAP_PFN_MASK;
}

/* Opens /proc/PID/pagemap (pid 0 or getpid(): this process); returns the fd or -errno with
 * a sentence. Another process's pagemap needs ptrace access to it (PTRACE_MODE_READ). */
int pagemap_open(pid_t pid, struct err *e);

/* Reads one entry per backing page for nr pages of page_size bytes starting at vaddr
 * (page aligned): for 4 KiB pages in large pread()s of consecutive entries; for large
 * pages one 8-byte pread() per page (its first 4 KiB). Returns 0 or -errno. */
int pagemap_read(int fd, uint64_t vaddr, uint64_t page_size, size_t nr, uint64_t *out,
		 struct err *e);

#endif
