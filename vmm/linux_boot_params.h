/* The Linux guest's low memory and its zero page (pure, no KVM): where the kernel, the
 * command line and the initrd go, the boot_params page the 64-bit entry reads, and the e820
 * table built from the machine map. Documentation/arch/x86/{boot,zero-page}.rst. */
#ifndef DAXVM_VMM_LINUX_BOOT_PARAMS_H
#define DAXVM_VMM_LINUX_BOOT_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "vmm/bzimage.h"
#include "vmm/machine.h"

/* Fixed guest-physical addresses below 1 MiB (the boot protocol lets boot_params, the
 * command line and the tables live anywhere the identity map covers). */
#define LINUX_GDT_GPA		0x1000ULL	/* null, null, __BOOT_CS 0x10, __BOOT_DS 0x18, TSS 0x20 */
#define LINUX_ZERO_PAGE_GPA	0x7000ULL	/* struct boot_params, 4 KiB */
#define LINUX_STACK_TOP		0x8ff0ULL	/* rsp at entry (the kernel sets its own soon) */
#define LINUX_PML4_GPA		0x9000ULL
#define LINUX_PDPT_GPA		0xa000ULL
#define LINUX_PD_GPA		0xb000ULL	/* 4 page directories: 0-4 GiB in 2 MiB pages */
#define LINUX_IDENTITY_BYTES	(4ULL << 30)
#define LINUX_CMDLINE_GPA	0x20000ULL
#define LINUX_CMDLINE_ROOM	0x10000ULL	/* bytes reserved for the command line */
/* The PC's BIOS area: e820 reserves it, Linux scans it for the MP table. */
#define LINUX_LEGACY_START	0x9fc00ULL
#define LINUX_LEGACY_END	0x100000ULL
#define LINUX_MPTABLE_GPA	0xf0000ULL
#define LINUX_MPTABLE_ROOM	0x10000ULL
#define LINUX_KERNEL_MIN_GPA	0x100000ULL	/* nothing of daxvm's lies above this in RAM */

#define E820_RAM		1
#define E820_RESERVED		2
#define E820_PMEM		12	/* legacy persistent memory: nd_e820 makes /dev/pmemN */
#define E820_MAX_ZERO_PAGE	128	/* entries boot_params holds (more need setup_data) */

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Where each part of the boot goes in guest-physical memory. */
struct linux_boot_layout {
	uint64_t kernel_gpa;		/* the protected-mode kernel is copied here */
	uint64_t kernel_end;		/* kernel_gpa + init_size: kept free for the kernel */
	uint64_t entry_gpa;		/* 64-bit entry: kernel_gpa + 0x200 */
	uint64_t cmdline_bytes;		/* command line including the NUL */
	uint64_t initrd_gpa;		/* 0 when there is no initrd */
	uint64_t initrd_bytes;
};

/* Places the kernel (at its preferred address, or for a relocatable kernel the lowest
 * aligned address from 1 MiB) and the initrd (page-aligned, as high as low RAM and
 * initrd_addr_max allow, outside [kernel, kernel + init_size)); refuses a command line
 * longer than the kernel's cmdline_size. 0 or -errno with one sentence. */
int linux_layout_plan(const struct bzimage_info *info, const struct machine_map *map,
		      uint64_t initrd_bytes, size_t cmdline_len, struct linux_boot_layout *out,
		      struct err *e);

/* The e820 table from the machine map: RAM (with the legacy BIOS area carved out of low
 * RAM), reserved ranges, pmem as type 12, and KVM's TSS pages as reserved. MMIO windows
 * are left as holes (the PCI gap). Sorted; 0 or -E2BIG. */
int linux_e820_build(const struct machine_map *map, struct e820_entry *out, unsigned max,
		     unsigned *nr, struct err *e);

/* Fills the 4 KiB zero page: the image's setup header, type_of_loader 0xff, command line
 * and initrd pointers from the layout, the e820 table. image is the whole bzImage. */
int linux_zero_page_build(const struct bzimage_info *info, const uint8_t *image,
			  const struct machine_map *map, const struct linux_boot_layout *l,
			  uint8_t zero_page[4096], struct err *e);

#endif
