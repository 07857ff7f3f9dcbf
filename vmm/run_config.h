/* What one run of the VM is asked to do: parsed once by the command line, read-only after. */
#ifndef DAXVM_VMM_RUN_CONFIG_H
#define DAXVM_VMM_RUN_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "pinning/pin.h"

#define RUN_DEFAULT_CPUS 2
#define RUN_DEFAULT_DURATION_S 10.0
#define RUN_DEFAULT_HANG_S 5.0
#define RUN_DEFAULT_VALIDATE_MS 100
#define RUN_DEFAULT_DMA_QUEUES 2
#define RUN_MAX_DEVICES 4		/* passed-through PCI devices (--device vfio-pci,host=) */
#define RUN_PMEM_OFFSET_AUTO UINT64_MAX

struct run_config {
	const char *mem;		/* backing: path, "memfd", "memfd-huge", "anon"; NULL = auto */
	uint64_t mem_size;		/* guest RAM, bytes; 0 = the backing's default */
	uint64_t work_bytes;		/* stress guest: pattern bytes per vCPU and pass; 0 = its share */
	unsigned cpus;			/* vCPUs */
	double duration_s;		/* seconds the guest workload runs */
	const char *console_path;	/* guest console file, NULL = stdout */
	enum pin_backend pin;		/* pinning backend asked for (PIN_AUTO: the container decides) */
	const char *pin_name;		/* the backend as the user named it ("auto" by default) */
	uint32_t guest_flags;		/* stress guest: GUEST_F_INJECT_UD, GUEST_F_TRIPLE_FAULT, ... */
	double hang_s;			/* seconds without a guest report that count as a hang */
	const char *vfio;		/* PCI device whose IOMMU group the vfio container attaches */
	unsigned validate_interval_ms;	/* validator sampling period, ms */
	bool dma;			/* run the DMA stress (needs pinning) */
	unsigned dma_queues;		/* DMA device threads */
	const char *dma_media;		/* DMA device media: file or block device (overwritten); NULL = memfd */
	bool grow_pool;			/* hugetlb backings may grow the pool for the run (given back) */
	/* A Linux guest instead of the built-in one (kernel != NULL): */
	const char *kernel;		/* bzImage path */
	const char *initrd;		/* initramfs path; NULL = none */
	const char *append;		/* appended to daxvm's kernel command line; NULL = nothing */
	const char *pmem_path;		/* a region shown as e820 pmem: a path or memfd; NULL = none */
	uint64_t pmem_size;		/* its bytes; 0 = to the end of the device or file */
	uint64_t pmem_offset;		/* where it starts in pmem_path; RUN_PMEM_OFFSET_AUTO: right
					 * after guest RAM on RAM's own device, else 0 */
	unsigned prealloc_threads;	/* threads populating guest RAM before the pin (and pinning it a
					 * GiB each on io_uring); 0 = the CPU count */
	const char *devices[RUN_MAX_DEVICES];	/* vfio-pci devices to pass through ("DDDD:BB:DD.F") */
	unsigned nr_devices;
	bool seccomp;			/* vCPU and DMA queue threads run under a syscall filter */
	bool seccomp_probe;		/* and each vCPU thread makes one forbidden call (a test) */
};

#endif
