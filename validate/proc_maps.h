/* A process's mappings as /proc/PID/smaps lists them: address range, permissions, the file
 * behind each (device, memfd, hugetlbfs or tmpfs file, or none), the kernel page size and
 * whether the kernel locked it (mlock). inspect builds its target from these. */
#ifndef DAXVM_VALIDATE_PROC_MAPS_H
#define DAXVM_VALIDATE_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define PROC_VMA_PATH_MAX 256

struct proc_vma {
	uint64_t start, end;		/* [start, end) in the process's address space */
	uint64_t offset;		/* file offset, bytes */
	unsigned dev_major, dev_minor;	/* device of the file (0:1 shmem, ...) */
	uint64_t inode;
	bool read, write, shared;	/* permissions; shared: 's' (MAP_SHARED) */
	char path[PROC_VMA_PATH_MAX];	/* "/dev/dax0.0", "/memfd:name (deleted)", "" (anonymous) */
	bool deleted;			/* the path ended in " (deleted)" (removed from it here) */
	uint64_t kernel_page_size;	/* smaps KernelPageSize, bytes (devdax: the alignment) */
	uint64_t rss;			/* smaps Rss, bytes */
	bool locked;			/* VmFlags "lo": VM_LOCKED, counted in VmLck */
	bool io;			/* VmFlags "io" or "pf": device memory (BARs), not RAM */
};

struct proc_vmas {
	struct proc_vma *v;
	size_t n;
};

/* Parses smaps text (or maps text: then page size 4 KiB, not locked) into out (appends).
 * Returns 0 or -errno (-EINVAL with the line when it is not smaps). */
int proc_vmas_parse(const char *text, struct proc_vmas *out, struct err *e);

/* Reads /proc/PID/smaps. -ESRCH when the process is gone; -EACCES without ptrace read access. */
int proc_vmas_read(pid_t pid, struct proc_vmas *out, struct err *e);

void proc_vmas_free(struct proc_vmas *m);

/* The mapping that contains addr, or NULL. */
const struct proc_vma *proc_vmas_find(const struct proc_vmas *m, uint64_t addr);

/* Bytes of all VM_LOCKED mappings (what mlock adds to VmLck). */
uint64_t proc_vmas_locked_bytes(const struct proc_vmas *m);

/* Reads a whole /proc file (NUL bytes kept) into a malloc'd buffer; *len its length.
 * -errno with a sentence. */
int proc_read_file(const char *path, char **buf, size_t *len, struct err *e);

#endif
