/* Guest DMA stress: PLACEHOLDER until the DMA engine lands (issue 4); does nothing. */
#include "guest/dma_stress.h"

uint64_t guest_dma_stress(volatile struct guest_params *p, unsigned cpu)
{
	(void)p;
	(void)cpu;
	return 0;
}
