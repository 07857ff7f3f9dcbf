/* Reading a Linux x86 bzImage (pure, no KVM): the setup header at 0x1F1 and where the
 * protected-mode kernel starts, per Documentation/arch/x86/boot.rst. */
#ifndef DAXVM_VMM_BZIMAGE_H
#define DAXVM_VMM_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define BZIMAGE_HDR_OFFSET	0x1f1	/* the setup header's first byte in the file */
#define BZIMAGE_HDR_MAGIC	0x53726448	/* "HdrS" at 0x202 */
#define BZIMAGE_MIN_VERSION	0x020c	/* 2.12: xloadflags, the 64-bit entry */
#define BZIMAGE_LOADED_HIGH	0x01	/* loadflags: the kernel runs at 0x100000 or above */
#define BZIMAGE_XLF_KERNEL_64	0x01	/* xloadflags: has the 64-bit entry at +0x200 */
#define BZIMAGE_XLF_ABOVE_4G	0x02	/* xloadflags: may be loaded above 4 GiB */
#define BZIMAGE_ENTRY64_OFFSET	0x200	/* 64-bit entry, from the loaded kernel's start */
/* The setup header ends at 0x202 + the byte at 0x201; the zero page copies it whole. */
#define BZIMAGE_HDR_MAX_END	0x280	/* end of struct setup_header's room in boot_params */

/* What daxvm needs from the header (host byte order). */
struct bzimage_info {
	uint16_t version;		/* boot protocol, 0x020f = 2.15 */
	uint8_t setup_sects;		/* 512-byte setup sectors after the boot sector (0 => 4) */
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;		/* relocatable_kernel */
	uint32_t kernel_alignment;	/* the load address must be a multiple of it */
	uint32_t cmdline_size;		/* longest command line, bytes without the NUL */
	uint32_t initrd_addr_max;	/* highest address the initrd may occupy (inclusive) */
	uint64_t pref_address;		/* preferred load address */
	uint32_t init_size;		/* bytes the kernel needs from its load address while booting */
	size_t hdr_end;			/* file offset just past the setup header */
	size_t payload_offset;		/* file offset of the protected-mode kernel: (setup_sects+1)*512 */
	size_t payload_bytes;		/* its length: the rest of the file */
};

/* Parses the setup header of image[0, len). 0, or -ENOEXEC (not a bzImage, too old, no
 * 64-bit entry, not loadable high, inconsistent sizes) or -EINVAL (truncated) with one
 * sentence about the image. */
int bzimage_parse(const uint8_t *image, size_t len, struct bzimage_info *info, struct err *e);

#endif
