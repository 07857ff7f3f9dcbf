/* Compaction must not move pinned pages: pin 64 MiB of memfd with io_uring, snapshot PFNs,
 * trigger compaction (echo 1 > /proc/sys/vm/compact_memory, an action, not a setting),
 * and check with the validator that every pinned PFN is unchanged and present.
 * Positive control, in the same run: an unpinned memfd of the same size, its pages allocated
 * interleaved with the pinned ones and with a filler that is freed before compaction (so both
 * sit in the same fragmented blocks), must have pages moved by the same compaction. If none
 * moved, compaction proves nothing on this machine and the test skips, saying so. */
#include <sys/mman.h>

#include "memory/backing.h"
#include "validate/validate.h"
#include "pin_kvm_util.h"
#include "kvm/common/host_require.h"

#define BYTES (64ull << 20)
#define PAGE 4096ull
#define PFN_MASK ((1ull << 55) - 1)
#define PM_PRESENT (1ull << 63)

/* A shared memfd mapping of BYTES, not yet touched. */
static char *memfd_map(const char *name, int *fd)
{
	char *p;

	*fd = memfd_create(name, MFD_CLOEXEC);
	TEST_ASSERT(*fd >= 0 && ftruncate(*fd, (off_t)BYTES) == 0, "memfd %s", name);
	p = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	TEST_ASSERT(p != MAP_FAILED, "mmap %s", name);
	return p;
}

/* PFN of each 4 KiB page of p (0 when not present), straight from /proc/self/pagemap. */
static void read_pfns(const char *p, uint64_t *pfn)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t n = BYTES / PAGE;
	uint64_t *ent = calloc(n, sizeof(*ent));

	TEST_ASSERT(pm >= 0 && ent, "open /proc/self/pagemap");
	TEST_ASSERT(pread(pm, ent, n * 8, (off_t)((uintptr_t)p / PAGE * 8)) == (ssize_t)(n * 8), "read pagemap");
	for (size_t i = 0; i < n; i++)
		pfn[i] = (ent[i] & PM_PRESENT) ? ent[i] & PFN_MASK : 0;
	free(ent);
	close(pm);
}

int main(void)
{
	struct backing_request req = { .spec = "memfd", .size = BYTES };
	struct pin_options opt = { .backend = PIN_IO_URING };
	struct validate_config cfg = { .interval_ms = 20 };
	struct validate_counts n;
	struct pin_dma_map m = { .iova = 0, .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	struct pin_container *c;
	struct validate *v;
	struct backing b;
	struct err e = { 0 };
	char reason[512] = "";
	size_t npages = BYTES / PAGE, moved = 0, gone = 0;
	uint64_t *pfn0 = calloc(npages, 8), *pfn1 = calloc(npages, 8);
	int fd, ctl_fd, fill_fd;
	char *ctl, *fill;

	t_require_root("PFNs and compact_memory");
	t_require_io_uring();
	TEST_REQUIRE(access("/proc/sys/vm/compact_memory", W_OK) == 0, "feature missing: CONFIG_COMPACTION");
	TEST_ASSERT(backing_open(&req, &b, &e) == 0, "memfd: %s", e.msg);
	TEST_ASSERT(b.size == BYTES && pfn0 && pfn1, "memfd of 64 MiB");
	ctl = memfd_map("daxvm-compaction-control", &ctl_fd);
	fill = memfd_map("daxvm-compaction-filler", &fill_fd);
	/* One page of each in turn, so pinned, control and filler pages share pageblocks. */
	for (size_t off = 0; off < BYTES; off += PAGE) {
		memset((char *)b.host + off, 0x5c, PAGE);
		memset(ctl + off, 0x3a, PAGE);
		memset(fill + off, 0x11, PAGE);
	}
	/* Free the filler: holes next to every pinned and control page, for compaction to fill. */
	TEST_ASSERT(munmap(fill, BYTES) == 0 && ftruncate(fill_fd, 0) == 0, "free the filler");
	close(fill_fd);
	m.vaddr = (uintptr_t)b.host;
	m.size = b.size;
	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "open: %s", e.msg);
	TEST_ASSERT(validate_new(&cfg, &v, &e) == 0 && validate_begin(v, &e) == 0, "begin: %s", e.msg);
	TEST_ASSERT(pin_map_dma(c, &m, &e) == 0, "map: %s", e.msg);
	TEST_ASSERT(validate_start(v, c, &e) == 0, "start: %s", e.msg);
	read_pfns(ctl, pfn0);
	for (int i = 0; i < 2; i++) {
		fd = open("/proc/sys/vm/compact_memory", O_WRONLY);
		TEST_ASSERT(fd >= 0 && write(fd, "1", 1) == 1, "compact_memory");
		close(fd);
	}
	usleep(100000);
	read_pfns(ctl, pfn1);
	for (size_t i = 0; i < npages; i++) {
		moved += pfn0[i] && pfn1[i] && pfn0[i] != pfn1[i];
		gone += pfn0[i] && !pfn1[i];
	}
	TEST_ASSERT(validate_stop(v, &e) == 0, "stop");
	TEST_ASSERT(pin_unmap_all(c, NULL, &e) == 0, "unmap");
	TEST_ASSERT(validate_finish(v, &e) == 0, "finish");
	validate_get_counts(v, &n);
	TEST_ASSERT(validate_verdict(v, reason, sizeof(reason)), "pinned pages moved or vanished: %s", reason);
	TEST_ASSERT(n.pfn_changes == 0 && n.not_present == 0 && n.pages_checked >= 2 * n.expected_pages,
		    "changes %" PRIu64 ", not present %" PRIu64 ", checked %" PRIu64, n.pfn_changes, n.not_present,
		    n.pages_checked);
	TEST_ASSERT(ctl[0] == 0x3a && ctl[BYTES - 1] == 0x3a, "the control memfd lost its contents");
	printf("control: %zu of %zu unpinned pages moved by the same compaction (%zu not present after)\n", moved,
	       npages, gone);
	validate_free(v);
	pin_container_close(c);
	backing_close(&b);
	munmap(ctl, BYTES);
	close(ctl_fd);
	free(pfn0);
	free(pfn1);
	TEST_REQUIRE(moved > 0, "feature missing: compaction moved none of %zu unpinned memfd pages on this machine, "
		     "so pinned pages keeping their PFNs proves nothing here", npages);
	printf("PASS: %" PRIu64 " pinned pages kept their PFNs through compaction (%" PRIu64 " samples, %" PRIu64
	       " pages checked, %" PRIu64 " seen briefly unmapped by a refused migration) that moved %zu unpinned pages\n",
	       n.expected_pages, n.samples, n.pages_checked, n.transient_unmapped, moved);
	return T_PASS;
}
