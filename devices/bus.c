/* Guest I/O dispatch: a small sorted table of MMIO and port ranges per address space. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"

#define BUS_MAX_RANGES 32

struct bus_range {
	uint64_t base;		/* first guest address or port */
	uint64_t len;		/* bytes (or ports) covered */
	bus_handler_fn fn;
	void *opaque;
	const char *name;	/* for error messages; not owned */
};

struct bus_space_table {
	unsigned nr;
	struct bus_range ranges[BUS_MAX_RANGES];	/* sorted by base, never overlapping */
};

struct bus {
	struct bus_space_table space[2];	/* indexed by enum bus_space */
};

int bus_create(struct bus **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void bus_destroy(struct bus *bus)
{
	free(bus);
}

static const char *bus_space_name(enum bus_space space)
{
	return space == BUS_MMIO ? "MMIO" : "port";
}

int bus_register(struct bus *bus, enum bus_space space, uint64_t base, uint64_t len,
		 bus_handler_fn fn, void *opaque, const char *name, struct err *e)
{
	struct bus_space_table *t;
	unsigned i;

	if ((space != BUS_MMIO && space != BUS_PIO) || !len || !fn || base + len < base)
		return err_set(e, -EINVAL, "device %s: invalid %s range 0x%llx+0x%llx: fix the caller",
			       name, bus_space_name(space), (unsigned long long)base,
			       (unsigned long long)len);
	t = &bus->space[space];
	for (i = 0; i < t->nr; i++) {
		const struct bus_range *r = &t->ranges[i];

		if (base < r->base + r->len && r->base < base + len)
			return err_set(e, -EEXIST,
				       "device %s: %s range 0x%llx+0x%llx overlaps device %s at 0x%llx+0x%llx: move one of them",
				       name, bus_space_name(space), (unsigned long long)base,
				       (unsigned long long)len, r->name, (unsigned long long)r->base,
				       (unsigned long long)r->len);
	}
	if (t->nr == BUS_MAX_RANGES)
		return err_set(e, -ENOSPC, "device %s: the bus holds at most %d %s ranges: raise BUS_MAX_RANGES",
			       name, BUS_MAX_RANGES, bus_space_name(space));
	for (i = t->nr; i > 0 && t->ranges[i - 1].base > base; i--)
		t->ranges[i] = t->ranges[i - 1];
	t->ranges[i] = (struct bus_range){ base, len, fn, opaque, name };
	t->nr++;
	return 0;
}

int bus_dispatch(struct bus *bus, enum bus_space space, unsigned cpu, uint64_t addr,
		 uint8_t *data, unsigned len, bool is_write)
{
	const struct bus_space_table *t;
	unsigned lo = 0, hi;

	if (space != BUS_MMIO && space != BUS_PIO)
		return -EINVAL;
	t = &bus->space[space];
	hi = t->nr;
	/* Binary search: the table is read-only once vCPUs run, so no lock is needed. */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct bus_range *r = &t->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr >= r->base + r->len)
			lo = mid + 1;
		else
			return r->fn(r->opaque, cpu, addr, data, len, is_write);
	}
	return -ENOENT;
}
