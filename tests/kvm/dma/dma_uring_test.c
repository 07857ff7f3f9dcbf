/* KVM-suite test: the DMA engine on real io_uring pins (registered buffers over memfd guest
 * RAM) with KVM ioeventfd doorbells registered on a real VM: data verified byte for byte
 * across 2 MiB, 1 GiB-buffer and mapping boundaries, two queues at once, IOMMU faults, the
 * drain on stop with work in flight, and a file given as media. */
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "devices/dma_engine.h"
#include "dma_host_ring.h"
#include "test.h"
#include "kvm/common/kvm_require.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define LOW_BYTES (GiB + 8 * MiB)	/* mapping A at iova 0: two registered buffers (1 GiB max each) */
#define B_IOVA LOW_BYTES		/* mapping B right after it in IOVA, another memfd */
#define B_BYTES (8 * MiB)
#define ENTRIES 64

static uint8_t *ram_a, *ram_b;

static uint8_t *host_of(uint64_t iova)
{
	return iova < B_IOVA ? ram_a + iova : ram_b + (iova - B_IOVA);
}

static void check_ram(uint64_t iova, uint64_t len, uint64_t seed, uint64_t origin, const char *what)
{
	for (uint64_t done = 0; done < len;) {
		uint64_t a = iova + done;
		uint64_t n = (a < B_IOVA && a + (len - done) > B_IOVA) ? B_IOVA - a : len - done;
		long bad = check_pattern(host_of(a), n, seed, origin + done);

		TEST_ASSERT(bad < 0, "%s: wrong byte at iova 0x%" PRIx64, what, a + (uint64_t)bad);
		done += n;
	}
}

static void zero_ram(uint64_t iova, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		uint64_t a = iova + done;
		uint64_t n = (a < B_IOVA && a + (len - done) > B_IOVA) ? B_IOVA - a : len - done;

		memset(host_of(a), 0, n);
		done += n;
	}
}

static void check_media(int fd, uint64_t off, uint64_t len, uint64_t seed, const char *what)
{
	uint8_t *buf = malloc(len);

	TEST_ASSERT(buf && pread(fd, buf, len, (off_t)off) == (ssize_t)len, "%s: read media", what);
	TEST_ASSERT(check_pattern(buf, len, seed, off) < 0, "%s: media differs", what);
	free(buf);
}

static uint8_t *memfd_ram(uint64_t bytes)
{
	int fd = memfd_create("dma-test-ram", MFD_CLOEXEC);
	void *p;

	TEST_ASSERT(fd >= 0 && ftruncate(fd, (off_t)bytes) == 0, "memfd of %" PRIu64 " bytes", bytes);
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(p != MAP_FAILED, "map memfd");
	close(fd);
	return p;
}

static void map(struct pin_container *pins, void *host, uint64_t iova, uint64_t size)
{
	struct pin_dma_map m = { .vaddr = (uintptr_t)host, .iova = iova, .size = size,
				 .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	struct err e = { 0 };

	TEST_ASSERT(pin_map_dma(pins, &m, &e) == 0, "io_uring pin of %" PRIu64 " MiB: %s", size >> 20, e.msg);
}

/* Boundary crossings, one by one, on ring r. */
static uint64_t crossings(struct hring *r, int media, uint64_t wr)
{
	const struct { uint32_t op; uint64_t iova, iova2, len, media_off; const char *what; } c[] = {
		{ DMA_OP_MEDIA_TO_RAM, 2 * MiB - 997, 0, 300001, 11, "media->RAM across 2 MiB" },
		{ DMA_OP_MEDIA_TO_RAM, 4 * MiB, 0, 2 * MiB, 2 * MiB, "media->RAM, 2 MiB aligned" },
		{ DMA_OP_MEDIA_TO_RAM, GiB - 3 * 4096 + 5, 0, MiB + 17, 4096, "media->RAM across the 1 GiB buffer edge" },
		{ DMA_OP_RAM_TO_MEDIA, GiB - MiB + 1, 0, 2 * MiB, wr + 3, "RAM->media across the 1 GiB buffer edge" },
		{ DMA_OP_MEDIA_TO_RAM, B_IOVA - 5000, 0, 70001, 999, "media->RAM across two mappings" },
		{ DMA_OP_RAM_TO_RAM, 0x100000, B_IOVA - MiB + 1, 2 * MiB, 0, "RAM->RAM into the next mapping" },
		{ DMA_OP_RAM_TO_RAM, GiB - 7, 6 * MiB + 1, 2 * MiB, 0, "RAM->RAM from across 1 GiB" },
	};
	uint64_t bytes = 0;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct dma_desc d = { .op = c[i].op, .iova = c[i].iova, .iova2 = c[i].iova2, .len = c[i].len,
				      .media_off = c[i].media_off, .pattern_seed = 1000 + i };

		/* Sources here never straddle the two mappings; destinations may. */
		if (d.op == DMA_OP_MEDIA_TO_RAM)
			zero_ram(d.iova, d.len);	/* stale data must not pass */
		else
			fill_pattern(host_of(d.iova), d.len, d.pattern_seed,
				     d.op == DMA_OP_RAM_TO_MEDIA ? d.media_off : 0);
		if (d.op == DMA_OP_RAM_TO_RAM)
			zero_ram(d.iova2, d.len);
		TEST_ASSERT(hring_run(r, &d) == DMA_ST_OK, "%s: status", c[i].what);
		if (d.op == DMA_OP_MEDIA_TO_RAM)
			check_ram(d.iova, d.len, DMA_MEDIA_SEED, d.media_off, c[i].what);
		else if (d.op == DMA_OP_RAM_TO_MEDIA)
			check_media(media, d.media_off, d.len, d.pattern_seed, c[i].what);
		else
			check_ram(d.iova2, d.len, d.pattern_seed, 0, c[i].what);
		bytes += d.len;
	}
	return bytes;
}

/* Fills both rings with 2 MiB reads, kicks, and stops at once: all must complete. */
static uint64_t drain(struct dma_engine *dma, struct hring *r0, struct hring *r1, unsigned *in_flight)
{
	struct dma_desc *slots[2][ENTRIES - 1];
	struct hring *rs[2] = { r0, r1 };
	uint64_t bytes = 0;
	uint32_t done_before = 0;

	for (unsigned k = 0; k < 2; k++) {
		for (unsigned i = 0; i < ENTRIES - 1; i++) {
			struct dma_desc d = { .op = DMA_OP_MEDIA_TO_RAM, .len = 2 * MiB,
					      .iova = 64 * MiB + (k * (ENTRIES - 1) + i) * 2 * MiB + k,
					      .media_off = (i % 8) * 2 * MiB + k };

			memset(host_of(d.iova), 0, d.len);
			slots[k][i] = hring_post(rs[k], &d);
		}
		dma_engine_kick(dma, rs[k]->index);
	}
	for (unsigned k = 0; k < 2; k++)
		done_before += __atomic_load_n(&rs[k]->hdr->cons, __ATOMIC_ACQUIRE) - (rs[k]->prod - (ENTRIES - 1));
	dma_engine_stop_and_drain(dma);
	*in_flight = 2 * (ENTRIES - 1) - done_before;
	for (unsigned k = 0; k < 2; k++) {
		TEST_ASSERT(__atomic_load_n(&rs[k]->hdr->cons, __ATOMIC_ACQUIRE) == rs[k]->prod,
			    "ring %u: cons %u != prod %u after the drain", k, rs[k]->hdr->cons, rs[k]->prod);
		for (unsigned i = 0; i < ENTRIES - 1; i++) {
			struct dma_desc *d = slots[k][i];

			TEST_ASSERT(d->status == DMA_ST_OK, "ring %u descriptor %u: status %u after the drain", k, i,
				    d->status);
			check_ram(d->iova, d->len, DMA_MEDIA_SEED, d->media_off, "drained descriptor");
			bytes += d->len;
		}
	}
	return bytes;
}

static void file_media(struct pin_container *pins)
{
	char path[] = "/tmp/daxvm-dma-media-XXXXXX";
	int fd = mkstemp(path);
	struct dma_config cfg = { .nr_queues = 1, .media_path = path, .media_bytes = 8 * MiB, .vm_fd = -1,
				  .verify_writes = true };
	uint64_t ring = B_IOVA + B_BYTES - 64 * 1024;
	struct dma_engine *dma;
	struct err e = { 0 };
	struct hring r;
	uint64_t wr, wl;

	TEST_ASSERT(fd >= 0, "temporary media file");
	close(fd);
	TEST_ASSERT(dma_engine_create(&cfg, pins, NULL, &dma, &e) == 0, "file media: %s", e.msg);
	TEST_ASSERT(dma_engine_set_rings(dma, 1, &ring, 16, &e) == 0 && dma_engine_start(dma, &e) == 0, "%s", e.msg);
	hring_init(&r, host_of(ring), 16, dma, 0);
	dma_media_write_slice(8 * MiB, 1, 0, &wr, &wl);
	struct dma_desc d = { .op = DMA_OP_MEDIA_TO_RAM, .iova = B_IOVA + 12345, .len = MiB, .media_off = 54321 };
	TEST_ASSERT(hring_run(&r, &d) == DMA_ST_OK, "file media -> RAM");
	check_ram(d.iova, d.len, DMA_MEDIA_SEED, d.media_off, "file media -> RAM");
	d = (struct dma_desc){ .op = DMA_OP_RAM_TO_MEDIA, .iova = B_IOVA + 12345, .len = MiB, .media_off = wr + 1,
			       .pattern_seed = 5 };
	fill_pattern(host_of(d.iova), d.len, 5, d.media_off);
	TEST_ASSERT(hring_run(&r, &d) == DMA_ST_OK, "RAM -> file media");
	dma_engine_destroy(dma);
	fd = open(path, O_RDONLY);
	check_media(fd, wr + 1, MiB, 5, "RAM -> file media");
	close(fd);
	unlink(path);
}

int main(void)
{
	struct pin_options po = { .backend = PIN_IO_URING };
	struct pin_container *pins;
	struct dma_engine *dma;
	struct err e = { 0 };
	struct hring r0, r1;
	struct dma_stats s;
	uint64_t rings[2] = { 0, 0x10000 }, bytes, wr, wl;
	unsigned in_flight;
	struct vm vm;

	t_require_vm(&vm);
	ram_a = memfd_ram(LOW_BYTES);
	ram_b = memfd_ram(B_BYTES);
	TEST_ASSERT(pin_container_open(&po, &pins, &e) == 0, "io_uring pinning: %s", e.msg);
	map(pins, ram_a, 0, LOW_BYTES);
	map(pins, ram_b, B_IOVA, B_BYTES);

	struct dma_config cfg = { .nr_queues = 2, .vm_fd = vm.vm_fd, .verify_writes = true };
	TEST_ASSERT(dma_engine_create(&cfg, pins, NULL, &dma, &e) == 0, "create: %s", e.msg);
	TEST_ASSERT(dma_engine_set_rings(dma, 2, rings, ENTRIES, &e) == 0, "rings: %s", e.msg);
	hring_init(&r0, host_of(rings[0]), ENTRIES, dma, 0);
	hring_init(&r1, host_of(rings[1]), ENTRIES, dma, 1);
	TEST_ASSERT(dma_engine_start(dma, &e) == 0, "start: %s", e.msg);
	TEST_ASSERT(dma_engine_uses_ioeventfd(dma), "KVM_IOEVENTFD doorbells on this host's KVM");
	dma_media_write_slice(dma_engine_media_bytes(dma), 2, 0, &wr, &wl);

	bytes = crossings(&r0, dma_engine_media_fd(dma), wr);
	struct dma_desc f = { .op = DMA_OP_MEDIA_TO_RAM, .iova = 2 * GiB, .len = 4096 };
	TEST_ASSERT(hring_run(&r1, &f) == DMA_ST_IOMMU_FAULT, "unmapped IOVA on io_uring");
	f = (struct dma_desc){ .op = DMA_OP_RAM_TO_MEDIA, .iova = B_IOVA + B_BYTES - 4096, .len = 8192,
			       .media_off = wr };
	TEST_ASSERT(hring_run(&r1, &f) == DMA_ST_IOMMU_FAULT, "length off the last mapping on io_uring");
	bytes += drain(dma, &r0, &r1, &in_flight);
	printf("drain: %u of %u descriptors were still in flight when stop was called\n", in_flight,
	       2 * (ENTRIES - 1));
	dma_engine_get_stats(dma, &s);
	TEST_ASSERT(s.transfers == 7 + 2 * (ENTRIES - 1) && s.bytes == bytes, "transfers %" PRIu64 " bytes %" PRIu64,
		    s.transfers, s.bytes);
	TEST_ASSERT(s.iommu_faults == 2 && s.host_verify_failures == 0 && s.media_errors == 0,
		    "faults %" PRIu64 " verify %" PRIu64 " media errors %" PRIu64, s.iommu_faults,
		    s.host_verify_failures, s.media_errors);
	printf("io_uring: %" PRIu64 " transfers, %.1f MiB, %.2f GiB/s overall, 2 faults\n", s.transfers,
	       (double)s.bytes / MiB, (double)s.bytes / GiB / ((double)s.busy_ns / 1e9));
	dma_engine_destroy(dma);

	file_media(pins);
	pin_container_close(pins);
	munmap(ram_a, LOW_BYTES);
	munmap(ram_b, B_BYTES);
	vm_close(&vm);
	printf("PASS\n");
	return T_PASS;
}
