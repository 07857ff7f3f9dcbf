/* Unit test: the DMA engine against the mock pin backend with a host-side ring. Each op moves
 * the right bytes; every kind of IOMMU fault completes with a fault, is counted exactly and
 * touches neither RAM nor media; bad op / length / media range are refused. */
#include <inttypes.h>
#include <stdint.h>
#include <sys/mman.h>

#include "common/report.h"
#include "devices/dma_engine.h"
#include "dma_host_ring.h"
#include "test.h"

#define MiB (1ULL << 20)
#define RAM_BYTES (16 * MiB)
/* Mappings: M1 iova [1, 7) MiB -> host [0, 6) MiB; M2 iova [7, 11) MiB -> host [8, 12) MiB
 * (IOVA-adjacent, host-apart); M3 iova [32, 34) MiB -> host [12, 14) MiB, read-only.
 * Host [6, 8) and [14, 16) MiB are never mapped. */
#define M1_IOVA (1 * MiB)
#define M2_IOVA (7 * MiB)
#define M3_IOVA (32 * MiB)
#define UNMAPPED_IOVA (16 * MiB)

static uint8_t *ram;

static uint8_t *host_of(uint64_t iova)
{
	if (iova >= M1_IOVA && iova < M2_IOVA)
		return ram + (iova - M1_IOVA);
	if (iova >= M2_IOVA && iova < 11 * MiB)
		return ram + 8 * MiB + (iova - M2_IOVA);
	if (iova >= M3_IOVA && iova < M3_IOVA + 2 * MiB)
		return ram + 12 * MiB + (iova - M3_IOVA);
	return NULL;
}

static void map(struct pin_container *pins, uint64_t iova, uint64_t host_off, uint64_t size,
		uint32_t flags)
{
	struct pin_dma_map m = { .vaddr = (uintptr_t)ram + host_off, .iova = iova, .size = size,
				 .flags = flags, .page_size = 4096 };
	struct err e = { 0 };

	TEST_ASSERT(pin_map_dma(pins, &m, &e) == 0, "map iova 0x%" PRIx64 ": %s", iova, e.msg);
}

static void check_ram_pattern(uint64_t iova, uint64_t len, uint64_t seed, uint64_t origin)
{
	for (uint64_t done = 0; done < len;) {
		uint64_t a = iova + done;
		uint64_t n = (a < M2_IOVA && a + (len - done) > M2_IOVA) ? M2_IOVA - a : len - done;
		long bad = check_pattern(host_of(a), n, seed, origin + done);

		TEST_ASSERT(bad < 0, "wrong byte at iova 0x%" PRIx64, a + (uint64_t)bad);
		done += n;
	}
}

static uint64_t media_sum(int fd, uint64_t bytes)
{
	static uint8_t buf[1 << 16];
	uint64_t h = 1469598103934665603ULL;

	for (uint64_t off = 0; off < bytes; off += sizeof(buf)) {
		TEST_ASSERT(pread(fd, buf, sizeof(buf), (off_t)off) == (ssize_t)sizeof(buf), "media read");
		for (size_t i = 0; i < sizeof(buf); i += 8)
			h = (h ^ *(uint64_t *)(buf + i)) * 1099511628211ULL;
	}
	return h;
}

int main(void)
{
	struct pin_options po = { .backend = PIN_MOCK };
	struct dma_config cfg = { .nr_queues = 1, .media_bytes = 8 * MiB, .vm_fd = -1,
				  .verify_writes = true };
	uint64_t rings[3] = { M1_IOVA, 0x5000000, M1_IOVA + 0x80000 };
	struct pin_container *pins;
	struct dma_engine *dma;
	struct err e = { 0 };
	struct hring r;
	struct dma_stats s;
	uint64_t wr, bytes = 0, sum0;
	uint8_t *snap;
	int media;

	ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	snap = malloc(RAM_BYTES);
	TEST_ASSERT(ram != MAP_FAILED && snap, "memory for the fake guest");
	memset(ram, 0x5a, RAM_BYTES);
	TEST_ASSERT(pin_container_open(&po, &pins, &e) == 0, "mock container: %s", e.msg);
	map(pins, M1_IOVA, 0, 6 * MiB, PIN_DMA_READ | PIN_DMA_WRITE);
	map(pins, M2_IOVA, 8 * MiB, 4 * MiB, PIN_DMA_READ | PIN_DMA_WRITE);
	map(pins, M3_IOVA, 12 * MiB, 2 * MiB, PIN_DMA_READ);
	TEST_ASSERT(dma_engine_create(&cfg, pins, NULL, &dma, &e) == 0, "create: %s", e.msg);
	TEST_ASSERT(dma_engine_set_rings(dma, 3, rings, 64, &e) == 0, "rings: %s", e.msg);
	hring_init(&r, host_of(M1_IOVA), 64, dma, 0);
	TEST_ASSERT(dma_engine_start(dma, &e) == 0, "start: %s", e.msg);
	media = dma_engine_media_fd(dma);
	dma_media_write_slice(8 * MiB, 3, 0, &wr, &(uint64_t){ 0 });

	/* media -> RAM, odd address and length, neighbours untouched. */
	struct dma_desc d = { .op = DMA_OP_MEDIA_TO_RAM, .iova = 0x200007, .len = 100003, .media_off = 12345 };
	TEST_ASSERT(hring_run(&r, &d) == DMA_ST_OK, "media->RAM");
	check_ram_pattern(d.iova, d.len, DMA_MEDIA_SEED, d.media_off);
	TEST_ASSERT(host_of(d.iova)[-1] == 0x5a && host_of(d.iova)[d.len] == 0x5a, "neighbours of media->RAM");
	bytes += d.len;
	/* media -> RAM across two IOVA-adjacent mappings that are apart in the host. */
	d = (struct dma_desc){ .op = DMA_OP_MEDIA_TO_RAM, .iova = M2_IOVA - 5000, .len = 70001, .media_off = 777 };
	TEST_ASSERT(hring_run(&r, &d) == DMA_ST_OK, "media->RAM across mappings");
	check_ram_pattern(d.iova, d.len, DMA_MEDIA_SEED, d.media_off);
	TEST_ASSERT(ram[6 * MiB] == 0x5a && ram[8 * MiB - 1] == 0x5a, "unmapped host gap untouched");
	bytes += d.len;
	/* RAM -> media, verified by the device and here. */
	d = (struct dma_desc){ .op = DMA_OP_RAM_TO_MEDIA, .iova = 0x300003, .len = 300000, .media_off = wr + 4099,
			       .pattern_seed = 0x1234 };
	fill_pattern(host_of(d.iova), d.len, d.pattern_seed, d.media_off);
	TEST_ASSERT(hring_run(&r, &d) == DMA_ST_OK, "RAM->media");
	{
		uint8_t *buf = malloc(d.len);

		TEST_ASSERT(buf && pread(media, buf, d.len, (off_t)d.media_off) == (ssize_t)d.len, "read media");
		TEST_ASSERT(check_pattern(buf, d.len, d.pattern_seed, d.media_off) < 0, "media holds the RAM data");
		free(buf);
	}
	bytes += d.len;
	/* RAM -> media from a read-only mapping is allowed. */
	d = (struct dma_desc){ .op = DMA_OP_RAM_TO_MEDIA, .iova = M3_IOVA + 100, .len = 8192, .media_off = wr,
			       .pattern_seed = 77 };
	fill_pattern(host_of(d.iova), d.len, d.pattern_seed, d.media_off);
	TEST_ASSERT(hring_run(&r, &d) == DMA_ST_OK, "RAM->media from a read-only mapping");
	bytes += d.len;
	/* RAM -> media with data that is not the pattern: the device's check catches it. */
	d = (struct dma_desc){ .op = DMA_OP_RAM_TO_MEDIA, .iova = 0x300000, .len = 4096, .media_off = wr,
			       .pattern_seed = 0x1234 };
	fill_pattern(host_of(d.iova), d.len, 0x999, d.media_off);
	TEST_ASSERT(hring_run(&r, &d) == DMA_ST_VERIFY_FAIL, "wrong data must fail the device's check");
	/* RAM -> RAM, 2 MiB, destination running into the second mapping. */
	d = (struct dma_desc){ .op = DMA_OP_RAM_TO_RAM, .iova = 0x400001, .iova2 = 0x600003, .len = 2 * MiB,
			       .pattern_seed = 4242 };
	fill_pattern(host_of(d.iova), d.len, d.pattern_seed, 0);
	TEST_ASSERT(hring_run(&r, &d) == DMA_ST_OK, "RAM->RAM");
	check_ram_pattern(d.iova2, d.len, d.pattern_seed, 0);
	bytes += d.len;

	/* Faults and refusals: nothing in RAM or media may change. */
	memcpy(snap, ram, RAM_BYTES);
	sum0 = media_sum(media, 8 * MiB);
	static const struct { struct dma_desc d; uint32_t st; const char *what; } bad[] = {
		{ { .op = DMA_OP_MEDIA_TO_RAM, .iova = UNMAPPED_IOVA, .len = 4096 }, DMA_ST_IOMMU_FAULT, "unmapped" },
		{ { .op = DMA_OP_MEDIA_TO_RAM, .iova = 11 * MiB - 2048, .len = 4096 }, DMA_ST_IOMMU_FAULT, "runs off a mapping" },
		{ { .op = DMA_OP_MEDIA_TO_RAM, .iova = UINT64_MAX - 1000, .len = 4096 }, DMA_ST_IOMMU_FAULT, "wraps the IOVA space" },
		{ { .op = DMA_OP_MEDIA_TO_RAM, .iova = 1ULL << 40, .len = 4096 }, DMA_ST_IOMMU_FAULT, "out of range" },
		{ { .op = DMA_OP_MEDIA_TO_RAM, .iova = M3_IOVA, .len = 4096 }, DMA_ST_IOMMU_FAULT, "write to read-only" },
		{ { .op = DMA_OP_RAM_TO_MEDIA, .iova = UNMAPPED_IOVA, .len = 4096, .media_off = 4 * MiB + 8192 }, DMA_ST_IOMMU_FAULT, "read unmapped" },
		{ { .op = DMA_OP_RAM_TO_RAM, .iova = 0x200000, .iova2 = UNMAPPED_IOVA - 100, .len = 4096 }, DMA_ST_IOMMU_FAULT, "bad RAM->RAM destination" },
		{ { .op = DMA_OP_RAM_TO_RAM, .iova = 11 * MiB - 10, .iova2 = 0x200000, .len = 4096 }, DMA_ST_IOMMU_FAULT, "bad RAM->RAM source" },
		{ { .op = 0, .iova = 0x200000, .len = 4096 }, DMA_ST_BAD_OP, "op 0" },
		{ { .op = 99, .iova = 0x200000, .len = 4096 }, DMA_ST_BAD_OP, "op 99" },
		{ { .op = DMA_OP_MEDIA_TO_RAM, .iova = 0x200000, .len = 0 }, DMA_ST_BAD_LEN, "zero length" },
		{ { .op = DMA_OP_MEDIA_TO_RAM, .iova = 0x200000, .len = DMA_MAX_DESC_LEN + 1 }, DMA_ST_BAD_LEN, "too long" },
		{ { .op = DMA_OP_RAM_TO_MEDIA, .iova = 0x200000, .len = 4096, .media_off = 0 }, DMA_ST_MEDIA_RANGE, "write into the read region" },
		{ { .op = DMA_OP_MEDIA_TO_RAM, .iova = 0x200000, .len = 4096, .media_off = 8 * MiB - 4096 }, DMA_ST_MEDIA_RANGE, "read the private scratch" },
		{ { .op = DMA_OP_MEDIA_TO_RAM, .iova = 0x200000, .len = 4096, .media_off = UINT64_MAX - 100 }, DMA_ST_MEDIA_RANGE, "media offset wraps" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t st = hring_run(&r, &bad[i].d);

		TEST_ASSERT(st == bad[i].st, "%s: status %u, expected %u", bad[i].what, st, bad[i].st);
	}
	/* The ring itself (first 8 KiB) takes completions; nothing else may change. */
	TEST_ASSERT(memcmp(snap + 8192, ram + 8192, RAM_BYTES - 8192) == 0, "a refused descriptor changed RAM");
	TEST_ASSERT(media_sum(media, 8 * MiB) == sum0, "a refused descriptor changed the media");
	r.hdr->faults_injected = 8;	/* what a guest would count for the 8 faults above */

	/* A ring whose header is unmapped, and one never initialised. */
	dma_engine_kick(dma, 1);
	dma_engine_kick(dma, 2);
	for (int i = 0; i < 1000; i++) {
		dma_engine_get_stats(dma, &s);
		if (s.ring_faults && s.ring_errors)
			break;
		usleep(2000);
	}
	dma_engine_stop_and_drain(dma);
	dma_engine_get_stats(dma, &s);
	TEST_ASSERT(s.transfers == 5 && s.bytes == bytes, "transfers %" PRIu64 " bytes %" PRIu64 " (want 5, %" PRIu64 ")",
		    s.transfers, s.bytes, bytes);
	TEST_ASSERT(s.iommu_faults == 9 && s.ring_faults == 1, "faults %" PRIu64 " ring %" PRIu64 " (want 9, 1)",
		    s.iommu_faults, s.ring_faults);
	TEST_ASSERT(s.bad_ops == 2 && s.bad_lens == 2 && s.media_range == 3 && s.ring_errors == 1,
		    "refusals: op %" PRIu64 " len %" PRIu64 " media %" PRIu64 " ring %" PRIu64,
		    s.bad_ops, s.bad_lens, s.media_range, s.ring_errors);
	TEST_ASSERT(s.host_verify_failures == 1 && s.first_failure_gpa >= 0x300000 &&
		    s.first_failure_gpa < 0x301000, "verify failure at 0x%" PRIx64, s.first_failure_gpa);
	TEST_ASSERT(__atomic_load_n(&r.hdr->cons, __ATOMIC_ACQUIRE) == r.prod, "cons %u prod %u", r.hdr->cons, r.prod);

	struct report *rep = report_new();
	uint64_t v;

	TEST_ASSERT(rep && dma_engine_fill_report(dma, rep) == 0, "report");
	TEST_ASSERT(report_get_u64(rep, "dma.iommu_faults", &v) && v == 9, "dma.iommu_faults");
	TEST_ASSERT(report_get_u64(rep, "dma.faults_injected", &v) && v == 8, "dma.faults_injected %" PRIu64, v);
	TEST_ASSERT(report_get_u64(rep, "dma.verify_failures", &v) && v == 1, "dma.verify_failures");
	TEST_ASSERT(report_get_u64(rep, "dma.transfers", &v) && v == 5, "dma.transfers");
	TEST_ASSERT(report_get_u64(rep, "dma.queues", &v) && v == 1, "dma.queues");
	TEST_ASSERT(strcmp(report_get_str(rep, "dma.media"), "memfd") == 0, "dma.media");
	{
		char why[256];

		TEST_ASSERT(!dma_engine_verdict_ok(dma, why, sizeof(why)), "a verify failure must fail the verdict");
		printf("verdict: %s\n", why);
	}
	report_free(rep);
	dma_engine_destroy(dma);
	pin_container_close(pins);
	munmap(ram, RAM_BYTES);
	free(snap);
	printf("PASS: 5 transfers (%" PRIu64 " bytes), 9 IOMMU faults, 7 refusals, 1 device verify failure\n", bytes);
	return T_PASS;
}
