/* Unit test: the DMA engine's queue threads under their system call filter (dma_config.seccomp,
 * common/thread_filter.h), on the mock pins. Positive: a transfer is served and verified with
 * the filter on. Negative: a forbidden call made on the queue thread (open(), from the mock's
 * DMA observer, which runs there) is refused with EPERM and counted as a "DMA queue" violation
 * while the transfer still completes. Control: with the filter off the same open() works. */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>

#include "common/thread_filter.h"
#include "devices/dma_engine.h"
#include "dma_host_ring.h"
#include "test.h"

#define MiB (1ULL << 20)
#define RAM_IOVA (2 * MiB)
#define RAM_BYTES (4 * MiB)

static int open_result, open_errno;

/* Runs on the queue thread, inside the DMA path. */
static void try_open(const struct pin_dma_access *a, void *opaque)
{
	errno = 0;
	open_result = open("/dev/null", O_RDONLY);
	open_errno = errno;
	if (open_result >= 0)
		close(open_result);
}

static void run(bool seccomp, bool misbehave)
{
	struct pin_options po = { .backend = PIN_MOCK };
	struct dma_config cfg = { .nr_queues = 1, .media_bytes = 4 * MiB, .vm_fd = -1,
				  .verify_writes = true, .seccomp = seccomp };
	uint8_t *ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t ring = RAM_IOVA;
	struct pin_container *pins;
	struct dma_engine *dma;
	struct err e = { 0 };
	struct hring r;
	char why[256];

	TEST_ASSERT(ram != MAP_FAILED, "RAM");
	TEST_ASSERT(pin_container_open(&po, &pins, &e) == 0 &&
		    pin_map_dma(pins, &(struct pin_dma_map){ .vaddr = (uintptr_t)ram, .iova = RAM_IOVA,
				.size = RAM_BYTES, .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 }, &e) == 0,
		    "pins: %s", e.msg);
	if (misbehave)
		pin_mock_observe_dma(pins, try_open, NULL);
	TEST_ASSERT(dma_engine_create(&cfg, pins, NULL, &dma, &e) == 0, "create: %s", e.msg);
	TEST_ASSERT(dma_engine_set_rings(dma, 1, &ring, 16, &e) == 0, "rings: %s", e.msg);
	hring_init(&r, ram, 16, dma, 0);
	TEST_ASSERT(dma_engine_start(dma, &e) == 0, "start: %s", e.msg);
	struct dma_desc d = { .op = DMA_OP_MEDIA_TO_RAM, .iova = RAM_IOVA + MiB, .len = 65536, .media_off = 4096 };
	TEST_ASSERT(hring_run(&r, &d) == DMA_ST_OK, "media->RAM with the filter %s", seccomp ? "on" : "off");
	TEST_ASSERT(check_pattern(ram + MiB, d.len, DMA_MEDIA_SEED, d.media_off) < 0, "data landed");
	dma_engine_stop_and_drain(dma);
	TEST_ASSERT(dma_engine_verdict_ok(dma, why, sizeof(why)), "verdict: %s", why);
	dma_engine_destroy(dma);
	pin_container_close(pins);
	munmap(ram, RAM_BYTES);
}

int main(void)
{
	struct thread_filter_violations v;
	char name[64];

	/* Control: without the filter the queue thread may open files. */
	run(false, true);
	TEST_ASSERT(open_result >= 0, "open() on an unfiltered queue thread failed: errno %d", open_errno);
	/* Positive: the filter lets a transfer through and refuses nothing. */
	run(true, false);
	thread_filter_get_violations(&v);
	TEST_ASSERT(v.count == 0, "a clean transfer had %" PRIu64 " refused calls", v.count);
	/* Negative: open() on the filtered queue thread is refused, counted and named. */
	run(true, true);
	TEST_ASSERT(open_result == -1 && open_errno == EPERM, "open() on a filtered queue thread: %d, errno %d",
		    open_result, open_errno);
	thread_filter_get_violations(&v);
	thread_filter_syscall_name(v.first_syscall, name, sizeof(name));
	TEST_ASSERT(v.count == 1 && v.first_role && !strcmp(v.first_role, "DMA queue"),
		    "%" PRIu64 " violations, role %s", v.count, v.first_role);
	TEST_ASSERT(!strcmp(name, "openat") || !strcmp(name, "open"), "named %s", name);
	printf("DMA queue filter: transfers served under it; open() refused with EPERM, counted (%s by a %s thread); allowed without it\n",
	       name, v.first_role);
	return T_PASS;
}
