/* The stress threads (see stress.h). Each worker owns its RAM share (mmap + mlock) and its pmem
 * slice; the main thread only starts them, reports progress through ops and collects. */
#include "stress.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "daxvm_guest_abi.h"
#include "pattern.h"
#include "pmem.h"

#define RAM_CHUNK_WORDS ((4u << 20) / 8)	/* progress granularity: 4 MiB */
#define PAGE 4096ull

struct worker {
	pthread_t tid;
	unsigned id;
	const struct stress_plan *plan;
	uint64_t ram_bytes;
	uint64_t ram_first_index;	/* tag of the share's first word: shares never overlap */
	uint64_t pmem_off, pmem_len;
	/* results */
	uint64_t ram_verified, pmem_verified, mismatches, pmem_errors;
	double ram_s, pmem_s;		/* time spent on each part, set-up excluded */
	unsigned passes;
	int setup_failed;
	char why[RESULT_REASON_MAX];
	int have_miss;
	uint64_t miss_address, miss_expected, miss_found;
	const char *miss_where;
	int pmem_errno;
};

static atomic_uint_fast64_t verified_total;
static atomic_uint workers_ready, workers_done;
static atomic_int workers_stop;	/* a worker's set-up failed: the others end early */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void add_verified(uint64_t bytes)
{
	atomic_fetch_add_explicit(&verified_total, bytes, memory_order_relaxed);
}

/* Guest-physical address of a mapped byte (as root, pagemap shows PFNs), or the virtual
 * address itself when pagemap cannot say. */
static uint64_t phys_of(const void *va)
{
	uint64_t entry = 0, v = (uint64_t)(uintptr_t)va;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return v;
	if (pread(fd, &entry, sizeof(entry), (off_t)(v / PAGE * 8)) != sizeof(entry) ||
	    !(entry >> 63) || !(entry & ((1ull << 55) - 1)))
		entry = 0;
	close(fd);
	return entry ? (entry & ((1ull << 55) - 1)) * PAGE + v % PAGE : v;
}

static void worker_fail(struct worker *w, const char *what, int err)
{
	snprintf(w->why, sizeof(w->why), "thread %u: %s: %s", w->id, what, strerror(err));
	w->setup_failed = 1;
	atomic_store(&workers_stop, 1);
}

/* One pass over the RAM share: fill all of it, then verify all of it. */
static void ram_pass(struct worker *w, uint64_t *ram, uint64_t seed, unsigned pass)
{
	size_t words = (size_t)(w->ram_bytes / 8);

	pattern_fill(ram, words, w->ram_first_index, seed);
	if (w->plan->inject == PARAMS_INJECT_MISMATCH && w->id == 0 && pass == 0)
		((volatile uint64_t *)ram)[words / 2] ^= 1;	/* the negative control's one bad bit */
	for (size_t at = 0; at < words; at += RAM_CHUNK_WORDS) {
		size_t n = words - at < RAM_CHUNK_WORDS ? words - at : RAM_CHUNK_WORDS;
		struct pattern_miss miss;
		uint64_t bad = pattern_check(ram + at, n, w->ram_first_index + at, seed, &miss);

		if (bad && !w->have_miss) {
			w->have_miss = 1;
			w->miss_where = "ram";
			w->miss_address = phys_of(ram + at + miss.word);
			w->miss_expected = miss.expected;
			w->miss_found = miss.found;
		}
		w->mismatches += bad;
		w->ram_verified += n * 8;
		add_verified(n * 8);
	}
}

static void pmem_pass(struct worker *w, int fd, void *buf, uint64_t seed)
{
	struct pmem_pass r;

	pmem_pass_slice(fd, w->pmem_off, w->pmem_len, seed, buf, add_verified, &r);
	w->pmem_verified += r.verified;
	w->mismatches += r.mismatches;
	if (r.errors && !w->pmem_errors)
		w->pmem_errno = r.first_errno;
	w->pmem_errors += r.errors;
	if (r.have_miss && !w->have_miss) {
		w->have_miss = 1;
		w->miss_where = "pmem";
		w->miss_address = r.miss_offset;
		w->miss_expected = r.miss_expected;
		w->miss_found = r.miss_found;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t *ram = MAP_FAILED;
	void *buf = MAP_FAILED;
	int fd = -1;
	double deadline;

	ram = mmap(NULL, w->ram_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED) {
		worker_fail(w, "mmap of its RAM share failed", errno);
		goto out;
	}
	/* mlock faults every page in and keeps it resident: the patterns stay in guest RAM. */
	if (mlock(ram, w->ram_bytes)) {
		worker_fail(w, "mlock of its RAM share failed", errno);
		goto out;
	}
	if (w->pmem_len) {
		fd = open(w->plan->pmem_path, O_RDWR | O_DIRECT | O_CLOEXEC);
		buf = mmap(NULL, PMEM_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (fd < 0 || buf == MAP_FAILED) {
			worker_fail(w, fd < 0 ? "opening the pmem device failed" : "mmap of its I/O buffer failed",
				    errno);
			goto out;
		}
	}
	atomic_fetch_add(&workers_ready, 1);
	deadline = now_s() + w->plan->duration_s;
	for (unsigned pass = 0; !atomic_load(&workers_stop); pass++) {
		uint64_t seed = pattern_seed(w->plan->seed, pass);
		double t = now_s();

		ram_pass(w, ram, seed, pass);
		w->ram_s += now_s() - t;
		if (w->pmem_len) {
			t = now_s();
			pmem_pass(w, fd, buf, seed);
			w->pmem_s += now_s() - t;
		}
		w->passes++;
		if (w->passes >= STRESS_MIN_PASSES && now_s() >= deadline)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	if (buf != MAP_FAILED)
		munmap(buf, PMEM_CHUNK);
	if (ram != MAP_FAILED)
		munmap(ram, w->ram_bytes);
	atomic_fetch_add(&workers_done, 1);
	return NULL;
}

/* Shares: RAM in whole pages, pmem in whole chunks (the last thread takes the rest, which
 * stays 4 KiB aligned for O_DIRECT). */
static void plan_shares(const struct stress_plan *plan, struct worker *w)
{
	uint64_t ram_each = plan->ram_bytes / plan->threads / PAGE * PAGE;
	uint64_t pmem_total = plan->pmem_bytes / PAGE * PAGE;
	uint64_t pmem_each = pmem_total / plan->threads / PMEM_CHUNK * PMEM_CHUNK;

	for (unsigned i = 0; i < plan->threads; i++) {
		w[i].id = i;
		w[i].plan = plan;
		w[i].ram_bytes = ram_each;
		w[i].ram_first_index = (uint64_t)i * (ram_each / 8);
		if (plan->pmem_path && pmem_total) {
			w[i].pmem_off = (uint64_t)i * pmem_each;
			w[i].pmem_len = i + 1 == plan->threads ? pmem_total - w[i].pmem_off : pmem_each;
		}
	}
}

static void wait_tick(void)
{
	struct timespec t = { 0, 100 * 1000 * 1000 };

	nanosleep(&t, NULL);
}

void stress_run(const struct stress_plan *plan, const struct stress_report_ops *ops,
		struct stress_result *out)
{
	struct worker *w = calloc(plan->threads, sizeof(*w));
	unsigned started = 0, tick = 0;
	int running = 0;
	double t0, ram_s = 0, pmem_s = 0;

	if (!w) {
		out->verdict = DAXVM_GUEST_FAIL_SETUP;
		snprintf(out->reason, sizeof(out->reason), "no memory for %u thread records", plan->threads);
		return;
	}
	plan_shares(plan, w);
	t0 = now_s();
	for (; started < plan->threads; started++) {
		int err = pthread_create(&w[started].tid, NULL, worker_main, &w[started]);

		if (err) {
			worker_fail(&w[started], "pthread_create failed", err);
			break;
		}
	}
	/* Progress every ~0.5 s; RUNNING once every worker holds its memory. */
	while (atomic_load(&workers_done) < started) {
		if (!running && atomic_load(&workers_ready) == plan->threads && !atomic_load(&workers_stop)) {
			running = 1;
			ops->running();
		}
		if (++tick % 5 == 0)
			ops->progress((uint32_t)(atomic_load(&verified_total) >> 20));
		wait_tick();
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	out->seconds = now_s() - t0;
	ops->progress((uint32_t)(atomic_load(&verified_total) >> 20));

	out->threads = plan->threads;
	out->passes = ~0u;
	for (unsigned i = 0; i < plan->threads; i++) {
		struct worker *x = &w[i];

		out->ram_bytes += x->ram_bytes;
		out->pmem_bytes += x->pmem_len;
		out->ram_bytes_verified += x->ram_verified;
		out->pmem_bytes_verified += x->pmem_verified;
		out->mismatches += x->mismatches;
		out->pmem_errors += x->pmem_errors;
		ram_s += x->ram_s;
		pmem_s += x->pmem_s;
		if (x->passes < out->passes)
			out->passes = x->passes;
		if (x->setup_failed && out->verdict != DAXVM_GUEST_FAIL_SETUP) {
			out->verdict = DAXVM_GUEST_FAIL_SETUP;
			snprintf(out->reason, sizeof(out->reason), "%s", x->why);
		}
		if (x->have_miss && !out->have_miss) {
			out->have_miss = 1;
			out->miss_where = x->miss_where;
			out->miss_address = x->miss_address;
			out->miss_expected = x->miss_expected;
			out->miss_found = x->miss_found;
		}
		if (x->pmem_errors && out->verdict == DAXVM_GUEST_PASS && !out->mismatches)
			snprintf(out->reason, sizeof(out->reason), "%llu failed or short O_DIRECT "
				 "requests on %s, the first: %s", (unsigned long long)x->pmem_errors,
				 plan->pmem_path, strerror(x->pmem_errno));
	}
	/* Rates of all threads together: bytes over the mean time each thread spent on the part. */
	if (ram_s > 0)
		out->ram_bytes_per_s = (uint64_t)((double)out->ram_bytes_verified * plan->threads / ram_s);
	if (pmem_s > 0)
		out->pmem_bytes_per_s = (uint64_t)((double)out->pmem_bytes_verified * plan->threads / pmem_s);
	if (out->verdict == DAXVM_GUEST_PASS && out->mismatches) {
		out->verdict = DAXVM_GUEST_FAIL_MISMATCH;
		snprintf(out->reason, sizeof(out->reason), "%llu words did not verify, the first in %s "
			 "at 0x%llx", (unsigned long long)out->mismatches, out->miss_where,
			 (unsigned long long)out->miss_address);
	} else if (out->verdict == DAXVM_GUEST_PASS && out->pmem_errors) {
		out->verdict = DAXVM_GUEST_FAIL_DEVICE;
	}
	free(w);
}
