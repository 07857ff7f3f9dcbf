/* Device-dax discovery: which /dev/daxX.Y exist, their size, alignment and physical ranges,
 * through libdaxctl with a sysfs (/sys/bus/dax/devices) fallback. */
#ifndef DAXVM_MEMORY_DAX_H
#define DAXVM_MEMORY_DAX_H

#include <stdint.h>

#include "common/err.h"
#include "memory/backing.h"

#define DAX_MAX_DEVICES 16

struct dax_info {
	char name[32];		/* "dax0.0" */
	char dev_path[64];	/* "/dev/dax0.0" */
	unsigned major, minor;	/* character device number */
	uint64_t size;		/* bytes */
	uint64_t align;		/* bytes: mmap address, offset and length must be multiples */
	struct backing_phys_range ranges[BACKING_MAX_RANGES];	/* physical, inclusive end */
	unsigned nr_ranges;
	const char *source;	/* "libdaxctl" or "sysfs": where the numbers came from */
};

/* Describes the device-dax character device at path. -ENODEV when path is a character
 * device that is not device-dax; -ENOENT/-EACCES from stat. */
int dax_info_by_path(const char *path, struct dax_info *info, struct err *e);

/* The same from sysfs alone (the fallback), so tests can compare it with libdaxctl. */
int dax_info_by_path_sysfs(const char *path, struct dax_info *info, struct err *e);

/* Lists the /dev paths of device-dax devices in devdax mode (libdaxctl iteration, then a
 * /dev/dax* glob when libdaxctl finds nothing), sorted by name. Returns how many (<= max). */
unsigned dax_list(char paths[][64], unsigned max);

/* Whether the machine shows any device-dax device (the dax bus, the older dax class, or a
 * /dev/dax node); dax_list loads libdaxctl only when it does. */
bool dax_any_device(void);

#endif
