/* The Linux guest tools' ports (guest/linux/daxvm_guest_abi.h): the verdict port where
 * QEMU's isa-debug-exit sits, the event port and the progress port. 4-byte writes; reads
 * return 0. Each write calls back on the vCPU thread that made it. */
#ifndef DAXVM_DEVICES_GUEST_PORTS_H
#define DAXVM_DEVICES_GUEST_PORTS_H

#include <stdint.h>

#include "common/err.h"
#include "devices/bus.h"

struct guest_ports_ops {
	void (*verdict)(void *opaque, unsigned cpu, uint32_t value);	/* DAXVM_GUEST_PASS or FAIL_* */
	void (*event)(void *opaque, unsigned cpu, uint32_t value);	/* DAXVM_GUEST_EVENT_* */
	void (*progress)(void *opaque, unsigned cpu, uint32_t mib);	/* MiB verified so far */
};

struct guest_ports;

int guest_ports_create(struct guest_ports **out, const struct guest_ports_ops *ops, void *opaque,
		       struct err *e);
void guest_ports_destroy(struct guest_ports *p);
__attribute__((warn_unused_result))
int guest_ports_attach(struct guest_ports *p, struct bus *bus, struct err *e);

#endif
