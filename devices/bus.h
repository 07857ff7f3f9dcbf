/* Guest I/O dispatch: devices register MMIO and port ranges with one handler signature;
 * vCPU threads route KVM_EXIT_MMIO / KVM_EXIT_IO here. */
#ifndef DAXVM_DEVICES_BUS_H
#define DAXVM_DEVICES_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* data holds len (1, 2, 4 or 8) little-endian bytes: filled by the handler on reads,
 * given to it on writes. addr is the absolute guest address (or port). cpu is the vCPU
 * index. Handlers run on vCPU threads, concurrently: they lock what they share.
 * Return 0, or -errno to stop the vCPU with an error (the VMM reports it). */
typedef int (*bus_handler_fn)(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data,
			      unsigned len, bool is_write);

enum bus_space { BUS_MMIO, BUS_PIO };

struct bus;

int bus_create(struct bus **out);
void bus_destroy(struct bus *bus);

/* Rejects overlaps with -EEXIST. Registration happens before vCPUs start. */
__attribute__((warn_unused_result))
int bus_register(struct bus *bus, enum bus_space space, uint64_t base, uint64_t len,
		 bus_handler_fn fn, void *opaque, const char *name, struct err *e);

/* Returns -ENOENT when nothing is registered at addr (the caller decides what that means). */
int bus_dispatch(struct bus *bus, enum bus_space space, unsigned cpu, uint64_t addr,
		 uint8_t *data, unsigned len, bool is_write);

#endif
