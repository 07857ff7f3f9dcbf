/* The DMA engine device: moves data between its media (a memfd, file or block device) and guest
 * RAM only through the pinning layer's IOVA space (iova = guest-physical address).
 *
 * Lifecycle, in the VMM's start-up order (kvm -> memory -> pinning -> devices -> vcpus):
 *   1. dma_engine_create(&cfg, pins, bus, &dma, &e)      after guest RAM is pinned (pin_map_dma)
 *        and the bus exists; registers [GUEST_MMIO_DMA_GPA, +GUEST_MMIO_DMA_SIZE) on the bus,
 *        opens and fills the media. cfg.vm_fd lets it serve doorbells with KVM_IOEVENTFD.
 *   2. dma_engine_fill_guest_params(dma, params, region_gpa, region_bytes, &e)
 *        with params->nr_cpus set: carves one ring and one data area per vCPU out of the guest
 *        RAM range [region_gpa, +region_bytes) the VMM sets aside for DMA (use
 *        dma_engine_region_bytes() to size it; keep it apart from the pattern workload's
 *        areas), fills dma_ring_gpa[], dma_area_gpa[], dma_area_bytes, media_bytes,
 *        dma_fault_permille, dma_ring_entries, and sets GUEST_F_DMA in params->flags.
 *   3. dma_engine_start(dma, &e)                          before the vCPUs run.
 *   4. ... guest runs; the VMM sets params->stop and joins the vCPUs (the guest waits for its
 *        in-flight descriptors, so the engine must still run while the vCPUs finish) ...
 *   5. dma_engine_stop_and_drain(dma)                     completes every submitted descriptor.
 *   6. dma_engine_fill_report(dma, report)                dma.* keys; before unpinning (it reads
 *        the guest's fault counters through the pins).
 *   7. dma_engine_destroy(dma)                            before pin_container_close() and
 *        bus_destroy(): removes the ioeventfds, closes the media.
 * dma_engine_verdict_ok() says whether the DMA part of the run passed.
 */
#ifndef DAXVM_DEVICES_DMA_ENGINE_H
#define DAXVM_DEVICES_DMA_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/report.h"
#include "devices/bus.h"
#include "guest/dma_abi.h"
#include "guest/abi.h"
#include "pinning/pin.h"

#define DMA_DEFAULT_MEDIA_BYTES		(64ULL << 20)
#define DMA_DEFAULT_RING_ENTRIES	64
#define DMA_DEFAULT_FAULT_PERMILLE	10
#define DMA_MAX_QUEUES			8
#define DMA_MAX_DESC_LEN		(16ULL << 20)	/* DMA_REG_MAX_LEN */
#define DMA_AREA_MAX_BYTES		(64ULL << 20)	/* per vCPU data area, at most */
#define DMA_AREA_MIN_BYTES		(8ULL << 20)	/* per vCPU data area, at least */

struct dma_config {
	unsigned nr_queues;		/* device threads, 1..DMA_MAX_QUEUES; 0 = 1 */
	const char *media_path;		/* file or block device (overwritten!); NULL = memfd */
	uint64_t media_bytes;		/* bytes of media used; 0 = 64 MiB (memfd, file) or the device size */
	int vm_fd;			/* KVM VM fd for ioeventfd doorbells; -1 = bus handler only */
	bool verify_writes;		/* after RAM->media, check the media holds the pattern */
	uint32_t ring_entries;		/* descriptors per ring; 0 = DMA_DEFAULT_RING_ENTRIES */
	uint32_t fault_permille;	/* share of bad-IOVA descriptors the guest injects (0..1000) */
	bool seccomp;			/* queue threads filter their system calls (common/thread_filter.h) */
};

struct dma_stats {
	uint64_t transfers;		/* descriptors completed with DMA_ST_OK */
	uint64_t bytes;			/* bytes moved by those descriptors */
	uint64_t iommu_faults;		/* descriptors (and ring accesses) that hit an IOMMU fault */
	uint64_t ring_faults;		/* of which: ring header/descriptor accesses that faulted */
	uint64_t bad_ops, bad_lens, media_range, media_errors;
	uint64_t host_verify_failures;	/* RAM->media writes whose media content was wrong */
	uint64_t guest_verify_failures;	/* DMA_REG_VERIFY_FAIL writes from the guest */
	uint64_t first_failure_gpa;	/* guest-physical address of the first verify failure, or 0 */
	uint64_t doorbells;		/* kicks (ioeventfd, bus or host) */
	uint64_t batches;		/* data-moving calls into the pinning layer (pin_dma_rw_batch) */
	uint64_t ring_errors;		/* kicks of an uninitialised ring, prod running past the ring */
	uint64_t busy_ns;		/* time between start and stop, ns */
};

struct dma_engine;

/* pins and bus must outlive the engine; bus may be NULL (host-driven use: tests, bench). */
int dma_engine_create(const struct dma_config *cfg, struct pin_container *pins, struct bus *bus,
		      struct dma_engine **out, struct err *e);

/* Guest RAM the VMM should set aside for DMA rings and areas for nr_cpus vCPUs, given the RAM
 * it can spare (bytes): a multiple of 2 MiB, at least what one minimal area per vCPU needs. */
uint64_t dma_engine_region_bytes(unsigned nr_cpus, uint64_t spare_bytes);

int dma_engine_fill_guest_params(struct dma_engine *dma, struct guest_params *p,
				 uint64_t region_gpa, uint64_t region_bytes, struct err *e);

/* Host-driven use: the rings at these IOVAs (each dma_ring_bytes(entries), 64-byte aligned).
 * fill_guest_params calls it. Before dma_engine_start(). */
int dma_engine_set_rings(struct dma_engine *dma, unsigned nr_rings, const uint64_t *ring_iova,
			 uint32_t entries, struct err *e);

int dma_engine_start(struct dma_engine *dma, struct err *e);
/* A doorbell from the host side (tests, bench), same as the guest's DMA_REG_DOORBELL write. */
void dma_engine_kick(struct dma_engine *dma, unsigned ring);
/* Stops the queues after they complete every descriptor submitted so far. Idempotent. */
void dma_engine_stop_and_drain(struct dma_engine *dma);

/* The dax guard's fast stop, from any thread (also a signal handler: atomics and
 * clock_gettime only, no lock, no join): no data move starts after it returns, the queues stop
 * touching guest RAM (rings, descriptors, statuses: left as they are) and stop_and_drain no
 * longer reads it. since_ns: the event it answers (CLOCK_MONOTONIC; 0 = now): after stop,
 * dma.transfers_after_fence counts the descriptors whose transfer started at or after it
 * (moves already running when the fence is set run to their end). Returns the fence time;
 * a second call changes nothing and returns the first one's. */
uint64_t dma_engine_fence(struct dma_engine *dma, uint64_t since_ns);
bool dma_engine_fenced(const struct dma_engine *dma, uint64_t *fence_ns);

void dma_engine_get_stats(struct dma_engine *dma, struct dma_stats *s);
int dma_engine_media_fd(const struct dma_engine *dma);		/* for tests: the media */
uint64_t dma_engine_media_bytes(const struct dma_engine *dma);
uint64_t dma_engine_media_align(const struct dma_engine *dma);
bool dma_engine_uses_ioeventfd(const struct dma_engine *dma);

/* dma.transfers, dma.bytes, dma.verify_failures, dma.iommu_faults, dma.faults_injected,
 * dma.gib_per_s, dma.queues, dma.media, dma.fenced, and details; once fenced and stopped,
 * dma.transfers_after_fence. */
int dma_engine_fill_report(struct dma_engine *dma, struct report *r);
/* True when no verify failure happened and faults_injected == iommu_faults. */
bool dma_engine_verdict_ok(struct dma_engine *dma, char *why, size_t why_len);

void dma_engine_destroy(struct dma_engine *dma);

#endif
