/* Guest-RAM backings: open by spec (a path, memfd, memfd-huge, anon, or auto), the memfd
 * and anon kinds, and teardown. Path backings (devdax, hugetlbfs, tmpfs) are in
 * backing_file.c; rules and mapping helpers in backing_map.c. */
#include "memory/backing.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/size.h"
#include "memory/backing_file.h"
#include "memory/backing_map.h"
#include "memory/dax.h"
#include "memory/hugepool.h"

#define BACKING_SMALL_PAGE 4096ULL
#define BACKING_HUGE_PAGE (2ULL << 20)

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)	/* log2(2 MiB) << MFD_HUGE_SHIFT, Linux 4.14 */
#endif

static int backing_open_memfd(const struct backing_request *req, struct backing *b, bool huge,
			      struct err *e)
{
	uint64_t size = req->size ? req->size : backing_default_size(BACKING_MEMFD, 0);
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
	ret = backing_map_aligned(b, e);
	if (ret < 0)
		goto fail;
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
	uint64_t size = req->size ? req->size : backing_default_size(BACKING_ANON, 0);
	int ret;

	b->kind = BACKING_ANON;
	snprintf(b->path, sizeof(b->path), "anon");
	b->page_size = BACKING_SMALL_PAGE;
	b->align = BACKING_SMALL_PAGE;
	ret = backing_check_size(size, b->align, b->path, e);
	if (ret < 0)
		return ret;
	b->size = size;
	return backing_map_aligned(b, e);
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
		if (b->guard_bytes) {
			munmap((uint8_t *)b->host - b->guard_bytes, b->guard_bytes);
			munmap((uint8_t *)b->host + b->size, b->guard_bytes);
			b->guard_bytes = 0;
		}
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
