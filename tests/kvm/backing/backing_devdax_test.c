/* Integration (runs where a device-dax device exists: the pmem lab): discovery agrees with
 * sysfs, backing_open maps the device aligned and long-term pinnable, its PFNs lie inside the
 * device ranges, and the size errors, MAP_PRIVATE refusal and auto selection behave. */
#include <dlfcn.h>
#include <inttypes.h>
#include <sys/mman.h>

#include "backing_check.h"
#include "common/size.h"
#include "memory/dax.h"

static int fds_before;

static uint64_t sysfs_u64(const char *name, const char *file)
{
	char path[256], text[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/%s", name, file);
	f = fopen(path, "re");
	TEST_ASSERT(f && fgets(text, sizeof(text), f), "read %s", path);
	fclose(f);
	return strtoull(text, NULL, 0);
}

static bool in_ranges(const struct backing *b, uint64_t phys)
{
	for (unsigned i = 0; i < b->nr_ranges; i++)
		if (phys >= b->ranges[i].start && phys <= b->ranges[i].end)
			return true;
	return false;
}

static void open_fails(const char *dev, uint64_t size, const char *text)
{
	struct backing_request req = { .spec = dev, .size = size };
	struct backing b;
	struct err e = { 0 };
	int ret = backing_open(&req, &b, &e);

	TEST_ASSERT(ret == -EINVAL && strstr(e.msg, text), "size %" PRIu64 ": ret %d '%s' lacks '%s'",
		    size, ret, e.msg, text);
	TEST_ASSERT(b.fd == -1 && !b.host && bk_count_fds() == fds_before, "failed open left state");
	printf("ok: size %" PRIu64 " refused: %s\n", size, e.msg);
}

int main(void)
{
	const char *dev = t_require_devdax();
	struct backing_request req = { .spec = dev };
	struct dax_info info;
	struct backing b;
	struct err e = { 0 };
	uint64_t total = 0, entry, phys;
	char human[32];
	void *priv;
	int fd, ret;

	fds_before = bk_count_fds();
	ret = dax_info_by_path(dev, &info, &e);
	TEST_ASSERT(ret == 0, "dax_info_by_path(%s): %s", dev, e.msg);
	printf("%s: %s size %" PRIu64 " align %" PRIu64 " ranges %u (from %s)\n", dev, info.name,
	       info.size, info.align, info.nr_ranges, info.source);
	TEST_ASSERT(info.size == sysfs_u64(info.name, "size"), "size differs from sysfs");
	TEST_ASSERT(info.align == sysfs_u64(info.name, "align"), "align differs from sysfs");
	TEST_ASSERT(info.nr_ranges >= 1, "no physical ranges");
	/* libdaxctl is loaded with dlopen (memory/dax.c): where it is installed, the numbers must
	 * come from it, not silently from the sysfs fallback. */
	{
		void *h = dlopen("libdaxctl.so.1", RTLD_NOW | RTLD_LOCAL);

		TEST_ASSERT(strcmp(info.source, h ? "libdaxctl" : "sysfs") == 0,
			    "described by %s although libdaxctl.so.1 %s", info.source,
			    h ? "loads" : "does not load");
		if (h)
			dlclose(h);
	}
	for (unsigned i = 0; i < info.nr_ranges; i++) {
		TEST_ASSERT(info.ranges[i].end > info.ranges[i].start, "empty range %u", i);
		total += info.ranges[i].end - info.ranges[i].start + 1;
	}
	TEST_ASSERT(total == info.size, "ranges cover %" PRIu64 " bytes, device is %" PRIu64, total,
		    info.size);
	/* The sysfs fallback must agree with libdaxctl. */
	{
		struct dax_info sys;

		TEST_ASSERT(dax_info_by_path_sysfs(dev, &sys, &e) == 0, "sysfs: %s", e.msg);
		TEST_ASSERT(strcmp(sys.name, info.name) == 0 && sys.size == info.size &&
			    sys.align == info.align && sys.nr_ranges == info.nr_ranges &&
			    memcmp(sys.ranges, info.ranges, sizeof(sys.ranges)) == 0,
			    "sysfs says %s size %" PRIu64 " align %" PRIu64 " ranges %u", sys.name,
			    sys.size, sys.align, sys.nr_ranges);
		printf("ok: sysfs fallback agrees with %s (range 0x%" PRIx64 "-0x%" PRIx64 ")\n",
		       info.source, sys.ranges[0].start, sys.ranges[0].end);
	}

	/* Size 0: the whole device. */
	ret = backing_open(&req, &b, &e);
	TEST_ASSERT(ret == 0, "backing_open(%s): %s", dev, e.msg);
	bk_check_fields(&b, BACKING_DEVDAX, info.size);
	/* io_uring refused every file-backed buffer but shmem/hugetlb until Linux 6.5 (then GUP
	 * decides, and device-dax passes FOLL_LONGTERM); VFIO type1 pins devdax on all kernels. */
	ret = bk_pin_backing(&b);
	TEST_ASSERT(ret == 0 || ret == -EOPNOTSUPP, "io_uring pin of devdax: %s", strerror(-ret));
	printf("%s: io_uring long-term pin of devdax memory: %s\n", ret ? "note" : "ok",
	       ret ? "refused with EOPNOTSUPP by this kernel's io_uring (before 6.5): pin devdax with VFIO here"
		   : "works");
	TEST_ASSERT(b.devmap && b.page_size == info.align && b.align == info.align,
		    "devmap %d page %" PRIu64, b.devmap, b.page_size);
	TEST_ASSERT(b.nr_ranges == info.nr_ranges, "ranges not copied");
	/* The first and last page were written by bk_check_open: both frames are the device's. */
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open pagemap");
	for (int end = 0; end < 2; end++) {
		uintptr_t va = (uintptr_t)b.host + (end ? b.size - 4096 : 0);

		TEST_ASSERT(pread(fd, &entry, 8, (off_t)(va / 4096 * 8)) == 8, "read pagemap");
		TEST_ASSERT(entry >> 63, "page at %#lx not present", (unsigned long)va);
		phys = (entry & ((1ULL << 55) - 1)) * 4096;
		if (phys)	/* PFNs read as 0 without CAP_SYS_ADMIN */
			TEST_ASSERT(in_ranges(&b, phys), "phys %#" PRIx64 " outside the device", phys);
		printf("ok: %s page phys %#" PRIx64 " inside the device\n", end ? "last" : "first", phys);
	}
	close(fd);
	/* device-dax refuses private mappings: a private copy could not be device memory. */
	priv = mmap(NULL, info.align, PROT_READ | PROT_WRITE, MAP_PRIVATE, b.fd, 0);
	TEST_ASSERT(priv == MAP_FAILED && errno == EINVAL, "MAP_PRIVATE of devdax was not refused");
	backing_close(&b);
	TEST_ASSERT(bk_count_fds() == fds_before, "leaked an fd");

	/* A part of the device, one alignment unit. */
	req.size = info.align;
	TEST_ASSERT(backing_open(&req, &b, &e) == 0, "one unit: %s", e.msg);
	bk_check_fields(&b, BACKING_DEVDAX, info.align);
	backing_close(&b);

	size_format(info.size, human, sizeof(human));
	open_fails(dev, info.size + info.align, "larger than the");
	open_fails(dev, info.size + info.align, human);
	if (info.align > 4096)
		open_fails(dev, info.align + 4096, "alignment");

	/* Auto picks a device-dax device when there is one. */
	req.spec = NULL;
	req.size = 0;
	TEST_ASSERT(backing_open(&req, &b, &e) == 0, "auto: %s", e.msg);
	printf("auto picked %s %s: %s\n", backing_kind_name(b.kind), b.path, b.why);
	TEST_ASSERT(b.kind == BACKING_DEVDAX && b.devmap, "auto did not pick devdax");
	backing_close(&b);
	TEST_ASSERT(bk_count_fds() == fds_before, "leaked an fd");
	printf("PASS\n");
	return T_PASS;
}
