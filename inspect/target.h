/* The inspect target: each memory promise of the configuration found (or not) in the
 * process's mappings, compared with what the mapping really is, turned into the validator's
 * target (ranges, devdax ranges, expected pins, counters). */
#ifndef DAXVM_INSPECT_TARGET_H
#define DAXVM_INSPECT_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/report.h"
#include "inspect/domain.h"
#include "inspect/process.h"
#include "inspect/vmm_config.h"
#include "validate/proc_maps.h"
#include "validate/validate.h"

#define INSPECT_MAX_MISMATCH 16

struct inspect_found {
	const struct inspect_mem *promise;	/* the configuration's promise */
	bool found;
	char label[VALIDATE_LABEL_MAX];	/* "ram0", "nvdimm0" */
	char kind[16];			/* devdax, hugetlbfs, memfd-huge, memfd, tmpfs, file, anon */
	char path[PROC_VMA_PATH_MAX];	/* the mapping's file ("" anonymous) */
	uint64_t vaddr, size;		/* in the target's address space */
	uint64_t page_size;		/* kernel page size of the mapping */
	bool shared, locked, devmap;
	uint64_t pins_expected;		/* by the pin path found */
	bool charged;			/* the pin path charges its own counter for these pages */
};

struct inspect_target {
	pid_t pid;
	struct inspect_found found[INSPECT_MAX_MEM];
	unsigned nr_found;
	char pin_path[16];		/* vfio, iommufd, io_uring, none: from the open files */
	uint64_t vmlck_kib, vmpin_kib, mlocked_kib;	/* /proc/PID/status, smaps VM_LOCKED sizes */
	char mismatch[INSPECT_MAX_MISMATCH][320];	/* promised vs found, one sentence each */
	unsigned nr_mismatch;
	/* For the validator: */
	struct validate_range ranges[INSPECT_MAX_MEM];
	size_t nr_ranges;
	struct backing_phys_range devmap[BACKING_MAX_RANGES];
	unsigned nr_devmap;
	char devdax_device[64];		/* "/dev/dax0.0": the first devdax mapping (dax guard) */
	struct validate_target vt;
	char pin_why[160];
};

/* Finds every RAM and NVDIMM promise of cfg in vmas and compares; dom (may be NULL) adds the
 * domain XML's promises. Mismatches are recorded, not errors: -errno only for environment
 * problems (a devdax device whose ranges cannot be read). */
int inspect_target_build(const struct inspect_process *p, const struct inspect_config *cfg,
			 const struct inspect_domain *dom, const struct proc_vmas *vmas,
			 struct inspect_target *t, struct err *e);

/* target.* keys: pid, vmm, promised and found per mapping, pin path, counters, mismatches. */
int inspect_target_fill_report(const struct inspect_target *t, const struct inspect_process *p,
			       const struct inspect_config *cfg, const struct inspect_domain *dom,
			       struct report *r);

#endif
