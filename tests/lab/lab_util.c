/* Helpers shared by the pmem-lab check programs (see lab_util.h). */
#include "tests/lab/lab_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static int read_u64_file(const char *path, uint64_t *v)
{
	char buf[64];
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		ret = -EIO;
	else
		*v = strtoull(buf, NULL, 0);
	fclose(f);
	return ret;
}

int lab_dax_sysfs(const char *dev_path, struct lab_dax *d)
{
	char path[256];
	const char *base = strrchr(dev_path, '/');
	int ret;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", base ? base + 1 : dev_path);
	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/size", d->name);
	ret = read_u64_file(path, &d->size);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/align", d->name);
	ret = read_u64_file(path, &d->align);
	if (ret)
		return ret;
	for (unsigned i = 0; i < LAB_MAX_RANGES; i++) {
		snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/mapping%u/start", d->name, i);
		if (read_u64_file(path, &d->start[i]))
			break;
		snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/mapping%u/end", d->name, i);
		ret = read_u64_file(path, &d->end[i]);
		if (ret)
			return ret;
		d->nr_ranges = i + 1;
	}
	if (!d->nr_ranges) {
		/* Older kernels have no mappingN: the whole device is one range at "resource". */
		snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/resource", d->name);
		ret = read_u64_file(path, &d->start[0]);
		if (ret)
			return ret;
		d->end[0] = d->start[0] + d->size - 1;
		d->nr_ranges = 1;
	}
	return 0;
}

bool lab_dax_contains(const struct lab_dax *d, uint64_t phys)
{
	for (unsigned i = 0; i < d->nr_ranges; i++)
		if (phys >= d->start[i] && phys <= d->end[i])
			return true;
	return false;
}

int lab_pfn(const void *addr, uint64_t *pfn)
{
	uint64_t entry;
	long page = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, &entry, sizeof(entry), (off_t)((uintptr_t)addr / page * sizeof(entry)));
	close(fd);
	if (n != sizeof(entry))
		return n < 0 ? -errno : -EIO;
	/* PFNs read as 0 without CAP_SYS_ADMIN (Linux 4.2); the lab runs as root. */
	if (!(entry & (1ull << 63)))
		return -ENOENT;
	*pfn = entry & ((1ull << 55) - 1);
	return 0;
}

int lab_vmstat_pins(uint64_t *acquired, uint64_t *released)
{
	char name[64];
	unsigned long long v;
	int fd, found = 0;
	FILE *f;

	/* vm.stat_refresh (Linux 4.4) folds the per-CPU vmstat deltas into the global counters. */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* stat_refresh reports -EINVAL when a counter was negative; the fold happened. */
		}
		close(fd);
	}
	f = fopen("/proc/vmstat", "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %llu", name, &v) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired")) {
			*acquired = v;
			found++;
		} else if (!strcmp(name, "nr_foll_pin_released")) {
			*released = v;
			found++;
		}
	}
	fclose(f);
	return found == 2 ? 0 : -ENOENT;
}

long lab_status_kib(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			v = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

int lab_edu_find(char *bdf, unsigned len)
{
	DIR *dir = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	int ret = -ENODEV;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char path[300];
		uint64_t vendor = 0, device = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", de->d_name);
		if (read_u64_file(path, &vendor))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		if (read_u64_file(path, &device))
			continue;
		if (vendor == 0x1234 && device == 0x11e8) {
			snprintf(bdf, len, "%s", de->d_name);
			ret = 0;
			break;
		}
	}
	closedir(dir);
	return ret;
}

static int region_offset(int dev_fd, unsigned index, uint64_t *off, uint64_t *size)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(dev_fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return -errno;
	*off = ri.offset;
	if (size)
		*size = ri.size;
	return 0;
}

uint32_t lab_edu_read32(struct lab_edu *edu, uint64_t reg)
{
	uint32_t v = 0xffffffff;

	if (pread(edu->dev_fd, &v, sizeof(v), (off_t)(edu->bar0_off + reg)) != sizeof(v))
		return 0xffffffff;
	return v;
}

static int edu_write64(struct lab_edu *edu, uint64_t reg, uint64_t v)
{
	if (pwrite(edu->dev_fd, &v, sizeof(v), (off_t)(edu->bar0_off + reg)) != sizeof(v))
		return -errno;
	return 0;
}

int lab_edu_init(struct lab_edu *edu, int dev_fd)
{
	uint16_t cmd;
	int ret;

	edu->dev_fd = dev_fd;
	ret = region_offset(dev_fd, VFIO_PCI_BAR0_REGION_INDEX, &edu->bar0_off, &edu->bar0_size);
	if (ret)
		return ret;
	ret = region_offset(dev_fd, VFIO_PCI_CONFIG_REGION_INDEX, &edu->cfg_off, NULL);
	if (ret)
		return ret;
	/* vfio-pci (checked on 6.1) leaves bus mastering off: the device cannot DMA until we set it. */
	if (pread(dev_fd, &cmd, sizeof(cmd), (off_t)(edu->cfg_off + 4)) != sizeof(cmd))
		return -errno;
	cmd |= 0x6;	/* memory space + bus master */
	if (pwrite(dev_fd, &cmd, sizeof(cmd), (off_t)(edu->cfg_off + 4)) != sizeof(cmd))
		return -errno;
	/* Identification register: 0xRRrr00edu, major.minor version in the top bytes. */
	if ((lab_edu_read32(edu, 0) & 0xff) != 0xed)
		return -ENODEV;
	return 0;
}

int lab_edu_dma(struct lab_edu *edu, uint64_t iova, uint64_t buf_off, uint32_t len, bool to_device,
		unsigned timeout_ms)
{
	double deadline = lab_now_ms() + timeout_ms;
	int ret;

	if (len == 0 || len > LAB_EDU_MAX_XFER || buf_off + len > LAB_EDU_MAX_XFER)
		return -EINVAL;
	ret = edu_write64(edu, 0x80, to_device ? iova : LAB_EDU_BUF + buf_off);
	ret = ret ?: edu_write64(edu, 0x88, to_device ? LAB_EDU_BUF + buf_off : iova);
	ret = ret ?: edu_write64(edu, 0x90, len);
	ret = ret ?: edu_write64(edu, 0x98, to_device ? 0x1 : 0x3);
	if (ret)
		return ret;
	/* edu completes a transfer from a 100 ms timer; poll the run bit. */
	while (lab_edu_read32(edu, 0x98) & 0x1) {
		if (lab_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(2000);
	}
	return 0;
}

static uint8_t pattern_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = (i / 8) * 0x9e3779b97f4a7c15ull ^ seed;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return (uint8_t)(x >> ((i % 8) * 8));
}

void lab_pattern_fill(void *buf, uint64_t len, uint64_t seed, uint64_t stream_off)
{
	uint8_t *p = buf;

	for (uint64_t i = 0; i < len; i++)
		p[i] = pattern_byte(seed, stream_off + i);
}

int64_t lab_pattern_check(const void *buf, uint64_t len, uint64_t seed, uint64_t stream_off)
{
	const uint8_t *p = buf;

	for (uint64_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(seed, stream_off + i))
			return (int64_t)i;
	return -1;
}

double lab_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void lab_measure(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("MEASURE %s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

const char *lab_errno_name(int err)
{
	const char *n;

	if (err == 0)
		return "0";
	n = strerrorname_np(err < 0 ? -err : err);
	return n ? n : "EUNKNOWN";
}
