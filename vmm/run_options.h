/* Options of 'daxvm run', parsed without global state so they can be unit-tested. */
#ifndef DAXVM_VMM_RUN_OPTIONS_H
#define DAXVM_VMM_RUN_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "pinning/pin.h"

#define RUN_DEFAULT_CPUS 2
#define RUN_DEFAULT_DURATION_S 10.0
#define RUN_DEFAULT_HANG_S 5.0
#define RUN_DEFAULT_VALIDATE_MS 100
#define RUN_DEFAULT_DMA_QUEUES 2

struct run_options {
	const char *mem;		/* --mem: path, "memfd", "memfd-huge", "anon"; NULL = auto */
	uint64_t mem_size;		/* --mem-size, bytes; 0 = the backing's default */
	uint64_t work_bytes;		/* --work-size: pattern bytes per vCPU and pass; 0 = its share */
	unsigned cpus;			/* --cpus */
	double duration_s;		/* --duration, seconds of pattern passes */
	const char *report_path;	/* --report FILE.json, NULL = none */
	const char *console_path;	/* --console FILE, NULL = stdout */
	enum pin_backend pin;		/* --pin */
	const char *pin_name;		/* --pin as given ("auto" by default) */
	uint32_t guest_flags;		/* GUEST_F_INJECT_UD / GUEST_F_TRIPLE_FAULT from --inject */
	double hang_s;			/* --hang-timeout: seconds without a guest report = hang */
	const char *vfio;		/* --vfio ADDR: PCI device whose IOMMU group the vfio backend uses */
	unsigned validate_interval_ms;	/* --validate-interval: sampler period, ms */
	bool dma;			/* --dma on|off: run the DMA stress (needs pinning) */
	unsigned dma_queues;		/* --dma-queues: DMA device threads */
	const char *dma_media;		/* --dma-media PATH: file or block device (overwritten); NULL = memfd */
	unsigned prealloc_threads;	/* --prealloc-threads: threads populating RAM before the pin; 0 = CPU count */
	bool grow_pool;			/* --grow-pool: memfd-huge/hugetlbfs may grow the hugetlb pool for the run */
	bool help;			/* --help: print usage, run nothing */
};

/* Fills o from argv (argv[0] is "run"). Returns 0, or -EINVAL with one sentence in e
 * naming the bad option and how to fix it. Does not check limits that need KVM. */
int run_options_parse(int argc, char **argv, struct run_options *o, struct err *e);

void run_options_usage(FILE *out);

#endif
