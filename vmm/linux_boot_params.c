/* Linux boot layout, e820 and the zero page: pure functions over the bzImage header and the
 * machine map, unit-tested and fuzzed without KVM. */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <string.h>

#include "common/size.h"
#include "vmm/kvm_vm.h"
#include "vmm/linux_boot_params.h"

#define PAGE 0x1000ULL

/* Zero page offsets (Documentation/arch/x86/zero-page.rst, boot.rst). */
#define ZP_EXT_RAMDISK_IMAGE	0x0c0
#define ZP_EXT_RAMDISK_SIZE	0x0c4
#define ZP_EXT_CMD_LINE_PTR	0x0c8
#define ZP_E820_ENTRIES		0x1e8
#define ZP_VID_MODE		0x1fa
#define ZP_TYPE_OF_LOADER	0x210
#define ZP_CODE32_START		0x214
#define ZP_RAMDISK_IMAGE	0x218
#define ZP_RAMDISK_SIZE		0x21c
#define ZP_CMD_LINE_PTR		0x228
#define ZP_E820_TABLE		0x2d0

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int linux_layout_plan(const struct bzimage_info *info, const struct machine_map *map,
		      uint64_t initrd_bytes, size_t cmdline_len, struct linux_boot_layout *out,
		      struct err *e)
{
	const struct machine_range *low = machine_map_nth(map, MACHINE_RAM, 0);
	uint64_t low_end, top, at;
	char a[32], b[32];

	memset(out, 0, sizeof(*out));
	if (cmdline_len > info->cmdline_size || cmdline_len + 1 > LINUX_CMDLINE_ROOM)
		return err_set(e, -E2BIG, "the kernel command line is %zu bytes, longer than the %u this kernel accepts (cmdline_size); the kernel would cut it silently: shorten it",
			       cmdline_len, info->cmdline_size < LINUX_CMDLINE_ROOM - 1 ? info->cmdline_size
										 : (uint32_t)(LINUX_CMDLINE_ROOM - 1));
	out->cmdline_bytes = cmdline_len + 1;
	if (!low || low->gpa != 0)
		return err_set(e, -EINVAL, "the machine has no RAM at guest-physical 0 for the boot tables");
	low_end = low->size;
	/* The preferred address first (a non-relocatable kernel must run there), then for a
	 * relocatable one the lowest aligned address above daxvm's low tables. */
	at = info->pref_address;
	if (at + info->init_size > low_end && info->relocatable)
		at = align_up(LINUX_KERNEL_MIN_GPA, info->kernel_alignment);
	if (at < LINUX_KERNEL_MIN_GPA || at + info->init_size > low_end)
		return err_set(e, -E2BIG, "the kernel needs %s from its load address 0x%" PRIx64 " to boot (init_size) but RAM below the 3 GiB hole ends at %s: give the guest more RAM",
			       size_format(info->init_size, a, sizeof(a)), at,
			       size_format(low_end, b, sizeof(b)));
	out->kernel_gpa = at;
	out->kernel_end = at + info->init_size;
	out->entry_gpa = at + BZIMAGE_ENTRY64_OFFSET;
	if (!initrd_bytes)
		return 0;
	/* initrd_addr_max is the highest byte the initrd may use; stay below 4 GiB (no ext_*). */
	top = (uint64_t)info->initrd_addr_max + 1;
	if (top > low_end)
		top = low_end;
	if (initrd_bytes > top)
		goto no_room;
	at = (top - initrd_bytes) & ~(PAGE - 1);
	if (at < LINUX_KERNEL_MIN_GPA || overlap(at, initrd_bytes, out->kernel_gpa, info->init_size)) {
		/* Below the kernel, above daxvm's tables. */
		if (out->kernel_gpa < LINUX_KERNEL_MIN_GPA + initrd_bytes)
			goto no_room;
		at = (out->kernel_gpa - initrd_bytes) & ~(PAGE - 1);
		/* Below the kernel must still be below initrd_addr_max (linux_boot_fuzz found an
		 * initrd placed past a small initrd_addr_max this way). */
		if (at < LINUX_KERNEL_MIN_GPA || at + initrd_bytes > top)
			goto no_room;
	}
	out->initrd_gpa = at;
	out->initrd_bytes = initrd_bytes;
	return 0;
no_room:
	return err_set(e, -E2BIG, "the initrd of %s does not fit below %s (RAM below the hole, or the kernel's initrd_addr_max) beside the kernel's %s at 0x%" PRIx64 ": give the guest more RAM or a smaller initrd",
		       size_format(initrd_bytes, a, sizeof(a)), size_format(top, b, sizeof(b)),
		       size_format(info->init_size, (char[32]){ 0 }, 32), out->kernel_gpa);
}

static int e820_add(struct e820_entry *out, unsigned max, unsigned *nr, uint64_t addr,
		    uint64_t size, uint32_t type, struct err *e)
{
	unsigned i;

	if (!size)
		return 0;
	if (*nr == max)
		return err_set(e, -E2BIG, "the machine map needs more than %u e820 entries", max);
	/* Insertion keeps the table sorted by address. */
	for (i = *nr; i > 0 && out[i - 1].addr > addr; i--)
		out[i] = out[i - 1];
	out[i] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
	(*nr)++;
	return 0;
}

int linux_e820_build(const struct machine_map *map, struct e820_entry *out, unsigned max,
		     unsigned *nr, struct err *e)
{
	int ret = 0;

	*nr = 0;
	for (unsigned i = 0; !ret && i < map->nr; i++) {
		const struct machine_range *r = &map->ranges[i];
		uint64_t end = r->gpa + r->size;

		switch (r->type) {
		case MACHINE_RAM:
			if (r->gpa < LINUX_LEGACY_END && end > LINUX_LEGACY_START) {
				/* The BIOS area is not RAM to the kernel: the MP table lives in it. */
				if (r->gpa < LINUX_LEGACY_START)
					ret = e820_add(out, max, nr, r->gpa, LINUX_LEGACY_START - r->gpa, E820_RAM, e);
				if (!ret)
					ret = e820_add(out, max, nr, LINUX_LEGACY_START,
						       (end < LINUX_LEGACY_END ? end : LINUX_LEGACY_END) - LINUX_LEGACY_START,
						       E820_RESERVED, e);
				if (!ret && end > LINUX_LEGACY_END)
					ret = e820_add(out, max, nr, LINUX_LEGACY_END, end - LINUX_LEGACY_END, E820_RAM, e);
			} else {
				ret = e820_add(out, max, nr, r->gpa, r->size, E820_RAM, e);
			}
			break;
		case MACHINE_RESERVED:
			ret = e820_add(out, max, nr, r->gpa, r->size, E820_RESERVED, e);
			break;
		case MACHINE_PMEM:
			ret = e820_add(out, max, nr, r->gpa, r->size, E820_PMEM, e);
			break;
		case MACHINE_MMIO:
		case MACHINE_DEVICE:
			break;	/* holes: the kernel puts PCI resources in the gap */
		}
	}
	if (!ret)
		ret = e820_add(out, max, nr, VM_KVM_PAGES_GPA, VM_KVM_PAGES_BYTES, E820_RESERVED, e);
	return ret;
}

int linux_zero_page_build(const struct bzimage_info *info, const uint8_t *image,
			  const struct machine_map *map, const struct linux_boot_layout *l,
			  uint8_t zp[4096], struct err *e)
{
	struct e820_entry table[E820_MAX_ZERO_PAGE];
	unsigned nr;
	int ret;

	memset(zp, 0, 4096);
	/* boot.rst, 64-bit protocol: zero boot_params, then copy the setup header in. */
	memcpy(zp + BZIMAGE_HDR_OFFSET, image + BZIMAGE_HDR_OFFSET, info->hdr_end - BZIMAGE_HDR_OFFSET);
	zp[ZP_TYPE_OF_LOADER] = 0xff;		/* "undefined" boot loader */
	put16(zp + ZP_VID_MODE, 0xffff);	/* normal text mode */
	put32(zp + ZP_CODE32_START, (uint32_t)l->kernel_gpa);
	put32(zp + ZP_CMD_LINE_PTR, (uint32_t)LINUX_CMDLINE_GPA);
	put32(zp + ZP_EXT_CMD_LINE_PTR, 0);
	put32(zp + ZP_RAMDISK_IMAGE, (uint32_t)l->initrd_gpa);
	put32(zp + ZP_RAMDISK_SIZE, (uint32_t)l->initrd_bytes);
	put32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(l->initrd_gpa >> 32));
	put32(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)(l->initrd_bytes >> 32));
	ret = linux_e820_build(map, table, E820_MAX_ZERO_PAGE, &nr, e);
	if (ret)
		return ret;
	zp[ZP_E820_ENTRIES] = (uint8_t)nr;
	for (unsigned i = 0; i < nr; i++) {
		uint8_t *p = zp + ZP_E820_TABLE + 20 * i;

		put64(p, table[i].addr);
		put64(p + 8, table[i].size);
		put32(p + 16, table[i].type);
	}
	return 0;
}
