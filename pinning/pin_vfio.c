/* The vfio backend: a /dev/vfio/vfio container with the type1v2 IOMMU, attached through
 * the IOMMU group of the PCI device given by address. The kernel pins on VFIO_IOMMU_MAP_DMA.
 * The container owns the group; the device itself (its VFIO device fd) belongs to the
 * devices layer (devices/vfio_device.c), which opens it through pin_vfio_group_fd(). */
#include "pinning/pin_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <dirent.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/size.h"

struct vfio_group {
	int nr;				/* IOMMU group number */
	int fd;				/* /dev/vfio/N */
};

struct vfio_state {
	int container;			/* /dev/vfio/vfio */
	int group;			/* the first group's fd (groups[0].fd) */
	struct vfio_group groups[PIN_VFIO_MAX_DEVICES];
	unsigned nr_groups;
	struct pin_info info;		/* from VFIO_IOMMU_GET_INFO at open */
};

/* "DDDD:BB:DD.F", lower-case hex, as sysfs names PCI devices. */
bool pin_vfio_address_valid(const char *addr)
{
	static const char pat[] = "xxxx:xx:xx.x";

	if (!addr || strlen(addr) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; pat[i]; i++) {
		char ch = addr[i];

		if (pat[i] != 'x' ? ch != pat[i] : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
	}
	/* device 0..1f, function 0..7 */
	return strtoul(addr + 8, NULL, 16) <= 0x1f && addr[11] <= '7';
}

/* Reads VFIO_IOMMU_GET_INFO and its capability chain (IOVA ranges since 5.4, DMA avail 5.10). */
static int read_info(struct vfio_state *s, struct err *e)
{
	struct vfio_iommu_type1_info *info;
	uint32_t argsz = sizeof(*info);

	for (int pass = 0; pass < 2; pass++) {
		info = calloc(1, argsz);
		if (!info)
			return err_set(e, -ENOMEM, "out of memory reading the VFIO IOMMU info");
		info->argsz = argsz;
		if (ioctl(s->container, VFIO_IOMMU_GET_INFO, info)) {
			int ret = -errno;

			free(info);
			return err_set(e, ret, "VFIO_IOMMU_GET_INFO failed: %s", strerror(-ret));
		}
		if (info->argsz <= argsz)
			break;
		argsz = info->argsz;
		free(info);
		info = NULL;
	}
	if (!info)
		return err_set(e, -EIO, "VFIO_IOMMU_GET_INFO keeps growing its capability chain");
	s->info.pgsize_bitmap = (info->flags & VFIO_IOMMU_INFO_PGSIZES) ? info->iova_pgsizes : 4096;
	s->info.dma_avail = 65535;	/* type1's default dma_entry_limit */
	if ((info->flags & VFIO_IOMMU_INFO_CAPS) && info->cap_offset) {
		uint32_t off = info->cap_offset;

		while (off && off + sizeof(struct vfio_info_cap_header) <= info->argsz) {
			struct vfio_info_cap_header *h = (void *)((char *)info + off);

			if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
				struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;

				for (uint32_t i = 0; i < r->nr_iovas && i < PIN_MAX_IOVA_RANGES; i++) {
					s->info.iova_ranges[i].start = r->iova_ranges[i].start;
					s->info.iova_ranges[i].end = r->iova_ranges[i].end;
					s->info.nr_iova_ranges = i + 1;
				}
			} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
				s->info.dma_avail = ((struct vfio_iommu_type1_info_dma_avail *)h)->avail;
			}
			if (h->next <= off)
				break;
			off = h->next;
		}
	}
	free(info);
	return 0;
}

static int group_of(const char *addr, int *group, struct err *e)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	const char *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
	if (access(path, F_OK))
		return err_set(e, -ENODEV, "no PCI device %s (%s does not exist): check the address with lspci -D",
			       addr, path);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return err_set(e, -ENODEV,
			       "PCI device %s has no IOMMU group: enable an IOMMU (intel_iommu=on, or QEMU "
			       "-device intel-iommu) so VFIO can isolate it", addr);
	link[n] = 0;
	base = strrchr(link, '/');
	*group = atoi(base ? base + 1 : link);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	base = strrchr(link, '/');
	if (n <= 0 || strcmp(base ? base + 1 : link, "vfio-pci"))
		return err_set(e, -ENODEV,
			       "PCI device %s is bound to %s, not vfio-pci: echo vfio-pci > /sys/bus/pci/devices/%s/driver_override, "
			       "unbind it from its driver and echo %s > /sys/bus/pci/drivers_probe", addr,
			       n > 0 ? (base ? base + 1 : link) : "no driver", addr, addr);
	return 0;
}

/* The devices of IOMMU group nr not bound to vfio-pci, for the "not viable" message. */
static void group_unbound(int nr, char *out, size_t room)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct dirent *de;
	DIR *d;
	size_t used = 0;

	out[0] = 0;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices", nr);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		ssize_t n;
		const char *base;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices/%s/driver", nr, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = 0;
		base = strrchr(link, '/');
		/* Viable (drivers/vfio/group.c): vfio-pci, no driver, or the drivers VFIO allows. */
		if (n <= 0 || !strcmp(base ? base + 1 : link, "vfio-pci") || !strcmp(base ? base + 1 : link, "pci-stub") ||
		    !strcmp(base ? base + 1 : link, "pcieport"))
			continue;
		if (used + strlen(de->d_name) + 2 < room)
			used += (size_t)snprintf(out + used, room - used, "%s%s", used ? ", " : "", de->d_name);
	}
	closedir(d);
}

/* Opens the group of addr and puts it in the container (nothing when the group is already in;
 * the first group also sets the IOMMU type). */
static int attach_group(struct vfio_state *s, const char *addr, struct err *e)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64], unbound[256];
	int nr, fd, ret;

	if (!pin_vfio_address_valid(addr))
		return err_set(e, -EINVAL,
			       "'%s' is not a PCI address: give DDDD:BB:DD.F in lower-case hex, e.g. 0000:00:03.0",
			       addr ? addr : "");
	ret = group_of(addr, &nr, e);
	if (ret)
		return ret;
	for (unsigned i = 0; i < s->nr_groups; i++)
		if (s->groups[i].nr == nr)
			return 0;
	if (s->nr_groups == PIN_VFIO_MAX_DEVICES)
		return err_set(e, -ENOSPC, "at most %d IOMMU groups per container: %s is one too many",
			       PIN_VFIO_MAX_DEVICES, addr);
	snprintf(path, sizeof(path), "/dev/vfio/%d", nr);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == EBUSY)
		return err_set(e, -EBUSY, "IOMMU group %d of %s is in use (%s is open in another process, another VMM?): "
			       "stop that user first", nr, addr, path);
	if (fd < 0)
		return err_set(e, -errno,
			       "cannot open %s for %s: %s; bind the device to vfio-pci "
			       "(echo vfio-pci > /sys/bus/pci/devices/%s/driver_override)",
			       path, addr, strerror(errno), addr);
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) || !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		group_unbound(nr, unbound, sizeof(unbound));
		close(fd);
		return err_set(e, -EBUSY,
			       "IOMMU group %d of %s is not viable: bind every device of the group to vfio-pci%s%s",
			       nr, addr, unbound[0] ? " (not bound: " : "", unbound[0] ? unbound : "");
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &s->container) ||
	    (!s->nr_groups && ioctl(s->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))) {
		ret = err_set(e, -errno, "cannot attach IOMMU group %d to a type1v2 container: %s",
			      nr, strerror(errno));
		close(fd);
		return ret;
	}
	s->groups[s->nr_groups].nr = nr;
	s->groups[s->nr_groups].fd = fd;
	s->nr_groups++;
	s->group = s->groups[0].fd;
	return 0;
}

static void close_groups(struct vfio_state *s)
{
	for (unsigned i = s->nr_groups; i-- > 0;)
		close(s->groups[i].fd);
	s->nr_groups = 0;
}

static int vfio_open(struct pin_container *c, const struct pin_options *opt, struct err *e)
{
	struct vfio_state *s;
	int ret;

	if (!pin_vfio_address_valid(opt->vfio_device))
		return err_set(e, -EINVAL,
			       "'%s' is not a PCI address: give DDDD:BB:DD.F in lower-case hex, e.g. 0000:00:03.0",
			       opt->vfio_device ? opt->vfio_device : "");
	if (access("/dev/vfio/vfio", F_OK))
		return err_set(e, -ENODEV,
			       "VFIO is unavailable: /dev/vfio/vfio does not exist; load vfio-pci and "
			       "vfio_iommu_type1 (modprobe vfio-pci) or pin with io_uring");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(e, -ENOMEM, "out of memory allocating the vfio backend");
	s->group = -1;
	s->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (s->container < 0) {
		ret = err_set(e, -errno, "cannot open /dev/vfio/vfio: %s (run as root)", strerror(errno));
		goto fail;
	}
	if (ioctl(s->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(s->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		ret = err_set(e, -ENODEV,
			      "the VFIO container does not offer the type1v2 IOMMU: load vfio_iommu_type1");
		goto fail;
	}
	/* Every device's group joins the one container (kvmtool's order: groups, then SET_IOMMU
	 * with the first, then the DMA maps). */
	ret = attach_group(s, opt->vfio_device, e);
	for (unsigned i = 0; !ret && i < opt->nr_vfio_more; i++)
		ret = attach_group(s, opt->vfio_more[i], e);
	if (ret)
		goto fail;
	ret = read_info(s, e);
	if (ret)
		goto fail;
	c->priv = s;
	c->max_mappings = s->info.dma_avail;
	return 0;
fail:
	close_groups(s);
	if (s->container >= 0)
		close(s->container);
	free(s);
	return ret;
}

static void vfio_close(struct pin_container *c)
{
	struct vfio_state *s = c->priv;

	/* Closing the last fd of the container unmaps and unpins whatever is left (devices
	 * opened from the group must be closed first: they hold the group busy). */
	close_groups(s);
	close(s->container);
	free(s);
}

static int vfio_unmap_range(struct vfio_state *s, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap), .iova = iova, .size = size };

	return ioctl(s->container, VFIO_IOMMU_UNMAP_DMA, &unmap) ? -errno : 0;
}

/* One MAP_DMA per GiB, in turn. Not on several threads: type1 pins under the container's
 * lock (vfio_dma_do_map holds iommu->lock across vfio_pin_map_dma in the type1 sources read,
 * 5.x-6.x), so pieces mapped in parallel would only queue behind it. Pieces cost one ioctl per
 * GiB and give a long pin its progress line; one UNMAP_DMA over the mapping removes every
 * piece (type1v2 unmaps all entries inside a range). */
#define VFIO_PIECE (1ULL << 30)

static int vfio_map(struct pin_container *c, struct pin_mapping *m, struct err *e)
{
	struct vfio_state *s = c->priv;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = ((m->flags & PIN_DMA_READ) ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 ((m->flags & PIN_DMA_WRITE) ? VFIO_DMA_MAP_FLAG_WRITE : 0),
	};
	uint32_t pieces = pin_slots_for(m->size, VFIO_PIECE);
	uint64_t done = 0;
	struct timespec t0;
	char sz[32];

	if (c->used_slots + pieces > c->max_mappings)
		return err_set(e, -ENOSPC, "the VFIO container allows no more mappings (%zu in use, %u needed)",
			       c->used_slots, pieces);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < m->size) {
		map.vaddr = m->vaddr + done;
		map.iova = m->iova + done;
		map.size = m->size - done < VFIO_PIECE ? m->size - done : VFIO_PIECE;
		if (ioctl(s->container, VFIO_IOMMU_MAP_DMA, &map)) {
			int ret = -errno;

			if (done)
				vfio_unmap_range(s, m->iova, done);	/* the pieces before this one */
			if (ret == -ENOMEM)
				return pin_memlock_error(e, m->size, "VFIO");
			return err_set(e, ret, "VFIO_IOMMU_MAP_DMA of %s at iova 0x%" PRIx64 " failed: %s%s",
				       size_format(map.size, sz, sizeof(sz)), (uint64_t)map.iova, strerror(-ret),
				       ret == -EFAULT ? " (the memory cannot be pinned long-term: page cache on a "
							"disk filesystem is refused; use devdax, hugetlbfs, memfd or anon)" : "");
		}
		done += map.size;
		if (c->progress && pieces > 1)
			c->progress(done, m->size, pin_secs_since(&t0), c->progress_opaque);
	}
	m->nr_slots = pieces;
	c->used_slots += pieces;
	return 0;
}

static int vfio_unmap(struct pin_container *c, struct pin_mapping *m, struct err *e)
{
	struct vfio_state *s = c->priv;
	int ret = vfio_unmap_range(s, m->iova, m->size);

	if (ret)
		return err_set(e, ret, "VFIO_IOMMU_UNMAP_DMA at iova 0x%" PRIx64 " failed: %s", m->iova,
			       strerror(-ret));
	c->used_slots -= m->nr_slots;
	return 0;
}

static void vfio_info(struct pin_container *c, struct pin_info *info)
{
	struct vfio_state *s = c->priv;

	info->pgsize_bitmap = s->info.pgsize_bitmap;
	info->nr_iova_ranges = s->info.nr_iova_ranges;
	memcpy(info->iova_ranges, s->info.iova_ranges, sizeof(info->iova_ranges));
}

int pin_vfio_group_fd(struct pin_container *c)
{
	if (c->backend != PIN_VFIO)
		return -ENODEV;
	return ((struct vfio_state *)c->priv)->group;
}

int pin_vfio_check_device(const char *addr, struct err *e)
{
	char unbound[256];
	int nr, ret;

	if (!pin_vfio_address_valid(addr))
		return err_set(e, -EINVAL,
			       "'%s' is not a PCI address: give DDDD:BB:DD.F in lower-case hex, e.g. 0000:00:03.0",
			       addr ? addr : "");
	if (access("/dev/vfio/vfio", F_OK))
		return err_set(e, -ENODEV,
			       "VFIO is unavailable: /dev/vfio/vfio does not exist; load vfio-pci and "
			       "vfio_iommu_type1 (modprobe vfio-pci) and enable an IOMMU");
	ret = group_of(addr, &nr, e);
	if (ret)
		return ret;
	group_unbound(nr, unbound, sizeof(unbound));
	if (unbound[0])
		return err_set(e, -EBUSY,
			       "IOMMU group %d of %s also holds devices bound to other drivers (%s): bind every device "
			       "of the group to vfio-pci", nr, addr, unbound);
	return 0;
}

int pin_vfio_device_group_fd(struct pin_container *c, const char *addr)
{
	struct vfio_state *s;
	int nr;

	if (c->backend != PIN_VFIO)
		return -ENODEV;
	s = c->priv;
	if (!pin_vfio_address_valid(addr) || group_of(addr, &nr, NULL))
		return -ENODEV;
	for (unsigned i = 0; i < s->nr_groups; i++)
		if (s->groups[i].nr == nr)
			return s->groups[i].fd;
	return -ENOENT;
}

unsigned pin_vfio_group_numbers(struct pin_container *c, int *nrs, unsigned max)
{
	struct vfio_state *s;
	unsigned n = 0;

	if (c->backend != PIN_VFIO)
		return 0;
	s = c->priv;
	for (; n < s->nr_groups && n < max; n++)
		nrs[n] = s->groups[n].nr;
	return n;
}

const struct pin_backend_ops pin_vfio_ops = {
	.open = vfio_open,
	.close = vfio_close,
	.map = vfio_map,
	.unmap = vfio_unmap,
	.info = vfio_info,
};
