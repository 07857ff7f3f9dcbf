/* Unit test: dma_engine_fence() (the dax guard's fast stop). Before it, descriptors complete;
 * after it, a doorbell moves no data, writes no status and leaves the ring where it is, and
 * dma.transfers_after_fence is 0. Positive control: a fence whose event lies before transfers
 * that did run counts them (the counter can see moves). Mock pins. */
#include <inttypes.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/report.h"
#include "devices/dma_engine.h"
#include "dma_host_ring.h"
#include "test.h"

#define MiB (1ULL << 20)
#define RAM_BYTES (16 * MiB)
#define RAM_IOVA (1 * MiB)
#define MEDIA_BYTES (8 * MiB)
#define ENTRIES 64

static uint8_t *ram;

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct dma_desc to_ram(uint64_t iova, uint64_t len, uint64_t media_off)
{
	return (struct dma_desc){ .op = DMA_OP_MEDIA_TO_RAM, .iova = iova, .len = len, .media_off = media_off };
}

struct rig {
	struct pin_container *pins;
	struct dma_engine *dma;
	struct hring r;
};

static void rig_up(struct rig *g)
{
	struct pin_options po = { .backend = PIN_MOCK };
	struct dma_config cfg = { .nr_queues = 1, .media_bytes = MEDIA_BYTES, .vm_fd = -1 };
	struct pin_dma_map m = { .iova = RAM_IOVA, .size = 14 * MiB, .flags = PIN_DMA_READ | PIN_DMA_WRITE,
				 .page_size = 4096, .vaddr = (uintptr_t)ram };
	uint64_t ring_iova = RAM_IOVA;
	struct err e = { 0 };

	TEST_ASSERT(pin_container_open(&po, &g->pins, &e) == 0 && pin_map_dma(g->pins, &m, &e) == 0, "pins: %s", e.msg);
	TEST_ASSERT(dma_engine_create(&cfg, g->pins, NULL, &g->dma, &e) == 0, "create: %s", e.msg);
	TEST_ASSERT(dma_engine_set_rings(g->dma, 1, &ring_iova, ENTRIES, &e) == 0, "rings: %s", e.msg);
	hring_init(&g->r, ram, ENTRIES, g->dma, 0);
	TEST_ASSERT(dma_engine_start(g->dma, &e) == 0, "start: %s", e.msg);
}

static void rig_down(struct rig *g)
{
	dma_engine_destroy(g->dma);
	pin_container_close(g->pins);
}

static uint64_t after_fence(struct dma_engine *dma)
{
	struct report *rep = report_new();
	uint64_t v = UINT64_MAX;
	bool fenced = false;

	TEST_ASSERT(rep, "report");
	TEST_ASSERT(dma_engine_fill_report(dma, rep) == 0, "fill report");
	TEST_ASSERT(report_get_bool(rep, "dma.fenced", &fenced) && fenced, "dma.fenced not true");
	TEST_ASSERT(report_get_u64(rep, "dma.transfers_after_fence", &v), "no dma.transfers_after_fence");
	report_free(rep);
	return v;
}

int main(void)
{
	struct rig g;
	struct dma_stats s0, s1;
	struct dma_desc *slot;
	struct dma_desc d;
	uint64_t t_before, fence_ns, f2;
	char why[256];

	ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(ram != MAP_FAILED, "memory for the fake guest");

	/* Negative: after the fence nothing moves. */
	rig_up(&g);
	for (unsigned i = 0; i < 4; i++) {
		d = to_ram(2 * MiB + i * 65536ULL, 65536, 4096 + i * 65536ULL);
		TEST_ASSERT(hring_run(&g.r, &d) == DMA_ST_OK, "before the fence: descriptor %u", i);
	}
	TEST_ASSERT(!dma_engine_fenced(g.dma, NULL), "fenced before the fence");
	fence_ns = dma_engine_fence(g.dma, 0);
	TEST_ASSERT(fence_ns && dma_engine_fenced(g.dma, &f2) && f2 == fence_ns, "fence time %" PRIu64, fence_ns);
	TEST_ASSERT(dma_engine_fence(g.dma, 0) == fence_ns, "a second fence changed the time");
	dma_engine_get_stats(g.dma, &s0);
	memset(ram + 4 * MiB - RAM_IOVA, 0xab, 65536);
	d = to_ram(4 * MiB, 65536, 0);
	slot = hring_post(&g.r, &d);
	dma_engine_kick(g.dma, 0);
	usleep(300 * 1000);	/* the queue wakes within its 100 ms poll even without the kick */
	dma_engine_get_stats(g.dma, &s1);
	TEST_ASSERT(__atomic_load_n(&slot->status, __ATOMIC_ACQUIRE) == DMA_ST_PENDING, "status written after the fence: %u",
		    slot->status);
	TEST_ASSERT(__atomic_load_n(&g.r.hdr->cons, __ATOMIC_ACQUIRE) == 4, "ring advanced after the fence: cons %u",
		    g.r.hdr->cons);
	TEST_ASSERT(s1.transfers == s0.transfers && s1.batches == s0.batches, "moved after the fence: %" PRIu64 " -> %" PRIu64,
		    s0.transfers, s1.transfers);
	TEST_ASSERT(ram[4 * MiB - RAM_IOVA] == 0xab, "RAM written after the fence");
	dma_engine_stop_and_drain(g.dma);
	TEST_ASSERT(after_fence(g.dma) == 0, "transfers_after_fence %" PRIu64, after_fence(g.dma));
	TEST_ASSERT(!dma_engine_verdict_ok(g.dma, why, sizeof(why)) && strstr(why, "fenced"), "verdict: %s", why);
	rig_down(&g);

	/* Positive control: the event came before 3 transfers that ran: they are counted. */
	rig_up(&g);
	t_before = mono();
	for (unsigned i = 0; i < 3; i++) {
		d = to_ram(2 * MiB + i * 65536ULL, 65536, 4096 + i * 65536ULL);
		TEST_ASSERT(hring_run(&g.r, &d) == DMA_ST_OK, "control: descriptor %u", i);
	}
	dma_engine_fence(g.dma, t_before);
	dma_engine_stop_and_drain(g.dma);
	TEST_ASSERT(after_fence(g.dma) == 3, "control: transfers_after_fence %" PRIu64 ", want 3", after_fence(g.dma));
	rig_down(&g);

	munmap(ram, RAM_BYTES);
	printf("PASS dma fence: nothing moves after it, its counter counts moves after the event\n");
	return T_PASS;
}
