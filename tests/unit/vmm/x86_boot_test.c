/* The boot area the VMM writes for the built-in guest, checked entry by entry in ordinary
 * memory: page tables (2 MiB pages, user, MMIO hole uncached), GDT with one TSS per vCPU,
 * TSS RSP0 and the ctl slot of each ring-0 stack, IDT gates, image copy, old data cleared. */
#include <stdint.h>
#include <stdlib.h>

#include "guest/abi.h"
#include "guest/guest_image.h"
#include "test.h"
#include "vmm/guest_mem.h"
#include "vmm/x86_boot.h"
#include "stress_plan.h"

#define MiB (1ULL << 20)

static uint64_t q(const uint8_t *ram, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram + gpa, 8);
	return v;
}

int main(void)
{
	struct backing b = { .fd = -1, .size = 8 * MiB, .page_size = 4096, .align = 4096 };
	struct guest_image_header h;
	struct x86_boot_info info;
	struct guest_mem gm;
	struct err e = { 0 };
	uint8_t *ram = aligned_alloc(2 * MiB, 8 * MiB);

	TEST_ASSERT(ram, "allocating 8 MiB");
	memset(ram, 0xaa, 8 * MiB);	/* stale data, as on a reused devdax device */
	b.host = ram;
	TEST_ASSERT(test_plan(8 * MiB, 4096, &gm, &e) == 0 && guest_mem_attach(&gm, &b, &e) == 0,
		    "%s", e.msg);
	TEST_ASSERT(x86_boot_prepare(&gm, 0, &info, &e) == -EINVAL, "0 vCPUs");
	TEST_ASSERT(x86_boot_prepare(&gm, GUEST_MAX_CPUS + 1, &info, &e) == -EINVAL, "65 vCPUs");
	err_reset(&e);
	TEST_ASSERT(x86_boot_prepare(&gm, 3, &info, &e) == 0, "%s", e.msg);

	memcpy(&h, guest_image, sizeof(h));
	TEST_ASSERT(h.magic == GUEST_IMAGE_MAGIC, "image header magic");
	TEST_ASSERT(info.entry == h.entry && info.entry >= GUEST_IMAGE_GPA &&
		    info.entry < GUEST_IMAGE_GPA + guest_image_size, "entry inside the image");
	TEST_ASSERT(!memcmp(ram + GUEST_IMAGE_GPA, guest_image, guest_image_size), "image copied");
	TEST_ASSERT(h.image_end <= GUEST_STACKS_GPA, "image ends below the stacks");
	TEST_ASSERT(q(ram, GUEST_PARAMS_GPA) == 0 && ram[GUEST_RESERVED_BYTES - 1] == 0,
		    "the boot area is cleared");
	TEST_ASSERT(ram[GUEST_RESERVED_BYTES] == 0xaa, "the workload area is left to the guest");

	/* Page tables: 4 GiB mapped (RAM plus the MMIO hole) with user 2 MiB pages. */
	TEST_ASSERT(q(ram, X86_PML4_GPA) == (X86_PDPT_GPA | 7), "PML4[0]");
	for (int g = 0; g < 4; g++)
		TEST_ASSERT(q(ram, X86_PDPT_GPA + 8 * g) == ((X86_PD_GPA + 0x1000 * g) | 7), "PDPT[%d]", g);
	TEST_ASSERT(q(ram, X86_PDPT_GPA + 8 * 4) == 0, "nothing beyond 4 GiB");
	TEST_ASSERT(q(ram, X86_PD_GPA) == 0x87, "0-2 MiB: present, writable, user, 2 MiB");
	TEST_ASSERT(q(ram, X86_PD_GPA + 0x1000 * 2 + 8 * 511) == ((3ULL << 30) - 2 * MiB) + 0x87,
		    "last 2 MiB below 3 GiB");
	TEST_ASSERT(q(ram, X86_PD_GPA + 0x1000 * 3 + 8 * 128) == (GUEST_MMIO_CTL_GPA | 0x97),
		    "the control device page is mapped uncached for CPL3");

	/* GDT: user code/data and vCPU 2's TSS descriptor. */
	TEST_ASSERT(q(ram, X86_GDT_GPA + (X86_SEL_UCODE & ~3)) == 0x0020fa0000000000ULL, "user code");
	TEST_ASSERT(q(ram, X86_GDT_GPA + (X86_SEL_UDATA & ~3)) == 0x0000f20000000000ULL, "user data");
	{
		uint64_t d = q(ram, X86_GDT_GPA + X86_SEL_TSS(2));
		uint64_t base = ((d >> 16) & 0xffffff) | ((d >> 56) << 24);

		TEST_ASSERT(base == X86_TSS_GPA + 2 * X86_TSS_BYTES, "TSS 2 base 0x%llx", (unsigned long long)base);
		TEST_ASSERT(((d >> 40) & 0xff) == 0x89 && (d & 0xffff) == X86_TSS_BYTES - 1, "TSS type, limit");
		TEST_ASSERT(q(ram, X86_GDT_GPA + X86_SEL_TSS(3)) == 0, "no TSS for a fourth vCPU");
	}
	/* TSS.RSP0 and the ctl slot on top of each ring-0 stack. */
	for (unsigned cpu = 0; cpu < 3; cpu++) {
		uint64_t rsp0 = q(ram, X86_TSS_GPA + cpu * X86_TSS_BYTES + 4);

		TEST_ASSERT(rsp0 == GUEST_KSTACK_GPA(cpu) + GUEST_STACK_BYTES - 16 && rsp0 % 16 == 0,
			    "RSP0 of vCPU %u", cpu);
		TEST_ASSERT(q(ram, GUEST_KSTACK_GPA(cpu) + GUEST_KSTACK_CTL_SLOT) ==
			    GUEST_MMIO_CTL_GPA + cpu * GUEST_CTL_STRIDE, "ctl slot of vCPU %u", cpu);
	}
	/* IDT: vector 6 and 14 go to their stubs through ring-0 interrupt gates. */
	for (unsigned v = 6; v <= 14; v += 8) {
		uint64_t lo = q(ram, X86_IDT_GPA + 16 * v), hi = q(ram, X86_IDT_GPA + 16 * v + 8);
		uint64_t target = (lo & 0xffff) | (((lo >> 48) & 0xffff) << 16) | (hi << 32);

		TEST_ASSERT(target == h.exc_stubs + v * h.exc_stub_bytes, "gate %u target", v);
		TEST_ASSERT(((lo >> 16) & 0xffff) == X86_SEL_KCODE && ((lo >> 40) & 0xff) == 0x8e,
			    "gate %u selector and type", v);
	}
	TEST_ASSERT(!strcmp(x86_exception_name(6), "#UD invalid opcode"), "vector name");
	free(ram);
	printf("PASS: boot area tables\n");
	return T_PASS;
}
