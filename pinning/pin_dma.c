/* Device DMA through the pins: translation, the one-walk IOMMU check, and batches of
 * transfers between media and guest RAM (the backend moves the bytes: io_uring through its
 * registered buffers, the others through the host mapping). */
#include "pinning/pin_backend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pin_translate(struct pin_container *c, uint64_t iova, uint64_t len, struct pin_translation *t)
{
	const struct pin_mapping *m;
	int ret = -EFAULT;

	if (!len || iova + len - 1 < iova)
		return -EINVAL;
	pthread_rwlock_rdlock(&c->lock);
	m = pin_find_locked(c, iova);
	if (m && iova + len <= m->iova + m->size) {
		t->host = (void *)(uintptr_t)(m->vaddr + (iova - m->iova));
		t->len = m->iova + m->size - iova;
		t->flags = m->flags;
		ret = 0;
	}
	pthread_rwlock_unlock(&c->lock);
	return ret;
}

/* Copy through the host mapping: the backends whose pins the device does not use itself. */
void pin_copy_seg(int fd, struct pin_dma_seg *g)
{
	char *host = (char *)(uintptr_t)(g->m->vaddr + (g->iova - g->m->iova));
	uint64_t off = g->media_off, len = g->len;

	g->res = 0;
	while (len) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : len;
		ssize_t n = g->to_ram ? pread(fd, host, chunk, (off_t)off)
				      : pwrite(fd, host, chunk, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g->res = n < 0 ? -errno : -EIO;
			g->fail_off = off;
			return;
		}
		host += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
}

/* The segments of a batch: on the stack for the DMA engine's batches, grown on the heap past. */
struct seg_buf {
	struct pin_dma_seg *segs;
	size_t n, cap;
	bool heap;
};

static int seg_push(struct seg_buf *b, const struct pin_dma_seg *g)
{
	if (b->n == b->cap) {
		size_t cap = b->cap * 2;
		struct pin_dma_seg *n = b->heap ? realloc(b->segs, cap * sizeof(*n)) : malloc(cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		if (!b->heap)
			memcpy(n, b->segs, b->n * sizeof(*n));
		b->segs = n;
		b->cap = cap;
		b->heap = true;
	}
	b->segs[b->n++] = *g;
	return 0;
}

/* Translates op against the IOMMU in one walk (under the read lock), appending one segment per
 * mapping it spans. Returns 0, or -EFAULT / -EINVAL / -ENOMEM described in e with no segment
 * of op left in b: an IOMMU fault leaves memory and media untouched. */
static int translate_op_locked(struct pin_container *c, const struct pin_dma_op *op,
			       struct seg_buf *b, struct err *e)
{
	uint32_t need = op->to_ram ? PIN_DMA_WRITE : PIN_DMA_READ;
	uint64_t at = op->iova, left = op->len, media_off = op->media_off;
	size_t first = b->n;

	if (!op->len)
		return err_set(e, -EINVAL, "DMA of 0 bytes at iova 0x%" PRIx64, op->iova);
	/* A range past the top of the IOVA space reaches memory no mapping covers. */
	if (op->iova + op->len - 1 < op->iova)
		return err_set(e, -EFAULT, "IOMMU fault: DMA of %" PRIu64 " bytes at iova 0x%" PRIx64
			       " wraps around the IOVA space", op->len, op->iova);
	while (left) {
		const struct pin_mapping *m = pin_find_locked(c, at);
		uint64_t n;

		if (!m || !(m->flags & need)) {
			b->n = first;
			return err_set(e, -EFAULT, "IOMMU fault: DMA %s iova 0x%" PRIx64 " which is %s",
				       op->to_ram ? "write to" : "read from", at,
				       m ? "mapped without that permission" : "not mapped");
		}
		n = m->iova + m->size - at;
		n = n < left ? n : left;
		if (seg_push(b, &(struct pin_dma_seg){ .m = m, .iova = at, .len = n,
						       .media_off = media_off, .to_ram = op->to_ram })) {
			b->n = first;
			return err_set(e, -ENOMEM, "out of memory for a DMA batch");
		}
		at += n;
		media_off += n;
		left -= n;
	}
	return 0;
}

int pin_check_iova(struct pin_container *c, uint64_t iova, uint64_t len, uint32_t flags)
{
	uint64_t at = iova, left = len;
	int ret = 0;

	if (!len || iova + len - 1 < iova)
		return -EINVAL;
	pthread_rwlock_rdlock(&c->lock);
	while (left && !ret) {
		const struct pin_mapping *m = pin_find_locked(c, at);
		uint64_t n;

		if (!m || (m->flags & flags) != flags) {
			ret = -EFAULT;
			break;
		}
		n = m->iova + m->size - at;
		n = n < left ? n : left;
		at += n;
		left -= n;
	}
	pthread_rwlock_unlock(&c->lock);
	return ret;
}

static int seg_error(const struct pin_dma_seg *g, struct err *e)
{
	if (g->res == -EIO)
		return err_set(e, -EIO, "device media ends before offset %" PRIu64
			       ": make the media file larger", g->fail_off);
	return err_set(e, g->res, "device DMA %s media at offset %" PRIu64 " failed: %s",
		       g->to_ram ? "reading" : "writing", g->fail_off, strerror(-g->res));
}

#define PIN_BATCH_STACK_SEGS 64
#define PIN_BATCH_STACK_OPS 32	/* the DMA engine's batch size: no allocation on its path */

int pin_dma_rw_batch(struct pin_container *c, int media_fd, struct pin_dma_op *ops, unsigned n,
		     struct err *e)
{
	struct pin_dma_seg stack[PIN_BATCH_STACK_SEGS];
	struct seg_buf b = { .segs = stack, .cap = PIN_BATCH_STACK_SEGS };
	size_t first_stack[PIN_BATCH_STACK_OPS + 1], *first = first_stack;
	struct err op_err[1];
	int first_fail = -1;
	/* err_set keeps a sentence already in e; ours is replaced by an earlier op's. */
	bool e_ours = e && !e->msg[0];

	if (!n)
		return 0;
	if (n > PIN_BATCH_STACK_OPS && !(first = calloc(n + 1, sizeof(*first))))
		return err_set(e, -ENOMEM, "out of memory for a DMA batch of %u transfers", n);
	pthread_rwlock_rdlock(&c->lock);
	/* Every op is translated (and so checked) once, before anything moves; a faulting op
	 * gets no segment. */
	for (unsigned i = 0; i < n; i++) {
		err_reset(op_err);
		first[i] = b.n;
		ops[i].res = translate_op_locked(c, &ops[i], &b, op_err);
		if (ops[i].res && first_fail < 0) {
			first_fail = (int)i;
			if (e_ours)
				*e = *op_err;
		}
	}
	first[n] = b.n;
	if (b.n && c->ops->dma_rw) {
		c->ops->dma_rw(c, media_fd, b.segs, b.n);
	} else {
		for (size_t k = 0; k < b.n; k++)
			pin_copy_seg(media_fd, &b.segs[k]);
	}
	/* An op fails with its first failed segment. */
	for (unsigned i = 0; i < n; i++) {
		for (size_t k = first[i]; k < first[i + 1] && !ops[i].res; k++) {
			if (!b.segs[k].res)
				continue;
			ops[i].res = b.segs[k].res;
			if (first_fail < 0 || (unsigned)first_fail > i) {
				first_fail = (int)i;
				err_reset(op_err);
				seg_error(&b.segs[k], op_err);
				if (e_ours)
					*e = *op_err;
			}
		}
	}
	pthread_rwlock_unlock(&c->lock);
	if (b.heap)
		free(b.segs);
	if (first != first_stack)
		free(first);
	return first_fail < 0 ? 0 : ops[first_fail].res;
}

int pin_dma_rw(struct pin_container *c, int media_fd, uint64_t media_off, uint64_t iova,
	       uint64_t len, bool to_ram, struct err *e)
{
	struct pin_dma_op op = { .media_off = media_off, .iova = iova, .len = len, .to_ram = to_ram };

	return pin_dma_rw_batch(c, media_fd, &op, 1, e);
}

