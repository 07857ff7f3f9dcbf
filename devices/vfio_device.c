/* A passed-through PCI device's VFIO device fd: open from the container's group, info, reset. */
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/vfio_device.h"

int vfio_device_open(struct pin_container *c, const char *addr, struct vfio_device *d,
		     struct err *e)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int group = pin_vfio_device_group_fd(c, addr);

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	if (!pin_vfio_address_valid(addr))
		return err_set(e, -EINVAL, "'%s' is not a PCI address: give DDDD:BB:DD.F in lower-case hex",
			       addr ? addr : "");
	if (group < 0)
		return err_set(e, -ENODEV, "the pin container has no VFIO group for %s: it needs the vfio backend with "
			       "that device's group attached", addr);
	snprintf(d->addr, sizeof(d->addr), "%s", addr);
	d->fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, addr);
	if (d->fd < 0)
		return err_set(e, -errno, "VFIO_GROUP_GET_DEVICE_FD for %s failed: %s (is it in the container's IOMMU group?)",
			       addr, strerror(errno));
	if (ioctl(d->fd, VFIO_DEVICE_GET_INFO, &info) == 0) {
		d->can_reset = info.flags & VFIO_DEVICE_FLAGS_RESET;
		d->num_regions = info.num_regions;
		d->num_irqs = info.num_irqs;
	}
	return 0;
}

int vfio_device_reset(struct vfio_device *d, struct err *e)
{
	if (!d->can_reset)
		return err_set(e, -ENOTTY, "%s has no reset mechanism VFIO can use", d->addr);
	if (ioctl(d->fd, VFIO_DEVICE_RESET))
		return err_set(e, -errno, "VFIO_DEVICE_RESET of %s failed: %s", d->addr, strerror(errno));
	return 0;
}

void vfio_device_close(struct vfio_device *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}
