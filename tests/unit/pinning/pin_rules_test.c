/* Table-driven test of the VFIO type1v2 map/unmap rules, info and translation, on the mock. */
#include <inttypes.h>
#include <stdint.h>

#include "pinning/pin.h"
#include "test.h"

#define K 1024ull
#define M (1024ull * K)
#define G (1024ull * M)
#define RW (PIN_DMA_READ | PIN_DMA_WRITE)

enum op { MAP, UNMAP };

struct step {
	enum op op;
	uint64_t iova, size, vaddr;
	uint32_t flags;
	uint64_t page_size;
	int want;		/* expected return */
	uint64_t unmapped;	/* UNMAP: expected bytes */
	uint64_t pins_after;	/* container pin count after the step */
};

/* Steps run in order on one container: each row depends on the ones above. */
static const struct step steps[] = {
	/* zero or unaligned -> EINVAL */
	{ MAP, 0x100000, 0, 0x10000000, RW, 0, -EINVAL, 0, 0 },
	{ MAP, 0x100800, 4 * K, 0x10000000, RW, 0, -EINVAL, 0, 0 },
	{ MAP, 0x100000, 4 * K + 1, 0x10000000, RW, 0, -EINVAL, 0, 0 },
	{ MAP, 0x100000, 4 * K, 0x10000010, RW, 0, -EINVAL, 0, 0 },
	{ MAP, 0x100000, 4 * K, 0x10000000, 0, 0, -EINVAL, 0, 0 },
	{ MAP, 0x100000, 4 * K, 0x10000000, 0x8 | PIN_DMA_READ, 0, -EINVAL, 0, 0 },
	{ MAP, 0x100000, 4 * K, 0x10000000, RW, 3000, -EINVAL, 0, 0 },
	{ MAP, UINT64_MAX - 4 * K + 1, 8 * K, 0x10000000, RW, 0, -EINVAL, 0, 0 },
	/* good maps: 1 MiB of 4 KiB pages at 1 MiB, 4 MiB of 2 MiB pages at 16 MiB */
	{ MAP, 1 * M, 1 * M, 0x10000000, RW, 4 * K, 0, 0, 256 },
	{ MAP, 16 * M, 4 * M, 0x20000000, PIN_DMA_READ, 2 * M, 0, 0, 258 },
	/* overlap -> EEXIST: same, inside, straddling start, straddling end, covering */
	{ MAP, 1 * M, 1 * M, 0x30000000, RW, 0, -EEXIST, 0, 258 },
	{ MAP, 1 * M + 4 * K, 4 * K, 0x30000000, RW, 0, -EEXIST, 0, 258 },
	{ MAP, 1 * M - 4 * K, 8 * K, 0x30000000, RW, 0, -EEXIST, 0, 258 },
	{ MAP, 2 * M - 4 * K, 8 * K, 0x30000000, RW, 0, -EEXIST, 0, 258 },
	{ MAP, 0, 32 * M, 0x30000000, RW, 0, -EEXIST, 0, 258 },
	/* adjacent is fine */
	{ MAP, 2 * M, 4 * K, 0x30000000, RW, 0, 0, 0, 259 },
	{ MAP, 1 * M - 4 * K, 4 * K, 0x30001000, RW, 0, 0, 0, 260 },
	/* unmap: zero/unaligned -> EINVAL; part of a mapping -> EINVAL (nothing unmapped) */
	{ UNMAP, 1 * M, 0, 0, 0, 0, -EINVAL, 0, 260 },
	{ UNMAP, 1 * M + 1, 4 * K, 0, 0, 0, -EINVAL, 0, 260 },
	{ UNMAP, 1 * M, 4 * K, 0, 0, 0, -EINVAL, 0, 260 },
	{ UNMAP, 1 * M + 4 * K, 1 * M - 4 * K, 0, 0, 0, -EINVAL, 0, 260 },
	{ UNMAP, 1 * M - 4 * K, 8 * K, 0, 0, 0, -EINVAL, 0, 260 },
	{ UNMAP, 16 * M, 2 * M, 0, 0, 0, -EINVAL, 0, 260 },
	/* a range with no mapping unmaps nothing, successfully */
	{ UNMAP, 8 * M, 4 * M, 0, 0, 0, 0, 0, 260 },
	/* whole mappings inside the range: [1M-4K, 2M+4K) holds three mappings */
	{ UNMAP, 1 * M - 4 * K, 1 * M + 8 * K, 0, 0, 0, 0, 1 * M + 8 * K, 2 },
	{ UNMAP, 0, 1ull << 40, 0, 0, 0, 0, 4 * M, 0 },
	/* after unmapping, the same iova maps again */
	{ MAP, 1 * M, 1 * M, 0x10000000, RW, 4 * K, 0, 0, 256 },
};

static void run_steps(struct pin_container *c)
{
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];
		struct err e = { 0 };
		uint64_t unmapped = 12345;
		int ret;

		if (s->op == MAP) {
			struct pin_dma_map m = { .vaddr = s->vaddr, .iova = s->iova, .size = s->size,
						 .flags = s->flags, .page_size = s->page_size };

			ret = pin_map_dma(c, &m, &e);
		} else {
			ret = pin_unmap_dma(c, s->iova, s->size, &unmapped, &e);
			if (!ret)
				TEST_ASSERT(unmapped == s->unmapped, "step %zu: unmapped %" PRIu64 ", want %" PRIu64,
					    i, unmapped, s->unmapped);
			else
				TEST_ASSERT(unmapped == 0, "step %zu: failed unmap reports %" PRIu64 " bytes", i,
					    unmapped);
		}
		TEST_ASSERT(ret == s->want, "step %zu (%s iova 0x%" PRIx64 " size 0x%" PRIx64 "): got %d want %d (%s)",
			    i, s->op == MAP ? "map" : "unmap", s->iova, s->size, ret, s->want, e.msg);
		TEST_ASSERT(!ret || e.msg[0], "step %zu: error %d without a sentence", i, ret);
		TEST_ASSERT(pin_container_pinned_pages(c) == s->pins_after, "step %zu: %" PRIu64 " pins, want %" PRIu64,
			    i, pin_container_pinned_pages(c), s->pins_after);
	}
}

static void check_translate(struct pin_container *c)
{
	struct pin_translation t;
	struct pin_info info;

	/* Only [1M, 2M) at vaddr 0x10000000 is mapped now. */
	TEST_ASSERT(pin_translate(c, 1 * M + 0x123, 16, &t) == 0, "translate inside");
	TEST_ASSERT(t.host == (void *)(uintptr_t)(0x10000000 + 0x123), "host %p", t.host);
	TEST_ASSERT(t.len == 1 * M - 0x123, "len %" PRIu64, t.len);
	TEST_ASSERT(t.flags == RW, "flags");
	TEST_ASSERT(pin_translate(c, 2 * M - 8, 16, &t) == -EFAULT, "running off the mapping faults");
	TEST_ASSERT(pin_translate(c, 1 * M - 8, 16, &t) == -EFAULT, "starting before faults");
	TEST_ASSERT(pin_translate(c, 0, 4, &t) == -EFAULT, "unmapped faults");
	TEST_ASSERT(pin_translate(c, 1 * M, 0, &t) == -EINVAL, "zero length");
	TEST_ASSERT(pin_get_info(c, &info) == 0, "info");
	TEST_ASSERT(info.pgsize_bitmap & 4096, "4 KiB pages supported");
	TEST_ASSERT(info.nr_iova_ranges >= 1, "iova ranges");
	TEST_ASSERT(info.dma_avail == 65535 - 1, "dma_avail %u", info.dma_avail);
}

static void check_misc(void)
{
	enum pin_backend b;
	struct pin_container *c;
	struct pin_options opt = { .backend = PIN_NONE };
	struct pin_dma_map m = { .vaddr = 0x10000000, .iova = 0, .size = 4096, .flags = RW };
	struct err e = { 0 };

	TEST_ASSERT(pin_backend_parse("io_uring", &b) == 0 && b == PIN_IO_URING, "parse io_uring");
	TEST_ASSERT(pin_backend_parse("auto", &b) == 0 && b == PIN_AUTO, "parse auto");
	TEST_ASSERT(pin_backend_parse("vfio", &b) == 0 && b == PIN_VFIO, "parse vfio");
	TEST_ASSERT(pin_backend_parse("iommufd", &b) == 0 && b == PIN_IOMMUFD, "parse iommufd");
	TEST_ASSERT(pin_backend_parse("none", &b) == 0 && b == PIN_NONE, "parse none");
	TEST_ASSERT(pin_backend_parse("bogus", &b) == -EINVAL, "parse bogus");
	TEST_ASSERT(!strcmp(pin_backend_name(PIN_IO_URING), "io_uring"), "name");

	/* --pin none maps nothing. */
	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "open none: %s", e.msg);
	TEST_ASSERT(pin_map_dma(c, &m, &e) == -EOPNOTSUPP, "none refuses maps");
	pin_container_close(c);

	/* An injected memlock failure names the limit/amount, and leaves nothing mapped. */
	opt.backend = PIN_MOCK;
	err_reset(&e);
	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "open mock");
	pin_mock_fail_next_map(c, -ENOMEM);
	TEST_ASSERT(pin_map_dma(c, &m, &e) == -ENOMEM, "injected ENOMEM");
	TEST_ASSERT(strstr(e.msg, "4 KiB") && (strstr(e.msg, "memlock") || strstr(e.msg, "ulimit")),
		    "memlock message names the amount and the limit: %s", e.msg);
	TEST_ASSERT(pin_container_pinned_pages(c) == 0, "nothing pinned after a failed map");
	pin_container_close(c);
}

struct regions {
	int fail_at;	/* region index whose visit fails, -1 never */
};

static int visit(void *opaque, pin_region_fn fn, void *data)
{
	struct regions *r = opaque;
	struct pin_region reg[3] = {
		{ .gpa = 0, .host = (void *)0x40000000, .size = 2 * M, .page_size = 2 * M },
		{ .gpa = 4 * G, .host = (void *)0x80000000, .size = 6 * M, .page_size = 2 * M },
		{ .gpa = 2 * M, .host = (void *)0x80000000, .size = 2 * M, .page_size = 2 * M },
	};

	for (int i = 0; i < 3; i++) {
		int ret = i == r->fail_at ? -ENOSPC : fn(&reg[i], data);

		if (ret)
			return ret;
	}
	return 0;
}

static void check_regions(void)
{
	struct pin_options opt = { .backend = PIN_MOCK };
	struct pin_container *c;
	struct regions r = { .fail_at = -1 };
	struct err e = { 0 };
	uint64_t un;

	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "open mock");
	TEST_ASSERT(pin_map_regions(c, visit, &r, &e) == 0, "map regions: %s", e.msg);
	TEST_ASSERT(pin_container_pinned_pages(c) == 5, "2 MiB pages pinned: %" PRIu64,
		    pin_container_pinned_pages(c));
	TEST_ASSERT(pin_unmap_all(c, &un, &e) == 0 && un == 10 * M, "unmap all");
	r.fail_at = 2;
	TEST_ASSERT(pin_map_regions(c, visit, &r, &e) == -ENOSPC, "visitor failure propagates");
	TEST_ASSERT(pin_container_pinned_pages(c) == 0, "a failed visit rolls back");
	pin_container_close(c);
}

int main(void)
{
	struct pin_options opt = { .backend = PIN_MOCK };
	struct pin_container *c;
	struct err e = { 0 };

	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "open mock: %s", e.msg);
	TEST_ASSERT(pin_container_backend(c) == PIN_MOCK, "backend");
	run_steps(c);
	check_translate(c);
	pin_container_close(c);
	check_misc();
	check_regions();
	printf("PASS: %zu type1v2 rule steps, translation, regions, none/mock errors\n",
	       sizeof(steps) / sizeof(steps[0]));
	return T_PASS;
}
