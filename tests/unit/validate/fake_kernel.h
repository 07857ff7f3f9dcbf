/* A made-up kernel for validator tests: counters and pagemap entries the test controls,
 * served through struct validate_sources, so no root and no real pins are needed. */
#ifndef DAXVM_TESTS_FAKE_KERNEL_H
#define DAXVM_TESTS_FAKE_KERNEL_H

#include <stdint.h>
#include <string.h>

#include "validate/pagemap.h"
#include "validate/validate.h"

#define FK_MAX_PAGES 4096

struct fake_kernel {
	uint64_t acquired, released;	/* nr_foll_pin_* */
	uint64_t vmpin_kib, vmlck_kib;
	bool no_vmpin;			/* the status file has no VmPin line */
	uint64_t base;			/* vaddr of page 0 of entry[] */
	uint64_t entry[FK_MAX_PAGES];	/* raw pagemap entry per 4 KiB page from base */
	unsigned pagemap_reads;		/* calls, to see the sampler work */
	pid_t last_pid;			/* pid the validator asked about */
};

static int fk_vmstat(void *opaque, struct vmstat_pins *out)
{
	struct fake_kernel *k = opaque;

	out->acquired = k->acquired;
	out->released = k->released;
	out->refreshed = true;
	return 0;
}

static int fk_status(void *opaque, pid_t pid, const char *field, uint64_t *kib)
{
	struct fake_kernel *k = opaque;

	k->last_pid = pid;
	if (!strcmp(field, "VmPin") && !k->no_vmpin) {
		*kib = k->vmpin_kib;
		return 0;
	}
	if (!strcmp(field, "VmLck")) {
		*kib = k->vmlck_kib;
		return 0;
	}
	return -ENOENT;
}

static int fk_pagemap(void *opaque, pid_t pid, uint64_t vaddr, uint64_t page_size, size_t nr,
		      uint64_t *out)
{
	struct fake_kernel *k = opaque;

	k->last_pid = pid;
	__atomic_add_fetch(&k->pagemap_reads, 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < nr; i++) {
		uint64_t idx = (vaddr - k->base + i * page_size) / 4096;

		if (vaddr < k->base || idx >= FK_MAX_PAGES)
			return -EFAULT;
		out[i] = __atomic_load_n(&k->entry[idx], __ATOMIC_RELAXED);
	}
	return 0;
}

/* Every page present at PFN pfn0 + index. */
static inline void fk_init(struct fake_kernel *k, uint64_t base, uint64_t pfn0)
{
	memset(k, 0, sizeof(*k));
	k->base = base;
	for (unsigned i = 0; i < FK_MAX_PAGES; i++)
		k->entry[i] = PAGEMAP_PRESENT | (pfn0 + i);
}

static inline struct validate_sources fk_sources(struct fake_kernel *k)
{
	return (struct validate_sources){ .vmstat = fk_vmstat, .status_kib = fk_status,
					  .pagemap = fk_pagemap, .opaque = k };
}

static inline void fk_set(struct fake_kernel *k, unsigned page, uint64_t entry)
{
	__atomic_store_n(&k->entry[page], entry, __ATOMIC_RELAXED);
}

#endif
