/* Sharing guest RAM out between the vCPUs' pattern areas. */
#include <errno.h>
#include <string.h>

#include "common/size.h"
#include "vmm/guest_params.h"

int guest_params_layout(const struct guest_mem *gm, unsigned nr_cpus, uint32_t flags,
			uint64_t seed, uint64_t reserve_tail_bytes, uint64_t work_cap_bytes,
			struct guest_params *p, struct err *e)
{
	uint64_t usable, per_cpu;
	char a[32], b[32];

	memset(p, 0, sizeof(*p));
	if (nr_cpus == 0 || nr_cpus > GUEST_MAX_CPUS)
		return err_set(e, -EINVAL, "the built-in guest supports 1 to %d vCPUs, not %u",
			       GUEST_MAX_CPUS, nr_cpus);
	if (gm->ram_bytes < GUEST_RESERVED_BYTES + reserve_tail_bytes)
		return err_set(e, -EINVAL, "guest RAM of %s leaves nothing for the workload: give the guest more RAM",
			       size_format(gm->ram_bytes, a, sizeof(a)));
	usable = gm->ram_bytes - GUEST_RESERVED_BYTES - reserve_tail_bytes;
	per_cpu = usable / nr_cpus / GUEST_MEM_PAGE_BYTES * GUEST_MEM_PAGE_BYTES;
	if (per_cpu == 0)
		return err_set(e, -EINVAL, "guest RAM of %s is too small for %u vCPUs (each needs 2 MiB beyond the 2 MiB boot area): give it %s or more, or use fewer vCPUs",
			       size_format(gm->ram_bytes, a, sizeof(a)), nr_cpus,
			       size_format(GUEST_RESERVED_BYTES + reserve_tail_bytes +
					   nr_cpus * GUEST_MEM_PAGE_BYTES, b, sizeof(b)));
	p->magic = GUEST_PARAMS_MAGIC;
	p->nr_cpus = nr_cpus;
	p->flags = flags;
	p->ram_low_bytes = gm->regions[0].size;
	p->ram_high_bytes = gm->ram_bytes - gm->regions[0].size;
	p->work_bytes_per_cpu = per_cpu;
	if (work_cap_bytes) {
		if (work_cap_bytes < GUEST_MEM_PAGE_BYTES)
			return err_set(e, -EINVAL, "a pattern area of %s is below 2 MiB: ask for 2M or more",
				       size_format(work_cap_bytes, a, sizeof(a)));
		if (work_cap_bytes < per_cpu)
			p->work_bytes_per_cpu = work_cap_bytes / GUEST_MEM_PAGE_BYTES * GUEST_MEM_PAGE_BYTES;
	}
	for (unsigned cpu = 0; cpu < nr_cpus; cpu++)
		p->work_gpa[cpu] = guest_mem_linear_to_gpa(gm, GUEST_RESERVED_BYTES + cpu * per_cpu);
	p->seed = seed;
	p->stop = 0;
	p->min_passes = 1;
	return 0;
}
