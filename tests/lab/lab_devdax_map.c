/* Lab check 1: devdax discovery and mapping through daxvm's backing code, checked against
 * sysfs: kind devdax, alignment from the device, every page's PFN inside the device's ranges. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "memory/backing.h"
#include "tests/lab/lab_util.h"
#include "tests/test.h"

int main(int argc, char **argv)
{
	int perr;
	const char *dev = argc > 1 ? argv[1] : t_require_devdax();
	struct backing_request req = { .spec = dev };
	struct backing b;
	struct lab_dax sys;
	struct err e = { 0 };
	uint64_t pages, outside = 0, missing = 0, discontig = 0, first_pfn = 0, last_pfn = 0;
	uint64_t *pm;
	double t0;
	int fd, ret;
	void *priv;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* lines survive a crash */

	TEST_ASSERT(lab_dax_sysfs(dev, &sys) == 0, "cannot read sysfs for %s", dev);
	printf("sysfs: %s size %" PRIu64 " align %" PRIu64 " ranges %u (first 0x%" PRIx64 "-0x%" PRIx64 ")\n",
	       sys.name, sys.size, sys.align, sys.nr_ranges, sys.start[0], sys.end[0]);

	ret = backing_open(&req, &b, &e);
	TEST_ASSERT(ret == 0, "backing_open(%s): %s", dev, e.msg);
	printf("daxvm backing: kind %s size %" PRIu64 " align %" PRIu64 " page_size %" PRIu64
	       " ranges %u devmap %d shared %d host %p\n", backing_kind_name(b.kind), b.size, b.align,
	       b.page_size, b.nr_ranges, b.devmap, b.shared, b.host);
	TEST_ASSERT(b.kind == BACKING_DEVDAX, "kind is %s, want devdax", backing_kind_name(b.kind));
	TEST_ASSERT(b.devmap && b.shared, "devdax backing must be devmap and MAP_SHARED");
	TEST_ASSERT(b.align == sys.align, "align %" PRIu64 " but the device says %" PRIu64, b.align, sys.align);
	TEST_ASSERT(b.size > 0 && b.size <= sys.size && b.size % sys.align == 0,
		    "size %" PRIu64 " does not fit the device (%" PRIu64 ", align %" PRIu64 ")", b.size,
		    sys.size, sys.align);
	TEST_ASSERT((uintptr_t)b.host % sys.align == 0, "mapping %p not aligned to %" PRIu64, b.host, sys.align);
	TEST_ASSERT(b.nr_ranges == sys.nr_ranges, "%u ranges, sysfs has %u", b.nr_ranges, sys.nr_ranges);
	for (unsigned i = 0; i < sys.nr_ranges; i++)
		TEST_ASSERT(b.ranges[i].start == sys.start[i] && b.ranges[i].end == sys.end[i],
			    "range %u is 0x%" PRIx64 "-0x%" PRIx64 ", sysfs 0x%" PRIx64 "-0x%" PRIx64, i,
			    b.ranges[i].start, b.ranges[i].end, sys.start[i], sys.end[i]);

	/* Fault in every page (one write per 4 KiB), then read the whole pagemap at once. */
	t0 = lab_now_ms();
	pages = b.size / 4096;
	for (uint64_t i = 0; i < pages; i++)
		((volatile uint8_t *)b.host)[i * 4096] = (uint8_t)i;
	printf("touched %" PRIu64 " pages in %.0f ms\n", pages, lab_now_ms() - t0);
	pm = malloc(pages * sizeof(*pm));
	TEST_ASSERT(pm, "out of memory");
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open pagemap");
	TEST_ASSERT(pread(fd, pm, pages * sizeof(*pm), (off_t)((uintptr_t)b.host / 4096 * 8)) ==
		    (ssize_t)(pages * sizeof(*pm)), "read pagemap");
	close(fd);
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pfn = pm[i] & ((1ull << 55) - 1);

		if (!(pm[i] & (1ull << 63))) {
			missing++;
			continue;
		}
		if (!lab_dax_contains(&sys, pfn * 4096))
			outside++;
		/* Within one device-aligned page the frames are physically contiguous. */
		if (i % (sys.align / 4096) && pfn != last_pfn + 1)
			discontig++;
		if (i == 0)
			first_pfn = pfn;
		last_pfn = pfn;
	}
	free(pm);
	printf("pagemap: %" PRIu64 " pages, first pfn 0x%" PRIx64 ", not present %" PRIu64
	       ", outside the device ranges %" PRIu64 ", discontiguous within an aligned page %" PRIu64 "\n",
	       pages, first_pfn, missing, outside, discontig);
	TEST_ASSERT(missing == 0 && outside == 0 && discontig == 0, "PFN check failed");
	lab_measure("devdax_pfns", "inside_device");

	/* device-dax refuses private mappings (a private copy could not be device memory). */
	priv = mmap(NULL, sys.align, PROT_READ | PROT_WRITE, MAP_PRIVATE, b.fd, 0);
	perr = errno;	/* printf may change errno */
	printf("MAP_PRIVATE of %s: %s\n", dev, priv == MAP_FAILED ? strerror(perr) : "allowed");
	lab_measure("devdax_map_private", "%s", priv == MAP_FAILED ? lab_errno_name(perr) : "allowed");
	if (priv != MAP_FAILED)
		munmap(priv, sys.align);
	TEST_ASSERT(priv == MAP_FAILED, "device-dax allowed a private mapping");

	backing_close(&b);
	printf("PASS: %s mapped by daxvm as devdax, %" PRIu64 " PFNs all inside the device\n", dev, pages);
	return T_PASS;
}
