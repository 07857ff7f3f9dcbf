/* Guest-RAM backings: dispatch on --mem, the memfd/memfd-huge/anon kinds, aligned mapping,
 * size rules and teardown. Path backings (devdax, hugetlbfs, tmpfs) are in backing_file.c. */
#include "memory/backing.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/size.h"
#include "memory/backing_internal.h"
#include "memory/dax.h"
#include "memory/hugepool.h"

#define BACKING_SMALL_PAGE 4096ULL
#define BACKING_HUGE_PAGE (2ULL << 20)

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)	/* log2(2 MiB) << MFD_HUGE_SHIFT, Linux 4.14 */
#endif

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

int backing_map_aligned(struct backing *b, int flags, struct err *e)
{
	int prot = PROT_READ | PROT_WRITE;
	uint64_t align = b->align > BACKING_SMALL_PAGE ? b->align : 0;
	uint8_t *reserve, *aligned;
	void *host;
	char human[32];

	size_format(b->size, human, sizeof(human));
	if (!align) {
		host = mmap(NULL, b->size, prot, flags, b->fd, b->offset);
		if (host == MAP_FAILED)
			return err_set(e, -errno, "cannot map %s of %s: %s", human, b->path,
				       strerror(errno));
		b->host = host;
		return 0;
	}
	/* Reserve size + align of address space, then place the mapping at the aligned
	 * address inside it, so every backing page maps with one page-table entry. */
	reserve = mmap(NULL, b->size + align, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (reserve == MAP_FAILED)
		return err_set(e, -errno, "cannot reserve %s of address space for %s: %s", human,
			       b->path, strerror(errno));
	aligned = (uint8_t *)(((uintptr_t)reserve + align - 1) & ~(uintptr_t)(align - 1));
	host = mmap(aligned, b->size, prot, flags | MAP_FIXED, b->fd, b->offset);
	if (host == MAP_FAILED) {
		int ret = -errno;

		munmap(reserve, b->size + align);
		return err_set(e, ret, "cannot map %s of %s: %s", human, b->path, strerror(-ret));
	}
	if (aligned > reserve)
		munmap(reserve, aligned - reserve);
	if (reserve + align > aligned)
		munmap(aligned + b->size, reserve + align - aligned);
	b->host = host;
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
static void backing_restore_pool(struct backing *b)
{
	if (b->huge_accounted)
		hugepool_restore(b->page_size, b->pool_restore);
	b->huge_accounted = false;
	b->pool_restore = -1;
}

static int backing_open_memfd(const struct backing_request *req, struct backing *b, bool huge,
			      struct err *e)
{
	uint64_t size = req->size ? req->size : BACKING_DEFAULT_SIZE;
	unsigned flags = MFD_CLOEXEC;
	int ret;

	b->kind = huge ? BACKING_MEMFD_HUGE : BACKING_MEMFD;
	snprintf(b->path, sizeof(b->path), "%s", backing_kind_name(b->kind));
	b->page_size = huge ? BACKING_HUGE_PAGE : BACKING_SMALL_PAGE;
	b->align = b->page_size;
	ret = backing_check_size(size, b->align, b->path, e);
	if (ret < 0)
		return ret;
	b->size = size;
	if (huge) {
		ret = backing_reserve_huge(b, req, size, b->page_size, e);
		if (ret < 0)
			return ret;
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;	/* MFD_HUGETLB: Linux 4.14 */
	}
	b->fd = memfd_create("daxvm-guest-ram", flags);
	if (b->fd < 0) {
		ret = err_set(e, -errno, "memfd_create(%s) failed: %s", b->path, strerror(errno));
		goto fail;
	}
	if (ftruncate(b->fd, (off_t)size) < 0) {
		char human[32];

		ret = err_set(e, -errno, "cannot size the %s to %s: %s", b->path,
			      size_format(size, human, sizeof(human)), strerror(errno));
		goto fail;
	}
	/* Shared: a private hugetlb/shmem mapping would copy-on-write away from the pinned pages.
	 * hugetlb reserves the pages here, at mmap, so a short pool fails now, not at fault. */
	ret = backing_map_aligned(b, MAP_SHARED, e);
	if (ret < 0)
		goto fail;
	b->shared = true;
	return 0;
fail:
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	backing_restore_pool(b);
	return ret;
}

static int backing_open_anon(const struct backing_request *req, struct backing *b,
			     struct err *e)
{
	uint64_t size = req->size ? req->size : BACKING_DEFAULT_SIZE;
	int ret;

	b->kind = BACKING_ANON;
	snprintf(b->path, sizeof(b->path), "anon");
	b->page_size = BACKING_SMALL_PAGE;
	b->align = BACKING_SMALL_PAGE;
	ret = backing_check_size(size, b->align, b->path, e);
	if (ret < 0)
		return ret;
	b->size = size;
	/* NORESERVE: a large guest must not be refused by overcommit accounting at open. */
	return backing_map_aligned(b, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, e);
}

static int backing_open_auto(const struct backing_request *req, struct backing *b,
			     struct err *e)
{
	char devs[DAX_MAX_DEVICES][64];
	struct backing_auto_facts facts = { .size = req->size, .huge_available = -1 };
	struct backing_request chosen = *req;
	struct hugepool_state st;
	char why[sizeof(b->why)];
	enum backing_kind kind;
	int ret;

	facts.nr_devdax = dax_list(devs, DAX_MAX_DEVICES);
	facts.devdax_first = facts.nr_devdax ? devs[0] : NULL;
	if (hugepool_query(BACKING_HUGE_PAGE, &st, NULL) == 0) {
		facts.huge_page_size = BACKING_HUGE_PAGE;
		facts.huge_available = hugepool_available(&st);
	}
	kind = backing_auto_choose(&facts, why, sizeof(why));
	chosen.may_grow_pool = false;	/* auto never changes the machine's pool */
	switch (kind) {
	case BACKING_DEVDAX:
		chosen.spec = devs[0];
		ret = backing_open_path(&chosen, b, e);
		break;
	case BACKING_MEMFD_HUGE:
		ret = backing_open_memfd(&chosen, b, true, e);
		break;
	default:
		ret = backing_open_memfd(&chosen, b, false, e);
		break;
	}
	snprintf(b->why, sizeof(b->why), "%s", why);
	return ret;
}

int backing_open(const struct backing_request *req, struct backing *b, struct err *e)
{
	int ret;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->pool_restore = -1;
	if (!req->spec || !*req->spec) {
		ret = backing_open_auto(req, b, e);
	} else {
		snprintf(b->why, sizeof(b->why), "%s requested", req->spec);
		if (strcmp(req->spec, "memfd") == 0)
			ret = backing_open_memfd(req, b, false, e);
		else if (strcmp(req->spec, "memfd-huge") == 0)
			ret = backing_open_memfd(req, b, true, e);
		else if (strcmp(req->spec, "anon") == 0)
			ret = backing_open_anon(req, b, e);
		else
			ret = backing_open_path(req, b, e);
	}
	if (ret < 0) {
		b->host = NULL;
		b->fd = -1;
	}
	return ret;
}

void backing_close(struct backing *b)
{
	/* An open backing always has a mapping; a zeroed or closed one has none, so its
	 * fd field (0 when zeroed) is never closed by mistake. */
	if (b->host) {
		munmap(b->host, b->size);
		if (b->fd >= 0) {
			/* A tmpfs/hugetlbfs file we sized from empty goes back to empty. */
			if (b->file_grown && !b->file_created)
				(void)!ftruncate(b->fd, (off_t)b->file_size_before);
			close(b->fd);
		}
		if (b->file_created)
			unlink(b->path);
	}
	b->host = NULL;
	b->fd = -1;
	b->file_created = false;
	b->file_grown = false;
	backing_restore_pool(b);
}
