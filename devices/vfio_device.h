/* A PCI device passed through with VFIO: its device fd, opened from the IOMMU group the
 * VM's pin container attached (pinning/ keeps the container and the group). */
#ifndef DAXVM_DEVICES_VFIO_DEVICE_H
#define DAXVM_DEVICES_VFIO_DEVICE_H

#include <stdbool.h>

#include "common/err.h"
#include "pinning/pin.h"

struct vfio_device {
	int fd;			/* VFIO_GROUP_GET_DEVICE_FD, -1 when closed */
	char addr[16];		/* "DDDD:BB:DD.F" */
	bool can_reset;		/* VFIO_DEVICE_FLAGS_RESET */
	unsigned num_regions, num_irqs;
};

/* Opens addr's device fd from the vfio container c (which attached addr's group). */
int vfio_device_open(struct pin_container *c, const char *addr, struct vfio_device *d,
		     struct err *e);
/* VFIO_DEVICE_RESET when the device supports it; -ENOTTY when it has no reset. */
int vfio_device_reset(struct vfio_device *d, struct err *e);
/* Closes the fd; before the container, whose group it holds busy. Safe on a closed device. */
void vfio_device_close(struct vfio_device *d);

#endif
