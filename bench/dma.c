/* bench/dma: DMA engine throughput driven from the host (no guest) on io_uring pins over memfd
 * RAM, for 4 KiB, 64 KiB and 2 MiB transfers with 1 and 2 queues, next to single-thread memcpy
 * on the same machine; then the pin validator's cost (GiB validated per CPU-second) and DMA
 * throughput with the validator sampling every 10 ms and every 100 ms (daxvm run's default)
 * vs not, each "on" bracketed by "off" measurements. Prints numbers; never fails on a threshold.
 * The table is printed twice: memfd media (the default), then a page-cache file on /var/tmp
 * (O_TMPFILE, or DAXVM_BENCH_MEDIA=PATH: a file or block device, overwritten).
 * "dma SIZE QUEUES r|w" measures one cell only (for profiling), on DAXVM_BENCH_MEDIA or a memfd. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "devices/dma_engine.h"
#include "validate/validate.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define RAM_BYTES GiB			/* pinned guest RAM */
#define AREA_GPA (2 * MiB)		/* data areas start here; rings live below */
#define AREA_BYTES (256 * MiB)		/* per ring: bigger than the caches */
#define ENTRIES 64
#define RUN_NS 500000000ULL		/* per measurement */
#define REPEATS 3			/* each number is the best of this many (the machine is shared) */

static uint8_t *ram;
static const char *media_path;		/* NULL = a memfd */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct producer {
	struct dma_engine *dma;
	unsigned ring;
	uint32_t op;
	uint64_t len;
	uint64_t media_off0, media_span;	/* where in the media its descriptors go */
	uint64_t bytes;				/* completed */
	double secs;
};

/* Keeps the ring full from the host side until RUN_NS passed, then waits for the tail. */
static void *produce(void *arg)
{
	struct producer *p = arg;
	uint64_t ring_iova = (uint64_t)p->ring * 64 * 1024;
	struct dma_ring_header *h = (struct dma_ring_header *)(ram + ring_iova);
	struct dma_desc *desc = (struct dma_desc *)(h + 1);
	uint64_t area = AREA_GPA + (uint64_t)p->ring * AREA_BYTES, slots = AREA_BYTES / p->len;
	uint64_t mslots = p->media_span / p->len, k = 0;
	uint32_t prod = 0, cons = 0;
	double t0 = now_s(), end = t0 + RUN_NS / 1e9;

	memset(h, 0, dma_ring_bytes(ENTRIES));
	__atomic_store_n(&h->magic, DMA_RING_MAGIC, __ATOMIC_RELEASE);
	for (;;) {
		bool running = now_s() < end;

		while (running && prod - cons < ENTRIES - 1) {
			struct dma_desc *d = &desc[prod % ENTRIES];

			*d = (struct dma_desc){ .op = p->op, .len = p->len, .iova = area + (k % slots) * p->len,
						.media_off = p->media_off0 + (k % mslots) * p->len };
			k++;
			prod++;
		}
		__atomic_store_n(&h->prod, prod, __ATOMIC_RELEASE);
		dma_engine_kick(p->dma, p->ring);
		/* Sleep, not spin: on 2 CPUs a spinning producer takes the copy's CPU away. */
		while (__atomic_load_n(&h->cons, __ATOMIC_ACQUIRE) == cons && cons != prod)
			nanosleep(&(struct timespec){ 0, 20000 }, NULL);
		for (uint32_t c = __atomic_load_n(&h->cons, __ATOMIC_ACQUIRE); cons != c; cons++) {
			if (desc[cons % ENTRIES].status == DMA_ST_OK)
				p->bytes += p->len;
		}
		if (!running && cons == prod)
			break;
	}
	p->secs = now_s() - t0;
	return NULL;
}

/* GiB/s of one configuration: a fresh engine with nq queues and one producer per queue. */
static double dma_rate_once(struct pin_container *pins, unsigned nq, uint32_t op, uint64_t len)
{
	struct dma_config cfg = { .nr_queues = nq, .vm_fd = -1, .media_bytes = 128 * MiB,
				  .media_path = media_path };
	uint64_t rings[DMA_MAX_QUEUES];
	struct producer pr[DMA_MAX_QUEUES];
	pthread_t th[DMA_MAX_QUEUES];
	struct dma_engine *dma;
	struct err e = { 0 };
	uint64_t bytes = 0, media = 128 * MiB, wo, wl;
	double secs = 0;

	for (unsigned q = 0; q < nq; q++)
		rings[q] = (uint64_t)q * 64 * 1024;
	if (dma_engine_create(&cfg, pins, NULL, &dma, &e) || dma_engine_set_rings(dma, nq, rings, ENTRIES, &e) ||
	    dma_engine_start(dma, &e)) {
		fprintf(stderr, "bench/dma: %s\n", e.msg);
		exit(2);
	}
	for (unsigned q = 0; q < nq; q++) {
		pr[q] = (struct producer){ .dma = dma, .ring = q, .op = op, .len = len };
		if (op == DMA_OP_RAM_TO_MEDIA) {
			dma_media_write_slice(media, nq, q, &wo, &wl);
			pr[q].media_off0 = wo;
			pr[q].media_span = wl;
		} else {
			pr[q].media_span = dma_media_read_bytes(media);
		}
		pthread_create(&th[q], NULL, produce, &pr[q]);
	}
	for (unsigned q = 0; q < nq; q++) {
		pthread_join(th[q], NULL);
		bytes += pr[q].bytes;
		secs = pr[q].secs > secs ? pr[q].secs : secs;
	}
	dma_engine_destroy(dma);
	return (double)bytes / GiB / secs;
}

static double dma_rate_best(struct pin_container *pins, unsigned nq, uint32_t op, uint64_t len,
			    int repeats)
{
	double best = 0;

	for (int i = 0; i < repeats; i++) {
		double r = dma_rate_once(pins, nq, op, len);

		best = r > best ? r : best;
	}
	return best;
}

static double dma_rate(struct pin_container *pins, unsigned nq, uint32_t op, uint64_t len)
{
	return dma_rate_best(pins, nq, op, len, REPEATS);
}

/* 2 MiB media->RAM on one queue, best of OVERHEAD_REPEATS: the validator comparison. */
#define OVERHEAD_REPEATS 5
static double overhead_rate(struct pin_container *pins)
{
	return dma_rate_best(pins, 1, DMA_OP_MEDIA_TO_RAM, 2 * MiB, OVERHEAD_REPEATS);
}

/* Starts v (sampling pins every its period), measures DMA, stops it. */
static double rate_with(struct validate *v, struct pin_container *pins)
{
	struct err e = { 0 };
	double r;

	if (validate_start(v, pins, &e)) {
		fprintf(stderr, "bench/dma: validator: %s\n", e.msg);
		exit(2);
	}
	r = overhead_rate(pins);
	validate_stop(v, &e);
	return r;
}

static void print_overhead(unsigned period_ms, double off_before, double on, double off_after)
{
	double off = (off_before + off_after) / 2, ov = (off - on) / off;

	printf("DMA 2 MiB media->RAM, 1 queue, validator every %u ms: off %.2f / on %.2f / off %.2f GiB/s: "
	       "overhead %.1f %% (target <= 2 %%) -> %s\n", period_ms, off_before, on, off_after, ov * 100,
	       ov <= 0.02 ? "met" : "MISSED");
}

static double memcpy_rate_once(uint64_t len)
{
	uint8_t *src = ram + AREA_GPA, *dst = ram + AREA_GPA + AREA_BYTES;
	uint64_t slots = AREA_BYTES / len, k = 0, bytes = 0;
	double t0 = now_s(), t;

	do {
		for (int i = 0; i < 64; i++, k++) {
			memcpy(dst + (k % slots) * len, src + ((k * 7) % slots) * len, len);
			bytes += len;
		}
		__asm__ volatile("" ::: "memory");
		t = now_s() - t0;
	} while (t < RUN_NS / 1e9);
	return (double)bytes / GiB / t;
}

static double memcpy_rate(uint64_t len)
{
	double best = 0;

	for (int i = 0; i < REPEATS; i++) {
		double r = memcpy_rate_once(len);

		best = r > best ? r : best;
	}
	return best;
}

/* One table: sizes x {media->RAM, RAM->media} x {1, 2 queues}, and memcpy. */
static void table(struct pin_container *pins, const char *media)
{
	static const uint64_t sizes[] = { 4096, 64 * 1024, 2 * MiB };
	double mc2m = 0, d2m = 0;

	printf("\nmedia: %s\n", media);
	printf("%-8s %12s %12s %12s %12s %12s  %s\n", "size", "media->RAM", "media->RAM", "RAM->media",
	       "RAM->media", "memcpy", "DMA/memcpy");
	printf("%-8s %12s %12s %12s %12s %12s  %s\n", "", "1 queue", "2 queues", "1 queue", "2 queues",
	       "1 thread", "(best)");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double r1 = dma_rate(pins, 1, DMA_OP_MEDIA_TO_RAM, sizes[i]);
		double r2 = dma_rate(pins, 2, DMA_OP_MEDIA_TO_RAM, sizes[i]);
		double w1 = dma_rate(pins, 1, DMA_OP_RAM_TO_MEDIA, sizes[i]);
		double w2 = dma_rate(pins, 2, DMA_OP_RAM_TO_MEDIA, sizes[i]);
		double mc = memcpy_rate(sizes[i]);
		double best = r1 > r2 ? r1 : r2;
		char name[32];

		snprintf(name, sizeof(name), "%" PRIu64 " KiB", sizes[i] >> 10);
		printf("%-8s %8.2f GiB/s %6.2f GiB/s %6.2f GiB/s %6.2f GiB/s %6.2f GiB/s  %.2fx\n", name, r1, r2,
		       w1, w2, mc, best / mc);
		if (sizes[i] == 2 * MiB) {
			mc2m = mc;
			d2m = best;
		}
	}
	printf("target: DMA >= 0.7x memcpy at 2 MiB (media->RAM, best queue count): %.2fx -> %s\n",
	       d2m / mc2m, d2m >= 0.7 * mc2m ? "met" : "MISSED");
}

int main(int argc, char **argv)
{
	struct pin_options po = { .backend = PIN_IO_URING };
	struct validate_config vc = { .interval_ms = 10 }, vc100 = { .interval_ms = 100 };
	struct pin_dma_map m = { .iova = 0, .size = RAM_BYTES, .flags = PIN_DMA_READ | PIN_DMA_WRITE,
				 .page_size = 4096 };
	struct validate_counts c0, c1;
	struct pin_container *pins;
	struct validate *v, *v100;
	struct err e = { 0 };
	double t0, cpu0, idle_gib_per_cpu_s, off0, on10, off1, on100, off2;
	int fd = memfd_create("bench-dma-ram", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, RAM_BYTES) < 0)
		return 2;
	ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd);
	m.vaddr = (uintptr_t)ram;
	if (ram == MAP_FAILED || validate_new(&vc, &v, &e) || validate_begin(v, &e) ||
	    validate_new(&vc100, &v100, &e) || validate_begin(v100, &e) ||
	    pin_container_open(&po, &pins, &e) || pin_map_dma(pins, &m, &e)) {
		fprintf(stderr, "bench/dma: setup failed: %s\n", e.msg);
		return 2;
	}
	media_path = getenv("DAXVM_BENCH_MEDIA");
	if (argc == 4) {
		/* One cell, for profiling: dma SIZE QUEUES r|w */
		double rate = dma_rate(pins, (unsigned)atoi(argv[2]), argv[3][0] == 'w' ? DMA_OP_RAM_TO_MEDIA
							: DMA_OP_MEDIA_TO_RAM, strtoull(argv[1], NULL, 0));

		printf("%s bytes, %s queue(s), %s: %.2f GiB/s\n", argv[1], argv[2],
		       argv[3][0] == 'w' ? "RAM->media" : "media->RAM", rate);
		pin_container_close(pins);
		validate_free(v);
		validate_free(v100);
		munmap(ram, RAM_BYTES);
		return 0;
	}
	printf("bench/dma: io_uring pins on 1 GiB memfd RAM, %ld CPUs, best of %d x %.1f s per cell\n",
	       sysconf(_SC_NPROCESSORS_ONLN), REPEATS, RUN_NS / 1e9);
	table(pins, "memfd");
	{
		/* An unnamed file on the disk filesystem: nothing is left behind. */
		const char *env = getenv("DAXVM_BENCH_MEDIA");
		int tmp = env ? -1 : open("/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		char path[64];

		if (env) {
			media_path = env;
		} else if (tmp >= 0) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", tmp);
			media_path = path;
		}
		if (media_path)
			table(pins, env ? env : "page-cache file (/var/tmp, O_TMPFILE)");
		media_path = NULL;
		if (tmp >= 0)
			close(tmp);
	}

	/* The validator: its cost alone (idle VM), then DMA with it sampling (memfd media) at
	 * 10 ms and at 100 ms, each bracketed by runs without it (the machine drifts). */
	printf("\n");
	off0 = overhead_rate(pins);
	if (validate_start(v, pins, &e)) {
		fprintf(stderr, "bench/dma: validator: %s\n", e.msg);
		return 2;
	}
	validate_get_counts(v, &c0);
	t0 = now_s();
	cpu0 = cpu_s();
	usleep(1000000);
	validate_get_counts(v, &c1);
	idle_gib_per_cpu_s = (double)(c1.pages_checked - c0.pages_checked) * 4096 / GiB / (cpu_s() - cpu0);
	printf("validator (10 ms period, default window): %" PRIu64 " pages checked in %.2f s, %.1f GiB validated per CPU-second (target 100) -> %s\n",
	       c1.pages_checked - c0.pages_checked, now_s() - t0, idle_gib_per_cpu_s,
	       idle_gib_per_cpu_s >= 100 ? "met" : "MISSED");
	on10 = overhead_rate(pins);
	validate_stop(v, &e);
	off1 = overhead_rate(pins);
	on100 = rate_with(v100, pins);
	off2 = overhead_rate(pins);
	print_overhead(10, off0, on10, off1);
	print_overhead(100, off1, on100, off2);
	pin_container_close(pins);
	validate_finish(v, &e);
	validate_finish(v100, &e);
	validate_free(v);
	validate_free(v100);
	munmap(ram, RAM_BYTES);
	return 0;
}
