/* Unit test: the DMA engine's MMIO registers through the bus (ID, alignment, per-ring fault
 * count, doorbell, guest verify failures) and the guest layout fill_guest_params computes. */
#include <inttypes.h>
#include <stdint.h>
#include <sys/mman.h>

#include "devices/bus.h"
#include "devices/dma_engine.h"
#include "dma_host_ring.h"
#include "test.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static uint64_t reg_read(struct bus *bus, unsigned ring, uint64_t reg)
{
	uint64_t v = ~0ULL;

	TEST_ASSERT(bus_dispatch(bus, BUS_MMIO, 0, GUEST_MMIO_DMA_GPA + ring * DMA_REG_STRIDE + reg,
				 (uint8_t *)&v, 8, false) == 0, "read register 0x%" PRIx64, reg);
	return v;
}

static void reg_write(struct bus *bus, unsigned ring, uint64_t reg, uint64_t v)
{
	TEST_ASSERT(bus_dispatch(bus, BUS_MMIO, 0, GUEST_MMIO_DMA_GPA + ring * DMA_REG_STRIDE + reg,
				 (uint8_t *)&v, 8, true) == 0, "write register 0x%" PRIx64, reg);
}

static void test_registers(void)
{
	struct pin_options po = { .backend = PIN_MOCK };
	struct dma_config cfg = { .nr_queues = 2, .vm_fd = -1, .verify_writes = true };
	const uint64_t ram_bytes = 8 * MiB;
	uint8_t *ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pin_dma_map m = { .vaddr = (uintptr_t)ram, .iova = 0, .size = ram_bytes,
				 .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	uint64_t rings[2] = { 0, 64 * 1024 };
	struct pin_container *pins;
	struct dma_engine *dma;
	struct bus *bus;
	struct err e = { 0 };
	struct hring r0, r1;
	struct dma_desc *slot;
	struct dma_stats s;

	TEST_ASSERT(ram != MAP_FAILED, "fake guest RAM");
	TEST_ASSERT(pin_container_open(&po, &pins, &e) == 0 && pin_map_dma(pins, &m, &e) == 0, "%s", e.msg);
	TEST_ASSERT(bus_create(&bus) == 0, "bus");
	TEST_ASSERT(dma_engine_create(&cfg, pins, bus, &dma, &e) == 0, "create: %s", e.msg);
	TEST_ASSERT(dma_engine_set_rings(dma, 2, rings, 16, &e) == 0, "rings: %s", e.msg);
	hring_init(&r0, ram + rings[0], 16, dma, 0);
	hring_init(&r1, ram + rings[1], 16, dma, 1);
	TEST_ASSERT(dma_engine_start(dma, &e) == 0, "start: %s", e.msg);
	TEST_ASSERT(!dma_engine_uses_ioeventfd(dma), "no VM fd: doorbells go through the bus");

	TEST_ASSERT(reg_read(bus, 0, DMA_REG_ID) == DMA_ID_VALUE, "ID register");
	TEST_ASSERT(reg_read(bus, 1, DMA_REG_ALIGN) == 1, "memfd media: byte alignment");
	TEST_ASSERT(reg_read(bus, 0, DMA_REG_MAX_LEN) == DMA_MAX_DESC_LEN, "max length");
	TEST_ASSERT(reg_read(bus, 5, DMA_REG_ID) == 0, "a ring that does not exist reads 0");

	/* A doorbell through the bus, on ring 1 (served by queue 1). */
	struct dma_desc d = { .op = DMA_OP_MEDIA_TO_RAM, .iova = 1 * MiB + 3, .len = 65536, .media_off = 5 };
	slot = hring_post(&r1, &d);
	reg_write(bus, 1, DMA_REG_DOORBELL, r1.prod);
	TEST_ASSERT(hring_wait(slot) == DMA_ST_OK, "media->RAM after a bus doorbell");
	TEST_ASSERT(check_pattern(ram + d.iova, d.len, DMA_MEDIA_SEED, d.media_off) < 0, "data landed");

	/* A fault on ring 0 shows in ring 0's fault register only. */
	d = (struct dma_desc){ .op = DMA_OP_MEDIA_TO_RAM, .iova = ram_bytes - 100, .len = 4096 };
	slot = hring_post(&r0, &d);
	reg_write(bus, 0, DMA_REG_DOORBELL, r0.prod);
	TEST_ASSERT(hring_wait(slot) == DMA_ST_IOMMU_FAULT, "length off the mapping");
	TEST_ASSERT(reg_read(bus, 0, DMA_REG_FAULTS) == 1 && reg_read(bus, 1, DMA_REG_FAULTS) == 0,
		    "per-ring fault registers");

	/* The guest's own verify failures. */
	reg_write(bus, 0, DMA_REG_VERIFY_FAIL, 0xabc000);
	reg_write(bus, 1, DMA_REG_VERIFY_FAIL, 0xdef000);
	reg_write(bus, 9, DMA_REG_VERIFY_FAIL, 0x1);	/* no such ring: dropped */
	dma_engine_stop_and_drain(dma);
	dma_engine_get_stats(dma, &s);
	TEST_ASSERT(s.guest_verify_failures == 2 && s.first_failure_gpa == 0xabc000,
		    "guest verify failures %" PRIu64 " first 0x%" PRIx64, s.guest_verify_failures,
		    s.first_failure_gpa);
	TEST_ASSERT(s.doorbells == 2 && s.transfers == 1 && s.iommu_faults == 1, "doorbells %" PRIu64
		    " transfers %" PRIu64 " faults %" PRIu64, s.doorbells, s.transfers, s.iommu_faults);
	dma_engine_destroy(dma);
	bus_destroy(bus);
	pin_container_close(pins);
	munmap(ram, ram_bytes);
}

static bool disjoint(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a + alen <= b || b + blen <= a;
}

static void check_layout(const struct guest_params *p, uint64_t region, uint64_t bytes)
{
	uint64_t ring_bytes = dma_ring_bytes(p->dma_ring_entries);

	TEST_ASSERT(p->flags & GUEST_F_DMA, "GUEST_F_DMA set");
	TEST_ASSERT(p->dma_area_bytes >= DMA_AREA_MIN_BYTES && p->dma_area_bytes % (2 * MiB) == 0,
		    "area bytes %" PRIu64, p->dma_area_bytes);
	for (unsigned c = 0; c < p->nr_cpus; c++) {
		TEST_ASSERT(p->dma_ring_gpa[c] >= region && p->dma_ring_gpa[c] + ring_bytes <= region + bytes,
			    "ring %u inside the region", c);
		TEST_ASSERT(p->dma_area_gpa[c] % (2 * MiB) == 0 && p->dma_area_gpa[c] >= region &&
			    p->dma_area_gpa[c] + p->dma_area_bytes <= region + bytes, "area %u inside the region", c);
		for (unsigned o = 0; o < p->nr_cpus; o++) {
			TEST_ASSERT(disjoint(p->dma_area_gpa[c], p->dma_area_bytes, p->dma_ring_gpa[o], ring_bytes),
				    "area %u and ring %u apart", c, o);
			TEST_ASSERT(o == c || disjoint(p->dma_area_gpa[c], p->dma_area_bytes, p->dma_area_gpa[o],
						       p->dma_area_bytes), "areas %u and %u apart", c, o);
			TEST_ASSERT(o == c || disjoint(p->dma_ring_gpa[c], ring_bytes, p->dma_ring_gpa[o], ring_bytes),
				    "rings %u and %u apart", c, o);
		}
	}
}

static void test_layout(void)
{
	struct pin_options po = { .backend = PIN_MOCK };
	struct dma_config cfg = { .nr_queues = 1, .vm_fd = -1, .fault_permille = 7 };
	struct guest_params p = { .nr_cpus = 4, .ram_low_bytes = 3 * GiB, .ram_high_bytes = 1 * GiB };
	void *ram = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pin_dma_map m = { .vaddr = (uintptr_t)ram, .iova = 0, .size = 2 * MiB,
				 .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	struct pin_container *pins;
	struct dma_engine *dma;
	struct err e = { 0 };

	/* The layout needs no mapping; one is made so the container is like a VMM's. */
	TEST_ASSERT(ram != MAP_FAILED, "memory");
	TEST_ASSERT(pin_container_open(&po, &pins, &e) == 0 && pin_map_dma(pins, &m, &e) == 0, "%s", e.msg);
	TEST_ASSERT(dma_engine_create(&cfg, pins, NULL, &dma, &e) == 0, "create: %s", e.msg);
	/* A region across 1 GiB: vCPU 0's area straddles it. */
	TEST_ASSERT(dma_engine_region_bytes(4, 3 * GiB) == 2 * MiB + 4 * DMA_AREA_MAX_BYTES, "region size");
	TEST_ASSERT(dma_engine_fill_guest_params(dma, &p, 768 * MiB, 512 * MiB, &e) == 0, "layout: %s", e.msg);
	check_layout(&p, 768 * MiB, 512 * MiB);
	TEST_ASSERT(p.dma_area_gpa[0] < GiB && p.dma_area_gpa[0] + p.dma_area_bytes > GiB,
		    "area 0 [0x%" PRIx64 ", +0x%" PRIx64 ") crosses 1 GiB", p.dma_area_gpa[0], p.dma_area_bytes);
	TEST_ASSERT(p.dma_fault_permille == 7 && p.dma_ring_entries == DMA_DEFAULT_RING_ENTRIES &&
		    p.media_bytes == DMA_DEFAULT_MEDIA_BYTES, "parameters");
	/* Just big enough for 4 areas plus the rings, around 1 GiB: still crosses it. */
	p = (struct guest_params){ .nr_cpus = 4, .ram_low_bytes = 2 * GiB };
	TEST_ASSERT(dma_engine_fill_guest_params(dma, &p, GiB - 64 * MiB, 130 * MiB, &e) == 0, "layout: %s", e.msg);
	check_layout(&p, GiB - 64 * MiB, 130 * MiB);
	TEST_ASSERT(p.dma_area_gpa[0] < GiB && p.dma_area_gpa[0] + p.dma_area_bytes > GiB, "area 0 crosses 1 GiB");
	/* Small RAM, 64 vCPUs, no 1 GiB boundary. */
	p = (struct guest_params){ .nr_cpus = 64, .ram_low_bytes = 1 * GiB };
	TEST_ASSERT(dma_engine_fill_guest_params(dma, &p, 256 * MiB, 768 * MiB, &e) == 0, "layout: %s", e.msg);
	check_layout(&p, 256 * MiB, 768 * MiB);
	/* Refusals: too small, outside RAM, unaligned. */
	p = (struct guest_params){ .nr_cpus = 4, .ram_low_bytes = 1 * GiB };
	err_reset(&e);
	TEST_ASSERT(dma_engine_fill_guest_params(dma, &p, 64 * MiB, 16 * MiB, &e) == -ENOSPC, "too small");
	printf("too small: %s\n", e.msg);
	err_reset(&e);
	TEST_ASSERT(dma_engine_fill_guest_params(dma, &p, 768 * MiB, 512 * MiB, &e) == -EINVAL, "beyond RAM");
	printf("beyond RAM: %s\n", e.msg);
	err_reset(&e);
	TEST_ASSERT(dma_engine_fill_guest_params(dma, &p, 64 * MiB + 4096, 64 * MiB, &e) == -EINVAL, "unaligned");
	dma_engine_destroy(dma);
	pin_container_close(pins);
	munmap(ram, 2 * MiB);
}

int main(void)
{
	test_registers();
	test_layout();
	printf("PASS: registers, bus doorbell, per-ring faults, guest verify failures, guest layout\n");
	return T_PASS;
}
