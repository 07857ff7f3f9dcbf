/* The pinning layer: one VFIO-type1v2-shaped API (map/unmap of {vaddr, iova, size},
 * info, translate) over several backends that pin with the kernel's pin_user_pages(). */
#ifndef DAXVM_PINNING_PIN_H
#define DAXVM_PINNING_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum pin_backend {
	PIN_AUTO,	/* vfio when a device is given, else io_uring (not iommufd: an IOAS without an
			 * attached device pins nothing; see docs/pinning.md) */
	PIN_NONE,	/* no pinning (guest runs, DMA refused) */
	PIN_MOCK,	/* unit tests: bookkeeping only, no kernel pins */
	PIN_IO_URING,	/* io_uring registered buffers: pin_user_pages(FOLL_LONGTERM) */
	PIN_VFIO,	/* /dev/vfio/vfio type1v2 container */
	PIN_IOMMUFD,	/* /dev/iommu IOAS */
};

#define PIN_DMA_READ  (1u << 0)	/* the device may read the memory */
#define PIN_DMA_WRITE (1u << 1)	/* the device may write the memory */

struct pin_dma_map {
	uint64_t vaddr;		/* host virtual address of the memory */
	uint64_t iova;		/* device address it appears at */
	uint64_t size;		/* bytes; multiple of the smallest supported page size */
	uint32_t flags;		/* PIN_DMA_READ | PIN_DMA_WRITE */
	uint64_t page_size;	/* backing page size in bytes (pin accounting: one pin per folio) */
};

#define PIN_MAX_IOVA_RANGES 8

struct pin_info {
	uint64_t pgsize_bitmap;	/* supported IOMMU page sizes, bit n = 2^n bytes */
	struct { uint64_t start, end; } iova_ranges[PIN_MAX_IOVA_RANGES];	/* inclusive */
	unsigned nr_iova_ranges;
	unsigned dma_avail;	/* how many more mappings may be created */
};

struct pin_container;

struct pin_options {
	enum pin_backend backend;
	const char *vfio_device;	/* PCI address for vfio ("0000:00:03.0"), else NULL */
	/* io_uring: registered-buffer slots to reserve (one per mapping per GiB); 0 = 256, at
	 * most 16,384. Pinning 2 MiB folios costs time proportional to the slots (the kernel
	 * scans the whole table per huge page), so keep it as small as the mappings allow. */
	unsigned max_mappings;
};

int pin_container_open(const struct pin_options *opt, struct pin_container **out, struct err *e);
void pin_container_close(struct pin_container *c);	/* unmaps and unpins everything */
enum pin_backend pin_container_backend(const struct pin_container *c);
const char *pin_backend_name(enum pin_backend b);
int pin_backend_parse(const char *name, enum pin_backend *out);

/* type1v2 rules: zero or unaligned size/iova -> -EINVAL; overlap -> -EEXIST;
 * memlock exhaustion -> -ENOMEM naming the limit and the amount. */
int pin_map_dma(struct pin_container *c, const struct pin_dma_map *map, struct err *e);
/* Unmaps exactly whole mappings inside [iova, iova+size); part of a mapping -> -EINVAL.
 * *unmapped receives the bytes unmapped. */
int pin_unmap_dma(struct pin_container *c, uint64_t iova, uint64_t size, uint64_t *unmapped,
		  struct err *e);
int pin_get_info(struct pin_container *c, struct pin_info *info);

/* Device side: where [iova, iova+len) lives. Fails with -EFAULT (an IOMMU fault) when
 * any byte is unmapped, or when the range runs off one mapping; never guesses. */
struct pin_translation {
	void *host;		/* host address of iova */
	uint64_t len;		/* bytes available contiguously from iova in this mapping (>= asked) */
	uint32_t flags;		/* the mapping's PIN_DMA_* permissions */
};
int pin_translate(struct pin_container *c, uint64_t iova, uint64_t len, struct pin_translation *t);

/* Device DMA through the pins: move len bytes between media (an fd at media_off) and
 * [iova, iova+len). to_ram = media -> RAM. On io_uring the kernel does the copy through
 * the registered (pinned) buffers with READ_FIXED/WRITE_FIXED; other backends copy through
 * pin_translate(). Returns 0, -EFAULT for an IOMMU fault (nothing touched), or -errno.
 * Thread-safe: device queues call it concurrently. */
int pin_dma_rw(struct pin_container *c, int media_fd, uint64_t media_off, uint64_t iova,
	       uint64_t len, bool to_ram, struct err *e);

/* ---- Additions (pinning work, issue 3) ---- */

/* A guest-RAM region as the VMM sees it; pinning maps it at iova == gpa. */
struct pin_region {
	uint64_t gpa;		/* guest physical address, becomes the IOVA */
	void *host;		/* host mapping of the region */
	uint64_t size;		/* bytes */
	uint64_t page_size;	/* backing page size in bytes (4 KiB, 2 MiB, devdax alignment) */
};
typedef int (*pin_region_fn)(const struct pin_region *r, void *data);
/* Supplied by the VMM: calls fn(region, data) for every RAM region, stops at the first
 * non-zero return and returns it. Pinning never reaches into VMM internals. */
typedef int (*pin_region_visitor)(void *opaque, pin_region_fn fn, void *data);

/* Maps every region READ|WRITE at iova = gpa. On failure unmaps what it mapped. */
int pin_map_regions(struct pin_container *c, pin_region_visitor visit, void *opaque,
		    struct err *e);
/* Unmaps every mapping (type1v2 VFIO_DMA_UNMAP_FLAG_ALL); *unmapped may be NULL. */
int pin_unmap_all(struct pin_container *c, uint64_t *unmapped, struct err *e);

/* Why this backend was chosen (auto selection), for the report and summary. */
const char *pin_container_why(const struct pin_container *c);

/* One mapping as seen by the validator. */
struct pin_mapping_view {
	uint64_t iova;		/* device address */
	uint64_t vaddr;		/* host virtual address */
	uint64_t size;		/* bytes */
	uint64_t page_size;	/* backing page size, bytes */
	uint32_t flags;		/* PIN_DMA_* */
};
/* Calls fn for every mapping in IOVA order (under the container's read lock: fn must not
 * map or unmap). Stops at the first non-zero return and returns it. */
int pin_for_each_mapping(struct pin_container *c,
			 int (*fn)(const struct pin_mapping_view *m, void *data), void *data);

/* Pins the backend holds right now: one per backing page (folio), as the kernel counts
 * long-term pins. The mock counts the same way without pinning. */
uint64_t pin_container_pinned_pages(struct pin_container *c);
uint64_t pin_container_pinned_bytes(struct pin_container *c);

/* Called just before (done = false) and after (done = true) the backend unmaps one
 * mapping (the validator's release check); the "after" call only when the unmap succeeded.
 * Runs with the container's write lock held: it must not call back into the container. */
typedef void (*pin_unmap_hook)(const struct pin_mapping_view *m, bool done, void *opaque);
void pin_set_unmap_hook(struct pin_container *c, pin_unmap_hook fn, void *opaque);

/* vfio only: the device fd (VFIO_GROUP_GET_DEVICE_FD) of the --vfio device, owned by the
 * container (do not close it). -ENODEV for other backends. */
int pin_vfio_device_fd(struct pin_container *c);

/* The --vfio argument: "DDDD:BB:DD.F" in lower-case hex, as sysfs names PCI devices. */
bool pin_vfio_address_valid(const char *addr);

/* mock only: make the next map fail with -errno (unit tests of error paths); 0 = off. */
void pin_mock_fail_next_map(struct pin_container *c, int neg_errno);

/* ---- Additions (DMA batching, issue 4) ---- */

/* One transfer of a batch: the arguments of pin_dma_rw in, its result out. */
struct pin_dma_op {
	uint64_t media_off;	/* in: byte offset in the media */
	uint64_t iova;		/* in: device address of the RAM side */
	uint64_t len;		/* in: bytes */
	bool to_ram;		/* in: media -> RAM (else RAM -> media) */
	int res;		/* out: 0, -EFAULT (IOMMU fault: nothing touched), or -errno */
};

/* Device DMA of n independent transfers, each with pin_dma_rw's guarantees: every op is
 * checked against the IOMMU before anything of the batch is submitted (a faulting op
 * touches nothing, the others still run); on io_uring all pieces of all ops go to the
 * kernel in one submit and the call returns when every one has completed. The ops run
 * concurrently in no defined order, so the caller must not batch an op that writes bytes
 * (RAM or media) another op of the same batch reads or writes. Returns 0 when every op
 * succeeded, else the res of the first failed op (in array order), described in e.
 * Thread-safe, like pin_dma_rw (which is a batch of one). */
int pin_dma_rw_batch(struct pin_container *c, int media_fd, struct pin_dma_op *ops, unsigned n,
		     struct err *e);

/* ---- Additions (parallel populate + pin, issue 13) ---- */

/* Bytes pinned so far of total, seconds since pinning started. */
typedef void (*pin_progress_fn)(uint64_t done, uint64_t total, double secs, void *opaque);

/* Pins the 1 GiB pieces of the next mappings on up to threads threads (io_uring, first map
 * of an empty container; 0 or 1 = one thread, the default) and reports progress to fn after
 * each piece (NULL = none; calls are serialised, from the pinning threads). */
void pin_container_set_parallel(struct pin_container *c, unsigned threads, pin_progress_fn fn,
				void *opaque);

#endif
