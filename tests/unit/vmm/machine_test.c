/* The machine map: PC layout around the MMIO hole, typed ranges, device windows, overlaps. */
#include "test.h"
#include "vmm/machine.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

int main(void)
{
	struct machine_map m;
	struct err e = { 0 };
	const struct machine_range *r;

	TEST_ASSERT(machine_map_x86(512 * MiB, 4096, &m, &e) == 0, "512 MiB: %s", e.msg);
	TEST_ASSERT(m.nr == 2 && m.ram_bytes == 512 * MiB, "RAM + hole, got %u ranges", m.nr);
	r = machine_map_nth(&m, MACHINE_RAM, 0);
	TEST_ASSERT(r && r->gpa == 0 && r->size == 512 * MiB, "low RAM at 0");
	TEST_ASSERT(!machine_map_nth(&m, MACHINE_RAM, 1), "no high RAM below 3 GiB");
	r = machine_map_nth(&m, MACHINE_MMIO, 0);
	TEST_ASSERT(r && r->gpa == X86_MMIO_HOLE_START && r->size == GiB, "the 3-4 GiB window");

	TEST_ASSERT(machine_map_x86(5 * GiB, 2 * MiB, &m, &e) == 0, "5 GiB: %s", e.msg);
	TEST_ASSERT(m.nr == 3, "low RAM, hole, high RAM: %u", m.nr);
	TEST_ASSERT(m.ranges[2].type == MACHINE_RAM && m.ranges[2].gpa == 4 * GiB &&
		    m.ranges[2].size == 2 * GiB, "2 GiB above 4 GiB");
	TEST_ASSERT(machine_map_ram_linear_to_gpa(&m, 3 * GiB) == 4 * GiB, "linear 3 GiB is 4 GiB");
	TEST_ASSERT(machine_map_ram_linear_to_gpa(&m, 3 * GiB - 8) == 3 * GiB - 8, "below the hole");
	TEST_ASSERT(machine_map_ram_linear_to_gpa(&m, 5 * GiB) == UINT64_MAX, "beyond RAM");
	TEST_ASSERT(machine_map_find(&m, 3 * GiB - 4, 8, MACHINE_RAM) == NULL, "a range running into the hole");

	/* Device windows: inside the hole only, never overlapping each other or RAM. */
	TEST_ASSERT(machine_map_add(&m, 0xd0000000, 0x1000, MACHINE_DEVICE, "a", &e) == 0, "device: %s", e.msg);
	r = machine_map_find(&m, 0xd0000800, 8, MACHINE_DEVICE);
	TEST_ASSERT(r && !strcmp(r->label, "a"), "found the device by address");
	err_reset(&e);
	TEST_ASSERT(machine_map_add(&m, 0xd0000800, 0x1000, MACHINE_DEVICE, "b", &e) == -EEXIST &&
		    strstr(e.msg, "overlaps a"), "overlapping devices refused: %s", e.msg);
	err_reset(&e);
	TEST_ASSERT(machine_map_add(&m, 0x1000, 0x1000, MACHINE_DEVICE, "c", &e) == -EEXIST &&
		    strstr(e.msg, "overlaps ram-low"), "a device in RAM refused: %s", e.msg);
	err_reset(&e);
	TEST_ASSERT(machine_map_add(&m, 128 * GiB, 0x1000, MACHINE_DEVICE, "d", &e) == -EINVAL &&
		    strstr(e.msg, "outside every MMIO window"), "a device outside the hole refused: %s", e.msg);
	err_reset(&e);
	TEST_ASSERT(machine_map_add(&m, 7 * GiB - 4096, 8192, MACHINE_PMEM, "pmem", &e) == 0, "pmem after RAM: %s", e.msg);
	err_reset(&e);
	TEST_ASSERT(machine_map_add(&m, 6 * GiB - 4096, 8192, MACHINE_PMEM, "p2", &e) == -EEXIST, "pmem over RAM refused");
	for (unsigned i = 1; i < m.nr; i++)
		TEST_ASSERT(m.ranges[i - 1].gpa < m.ranges[i].gpa, "sorted by address at %u", i);

	/* Sizes: 2 MiB units, the backing's alignment, the top of the address space. */
	err_reset(&e);
	TEST_ASSERT(machine_map_x86(5 * MiB, 4096, &m, &e) == -EINVAL && strstr(e.msg, "2 MiB"), "5 MiB: %s", e.msg);
	err_reset(&e);
	TEST_ASSERT(machine_map_x86(GiB + 2 * MiB, GiB, &m, &e) == -EINVAL && strstr(e.msg, "alignment"),
		    "alignment: %s", e.msg);
	err_reset(&e);
	TEST_ASSERT(machine_map_x86(300 * GiB, 4096, &m, &e) == -E2BIG, "300 GiB is beyond the map");
	err_reset(&e);
	TEST_ASSERT(machine_map_x86(0, 4096, &m, &e) == -EINVAL, "no RAM");
	printf("PASS: machine map\n");
	return T_PASS;
}
