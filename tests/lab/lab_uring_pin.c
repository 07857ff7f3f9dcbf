/* Lab check 3: io_uring pinning of devdax memory. Reports exactly what the kernel does when
 * io_uring registers device-dax pages as fixed buffers (pin_user_pages(FOLL_LONGTERM)), what the
 * pin counters say, and that daxvm's io_uring backend sees the same outcome. What the kernel does
 * (accept or refuse, pins held, VmPin charged) is measured (MEASURE lines) and judged against
 * tests/lab/expect.tsv on the host; here only kernel-independent invariants are asserted. */
#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/uio.h>

#include "memory/backing.h"
#include "pinning/pin.h"
#include "tests/lab/lab_util.h"
#include "tests/test.h"

#define SIZE (64ull << 20)	/* bytes of devdax registered */

struct pin_delta {
	int64_t acquired, released;	/* nr_foll_pin_* deltas, pages */
	long vmpin_kib;			/* VmPin while held, KiB */
};

static void counters(uint64_t *a, uint64_t *r)
{
	TEST_ASSERT(lab_vmstat_pins(a, r) == 0, "cannot read nr_foll_pin_* from /proc/vmstat");
}

/* The kernel directly: one registered buffer over the devdax mapping. Returns 0 or -errno. */
static int raw_register(void *host, struct pin_delta *held, struct pin_delta *after)
{
	struct io_uring ring;
	struct iovec iov = { .iov_base = host, .iov_len = SIZE };
	uint64_t a0, r0, a1, r1, a2, r2;
	int ret;

	TEST_ASSERT(io_uring_queue_init(4, &ring, 0) == 0, "io_uring_queue_init");
	counters(&a0, &r0);
	ret = io_uring_register_buffers(&ring, &iov, 1);
	counters(&a1, &r1);
	held->acquired = (int64_t)(a1 - a0);
	held->released = (int64_t)(r1 - r0);
	held->vmpin_kib = lab_status_kib("VmPin");
	if (ret == 0)
		io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	counters(&a2, &r2);
	after->acquired = (int64_t)(a2 - a0);
	after->released = (int64_t)(r2 - r0);
	after->vmpin_kib = lab_status_kib("VmPin");
	return ret;
}

/* Whether VmPin is charged for io_uring fixed buffers on plain anonymous memory, for this process
 * (root, CAP_IPC_LOCK): tells a devdax-specific accounting gap from a general one. */
static const char *anon_vmpin(void)
{
	const size_t len = 2u << 20;
	struct io_uring ring;
	struct iovec iov;
	const char *r;
	long kib;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap anon");
	memset(p, 1, len);
	iov = (struct iovec){ .iov_base = p, .iov_len = len };
	TEST_ASSERT(io_uring_queue_init(4, &ring, 0) == 0, "io_uring_queue_init");
	if (io_uring_register_buffers(&ring, &iov, 1)) {
		r = "refused";
	} else {
		kib = lab_status_kib("VmPin");
		r = kib == (long)(len >> 10) ? "charged" : kib == 0 ? "not_charged" : "partial";
		io_uring_unregister_buffers(&ring);
	}
	io_uring_queue_exit(&ring);
	munmap(p, len);
	return r;
}

/* The same without CAP_IPC_LOCK: a forked child drops it from its effective set (raw capset: no
 * library needed) with a memlock limit large enough, so only the capability differs. */
static const char *anon_vmpin_nocap(void)
{
	static const char *const names[] = { "charged", "not_charged", "partial", "refused", "error" };
	int status;
	pid_t pid = fork();

	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct d[2];
		struct rlimit rl = { 64u << 20, 64u << 20 };
		const char *r;

		if (setrlimit(RLIMIT_MEMLOCK, &rl) || syscall(SYS_capget, &h, d))
			_exit(4);
		d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
		if (syscall(SYS_capset, &h, d))
			_exit(4);
		r = anon_vmpin();
		for (int i = 0; i < 4; i++)
			if (!strcmp(r, names[i]))
				_exit(i);
		_exit(4);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child");
	return names[WEXITSTATUS(status) < 5 ? WEXITSTATUS(status) : 4];
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : t_require_devdax();
	struct backing_request req = { .spec = dev, .size = SIZE };
	struct pin_options opt = { .backend = PIN_IO_URING };
	struct pin_delta held, after;
	struct pin_container *c = NULL;
	struct backing b;
	struct err e = { 0 };
	uint64_t a0, r0, a1, r1, a2, r2;
	int raw, ours;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* lines survive a crash */

	TEST_ASSERT(backing_open(&req, &b, &e) == 0, "backing_open(%s): %s", dev, e.msg);
	TEST_ASSERT(b.kind == BACKING_DEVDAX, "kind %s", backing_kind_name(b.kind));
	memset(b.host, 0x5a, SIZE);	/* fault everything in: GUP then only pins */
	/* Linux 6.1 io_uring pins first, then refuses file-backed VMAs other than hugetlbfs with
	 * EOPNOTSUPP (shmem became allowed later); the devdax char device is file-backed. */

	raw = raw_register(b.host, &held, &after);
	printf("kernel: IORING_REGISTER_BUFFERS of %llu MiB devdax: %s%s; while held: FOLL_PIN "
	       "acquired +%" PRId64 " released +%" PRId64 ", VmPin %ld KiB; after unregister: acquired "
	       "+%" PRId64 " released +%" PRId64 ", VmPin %ld KiB\n", SIZE >> 20,
	       raw ? "refused, " : "accepted", raw ? strerror(-raw) : "", held.acquired, held.released,
	       held.vmpin_kib, after.acquired, after.released, after.vmpin_kib);
	/* Whatever the kernel decided, every pin it took must be given back. */
	lab_measure("uring_register", "%s", raw ? lab_errno_name(raw) : "accepted");
	/* Pins held while registered: 0 when refused; 6.12+ keep one pin per 2 MiB folio. */
	lab_measure("uring_pins_held", "%" PRId64, held.acquired - held.released);
	/* VmPin for a process with CAP_IPC_LOCK (the lab runs as root): 7.x stopped charging it. */
	lab_measure("uring_vmpin_root", "%s", raw ? "n/a" : held.vmpin_kib == (long)(SIZE >> 10) ? "charged" :
		    held.vmpin_kib == 0 ? "not_charged" : "partial");
	lab_measure("uring_release", "%s", after.acquired == after.released ? "released" : "leak");
	lab_measure("uring_vmpin_anon_root", "%s", anon_vmpin());
	lab_measure("uring_vmpin_anon_nocap", "%s", anon_vmpin_nocap());

	/* daxvm's io_uring backend on the same memory must see the same outcome. */
	counters(&a0, &r0);
	ours = pin_container_open(&opt, &c, &e);
	TEST_ASSERT(ours == 0, "pin_container_open(io_uring): %s", e.msg);
	ours = pin_map_dma(c, &(struct pin_dma_map){ .vaddr = (uintptr_t)b.host, .iova = 0, .size = SIZE,
		.flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = b.page_size }, &e);
	counters(&a1, &r1);
	printf("daxvm io_uring backend: pin_map_dma: %s%s%s (pinned pages %" PRIu64 ", acquired +%" PRIu64
	       " released +%" PRIu64 ")\n", ours ? "refused: " : "mapped", ours ? strerror(-ours) : "",
	       "", pin_container_pinned_pages(c), a1 - a0, r1 - r0);
	if (ours)
		printf("daxvm says: %s\n", e.msg);
	pin_container_close(c);
	counters(&a2, &r2);
	printf("after pin_container_close: acquired +%" PRIu64 " released +%" PRIu64 "\n", a2 - a0, r2 - r0);
	TEST_ASSERT(a2 - a0 == r2 - r0, "LEAK after daxvm's io_uring backend closed");
	/* Same outcome; on a refusal daxvm's sentence must carry the kernel's reason. */
	TEST_ASSERT((ours == 0) == (raw == 0), "daxvm's backend returned %d, the kernel %d on the same memory",
		    ours, raw);
	TEST_ASSERT(ours == 0 || strstr(e.msg, strerror(-raw)),
		    "daxvm refused without naming the kernel's reason (%s): %s", strerror(-raw), e.msg);
	TEST_ASSERT(ours == raw, "daxvm returns %d (%s) where the kernel returned %d (%s)", ours,
		    strerror(-ours), raw, strerror(-raw));
	TEST_ASSERT(ours == 0 || !strstr(e.msg, "page-cache"),
		    "daxvm's sentence blames page-cache files, but this memory is devdax: %s", e.msg);
	backing_close(&b);
	printf("PASS: io_uring on devdax: %s (%s); counters balanced; daxvm agrees\n",
	       raw ? "refused by the kernel" : "pinned", raw ? strerror(-raw) : "FOLL_LONGTERM pin held");
	return T_PASS;
}
