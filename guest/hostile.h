/* The hostile guest: what a compromised or buggy guest kernel could throw at the VMM. */
#ifndef DAXVM_GUEST_HOSTILE_H
#define DAXVM_GUEST_HOSTILE_H

#include "guest/abi.h"

/* Runs until params->stop, at CPL3 on vCPU cpu; also the target of the exception handler's
 * resume (guest_hostile_resume in entry.S), so it keeps its state in per-vCPU globals. */
void guest_hostile(volatile struct guest_params *p, unsigned cpu);

#endif
