/* Private to the pinning layer: the container and the interface each backend implements. */
#ifndef DAXVM_PINNING_PIN_BACKEND_H
#define DAXVM_PINNING_PIN_BACKEND_H

#include <pthread.h>
#include <time.h>

#include "pinning/pin.h"

/* One IOVA mapping. Backends may keep per-mapping state in slot/nr_slots/priv. */
struct pin_mapping {
	uint64_t iova;		/* device address */
	uint64_t vaddr;		/* host virtual address */
	uint64_t size;		/* bytes */
	uint64_t page_size;	/* backing page size, bytes (pin accounting) */
	uint32_t flags;		/* PIN_DMA_* */
	uint32_t slot;		/* io_uring: first registered-buffer index */
	uint32_t nr_slots;	/* io_uring: buffers used (mappings are split at 1 GiB) */
};

struct pin_container;

/* One op of a DMA batch inside one mapping (pin.c splits ops at mapping edges). */
struct pin_dma_seg {
	const struct pin_mapping *m;	/* the mapping [iova, +len) lies in */
	uint64_t iova;			/* device address */
	uint64_t len;			/* bytes */
	uint64_t media_off;		/* media byte offset */
	bool to_ram;			/* media -> RAM */
	int res;			/* out: 0, or -errno (-EIO: the media ended at fail_off) */
	uint64_t fail_off;		/* out: media offset where the failure happened */
};

struct pin_backend_ops {
	/* Opens the kernel object; -ENODEV/-ENOENT with a sentence when unavailable. */
	int (*open)(struct pin_container *c, const struct pin_options *opt, struct err *e);
	void (*close)(struct pin_container *c);
	/* Pins and maps m (already checked against the type1v2 rules). */
	int (*map)(struct pin_container *c, struct pin_mapping *m, struct err *e);
	/* Unmaps and unpins m; must not fail for a mapping that map() accepted. */
	int (*unmap)(struct pin_container *c, struct pin_mapping *m, struct err *e);
	/* Fills pgsize_bitmap and iova_ranges; the container fills dma_avail from max_mappings. */
	void (*info)(struct pin_container *c, struct pin_info *info);
	/* Optional device DMA of n segments, all submitted before any is waited for; fills
	 * each segment's res and fail_off. Returns 0, or -errno when the backend itself failed
	 * (every segment's res then says what happened to it). NULL = copy through the host
	 * mapping with pread/pwrite, segment by segment. Called under the read lock. */
	int (*dma_rw)(struct pin_container *c, int media_fd, struct pin_dma_seg *segs, size_t n);
};

struct pin_container {
	enum pin_backend backend;
	const struct pin_backend_ops *ops;
	void *priv;			/* backend state */
	char why[160];			/* why this backend */
	pthread_rwlock_t lock;		/* readers: translate, dma; writer: map, unmap */
	struct pin_mapping *maps;	/* sorted by iova, non-overlapping */
	size_t nr_maps, cap_maps;
	size_t max_mappings;		/* backend limit (dma_avail = max - used) */
	size_t used_slots;		/* backend units in use (io_uring: buffers) */
	uint64_t pinned_pages;		/* one per backing page (folio) */
	uint64_t pinned_bytes;
	pin_unmap_hook unmap_hook;
	void *unmap_hook_opaque;
	int mock_fail_next;		/* mock: -errno for the next map */
	pin_mock_dma_observer mock_observer;	/* mock: sees every DMA piece before it moves */
	void *mock_observer_opaque;
	unsigned pin_threads;		/* threads pinning a mapping's pieces (io_uring); <= 1 = one */
	pin_progress_fn progress;	/* bytes pinned, from the pinning threads; NULL = none */
	void *progress_opaque;
};

extern const struct pin_backend_ops pin_mock_ops;
extern const struct pin_backend_ops pin_uring_ops;
extern const struct pin_backend_ops pin_vfio_ops;
extern const struct pin_backend_ops pin_iommufd_ops;

/* Slots a mapping of size bytes needs on a backend whose unit is at most unit bytes. */
static inline uint32_t pin_slots_for(uint64_t size, uint64_t unit)
{
	return (uint32_t)((size + unit - 1) / unit);
}

/* Seconds since t0 (CLOCK_MONOTONIC), for a long pin's progress callback. */
static inline double pin_secs_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Mapping lookups (pin.c), under the container's lock: the index of the first mapping whose
 * end is above iova, and the mapping holding iova or NULL. */
size_t pin_first_ending_after(const struct pin_container *c, uint64_t iova);
const struct pin_mapping *pin_find_locked(struct pin_container *c, uint64_t iova);

/* Moves one segment with pread/pwrite through the host mapping; fills res and fail_off. */
void pin_copy_seg(int fd, struct pin_dma_seg *g);

/* ENOMEM from the kernel while pinning: one sentence naming RLIMIT_MEMLOCK and the amount. */
int pin_memlock_error(struct err *e, uint64_t bytes, const char *what);

/* Whether the iommufd / vfio device nodes exist (auto selection). */
bool pin_iommufd_present(void);

#endif
