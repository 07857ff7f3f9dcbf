/* The guest-physical map: PC layout of RAM around the 32-bit MMIO hole, typed ranges. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/size.h"
#include "vmm/machine.h"

const char *machine_range_type_name(enum machine_range_type type)
{
	switch (type) {
	case MACHINE_RAM: return "ram";
	case MACHINE_RESERVED: return "reserved";
	case MACHINE_MMIO: return "mmio";
	case MACHINE_DEVICE: return "device";
	case MACHINE_PMEM: return "pmem";
	}
	return "unknown";
}

static bool overlaps(const struct machine_range *r, uint64_t gpa, uint64_t size)
{
	return gpa < r->gpa + r->size && r->gpa < gpa + size;
}

static bool contains(const struct machine_range *r, uint64_t gpa, uint64_t size)
{
	return gpa >= r->gpa && size <= r->size && gpa - r->gpa <= r->size - size;
}

int machine_map_add(struct machine_map *m, uint64_t gpa, uint64_t size,
		    enum machine_range_type type, const char *label, struct err *e)
{
	bool in_window = false;
	unsigned at = 0;

	if (!size || gpa + size - 1 < gpa)
		return err_set(e, -EINVAL, "the %s range at 0x%" PRIx64 " is empty or wraps", label, gpa);
	if (m->nr == MACHINE_MAX_RANGES)
		return err_set(e, -ENOSPC, "the machine map is full (%d ranges): cannot add %s",
			       MACHINE_MAX_RANGES, label);
	for (unsigned i = 0; i < m->nr; i++) {
		const struct machine_range *r = &m->ranges[i];

		if (type == MACHINE_DEVICE && r->type == MACHINE_MMIO && contains(r, gpa, size)) {
			in_window = true;
			continue;
		}
		if (overlaps(r, gpa, size))
			return err_set(e, -EEXIST, "the %s range [0x%" PRIx64 ", 0x%" PRIx64 ") overlaps %s [0x%" PRIx64 ", 0x%" PRIx64 ")",
				       label, gpa, gpa + size, r->label, r->gpa, r->gpa + r->size);
	}
	if (type == MACHINE_DEVICE && !in_window)
		return err_set(e, -EINVAL, "the device %s at 0x%" PRIx64 " lies outside every MMIO window",
			       label, gpa);
	while (at < m->nr && m->ranges[at].gpa < gpa)
		at++;
	memmove(&m->ranges[at + 1], &m->ranges[at], (m->nr - at) * sizeof(m->ranges[0]));
	m->ranges[at] = (struct machine_range){ .gpa = gpa, .size = size, .type = type };
	snprintf(m->ranges[at].label, sizeof(m->ranges[at].label), "%s", label);
	m->nr++;
	if (type == MACHINE_RAM)
		m->ram_bytes += size;
	return 0;
}

int machine_map_x86(uint64_t ram_bytes, uint64_t align, struct machine_map *m, struct err *e)
{
	uint64_t low, high, most = MACHINE_MAX_GPA - (X86_MMIO_HOLE_END - X86_MMIO_HOLE_START);
	char a[32], b[32];
	int ret;

	memset(m, 0, sizeof(*m));
	if (!ram_bytes || ram_bytes % MACHINE_RAM_UNIT)
		return err_set(e, -EINVAL, "guest RAM of %s is not a multiple of 2 MiB (the unit RAM is placed in): round it to 2 MiB",
			       size_format(ram_bytes, a, sizeof(a)));
	if (align && ram_bytes % align)
		return err_set(e, -EINVAL, "guest RAM of %s is not a multiple of the backing's alignment %s: round it to %s",
			       size_format(ram_bytes, a, sizeof(a)), size_format(align, b, sizeof(b)), b);
	if (ram_bytes > most)
		return err_set(e, -E2BIG, "guest RAM of %s is more than daxvm places (%s): ask for less",
			       size_format(ram_bytes, a, sizeof(a)), size_format(most, b, sizeof(b)));
	low = ram_bytes < X86_MMIO_HOLE_START ? ram_bytes : X86_MMIO_HOLE_START;
	high = ram_bytes - low;
	ret = machine_map_add(m, 0, low, MACHINE_RAM, "ram-low", e);
	if (!ret)
		ret = machine_map_add(m, X86_MMIO_HOLE_START, X86_MMIO_HOLE_END - X86_MMIO_HOLE_START,
				      MACHINE_MMIO, "pci-hole", e);
	if (!ret && high)
		ret = machine_map_add(m, X86_MMIO_HOLE_END, high, MACHINE_RAM, "ram-high", e);
	return ret;
}

const struct machine_range *machine_map_find(const struct machine_map *m, uint64_t gpa,
					     uint64_t len, enum machine_range_type type)
{
	for (unsigned i = 0; i < m->nr; i++)
		if (m->ranges[i].type == type && contains(&m->ranges[i], gpa, len ? len : 1))
			return &m->ranges[i];
	return NULL;
}

const struct machine_range *machine_map_nth(const struct machine_map *m,
					    enum machine_range_type type, unsigned n)
{
	for (unsigned i = 0; i < m->nr; i++)
		if (m->ranges[i].type == type && n-- == 0)
			return &m->ranges[i];
	return NULL;
}

uint64_t machine_map_ram_linear_to_gpa(const struct machine_map *m, uint64_t lin)
{
	const struct machine_range *r;

	for (unsigned n = 0; (r = machine_map_nth(m, MACHINE_RAM, n)); n++) {
		if (lin < r->size)
			return r->gpa + lin;
		lin -= r->size;
	}
	return UINT64_MAX;
}
