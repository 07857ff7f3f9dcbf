/* The pinning layer: one VFIO-type1v2-shaped container API (map/unmap of {vaddr, iova, size},
 * info, translate) over backends that pin with the kernel's pin_user_pages(), and device DMA
 * through the pins. Sections: the container; mapping; guest RAM regions; device DMA; what the
 * validator sees; backend specifics; the mock. */
#ifndef DAXVM_PINNING_PIN_H
#define DAXVM_PINNING_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* ---- The container ---- */

enum pin_backend {
	PIN_AUTO,	/* vfio when a device is given, else io_uring (not iommufd: an IOAS without an
			 * attached device pins nothing; see docs/pinning.md) */
	PIN_NONE,	/* no pinning (guest runs, DMA refused) */
	PIN_MOCK,	/* unit tests: bookkeeping only, no kernel pins */
	PIN_IO_URING,	/* io_uring registered buffers: pin_user_pages(FOLL_LONGTERM) */
	PIN_VFIO,	/* /dev/vfio/vfio type1v2 container */
	PIN_IOMMUFD,	/* /dev/iommu IOAS */
};

struct pin_container;

#define PIN_VFIO_MAX_DEVICES 8	/* IOMMU groups one vfio container attaches */

struct pin_options {
	enum pin_backend backend;
	const char *vfio_device;	/* PCI address whose IOMMU group vfio attaches ("0000:00:03.0"), else NULL */
	const char *const *vfio_more;	/* more devices whose groups join the same container */
	unsigned nr_vfio_more;		/* at most PIN_VFIO_MAX_DEVICES - 1 */
	/* io_uring: registered-buffer slots to reserve (one per mapping per GiB); 0 = 256, at
	 * most 16,384. Pinning 2 MiB folios costs time proportional to the slots (the kernel
	 * scans the whole table per huge page), so keep it as small as the mappings allow. */
	unsigned max_mappings;
};

/* Opens the backend; PIN_AUTO is decided here and only here (pin_container_why says why). */
int pin_container_open(const struct pin_options *opt, struct pin_container **out, struct err *e);
void pin_container_close(struct pin_container *c);	/* unmaps and unpins everything */
enum pin_backend pin_container_backend(const struct pin_container *c);
const char *pin_container_why(const struct pin_container *c);
/* The one list of backend names: "auto", "none", "mock", "io_uring", "vfio", "iommufd". */
const char *pin_backend_name(enum pin_backend b);
int pin_backend_parse(const char *name, enum pin_backend *out);

/* ---- Mapping (type1v2 rules) ---- */

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

/* Zero or unaligned size/iova -> -EINVAL; overlap -> -EEXIST; memlock exhaustion -> -ENOMEM
 * naming the limit and the amount. */
int pin_map_dma(struct pin_container *c, const struct pin_dma_map *map, struct err *e);
/* Unmaps exactly whole mappings inside [iova, iova+size); part of a mapping -> -EINVAL.
 * *unmapped receives the bytes unmapped. */
int pin_unmap_dma(struct pin_container *c, uint64_t iova, uint64_t size, uint64_t *unmapped,
		  struct err *e);
/* Unmaps every mapping (type1v2 VFIO_DMA_UNMAP_FLAG_ALL); *unmapped may be NULL. */
int pin_unmap_all(struct pin_container *c, uint64_t *unmapped, struct err *e);
int pin_get_info(struct pin_container *c, struct pin_info *info);

/* ---- Guest RAM regions ---- */

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

/* ---- Device DMA through the pins (thread-safe: device queues call these concurrently) ---- */

/* Where [iova, iova+len) lives. -EFAULT (an IOMMU fault) when any byte is unmapped or the
 * range runs off one mapping; never guesses. */
struct pin_translation {
	void *host;		/* host address of iova */
	uint64_t len;		/* bytes available contiguously from iova in this mapping (>= asked) */
	uint32_t flags;		/* the mapping's PIN_DMA_* permissions */
};
int pin_translate(struct pin_container *c, uint64_t iova, uint64_t len, struct pin_translation *t);

/* 0 when every byte of [iova, iova+len) is mapped with all of flags (across adjacent
 * mappings); -EFAULT otherwise, -EINVAL for an empty or wrapping range. One lock, one walk. */
int pin_check_iova(struct pin_container *c, uint64_t iova, uint64_t len, uint32_t flags);

/* One transfer of a batch: the arguments of pin_dma_rw in, its result out. */
struct pin_dma_op {
	uint64_t media_off;	/* in: byte offset in the media */
	uint64_t iova;		/* in: device address of the RAM side */
	uint64_t len;		/* in: bytes */
	bool to_ram;		/* in: media -> RAM (else RAM -> media) */
	int res;		/* out: 0, -EFAULT (IOMMU fault: nothing touched), or -errno */
};

/* Device DMA of n independent transfers between media (an fd) and RAM. Each op is translated
 * once (one lookup per mapping it spans, under one lock) before anything of the batch moves:
 * a faulting op touches nothing and the others still run. On io_uring the kernel does the
 * copy through the registered (pinned) buffers with READ_FIXED/WRITE_FIXED, all pieces in one
 * submit; other backends copy through the host mapping. The ops run concurrently in no
 * defined order, so the caller must not batch an op that writes bytes (RAM or media) another
 * op of the same batch reads or writes. Returns 0 when every op succeeded, else the res of
 * the first failed op (in array order), described in e. */
int pin_dma_rw_batch(struct pin_container *c, int media_fd, struct pin_dma_op *ops, unsigned n,
		     struct err *e);
/* A batch of one. to_ram = media -> RAM. */
int pin_dma_rw(struct pin_container *c, int media_fd, uint64_t media_off, uint64_t iova,
	       uint64_t len, bool to_ram, struct err *e);

/* ---- What the validator sees ---- */

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

/* The one rule for how many long-term pins backend b holds for [vaddr, vaddr+size) of
 * memory backed by page_size pages (the pinning layer and the validator both ask it). */
uint64_t pin_expected_pins(enum pin_backend b, uint64_t vaddr, uint64_t size, uint64_t page_size);
/* Pins the backend holds right now, counted by that rule (the mock counts without pinning). */
uint64_t pin_container_pinned_pages(struct pin_container *c);
uint64_t pin_container_pinned_bytes(struct pin_container *c);

/* Called just before (done = false) and after (done = true) the backend unmaps one
 * mapping (the validator's release check); the "after" call only when the unmap succeeded.
 * Runs with the container's write lock held: it must not call back into the container. */
typedef void (*pin_unmap_hook)(const struct pin_mapping_view *m, bool done, void *opaque);
void pin_set_unmap_hook(struct pin_container *c, pin_unmap_hook fn, void *opaque);

/* ---- Pinning in parallel ---- */

/* Bytes pinned so far of total, seconds since pinning started. */
typedef void (*pin_progress_fn)(uint64_t done, uint64_t total, double secs, void *opaque);

/* Pins the 1 GiB pieces of the next mappings on up to threads threads (io_uring: each piece
 * registered on a worker ring and cloned into the table, Linux 6.13+; 0 or 1 = one thread, the
 * default) and reports progress to fn after each piece (NULL = none; calls are serialised,
 * from the pinning threads). */
void pin_container_set_parallel(struct pin_container *c, unsigned threads, pin_progress_fn fn,
				void *opaque);

/* ---- Backend specifics ---- */

/* vfio: the IOMMU group fd the container attached (owned by the container), from which the
 * devices layer opens device fds (VFIO_GROUP_GET_DEVICE_FD). -ENODEV for other backends. */
int pin_vfio_group_fd(struct pin_container *c);
/* Checks without opening anything that addr can be passed through: a PCI address, VFIO
 * present, the device exists, has an IOMMU group, is bound to vfio-pci, and every other device
 * of its group is bound to vfio-pci or to no driver. -EINVAL/-ENODEV/-EBUSY with the fix. */
int pin_vfio_check_device(const char *addr, struct err *e);
/* The group fd of device addr (its group must be attached): -ENOENT when it is not, -ENODEV
 * for other backends or a device with no group. */
int pin_vfio_device_group_fd(struct pin_container *c, const char *addr);
/* The attached IOMMU group numbers, in attach order; returns how many (at most max). */
unsigned pin_vfio_group_numbers(struct pin_container *c, int *nrs, unsigned max);
/* A PCI address as sysfs names it: "DDDD:BB:DD.F" in lower-case hex. */
bool pin_vfio_address_valid(const char *addr);

/* ---- The mock (unit tests) ---- */

/* Makes the next map fail with neg_errno (tests of error paths); 0 = off. */
void pin_mock_fail_next_map(struct pin_container *c, int neg_errno);

/* One piece of device DMA inside one mapping, as the mock is about to move it. */
struct pin_dma_access {
	uint64_t iova;		/* device address */
	void *host;		/* host address the bytes move to or from */
	uint64_t len;		/* bytes */
	uint64_t media_off;	/* media byte offset */
	bool to_ram;		/* media -> RAM */
};
/* Called for every piece before it moves, from the DMA caller's thread under the container's
 * read lock (it must not map or unmap): fuzz targets check that a device moves only what the
 * IOMMU allows, between the media offsets it may use. NULL = none. */
typedef void (*pin_mock_dma_observer)(const struct pin_dma_access *a, void *opaque);
void pin_mock_observe_dma(struct pin_container *c, pin_mock_dma_observer fn, void *opaque);

#endif
