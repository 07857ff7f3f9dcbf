/* The pin container: backend choice, VFIO type1v2 map/unmap rules, IOVA bookkeeping and
 * the region visitor. Backends only pin and unpin; device DMA is in pin_dma.c. */
#include "pinning/pin_backend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/size.h"

#define PIN_MIN_PAGE 4096ull

static const struct {
	enum pin_backend b;
	const char *name;
} backend_names[] = {
	{ PIN_AUTO, "auto" },	      { PIN_NONE, "none" }, { PIN_MOCK, "mock" },
	{ PIN_IO_URING, "io_uring" }, { PIN_VFIO, "vfio" }, { PIN_IOMMUFD, "iommufd" },
};

const char *pin_backend_name(enum pin_backend b)
{
	for (size_t i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++)
		if (backend_names[i].b == b)
			return backend_names[i].name;
	return "unknown";
}

int pin_backend_parse(const char *name, enum pin_backend *out)
{
	for (size_t i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
		if (!strcmp(backend_names[i].name, name)) {
			*out = backend_names[i].b;
			return 0;
		}
	}
	if (!strcmp(name, "uring") || !strcmp(name, "io-uring")) {
		*out = PIN_IO_URING;
		return 0;
	}
	return -EINVAL;
}

bool pin_iommufd_present(void)
{
	return access("/dev/iommu", F_OK) == 0;
}

int pin_memlock_error(struct err *e, uint64_t bytes, const char *what)
{
	struct rlimit rl;
	char lim[32], amount[32];

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return err_set(e, -ENOMEM,
			       "%s could not pin %s: the kernel ran out of memory or memlock quota; "
			       "free memory or raise the memlock limit (ulimit -l)",
			       what, size_format(bytes, amount, sizeof(amount)));
	return err_set(e, -ENOMEM,
		       "memlock limit %s is below the %s to pin with %s: raise it with ulimit -l "
		       "(RLIMIT_MEMLOCK) or run as root with CAP_IPC_LOCK",
		       size_format(rl.rlim_cur, lim, sizeof(lim)),
		       size_format(bytes, amount, sizeof(amount)), what);
}

static const struct pin_backend_ops *ops_for(enum pin_backend b)
{
	switch (b) {
	case PIN_MOCK:
	case PIN_NONE:
		return &pin_mock_ops;
	case PIN_IO_URING:
		return &pin_uring_ops;
	case PIN_VFIO:
		return &pin_vfio_ops;
	case PIN_IOMMUFD:
		return &pin_iommufd_ops;
	default:
		return NULL;
	}
}

/* Index of the first mapping whose end is above iova (binary search). */
size_t pin_first_ending_after(const struct pin_container *c, uint64_t iova)
{
	size_t lo = 0, hi = c->nr_maps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pin_mapping *m = &c->maps[mid];

		if (m->iova + m->size <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct pin_mapping *pin_find_locked(struct pin_container *c, uint64_t iova)
{
	size_t i = pin_first_ending_after(c, iova);

	if (i < c->nr_maps && c->maps[i].iova <= iova)
		return &c->maps[i];
	return NULL;
}

int pin_container_open(const struct pin_options *opt, struct pin_container **out, struct err *e)
{
	struct pin_container *c;
	pthread_rwlockattr_t attr;
	int ret;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(e, -ENOMEM, "out of memory allocating the pin container");
	c->backend = opt->backend;
	switch (opt->backend) {
	case PIN_AUTO:
		if (opt->vfio_device) {
			c->backend = PIN_VFIO;
			snprintf(c->why, sizeof(c->why), "auto: a VFIO device (%s) was given",
				 opt->vfio_device);
		} else {
			/* Not iommufd even when /dev/iommu exists: an IOAS pins pages only while a
			 * device (domain) is attached, and without a device there is none. */
			c->backend = PIN_IO_URING;
			snprintf(c->why, sizeof(c->why), "auto: no VFIO device given%s; io_uring registered buffers pin on any Linux >= 5.19",
				 pin_iommufd_present() ? " (an iommufd IOAS pins nothing without an attached device)" : " and no /dev/iommu");
		}
		break;
	case PIN_NONE:
		snprintf(c->why, sizeof(c->why), "none asked for: nothing is pinned, device DMA is refused");
		break;
	case PIN_IOMMUFD:
		snprintf(c->why, sizeof(c->why),
			 "iommufd asked for (the IOAS pins pages only while a device is attached to it)");
		break;
	default:
		snprintf(c->why, sizeof(c->why), "%s asked for", pin_backend_name(opt->backend));
		break;
	}
	if (c->backend == PIN_VFIO && !opt->vfio_device) {
		free(c);
		return err_set(e, -EINVAL,
			       "the vfio backend needs a PCI device bound to vfio-pci (DDDD:BB:DD.F, e.g. 0000:00:03.0)");
	}
	c->ops = ops_for(c->backend);
	if (!c->ops) {
		free(c);
		return err_set(e, -EINVAL, "unknown pinning backend %d", (int)opt->backend);
	}
	pthread_rwlockattr_init(&attr);
	/* Device threads take the read side continuously; unmap must not starve. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = pthread_rwlock_init(&c->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (ret) {
		free(c);
		return err_set(e, -ret, "cannot initialise the pin container lock");
	}
	ret = c->ops->open(c, opt, e);
	if (ret) {
		pthread_rwlock_destroy(&c->lock);
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

enum pin_backend pin_container_backend(const struct pin_container *c)
{
	return c->backend;
}

const char *pin_container_why(const struct pin_container *c)
{
	return c->why;
}

static uint64_t folios_covered(uint64_t vaddr, uint64_t size, uint64_t page_size)
{
	uint64_t start = vaddr & ~(page_size - 1);
	uint64_t end = (vaddr + size + page_size - 1) & ~(page_size - 1);

	return (end - start) / page_size;
}

/* VFIO type1 pins PFN by PFN (vaddr_get_pfns), one pin per 4 KiB page whatever the folio
 * size; io_uring keeps one per folio (6.10+ coalescing), as does the mock. */
uint64_t pin_expected_pins(enum pin_backend b, uint64_t vaddr, uint64_t size, uint64_t page_size)
{
	if (!size)
		return 0;
	if (b == PIN_VFIO || page_size < PIN_MIN_PAGE)
		page_size = PIN_MIN_PAGE;
	return folios_covered(vaddr, size, page_size);
}

static uint64_t pins_held(const struct pin_container *c, const struct pin_mapping *m)
{
	return pin_expected_pins(c->backend, m->vaddr, m->size, m->page_size);
}

static void view_of(const struct pin_mapping *m, struct pin_mapping_view *v)
{
	v->iova = m->iova;
	v->vaddr = m->vaddr;
	v->size = m->size;
	v->page_size = m->page_size;
	v->flags = m->flags;
}

static bool iova_in_ranges(const struct pin_info *info, uint64_t iova, uint64_t size)
{
	if (!info->nr_iova_ranges)
		return true;
	for (unsigned i = 0; i < info->nr_iova_ranges; i++)
		if (iova >= info->iova_ranges[i].start && iova + size - 1 <= info->iova_ranges[i].end)
			return true;
	return false;
}

static int map_locked(struct pin_container *c, const struct pin_dma_map *map, struct err *e)
{
	struct pin_mapping m = { 0 };
	struct pin_info info = { 0 };
	uint64_t page_size = map->page_size ? map->page_size : PIN_MIN_PAGE;
	size_t at;
	int ret;

	if (!(map->flags & (PIN_DMA_READ | PIN_DMA_WRITE)) ||
	    (map->flags & ~(PIN_DMA_READ | PIN_DMA_WRITE)))
		return err_set(e, -EINVAL,
			       "map_dma flags 0x%x are invalid: give PIN_DMA_READ and/or PIN_DMA_WRITE",
			       map->flags);
	if (!map->size || ((map->size | map->iova | map->vaddr) & (PIN_MIN_PAGE - 1)))
		return err_set(e, -EINVAL,
			       "map_dma of size 0x%" PRIx64 " at iova 0x%" PRIx64 " (vaddr 0x%" PRIx64
			       ") is zero or not 4 KiB aligned: align size, iova and vaddr to 4 KiB",
			       map->size, map->iova, map->vaddr);
	if (page_size < PIN_MIN_PAGE || (page_size & (page_size - 1)))
		return err_set(e, -EINVAL,
			       "map_dma page_size %" PRIu64 " is not a power of two >= 4096", page_size);
	if (map->iova + map->size - 1 < map->iova || map->vaddr + map->size - 1 < map->vaddr)
		return err_set(e, -EINVAL, "map_dma range at iova 0x%" PRIx64 " wraps around", map->iova);
	c->ops->info(c, &info);
	if (!iova_in_ranges(&info, map->iova, map->size))
		return err_set(e, -EINVAL,
			       "iova range [0x%" PRIx64 ", 0x%" PRIx64 ") is outside the IOMMU's usable "
			       "IOVA ranges: choose an address inside them (see pin_get_info)",
			       map->iova, map->iova + map->size);
	at = pin_first_ending_after(c, map->iova);
	if (at < c->nr_maps && c->maps[at].iova < map->iova + map->size)
		return err_set(e, -EEXIST,
			       "iova range [0x%" PRIx64 ", 0x%" PRIx64 ") overlaps the mapping at 0x%" PRIx64
			       ": unmap it first or choose another iova",
			       map->iova, map->iova + map->size, c->maps[at].iova);
	m.iova = map->iova;
	m.vaddr = map->vaddr;
	m.size = map->size;
	m.page_size = page_size;
	m.flags = map->flags;
	if (c->nr_maps == c->cap_maps) {
		size_t cap = c->cap_maps ? c->cap_maps * 2 : 16;
		struct pin_mapping *n = realloc(c->maps, cap * sizeof(*n));

		if (!n)
			return err_set(e, -ENOMEM, "out of memory growing the mapping table");
		c->maps = n;
		c->cap_maps = cap;
	}
	ret = c->ops->map(c, &m, e);
	if (ret)
		return ret;
	memmove(&c->maps[at + 1], &c->maps[at], (c->nr_maps - at) * sizeof(*c->maps));
	c->maps[at] = m;
	c->nr_maps++;
	c->pinned_pages += pins_held(c, &m);
	c->pinned_bytes += m.size;
	return 0;
}

int pin_map_dma(struct pin_container *c, const struct pin_dma_map *map, struct err *e)
{
	int ret;

	pthread_rwlock_wrlock(&c->lock);
	ret = map_locked(c, map, e);
	pthread_rwlock_unlock(&c->lock);
	return ret;
}

/* Unmaps maps[first, last) which lie wholly inside the asked range. */
static int unmap_span_locked(struct pin_container *c, size_t first, size_t last,
			     uint64_t *unmapped, struct err *e)
{
	int ret = 0;
	size_t kept = first;

	for (size_t i = first; i < last; i++) {
		struct pin_mapping *m = &c->maps[i];
		struct pin_mapping_view v;
		int r;

		view_of(m, &v);
		if (c->unmap_hook)
			c->unmap_hook(&v, false, c->unmap_hook_opaque);
		r = c->ops->unmap(c, m, e);

		if (r) {
			/* Keep the bookkeeping of a mapping the backend still holds. */
			if (!ret)
				ret = r;
			c->maps[kept++] = *m;
			continue;
		}
		c->pinned_pages -= pins_held(c, m);
		c->pinned_bytes -= m->size;
		*unmapped += m->size;
		if (c->unmap_hook)
			c->unmap_hook(&v, true, c->unmap_hook_opaque);
	}
	if (c->nr_maps > last)
		memmove(&c->maps[kept], &c->maps[last], (c->nr_maps - last) * sizeof(*c->maps));
	c->nr_maps -= last - kept;
	return ret;
}

int pin_unmap_dma(struct pin_container *c, uint64_t iova, uint64_t size, uint64_t *unmapped,
		  struct err *e)
{
	uint64_t done = 0;
	size_t first, last;
	int ret = 0;

	if (unmapped)
		*unmapped = 0;
	if (!size || ((iova | size) & (PIN_MIN_PAGE - 1)))
		return err_set(e, -EINVAL,
			       "unmap_dma of size 0x%" PRIx64 " at iova 0x%" PRIx64
			       " is zero or not 4 KiB aligned", size, iova);
	if (iova + size - 1 < iova)
		return err_set(e, -EINVAL, "unmap_dma range at iova 0x%" PRIx64 " wraps around", iova);
	pthread_rwlock_wrlock(&c->lock);
	first = pin_first_ending_after(c, iova);
	if (first < c->nr_maps && c->maps[first].iova < iova) {
		ret = err_set(e, -EINVAL,
			      "unmap_dma at iova 0x%" PRIx64 " starts inside the mapping [0x%" PRIx64
			      ", 0x%" PRIx64 "): type1v2 unmaps whole mappings only",
			      iova, c->maps[first].iova, c->maps[first].iova + c->maps[first].size);
		goto out;
	}
	last = first;
	while (last < c->nr_maps && c->maps[last].iova <= iova + size - 1) {
		if (c->maps[last].iova + c->maps[last].size - 1 > iova + size - 1) {
			ret = err_set(e, -EINVAL,
				      "unmap_dma of [0x%" PRIx64 ", 0x%" PRIx64 ") ends inside the mapping "
				      "[0x%" PRIx64 ", 0x%" PRIx64 "): type1v2 unmaps whole mappings only",
				      iova, iova + size, c->maps[last].iova,
				      c->maps[last].iova + c->maps[last].size);
			goto out;
		}
		last++;
	}
	ret = unmap_span_locked(c, first, last, &done, e);
out:
	pthread_rwlock_unlock(&c->lock);
	if (unmapped)
		*unmapped = done;
	return ret;
}

int pin_unmap_all(struct pin_container *c, uint64_t *unmapped, struct err *e)
{
	uint64_t done = 0;
	int ret;

	pthread_rwlock_wrlock(&c->lock);
	ret = unmap_span_locked(c, 0, c->nr_maps, &done, e);
	pthread_rwlock_unlock(&c->lock);
	if (unmapped)
		*unmapped = done;
	return ret;
}

void pin_container_close(struct pin_container *c)
{
	if (!c)
		return;
	pin_unmap_all(c, NULL, NULL);
	c->ops->close(c);
	pthread_rwlock_destroy(&c->lock);
	free(c->maps);
	free(c);
}

int pin_get_info(struct pin_container *c, struct pin_info *info)
{
	memset(info, 0, sizeof(*info));
	pthread_rwlock_rdlock(&c->lock);
	c->ops->info(c, info);
	info->dma_avail = c->max_mappings > c->used_slots ? (unsigned)(c->max_mappings - c->used_slots) : 0;
	pthread_rwlock_unlock(&c->lock);
	return 0;
}

struct regions_ctx {
	struct pin_container *c;
	struct err *e;
};

static int map_one_region(const struct pin_region *r, void *data)
{
	struct regions_ctx *ctx = data;
	struct pin_dma_map m = {
		.vaddr = (uint64_t)(uintptr_t)r->host,
		.iova = r->gpa,
		.size = r->size,
		.flags = PIN_DMA_READ | PIN_DMA_WRITE,
		.page_size = r->page_size,
	};

	return pin_map_dma(ctx->c, &m, ctx->e);
}

int pin_map_regions(struct pin_container *c, pin_region_visitor visit, void *opaque,
		    struct err *e)
{
	struct regions_ctx ctx = { .c = c, .e = e };
	size_t before;
	int ret;

	pthread_rwlock_rdlock(&c->lock);
	before = c->nr_maps;
	pthread_rwlock_unlock(&c->lock);
	if (before)
		return err_set(e, -EBUSY, "pin_map_regions needs an empty container: unmap first");
	ret = visit(opaque, map_one_region, &ctx);
	if (ret) {
		pin_unmap_all(c, NULL, NULL);
		return ret < 0 ? ret : err_set(e, -EIO, "the region visitor stopped with %d", ret);
	}
	return 0;
}

int pin_for_each_mapping(struct pin_container *c,
			 int (*fn)(const struct pin_mapping_view *m, void *data), void *data)
{
	int ret = 0;

	pthread_rwlock_rdlock(&c->lock);
	for (size_t i = 0; i < c->nr_maps && !ret; i++) {
		struct pin_mapping_view v;

		view_of(&c->maps[i], &v);
		ret = fn(&v, data);
	}
	pthread_rwlock_unlock(&c->lock);
	return ret;
}

uint64_t pin_container_pinned_pages(struct pin_container *c)
{
	uint64_t n;

	pthread_rwlock_rdlock(&c->lock);
	n = c->pinned_pages;
	pthread_rwlock_unlock(&c->lock);
	return n;
}

uint64_t pin_container_pinned_bytes(struct pin_container *c)
{
	uint64_t n;

	pthread_rwlock_rdlock(&c->lock);
	n = c->pinned_bytes;
	pthread_rwlock_unlock(&c->lock);
	return n;
}

void pin_set_unmap_hook(struct pin_container *c, pin_unmap_hook fn, void *opaque)
{
	pthread_rwlock_wrlock(&c->lock);
	c->unmap_hook = fn;
	c->unmap_hook_opaque = opaque;
	pthread_rwlock_unlock(&c->lock);
}

void pin_container_set_parallel(struct pin_container *c, unsigned threads, pin_progress_fn fn,
				void *opaque)
{
	pthread_rwlock_wrlock(&c->lock);
	c->pin_threads = threads;
	c->progress = fn;
	c->progress_opaque = opaque;
	pthread_rwlock_unlock(&c->lock);
}

void pin_mock_fail_next_map(struct pin_container *c, int neg_errno)
{
	c->mock_fail_next = neg_errno;
}

void pin_mock_observe_dma(struct pin_container *c, pin_mock_dma_observer fn, void *opaque)
{
	pthread_rwlock_wrlock(&c->lock);
	c->mock_observer = fn;
	c->mock_observer_opaque = opaque;
	pthread_rwlock_unlock(&c->lock);
}
