/* Fuzz target: the DMA engine's MMIO registers and doorbells (devices/dma_engine.c), reached
 * through the bus as a vCPU's MMIO exit reaches them. Every access is checked against a model
 * of the register file: reads return exactly the documented value in exactly len bytes (the
 * bytes after len are untouched), accesses outside the window are refused by the bus, reads
 * change nothing, each doorbell kicks its own ring once and no other, DMA_REG_VERIFY_FAIL
 * counts once per write on a ring that exists, DMA_REG_FAULTS follows the ring's faults. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/dma_internal.h"
#include "fuzz_input.h"

#define RAM_IOVA 0x200000ULL
#define RAM_BYTES (16ULL << 10)
#define UNMAPPED_IOVA (1ULL << 32)
#define RING_ENTRIES 1

static struct pin_container *pins;
static struct bus *bus;
static struct dma_engine *dma;
static uint8_t *ram;

static void setup(void)
{
	struct pin_options po = { .backend = PIN_MOCK };
	struct dma_config cfg = { .nr_queues = 1, .media_bytes = 4ULL << 20, .vm_fd = -1 };
	struct err e = { 0 };

	ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FUZZ_ASSERT(ram != MAP_FAILED, "RAM");
	FUZZ_ASSERT(pin_container_open(&po, &pins, &e) == 0, "pins: %s", e.msg);
	FUZZ_ASSERT(pin_map_dma(pins, &(struct pin_dma_map){ .vaddr = (uintptr_t)ram, .iova = RAM_IOVA,
			.size = RAM_BYTES, .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 }, &e) == 0,
		    "map: %s", e.msg);
	FUZZ_ASSERT(bus_create(&bus) == 0, "bus");
	FUZZ_ASSERT(dma_engine_create(&cfg, pins, bus, &dma, &e) == 0, "engine: %s", e.msg);
}

/* Ring r: a third have an unmapped header (a ring fault on service), a third a header never
 * initialised (a ring error), a third an empty initialised ring. */
static uint64_t ring_iova(unsigned r)
{
	if (r % 3 == 0)
		return UNMAPPED_IOVA + r * 4096ULL;
	return RAM_IOVA + r * dma_ring_bytes(RING_ENTRIES);
}

struct model {
	unsigned nr_rings;
	uint64_t faults[DMA_MAX_RINGS];		/* DMA_REG_FAULTS of each ring */
	uint64_t kicks[DMA_MAX_RINGS];		/* doorbells rung since the input began */
	uint64_t verify_failures, first_failure_gpa, ring_errors;
};

static uint64_t reg_value(const struct model *m, unsigned r, uint64_t reg)
{
	if (r >= m->nr_rings)
		return 0;
	switch (reg) {
	case DMA_REG_ID: return DMA_ID_VALUE;
	case DMA_REG_ALIGN: return dma_engine_media_align(dma);
	case DMA_REG_FAULTS: return m->faults[r];
	case DMA_REG_MAX_LEN: return DMA_MAX_DESC_LEN;
	default: return 0;
	}
}

static void mmio(struct model *m, struct fuzz_in *in)
{
	uint8_t data[16], canary[16];
	unsigned where = fuzz_pick(in, 8), len = 1 + fuzz_pick(in, 8), cpu = fuzz_pick(in, 64);
	bool is_write = fuzz_u8(in) & 1;
	uint64_t off = fuzz_u16(in), addr, val = fuzz_u64(in);
	int ret;

	if (where < 6)
		off &= ~7ULL;	/* mostly whole registers, as the guest's 64-bit accesses */
	if (where == 7)
		off = (off & 1) ? GUEST_MMIO_DMA_SIZE + (off >> 1) % 64 : (uint64_t)-1 - (off >> 1) % 64;
	addr = GUEST_MMIO_DMA_GPA + off;
	memset(canary, 0xa5 ^ (uint8_t)off, sizeof(canary));
	memcpy(data, canary, sizeof(data));
	memcpy(data, &val, len);
	ret = bus_dispatch(bus, BUS_MMIO, cpu, addr, data, len, is_write);
	if (off >= GUEST_MMIO_DMA_SIZE) {
		FUZZ_ASSERT(ret == -ENOENT, "access at 0x%" PRIx64 " outside the window: %d", addr, ret);
		FUZZ_ASSERT(!memcmp(data + len, canary + len, sizeof(data) - len), "refused access wrote data");
		return;
	}
	FUZZ_ASSERT(ret == 0, "access at +0x%" PRIx64 " len %u: %d", off, len, ret);
	FUZZ_ASSERT(!memcmp(data + len, canary + len, sizeof(data) - len),
		    "access at +0x%" PRIx64 " len %u wrote past len", off, len);
	unsigned r = (unsigned)(off / DMA_REG_STRIDE);
	uint64_t reg = off % DMA_REG_STRIDE;

	if (!is_write) {
		uint64_t want = reg_value(m, r, reg), got = 0;

		memcpy(&got, data, len);
		if (len < 8)
			want &= (1ULL << (8 * len)) - 1;
		FUZZ_ASSERT(got == want, "read of ring %u reg 0x%" PRIx64 " len %u: 0x%" PRIx64 ", want 0x%" PRIx64,
			    r, reg, len, got, want);
		return;
	}
	if (r >= m->nr_rings)
		return;
	if (reg == DMA_REG_DOORBELL)
		m->kicks[r]++;
	if (reg == DMA_REG_VERIFY_FAIL) {
		m->verify_failures++;
		if (!m->first_failure_gpa)
			m->first_failure_gpa = len < 8 ? val & ((1ULL << (8 * len)) - 1) : val;
	}
}

/* The queue thread's work on ring r, run here so a fault moves DMA_REG_FAULTS. */
static void service(struct model *m, struct fuzz_in *in)
{
	unsigned r = fuzz_pick(in, DMA_MAX_RINGS);

	if (r >= m->nr_rings)
		return;
	dma_queue_service_ring(&dma->queues[0], r);
	if (r % 3 == 0)
		m->faults[r]++;
	else if (r % 3 == 1)
		m->ring_errors++;
}

/* Kicks pending on each ring's doorbell eventfd (one poll, then a read of those that have). */
static void take_kicks(uint64_t kicks[DMA_MAX_RINGS])
{
	struct pollfd pfd[DMA_MAX_RINGS];

	for (unsigned r = 0; r < DMA_MAX_RINGS; r++) {
		pfd[r] = (struct pollfd){ .fd = dma->rings[r].kick_fd, .events = POLLIN };
		kicks[r] = 0;
	}
	if (poll(pfd, DMA_MAX_RINGS, 0) <= 0)
		return;
	for (unsigned r = 0; r < DMA_MAX_RINGS; r++)
		if ((pfd[r].revents & POLLIN) && read(pfd[r].fd, &kicks[r], sizeof(kicks[r])) != sizeof(kicks[r]))
			kicks[r] = 0;
}

static void check_end(const struct model *m, const struct dma_stats *before)
{
	uint64_t kicks[DMA_MAX_RINGS];
	struct dma_stats s;

	dma_engine_get_stats(dma, &s);
	FUZZ_ASSERT(s.guest_verify_failures == m->verify_failures, "verify failures %" PRIu64 ", want %" PRIu64,
		    s.guest_verify_failures, m->verify_failures);
	FUZZ_ASSERT(s.first_failure_gpa == m->first_failure_gpa, "first failure 0x%" PRIx64 ", want 0x%" PRIx64,
		    s.first_failure_gpa, m->first_failure_gpa);
	FUZZ_ASSERT(s.ring_errors - before->ring_errors == m->ring_errors, "ring errors");
	FUZZ_ASSERT(s.transfers == before->transfers && s.bytes == before->bytes, "no descriptor may move data");
	take_kicks(kicks);
	for (unsigned r = 0; r < DMA_MAX_RINGS; r++) {
		uint64_t want = r < m->nr_rings ? m->kicks[r] : 0;

		FUZZ_ASSERT(r >= m->nr_rings || dma->rings[r].kick_fd >= 0, "ring %u has no doorbell", r);
		FUZZ_ASSERT(kicks[r] == want, "ring %u kicked %" PRIu64 " times, want %" PRIu64, r, kicks[r], want);
		FUZZ_ASSERT(r >= m->nr_rings || dma->rings[r].faults == m->faults[r], "ring %u faults %" PRIu64
			    ", want %" PRIu64, r, dma->rings[r].faults, m->faults[r]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct model m = { 0 };
	uint64_t iovas[DMA_MAX_RINGS];
	struct dma_stats before;
	struct err e = { 0 };

	if (!dma)
		setup();
	m.nr_rings = 1 + fuzz_pick(&in, DMA_MAX_RINGS);
	for (unsigned r = 0; r < m.nr_rings; r++)
		iovas[r] = ring_iova(r);
	FUZZ_ASSERT(dma_engine_set_rings(dma, m.nr_rings, iovas, RING_ENTRIES, &e) == 0, "rings: %s", e.msg);
	memset(ram, 0, RAM_BYTES);
	for (unsigned r = 2; r < m.nr_rings; r += 3)
		((struct dma_ring_header *)(ram + (ring_iova(r) - RAM_IOVA)))->magic = DMA_RING_MAGIC;
	/* The guest's failure report starts afresh (white box: the first address is kept once);
	 * the other counters carry over and the model starts from the device's values. */
	dma->guest_verify_failures = 0;
	dma->first_failure_gpa = 0;
	dma_engine_get_stats(dma, &before);
	m.verify_failures = before.guest_verify_failures;
	m.first_failure_gpa = before.first_failure_gpa;
	for (unsigned r = 0; r < DMA_MAX_RINGS; r++)
		m.faults[r] = dma->rings[r].faults;
	while (in.left) {
		if (fuzz_pick(&in, 8) == 0)
			service(&m, &in);
		else
			mmio(&m, &in);
	}
	check_end(&m, &before);
	return 0;
}
