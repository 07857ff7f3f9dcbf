/* The iommufd backend: an IO address space (IOAS) on /dev/iommu; the kernel pins on
 * IOMMU_IOAS_MAP (Linux 6.2). Debian 12's headers (6.1) lack linux/iommufd.h, so the
 * few definitions needed are declared here when the header is missing. */
#include "pinning/pin_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/size.h"

#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#else
#include <linux/ioctl.h>
#include <linux/types.h>
#define IOMMUFD_TYPE (';')
#define IOMMUFD_CMD_DESTROY 0x80
#define IOMMUFD_CMD_IOAS_ALLOC 0x81
#define IOMMUFD_CMD_IOAS_IOVA_RANGES 0x84
#define IOMMUFD_CMD_IOAS_MAP 0x85
#define IOMMUFD_CMD_IOAS_UNMAP 0x86
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_MAP_FIXED_IOVA (1 << 0)
#define IOMMU_IOAS_MAP_WRITEABLE (1 << 1)
#define IOMMU_IOAS_MAP_READABLE (1 << 2)
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)
#endif

struct iommufd_state {
	int fd;				/* /dev/iommu */
	uint32_t ioas;			/* IOAS object id */
	struct pin_info info;		/* IOVA ranges read at open */
};

static void read_ranges(struct iommufd_state *s)
{
	struct iommu_iova_range r[PIN_MAX_IOVA_RANGES];
	struct iommu_ioas_iova_ranges q = {
		.size = sizeof(q), .ioas_id = s->ioas, .num_iovas = PIN_MAX_IOVA_RANGES,
		.allowed_iovas = (uintptr_t)r,
	};

	s->info.pgsize_bitmap = 1ull << 12;
	if (ioctl(s->fd, IOMMU_IOAS_IOVA_RANGES, &q) && errno != EMSGSIZE) {
		/* No device attached yet: the IOAS accepts any IOVA. */
		s->info.iova_ranges[0].start = 0;
		s->info.iova_ranges[0].end = UINT64_MAX;
		s->info.nr_iova_ranges = 1;
		return;
	}
	if (q.out_iova_alignment)
		s->info.pgsize_bitmap = q.out_iova_alignment;
	for (uint32_t i = 0; i < q.num_iovas && i < PIN_MAX_IOVA_RANGES; i++) {
		s->info.iova_ranges[i].start = r[i].start;
		s->info.iova_ranges[i].end = r[i].last;
		s->info.nr_iova_ranges = i + 1;
	}
}

static int iommufd_open(struct pin_container *c, const struct pin_options *opt, struct err *e)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommufd_state *s;

	if (!pin_iommufd_present())
		return err_set(e, -ENODEV,
			       "iommufd is unavailable: /dev/iommu does not exist (Linux 6.2+ with "
			       "CONFIG_IOMMUFD); pin with io_uring or vfio instead");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(e, -ENOMEM, "out of memory allocating the iommufd backend");
	s->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (s->fd < 0) {
		int ret = -errno;

		free(s);
		return err_set(e, ret, "cannot open /dev/iommu: %s (run as root)", strerror(-ret));
	}
	if (ioctl(s->fd, IOMMU_IOAS_ALLOC, &alloc)) {
		int ret = -errno;

		close(s->fd);
		free(s);
		return err_set(e, ret, "IOMMU_IOAS_ALLOC failed: %s", strerror(-ret));
	}
	s->ioas = alloc.out_ioas_id;
	read_ranges(s);
	c->priv = s;
	c->max_mappings = 65535;
	return 0;
}

static void iommufd_close(struct pin_container *c)
{
	struct iommufd_state *s = c->priv;
	struct iommu_destroy d = { .size = sizeof(d), .id = s->ioas };

	/* Destroying the IOAS (or closing the fd) unmaps and unpins everything left. */
	ioctl(s->fd, IOMMU_DESTROY, &d);
	close(s->fd);
	free(s);
}

static int iommufd_map(struct pin_container *c, struct pin_mapping *m, struct err *e)
{
	struct iommufd_state *s = c->priv;
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
			 ((m->flags & PIN_DMA_READ) ? IOMMU_IOAS_MAP_READABLE : 0) |
			 ((m->flags & PIN_DMA_WRITE) ? IOMMU_IOAS_MAP_WRITEABLE : 0),
		.ioas_id = s->ioas,
		.user_va = m->vaddr,
		.length = m->size,
		.iova = m->iova,
	};
	char sz[32];

	if (ioctl(s->fd, IOMMU_IOAS_MAP, &map)) {
		int ret = -errno;

		if (ret == -ENOMEM)
			return pin_memlock_error(e, m->size, "iommufd");
		return err_set(e, ret, "IOMMU_IOAS_MAP of %s at iova 0x%" PRIx64 " failed: %s",
			       size_format(m->size, sz, sizeof(sz)), m->iova, strerror(-ret));
	}
	m->nr_slots = 1;
	c->used_slots++;
	return 0;
}

static int iommufd_unmap(struct pin_container *c, struct pin_mapping *m, struct err *e)
{
	struct iommufd_state *s = c->priv;
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = s->ioas, .iova = m->iova, .length = m->size,
	};

	if (ioctl(s->fd, IOMMU_IOAS_UNMAP, &unmap))
		return err_set(e, -errno, "IOMMU_IOAS_UNMAP at iova 0x%" PRIx64 " failed: %s", m->iova,
			       strerror(errno));
	c->used_slots--;
	return 0;
}

static void iommufd_info(struct pin_container *c, struct pin_info *info)
{
	struct iommufd_state *s = c->priv;

	info->pgsize_bitmap = s->info.pgsize_bitmap;
	info->nr_iova_ranges = s->info.nr_iova_ranges;
	memcpy(info->iova_ranges, s->info.iova_ranges, sizeof(info->iova_ranges));
}

const struct pin_backend_ops pin_iommufd_ops = {
	.open = iommufd_open,
	.close = iommufd_close,
	.map = iommufd_map,
	.unmap = iommufd_unmap,
	.info = iommufd_info,
};
