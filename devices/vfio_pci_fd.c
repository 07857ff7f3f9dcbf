/* The real device behind struct vfio_pci_dev_ops: a VFIO device fd (regions by pread/pwrite and
 * mmap at the region's offset, interrupts by VFIO_DEVICE_SET_IRQS, VFIO_DEVICE_RESET). */
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/vfio_pci.h"

int vfio_pci_fd_init(struct vfio_pci_fd *f, int fd, struct err *e)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	for (unsigned i = 0; i < 9; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = i };

		if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &ri)) {
			if (i <= VFIO_PCI_CONFIG_REGION_INDEX)
				return err_set(e, -errno, "VFIO_DEVICE_GET_REGION_INFO %u failed: %s", i, strerror(errno));
			continue;
		}
		f->region[i].offset = ri.offset;
		f->region[i].size = ri.size;
		f->region[i].flags = ri.flags;
	}
	return 0;
}

static int fd_region_info(void *h, unsigned index, struct vfio_pci_region *r)
{
	struct vfio_pci_fd *f = h;

	if (index >= 9)
		return -EINVAL;
	r->size = f->region[index].size;
	r->mmap_ok = f->region[index].flags & VFIO_REGION_INFO_FLAG_MMAP;
	return 0;
}

static int fd_rw_once(struct vfio_pci_fd *f, unsigned index, uint64_t off, void *buf, unsigned len, bool is_write)
{
	off_t at = (off_t)(f->region[index].offset + off);
	ssize_t n = is_write ? pwrite(f->fd, buf, len, at) : pread(f->fd, buf, len, at);

	if (n < 0)
		return -errno;
	return (unsigned)n == len ? 0 : -EIO;
}

static int fd_region_rw(void *h, unsigned index, uint64_t off, void *buf, unsigned len, bool is_write)
{
	struct vfio_pci_fd *f = h;

	if (index >= 9 || off + len > f->region[index].size || off + len < off)
		return -EINVAL;
	/* BAR regions take 1, 2 and 4 byte accesses on every kernel; 8 bytes only on some (and
	 * only when the host can do 64-bit I/O): split them. */
	if (len == 8 && index <= VFIO_PCI_BAR5_REGION_INDEX) {
		int ret = fd_rw_once(f, index, off, buf, 4, is_write);

		return ret ? ret : fd_rw_once(f, index, off + 4, (uint8_t *)buf + 4, 4, is_write);
	}
	return fd_rw_once(f, index, off, buf, len, is_write);
}

static void *fd_region_mmap(void *h, unsigned index, uint64_t size)
{
	struct vfio_pci_fd *f = h;
	void *p;

	if (index >= 9 || !(f->region[index].flags & VFIO_REGION_INFO_FLAG_MMAP))
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, (off_t)f->region[index].offset);
	return p == MAP_FAILED ? NULL : p;
}

static void fd_region_munmap(void *h, void *p, uint64_t size)
{
	(void)h;
	munmap(p, size);
}

static int fd_irq_set(void *h, unsigned index, bool unmask, unsigned count, const int32_t *fds)
{
	struct vfio_pci_fd *f = h;
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
	struct vfio_irq_set *s = calloc(1, sz);
	int ret = 0;

	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->index = index;
	s->start = 0;
	s->count = count;
	s->flags = (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) |
		   (unmask ? VFIO_IRQ_SET_ACTION_UNMASK : VFIO_IRQ_SET_ACTION_TRIGGER);
	if (count)
		memcpy(s->data, fds, count * sizeof(int32_t));
	if (ioctl(f->fd, VFIO_DEVICE_SET_IRQS, s))
		ret = -errno;
	free(s);
	return ret;
}

static int fd_irq_count(void *h, unsigned index, unsigned *count)
{
	struct vfio_pci_fd *f = h;
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = index };

	if (ioctl(f->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii))
		return -errno;
	*count = ii.count;
	return 0;
}

static int fd_reset(void *h)
{
	struct vfio_pci_fd *f = h;
	struct vfio_device_info info = { .argsz = sizeof(info) };

	if (ioctl(f->fd, VFIO_DEVICE_GET_INFO, &info))
		return -errno;
	if (!(info.flags & VFIO_DEVICE_FLAGS_RESET))
		return -ENOTTY;
	return ioctl(f->fd, VFIO_DEVICE_RESET) ? -errno : 0;
}

const struct vfio_pci_dev_ops vfio_pci_fd_ops = {
	.region_info = fd_region_info,
	.region_rw = fd_region_rw,
	.region_mmap = fd_region_mmap,
	.region_munmap = fd_region_munmap,
	.irq_set = fd_irq_set,
	.irq_count = fd_irq_count,
	.reset = fd_reset,
};

int64_t vfio_pci_host_irqs(const char *addr)
{
	return vfio_pci_host_irqs_named("vfio", addr);
}

int64_t vfio_pci_host_irqs_named(const char *name, const char *addr)
{
	FILE *f = fopen("/proc/interrupts", "re");
	char line[4096];
	int64_t total = 0;

	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char *p = line;

		if (!strstr(line, name) || !strstr(line, addr))
			continue;
		p = strchr(line, ':');
		/* "IRQ:  count-cpu0  count-cpu1 ... chip hwirq name": sum the leading numbers */
		for (p = p ? p + 1 : line;;) {
			char *end;
			long long n = strtoll(p, &end, 10);

			if (end == p)
				break;
			total += n;
			p = end;
		}
	}
	fclose(f);
	return total;
}
