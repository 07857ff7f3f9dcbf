/* The guest parameter block (guest/abi.h struct guest_params): how RAM is shared out
 * between the vCPUs' pattern areas. Pure, unit-tested. */
#ifndef DAXVM_VMM_GUEST_PARAMS_H
#define DAXVM_VMM_GUEST_PARAMS_H

#include <stdint.h>

#include "common/err.h"
#include "guest/abi.h"
#include "vmm/guest_mem.h"

/* Fills p: RAM sizes, flags, seed and one 2 MiB-aligned pattern area per vCPU covering
 * RAM above the boot area, minus reserve_tail_bytes at the end of RAM (left for the DMA
 * stress; 0 when unused). Each vCPU's area starts at the beginning of its equal share;
 * work_cap_bytes (0 = no cap) limits the bytes each one writes per pass, rounded down to
 * 2 MiB. Fails when a vCPU would get less than 2 MiB. */
int guest_params_layout(const struct guest_mem *gm, unsigned nr_cpus, uint32_t flags,
			uint64_t seed, uint64_t reserve_tail_bytes, uint64_t work_cap_bytes,
			struct guest_params *p, struct err *e);

#endif
