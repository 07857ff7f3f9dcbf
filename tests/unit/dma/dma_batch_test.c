/* Unit test: the engine serves the descriptors a doorbell makes available in batches (one
 * pin_dma_rw_batch each, counted in dma_stats.batches) yet completes them exactly as if it
 * served them one after the other: a batch ends before a descriptor that touches what an
 * earlier one writes (RAM or media), before RAM->RAM (served alone) and before a transfer
 * into the ring itself, whose later descriptors must be read after it landed. Mock pins. */
#include <inttypes.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/dma_engine.h"
#include "dma_host_ring.h"
#include "test.h"

#define MiB (1ULL << 20)
#define RAM_BYTES (16 * MiB)
#define RAM_IOVA (1 * MiB)		/* iova [1, 15) MiB -> host [0, 14) MiB */
#define MEDIA_BYTES (8 * MiB)
#define ENTRIES 64

static uint8_t *ram;
static struct hring r;
static struct dma_engine *dma;
static uint64_t wr;			/* the ring's write slice in the media */

static uint8_t *host(uint64_t iova)
{
	return ram + (iova - RAM_IOVA);
}

/* Posts n descriptors with one prod store and one doorbell, waits for all of them and
 * returns how many data-moving calls the engine made for them. */
static uint64_t run_together(const struct dma_desc *d, unsigned n, uint32_t *st)
{
	struct dma_stats s0, s1;
	uint32_t first = r.prod;

	dma_engine_get_stats(dma, &s0);
	for (unsigned i = 0; i < n; i++) {
		r.desc[(first + i) % ENTRIES] = d[i];
		r.desc[(first + i) % ENTRIES].status = DMA_ST_PENDING;
	}
	r.prod += n;
	__atomic_store_n(&r.hdr->prod, r.prod, __ATOMIC_RELEASE);
	dma_engine_kick(dma, 0);
	for (int i = 0; i < 10000 && __atomic_load_n(&r.hdr->cons, __ATOMIC_ACQUIRE) != r.prod; i++)
		usleep(1000);
	TEST_ASSERT(__atomic_load_n(&r.hdr->cons, __ATOMIC_ACQUIRE) == r.prod, "descriptors completed in 10 s");
	for (unsigned i = 0; i < n; i++)
		st[i] = __atomic_load_n(&r.desc[(first + i) % ENTRIES].status, __ATOMIC_ACQUIRE);
	dma_engine_get_stats(dma, &s1);
	return s1.batches - s0.batches;
}

static struct dma_desc to_ram(uint64_t iova, uint64_t len, uint64_t media_off)
{
	return (struct dma_desc){ .op = DMA_OP_MEDIA_TO_RAM, .iova = iova, .len = len, .media_off = media_off };
}

/* RAM -> media of RAM filled with the pattern the device verifies. */
static struct dma_desc to_media(uint64_t iova, uint64_t len, uint64_t media_off, uint64_t seed)
{
	fill_pattern(host(iova), len, seed, media_off);
	return (struct dma_desc){ .op = DMA_OP_RAM_TO_MEDIA, .iova = iova, .len = len, .media_off = media_off,
				  .pattern_seed = seed };
}

static void check_ram(uint64_t iova, uint64_t len, uint64_t seed, uint64_t origin, const char *what)
{
	TEST_ASSERT(check_pattern(host(iova), len, seed, origin) < 0, "%s: wrong data in RAM", what);
}

int main(void)
{
	struct pin_options po = { .backend = PIN_MOCK };
	struct dma_config cfg = { .nr_queues = 1, .media_bytes = MEDIA_BYTES, .vm_fd = -1, .verify_writes = true };
	struct pin_dma_map m = { .iova = RAM_IOVA, .size = 14 * MiB, .flags = PIN_DMA_READ | PIN_DMA_WRITE,
				 .page_size = 4096 };
	uint64_t ring_iova = RAM_IOVA, n;
	struct pin_container *pins;
	struct dma_desc d[40];
	struct dma_stats s;
	struct err e = { 0 };
	uint32_t st[40];

	ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(ram != MAP_FAILED, "memory for the fake guest");
	m.vaddr = (uintptr_t)ram;
	TEST_ASSERT(pin_container_open(&po, &pins, &e) == 0 && pin_map_dma(pins, &m, &e) == 0, "pins: %s", e.msg);
	TEST_ASSERT(dma_engine_create(&cfg, pins, NULL, &dma, &e) == 0, "create: %s", e.msg);
	TEST_ASSERT(dma_engine_set_rings(dma, 1, &ring_iova, ENTRIES, &e) == 0, "rings: %s", e.msg);
	hring_init(&r, host(ring_iova), ENTRIES, dma, 0);
	TEST_ASSERT(dma_engine_start(dma, &e) == 0, "start: %s", e.msg);
	dma_media_write_slice(MEDIA_BYTES, 1, 0, &wr, &(uint64_t){ 0 });

	/* Independent transfers: one batch. */
	for (unsigned i = 0; i < 8; i++)
		d[i] = to_ram(2 * MiB + i * 65536ULL, 65536, 4096 + i * 100000ULL);
	n = run_together(d, 8, st);
	for (unsigned i = 0; i < 8; i++) {
		TEST_ASSERT(st[i] == DMA_ST_OK, "independent %u: status %u", i, st[i]);
		check_ram(d[i].iova, d[i].len, DMA_MEDIA_SEED, d[i].media_off, "independent");
	}
	TEST_ASSERT(n == 1, "8 independent descriptors in %" PRIu64 " batches, want 1", n);

	/* 40 independent: batches of at most 32. */
	for (unsigned i = 0; i < 40; i++)
		d[i] = to_ram(4 * MiB + i * 8192ULL, 4096, i * 4096ULL);
	n = run_together(d, 40, st);
	for (unsigned i = 0; i < 40; i++)
		TEST_ASSERT(st[i] == DMA_ST_OK, "40 independent, %u: status %u", i, st[i]);
	TEST_ASSERT(n == 2, "40 independent descriptors in %" PRIu64 " batches, want 2", n);

	/* RAM X -> media, then media -> RAM X: the second must not overwrite X before the
	 * first read it (the device's verification would catch it). */
	d[0] = to_media(6 * MiB, MiB, wr, 0x51);
	d[1] = to_ram(6 * MiB, MiB, 0);
	n = run_together(d, 2, st);
	TEST_ASSERT(st[0] == DMA_ST_OK && st[1] == DMA_ST_OK, "RAM reuse: status %u %u", st[0], st[1]);
	check_ram(6 * MiB, MiB, DMA_MEDIA_SEED, 0, "RAM reuse");
	TEST_ASSERT(n == 2, "read-then-overwrite of RAM in %" PRIu64 " batches, want 2", n);

	/* Two writes of the same media bytes with different data, then an independent read: each
	 * write is verified before the next lands. */
	d[0] = to_media(7 * MiB, 65536, wr + 4096, 0x61);
	d[1] = to_media(8 * MiB, 65536, wr + 4096, 0x62);
	d[2] = to_ram(9 * MiB, 65536, 8192);
	n = run_together(d, 3, st);
	TEST_ASSERT(st[0] == DMA_ST_OK && st[1] == DMA_ST_OK && st[2] == DMA_ST_OK, "media reuse: status %u %u %u",
		    st[0], st[1], st[2]);
	TEST_ASSERT(n == 2, "media rewrite in %" PRIu64 " batches, want 2", n);

	/* RAM->RAM is served alone (two calls through the queue's media scratch). */
	d[0] = to_ram(10 * MiB, 65536, 0);
	d[1] = (struct dma_desc){ .op = DMA_OP_RAM_TO_RAM, .iova = 11 * MiB, .iova2 = 12 * MiB, .len = 65536,
				  .pattern_seed = 0x71 };
	fill_pattern(host(11 * MiB), 65536, 0x71, 0);
	d[2] = to_ram(13 * MiB, 65536, 0);
	n = run_together(d, 3, st);
	TEST_ASSERT(st[0] == DMA_ST_OK && st[1] == DMA_ST_OK && st[2] == DMA_ST_OK, "RAM->RAM: status %u %u %u",
		    st[0], st[1], st[2]);
	check_ram(12 * MiB, 65536, 0x71, 0, "RAM->RAM");
	TEST_ASSERT(n == 4, "media->RAM, RAM->RAM, media->RAM in %" PRIu64 " calls, want 4", n);

	/* A transfer over the next descriptor of the ring: that descriptor is read after it
	 * landed, as one-by-one service would, so the media bytes decide what it asks for. */
	{
		uint64_t media_off = 0;
		uint32_t slot = (r.prod + 1) % ENTRIES, op;

		/* A media offset whose bytes make a descriptor with an invalid op. */
		for (;; media_off += 64) {
			uint8_t b[4];

			for (int i = 0; i < 4; i++)
				b[i] = dma_pattern_byte(DMA_MEDIA_SEED, media_off + (uint64_t)i);
			memcpy(&op, b, 4);
			if (op < DMA_OP_MEDIA_TO_RAM || op > DMA_OP_RAM_TO_RAM)
				break;
		}
		d[0] = to_ram(ring_iova + sizeof(struct dma_ring_header) + slot * sizeof(struct dma_desc),
			      sizeof(struct dma_desc), media_off);
		d[1] = to_ram(2 * MiB, 4096, 0);	/* valid as posted; overwritten by d[0] */
		d[2] = to_ram(3 * MiB, 4096, 0);
		dma_engine_get_stats(dma, &s);
		n = s.bad_ops;
		TEST_ASSERT(run_together(d, 3, st) == 2, "a transfer into the ring is served alone");
		TEST_ASSERT(st[0] == DMA_ST_OK && st[1] == DMA_ST_BAD_OP && st[2] == DMA_ST_OK,
			    "ring overwrite: status %u %u %u (want 1 3 1)", st[0], st[1], st[2]);
		dma_engine_get_stats(dma, &s);
		TEST_ASSERT(s.bad_ops == n + 1, "one bad op counted");
	}

	dma_engine_stop_and_drain(dma);
	dma_engine_get_stats(dma, &s);
	TEST_ASSERT(s.transfers == 8 + 40 + 2 + 3 + 3 + 2 && s.host_verify_failures == 0 && s.iommu_faults == 0,
		    "transfers %" PRIu64 " verify failures %" PRIu64 " faults %" PRIu64, s.transfers,
		    s.host_verify_failures, s.iommu_faults);
	dma_engine_destroy(dma);
	pin_container_close(pins);
	munmap(ram, RAM_BYTES);
	printf("PASS: %" PRIu64 " transfers in %" PRIu64 " calls; hazards, RAM->RAM and ring writes split batches\n",
	       s.transfers, s.batches);
	return T_PASS;
}
