/* Compaction must not move pinned pages: pin 64 MiB of memfd with io_uring, snapshot PFNs,
 * trigger compaction (echo 1 > /proc/sys/vm/compact_memory, an action, not a setting),
 * and check with the validator that every pinned PFN is unchanged and present. */
#include <sys/mman.h>

#include "memory/backing.h"
#include "validate/validate.h"
#include "pin_kvm_util.h"
#include "kvm/common/host_require.h"

int main(void)
{
	struct backing_request req = { .spec = "memfd", .size = 64ull << 20 };
	struct pin_options opt = { .backend = PIN_IO_URING };
	struct validate_config cfg = { .interval_ms = 20 };
	struct validate_counts n;
	struct pin_dma_map m = { .iova = 0, .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	struct pin_container *c;
	struct validate *v;
	struct backing b;
	struct err e = { 0 };
	char reason[512] = "";
	int fd;

	t_require_root("PFNs and compact_memory");
	t_require_io_uring();
	TEST_REQUIRE(access("/proc/sys/vm/compact_memory", W_OK) == 0, "feature missing: CONFIG_COMPACTION");
	TEST_ASSERT(backing_open(&req, &b, &e) == 0, "memfd: %s", e.msg);
	memset(b.host, 0x5c, b.size);
	m.vaddr = (uintptr_t)b.host;
	m.size = b.size;
	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "open: %s", e.msg);
	TEST_ASSERT(validate_new(&cfg, &v, &e) == 0 && validate_begin(v, &e) == 0, "begin: %s", e.msg);
	TEST_ASSERT(pin_map_dma(c, &m, &e) == 0, "map: %s", e.msg);
	TEST_ASSERT(validate_start(v, c, &e) == 0, "start: %s", e.msg);
	for (int i = 0; i < 2; i++) {
		fd = open("/proc/sys/vm/compact_memory", O_WRONLY);
		TEST_ASSERT(fd >= 0 && write(fd, "1", 1) == 1, "compact_memory");
		close(fd);
	}
	usleep(100000);
	TEST_ASSERT(validate_stop(v, &e) == 0, "stop");
	TEST_ASSERT(pin_unmap_all(c, NULL, &e) == 0, "unmap");
	TEST_ASSERT(validate_finish(v, &e) == 0, "finish");
	validate_get_counts(v, &n);
	TEST_ASSERT(validate_verdict(v, reason, sizeof(reason)), "pinned pages moved or vanished: %s", reason);
	TEST_ASSERT(n.pfn_changes == 0 && n.not_present == 0 && n.pages_checked >= 2 * n.expected_pages,
		    "changes %" PRIu64 ", not present %" PRIu64 ", checked %" PRIu64, n.pfn_changes, n.not_present,
		    n.pages_checked);
	printf("PASS: %" PRIu64 " pinned pages kept their PFNs through compaction (%" PRIu64 " samples, %" PRIu64
	       " pages checked, %" PRIu64 " seen briefly unmapped by a refused migration)\n", n.expected_pages,
	       n.samples, n.pages_checked, n.transient_unmapped);
	validate_free(v);
	pin_container_close(c);
	backing_close(&b);
	return T_PASS;
}
