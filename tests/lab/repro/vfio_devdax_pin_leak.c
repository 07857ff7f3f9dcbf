/* Reproducer: VFIO type1 never releases the pins it takes on device-dax memory.
 *
 * Maps SIZE bytes of a device-dax device (MAP_SHARED) into a VFIO type1 container that holds the
 * IOMMU group of a PCI device bound to vfio-pci, unmaps it, closes everything, and prints the
 * system-wide FOLL_PIN counters (/proc/vmstat nr_foll_pin_acquired / nr_foll_pin_released, made
 * exact by writing /proc/sys/vm/stat_refresh first) after each step. On an affected kernel
 * VFIO_IOMMU_MAP_DMA acquires one pin per 4 KiB page and nothing ever releases them.
 *
 * Needs: root, a devdax device (ndctl create-namespace -m devdax), an IOMMU and any PCI device
 * bound to vfio-pci (the lab uses QEMU's edu device: echo vfio-pci > .../driver_override).
 * Build: cc -O2 -Wall -o vfio_devdax_pin_leak vfio_devdax_pin_leak.c
 * Usage: vfio_devdax_pin_leak PCI_BDF [/dev/daxX.Y [SIZE_MIB]]
 * Exit status: 0 every pin released, 1 pins leaked, 2 could not run.
 * Only libc and <linux/vfio.h>: nothing from daxvm. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#define IOVA (16ull << 20)	/* low: some devices (edu) have a 28-bit DMA mask */

static void die(const char *what)
{
	fprintf(stderr, "vfio_devdax_pin_leak: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* The counters are per-CPU deltas folded lazily: stat_refresh folds them so the read is exact. */
static void pins(uint64_t *acquired, uint64_t *released)
{
	char name[64];
	unsigned long long v;
	FILE *f;
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (fd < 0 || write(fd, "1", 1) != 1)
		die("write /proc/sys/vm/stat_refresh");
	close(fd);
	f = fopen("/proc/vmstat", "r");
	if (!f)
		die("/proc/vmstat");
	*acquired = *released = UINT64_MAX;
	while (fscanf(f, "%63s %llu", name, &v) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired"))
			*acquired = v;
		else if (!strcmp(name, "nr_foll_pin_released"))
			*released = v;
	}
	fclose(f);
	if (*acquired == UINT64_MAX || *released == UINT64_MAX) {
		errno = ENOENT;
		die("nr_foll_pin_* in /proc/vmstat");
	}
}

static void step(const char *what, uint64_t a0, uint64_t r0)
{
	uint64_t a, r;

	pins(&a, &r);
	printf("%-34s nr_foll_pin_acquired %+8" PRId64 "  nr_foll_pin_released %+8" PRId64
	       "  held %8" PRId64 "\n", what, (int64_t)(a - a0), (int64_t)(r - r0),
	       (int64_t)((a - a0) - (r - r0)));
}

int main(int argc, char **argv)
{
	const char *bdf = argc > 1 ? argv[1] : NULL, *dax = argc > 2 ? argv[2] : "/dev/dax0.0";
	uint64_t size = (argc > 3 ? strtoull(argv[3], NULL, 0) : 64) << 20;
	struct utsname u;
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	char link[256], path[320];
	uint64_t a0, r0, a1, r1, a2, r2, a3, r3;	/* before, mapped, unmapped, closed */
	int container, group, dax_fd;
	ssize_t n;
	void *mem;

	if (!bdf) {
		fprintf(stderr, "usage: vfio_devdax_pin_leak PCI_BDF [/dev/daxX.Y [SIZE_MIB]]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die(path);
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU)) {
		errno = ENOTSUP;
		die("VFIO type1v2");
	}
	group = open(path, O_RDWR);
	if (group < 0)
		die(path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		die("group not viable (bind every device of the group to vfio-pci)");
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU type1v2");

	dax_fd = open(dax, O_RDWR);
	if (dax_fd < 0)
		die(dax);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, dax_fd, 0);
	if (mem == MAP_FAILED)
		die("mmap devdax (size must be a multiple of the device alignment)");
	memset(mem, 0x5a, size);	/* fault the mapping in: GUP then only pins */

	uname(&u);
	printf("kernel %s, %s, %" PRIu64 " MiB (%" PRIu64 " pages of 4 KiB), device %s, %s\n",
	       u.release, dax, size >> 20, size >> 12, bdf, path);
	pins(&a0, &r0);
	map.vaddr = (uintptr_t)mem;
	map.iova = IOVA;
	map.size = size;
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		die("VFIO_IOMMU_MAP_DMA");
	step("after VFIO_IOMMU_MAP_DMA", a0, r0);
	pins(&a1, &r1);
	unmap.iova = IOVA;
	unmap.size = size;
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) || unmap.size != size)
		die("VFIO_IOMMU_UNMAP_DMA");
	step("after VFIO_IOMMU_UNMAP_DMA", a0, r0);
	pins(&a2, &r2);
	close(group);
	close(container);
	munmap(mem, size);
	close(dax_fd);
	step("after closing container and munmap", a0, r0);
	pins(&a3, &r3);
	printf("summary: map_dma_acquired=%" PRIu64 " unmap_released=%" PRIu64 " leaked_after_close=%" PRId64
	       " verdict=%s\n", a1 - a0, r2 - r1, (int64_t)((a3 - a0) - (r3 - r0)),
	       (a3 - a0) == (r3 - r0) ? "released" : "LEAK");
	return (a3 - a0) == (r3 - r0) ? 0 : 1;
}
