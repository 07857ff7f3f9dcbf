/* Lab check 2: O_DIRECT between a virtio disk and devdax-backed memory (daxvm's backing):
 * the block layer DMAs straight into device-dax pages; the data must arrive intact both ways. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/backing.h"
#include "tests/lab/lab_util.h"
#include "tests/test.h"

#define HALF (32ull << 20)	/* bytes per region: A is written out, B is read back into */

/* The lab's disk carries serial "labdisk" (QEMU -device virtio-blk-pci,serial=labdisk). */
static int find_disk(const char *serial, char *path, size_t len)
{
	DIR *d = opendir("/sys/block");
	struct dirent *de;
	int ret = -ENODEV;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char p[300], buf[64] = "";
		FILE *f;

		snprintf(p, sizeof(p), "/sys/block/%s/serial", de->d_name);
		f = fopen(p, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && !strncmp(buf, serial, strlen(serial))) {
			snprintf(path, len, "/dev/%s", de->d_name);
			ret = 0;
		}
		fclose(f);
	}
	closedir(d);
	return ret;
}

/* Moves HALF bytes between buf and the disk in chunks of varying size, so transfers start and
 * end inside and across device-aligned pages. */
static int transfer(int fd, uint8_t *buf, bool to_disk, unsigned rotate)
{
	static const uint64_t chunks[] = { 4096, 65536, 1ull << 20, (3ull << 20) + 4096, 8192 };
	uint64_t off = 0;
	unsigned i = rotate;

	while (off < HALF) {
		uint64_t n = chunks[i++ % 5];
		ssize_t r;

		if (n > HALF - off)
			n = HALF - off;
		r = to_disk ? pwrite(fd, buf + off, n, (off_t)off) : pread(fd, buf + off, n, (off_t)off);
		if (r != (ssize_t)n)
			return r < 0 ? -errno : -EIO;
		off += n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : t_require_devdax();
	struct backing_request req = { .spec = dev, .size = 2 * HALF };
	struct backing b;
	struct lab_dax sys;
	struct err e = { 0 };
	char disk[300];
	uint8_t *a, *bb, *plain = NULL;
	uint64_t pfn, acq0 = 0, rel0 = 0, acq1 = 0, rel1 = 0;
	int64_t bad;
	double t0, tw, tr;
	int fd, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* lines survive a crash */

	TEST_ASSERT(lab_dax_sysfs(dev, &sys) == 0, "cannot read sysfs for %s", dev);
	TEST_ASSERT(find_disk("labdisk", disk, sizeof(disk)) == 0,
		    "no virtio disk with serial labdisk (the lab's QEMU command line adds it)");
	ret = backing_open(&req, &b, &e);
	TEST_ASSERT(ret == 0, "backing_open(%s): %s", dev, e.msg);
	TEST_ASSERT(b.kind == BACKING_DEVDAX, "kind %s", backing_kind_name(b.kind));
	a = b.host;
	bb = (uint8_t *)b.host + HALF;
	fd = open(disk, O_RDWR | O_DIRECT | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open %s O_DIRECT", disk);

	lab_pattern_fill(a, HALF, 0x0d1ec7, 0);
	memset(bb, 0, HALF);
	TEST_ASSERT(lab_pfn(bb, &pfn) == 0 && lab_dax_contains(&sys, pfn * 4096),
		    "region B is not on device-dax frames");
	lab_vmstat_pins(&acq0, &rel0);
	t0 = lab_now_ms();
	TEST_ASSERT(transfer(fd, a, true, 0) == 0, "O_DIRECT write from devdax to %s", disk);
	TEST_ASSERT(fdatasync(fd) == 0, "fdatasync %s", disk);
	tw = lab_now_ms() - t0;
	t0 = lab_now_ms();
	TEST_ASSERT(transfer(fd, bb, false, 2) == 0, "O_DIRECT read from %s into devdax", disk);
	tr = lab_now_ms() - t0;
	lab_vmstat_pins(&acq1, &rel1);
	printf("%s: wrote %llu MiB from devdax in %.0f ms, read back into devdax in %.0f ms; "
	       "FOLL_PIN acquired +%" PRIu64 " released +%" PRIu64 " during the I/O\n",
	       disk, HALF >> 20, tw, tr, acq1 - acq0, rel1 - rel0);
	/* Whether the block layer's direct I/O takes FOLL_PIN (6.12+, iov_iter_extract_pages) or
	 * plain page references (6.1, FOLL_GET: not visible in these counters). */
	lab_measure("odirect_foll_pin", "%s", acq1 == acq0 ? "not_counted" : "counted");
	lab_measure("odirect_foll_pin_release", "%s", acq1 - acq0 == rel1 - rel0 ? "balanced" : "unbalanced");
	bad = lab_pattern_check(bb, HALF, 0x0d1ec7, 0);
	TEST_ASSERT(bad < 0, "devdax region read back from disk differs at byte %" PRId64, bad);

	/* Independently: what the disk holds, read into ordinary memory. */
	TEST_ASSERT(posix_memalign((void **)&plain, 4096, HALF) == 0, "out of memory");
	TEST_ASSERT(pread(fd, plain, HALF, 0) == (ssize_t)HALF, "O_DIRECT read into anonymous memory");
	bad = lab_pattern_check(plain, HALF, 0x0d1ec7, 0);
	TEST_ASSERT(bad < 0, "the disk holds wrong data at byte %" PRId64 " (write from devdax broken)", bad);
	free(plain);
	close(fd);
	backing_close(&b);
	printf("PASS: %llu MiB devdax -> %s -> devdax byte-exact, disk content verified separately\n",
	       HALF >> 20, disk);
	return T_PASS;
}
