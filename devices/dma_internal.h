/* The DMA engine's private state, shared by dma_engine.c (lifecycle, registers), dma_queue.c
 * (device threads) and dma_media.c (the media). */
#ifndef DAXVM_DEVICES_DMA_INTERNAL_H
#define DAXVM_DEVICES_DMA_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/dma_engine.h"

struct dma_media {
	int fd;			/* the fd DMA goes through (O_DIRECT for block devices) */
	int check_fd;		/* a buffered fd on the same media for init and verification */
	bool is_memfd, is_blockdev;
	uint64_t bytes;		/* media bytes used */
	uint64_t align;		/* bytes: iova, length and offset granularity (1, or the block size) */
	char name[256];		/* "memfd" or the path */
};

int dma_media_open(struct dma_media *m, const char *path, uint64_t bytes, struct err *e);
/* Fills the read region with dma_pattern(DMA_MEDIA_SEED, offset). */
int dma_media_fill(struct dma_media *m, struct err *e);
/* 0 when media [off, +len) holds dma_pattern(seed, o - base) for each offset o (base: the
 * pattern's origin); -EIO with *bad_off set at the first wrong byte; -errno on I/O failure.
 * buf: a scratch buffer of buf_len bytes (aligned to 4 KiB). */
int dma_media_verify(struct dma_media *m, uint64_t off, uint64_t len, uint64_t seed,
		     uint64_t base, void *buf, uint64_t buf_len, uint64_t *bad_off);
void dma_media_close(struct dma_media *m);

struct dma_ring {
	uint64_t iova;		/* header; descriptors follow */
	int kick_fd;		/* eventfd: ioeventfd, bus doorbell and dma_engine_kick write it */
	bool armed;		/* kicked at least once: only then is the guest's header trusted */
	uint32_t cons;		/* next descriptor to complete (device-owned copy) */
	uint64_t faults;	/* IOMMU faults on this ring (atomic: DMA_REG_FAULTS reads it) */
	bool ioeventfd;		/* a KVM ioeventfd is registered for its doorbell */
};

#define DMA_MOVE_LOG 256

struct dma_queue {
	struct dma_engine *dma;
	unsigned index;
	pthread_t thread;
	bool thread_started;
	int wake_fd;		/* eventfd: stop */
	void *bounce;		/* DMA_QUEUE_BUF bytes: write verification buffer */
	uint64_t scratch_off;	/* this queue's media scratch (RAM->RAM bounce) */
	uint64_t scratch_bytes;
	struct dma_stats stats;	/* counters owned by this thread (atomic adds: read live) */
	/* When each of this queue's last DMA_MOVE_LOG data moves started (written by the queue
	 * thread only, read after it was joined): counts the moves after a guard event. */
	struct { uint64_t start_ns; uint32_t n; } move_log[DMA_MOVE_LOG];
	uint64_t moves_logged;
};

#define DMA_QUEUE_BUF (2ULL << 20)

struct dma_engine {
	struct dma_config cfg;
	struct pin_container *pins;
	struct bus *bus;
	struct dma_media media;
	unsigned nr_queues;
	struct dma_queue queues[DMA_MAX_QUEUES];
	unsigned nr_rings;
	uint32_t ring_entries;
	struct dma_ring rings[DMA_MAX_RINGS];
	bool started, stopping, stopped, ioeventfd;
	char ioeventfd_why[160];	/* why doorbells go through the bus, when they do */
	uint64_t start_ns, stop_ns;
	pthread_mutex_t lock;		/* guest verify failure bookkeeping */
	uint64_t guest_verify_failures;
	uint64_t first_failure_gpa;
	uint64_t faults_injected;	/* read from the ring headers at stop */
	/* dma_engine_fence(): no data move starts once fenced is set (atomics: any thread). */
	bool fenced;
	uint64_t fence_ns;		/* when the fence was set */
	uint64_t fence_since_ns;	/* the event it answers: moves started from here are counted */
	int filter_error;		/* a queue thread could not install its filter: -errno (atomic) */
};

/* True once dma_engine_fence() ran: the queues must not start a move or touch guest RAM. */
static inline bool dma_fenced(const struct dma_engine *dma)
{
	return __atomic_load_n(&dma->fenced, __ATOMIC_ACQUIRE);
}

void *dma_queue_main(void *arg);
/* Completes every descriptor submitted on ring r (called by r's queue thread). */
void dma_queue_service_ring(struct dma_queue *q, unsigned r);
uint64_t dma_now_ns(void);

#endif
