/* DMA engine queues: device threads that read descriptors through the pins, move the data of
 * up to DMA_BATCH_MAX descriptors at a time with one pin_dma_rw_batch() and write completions
 * back through the pins, in ring order. */
#include <errno.h>
#include <poll.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/thread_filter.h"
#include "devices/dma_internal.h"

#define STAT_ADD(q, field, n) __atomic_fetch_add(&(q)->stats.field, (n), __ATOMIC_RELAXED)

/* Descriptors served by one pin_dma_rw_batch(): enough to keep the io_uring workers busy,
 * few enough that the first completion of a batch is not held back long. */
#define DMA_BATCH_MAX 32
#define DMA_BATCH_BYTES (8ULL << 20)	/* and bytes: enough to keep every CPU copying */

uint64_t dma_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Notes that a data move of n descriptors starts now (for dma.transfers_after_fence). */
static void log_move(struct dma_queue *q, uint32_t n)
{
	unsigned i = (unsigned)(q->moves_logged++ % DMA_MOVE_LOG);

	q->move_log[i].start_ns = dma_now_ns();
	q->move_log[i].n = n;
}

/* Moves [iova, +len) <-> media at media_off; pin_dma_rw() checks the whole range before it
 * moves a byte (a fault touches nothing) and walks across adjacent mappings itself.
 * DMA_ST_PENDING when the engine is fenced: nothing moved (the caller leaves it unserved). */
static uint32_t dma_move(struct dma_queue *q, uint64_t media_off, uint64_t iova, uint64_t len,
			 bool to_ram)
{
	struct err e = { 0 };
	int ret;

	if (dma_fenced(q->dma))
		return DMA_ST_PENDING;
	log_move(q, 1);
	ret = pin_dma_rw(q->dma->pins, q->dma->media.fd, media_off, iova, len, to_ram, &e);

	STAT_ADD(q, batches, 1);
	if (ret == -EFAULT)
		return DMA_ST_IOMMU_FAULT;
	return ret < 0 ? DMA_ST_MEDIA_ERROR : DMA_ST_OK;
}

static void note_verify_failure(struct dma_engine *dma, uint64_t gpa)
{
	pthread_mutex_lock(&dma->lock);
	if (!dma->first_failure_gpa)
		dma->first_failure_gpa = gpa;
	pthread_mutex_unlock(&dma->lock);
}

static bool media_range_ok(const struct dma_engine *dma, uint64_t off, uint64_t len, bool write)
{
	uint64_t lo = write ? dma_media_read_bytes(dma->media.bytes) : 0;
	uint64_t hi = dma_media_scratch_off(dma->media.bytes);

	return off >= lo && off <= hi && len <= hi - off && off % dma->media.align == 0;
}

static uint32_t ram_to_ram(struct dma_queue *q, const struct dma_desc *d)
{
	struct dma_engine *dma = q->dma;

	/* Both ranges before the first byte moves: the bounce below is two transfers. */
	if (pin_check_iova(dma->pins, d->iova, d->len, PIN_DMA_READ) ||
	    pin_check_iova(dma->pins, d->iova2, d->len, PIN_DMA_WRITE))
		return DMA_ST_IOMMU_FAULT;
	/* Bounce through this queue's private scratch of the media. */
	for (uint64_t done = 0; done < d->len;) {
		uint64_t n = d->len - done < q->scratch_bytes ? d->len - done : q->scratch_bytes;
		uint32_t st = dma_move(q, q->scratch_off, d->iova + done, n, false);

		if (st == DMA_ST_OK)
			st = dma_move(q, q->scratch_off, d->iova2 + done, n, true);
		if (st != DMA_ST_OK)
			return st;
		done += n;
	}
	return DMA_ST_OK;
}

/* The device's checks before it moves a byte: a final status, or DMA_ST_PENDING when the
 * descriptor is a valid request (the IOMMU decides at transfer time; RAM->RAM: ram_to_ram()
 * checks its two ranges itself). */
static uint32_t check_desc(struct dma_queue *q, const struct dma_desc *d)
{
	struct dma_engine *dma = q->dma;
	uint64_t align = dma->media.align;
	bool to_ram = d->op == DMA_OP_MEDIA_TO_RAM;

	if (d->op < DMA_OP_MEDIA_TO_RAM || d->op > DMA_OP_RAM_TO_RAM)
		return DMA_ST_BAD_OP;
	if (!d->len || d->len > DMA_MAX_DESC_LEN || d->len % align || d->iova % align ||
	    (d->op == DMA_OP_RAM_TO_RAM && d->iova2 % align))
		return DMA_ST_BAD_LEN;
	if (d->op == DMA_OP_RAM_TO_RAM)
		return DMA_ST_PENDING;
	if (!media_range_ok(dma, d->media_off, d->len, !to_ram))
		return DMA_ST_MEDIA_RANGE;
	/* The IOMMU check is the transfer's own: pin_dma_rw_batch translates each range once
	 * and a fault (-EFAULT) touches nothing. */
	return DMA_ST_PENDING;
}

/* After a RAM->media transfer that landed: the media must hold the pattern. */
static uint32_t verify_write(struct dma_queue *q, const struct dma_desc *d)
{
	struct dma_engine *dma = q->dma;
	uint64_t bad_off = 0;

	if (!dma->cfg.verify_writes)
		return DMA_ST_OK;
	if (dma_media_verify(&dma->media, d->media_off, d->len, d->pattern_seed, 0, q->bounce,
			     DMA_QUEUE_BUF, &bad_off) < 0) {
		STAT_ADD(q, host_verify_failures, 1);
		note_verify_failure(dma, d->iova + (bad_off - d->media_off));
		return DMA_ST_VERIFY_FAIL;
	}
	return DMA_ST_OK;
}

static uint32_t status_of(int res)
{
	if (res == -EFAULT)
		return DMA_ST_IOMMU_FAULT;
	return res < 0 ? DMA_ST_MEDIA_ERROR : DMA_ST_OK;
}

/* Serves a checked descriptor on its own, start to finish. */
static uint32_t serve_alone(struct dma_queue *q, const struct dma_desc *d)
{
	uint32_t st;

	if (d->op == DMA_OP_RAM_TO_RAM)
		return ram_to_ram(q, d);
	st = dma_move(q, d->media_off, d->iova, d->len, d->op == DMA_OP_MEDIA_TO_RAM);
	if (st != DMA_ST_OK || d->op != DMA_OP_RAM_TO_MEDIA)
		return st;
	return verify_write(q, d);
}

/* One descriptor of a batch. */
struct batch_desc {
	struct dma_desc d;		/* the snapshot served */
	struct dma_desc *gd;		/* the guest's descriptor (status); NULL: the access faulted */
	uint32_t st;			/* status; DMA_ST_PENDING while its transfer is ops[op] */
	int op;				/* index in batch.ops, or -1 */
};

/* Up to DMA_BATCH_MAX consecutive descriptors of one ring, completed together in ring order. */
struct batch {
	struct batch_desc ent[DMA_BATCH_MAX];
	unsigned n;
	struct pin_dma_op ops[DMA_BATCH_MAX];
	unsigned nr_ops;
	uint64_t bytes;			/* moved by ops[] */
};

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Whether op may run concurrently with the batch's ops and still give what serving the
 * descriptors one after the other gives: nothing it writes is touched by another op, and
 * nothing it reads is written by one. */
static bool fits_batch(const struct batch *b, const struct pin_dma_op *op)
{
	for (unsigned i = 0; i < b->nr_ops; i++) {
		const struct pin_dma_op *o = &b->ops[i];

		if ((o->to_ram || op->to_ram) && overlap(o->iova, o->len, op->iova, op->len))
			return false;
		if ((!o->to_ram || !op->to_ram) &&
		    overlap(o->media_off, o->len, op->media_off, op->len))
			return false;
	}
	return true;
}

/* Descriptors that must be served alone: RAM->RAM (one media scratch per queue), and any
 * transfer touching the ring itself (its later descriptors and statuses are read and
 * written between descriptors when served one by one). */
static bool serve_apart(const struct dma_engine *dma, const struct dma_ring *ring,
			const struct dma_desc *d)
{
	return d->op == DMA_OP_RAM_TO_RAM ||
	       overlap(d->iova, d->len, ring->iova, dma_ring_bytes(dma->ring_entries));
}

static void count_status(struct dma_queue *q, struct dma_ring *ring, uint32_t st, uint64_t len)
{
	switch (st) {
	case DMA_ST_OK:
		STAT_ADD(q, transfers, 1);
		STAT_ADD(q, bytes, len);
		break;
	case DMA_ST_IOMMU_FAULT:
		STAT_ADD(q, iommu_faults, 1);
		__atomic_fetch_add(&ring->faults, 1, __ATOMIC_RELAXED);
		break;
	case DMA_ST_BAD_OP:
		STAT_ADD(q, bad_ops, 1);
		break;
	case DMA_ST_BAD_LEN:
		STAT_ADD(q, bad_lens, 1);
		break;
	case DMA_ST_MEDIA_RANGE:
		STAT_ADD(q, media_range, 1);
		break;
	case DMA_ST_MEDIA_ERROR:
		STAT_ADD(q, media_errors, 1);
		break;
	default:
		break;	/* DMA_ST_VERIFY_FAIL was counted where it was found */
	}
}

/* A ring access the IOMMU refuses: counted as a fault, the ring is left alone. */
static void *ring_translate(struct dma_queue *q, struct dma_ring *ring, uint64_t iova, uint64_t len)
{
	struct pin_translation t;
	const uint32_t need = PIN_DMA_READ | PIN_DMA_WRITE;

	if (pin_translate(q->dma->pins, iova, len, &t) < 0 || (t.flags & need) != need) {
		STAT_ADD(q, iommu_faults, 1);
		STAT_ADD(q, ring_faults, 1);
		__atomic_fetch_add(&ring->faults, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	return t.host;
}

/* Snapshots descriptors from ring->cons on (not past prod), checks them and queues their
 * transfers in b, until the batch is full or a descriptor cannot join it. */
static void gather(struct dma_queue *q, struct dma_ring *ring, uint32_t prod, struct batch *b)
{
	struct dma_engine *dma = q->dma;

	b->n = 0;
	b->nr_ops = 0;
	b->bytes = 0;
	for (uint32_t idx = ring->cons; idx != prod && b->n < DMA_BATCH_MAX; idx++) {
		uint64_t iova = ring->iova + sizeof(struct dma_ring_header) +
				(uint64_t)(idx % dma->ring_entries) * sizeof(struct dma_desc);
		struct batch_desc *bd = &b->ent[b->n];
		struct pin_dma_op op;

		bd->gd = ring_translate(q, ring, iova, sizeof(*bd->gd));
		bd->op = -1;
		if (!bd->gd) {
			b->n++;		/* counted as a ring fault; no status to write */
			continue;
		}
		/* One snapshot: the guest cannot change the request while it is served. */
		memcpy(&bd->d, bd->gd, sizeof(bd->d));
		bd->st = check_desc(q, &bd->d);
		if (bd->st == DMA_ST_PENDING && serve_apart(dma, ring, &bd->d)) {
			if (b->n)
				return;	/* first in the next batch, after these completed */
			bd->st = serve_alone(q, &bd->d);
			b->n++;
			return;
		}
		if (bd->st == DMA_ST_PENDING) {
			op = (struct pin_dma_op){ .media_off = bd->d.media_off, .iova = bd->d.iova,
						  .len = bd->d.len,
						  .to_ram = bd->d.op == DMA_OP_MEDIA_TO_RAM };
			if (!fits_batch(b, &op))
				return;
			bd->op = (int)b->nr_ops;
			b->ops[b->nr_ops++] = op;
			b->bytes += op.len;
		}
		b->n++;
		if (b->bytes >= DMA_BATCH_BYTES)
			return;
	}
}

/* Moves the batch's data in one call, then completes its descriptors in ring order. */
static void complete(struct dma_queue *q, struct dma_ring *ring, struct dma_ring_header *hdr,
		     struct batch *b)
{
	struct dma_engine *dma = q->dma;

	/* Fenced (the dax guard): move nothing, write no status, leave the ring where it is. */
	if (dma_fenced(dma))
		return;
	if (b->nr_ops) {
		struct err e = { 0 };

		log_move(q, b->nr_ops);
		pin_dma_rw_batch(dma->pins, dma->media.fd, b->ops, b->nr_ops, &e);
		STAT_ADD(q, batches, 1);
	}
	for (unsigned i = 0; i < b->n; i++) {
		struct batch_desc *bd = &b->ent[i];

		if (bd->gd) {
			if (bd->op >= 0) {
				bd->st = status_of(b->ops[bd->op].res);
				if (bd->st == DMA_ST_OK && bd->d.op == DMA_OP_RAM_TO_MEDIA)
					bd->st = verify_write(q, &bd->d);
			}
			count_status(q, ring, bd->st, bd->d.len);
			__atomic_store_n(&bd->gd->status, bd->st, __ATOMIC_RELEASE);
		}
		ring->cons++;
		__atomic_store_n(&hdr->cons, ring->cons, __ATOMIC_RELEASE);
	}
}

void dma_queue_service_ring(struct dma_queue *q, unsigned r)
{
	struct dma_engine *dma = q->dma;
	struct dma_ring *ring = &dma->rings[r];
	struct dma_ring_header *hdr;
	struct batch b;
	uint32_t prod;

	if (dma_fenced(dma))
		return;	/* guest RAM may be gone: not even the header is read */
	hdr = ring_translate(q, ring, ring->iova, sizeof(*hdr));
	if (!hdr) {
		ring->armed = false;	/* counted once: retried on the next doorbell only */
		return;
	}
	if (__atomic_load_n(&hdr->magic, __ATOMIC_ACQUIRE) != DMA_RING_MAGIC) {
		STAT_ADD(q, ring_errors, 1);
		ring->armed = false;	/* not initialised: wait for the next doorbell */
		return;
	}
	prod = __atomic_load_n(&hdr->prod, __ATOMIC_ACQUIRE);
	if (prod - ring->cons > dma->ring_entries) {
		STAT_ADD(q, ring_errors, 1);	/* the guest ran past the ring: drop what it claims */
		ring->cons = prod;
		__atomic_store_n(&hdr->cons, ring->cons, __ATOMIC_RELEASE);
		return;
	}
	while (ring->cons != prod && !dma_fenced(dma)) {
		gather(q, ring, prod, &b);
		complete(q, ring, hdr, &b);
		if (ring->cons == prod)
			prod = __atomic_load_n(&hdr->prod, __ATOMIC_ACQUIRE);
		if (prod - ring->cons > dma->ring_entries)
			break;	/* caught on the next pass */
	}
}

/* Consumes a pending kick on the ring's eventfd (EFD_NONBLOCK: Linux 2.6.27); true when
 * there was one. */
static bool take_kick(struct dma_ring *ring)
{
	uint64_t n;

	return read(ring->kick_fd, &n, sizeof(n)) == sizeof(n);
}

/* What a queue thread does after set-up: wait on its eventfds, move data between the media fd
 * and guest RAM (pread/pwrite through the host mapping, or io_uring_enter on the pins' ring),
 * read the media back to verify. No open, no socket, no exec, no ioctl. */
static int queue_filter(struct dma_engine *dma)
{
	static const int syscalls[] = {
		SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
		SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(io_uring_enter),
	};
	const struct thread_filter f = { .role = "DMA queue", .syscalls = syscalls,
					 .nr_syscalls = sizeof(syscalls) / sizeof(syscalls[0]) };
	int ret = thread_filter_install(&f, NULL);

	if (ret)
		__atomic_store_n(&dma->filter_error, ret, __ATOMIC_RELEASE);
	return ret;
}

void *dma_queue_main(void *arg)
{
	struct dma_queue *q = arg;
	struct dma_engine *dma = q->dma;
	struct pollfd pfd[DMA_MAX_RINGS + 1];
	unsigned ring_of[DMA_MAX_RINGS + 1];
	unsigned n = 0;

	if (dma->cfg.seccomp && queue_filter(dma))
		return NULL;	/* dma_engine_verdict_ok says why */

	pfd[n++] = (struct pollfd){ .fd = q->wake_fd, .events = POLLIN };
	for (unsigned r = q->index; r < dma->nr_rings; r += dma->nr_queues) {
		ring_of[n] = r;
		pfd[n++] = (struct pollfd){ .fd = dma->rings[r].kick_fd, .events = POLLIN };
	}
	for (;;) {
		bool stopping;

		/* The timeout only bounds how long a lost wake-up could stall a ring. */
		poll(pfd, n, 100);
		stopping = __atomic_load_n(&dma->stopping, __ATOMIC_ACQUIRE);
		for (unsigned i = 1; i < n; i++) {
			struct dma_ring *ring = &dma->rings[ring_of[i]];

			if (take_kick(ring)) {
				STAT_ADD(q, doorbells, 1);
				ring->armed = true;
			}
			if (ring->armed)
				dma_queue_service_ring(q, ring_of[i]);
		}
		if (stopping)
			break;	/* the pass above ran after stop was seen: everything submitted is done */
	}
	return NULL;
}
