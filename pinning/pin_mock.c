/* The mock backend: type1v2 bookkeeping without kernel pins, for unit tests of everything
 * above the kernel (rules, translation, validator, DMA device). Also serves the none backend. */
#include "pinning/pin_backend.h"

#include <errno.h>

/* VFIO type1's default dma_entry_limit (module parameter, 65535 since v5.1). */
#define MOCK_MAX_MAPPINGS 65535

static int mock_open(struct pin_container *c, const struct pin_options *opt, struct err *e)
{
	c->max_mappings = MOCK_MAX_MAPPINGS;
	return 0;
}

static void mock_close(struct pin_container *c)
{
}

static int mock_map(struct pin_container *c, struct pin_mapping *m, struct err *e)
{
	int fail = c->mock_fail_next;

	if (c->backend == PIN_NONE)
		return err_set(e, -EOPNOTSUPP,
			       "the none backend pins nothing, so no IOVA can be mapped for device DMA: "
			       "choose auto, io_uring, vfio or iommufd");
	if (fail) {
		c->mock_fail_next = 0;
		if (fail == -ENOMEM)
			return pin_memlock_error(e, m->size, "the mock backend");
		return err_set(e, fail, "mock backend: injected map failure %d", fail);
	}
	if (c->used_slots + 1 > c->max_mappings)
		return err_set(e, -ENOSPC,
			       "the container holds %zu mappings, the most it allows: unmap some first",
			       c->used_slots);
	m->slot = (uint32_t)c->used_slots;
	m->nr_slots = 1;
	c->used_slots++;
	return 0;
}

static int mock_unmap(struct pin_container *c, struct pin_mapping *m, struct err *e)
{
	c->used_slots -= m->nr_slots;
	return 0;
}

static void mock_info(struct pin_container *c, struct pin_info *info)
{
	info->pgsize_bitmap = (1ull << 12) | (1ull << 21) | (1ull << 30);
	info->iova_ranges[0].start = 0;
	info->iova_ranges[0].end = (1ull << 48) - 1;
	info->nr_iova_ranges = 1;
}

/* Copies through the host mapping like the backends without a dma_rw, after showing each
 * piece to the observer (pin_mock_observe_dma). */
static int mock_dma_rw(struct pin_container *c, int media_fd, struct pin_dma_seg *segs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pin_dma_seg *g = &segs[i];

		if (c->mock_observer) {
			struct pin_dma_access a = {
				.iova = g->iova,
				.host = (void *)(uintptr_t)(g->m->vaddr + (g->iova - g->m->iova)),
				.len = g->len,
				.media_off = g->media_off,
				.to_ram = g->to_ram,
			};

			c->mock_observer(&a, c->mock_observer_opaque);
		}
		pin_copy_seg(media_fd, g);
	}
	return 0;
}

const struct pin_backend_ops pin_mock_ops = {
	.open = mock_open,
	.close = mock_close,
	.map = mock_map,
	.unmap = mock_unmap,
	.info = mock_info,
	.dma_rw = mock_dma_rw,
};
