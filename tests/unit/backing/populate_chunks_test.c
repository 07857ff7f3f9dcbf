/* populate_range's work split (memory/populate.c), without depending on the kernel's
 * MADV_POPULATE_WRITE: the chunk seam records every chunk the workers take.
 * 1. N threads cover the range exactly once, in whole pages, and progress reaches the end;
 * 2. a failure injected in a chunk mid-way fails the call with that error and offset, no page
 *    is taken twice, later chunks are not started by the failing worker's peers after they
 *    saw it, and every worker thread is joined (positive control: the same call without the
 *    injection passes);
 * 3. cancel (SIGINT seen) stops between chunks with -EINTR;
 * 4. misaligned input is refused before any thread starts. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"
#include "memory/populate.h"

#define PAGE 4096ull

struct seen {
	pthread_mutex_t lock;
	uint8_t *count;			/* per page: times populated */
	uint64_t pages;
	unsigned chunks;
	uint64_t fail_at;		/* chunk holding this offset fails; UINT64_MAX = none */
	int fail_err;
	unsigned after_fail;		/* chunks started after the failure was returned */
	int failed;
	volatile sig_atomic_t *cancel_after_first;
	unsigned want_threads;		/* > 1: the first chunk waits (2 s at most) for a second worker */
	pthread_t tids[64];
	unsigned nr_tids;
};

static int record(void *p, uint64_t off, uint64_t len, void *opaque)
{
	struct seen *s = opaque;
	pthread_t self = pthread_self();
	bool known = false;
	int ret = 0;

	(void)p;
	pthread_mutex_lock(&s->lock);
	TEST_ASSERT(off % PAGE == 0 && len % PAGE == 0 && len, "chunk [%" PRIu64 ", +%" PRIu64 ") in whole pages", off, len);
	TEST_ASSERT((off + len) / PAGE <= s->pages, "chunk ends inside the range");
	if (s->failed)
		s->after_fail++;
	for (uint64_t pg = off / PAGE; pg < (off + len) / PAGE; pg++)
		s->count[pg]++;
	s->chunks++;
	for (unsigned i = 0; i < s->nr_tids; i++)
		known |= pthread_equal(s->tids[i], self);
	if (!known && s->nr_tids < 64)
		s->tids[s->nr_tids++] = self;
	if (s->fail_at >= off && s->fail_at < off + len) {
		ret = s->fail_err;
		s->failed = 1;
	}
	if (s->cancel_after_first)
		*s->cancel_after_first = 1;
	pthread_mutex_unlock(&s->lock);
	/* Give the other workers time to run into the same cursor (a real chunk takes ms); a
	 * failing chunk returns at once, so "after the failure" is after the stop was raised. */
	if (!ret)
		usleep(2000);
	/* On a loaded machine (or under a sanitizer) the first worker could take every chunk
	 * before the others are scheduled: hold it until a second one has joined. */
	for (int i = 0; i < 2000 && s->want_threads > 1 && !ret; i++) {
		unsigned n;

		pthread_mutex_lock(&s->lock);
		n = s->nr_tids;
		pthread_mutex_unlock(&s->lock);
		if (n > 1)
			break;
		usleep(1000);
	}
	return ret;
}

static void progress(uint64_t done, uint64_t total, double secs, void *opaque)
{
	uint64_t *last = opaque;

	(void)secs;
	TEST_ASSERT(done >= *last && done <= total, "progress moves forward");
	*last = done;
}

static void seen_init(struct seen *s, uint64_t size)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->pages = size / PAGE;
	s->count = calloc(s->pages, 1);
	s->fail_at = UINT64_MAX;
	TEST_ASSERT(s->count, "calloc");
}

static void case_exact_cover(char *mem, uint64_t size, unsigned threads)
{
	struct seen s;
	struct populate_request req = { .host = mem, .size = size, .page_size = PAGE, .threads = threads,
					.fd = -1, .chunk_fn = record, .progress = progress };
	struct populate_result res;
	struct err e = { 0 };
	uint64_t last = 0;
	unsigned tasks = t_count_dir("/proc/self/task");

	seen_init(&s, size);
	s.want_threads = threads;
	req.chunk_opaque = &s;
	req.opaque = &last;
	TEST_ASSERT(populate_range(&req, &res, &e) == 0, "populate: %s", e.msg);
	for (uint64_t pg = 0; pg < s.pages; pg++)
		TEST_ASSERT(s.count[pg] == 1, "page %" PRIu64 " populated %u times", pg, s.count[pg]);
	TEST_ASSERT(last == size, "progress reached %" PRIu64 " of %" PRIu64, last, size);
	TEST_ASSERT(res.threads == threads, "%u threads ran, asked %u", res.threads, threads);
	TEST_ASSERT(s.nr_tids > 1 || threads == 1, "chunks ran on %u threads", s.nr_tids);
	TEST_ASSERT(t_count_dir("/proc/self/task") == tasks, "every worker joined");
	printf("  %u threads: %u chunks on %u threads cover %" PRIu64 " pages exactly once\n", threads,
	       s.chunks, s.nr_tids, s.pages);
	free(s.count);
}

static void case_fail_midway(char *mem, uint64_t size)
{
	struct seen s;
	struct populate_request req = { .host = mem, .size = size, .page_size = PAGE, .threads = 4,
					.fd = -1, .chunk_fn = record };
	struct err e = { 0 };
	unsigned tasks = t_count_dir("/proc/self/task");
	uint64_t covered = 0;
	int ret;

	seen_init(&s, size);
	req.chunk_opaque = &s;
	s.fail_at = size / 2 + 5 * PAGE;
	s.fail_err = -ENOMEM;
	ret = populate_range(&req, NULL, &e);
	TEST_ASSERT(ret == -ENOMEM, "the injected ENOMEM fails the call: got %d (%s)", ret, e.msg);
	TEST_ASSERT(strstr(e.msg, "ran out of memory") && strstr(e.msg, "into"), "names the cause and where: %s", e.msg);
	for (uint64_t pg = 0; pg < s.pages; pg++) {
		TEST_ASSERT(s.count[pg] <= 1, "page %" PRIu64 " populated %u times", pg, s.count[pg]);
		covered += s.count[pg];
	}
	TEST_ASSERT(covered < s.pages, "the failure stopped the work: %" PRIu64 " of %" PRIu64 " pages", covered, s.pages);
	/* Peers already inside a chunk finish it; each may have taken one more chunk off the
	 * cursor before it saw the stop, none more. */
	TEST_ASSERT(s.after_fail <= 3, "%u chunks started after the failure", s.after_fail);
	TEST_ASSERT(t_count_dir("/proc/self/task") == tasks, "every worker joined after the failure");
	printf("  injected ENOMEM mid-way: \"%s\"; %" PRIu64 " of %" PRIu64 " pages done, threads joined\n", e.msg,
	       covered, s.pages);
	free(s.count);
}

static void case_cancel(char *mem, uint64_t size)
{
	static volatile sig_atomic_t cancel;
	struct seen s;
	struct populate_request req = { .host = mem, .size = size, .page_size = PAGE, .threads = 2,
					.fd = -1, .chunk_fn = record, .cancel = &cancel };
	struct err e = { 0 };
	int ret;

	seen_init(&s, size);
	req.chunk_opaque = &s;
	s.cancel_after_first = &cancel;
	ret = populate_range(&req, NULL, &e);
	TEST_ASSERT(ret == -EINTR, "cancel stops with -EINTR: got %d (%s)", ret, e.msg);
	TEST_ASSERT(s.chunks < 8, "stopped between chunks after %u", s.chunks);
	printf("  cancel: %s after %u chunks\n", e.msg, s.chunks);
	free(s.count);
}

int main(void)
{
	uint64_t size = (100ull << 20) + 3 * PAGE;	/* not a multiple of any chunk */
	char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct populate_request bad = { .host = mem + 512, .size = size - PAGE, .page_size = PAGE, .fd = -1 };
	struct err e = { 0 };

	TEST_ASSERT(mem != MAP_FAILED, "mmap");
	case_exact_cover(mem, size, 1);
	case_exact_cover(mem, size, 3);
	case_exact_cover(mem, size, 8);
	case_fail_midway(mem, size);
	case_cancel(mem, size);
	TEST_ASSERT(populate_range(&bad, NULL, &e) == -EINVAL, "a misaligned start is refused");
	printf("  misaligned: %s\n", e.msg);
	munmap(mem, size);
	printf("PASS: populate chunks cover the range exactly once; a mid-way failure and a cancel stop cleanly\n");
	return T_PASS;
}
