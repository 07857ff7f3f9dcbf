/* Test helper: drives a DMA engine ring from the host side, the way the guest does
 * (descriptors in "guest RAM", prod bump, doorbell, completion polling). */
#ifndef DAXVM_TESTS_DMA_HOST_RING_H
#define DAXVM_TESTS_DMA_HOST_RING_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "guest/dma_abi.h"
#include "devices/dma_engine.h"

#define HRING_TIMEOUT 0xffffffffu	/* hring_wait: no completion within 10 s */

struct hring {
	struct dma_ring_header *hdr;	/* host view of the ring's first byte */
	struct dma_desc *desc;
	uint32_t entries;
	uint32_t prod;
	unsigned index;			/* ring number in the engine */
	struct dma_engine *dma;
};

static inline void hring_init(struct hring *r, void *host, uint32_t entries, struct dma_engine *dma,
			      unsigned index)
{
	r->hdr = host;
	r->desc = (struct dma_desc *)(r->hdr + 1);
	r->entries = entries;
	r->prod = 0;
	r->index = index;
	r->dma = dma;
	memset(host, 0, dma_ring_bytes(entries));
	__atomic_store_n(&r->hdr->magic, DMA_RING_MAGIC, __ATOMIC_RELEASE);
}

/* Queues d (status forced to pending) without ringing the doorbell. */
static inline struct dma_desc *hring_post(struct hring *r, const struct dma_desc *d)
{
	struct dma_desc *slot = &r->desc[r->prod % r->entries];

	*slot = *d;
	slot->status = DMA_ST_PENDING;
	r->prod++;
	__atomic_store_n(&r->hdr->prod, r->prod, __ATOMIC_RELEASE);
	return slot;
}

static inline uint32_t hring_wait(struct dma_desc *slot)
{
	struct timespec ts = { 0, 20000 };

	for (int i = 0; i < 500000; i++) {
		uint32_t st = __atomic_load_n(&slot->status, __ATOMIC_ACQUIRE);

		if (st != DMA_ST_PENDING)
			return st;
		nanosleep(&ts, NULL);
	}
	return HRING_TIMEOUT;
}

/* One descriptor, start to completion. */
static inline uint32_t hring_run(struct hring *r, const struct dma_desc *d)
{
	struct dma_desc *slot = hring_post(r, d);

	dma_engine_kick(r->dma, r->index);
	return hring_wait(slot);
}

static inline void fill_pattern(uint8_t *p, uint64_t len, uint64_t seed, uint64_t origin)
{
	for (uint64_t i = 0; i < len; i++) {
		if (((origin + i) & 7) == 0 && i + 8 <= len) {
			uint64_t w = dma_pattern_word(seed, (origin + i) >> 3);

			memcpy(p + i, &w, 8);
			i += 7;
			continue;
		}
		p[i] = dma_pattern_byte(seed, origin + i);
	}
}

/* Index of the first byte that is not the pattern, or -1. */
static inline long check_pattern(const uint8_t *p, uint64_t len, uint64_t seed, uint64_t origin)
{
	for (uint64_t i = 0; i < len; i++) {
		if (((origin + i) & 7) == 0 && i + 8 <= len) {
			uint64_t w;

			memcpy(&w, p + i, 8);
			if (w == dma_pattern_word(seed, (origin + i) >> 3)) {
				i += 7;
				continue;
			}
		}
		if (p[i] != dma_pattern_byte(seed, origin + i))
			return (long)i;
	}
	return -1;
}

#endif
