/* pin_dma_rw_batch on the backend named by argv[1] (mock: copies through the host mapping;
 * io_uring: one submit of READ_FIXED/WRITE_FIXED pieces): a faulting op in the middle of a
 * batch touches nothing while the others complete, ops across the 1 GiB registered-buffer
 * edge and across two mappings, the result and sentence of the first failed op, batches of
 * more pieces than fit on the stack, and two threads batching on the shared ring at once. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pinning/pin.h"
#include "validate/vmstat.h"
#include "test.h"

#define MiB (1ull << 20)
#define G1 (1ull << 30)
#define RAM (G1 + 8 * MiB)
#define MEDIA (32 * MiB)
#define BASE 0x100000000ull		/* iova of RAM */
#define ADJ_IOVA (BASE + RAM)		/* 1 MiB mapped right after RAM, elsewhere in the host */
#define ADJ_BYTES MiB
#define RO_IOVA 0x800000000ull		/* 1 MiB read-only */

static struct pin_container *c;
static char *ram, *adj, *ro, *buf;	/* buf: what the media held at the start */
static int media;

static uint32_t word(uint32_t seed, uint64_t i)
{
	return seed * 2654435761u + (uint32_t)i;
}

static void fill(char *p, uint64_t len, uint32_t seed)
{
	for (uint64_t i = 0; i < len; i += 4)
		*(uint32_t *)(p + i) = word(seed, i);
}

static bool holds(const char *p, uint64_t len, uint32_t seed)
{
	for (uint64_t i = 0; i < len; i += 4)
		if (*(const uint32_t *)(p + i) != word(seed, i))
			return false;
	return true;
}

static bool all(const char *p, uint64_t len, unsigned char v)
{
	for (uint64_t i = 0; i < len; i++)
		if ((unsigned char)p[i] != v)
			return false;
	return true;
}

static struct pin_dma_op op(uint64_t media_off, uint64_t iova, uint64_t len, bool to_ram)
{
	return (struct pin_dma_op){ .media_off = media_off, .iova = iova, .len = len, .to_ram = to_ram,
				    .res = 12345 };
}

/* A fault in the middle: the faulting ops touch nothing, the others complete. */
static void check_mixed_batch(void)
{
	struct pin_dma_op ops[6];
	struct err e = { 0 };
	char *mbuf = malloc(MiB);
	int ret;

	TEST_ASSERT(mbuf, "memory");
	memset(ram + RAM - 4 * MiB, 0xee, 4 * MiB);
	memset(adj, 0xee, ADJ_BYTES);
	memset(ro, 0xee, MiB);
	fill(ram + 16 * MiB, MiB, 9);
	ops[0] = op(0, BASE + G1 - 4 * MiB, 8 * MiB, true);		/* across the 1 GiB edge */
	ops[1] = op(0, ADJ_IOVA + ADJ_BYTES - 4096, 8192, true);	/* runs off into nothing */
	ops[2] = op(16 * MiB, BASE + 16 * MiB, MiB, false);		/* RAM -> media */
	ops[3] = op(0, RO_IOVA, 4096, true);				/* write to read-only */
	ops[4] = op(4 * MiB, BASE + RAM - 8192, 16384, true);		/* across two mappings */
	ops[5] = op(8 * MiB, BASE + 32 * MiB, 4096, true);
	ret = pin_dma_rw_batch(c, media, ops, 6, &e);
	TEST_ASSERT(ret == -EFAULT, "the batch returns its first failure (-EFAULT), got %d", ret);
	TEST_ASSERT(strstr(e.msg, "IOMMU fault") && strstr(e.msg, "0x140900000"),
		    "the sentence names op 1's fault: %s", e.msg);
	TEST_ASSERT(ops[0].res == 0 && ops[1].res == -EFAULT && ops[2].res == 0 && ops[3].res == -EFAULT &&
		    ops[4].res == 0 && ops[5].res == 0, "results %d %d %d %d %d %d", ops[0].res, ops[1].res,
		    ops[2].res, ops[3].res, ops[4].res, ops[5].res);
	TEST_ASSERT(!memcmp(ram + G1 - 4 * MiB, buf, 4 * MiB),
		    "op 0 landed below the edge");
	TEST_ASSERT(!memcmp(ram + G1, buf + 4 * MiB, 4 * MiB), "op 0 landed above the edge");
	TEST_ASSERT(all(adj + 8192, ADJ_BYTES - 8192, 0xee), "the faulting op 1 wrote nothing");
	TEST_ASSERT(all(ro, MiB, 0xee), "the faulting op 3 wrote nothing");
	TEST_ASSERT(pread(media, mbuf, MiB, 16 * MiB) == (ssize_t)MiB && holds(mbuf, MiB, 9),
		    "op 2 put the RAM bytes on the media");
	TEST_ASSERT(!memcmp(ram + RAM - 8192, buf + 4 * MiB, 8192) && !memcmp(adj, buf + 4 * MiB + 8192, 8192),
		    "op 4 landed in both mappings");
	TEST_ASSERT(!memcmp(ram + 32 * MiB, buf + 8 * MiB, 4096), "op 5 landed");
	free(mbuf);
}

/* The first failed op decides the result even when a later op failed its check first. */
static void check_first_failure(void)
{
	struct pin_dma_op ops[3] = { op(8 * MiB, BASE + 40 * MiB, 4096, true),
				     op(MEDIA - 4096, BASE + 44 * MiB, 8192, true),	/* short media */
				     op(0, BASE, 0, true) };				/* empty */
	struct err e = { 0 };
	int ret = pin_dma_rw_batch(c, media, ops, 3, &e);

	TEST_ASSERT(ret == -EIO && ops[0].res == 0 && ops[1].res == -EIO && ops[2].res == -EINVAL,
		    "short media op 1 decides (-EIO), got %d (%d %d %d)", ret, ops[0].res, ops[1].res, ops[2].res);
	TEST_ASSERT(strstr(e.msg, "media ends before offset"), "sentence of op 1: %s", e.msg);
	TEST_ASSERT(!memcmp(ram + 40 * MiB, buf + 8 * MiB, 4096), "op 0 of a failing batch landed");
	TEST_ASSERT(pin_dma_rw_batch(c, media, ops, 0, &e) == 0, "an empty batch does nothing");
}

/* 100 ops of 4 KiB and one across the edge: more pieces than the stack arrays hold. */
static void check_big_batch(void)
{
	struct pin_dma_op ops[101];
	struct err e = { 0 };

	memset(ram + 64 * MiB, 0, 100 * 8192);
	for (unsigned i = 0; i < 100; i++)
		ops[i] = op((uint64_t)i * 8192, BASE + 64 * MiB + (uint64_t)i * 8192, 4096, true);
	memset(ram + G1 - 4096, 0, 8192);
	ops[100] = op(12 * MiB, BASE + G1 - 4096, 8192, true);
	TEST_ASSERT(pin_dma_rw_batch(c, media, ops, 101, &e) == 0, "101 ops: %s", e.msg);
	for (unsigned i = 0; i < 100; i++)
		TEST_ASSERT(ops[i].res == 0 && !memcmp(ram + 64 * MiB + (uint64_t)i * 8192, buf + (uint64_t)i * 8192, 4096),
			    "op %u of 100", i);
	TEST_ASSERT(!memcmp(ram + G1 - 4096, buf + 12 * MiB, 8192), "the op across the edge");
}

struct worker {
	int id;
	int failures;
};

/* Round trips of 16 ops per batch: RAM -> media, RAM cleared, media -> RAM, compared. */
static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t roff = 128 * MiB + (uint64_t)w->id * 4 * MiB, moff = 20 * MiB + (uint64_t)w->id * 4 * MiB;

	for (int it = 0; it < 100; it++) {
		struct pin_dma_op ops[16];
		struct err e = { 0 };
		uint32_t seed = (uint32_t)(w->id * 1000 + it);

		for (unsigned i = 0; i < 16; i++) {
			fill(ram + roff + i * 65536ull, 65536, seed + i);
			ops[i] = op(moff + i * 65536ull, BASE + roff + i * 65536ull, 65536, false);
		}
		if (pin_dma_rw_batch(c, media, ops, 16, &e))
			w->failures++;
		memset(ram + roff, 0, 16 * 65536);
		for (unsigned i = 0; i < 16; i++)
			ops[i].to_ram = true;
		if (pin_dma_rw_batch(c, media, ops, 16, &e))
			w->failures++;
		for (unsigned i = 0; i < 16; i++)
			if (!holds(ram + roff + i * 65536ull, 65536, seed + i))
				w->failures++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct pin_options opt = { .backend = PIN_MOCK };
	struct pin_dma_map m = { .iova = BASE, .size = RAM, .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	struct pin_dma_map madj = { .iova = ADJ_IOVA, .size = ADJ_BYTES, .flags = PIN_DMA_READ | PIN_DMA_WRITE,
				    .page_size = 4096 };
	struct pin_dma_map mro = { .iova = RO_IOVA, .size = MiB, .flags = PIN_DMA_READ, .page_size = 4096 };
	struct worker w[2];
	pthread_t th[2];
	struct err e = { 0 };
	uint64_t vmpin = 0;

	TEST_ASSERT(argc == 2 && pin_backend_parse(argv[1], &opt.backend) == 0, "usage: %s mock|io_uring", argv[0]);
	ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	adj = mmap(NULL, ADJ_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	buf = malloc(MEDIA);
	TEST_ASSERT(ram != MAP_FAILED && adj != MAP_FAILED && ro != MAP_FAILED && buf, "memory");
	media = memfd_create("daxvm-batch-media", MFD_CLOEXEC);
	TEST_ASSERT(media >= 0 && ftruncate(media, MEDIA) == 0, "media");
	fill(buf, MEDIA, 7);
	TEST_ASSERT(pwrite(media, buf, MEDIA, 0) == (ssize_t)MEDIA, "media fill");
	if (pin_container_open(&opt, &c, &e) == -ENODEV)
		TEST_REQUIRE(0, "%s", e.msg);
	TEST_ASSERT(c, "open: %s", e.msg);
	m.vaddr = (uintptr_t)ram;
	madj.vaddr = (uintptr_t)adj;
	mro.vaddr = (uintptr_t)ro;
	TEST_ASSERT(pin_map_dma(c, &m, &e) == 0 && pin_map_dma(c, &madj, &e) == 0 && pin_map_dma(c, &mro, &e) == 0,
		    "map: %s", e.msg);

	check_mixed_batch();
	check_first_failure();
	check_big_batch();
	for (int i = 0; i < 2; i++) {
		w[i] = (struct worker){ .id = i };
		TEST_ASSERT(pthread_create(&th[i], NULL, work, &w[i]) == 0, "thread");
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		TEST_ASSERT(w[i].failures == 0, "thread %d: %d failed transfers or wrong data", i, w[i].failures);
	}
	pin_container_close(c);
	TEST_ASSERT(vmstat_self_kib("VmPin", &vmpin, NULL) == 0 && vmpin == 0, "everything unpinned at close");
	printf("PASS (%s): fault mid-batch touched nothing, 1 GiB edge, two mappings, first failure, 101 ops, "
	       "2 threads x 200 batches of 16\n", argv[1]);
	free(buf);
	close(media);
	munmap(ro, MiB);
	munmap(adj, ADJ_BYTES);
	munmap(ram, RAM);
	return T_PASS;
}
