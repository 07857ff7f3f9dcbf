/* Helpers shared by the pmem-lab check programs: an independent view of the dax device from
 * sysfs, PFNs from /proc/self/pagemap, the kernel's pin counters, and QEMU's edu DMA engine. */
#ifndef DAXVM_TESTS_LAB_UTIL_H
#define DAXVM_TESTS_LAB_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#define LAB_MAX_RANGES 16

/* What sysfs says about a devdax device; read here, not through daxvm, so that daxvm's own
 * discovery is checked against an independent source. */
struct lab_dax {
	char name[32];			/* "dax0.0" */
	uint64_t size;			/* bytes */
	uint64_t align;			/* bytes */
	uint64_t start[LAB_MAX_RANGES];	/* physical address of each mapping range */
	uint64_t end[LAB_MAX_RANGES];	/* inclusive end */
	unsigned nr_ranges;
};

/* Reads /sys/bus/dax/devices/NAME; returns 0 or -errno. */
int lab_dax_sysfs(const char *dev_path, struct lab_dax *d);
bool lab_dax_contains(const struct lab_dax *d, uint64_t phys);

/* PFN of the page at addr from /proc/self/pagemap (needs CAP_SYS_ADMIN for real PFNs);
 * returns 0 and *pfn, -ENOENT when the page is not present, -errno on read errors. */
int lab_pfn(const void *addr, uint64_t *pfn);

/* The kernel's FOLL_PIN counters (writes /proc/sys/vm/stat_refresh first: the per-cpu deltas
 * are folded lazily otherwise). Returns 0 or -errno. */
int lab_vmstat_pins(uint64_t *acquired, uint64_t *released);

/* A field of /proc/self/status in KiB ("VmPin", "VmLck"); -1 when absent. */
long lab_status_kib(const char *field);

/* QEMU's edu device behind a VFIO device fd: BAR0 registers, DMA engine (buffer at 0x40000,
 * 4 KiB; QEMU 7.2 aborts on a transfer reaching its last byte, so at most 4095 bytes). */
#define LAB_EDU_BUF 0x40000ull
#define LAB_EDU_MAX_XFER 4095u

struct lab_edu {
	int dev_fd;		/* VFIO device fd (not owned) */
	uint64_t bar0_off;	/* file offset of BAR0 in the device fd */
	uint64_t bar0_size;	/* bytes */
	uint64_t cfg_off;	/* file offset of PCI config space */
};

/* Finds the edu device (1234:11e8) in sysfs; writes its PCI address. 0 or -ENODEV. */
int lab_edu_find(char *bdf, unsigned len);
/* Region offsets from the device fd, enables bus mastering, checks the ID register. */
int lab_edu_init(struct lab_edu *edu, int dev_fd);
uint32_t lab_edu_read32(struct lab_edu *edu, uint64_t reg);
/* One DMA: to_device copies len bytes from iova into the edu buffer at buf_off, otherwise
 * from the buffer into iova. Polls until done; -ETIMEDOUT after timeout_ms. */
int lab_edu_dma(struct lab_edu *edu, uint64_t iova, uint64_t buf_off, uint32_t len, bool to_device,
		unsigned timeout_ms);

/* One measured kernel behaviour, as a line "MEASURE KEY VALUE" (VALUE without spaces). The host
 * compares these with tests/lab/expect.tsv for the booted kernel (tests/lab/result): what a
 * kernel does is data there, not an assertion here, so a kernel that behaves differently turns
 * the check red until the file is updated with the evidence. */
void lab_measure(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The errno's symbolic name ("EOPNOTSUPP") for a negative or positive errno; "0" for 0. */
const char *lab_errno_name(int err);

/* Deterministic test pattern: byte i of a stream seeded with seed. */
void lab_pattern_fill(void *buf, uint64_t len, uint64_t seed, uint64_t stream_off);
/* First mismatching offset, or -1 when buf holds the pattern. */
int64_t lab_pattern_check(const void *buf, uint64_t len, uint64_t seed, uint64_t stream_off);

/* Milliseconds since an arbitrary point (CLOCK_MONOTONIC). */
double lab_now_ms(void);

#endif
