/* Path backings: device-dax, a hugetlbfs or tmpfs file, and the refusal of
 * a page-cache file on a disk filesystem (never long-term pinnable). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/size.h"
#include "memory/backing_file.h"
#include "memory/backing_map.h"
#include "memory/dax.h"
#include "memory/hugepool.h"

#define BACKING_TMPFS_MAGIC 0x01021994
#define BACKING_HUGETLBFS_MAGIC 0x958458f6

/* A name for the filesystem in the page-cache refusal, so the user sees why; *disk is false
 * for the memory filesystems that are still not shmem (ramfs) or not files at all. */
static const char *backing_fs_name(unsigned long type, bool *disk)
{
	*disk = true;
	switch (type) {
	case 0xEF53: return "ext2/3/4";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x794c7630: return "overlayfs";
	case 0x6969: return "nfs";
	case 0x01021997: return "9p";
	case 0x65735546: return "fuse";
	case 0x4d44: return "vfat";
	case 0xF2F52010: return "f2fs";
	case 0x2fc12fc1: return "zfs";
	}
	*disk = false;
	switch (type) {
	case 0x858458f6: return "ramfs";
	case 0x62656572: return "sysfs";
	case 0x9fa0: return "procfs";
	}
	return NULL;
}

static int backing_refuse_pagecache(struct backing *b, const char *what, struct err *e)
{
	b->kind = BACKING_PAGECACHE;
	return err_set(e, -EOPNOTSUPP,
		       "%s is %s (backing kind pagecache): the kernel cannot long-term pin page-cache pages of a file on a disk filesystem (pin_user_pages(FOLL_LONGTERM) on a shared writable mapping fails with EFAULT), so use a devdax device, a hugetlbfs or tmpfs file (e.g. /dev/shm/guest-ram), memfd, memfd-huge or anon",
		       b->path, what);
}

static int backing_open_devdax(const struct backing_request *req, struct backing *b,
			       struct err *e)
{
	struct dax_info info;
	char want[32], have[32];
	uint64_t size;
	int ret;

	b->kind = BACKING_DEVDAX;
	ret = dax_info_by_path(b->path, &info, e);
	if (ret < 0)
		return ret;
	size = req->size ? req->size : backing_default_size(BACKING_DEVDAX, info.size);
	size_format(info.size, have, sizeof(have));
	size_format(size, want, sizeof(want));
	if (size > info.size)
		return err_set(e, -EINVAL, "guest RAM size %s (%" PRIu64 " bytes) is larger than the %s (%" PRIu64 " bytes) device-dax %s: ask for %" PRIu64 " bytes or less",
			       want, size, have, info.size, b->path, info.size / info.align * info.align);
	b->page_size = info.align;	/* devdax maps with PTEs/PMDs/PUDs of exactly align */
	b->align = info.align;
	ret = backing_check_size(size, b->align, b->path, e);
	if (ret < 0)
		return ret;
	b->size = size;
	b->fd = open(b->path, O_RDWR | O_CLOEXEC);
	if (b->fd < 0) {
		ret = -errno;
		if (ret == -EACCES || ret == -EPERM)
			return err_set(e, ret, "no permission to open device-dax %s: run as root or give your user read-write access to it",
				       b->path);
		if (ret == -EBUSY)
			return err_set(e, ret, "device-dax %s is busy (another user or the kmem driver holds it): stop that user or reconfigure it with daxctl reconfigure-device -m devdax",
				       b->path);
		return err_set(e, ret, "cannot open device-dax %s: %s", b->path, strerror(-ret));
	}
	ret = backing_map_aligned(b, e);
	if (ret < 0) {
		close(b->fd);
		b->fd = -1;
		return ret;
	}
	b->devmap = true;
	memcpy(b->ranges, info.ranges, sizeof(info.ranges));
	b->nr_ranges = info.nr_ranges;
	return 0;
}

static bool backing_on_devtmpfs(const char *dir)
{
	struct stat d, dev;

	return stat(dir, &d) == 0 && stat("/dev", &dev) == 0 && d.st_dev == dev.st_dev;
}

/* Opens (or, in a tmpfs/hugetlbfs directory, creates) the file; -ENOENT when missing. */
static int backing_open_file(struct backing *b, struct statfs *fs, struct err *e)
{
	char dir[PATH_MAX], extra;
	unsigned region, id;
	const char *name;

	b->fd = open(b->path, O_RDWR | O_CLOEXEC);
	if (b->fd >= 0)
		return fstatfs(b->fd, fs) < 0 ? err_set(e, -errno, "fstatfs %s: %s", b->path, strerror(errno)) : 0;
	if (errno == EACCES || errno == EPERM)
		return err_set(e, -errno, "no permission to open %s read-write: run as root or fix its permissions",
			       b->path);
	if (errno != ENOENT)
		return err_set(e, -errno, "cannot open %s: %s", b->path, strerror(errno));
	snprintf(dir, sizeof(dir), "%s", b->path);
	/* devtmpfs reports the tmpfs magic: never create "devices" (a mistyped /dev/daxX.Y). */
	name = strrchr(b->path, '/');
	name = name ? name + 1 : b->path;
	if (sscanf(name, "dax%u.%u%c", &region, &id, &extra) == 2)	/* exactly daxX.Y */
		return err_set(e, -ENOENT, "device-dax %s does not exist: daxctl list shows the devices (one in system-ram mode has no /dev node: daxctl reconfigure-device -m devdax), or use the memfd backing",
			       b->path);
	if (statfs(dirname(dir), fs) < 0 || backing_on_devtmpfs(dir) ||
	    (fs->f_type != BACKING_TMPFS_MAGIC && fs->f_type != BACKING_HUGETLBFS_MAGIC))
		return err_set(e, -ENOENT, "%s does not exist: give an existing /dev/daxX.Y, a file on hugetlbfs or tmpfs (a new file is created only in a tmpfs or hugetlbfs directory, e.g. /dev/shm), or memfd, memfd-huge, anon",
			       b->path);
	b->fd = open(b->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (b->fd < 0)
		return err_set(e, -errno, "cannot create %s: %s", b->path, strerror(errno));
	b->file_created = true;
	return 0;
}

static int backing_open_shmem_file(const struct backing_request *req, struct backing *b,
				   struct err *e)
{
	struct statfs fs;
	struct stat st;
	char want[32], have[32];
	uint64_t size;
	int ret;

	ret = backing_open_file(b, &fs, e);
	if (ret < 0)
		goto fail;
	if (fs.f_type == BACKING_HUGETLBFS_MAGIC) {
		b->kind = BACKING_HUGETLBFS;
		b->page_size = (uint64_t)fs.f_bsize;	/* hugetlbfs reports its page size here */
	} else if (fs.f_type == BACKING_TMPFS_MAGIC) {
		b->kind = BACKING_TMPFS;
		b->page_size = 4096;
	} else {
		/* Raced with a mount change since the statfs by path; refuse all the same. */
		ret = backing_refuse_pagecache(b, "a file on a disk filesystem", e);
		goto fail;
	}
	b->align = b->page_size;
	if (fstat(b->fd, &st) < 0) {
		ret = err_set(e, -errno, "fstat %s: %s", b->path, strerror(errno));
		goto fail;
	}
	b->file_size_before = (uint64_t)st.st_size;
	/* No size asked: an existing file gives its own, a new or empty one the default. */
	size = req->size ? req->size : backing_default_size(b->kind, (uint64_t)st.st_size);
	ret = backing_check_size(size, b->align, backing_kind_name(b->kind), e);
	if (ret < 0)
		goto fail;
	b->size = size;
	if (st.st_size == 0 && b->kind == BACKING_HUGETLBFS) {
		ret = backing_reserve_huge(b, req, size, b->page_size, e);
		if (ret < 0)
			goto fail;
	}
	/* A tmpfs file is sparse: a mount too small for it would SIGBUS the guest later, not now. */
	if (st.st_size == 0 && b->kind == BACKING_TMPFS &&
	    (uint64_t)fs.f_bavail * (uint64_t)fs.f_bsize < size) {
		size_format((uint64_t)fs.f_bavail * (uint64_t)fs.f_bsize, have, sizeof(have));
		size_format(size, want, sizeof(want));
		ret = err_set(e, -ENOSPC, "the tmpfs holding %s has %s free, less than the %s of guest RAM: ask for less RAM, use a bigger tmpfs (mount -o remount,size=...), or the memfd backing",
			      b->path, have, want);
		goto fail;
	}
	if ((uint64_t)st.st_size < size) {
		if (st.st_size != 0) {
			/* Never change a user's file that has content: they must size it. */
			uint64_t fits = (uint64_t)st.st_size / b->align * b->align;

			size_format((uint64_t)st.st_size, have, sizeof(have));
			size_format(size, want, sizeof(want));
			if (fits)
				ret = err_set(e, -EINVAL, "%s is %s, smaller than the %s of guest RAM: ask for %s or less, or grow it yourself (truncate -s %" PRIu64 " %s)",
					      b->path, have, want,
					      size_format(fits, have, sizeof(have)), size, b->path);
			else
				ret = err_set(e, -EINVAL, "%s is %s, smaller than the %s of guest RAM: grow it yourself (truncate -s %" PRIu64 " %s) or use an empty file",
					      b->path, have, want, size, b->path);
			goto fail;
		}
		if (ftruncate(b->fd, (off_t)size) < 0) {
			size_format(size, want, sizeof(want));
			ret = err_set(e, -errno, "cannot size %s to %s: %s", b->path, want,
				      strerror(errno));
			goto fail;
		}
		b->file_grown = true;
	}
	ret = backing_map_aligned(b, e);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	if (b->fd >= 0) {
		if (b->file_grown)
			(void)!ftruncate(b->fd, (off_t)b->file_size_before);
		close(b->fd);
	}
	if (b->file_created)
		unlink(b->path);
	b->fd = -1;
	b->file_created = false;
	b->file_grown = false;
	if (b->huge_accounted)
		hugepool_restore(b->page_size, b->pool_restore);
	b->huge_accounted = false;
	b->pool_restore = -1;
	return ret;
}

int backing_open_path(const struct backing_request *req, struct backing *b, struct err *e)
{
	struct statfs fs;
	struct stat st;
	char what[96];
	const char *fs_name;
	bool disk;

	if (strlen(req->spec) >= sizeof(b->path))
		return err_set(e, -ENAMETOOLONG, "the backing path is longer than %zu bytes",
			       sizeof(b->path) - 1);
	snprintf(b->path, sizeof(b->path), "%s", req->spec);
	if (stat(b->path, &st) < 0) {
		if (errno == ENOENT)	/* maybe a new file in a tmpfs directory */
			return backing_open_shmem_file(req, b, e);
		if (errno == EACCES)
			return err_set(e, -errno, "no permission to reach %s: run as root or fix the permissions of its directories",
				       b->path);
		return err_set(e, -errno, "cannot use %s: %s", b->path, strerror(errno));
	}
	if (S_ISCHR(st.st_mode))
		return backing_open_devdax(req, b, e);
	if (S_ISBLK(st.st_mode)) {
		/* A block device (e.g. fsdax /dev/pmem0) maps through its page cache. */
		return backing_refuse_pagecache(b, "a block device, mapped through the page cache", e);
	}
	if (S_ISDIR(st.st_mode))
		return err_set(e, -EISDIR, "%s is a directory: give a file in it (e.g. %s/guest-ram) or a /dev/daxX.Y",
			       b->path, b->path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, -EINVAL, "%s is not a regular file nor a device-dax device", b->path);
	/* Decide before opening for write: a disk file is never opened read-write. */
	if (statfs(b->path, &fs) < 0)
		return err_set(e, -errno, "statfs %s: %s", b->path, strerror(errno));
	if (fs.f_type != BACKING_TMPFS_MAGIC && fs.f_type != BACKING_HUGETLBFS_MAGIC) {
		fs_name = backing_fs_name((unsigned long)fs.f_type, &disk);
		if (fs_name)
			snprintf(what, sizeof(what), "a file on %s, %s", fs_name,
				 disk ? "a disk filesystem" : "not tmpfs or hugetlbfs");
		else
			snprintf(what, sizeof(what), "a file on filesystem type 0x%lx, not tmpfs or hugetlbfs",
				 (unsigned long)fs.f_type);
		return backing_refuse_pagecache(b, what, e);
	}
	return backing_open_shmem_file(req, b, e);
}
