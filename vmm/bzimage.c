/* The bzImage setup header: every field daxvm relies on is checked before anything is
 * loaded, so a wrong file is one sentence, never a guest that dies in the decompressor. */
#include <errno.h>
#include <string.h>

#include "vmm/bzimage.h"

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *info, struct err *e)
{
	size_t hdr_end;

	memset(info, 0, sizeof(*info));
	/* The magic sits at 0x202; anything shorter is not even a boot sector with a header. */
	if (len < 0x206)
		return err_set(e, -EINVAL, "the kernel image is %zu bytes, too short for a bzImage setup header (truncated?)",
			       len);
	if (le32(img + 0x202) != BZIMAGE_HDR_MAGIC || le16(img + 0x1fe) != 0xaa55)
		return err_set(e, -ENOEXEC, "the kernel image is not a bzImage (no \"HdrS\" setup header at 0x202): give a bzImage such as /boot/vmlinuz-*, not a vmlinux ELF");
	hdr_end = 0x202 + (size_t)img[0x201];
	if (hdr_end > BZIMAGE_HDR_MAX_END || hdr_end < 0x268)
		return err_set(e, -ENOEXEC, "the kernel image's setup header is %zu bytes long, not a size boot protocol 2.12+ uses",
			       hdr_end - BZIMAGE_HDR_OFFSET);
	if (len < hdr_end)
		return err_set(e, -EINVAL, "the kernel image ends inside its setup header (%zu of %zu bytes): it is truncated",
			       len, hdr_end);
	info->hdr_end = hdr_end;
	info->version = le16(img + 0x206);
	if (info->version < BZIMAGE_MIN_VERSION)
		return err_set(e, -ENOEXEC, "the kernel speaks boot protocol %u.%02u, older than the 2.12 daxvm needs for the 64-bit entry (Linux 3.8+)",
			       info->version >> 8, info->version & 0xff);
	info->setup_sects = img[0x1f1] ? img[0x1f1] : 4;	/* 0 means 4, for old tools */
	info->loadflags = img[0x211];
	info->kernel_alignment = le32(img + 0x230);
	info->relocatable = img[0x234];
	info->xloadflags = le16(img + 0x236);
	info->cmdline_size = le32(img + 0x238);
	info->initrd_addr_max = le32(img + 0x22c);
	info->pref_address = le64(img + 0x258);
	info->init_size = le32(img + 0x260);
	if (!(info->loadflags & BZIMAGE_LOADED_HIGH))
		return err_set(e, -ENOEXEC, "the kernel is a zImage that loads below 1 MiB (LOADED_HIGH clear): daxvm boots bzImages only");
	if (!(info->xloadflags & BZIMAGE_XLF_KERNEL_64))
		return err_set(e, -ENOEXEC, "the kernel has no 64-bit entry point (XLF_KERNEL_64 clear): boot an x86_64 kernel");
	info->payload_offset = ((size_t)info->setup_sects + 1) * 512;
	if (info->payload_offset >= len)
		return err_set(e, -EINVAL, "the kernel image ends before its protected-mode part at %zu (%zu bytes): it is truncated",
			       info->payload_offset, len);
	info->payload_bytes = len - info->payload_offset;
	if (!info->kernel_alignment || (info->kernel_alignment & (info->kernel_alignment - 1)) ||
	    info->kernel_alignment > (1U << 30))
		return err_set(e, -ENOEXEC, "the kernel's alignment 0x%x is not a power of two up to 1 GiB: the header is corrupt",
			       info->kernel_alignment);
	if (info->pref_address & (info->kernel_alignment - 1) || info->pref_address < (1ULL << 20))
		return err_set(e, -ENOEXEC, "the kernel's preferred address 0x%llx is below 1 MiB or not aligned to 0x%x: the header is corrupt",
			       (unsigned long long)info->pref_address, info->kernel_alignment);
	if (info->init_size < info->payload_bytes)
		return err_set(e, -ENOEXEC, "the kernel says it needs %u bytes to boot (init_size) but its payload is %zu bytes: the header is corrupt or the file has trailing data",
			       info->init_size, info->payload_bytes);
	if (info->cmdline_size == 0)
		return err_set(e, -ENOEXEC, "the kernel accepts no command line (cmdline_size 0): the header is corrupt");
	return 0;
}
