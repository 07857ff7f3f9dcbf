/* The run's planning steps for a stress guest, for the vmm unit tests: the machine map, the
 * stress guest's RAM check, guest RAM regions. */
#ifndef DAXVM_TESTS_UNIT_VMM_STRESS_PLAN_H
#define DAXVM_TESTS_UNIT_VMM_STRESS_PLAN_H

#include "vmm/guest_mem.h"
#include "vmm/machine.h"
#include "vmm/stress_guest.h"

/* ram bytes of guest RAM on a backing aligned to align. */
static inline int test_plan(uint64_t ram, uint64_t align, struct guest_mem *gm, struct err *e)
{
	struct machine_map m;
	int ret = machine_map_x86(ram, align, &m, e);

	if (!ret)
		ret = stress_guest_check_ram(ram, e);
	if (!ret)
		ret = guest_mem_plan(&m, gm, e);
	return ret;
}

#endif
