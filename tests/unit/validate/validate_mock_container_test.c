/* The own-container adapter on the mock backend (the `own_field == NULL` path): the target
 * is built from the container's mappings, the evidence is the container's bookkeeping, and
 * the release check finds pins the container still holds. Pagemap entries are injected,
 * since PFNs are hidden without root; counters are the real files. */
#include <inttypes.h>
#include <sys/mman.h>

#include "test.h"
#include "fake_kernel.h"

#define SZ (4ull << 20)

static struct fake_kernel k;

static struct validate *run(struct pin_container *c, void *mem, bool unmap)
{
	struct validate_sources src = fk_sources(&k);
	struct validate_config cfg = { .interval_ms = 0 };
	struct pin_dma_map m = { .vaddr = (uintptr_t)mem, .iova = 0x100000000ull, .size = SZ,
				 .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 2ull << 20 };
	struct validate *v;
	struct err e = { 0 };

	/* Only the pagemap is made up: vmstat and status are this process's real files. */
	src.vmstat = NULL;
	src.status_kib = NULL;
	cfg.src = &src;
	TEST_ASSERT(validate_new(&cfg, &v, &e) == 0 && validate_begin(v, &e) == 0, "begin: %s", e.msg);
	TEST_ASSERT(pin_map_dma(c, &m, &e) == 0, "map: %s", e.msg);
	TEST_ASSERT(validate_start(v, c, &e) == 0, "start: %s", e.msg);
	TEST_ASSERT(validate_stop(v, &e) == 0, "stop: %s", e.msg);
	if (unmap)
		TEST_ASSERT(pin_unmap_all(c, NULL, &e) == 0, "unmap: %s", e.msg);
	TEST_ASSERT(validate_finish(v, &e) == 0, "finish: %s", e.msg);
	return v;
}

int main(void)
{
	struct pin_options opt = { .backend = PIN_MOCK };
	struct validate_counts n;
	struct pin_container *c;
	struct validate *v;
	struct err e = { 0 };
	char reason[512];
	void *raw = mmap(NULL, 2 * SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *mem;

	TEST_ASSERT(raw != MAP_FAILED, "mmap");
	/* 2 MiB pages: the range must start on a 2 MiB boundary. */
	mem = (void *)(((uintptr_t)raw + (2ull << 20) - 1) & ~((2ull << 20) - 1));
	fk_init(&k, (uintptr_t)mem, 0x200000);

	/* The one pin rule: VFIO one per 4 KiB page, io_uring and mock one per folio. */
	TEST_ASSERT(pin_expected_pins(PIN_VFIO, (uintptr_t)mem, SZ, 2ull << 20) == SZ / 4096, "vfio rule");
	TEST_ASSERT(pin_expected_pins(PIN_IO_URING, 0x200000, SZ, 2ull << 20) == 2, "io_uring rule");
	TEST_ASSERT(pin_expected_pins(PIN_MOCK, 0x201000, 0x1000, 2ull << 20) == 1, "partial folio is one pin");

	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "mock container: %s", e.msg);
	v = run(c, mem, true);
	validate_get_counts(v, &n);
	TEST_ASSERT(n.evidence == VALIDATE_EV_BOOKKEEPING && n.expected_pages == 2 && n.pinned_pages == 2,
		    "bookkeeping: %s %" PRIu64 "/%" PRIu64, validate_evidence_name(n.evidence), n.pinned_pages,
		    n.expected_pages);
	TEST_ASSERT(n.pages_checked == 4, "two 2 MiB pages, snapshot + sweep: %" PRIu64, n.pages_checked);
	TEST_ASSERT(validate_verdict(v, reason, sizeof(reason)) && n.leaked_pins == 0, "clean mock run: %s", reason);
	validate_free(v);

	/* The release check on the mock path: finishing with the mapping still held is a leak. */
	v = run(c, mem, false);
	validate_get_counts(v, &n);
	TEST_ASSERT(n.leaked_pins == 2, "mock leak counted: %" PRIu64, n.leaked_pins);
	TEST_ASSERT(!validate_verdict(v, reason, sizeof(reason)) && strstr(reason, "pin leak") &&
		    strstr(reason, "0x100000000"), "reason: %s", reason);
	pin_container_close(c);	/* unmaps; the hook still points at v */
	validate_free(v);
	munmap(raw, 2 * SZ);
	printf("PASS: own-container adapter on the mock: bookkeeping evidence, release check, pin rule\n");
	return T_PASS;
}
