/* The guest side of the DMA stress (guest/dma_abi.h): runs at CPL3 on each vCPU. */
#ifndef DAXVM_GUEST_DMA_STRESS_H
#define DAXVM_GUEST_DMA_STRESS_H

#include "guest/abi.h"

/* Called by the guest's per-vCPU workload when GUEST_F_DMA is set; returns the number of
 * verify failures it found (each also reported through CTL_MISMATCH). */
uint64_t guest_dma_stress(volatile struct guest_params *p, unsigned cpu);

#endif
