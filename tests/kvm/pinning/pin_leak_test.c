/* The release check catches a pin that is deliberately kept: a second io_uring ring
 * registers the same memory and is not released when the container unmaps. The validator
 * must fail loudly, name the IOVA range and count the leaked pins; without the rogue ring
 * the same sequence passes. */
#include <liburing.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "validate/validate.h"
#include "pin_kvm_util.h"
#include "kvm/common/host_require.h"

#define SZ (16ull << 20)
#define IOVA 0x40000000ull

static void run(char *mem, bool rogue)
{
	struct pin_options opt = { .backend = PIN_IO_URING };
	struct validate_config cfg = { .interval_ms = 10 };
	struct pin_dma_map m = { .vaddr = (uintptr_t)mem, .iova = IOVA, .size = SZ,
				 .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	struct iovec iov = { .iov_base = mem, .iov_len = SZ };
	struct validate_counts n;
	struct pin_container *c;
	struct validate *v;
	struct io_uring ring;
	struct err e = { 0 };
	char reason[512] = "";
	bool ok;

	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "open: %s", e.msg);
	TEST_ASSERT(validate_new(&cfg, &v, &e) == 0 && validate_begin(v, &e) == 0, "begin: %s", e.msg);
	TEST_ASSERT(pin_map_dma(c, &m, &e) == 0, "map: %s", e.msg);
	TEST_ASSERT(validate_start(v, c, &e) == 0, "start: %s", e.msg);
	if (rogue) {
		TEST_ASSERT(io_uring_queue_init(4, &ring, 0) == 0, "rogue ring");
		TEST_ASSERT(io_uring_register_buffers(&ring, &iov, 1) == 0, "rogue registration");
	}
	usleep(30000);
	TEST_ASSERT(validate_stop(v, &e) == 0, "stop");
	TEST_ASSERT(pin_unmap_all(c, NULL, &e) == 0, "unmap");
	TEST_ASSERT(validate_finish(v, &e) == 0, "finish: %s", e.msg);
	ok = validate_verdict(v, reason, sizeof(reason));
	validate_get_counts(v, &n);
	if (rogue) {
		TEST_ASSERT(!ok, "the kept pin must fail the verdict");
		TEST_ASSERT(strstr(reason, "pin leak") && strstr(reason, "0x40000000"),
			    "reason names the leak and the IOVA range: %s", reason);
		TEST_ASSERT(n.leaked_pins >= SZ / 4096, "leaked pins %" PRIu64 ", want >= %llu", n.leaked_pins,
			    SZ / 4096);
		printf("  caught: %s\n", reason);
		io_uring_queue_exit(&ring);
		/* Ring teardown runs in a kernel work item: give it up to 2 s. */
		for (int i = 0; i < 200 && t_vmpin_kib(); i++)
			usleep(10000);
		TEST_ASSERT(t_vmpin_kib() == 0, "rogue released");
	} else {
		TEST_ASSERT(ok, "no leak without the rogue ring: %s", reason);
		TEST_ASSERT(n.leaked_pins == 0, "leaked %" PRIu64, n.leaked_pins);
	}
	validate_free(v);
	pin_container_close(c);
}

int main(void)
{
	char *mem;

	t_require_root("vm.stat_refresh and PFNs");
	t_require_io_uring();
	mem = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap");
	memset(mem, 9, SZ);
	run(mem, false);
	run(mem, true);
	munmap(mem, SZ);
	printf("PASS: the release check catches a deliberately kept pin\n");
	return T_PASS;
}
