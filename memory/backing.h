/* Guest-RAM backings: device-dax, hugetlbfs, memfd(-huge), tmpfs, anonymous.
 * A backing is opened, mapped once, and remembers everything pinning and validation need. */
#ifndef DAXVM_MEMORY_BACKING_H
#define DAXVM_MEMORY_BACKING_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <signal.h>

#include "common/err.h"
#include "memory/populate.h"

enum backing_kind {
	BACKING_DEVDAX,		/* /dev/daxX.Y: MAP_SHARED, ZONE_DEVICE (devmap) pages */
	BACKING_HUGETLBFS,	/* a file on a hugetlbfs mount */
	BACKING_MEMFD,		/* memfd_create(): shmem */
	BACKING_MEMFD_HUGE,	/* memfd_create(MFD_HUGETLB): 2 MiB hugetlb pages */
	BACKING_TMPFS,		/* a file on tmpfs: shmem */
	BACKING_ANON,		/* MAP_PRIVATE|MAP_ANONYMOUS */
	BACKING_PAGECACHE,	/* a file on a disk filesystem: never long-term pinnable, refused */
};

#define BACKING_MAX_RANGES 16

/* A physical address range of a devdax device (sysfs mappingN/start,end; inclusive end). */
struct backing_phys_range {
	uint64_t start;
	uint64_t end;
};

struct backing_request {
	const char *spec;	/* a path, "memfd", "memfd-huge", "anon"; NULL = pick the best */
	uint64_t size;		/* bytes of guest RAM wanted; 0 = the device size (devdax) or a default */
	bool may_grow_pool;	/* as root, memfd-huge may grow the hugetlb pool for the run (restored at close) */
};

struct backing {
	enum backing_kind kind;
	char path[PATH_MAX];	/* device or file path; "memfd", "memfd-huge", "anon" otherwise */
	int fd;			/* -1 for anon */
	uint64_t offset;	/* file offset of the mapping, bytes */
	uint64_t size;		/* bytes mapped */
	uint64_t page_size;	/* bytes per backing page: 4 KiB, 2 MiB, or the devdax alignment */
	uint64_t align;		/* sizes and the mapping address are multiples of this, bytes */
	void *host;		/* the mapping, aligned to align */
	bool shared;		/* MAP_SHARED */
	bool devmap;		/* ZONE_DEVICE pages (devdax) */
	struct backing_phys_range ranges[BACKING_MAX_RANGES];	/* devdax physical ranges */
	unsigned nr_ranges;
	long pool_restore;	/* hugetlb pages this backing added to the pool (given back at close), -1 when untouched */
	char why[256];		/* why this backing (auto selection), for the report and summary */
	/* Added by the backing owner: */
	uint64_t file_size_before;	/* bytes of a tmpfs/hugetlbfs file before we sized it */
	bool file_created;	/* we created the file: unlinked at close */
	bool file_grown;	/* the file was empty and we sized it: truncated back at close */
	bool huge_accounted;	/* pool_restore refers to the pool of page_size */
	uint64_t guard_bytes;	/* PROT_NONE guard right before and right after the mapping, bytes */
};

/* The guard on each side of a backing's mapping: far bigger than any stray device access. */
#define BACKING_GUARD_BYTES (64ULL << 10)

/* Guard pages (both sides) that are no longer PROT_NONE or were ever populated: 0 while no
 * access strayed past guest RAM. -ENOENT when the backing has no mapping. */
int backing_guard_check(const struct backing *b, uint64_t *violations);

/* Guest RAM when the request gives no size and the backing has none of its own. */
#define BACKING_DEFAULT_SIZE (512ULL << 20)
/* Largest guest RAM accepted: far below the 128 TiB user address space, and no overflow
 * when the mapping adds its alignment. */
#define BACKING_MAX_SIZE (64ULL << 40)

/* Opens and maps the backing. On failure returns -errno with one sentence in e
 * (what is wrong and how to fix it) and leaves nothing behind: no fd, no mapping,
 * no hugetlb pool change. e must start empty (err_reset). On failure b->fd is -1, b->host
 * NULL, b->path holds the spec, and b->kind is BACKING_PAGECACHE when a disk file was refused
 * (otherwise the kind that was being opened, or 0 when the path was never identified). The mapping is not touched: memory is allocated by the guest's (or the
 * pinning's) first access, so a 5 GiB memfd or anon costs nothing at open. */
int backing_open(const struct backing_request *req, struct backing *b, struct err *e);

/* Unmaps, closes, and restores the hugetlb pool if it was grown. Safe on a zeroed or
 * already closed backing. */
void backing_close(struct backing *b);

/* Faults in the whole mapping on threads threads (0 = the CPU count) with the mechanism
 * that suits the kind (N threads of MADV_POPULATE_WRITE; devdax: none, the pin faults it
 * in). progress (may be NULL) is called about every 200 ms;
 * a non-zero *cancel stops it with -EINTR. 0 or -errno with one sentence in e. */
int backing_populate(const struct backing *b, unsigned threads, volatile sig_atomic_t *cancel,
		     populate_progress_fn progress, void *opaque, struct populate_result *res,
		     struct err *e);

const char *backing_kind_name(enum backing_kind kind);	/* "devdax", "memfd-huge", ... */
/* Guest RAM when none is asked: own_size (a device's or a file's) when non-zero, else the
 * default. The one place this is decided. */
uint64_t backing_default_size(enum backing_kind kind, uint64_t own_size);
/* mmap flags for a kind (MAP_SHARED for everything a device may DMA into through a file,
 * private for anon). The one place this is decided. */
int backing_mmap_flags(enum backing_kind kind);
bool backing_longterm_pinnable(enum backing_kind kind);

/* What auto selection (spec NULL) knows about the machine; a pure input so it can be
 * tested with made-up machines. */
struct backing_auto_facts {
	const char *devdax_first;	/* /dev path of the first devdax device, NULL when none */
	unsigned nr_devdax;		/* devdax devices found */
	uint64_t size;			/* requested bytes, 0 = default */
	uint64_t huge_page_size;	/* bytes per default hugepage (2 MiB), 0 when no hugetlb */
	long huge_available;		/* free minus reserved pages of that pool, <0 unknown */
};

/* Picks devdax if a device exists, else memfd-huge if the pool already has enough free
 * pages for the size (auto never grows the pool), else memfd. Writes the reason to why. */
enum backing_kind backing_auto_choose(const struct backing_auto_facts *f, char *why,
				      unsigned why_len);

/* Checks that size is a nonzero multiple of align; otherwise fills e with the size, the
 * alignment and the nearest valid sizes, naming what (e.g. "memfd-huge"), and returns -EINVAL. */
int backing_check_size(uint64_t size, uint64_t align, const char *what, struct err *e);

#endif
