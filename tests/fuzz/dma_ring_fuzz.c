/* Fuzz target: the DMA engine's rings and descriptors in guest memory (devices/dma_queue.c)
 * over the mock pin container, against a reference model that serves the same descriptors
 * one after the other (the device batches them and promises the same result).
 *
 * Guest RAM is four mappings with PROT_NONE guard pages around each: A and B are IOVA-adjacent
 * but apart in the host, C is read-only for the device, D sits at the top of the mock's IOVA
 * space. The input writes descriptors (any op, IOVA, length, media offset: unmapped, wrapping,
 * zero, huge), ring headers (magic, garbage prod) and raw bytes, and services rings.
 * Invariants, checked after every service and at the end:
 *   - every piece of DMA the device asks the pins to move lies inside one mapping with the
 *     permission it needs and between media offsets it may use (pin_mock_observe_dma);
 *     nothing outside the mappings is read or written (the guard pages fault);
 *   - guest RAM and the media's guest part hold byte for byte what the model computed:
 *     completions (status, cons) and data land where they should and nowhere else;
 *   - every counter (transfers, bytes, IOMMU and ring faults, per-ring DMA_REG_FAULTS, bad
 *     op / length / media range, ring errors, verify failures) moves exactly as the model's;
 *   - once fenced the device touches nothing. */
#include <errno.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/dma_internal.h"
#include "fuzz_input.h"

#define PG 4096ULL
#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define MEDIA_BYTES (4 * MiB)
#define MEDIA_READ (2 * MiB)		/* dma_media_read_bytes(MEDIA_BYTES) */
#define MEDIA_SCRATCH (3 * MiB)		/* dma_media_scratch_off(MEDIA_BYTES) */
#define MAX_RINGS 4
#define MAX_ENTRIES 16
#define NR_MAPS 4

struct map {
	uint64_t iova, size;
	uint32_t flags;
	uint8_t *host;		/* the device's view */
	uint64_t off;		/* offset in model.ram */
};

static struct map maps[NR_MAPS] = {
	{ .iova = 0x10000, .size = 32 * KiB, .flags = PIN_DMA_READ | PIN_DMA_WRITE },
	{ .iova = 0x18000, .size = 32 * KiB, .flags = PIN_DMA_READ | PIN_DMA_WRITE },
	{ .iova = 0x80000, .size = 8 * KiB, .flags = PIN_DMA_READ },
	{ .iova = (1ULL << 48) - 8 * KiB, .size = 8 * KiB, .flags = PIN_DMA_READ | PIN_DMA_WRITE },
};
#define RAM_TOTAL (80 * KiB)

/* The model's helpers are not instrumented for coverage: their loops would drown the
 * device's own feedback and cost most of the time. */
#define MODEL_CODE __attribute__((no_sanitize("coverage")))

static struct pin_container *pins;
static struct dma_engine *dma;
static int media_fd;

struct mring {
	uint64_t iova;
	uint32_t cons;
	uint64_t faults;
};

/* The reference: guest RAM, the media's guest-writable part, the rings and the counters. */
static struct {
	uint8_t ram[RAM_TOTAL];
	uint8_t media_w[MEDIA_SCRATCH - MEDIA_READ];	/* media [MEDIA_READ, MEDIA_SCRATCH) */
	uint32_t entries;
	unsigned nr_rings;
	struct mring ring[MAX_RINGS];
	bool fenced;
	struct dma_stats s;
} model;

/* Media ranges written this input (by the device, seen by the observer, or by the model):
 * compared, then zeroed again. */
#define MAX_DIRTY 64
static struct { uint64_t off, len; } dirty[MAX_DIRTY];
static unsigned nr_dirty;
static bool dirty_overflow;

static void mark_dirty(uint64_t off, uint64_t len)
{
	if (off >= MEDIA_SCRATCH)
		return;		/* the device's private scratch: no guest can read it */
	if (off + len > MEDIA_SCRATCH)
		len = MEDIA_SCRATCH - off;
	if (nr_dirty == MAX_DIRTY) {
		dirty_overflow = true;
		return;
	}
	dirty[nr_dirty].off = off;
	dirty[nr_dirty++].len = len;
}

MODEL_CODE static const struct map *find(uint64_t iova)
{
	for (unsigned i = 0; i < NR_MAPS; i++)
		if (iova >= maps[i].iova && iova - maps[i].iova < maps[i].size)
			return &maps[i];
	return NULL;
}

/* [iova, +len) inside one mapping with every flag of need (pin_translate's rule). */
MODEL_CODE static bool in_one(uint64_t iova, uint64_t len, uint32_t need)
{
	const struct map *m = find(iova);

	return len && iova + len - 1 >= iova && m && (m->flags & need) == need &&
	       iova + len <= m->iova + m->size;
}

/* Every byte of [iova, +len) mapped with need, across adjacent mappings. */
MODEL_CODE static bool all_mapped(uint64_t iova, uint64_t len, uint32_t need)
{
	if (!len || iova + len - 1 < iova)
		return false;
	while (len) {
		const struct map *m = find(iova);
		uint64_t n;

		if (!m || (m->flags & need) != need)
			return false;
		n = m->iova + m->size - iova;
		n = n < len ? n : len;
		iova += n;
		len -= n;
	}
	return true;
}

/* First mapped iova above iova, or 0 when none (no mapping starts at 0). */
MODEL_CODE static uint64_t next_mapped(uint64_t iova)
{
	uint64_t best = 0;

	for (unsigned i = 0; i < NR_MAPS; i++)
		if (maps[i].iova > iova && (!best || maps[i].iova < best))
			best = maps[i].iova;
	return best;
}

typedef void (*seg_fn)(uint8_t *model_p, uint8_t *dev_p, uint64_t done, uint64_t n, void *arg);

/* Calls fn on each piece of [iova, +len) that is mapped (model and device pointers). */
MODEL_CODE static void for_mapped(uint64_t iova, uint64_t len, seg_fn fn, void *arg)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t at = iova + done;
		const struct map *m = find(at);
		uint64_t n;

		if (!m) {
			uint64_t next = next_mapped(at);

			if (!next || next - at >= len - done)
				return;
			done += next - at;
			continue;
		}
		n = m->iova + m->size - at;
		n = n < len - done ? n : len - done;
		fn(&model.ram[m->off + (at - m->iova)], &m->host[at - m->iova], done, n, arg);
		done += n;
	}
}

MODEL_CODE static void seg_read(uint8_t *mp, uint8_t *dp, uint64_t done, uint64_t n, void *arg)
{
	memcpy((uint8_t *)arg + done, mp, n);
}

MODEL_CODE static void seg_write(uint8_t *mp, uint8_t *dp, uint64_t done, uint64_t n, void *arg)
{
	memcpy(mp, (const uint8_t *)arg + done, n);
}

MODEL_CODE static void seg_guest(uint8_t *mp, uint8_t *dp, uint64_t done, uint64_t n, void *arg)
{
	memcpy(mp, (const uint8_t *)arg + done, n);
	memcpy(dp, (const uint8_t *)arg + done, n);
}

/* Model RAM of mapped iovas (the caller checked the range is mapped). */
MODEL_CODE static void mread(uint64_t iova, void *buf, uint64_t len)
{
	for_mapped(iova, len, seg_read, buf);
}

MODEL_CODE static void mwrite(uint64_t iova, const void *buf, uint64_t len)
{
	for_mapped(iova, len, seg_write, (void *)buf);
}

/* The guest writes: the same bytes into both RAMs, mapped bytes only. */
MODEL_CODE static void guest_write(uint64_t iova, const void *buf, uint64_t len)
{
	for_mapped(iova, len, seg_guest, (void *)buf);
}

/* dma_pattern(seed, o) for o in [origin, origin + len). */
MODEL_CODE static void pattern_fill(uint8_t *p, uint64_t len, uint64_t seed, uint64_t origin)
{
	for (uint64_t i = 0; i < len;) {
		uint64_t o = origin + i, w = dma_pattern_word(seed, o >> 3);

		if ((o & 7) == 0 && len - i >= 8) {
			memcpy(p + i, &w, 8);	/* little-endian: byte k of the word is byte o + k */
			i += 8;
			continue;
		}
		for (unsigned k = (unsigned)(o & 7); k < 8 && i < len; k++, i++)
			p[i] = (uint8_t)(w >> (8 * k));
	}
}

/* Media bytes [off, +len) as the model has them (off + len <= MEDIA_SCRATCH). */
MODEL_CODE static void media_read(uint8_t *p, uint64_t off, uint64_t len)
{
	uint64_t n = off < MEDIA_READ ? (MEDIA_READ - off < len ? MEDIA_READ - off : len) : 0;

	pattern_fill(p, n, DMA_MEDIA_SEED, off);
	if (len > n)
		memcpy(p + n, model.media_w + (off + n - MEDIA_READ), len - n);
}

/* ---- the observer: what the device actually asks the pins to move ---- */

static void observe(const struct pin_dma_access *a, void *opaque)
{
	const struct map *m = find(a->iova);
	uint32_t need = a->to_ram ? PIN_DMA_WRITE : PIN_DMA_READ;

	FUZZ_ASSERT(!model.fenced, "DMA of %" PRIu64 " bytes at iova 0x%" PRIx64 " after the fence", a->len, a->iova);
	FUZZ_ASSERT(a->len && m && (m->flags & need) == need && a->iova + a->len <= m->iova + m->size,
		    "DMA %s iova [0x%" PRIx64 ", +%" PRIu64 ") is not inside one mapping that allows it",
		    a->to_ram ? "to" : "from", a->iova, a->len);
	FUZZ_ASSERT((uint8_t *)a->host == m->host + (a->iova - m->iova), "host address of iova 0x%" PRIx64, a->iova);
	if (a->to_ram)	/* reads the media: the guest part, or the scratch (RAM->RAM bounce) */
		FUZZ_ASSERT(a->media_off + a->len <= MEDIA_SCRATCH ||
			    (a->media_off >= MEDIA_SCRATCH && a->media_off + a->len <= MEDIA_BYTES),
			    "media read [%" PRIu64 ", +%" PRIu64 ")", a->media_off, a->len);
	else		/* writes the media: the write slices or the scratch, never the read region */
		FUZZ_ASSERT(a->media_off >= MEDIA_READ && a->media_off + a->len <= MEDIA_BYTES,
			    "media write [%" PRIu64 ", +%" PRIu64 ")", a->media_off, a->len);
	if (!a->to_ram)
		mark_dirty(a->media_off, a->len);
}

/* ---- the model: one descriptor after the other ---- */

static uint32_t m_check(const struct dma_desc *d)
{
	bool write = d->op == DMA_OP_RAM_TO_MEDIA;
	uint64_t lo = write ? MEDIA_READ : 0, hi = MEDIA_SCRATCH;

	if (d->op < DMA_OP_MEDIA_TO_RAM || d->op > DMA_OP_RAM_TO_RAM)
		return DMA_ST_BAD_OP;
	if (!d->len || d->len > DMA_MAX_DESC_LEN)
		return DMA_ST_BAD_LEN;
	if (d->op == DMA_OP_RAM_TO_RAM)
		return DMA_ST_PENDING;
	if (d->media_off < lo || d->media_off > hi || d->len > hi - d->media_off)
		return DMA_ST_MEDIA_RANGE;
	return DMA_ST_PENDING;
}

MODEL_CODE static uint32_t m_exec(const struct dma_desc *d)
{
	static uint8_t tmp[RAM_TOTAL], want[RAM_TOTAL];	/* a mapped range is shorter */

	switch (d->op) {
	case DMA_OP_MEDIA_TO_RAM:
		if (!all_mapped(d->iova, d->len, PIN_DMA_WRITE))
			return DMA_ST_IOMMU_FAULT;
		media_read(tmp, d->media_off, d->len);
		mwrite(d->iova, tmp, d->len);
		return DMA_ST_OK;
	case DMA_OP_RAM_TO_MEDIA:
		if (!all_mapped(d->iova, d->len, PIN_DMA_READ))
			return DMA_ST_IOMMU_FAULT;
		mread(d->iova, model.media_w + (d->media_off - MEDIA_READ), d->len);
		mark_dirty(d->media_off, d->len);
		pattern_fill(want, d->len, d->pattern_seed, d->media_off);
		if (memcmp(want, model.media_w + (d->media_off - MEDIA_READ), d->len)) {
			uint64_t i = 0;

			while (want[i] == model.media_w[d->media_off - MEDIA_READ + i])
				i++;
			model.s.host_verify_failures++;
			if (!model.s.first_failure_gpa)
				model.s.first_failure_gpa = d->iova + i;
			return DMA_ST_VERIFY_FAIL;
		}
		return DMA_ST_OK;
	default:	/* RAM -> RAM: both ranges checked first; a copy through a bounce */
		if (!all_mapped(d->iova, d->len, PIN_DMA_READ) || !all_mapped(d->iova2, d->len, PIN_DMA_WRITE))
			return DMA_ST_IOMMU_FAULT;
		mread(d->iova, tmp, d->len);
		mwrite(d->iova2, tmp, d->len);
		return DMA_ST_OK;
	}
}

static void m_count(struct mring *R, uint32_t st, uint64_t len)
{
	switch (st) {
	case DMA_ST_OK: model.s.transfers++; model.s.bytes += len; break;
	case DMA_ST_IOMMU_FAULT: model.s.iommu_faults++; R->faults++; break;
	case DMA_ST_BAD_OP: model.s.bad_ops++; break;
	case DMA_ST_BAD_LEN: model.s.bad_lens++; break;
	case DMA_ST_MEDIA_RANGE: model.s.media_range++; break;
	default: break;
	}
}

static void m_ring_fault(struct mring *R)
{
	model.s.iommu_faults++;
	model.s.ring_faults++;
	R->faults++;
}

static uint32_t ld32(uint64_t iova) { uint32_t v; mread(iova, &v, 4); return v; }

static void m_service(unsigned r)
{
	struct mring *R = &model.ring[r];
	const uint32_t rw = PIN_DMA_READ | PIN_DMA_WRITE;
	uint64_t magic;
	uint32_t prod;

	if (model.fenced)
		return;
	if (!in_one(R->iova, sizeof(struct dma_ring_header), rw)) {
		m_ring_fault(R);
		return;
	}
	mread(R->iova, &magic, 8);
	if (magic != DMA_RING_MAGIC) {
		model.s.ring_errors++;
		return;
	}
	prod = ld32(R->iova + 8);
	if (prod - R->cons > model.entries) {
		model.s.ring_errors++;
		R->cons = prod;
		mwrite(R->iova + 12, &R->cons, 4);
		return;
	}
	while (R->cons != prod) {
		uint64_t di = R->iova + sizeof(struct dma_ring_header) +
			      (uint64_t)(R->cons % model.entries) * sizeof(struct dma_desc);

		if (!in_one(di, sizeof(struct dma_desc), rw)) {
			m_ring_fault(R);
		} else {
			struct dma_desc d;
			uint32_t st;

			mread(di, &d, sizeof(d));
			st = m_check(&d);
			if (st == DMA_ST_PENDING)
				st = m_exec(&d);
			m_count(R, st, d.len);
			mwrite(di + 4, &st, 4);
		}
		R->cons++;
		mwrite(R->iova + 12, &R->cons, 4);
		if (R->cons == prod)
			prod = ld32(R->iova + 8);
		if (prod - R->cons > model.entries)
			break;
	}
}

/* ---- set-up and checks ---- */

static void setup(void)
{
	struct pin_options po = { .backend = PIN_MOCK };
	struct dma_config cfg = { .nr_queues = 1, .media_bytes = MEDIA_BYTES, .vm_fd = -1,
				  .verify_writes = true };
	uint64_t total = PG, off = 0;
	struct err e = { 0 };
	uint8_t *base;

	for (unsigned i = 0; i < NR_MAPS; i++)
		total += maps[i].size + PG;
	/* Everything PROT_NONE, then each mapping opened: a guard page on both sides of each. */
	base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FUZZ_ASSERT(base != MAP_FAILED, "RAM");
	base += PG;
	for (unsigned i = 0; i < NR_MAPS; i++) {
		maps[i].host = base;
		maps[i].off = off;
		FUZZ_ASSERT(mprotect(base, maps[i].size, PROT_READ | PROT_WRITE) == 0, "mprotect");
		base += maps[i].size + PG;
		off += maps[i].size;
	}
	FUZZ_ASSERT(off == RAM_TOTAL, "model RAM size");
	FUZZ_ASSERT(pin_container_open(&po, &pins, &e) == 0, "pins: %s", e.msg);
	for (unsigned i = 0; i < NR_MAPS; i++)
		FUZZ_ASSERT(pin_map_dma(pins, &(struct pin_dma_map){ .vaddr = (uintptr_t)maps[i].host,
				.iova = maps[i].iova, .size = maps[i].size, .flags = maps[i].flags,
				.page_size = PG }, &e) == 0, "map %u: %s", i, e.msg);
	pin_mock_observe_dma(pins, observe, NULL);
	FUZZ_ASSERT(dma_engine_create(&cfg, pins, NULL, &dma, &e) == 0, "engine: %s", e.msg);
	FUZZ_ASSERT(dma_engine_media_bytes(dma) == MEDIA_BYTES && dma_engine_media_align(dma) == 1, "media");
	media_fd = dma_engine_media_fd(dma);
}

static void check_stats(void)
{
	struct dma_stats s;

	dma_engine_get_stats(dma, &s);
#define SAME(f) FUZZ_ASSERT(s.f == model.s.f, #f " %" PRIu64 ", model %" PRIu64, s.f, model.s.f)
	SAME(transfers); SAME(bytes); SAME(iommu_faults); SAME(ring_faults); SAME(bad_ops);
	SAME(bad_lens); SAME(media_range); SAME(media_errors); SAME(host_verify_failures);
	SAME(ring_errors); SAME(first_failure_gpa);
#undef SAME
	for (unsigned r = 0; r < model.nr_rings; r++) {
		FUZZ_ASSERT(dma->rings[r].cons == model.ring[r].cons, "ring %u cons %u, model %u", r,
			    dma->rings[r].cons, model.ring[r].cons);
		FUZZ_ASSERT(dma->rings[r].faults == model.ring[r].faults, "ring %u faults %" PRIu64 ", model %" PRIu64,
			    r, dma->rings[r].faults, model.ring[r].faults);
	}
}

/* The device's write and the model's mark the same range: sorted and merged, each media byte
 * is read back and reset once (two system calls per range, the target's main kernel cost). */
MODEL_CODE static void merge_dirty(void)
{
	unsigned n = 0;

	for (unsigned i = 1; i < nr_dirty; i++) {	/* insertion sort by offset: at most 64 */
		__typeof__(dirty[0]) x = dirty[i];
		unsigned j = i;

		for (; j > 0 && dirty[j - 1].off > x.off; j--)
			dirty[j] = dirty[j - 1];
		dirty[j] = x;
	}
	for (unsigned i = 0; i < nr_dirty; i++) {
		if (n && dirty[i].off <= dirty[n - 1].off + dirty[n - 1].len) {
			uint64_t end = dirty[i].off + dirty[i].len;

			if (end > dirty[n - 1].off + dirty[n - 1].len)
				dirty[n - 1].len = end - dirty[n - 1].off;
		} else {
			dirty[n++] = dirty[i];
		}
	}
	nr_dirty = n;
}

static void check_memory(void)
{
	static uint8_t buf[MEDIA_SCRATCH - MEDIA_READ];
	static const uint8_t zero[MEDIA_SCRATCH - MEDIA_READ];

	for (unsigned i = 0; i < NR_MAPS; i++) {
		if (!memcmp(maps[i].host, model.ram + maps[i].off, maps[i].size))
			continue;
		for (uint64_t k = 0; k < maps[i].size; k++)
			FUZZ_ASSERT(maps[i].host[k] == model.ram[maps[i].off + k],
				    "RAM at iova 0x%" PRIx64 " is 0x%02x, model 0x%02x", maps[i].iova + k,
				    maps[i].host[k], model.ram[maps[i].off + k]);
	}
	if (dirty_overflow) {
		nr_dirty = 1;
		dirty[0].off = MEDIA_READ;
		dirty[0].len = MEDIA_SCRATCH - MEDIA_READ;
	}
	merge_dirty();
	/* The guest part of the media holds what the model wrote; then it is zero again. */
	for (unsigned i = 0; i < nr_dirty; i++) {
		uint64_t off = dirty[i].off, len = dirty[i].len;

		FUZZ_ASSERT(off >= MEDIA_READ && pread(media_fd, buf, len, (off_t)off) == (ssize_t)len, "media read");
		if (!memcmp(buf, model.media_w + (off - MEDIA_READ), len))
			continue;
		for (uint64_t k = 0; k < len; k++)
			FUZZ_ASSERT(buf[k] == model.media_w[off - MEDIA_READ + k], "media at %" PRIu64 " is 0x%02x, model 0x%02x",
				    off + k, buf[k], model.media_w[off - MEDIA_READ + k]);
	}
	for (unsigned i = 0; i < nr_dirty; i++) {
		FUZZ_ASSERT(pwrite(media_fd, zero, dirty[i].len, (off_t)dirty[i].off) == (ssize_t)dirty[i].len, "media reset");
		memset(model.media_w + (dirty[i].off - MEDIA_READ), 0, dirty[i].len);
	}
	nr_dirty = 0;
	dirty_overflow = false;
}

/* ---- what the input chooses ---- */

static uint64_t pick_addr(struct fuzz_in *in)
{
	const uint64_t bases[] = { maps[0].iova, maps[1].iova, maps[1].iova + maps[1].size, maps[2].iova,
				   maps[2].iova + maps[2].size, maps[3].iova, 0, 0x40000 };
	unsigned k = fuzz_pick(in, 12);

	switch (k) {
	case 8: return fuzz_u64(in);
	case 9: return maps[0].iova + fuzz_u16(in) % (maps[0].size + maps[1].size);
	case 10: return model.ring[fuzz_pick(in, MAX_RINGS)].iova + fuzz_u8(in);
	case 11: return UINT64_MAX - fuzz_u16(in);
	default: return bases[k] + (uint64_t)(int64_t)(int8_t)fuzz_u8(in);
	}
}

static uint64_t pick_len(struct fuzz_in *in)
{
	switch (fuzz_pick(in, 8)) {
	case 0: return 0;
	case 1: return 1 + fuzz_u8(in);
	case 2: return 1 + fuzz_u16(in) % (64 * KiB);
	case 3: return DMA_MAX_DESC_LEN + (uint64_t)(int64_t)(int8_t)fuzz_u8(in);
	case 4: return fuzz_u64(in);
	case 5: return 64 * KiB + (uint64_t)(int64_t)(int8_t)fuzz_u8(in);
	default: return 1 + fuzz_u16(in) % 4096;
	}
}

static uint64_t pick_media(struct fuzz_in *in)
{
	switch (fuzz_pick(in, 6)) {
	case 0: return fuzz_u32(in) % MEDIA_READ;
	case 1: return MEDIA_READ + fuzz_u32(in) % (MEDIA_SCRATCH - MEDIA_READ);
	case 2: return MEDIA_SCRATCH + (uint64_t)(int64_t)(int16_t)fuzz_u16(in);
	case 3: return MEDIA_READ + (uint64_t)(int64_t)(int16_t)fuzz_u16(in);
	case 4: return fuzz_u64(in);
	default: return (uint64_t)(int64_t)(int16_t)fuzz_u16(in);
	}
}

static uint64_t slot_iova(unsigned r, uint32_t idx)
{
	return model.ring[r].iova + sizeof(struct dma_ring_header) +
	       (uint64_t)(idx % model.entries) * sizeof(struct dma_desc);
}

static void make_desc(struct fuzz_in *in, struct dma_desc *d)
{
	unsigned op = fuzz_pick(in, 8);

	memset(d, 0, sizeof(*d));
	d->op = op < 6 ? 1 + op % 3 : (op == 6 ? 0 : fuzz_u32(in));
	d->iova = pick_addr(in);
	d->len = pick_len(in);
	d->media_off = pick_media(in);
	d->iova2 = pick_addr(in);
	d->pattern_seed = fuzz_u8(in);
	d->status = fuzz_pick(in, 4) ? DMA_ST_PENDING : fuzz_u32(in);
}

MODEL_CODE static void seg_pattern(uint8_t *mp, uint8_t *dp, uint64_t done, uint64_t n, void *arg)
{
	const struct dma_desc *d = arg;

	pattern_fill(mp, n, d->pattern_seed, d->media_off + done);
	memcpy(dp, mp, n);
}

/* The guest's data for a RAM->media descriptor: the pattern the device will check, written
 * (into both RAMs) only where the first 64 KiB of it are mapped: computing it for unmapped
 * bytes, which a guest write drops, was a tenth of the target's time. */
static void prep_data(const struct dma_desc *d)
{
	for_mapped(d->iova, d->len < 64 * KiB ? d->len : 64 * KiB, seg_pattern, (void *)d);
}

static void submit(struct fuzz_in *in, unsigned r)
{
	uint64_t hdr = model.ring[r].iova;
	struct dma_desc d;
	uint32_t prod = 0;

	make_desc(in, &d);
	if (fuzz_pick(in, 4) == 0)
		prep_data(&d);
	if (in_one(hdr, sizeof(struct dma_ring_header), PIN_DMA_READ | PIN_DMA_WRITE))
		mread(hdr + 8, &prod, 4);
	guest_write(slot_iova(r, prod), &d, sizeof(d));
	prod++;
	guest_write(hdr + 8, &prod, 4);
}

static void write_header(struct fuzz_in *in, unsigned r)
{
	uint64_t hdr = model.ring[r].iova, magic = DMA_RING_MAGIC;
	uint32_t v;

	switch (fuzz_pick(in, 4)) {
	case 0:
		if (fuzz_pick(in, 4) == 0)
			magic ^= 1ULL << fuzz_pick(in, 64);
		guest_write(hdr, &magic, 8);
		break;
	case 1:
		v = model.ring[r].cons + fuzz_pick(in, model.entries + 3);
		guest_write(hdr + 8, &v, 4);
		break;
	case 2:
		v = fuzz_u32(in);
		guest_write(hdr + 8 + 4 * fuzz_pick(in, 2), &v, 4);
		break;
	default: {
		uint8_t b[16];
		unsigned n = 1 + fuzz_pick(in, 16);

		for (unsigned i = 0; i < n; i++)
			b[i] = fuzz_u8(in);
		guest_write(pick_addr(in), b, n);
	}
	}
}

static void service(unsigned r)
{
	dma_queue_service_ring(&dma->queues[0], r);
	m_service(r);
	check_stats();
}

/* Back to a fresh device for the next input (white box: the engine's own fields). */
static void reset(void)
{
	memset(&dma->queues[0].stats, 0, sizeof(dma->queues[0].stats));
	dma->first_failure_gpa = 0;
	dma->guest_verify_failures = 0;
	dma->fenced = false;
	dma->fence_ns = dma->fence_since_ns = 0;
	for (unsigned r = 0; r < DMA_MAX_RINGS; r++)
		dma->rings[r].faults = 0;
	for (unsigned i = 0; i < NR_MAPS; i++)
		memset(maps[i].host, 0, maps[i].size);
	memset(model.ram, 0, sizeof(model.ram));
	memset(&model.s, 0, sizeof(model.s));
	memset(model.ring, 0, sizeof(model.ring));
	model.fenced = false;
}

static uint64_t pick_ring_iova(struct fuzz_in *in)
{
	uint64_t ring_bytes = dma_ring_bytes(model.entries);

	switch (fuzz_pick(in, 10)) {
	case 0: return maps[1].iova - 64 * (1 + fuzz_pick(in, 4));	/* straddles A and B */
	case 1: return maps[2].iova;					/* read-only */
	case 2: return 0x40000;						/* unmapped */
	case 3: return maps[3].iova + maps[3].size - 64 * (1 + fuzz_pick(in, 4));	/* runs off D */
	case 4: return (uint64_t)-64 * (1 + fuzz_pick(in, 2));		/* wraps */
	default: return maps[0].iova + 64 * fuzz_pick(in, (unsigned)((maps[0].size + maps[1].size - ring_bytes) / 64));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint64_t iovas[MAX_RINGS];
	struct err e = { 0 };

	if (!dma)
		setup();
	reset();
	model.nr_rings = 1 + fuzz_pick(&in, MAX_RINGS);
	model.entries = 1 + fuzz_pick(&in, MAX_ENTRIES);
	for (unsigned r = 0; r < model.nr_rings; r++)
		iovas[r] = model.ring[r].iova = pick_ring_iova(&in);
	FUZZ_ASSERT(dma_engine_set_rings(dma, model.nr_rings, iovas, model.entries, &e) == 0, "rings: %s", e.msg);
	for (unsigned r = 0; r < model.nr_rings; r++) {
		uint64_t magic = DMA_RING_MAGIC;

		guest_write(model.ring[r].iova, &magic, 8);
	}
	while (in.left) {
		unsigned r = fuzz_pick(&in, model.nr_rings), what = fuzz_pick(&in, 16);
		struct dma_desc d;

		if (what < 6) {
			submit(&in, r);
		} else if (what < 8) {
			make_desc(&in, &d);
			guest_write(slot_iova(r, fuzz_u8(&in)), &d, sizeof(d));
		} else if (what < 10) {
			write_header(&in, r);
		} else if (what < 15) {
			service(r);
		} else if (fuzz_pick(&in, 4) == 0) {
			dma_engine_fence(dma, 0);
			model.fenced = true;
		}
	}
	for (unsigned r = 0; r < model.nr_rings; r++)
		service(r);
	check_memory();
	return 0;
}
