/* The built-in stress guest (guest/): the first implementation of the guest interface. */
#ifndef DAXVM_VMM_STRESS_GUEST_H
#define DAXVM_VMM_STRESS_GUEST_H

#include <stdint.h>

#include "common/err.h"
#include "common/report.h"
#include "guest/abi.h"
#include "vmm/guest.h"

/* The 2 MiB boot area plus one 2 MiB page to work on. */
#define STRESS_GUEST_MIN_RAM (4ULL << 20)

/* 0, or -EINVAL with a sentence when ram_bytes is too small for the stress guest. */
int stress_guest_check_ram(uint64_t ram_bytes, struct err *e);

/* The guest interface's collect step (vmm/stress_guest_report.c). */
int stress_guest_collect(struct guest *g, const struct guest_machine *m, struct report *r,
			 char *guest_failure, char *device_failure, size_t len);

/* Internals shared by the two files of the stress guest. */
struct ctl_device *stress_guest_ctl(struct guest *g);
struct dma_engine *stress_guest_dma(struct guest *g);
const struct guest_params *stress_guest_params(struct guest *g);
unsigned stress_guest_cpus(struct guest *g);

#endif
