/* A synthetic bzImage for the tests: a boot sector with a setup header like Debian's 6.1 kernel
 * (protocol 2.15, 39 setup sectors, relocatable, 2 MiB aligned, preferred at 16 MiB) and a
 * payload of payload_bytes. Returns the file's length. */
#ifndef DAXVM_TESTS_FAKE_BZIMAGE_H
#define DAXVM_TESTS_FAKE_BZIMAGE_H

#include <stdint.h>
#include <string.h>

#define FAKE_SETUP_SECTS 39
#define FAKE_INIT_SIZE (64U << 20)

static inline void fake_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void fake_put32(uint8_t *p, uint32_t v) { fake_put16(p, (uint16_t)v); fake_put16(p + 2, (uint16_t)(v >> 16)); }

static inline size_t fake_bzimage(uint8_t *buf, size_t payload_bytes)
{
	size_t off = (FAKE_SETUP_SECTS + 1) * 512;

	memset(buf, 0, off + payload_bytes);
	buf[0x1f1] = FAKE_SETUP_SECTS;
	fake_put16(buf + 0x1fe, 0xaa55);
	buf[0x201] = 0x6a;			/* header ends at 0x26c */
	fake_put32(buf + 0x202, 0x53726448);	/* "HdrS" */
	fake_put16(buf + 0x206, 0x020f);
	buf[0x211] = 0x01;			/* LOADED_HIGH */
	fake_put32(buf + 0x22c, 0x7fffffff);	/* initrd_addr_max */
	fake_put32(buf + 0x230, 0x200000);	/* kernel_alignment */
	buf[0x234] = 1;				/* relocatable */
	buf[0x235] = 21;
	fake_put16(buf + 0x236, 0x7f);		/* xloadflags */
	fake_put32(buf + 0x238, 2047);		/* cmdline_size */
	fake_put32(buf + 0x258, 0x1000000);	/* pref_address (low half) */
	fake_put32(buf + 0x260, FAKE_INIT_SIZE);
	for (size_t i = 0; i < payload_bytes; i++)
		buf[off + i] = (uint8_t)(i * 7 + 1);
	return off + payload_bytes;
}

#endif
