/* Lab check 5: tearing down a device-dax device while its pages are pinned for DMA. With a VFIO
 * mapping of devdax memory held, runs `daxctl disable-device` (bounded wait) and records whether
 * it blocks, fails or succeeds, whether device DMA afterwards still lands in that memory, and
 * asserts that daxvm's validator reports a device torn down under its pins as a hazard. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "memory/backing.h"
#include "devices/vfio_device.h"
#include "pinning/pin.h"
#include "validate/validate.h"
#include "tests/lab/lab_util.h"
#include "tests/test.h"

#define SIZE ((uint64_t)64 << 20)	/* bytes mapped and pinned */
#define IOVA ((uint64_t)16 << 20)	/* below edu's 28-bit DMA mask */
#define SRC_OFF 0			/* holds the pattern the device copies after teardown */
#define DST_OFF ((uint64_t)8 << 20)	/* where that DMA writes */
#define XFER 4000u
#define SEED_SRC 0x7ea2
#define SEED_DST 0x7ea1
#define DISABLE_WAIT_MS 15000

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_jmp, 1);
}

/* Compares len bytes at p with a pattern; survives SIGBUS. 1 match, 0 differ, -1 SIGBUS. */
static int guarded_check(const void *p, uint64_t len, uint64_t seed)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int r;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_jmp, 1))
		r = -1;
	else
		r = lab_pattern_check(p, len, seed, 0) < 0;
	sigaction(SIGBUS, &old, NULL);
	return r;
}

/* Runs daxctl ACTION NAME; waits at most wait_ms. Returns the exit status, or -1 when it is still
 * running (blocked) at the deadline; *ms gets the time waited. */
static int daxctl(const char *action, const char *name, unsigned wait_ms, double *ms, pid_t *blocked)
{
	double t0 = lab_now_ms();
	int status;
	pid_t pid = fork();

	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		execlp("daxctl", "daxctl", action, name, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		*ms = lab_now_ms() - t0;
		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (*ms > wait_ms) {
			*blocked = pid;
			return -1;
		}
		usleep(10000);
	}
}

int main(int argc, char **argv)
{
	const char *dev = argc > 2 ? argv[2] : t_require_devdax();
	char bdf[64], reason[512] = "", driver[300] = "none", path[300], link[300];
	struct backing_request req = { .spec = dev, .size = SIZE };
	struct pin_options opt = { .backend = PIN_VFIO };
	struct pin_container *c = NULL;
	struct vfio_device edu_dev = { .fd = -1 };
	struct validate *v = NULL;
	struct validate_counts n;
	struct lab_dax sys;
	struct lab_edu edu;
	struct backing b;
	struct err e = { 0 };
	struct utsname u;
	uint64_t a0, r0, a1, r1, pfn_before = 0, pfn_after = 0, unmapped = 0;
	double ms = 0, ms2 = 0;
	pid_t blocked = 0;
	int dis, dma_ret, cpu_sees, reread = -2, ret;
	bool verdict, torn_down;
	ssize_t nl;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* lines survive a crash */
	uname(&u);
	if (argc > 1)
		snprintf(bdf, sizeof(bdf), "%s", argv[1]);
	else
		TEST_ASSERT(lab_edu_find(bdf, sizeof(bdf)) == 0, "no edu device (1234:11e8)");
	opt.vfio_device = bdf;
	TEST_ASSERT(lab_dax_sysfs(dev, &sys) == 0, "sysfs for %s", dev);
	TEST_ASSERT(backing_open(&req, &b, &e) == 0, "backing_open(%s): %s", dev, e.msg);
	TEST_ASSERT(b.kind == BACKING_DEVDAX, "kind %s", backing_kind_name(b.kind));
	lab_pattern_fill((uint8_t *)b.host + SRC_OFF, XFER, SEED_SRC, 0);
	lab_pattern_fill((uint8_t *)b.host + DST_OFF, XFER, SEED_DST, 0);
	TEST_ASSERT(lab_pfn((uint8_t *)b.host + DST_OFF, &pfn_before) == 0, "pagemap");

	TEST_ASSERT(pin_container_open(&opt, &c, &e) == 0, "pin_container_open(vfio %s): %s", bdf, e.msg);
	TEST_ASSERT(validate_new(&(struct validate_config){ .interval_ms = 0, .devmap = true,
		.ranges = b.ranges, .nr_ranges = b.nr_ranges }, &v, &e) == 0, "validate_new: %s", e.msg);
	TEST_ASSERT(validate_begin(v, &e) == 0, "validate_begin: %s", e.msg);
	TEST_ASSERT(lab_vmstat_pins(&a0, &r0) == 0, "pin counters");
	TEST_ASSERT(pin_map_dma(c, &(struct pin_dma_map){ .vaddr = (uintptr_t)b.host, .iova = IOVA,
		.size = SIZE, .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = b.page_size }, &e) == 0,
		"pin_map_dma: %s", e.msg);
	TEST_ASSERT(validate_start(v, c, &e) == 0, "validate_start: %s", e.msg);
	TEST_ASSERT(lab_vmstat_pins(&a1, &r1) == 0, "pin counters");
	TEST_ASSERT(vfio_device_open(c, bdf, &edu_dev, &e) == 0, "vfio_device_open: %s", e.msg);
	TEST_ASSERT(lab_edu_init(&edu, edu_dev.fd) == 0, "edu through the VFIO device fd");
	printf("pinned %" PRIu64 " MiB of %s through VFIO (%s): FOLL_PIN acquired +%" PRIu64 " released +%"
	       PRIu64 "; dst pfn 0x%" PRIx64 "\n", SIZE >> 20, sys.name, bdf, a1 - a0, r1 - r0, pfn_before);

	/* The teardown, with the pins held. On 6.1 a FOLL_PIN holds a page reference, not a
	 * dev_pagemap reference (measured here: disable-device does not wait for the pins). */
	dis = daxctl("disable-device", sys.name, DISABLE_WAIT_MS, &ms, &blocked);
	snprintf(path, sizeof(path), "/sys/bus/dax/devices/%s/driver", sys.name);
	nl = readlink(path, link, sizeof(link) - 1);
	if (nl > 0) {
		link[nl] = 0;
		snprintf(driver, sizeof(driver), "%s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	}
	/* daxctl exits 0 only once the device is disabled; the driver link is reported as seen. */
	torn_down = dis == 0;
	printf("daxctl disable-device %s under %" PRIu64 " live pins: %s after %.0f ms; driver now: %s\n",
	       sys.name, a1 - a0, dis < 0 ? "BLOCKED (still running)" : dis == 0 ? "SUCCEEDED" : "FAILED",
	       ms, driver);
	if (dis > 0)
		printf("daxctl exit status %d\n", dis);

	/* Device DMA after the teardown: copy SRC (through the IOMMU) over DST. */
	dma_ret = lab_edu_dma(&edu, IOVA + SRC_OFF, 0, XFER, true, 2000);
	dma_ret = dma_ret ?: lab_edu_dma(&edu, IOVA + DST_OFF, 0, XFER, false, 2000);
	cpu_sees = guarded_check((uint8_t *)b.host + DST_OFF, XFER, SEED_SRC);
	ret = lab_pfn((uint8_t *)b.host + DST_OFF, &pfn_after);
	printf("edu DMA after teardown: %s; the process mapping %s; pagemap dst: %s\n",
	       dma_ret ? strerror(-dma_ret) : "completed",
	       cpu_sees < 0 ? "raises SIGBUS" : cpu_sees ? "shows the DMA's data" : "does not show the DMA's data",
	       ret == -ENOENT ? "not present" : ret ? strerror(-ret) : "present");

	TEST_ASSERT(validate_stop(v, &e) == 0, "validate_stop: %s", e.msg);
	TEST_ASSERT(pin_unmap_dma(c, IOVA, SIZE, &unmapped, &e) == 0, "pin_unmap_dma: %s", e.msg);
	TEST_ASSERT(validate_finish(v, &e) == 0, "validate_finish: %s", e.msg);
	verdict = validate_verdict(v, reason, sizeof(reason));
	validate_get_counts(v, &n);
	printf("daxvm validator: verdict %s%s%s; pfn changes %" PRIu64 " not present %" PRIu64
	       " outside devmap %" PRIu64 " leaked pins %" PRIu64 "\n", verdict ? "PASS" : "FAIL",
	       verdict ? "" : ": ", reason, n.pfn_changes, n.not_present, n.outside_devmap, n.leaked_pins);
	validate_free(v);
	vfio_device_close(&edu_dev);	/* before the container: it holds the group busy */
	pin_container_close(c);
	backing_close(&b);

	/* Bring the device back and look at the same device offset: did the DMA land there? */
	if (dis == 0) {
		struct backing b2;

		ret = daxctl("enable-device", sys.name, DISABLE_WAIT_MS, &ms2, &blocked);
		printf("daxctl enable-device %s: %s after %.0f ms\n", sys.name, ret == 0 ? "ok" : "failed", ms2);
		memset(&e, 0, sizeof(e));
		if (ret == 0 && backing_open(&req, &b2, &e) == 0) {
			reread = guarded_check((uint8_t *)b2.host + DST_OFF, XFER, SEED_SRC);
			lab_pfn((uint8_t *)b2.host + DST_OFF, &pfn_after);
			printf("re-enabled %s, same offset (pfn 0x%" PRIx64 ", before 0x%" PRIx64 "): %s\n",
			       sys.name, pfn_after, pfn_before,
			       reread < 0 ? "SIGBUS" : reread ? "holds the data the device wrote after teardown"
							      : "does not hold the DMA's data");
			backing_close(&b2);
		}
	}

	lab_measure("teardown_disable", "%s", dis < 0 ? "blocked" : dis == 0 ? "succeeds" : "fails");
	lab_measure("teardown_dma_after", "%s", dma_ret ? "fails" : !torn_down ? "n/a" : reread == 1 ? "lands_in_device" :
		    "completes");
	lab_measure("teardown_cpu_mapping", "%s", cpu_sees < 0 ? "sigbus" : "readable");
	if (torn_down) {
		printf("FINDING: Linux %s: daxctl disable-device removed %s in %.0f ms while %" PRIu64
		       " pages were pinned for VFIO DMA (the pins did not hold the dev_pagemap); device DMA "
		       "afterwards %s; the process mapping %s\n", u.release, sys.name, ms, a1 - a0,
		       dma_ret ? "failed" : reread == 1 ? "still landed in that memory" : "completed",
		       cpu_sees < 0 ? "raised SIGBUS" : "stayed readable");
		/* The hazard must be in daxvm's report: frames gone or moved under live pins. */
		TEST_ASSERT(!verdict && strstr(reason, "hazard") && (n.not_present || n.pfn_changes || n.outside_devmap),
			    "daxvm's validator did not report the device torn down under its pins (verdict %s, "
			    "not present %" PRIu64 ", pfn changes %" PRIu64 ", outside %" PRIu64 ")",
			    verdict ? "PASS" : "FAIL", n.not_present, n.pfn_changes, n.outside_devmap);
		printf("PASS: teardown under pins recorded; daxvm's validator reported the hazard\n");
		return T_PASS;
	}
	/* Blocked or refused: the pgmap reference held, as the design expects. */
	printf("PASS: the pins held %s: disable-device %s\n", sys.name, dis < 0 ? "blocked" : "failed");
	return T_PASS;
}
