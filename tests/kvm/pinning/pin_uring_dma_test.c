/* Device DMA through io_uring pins: READ_FIXED/WRITE_FIXED between a media file and guest
 * RAM, split at the 1 GiB registered-buffer boundary, IOMMU faults for unmapped or
 * read-only IOVAs with nothing touched, short media, and 4 threads sharing the ring. */
#include <pthread.h>
#include <sys/mman.h>

#include "pin_kvm_util.h"
#include "kvm/common/host_require.h"

#define G1 (1ull << 30)
#define RAM (G1 + (8ull << 20))
#define MEDIA (32ull << 20)
#define BASE 0x100000000ull	/* iova of RAM */
#define RO_IOVA 0x800000000ull	/* a read-only mapping */

static struct pin_container *c;
static char *ram, *ro;
static int media;

static void fill(char *p, uint64_t len, uint32_t seed)
{
	for (uint64_t i = 0; i < len; i += 4)
		*(uint32_t *)(p + i) = seed * 2654435761u + (uint32_t)i;
}

struct worker {
	int id;
	int failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	/* Each thread owns 2 MiB of media and 2 MiB of RAM just below the 1 GiB boundary. */
	uint64_t moff = 16ull << 20 | (uint64_t)w->id << 21, roff = G1 - (8ull << 20) + ((uint64_t)w->id << 21);
	unsigned seed = (unsigned)w->id + 1;

	for (int i = 0; i < 200; i++) {
		uint64_t len = 4096ull * (1 + rand_r(&seed) % 512);
		struct err e = { 0 };

		if (len > (2ull << 20))
			len = 2ull << 20;
		fill(ram + roff, len, (uint32_t)(w->id * 1000 + i));
		if (pin_dma_rw(c, media, moff, BASE + roff, len, false, &e))
			w->failures++;
		memset(ram + roff, 0, len);
		if (pin_dma_rw(c, media, moff, BASE + roff, len, true, &e))
			w->failures++;
		for (uint64_t k = 0; k < len; k += 4)
			if (*(uint32_t *)(ram + roff + k) != (uint32_t)(w->id * 1000 + i) * 2654435761u + (uint32_t)k) {
				w->failures++;
				break;
			}
	}
	return NULL;
}

int main(void)
{
	struct pin_options opt = { .backend = PIN_IO_URING };
	struct pin_dma_map m = { .iova = BASE, .size = RAM, .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	struct pin_dma_map mro = { .iova = RO_IOVA, .size = 1 << 20, .flags = PIN_DMA_READ, .page_size = 4096 };
	struct worker w[4];
	pthread_t th[4];
	struct err e = { 0 };
	char *buf;

	t_require_root("pins over 1 GiB: beyond any default memlock limit");
	t_require_io_uring();
	ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ro = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	buf = malloc(MEDIA);
	TEST_ASSERT(ram != MAP_FAILED && ro != MAP_FAILED && buf, "memory");
	media = memfd_create("daxvm-media", MFD_CLOEXEC);
	TEST_ASSERT(media >= 0 && ftruncate(media, MEDIA) == 0, "media");
	fill(buf, MEDIA, 7);
	TEST_ASSERT(pwrite(media, buf, MEDIA, 0) == (ssize_t)MEDIA, "media fill");
	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "open: %s", e.msg);
	m.vaddr = (uintptr_t)ram;
	mro.vaddr = (uintptr_t)ro;
	TEST_ASSERT(pin_map_dma(c, &m, &e) == 0, "map RAM: %s", e.msg);
	TEST_ASSERT(pin_map_dma(c, &mro, &e) == 0, "map read-only: %s", e.msg);

	/* 8 MiB media -> RAM across the 1 GiB buffer boundary, then back to other media. */
	TEST_ASSERT(pin_dma_rw(c, media, 0, BASE + G1 - (4ull << 20), 8ull << 20, true, &e) == 0, "to RAM: %s", e.msg);
	TEST_ASSERT(!memcmp(ram + G1 - (4ull << 20), buf, 8ull << 20), "RAM holds the media bytes");
	TEST_ASSERT(pin_dma_rw(c, media, 8ull << 20, BASE + G1 - (4ull << 20), 8ull << 20, false, &e) == 0,
		    "from RAM: %s", e.msg);
	TEST_ASSERT(pread(media, buf + (8ull << 20), 8ull << 20, 8ull << 20) == (ssize_t)(8ull << 20) &&
		    !memcmp(buf + (8ull << 20), buf, 8ull << 20), "media got the RAM bytes");

	/* IOMMU faults: unmapped, running off the end, writing a read-only mapping. */
	memset(ram, 0xee, 4096);
	err_reset(&e);
	TEST_ASSERT(pin_dma_rw(c, media, 0, BASE - 4096, 8192, true, &e) == -EFAULT, "unmapped start");
	TEST_ASSERT(strstr(e.msg, "IOMMU fault"), "fault sentence: %s", e.msg);
	TEST_ASSERT(pin_dma_rw(c, media, 0, BASE + RAM - 4096, 8192, true, &e) == -EFAULT, "off the end");
	TEST_ASSERT((unsigned char)ram[RAM - 1] == 0 && (unsigned char)ram[0] == 0xee, "nothing written on a fault");
	TEST_ASSERT(pin_dma_rw(c, media, 0, RO_IOVA, 4096, true, &e) == -EFAULT, "write to a read-only mapping");
	TEST_ASSERT(pin_dma_rw(c, media, 0, RO_IOVA, 4096, false, &e) == 0, "read of a read-only mapping");
	err_reset(&e);
	TEST_ASSERT(pin_dma_rw(c, media, MEDIA - 4096, BASE, 8192, true, &e) == -EIO, "short media -> EIO");

	/* Four device threads share the ring. */
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .id = i };
		TEST_ASSERT(pthread_create(&th[i], NULL, work, &w[i]) == 0, "thread");
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		TEST_ASSERT(w[i].failures == 0, "thread %d: %d failed transfers", i, w[i].failures);
	}
	pin_container_close(c);
	TEST_ASSERT(t_vmpin_kib() == 0, "everything unpinned at close");
	printf("PASS: io_uring DMA across the 1 GiB boundary, faults, short media, 4 threads x 400 transfers\n");
	free(buf);
	close(media);
	munmap(ro, 1 << 20);
	munmap(ram, RAM);
	return T_PASS;
}
