/* Test: the real guest DMA stress (guest/dma_stress.c, built for the host with its MMIO routed
 * to the bus) on two "vCPU" threads against the engine, with guest RAM mapped in this process
 * at its guest-physical addresses (identity IOVA) around 1 GiB. Checks that the guest's
 * injected faults equal the device's IOMMU faults, nothing fails, and that corrupting the
 * media makes the guest report exactly the descriptors that read it.
 * argv[1]: "mock" (suite unit) or "io_uring" (suite kvm: real pins, kernel copies);
 * argv[2] "seccomp": the queue threads run under their system call filter, and no call of
 * theirs may be refused. */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>

#include "common/thread_filter.h"

#include "common/report.h"
#include "devices/bus.h"
#include "devices/dma_engine.h"
#include "guest/dma_stress.h"
#include "test.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define REGION_GPA (GiB - 66 * MiB)	/* vCPU 0's area straddles 1 GiB */
#define REGION_BYTES (132 * MiB)
#define NR_CPUS 2

uint64_t dma_stress_test_mmio(unsigned cpu, uint64_t gpa, uint64_t value, int is_write);
void dma_stress_test_relax(void);

static struct bus *bus;
static uint64_t ctl_mismatches;
static struct guest_params params;

uint64_t dma_stress_test_mmio(unsigned cpu, uint64_t gpa, uint64_t value, int is_write)
{
	if (gpa >= GUEST_MMIO_CTL_GPA && gpa < GUEST_MMIO_CTL_GPA + 64 * GUEST_CTL_STRIDE) {
		if (is_write && (gpa - GUEST_MMIO_CTL_GPA) % GUEST_CTL_STRIDE == CTL_MISMATCH)
			__atomic_fetch_add(&ctl_mismatches, 1, __ATOMIC_RELAXED);
		return 0;
	}
	TEST_ASSERT(bus_dispatch(bus, BUS_MMIO, cpu, gpa, (uint8_t *)&value, 8, is_write) == 0,
		    "guest MMIO at 0x%" PRIx64 " reached no device", gpa);
	return value;
}

void dma_stress_test_relax(void)
{
	sched_yield();
}

struct vcpu {
	unsigned cpu;
	unsigned calls;
	uint64_t failures;
};

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;

	for (unsigned i = 0; i < v->calls; i++)
		v->failures += guest_dma_stress(&params, v->cpu);
	return NULL;
}

static uint64_t run_guest(unsigned calls)
{
	struct vcpu v[NR_CPUS];
	pthread_t th[NR_CPUS];
	uint64_t failures = 0;

	for (unsigned c = 0; c < NR_CPUS; c++) {
		v[c] = (struct vcpu){ .cpu = c, .calls = calls };
		TEST_ASSERT(pthread_create(&th[c], NULL, vcpu_main, &v[c]) == 0, "vCPU thread");
	}
	for (unsigned c = 0; c < NR_CPUS; c++) {
		pthread_join(th[c], NULL);
		failures += v[c].failures;
	}
	return failures;
}

static uint64_t get(struct dma_engine *dma, const char *key)
{
	struct report *r = report_new();
	uint64_t v = 0;

	TEST_ASSERT(r && dma_engine_fill_report(dma, r) == 0, "report");
	TEST_ASSERT(report_get_u64(r, key, &v), "%s in the report", key);
	report_free(r);
	return v;
}

int main(int argc, char **argv)
{
	bool uring = argc > 1 && strcmp(argv[1], "io_uring") == 0;
	struct pin_options po = { .backend = uring ? PIN_IO_URING : PIN_MOCK };
	struct dma_config cfg = { .nr_queues = 2, .vm_fd = -1, .verify_writes = true, .fault_permille = 50,
				  .seccomp = argc > 2 && strcmp(argv[2], "seccomp") == 0 };
	struct pin_container *pins;
	struct dma_engine *dma;
	struct err e = { 0 };
	struct dma_stats s;
	uint64_t failures, injected, faults, transfers;
	char why[256];
	void *ram;
	int fd = -1, flags = MAP_FIXED_NOREPLACE | MAP_POPULATE;

	if (uring) {
		fd = memfd_create("dma-stress-ram", MFD_CLOEXEC);
		TEST_ASSERT(fd >= 0 && ftruncate(fd, REGION_BYTES) == 0, "memfd guest RAM");
		flags |= MAP_SHARED;
	} else {
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
	}
	/* Guest RAM at its guest-physical address: the guest code dereferences GPAs.
	 * MAP_FIXED_NOREPLACE (Linux 4.17) fails instead of clobbering a mapping there. */
	ram = mmap((void *)REGION_GPA, REGION_BYTES, PROT_READ | PROT_WRITE, flags, fd, 0);
	TEST_ASSERT(ram == (void *)REGION_GPA, "guest RAM at 0x%llx in this process", REGION_GPA);
	struct pin_dma_map m = { .vaddr = REGION_GPA, .iova = REGION_GPA, .size = REGION_BYTES,
				 .flags = PIN_DMA_READ | PIN_DMA_WRITE, .page_size = 4096 };
	TEST_ASSERT(pin_container_open(&po, &pins, &e) == 0 && pin_map_dma(pins, &m, &e) == 0,
		    "%s pins: %s", pin_backend_name(po.backend), e.msg);
	TEST_ASSERT(bus_create(&bus) == 0, "bus");
	TEST_ASSERT(dma_engine_create(&cfg, pins, bus, &dma, &e) == 0, "create: %s", e.msg);
	params = (struct guest_params){ .magic = GUEST_PARAMS_MAGIC, .nr_cpus = NR_CPUS, .seed = 0x5eed,
					.ram_low_bytes = REGION_GPA + REGION_BYTES };
	TEST_ASSERT(dma_engine_fill_guest_params(dma, &params, REGION_GPA, REGION_BYTES, &e) == 0,
		    "layout: %s", e.msg);
	TEST_ASSERT(params.dma_area_gpa[0] < GiB && params.dma_area_gpa[0] + params.dma_area_bytes > GiB,
		    "vCPU 0's area crosses 1 GiB");
	TEST_ASSERT(dma_engine_start(dma, &e) == 0, "start: %s", e.msg);

	/* Phase 1: a clean run. */
	failures = run_guest(3);
	dma_engine_get_stats(dma, &s);
	injected = get(dma, "dma.faults_injected");
	faults = get(dma, "dma.iommu_faults");
	transfers = s.transfers;
	printf("%s: %" PRIu64 " transfers, %.1f MiB, %" PRIu64 " faults injected, %" PRIu64 " IOMMU faults, %" PRIu64
	       " doorbells\n", pin_backend_name(po.backend), s.transfers, (double)s.bytes / MiB, injected, faults,
	       s.doorbells);
	TEST_ASSERT(failures == 0 && ctl_mismatches == 0, "clean run: %" PRIu64 " guest failures", failures);
	TEST_ASSERT(dma_engine_verdict_ok(dma, why, sizeof(why)), "clean run: %s", why);
	TEST_ASSERT(injected > 0 && injected == faults, "faults injected %" PRIu64 " == IOMMU faults %" PRIu64,
		    injected, faults);
	TEST_ASSERT(s.transfers > 100 && s.ring_faults == 0, "transfers %" PRIu64, s.transfers);
	if (cfg.seccomp) {
		struct thread_filter_violations v;
		char name[64] = "";

		thread_filter_get_violations(&v);
		if (v.count)
			thread_filter_syscall_name(v.first_syscall, name, sizeof(name));
		TEST_ASSERT(v.count == 0, "%" PRIu64 " system calls of the %s threads refused, the first %s",
			    v.count, v.first_role, name);
		{
			struct report *r = report_new();
			bool on = false;

			TEST_ASSERT(r && dma_engine_fill_report(dma, r) == 0 && report_get_bool(r, "dma.seccomp", &on) && on,
				    "dma.seccomp true in the report");
			report_free(r);
		}
		printf("seccomp: the queue threads ran under their filter, 0 calls refused\n");
	}

	/* Phase 2: wreck the media's read region; every media->RAM the guest does must fail. */
	{
		uint64_t rb = dma_media_read_bytes(dma_engine_media_bytes(dma));
		char *junk = calloc(1, rb);

		TEST_ASSERT(junk && pwrite(dma_engine_media_fd(dma), junk, rb, 0) == (ssize_t)rb, "corrupt media");
		free(junk);
	}
	failures = run_guest(1);
	dma_engine_stop_and_drain(dma);
	dma_engine_get_stats(dma, &s);
	printf("corrupted media: the guest found %" PRIu64 " bad transfers (%" PRIu64 " reported to the device, %" PRIu64
	       " to the control device)\n", failures, s.guest_verify_failures, ctl_mismatches);
	TEST_ASSERT(failures > 0 && s.guest_verify_failures == failures && ctl_mismatches == failures,
		    "every failure reported exactly once");
	TEST_ASSERT(s.transfers > transfers, "phase 2 moved data");
	TEST_ASSERT(!dma_engine_verdict_ok(dma, why, sizeof(why)), "the verdict must fail");
	printf("verdict: %s\n", why);
	dma_engine_destroy(dma);
	bus_destroy(bus);
	pin_container_close(pins);
	munmap(ram, REGION_BYTES);
	if (fd >= 0)
		close(fd);
	printf("PASS\n");
	return T_PASS;
}
