/* The DMA engine's guest-visible contract: registers, ring and descriptor layout, media layout
 * and the data patterns both sides compute. Included by the device and the freestanding guest. */
#ifndef DAXVM_GUEST_DMA_ABI_H
#define DAXVM_GUEST_DMA_ABI_H

#include <stdint.h>

/* Registers: one 0x100-byte window per ring (= per vCPU) at GUEST_MMIO_DMA_GPA + ring * stride.
 * All registers are 64-bit. */
#define DMA_REG_STRIDE		0x100ULL
#define DMA_MAX_RINGS		64
#define DMA_REG_DOORBELL	0x00	/* W: any value: "the ring's prod moved" (ioeventfd when KVM has it) */
#define DMA_REG_ID		0x08	/* R: DMA_ID_VALUE */
#define DMA_REG_ALIGN		0x10	/* R: bytes every iova, length and media offset must be a multiple of */
#define DMA_REG_FAULTS		0x18	/* R: IOMMU faults counted on this ring so far */
#define DMA_REG_VERIFY_FAIL	0x20	/* W: the guest found wrong data at this guest-physical address */
#define DMA_REG_MAX_LEN		0x28	/* R: largest descriptor length in bytes */

#define DMA_ID_VALUE		0x31616d64ULL	/* "dma1" */

/* The ring, at guest_params.dma_ring_gpa[ring], read and written by the device only through the
 * pinning layer (iova = guest-physical address): a header, then dma_ring_entries descriptors. */
#define DMA_RING_MAGIC		0x676e6972616d64ULL	/* "dmaring" */

struct dma_ring_header {
	uint64_t magic;			/* guest writes DMA_RING_MAGIC once the ring is initialised */
	uint32_t prod;			/* guest: descriptors submitted (free-running index) */
	uint32_t cons;			/* device: descriptors completed (free-running index) */
	uint64_t faults_injected;	/* guest: descriptors it submitted with a deliberately bad IOVA */
	uint64_t reserved[5];
};

enum dma_op {
	DMA_OP_MEDIA_TO_RAM = 1,	/* media [media_off, +len) -> iova [iova, +len) */
	DMA_OP_RAM_TO_MEDIA = 2,	/* iova -> media; the device then verifies the media (pattern) */
	DMA_OP_RAM_TO_RAM = 3,		/* iova -> iova2, bounced through the device's media scratch */
};

enum dma_status {
	DMA_ST_PENDING = 0,		/* written by the guest before submission */
	DMA_ST_OK = 1,
	DMA_ST_IOMMU_FAULT = 2,		/* an unmapped/out-of-range IOVA or a length off a mapping */
	DMA_ST_BAD_OP = 3,
	DMA_ST_BAD_LEN = 4,		/* zero, > DMA_REG_MAX_LEN, or not a multiple of DMA_REG_ALIGN */
	DMA_ST_MEDIA_RANGE = 5,		/* media offset outside the media (or in its private part) */
	DMA_ST_MEDIA_ERROR = 6,		/* the media I/O failed */
	DMA_ST_VERIFY_FAIL = 7,		/* RAM->media landed, but the media does not hold the pattern */
};

/* One descriptor: 64 bytes. The guest fills every field with status = DMA_ST_PENDING, then
 * bumps prod; the device writes status last (after the data), then bumps cons. */
struct dma_desc {
	uint32_t op;			/* enum dma_op */
	volatile uint32_t status;	/* enum dma_status */
	uint64_t iova;			/* source (RAM->*) or destination (media->RAM) */
	uint64_t len;			/* bytes */
	uint64_t media_off;		/* byte offset in the media (ignored by RAM->RAM) */
	uint64_t iova2;			/* RAM->RAM destination */
	uint64_t pattern_seed;		/* RAM->media and RAM->RAM: the data is dma_pattern(seed, .) */
	uint64_t reserved[2];
};

_Static_assert(sizeof(struct dma_ring_header) == 64, "ring header is 64 bytes");
_Static_assert(sizeof(struct dma_desc) == 64, "descriptor is 64 bytes");

static inline uint64_t dma_ring_bytes(uint32_t entries)
{
	return sizeof(struct dma_ring_header) + (uint64_t)entries * sizeof(struct dma_desc);
}

/* The media: [0, read) holds dma_pattern(DMA_MEDIA_SEED, offset) and is never written;
 * [read, read + write) is split into one write slice per ring; the rest is the device's
 * private scratch (RAM->RAM bounce), out of the guest's reach. */
#define DMA_MEDIA_SEED		0x6d656469615f7365ULL

static inline uint64_t dma_media_read_bytes(uint64_t media_bytes)
{
	return (media_bytes / 2) & ~0xfffULL;
}

static inline void dma_media_write_slice(uint64_t media_bytes, uint32_t nr_rings, uint32_t ring,
					 uint64_t *off, uint64_t *len)
{
	uint64_t base = dma_media_read_bytes(media_bytes);
	uint64_t slice = ((media_bytes / 4) / (nr_rings ? nr_rings : 1)) & ~0xfffULL;

	*off = base + (uint64_t)ring * slice;
	*len = slice;
}

static inline uint64_t dma_media_scratch_off(uint64_t media_bytes)
{
	return dma_media_read_bytes(media_bytes) + ((media_bytes / 4) & ~0xfffULL);
}

/* The data pattern: byte at position o (a media offset, or the byte index of a RAM->RAM
 * transfer) is byte (o & 7) of dma_pattern_word(seed, o >> 3), little-endian. */
static inline uint64_t dma_pattern_word(uint64_t seed, uint64_t word_index)
{
	uint64_t z = word_index * 0x9e3779b97f4a7c15ULL + seed;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint8_t dma_pattern_byte(uint64_t seed, uint64_t o)
{
	return (uint8_t)(dma_pattern_word(seed, o >> 3) >> ((o & 7) * 8));
}

#endif
