/* The rules of guest-RAM backings (names, sizes, mmap flags, pinnability) and the mapping
 * and hugetlb-pool helpers every opener shares. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/size.h"
#include "memory/backing_map.h"
#include "memory/hugepool.h"

#define BACKING_SMALL_PAGE 4096ULL

const char *backing_kind_name(enum backing_kind kind)
{
	switch (kind) {
	case BACKING_DEVDAX: return "devdax";
	case BACKING_HUGETLBFS: return "hugetlbfs";
	case BACKING_MEMFD: return "memfd";
	case BACKING_MEMFD_HUGE: return "memfd-huge";
	case BACKING_TMPFS: return "tmpfs";
	case BACKING_ANON: return "anon";
	case BACKING_PAGECACHE: return "pagecache";
	}
	return "unknown";
}

bool backing_longterm_pinnable(enum backing_kind kind)
{
	/* FOLL_LONGTERM on a shared writable page-cache mapping of a disk filesystem fails
	 * (-EFAULT, Linux 6.5; io_uring refused such buffers with -EOPNOTSUPP since 5.x). */
	return kind != BACKING_PAGECACHE;
}

int backing_check_size(uint64_t size, uint64_t align, const char *what, struct err *e)
{
	char s[32], a[32], lo[32], hi[32];
	uint64_t down, up;

	if (align == 0)
		align = BACKING_SMALL_PAGE;
	if (size > BACKING_MAX_SIZE)
		return err_set(e, -EINVAL, "guest RAM size %s is larger than the %s daxvm can map: ask for less guest RAM",
			       size_format(size, s, sizeof(s)),
			       size_format(BACKING_MAX_SIZE, a, sizeof(a)));
	if (size != 0 && size % align == 0)
		return 0;
	down = size / align * align;
	up = down + align;
	size_format(size, s, sizeof(s));
	size_format(align, a, sizeof(a));
	size_exact(up, hi, sizeof(hi));
	if (down == 0)
		return err_set(e, -EINVAL,
			       "guest RAM size %s (%" PRIu64 " bytes) is not a multiple of the %s alignment of %s: use %s",
			       s, size, a, what, hi);
	size_exact(down, lo, sizeof(lo));
	return err_set(e, -EINVAL,
		       "guest RAM size %s (%" PRIu64 " bytes) is not a multiple of the %s alignment of %s: use %s or %s",
		       s, size, a, what, lo, hi);
}


uint64_t backing_default_size(enum backing_kind kind, uint64_t own_size)
{
	(void)kind;
	/* A device or a file with content has a size of its own; anything else gets the default. */
	return own_size ? own_size : BACKING_DEFAULT_SIZE;
}

int backing_mmap_flags(enum backing_kind kind)
{
	switch (kind) {
	case BACKING_ANON:
		/* NORESERVE: a large guest must not be refused by overcommit accounting at open. */
		return MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	default:
		/* Shared: a private hugetlb/shmem mapping would copy-on-write away from the pinned
		 * pages, and device-dax refuses MAP_PRIVATE (-EINVAL). hugetlb reserves its pages
		 * at mmap, so a short pool fails now, not at fault. */
		return MAP_SHARED;
	}
}

int backing_map_aligned(struct backing *b, struct err *e)
{
	int flags = backing_mmap_flags(b->kind);
	int prot = PROT_READ | PROT_WRITE;
	uint64_t align = b->align > BACKING_SMALL_PAGE ? b->align : BACKING_SMALL_PAGE;
	uint64_t guard = BACKING_GUARD_BYTES, span = b->size + align + 2 * guard;
	uint8_t *reserve, *aligned;
	void *host;
	char human[32];

	size_format(b->size, human, sizeof(human));
	/* Reserve the mapping, its alignment and a PROT_NONE guard on each side, then place the
	 * mapping at the aligned address inside (every backing page maps with one page-table
	 * entry). The guards stay: a device access that strays past guest RAM faults there
	 * instead of reaching other host memory (backing_guard_check looks at them). */
	reserve = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (reserve == MAP_FAILED)
		return err_set(e, -errno, "cannot reserve %s of address space for %s: %s", human,
			       b->path, strerror(errno));
	aligned = (uint8_t *)(((uintptr_t)reserve + guard + align - 1) & ~(uintptr_t)(align - 1));
	host = mmap(aligned, b->size, prot, flags | MAP_FIXED, b->fd, b->offset);
	if (host == MAP_FAILED) {
		int ret = -errno;

		munmap(reserve, span);
		return err_set(e, ret, "cannot map %s of %s: %s", human, b->path, strerror(-ret));
	}
	if (aligned - guard > reserve)
		munmap(reserve, (size_t)(aligned - guard - reserve));
	if (reserve + span > aligned + b->size + guard)
		munmap(aligned + b->size + guard, (size_t)(reserve + span - (aligned + b->size + guard)));
	b->host = host;
	b->guard_bytes = guard;
	b->shared = flags & MAP_SHARED;
	return 0;
}

/* Whether [p, p + len) is one PROT_NONE mapping in /proc/self/maps. */
static bool guard_still_none(const uint8_t *p, uint64_t len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	bool ok = false;

	if (!f)
		return true;	/* cannot look: mincore below still checks residency */
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (lo <= (uintptr_t)p && (uintptr_t)p + len <= hi) {
			ok = perms[0] == '-' && perms[1] == '-' && perms[2] == '-';	/* no rwx */
			break;
		}
	}
	fclose(f);
	return ok;
}

int backing_guard_check(const struct backing *b, uint64_t *violations)
{
	uint64_t pages = b->guard_bytes / BACKING_SMALL_PAGE, bad = 0;
	unsigned char vec[BACKING_GUARD_BYTES / BACKING_SMALL_PAGE];
	const uint8_t *side[2];

	*violations = 0;
	if (!b->host || !b->guard_bytes)
		return -ENOENT;
	side[0] = (const uint8_t *)b->host - b->guard_bytes;
	side[1] = (const uint8_t *)b->host + b->size;
	for (int s = 0; s < 2; s++) {
		/* A guard page is intact while it is PROT_NONE and was never populated. */
		if (!guard_still_none(side[s], b->guard_bytes))
			bad += pages;
		else if (mincore((void *)side[s], b->guard_bytes, vec) == 0)
			for (uint64_t i = 0; i < pages; i++)
				bad += vec[i] & 1;
	}
	*violations = bad;
	return 0;
}

int backing_reserve_huge(struct backing *b, const struct backing_request *req, uint64_t size,
			 uint64_t page_size, struct err *e)
{
	struct hugepool_state st;
	long needed = (long)(size / page_size), restore;
	char page[32], path[128];
	int ret;

	ret = hugepool_query(page_size, &st, e);
	if (ret < 0)
		return ret;
	if (hugepool_available(&st) >= needed)
		return 0;
	size_format(page_size, page, sizeof(page));
	if (!req->may_grow_pool) {
		hugepool_control_path(page_size, path, sizeof(path));
		return err_set(e, -ENOMEM,
			       "%s needs %ld free %s hugepages, the pool has %ld free: echo %ld > %s (as root), let daxvm grow the pool for the run and give it back, or use the memfd backing",
			       backing_kind_name(b->kind), needed, page, hugepool_available(&st),
			       st.total + needed - hugepool_available(&st), path);
	}
	ret = hugepool_grow(page_size, needed, &restore, e);
	if (ret < 0)
		return ret;
	b->pool_restore = restore;
	b->huge_accounted = restore >= 0;
	return 0;
}

/* The hugetlb pool changed for this backing goes back to what it was. */
void backing_restore_pool(struct backing *b)
{
	if (b->huge_accounted)
		hugepool_restore(b->page_size, b->pool_restore);
	b->huge_accounted = false;
	b->pool_restore = -1;
}

