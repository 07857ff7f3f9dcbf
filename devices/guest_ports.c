/* The verdict, event and progress ports of the Linux guest ABI. A write of fewer than 4 bytes
 * is taken as written (zero-extended), as QEMU's isa-debug-exit does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/guest_ports.h"
#include "guest/linux/daxvm_guest_abi.h"

struct guest_ports {
	struct guest_ports_ops ops;
	void *opaque;
};

int guest_ports_create(struct guest_ports **out, const struct guest_ports_ops *ops, void *opaque,
		       struct err *e)
{
	struct guest_ports *p = calloc(1, sizeof(*p));

	if (!p)
		return err_set(e, -ENOMEM, "out of memory creating the guest ports");
	p->ops = *ops;
	p->opaque = opaque;
	*out = p;
	return 0;
}

void guest_ports_destroy(struct guest_ports *p)
{
	free(p);
}

static int guest_ports_io(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len,
			  bool is_write)
{
	struct guest_ports *p = opaque;
	uint32_t v = 0;

	if (!is_write) {
		memset(data, 0, len);
		return 0;
	}
	memcpy(&v, data, len < sizeof(v) ? len : sizeof(v));
	if (addr == DAXVM_GUEST_EXIT_PORT && p->ops.verdict)
		p->ops.verdict(p->opaque, cpu, v);
	else if (addr == DAXVM_GUEST_EVENT_PORT && p->ops.event)
		p->ops.event(p->opaque, cpu, v);
	else if (addr == DAXVM_GUEST_PROGRESS_PORT && p->ops.progress)
		p->ops.progress(p->opaque, cpu, v);
	return 0;	/* the other bytes of each 4-port window: ignored */
}

int guest_ports_attach(struct guest_ports *p, struct bus *bus, struct err *e)
{
	static const uint16_t bases[] = { DAXVM_GUEST_EXIT_PORT, DAXVM_GUEST_EVENT_PORT,
					  DAXVM_GUEST_PROGRESS_PORT };

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		int ret = bus_register(bus, BUS_PIO, bases[i], 4, guest_ports_io, p, "guest-ports", e);

		if (ret)
			return ret;
	}
	return 0;
}
