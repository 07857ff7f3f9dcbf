/* Device-dax discovery through libdaxctl, falling back to sysfs when libdaxctl finds nothing
 * (for instance a kernel whose dax bus libdaxctl does not recognise) or is not installed.
 * libdaxctl is loaded with dlopen on the first lookup: only a devdax backing needs it. */
#include "memory/dax.h"
#include "common/dl_syms.h"

#include <daxctl/libdaxctl.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The libdaxctl calls used, resolved from libdaxctl.so.1 on the first devdax lookup (the
 * foreach macros of libdaxctl.h expand to the get_first/get_next pairs). */
static struct {
	int (*new_ctx)(struct daxctl_ctx **);
	struct daxctl_ctx *(*unref)(struct daxctl_ctx *);
	void (*set_log_fn)(struct daxctl_ctx *, void (*)(struct daxctl_ctx *, int, const char *, int,
							 const char *, const char *, va_list));
	struct daxctl_region *(*region_first)(struct daxctl_ctx *);
	struct daxctl_region *(*region_next)(struct daxctl_region *);
	unsigned long (*region_align)(struct daxctl_region *);
	struct daxctl_dev *(*dev_first)(struct daxctl_region *);
	struct daxctl_dev *(*dev_next)(struct daxctl_dev *);
	int (*dev_major)(struct daxctl_dev *);
	int (*dev_minor)(struct daxctl_dev *);
	const char *(*dev_devname)(struct daxctl_dev *);
	unsigned long long (*dev_size)(struct daxctl_dev *);
	unsigned long (*dev_align)(struct daxctl_dev *);
	unsigned long long (*dev_resource)(struct daxctl_dev *);
	struct daxctl_mapping *(*mapping_first)(struct daxctl_dev *);
	struct daxctl_mapping *(*mapping_next)(struct daxctl_mapping *);
	unsigned long long (*mapping_start)(struct daxctl_mapping *);
	unsigned long long (*mapping_end)(struct daxctl_mapping *);
} dx;
static bool dx_loaded;
static pthread_once_t dx_once = PTHREAD_ONCE_INIT;

static void dx_load(void)
{
	static const struct dl_lib lib = { "libdaxctl.so.1", "libdaxctl", "libdaxctl1", "libdaxctl 71" };
	const struct dl_sym syms[] = {
		{ "daxctl_new", (void **)&dx.new_ctx },
		{ "daxctl_unref", (void **)&dx.unref },
		{ "daxctl_set_log_fn", (void **)&dx.set_log_fn },
		{ "daxctl_region_get_first", (void **)&dx.region_first },
		{ "daxctl_region_get_next", (void **)&dx.region_next },
		{ "daxctl_region_get_align", (void **)&dx.region_align },
		{ "daxctl_dev_get_first", (void **)&dx.dev_first },
		{ "daxctl_dev_get_next", (void **)&dx.dev_next },
		{ "daxctl_dev_get_major", (void **)&dx.dev_major },
		{ "daxctl_dev_get_minor", (void **)&dx.dev_minor },
		{ "daxctl_dev_get_devname", (void **)&dx.dev_devname },
		{ "daxctl_dev_get_size", (void **)&dx.dev_size },
		{ "daxctl_dev_get_align", (void **)&dx.dev_align },
		{ "daxctl_dev_get_resource", (void **)&dx.dev_resource },
		{ "daxctl_mapping_get_first", (void **)&dx.mapping_first },
		{ "daxctl_mapping_get_next", (void **)&dx.mapping_next },
		{ "daxctl_mapping_get_start", (void **)&dx.mapping_start },
		{ "daxctl_mapping_get_end", (void **)&dx.mapping_end },
	};
	struct err e = { 0 };

	/* Without libdaxctl (or an old one) the sysfs reading below is the whole lookup. */
	dx_loaded = dl_syms_load(&lib, syms, sizeof(syms) / sizeof(syms[0]), &e) == 0;
}

/* libdaxctl logs to stderr by default; library code must not print. */
static void dax_log_quiet(struct daxctl_ctx *ctx, int priority, const char *file, int line,
			  const char *fn, const char *format, va_list args)
{
}

/* A libdaxctl context, or NULL when the library is missing or has no memory. */
static struct daxctl_ctx *dax_ctx_new(void)
{
	struct daxctl_ctx *ctx = NULL;

	pthread_once(&dx_once, dx_load);
	if (!dx_loaded || dx.new_ctx(&ctx) < 0)
		return NULL;
	dx.set_log_fn(ctx, dax_log_quiet);
	return ctx;
}

static int dax_from_libdaxctl(unsigned major, unsigned minor, struct dax_info *info)
{
	struct daxctl_ctx *ctx = dax_ctx_new();
	struct daxctl_region *region;
	struct daxctl_dev *dev;
	struct daxctl_mapping *mapping;
	int ret = -ENOENT;

	if (!ctx)
		return -ENOENT;
	for (region = dx.region_first(ctx); region; region = dx.region_next(region)) {
		for (dev = dx.dev_first(region); dev; dev = dx.dev_next(dev)) {
			if ((unsigned)dx.dev_major(dev) != major || (unsigned)dx.dev_minor(dev) != minor)
				continue;
			snprintf(info->name, sizeof(info->name), "%s", dx.dev_devname(dev));
			info->size = dx.dev_size(dev);
			info->align = dx.dev_align(dev);
			if (!info->align)	/* kernels before 5.10 have only the region's align */
				info->align = dx.region_align(region);
			info->nr_ranges = 0;
			for (mapping = dx.mapping_first(dev); mapping; mapping = dx.mapping_next(mapping)) {
				if (info->nr_ranges == BACKING_MAX_RANGES)
					break;
				info->ranges[info->nr_ranges].start = dx.mapping_start(mapping);
				info->ranges[info->nr_ranges].end = dx.mapping_end(mapping);
				info->nr_ranges++;
			}
			if (!info->nr_ranges && info->size && dx.dev_resource(dev) != ULLONG_MAX) {
				info->ranges[0].start = dx.dev_resource(dev);
				info->ranges[0].end = info->ranges[0].start + info->size - 1;
				info->nr_ranges = 1;
			}
			info->source = "libdaxctl";
			ret = 0;
			goto out;
		}
	}
out:
	dx.unref(ctx);
	return ret;
}

static int dax_sysfs_u64(const char *dir, const char *file, uint64_t *value)
{
	char path[PATH_MAX], text[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	text[n] = '\0';
	*value = strtoull(text, NULL, 0);	/* start/end/resource are "0x..." */
	return 0;
}

static int dax_from_sysfs(unsigned major, unsigned minor, struct dax_info *info)
{
	char dir[64], link[PATH_MAX], sub[96];
	const char *base;
	uint64_t resource;
	ssize_t n;

	snprintf(dir, sizeof(dir), "/sys/dev/char/%u:%u", major, minor);
	snprintf(sub, sizeof(sub), "%s/subsystem", dir);
	n = readlink(sub, link, sizeof(link) - 1);
	if (n < 0)
		return -ENODEV;
	link[n] = '\0';
	base = strrchr(link, '/');
	/* The device lives on the "dax" bus (4.x+ also has a "dax" class). */
	if (!base || strcmp(base + 1, "dax") != 0)
		return -ENODEV;
	n = readlink(dir, link, sizeof(link) - 1);
	if (n < 0)
		return -ENODEV;
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (strlen(base) >= sizeof(info->name))
		return -ENODEV;
	memcpy(info->name, base, strlen(base) + 1);
	if (dax_sysfs_u64(dir, "size", &info->size) < 0)
		return -ENODEV;
	if (dax_sysfs_u64(dir, "align", &info->align) < 0)	/* per device since 5.10 */
		dax_sysfs_u64(dir, "../dax_region/align", &info->align);
	info->nr_ranges = 0;
	for (unsigned i = 0; i < BACKING_MAX_RANGES; i++) {
		char file[32];
		struct backing_phys_range r;

		snprintf(file, sizeof(file), "mapping%u/start", i);
		if (dax_sysfs_u64(dir, file, &r.start) < 0)
			break;
		snprintf(file, sizeof(file), "mapping%u/end", i);
		if (dax_sysfs_u64(dir, file, &r.end) < 0)
			break;
		info->ranges[info->nr_ranges++] = r;
	}
	if (!info->nr_ranges && info->size && dax_sysfs_u64(dir, "resource", &resource) == 0) {
		info->ranges[0].start = resource;
		info->ranges[0].end = resource + info->size - 1;
		info->nr_ranges = 1;
	}
	info->source = "sysfs";
	return 0;
}

/* Both lookups share the checks; use_libdaxctl false reads sysfs only. */
static int dax_info_lookup(const char *path, bool use_libdaxctl, struct dax_info *info,
			   struct err *e)
{
	struct stat st;
	int ret = -ENOENT;

	memset(info, 0, sizeof(*info));
	if (stat(path, &st) < 0)
		return err_set(e, -errno, "cannot open the device-dax device %s: %s", path,
			       strerror(errno));
	if (!S_ISCHR(st.st_mode))
		return err_set(e, -ENODEV, "%s is not a character device, so not a device-dax device",
			       path);
	info->major = major(st.st_rdev);
	info->minor = minor(st.st_rdev);
	snprintf(info->dev_path, sizeof(info->dev_path), "%s", path);
	if (use_libdaxctl)
		ret = dax_from_libdaxctl(info->major, info->minor, info);
	if (ret < 0)
		ret = dax_from_sysfs(info->major, info->minor, info);
	if (ret < 0)
		return err_set(e, -ENODEV, "%s (char %u:%u) is not a device-dax device: give a /dev/daxX.Y in devdax mode (daxctl list), or the memfd backing",
			       path, info->major, info->minor);
	if (!info->size)
		return err_set(e, -ENODEV, "device-dax %s has size 0: give it capacity (daxctl create-device or ndctl create-namespace -m devdax)",
			       path);
	if (!info->align)
		info->align = 2ULL << 20;	/* the device-dax default alignment */
	return 0;
}

int dax_info_by_path(const char *path, struct dax_info *info, struct err *e)
{
	return dax_info_lookup(path, true, info, e);
}

int dax_info_by_path_sysfs(const char *path, struct dax_info *info, struct err *e)
{
	return dax_info_lookup(path, false, info, e);
}

static int dax_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

bool dax_any_device(void)
{
	static const char *const patterns[] = { "/sys/bus/dax/devices/*", "/sys/class/dax/*", "/dev/dax*" };
	bool any = false;

	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]) && !any; i++) {
		glob_t g;

		if (glob(patterns[i], 0, NULL, &g) == 0) {
			any = g.gl_pathc > 0;
			globfree(&g);
		}
	}
	return any;
}

unsigned dax_list(char paths[][64], unsigned max)
{
	struct daxctl_ctx *ctx;
	struct daxctl_region *region;
	struct daxctl_dev *dev;
	unsigned n = 0;
	glob_t g;

	if (!dax_any_device())
		return 0;
	ctx = dax_ctx_new();
	if (ctx) {
		for (region = dx.region_first(ctx); region; region = dx.region_next(region)) {
			for (dev = dx.dev_first(region); dev; dev = dx.dev_next(dev)) {
				char path[64];

				/* Only a device bound to device_dax has a /dev node (not system-ram). */
				snprintf(path, sizeof(path), "/dev/%s", dx.dev_devname(dev));
				if (n < max && dx.dev_size(dev) && access(path, F_OK) == 0)
					snprintf(paths[n++], 64, "%s", path);
			}
		}
		dx.unref(ctx);
	}
	if (n == 0 && glob("/dev/dax*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc && n < max; i++) {
			struct stat st;

			if (stat(g.gl_pathv[i], &st) == 0 && S_ISCHR(st.st_mode))
				snprintf(paths[n++], 64, "%s", g.gl_pathv[i]);
		}
		globfree(&g);
	}
	qsort(paths, n, 64, dax_cmp);
	return n;
}
