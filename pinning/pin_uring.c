/* The io_uring backend: each mapping is pinned as registered buffers in a sparse buffer
 * table (pin_user_pages(FOLL_LONGTERM)); device DMA is READ_FIXED/WRITE_FIXED through them.
 * One ring is shared by all device threads: per-ring buffer tables (liburing 2.3) would pin
 * every page once per ring. Submissions take sq_lock; one thread at a time reaps the CQ and
 * hands each completion to its request by user_data. */
#include "pinning/pin_backend.h"

#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/size.h"
#include "pinning/pin_uring_parallel.h"

/* Measured on this kernel (6.18): a registered buffer may be at most 1 GiB, and a ring
 * holds at most 16,384 buffers (IORING_MAX_REG_BUFFERS, since 5.13). */
#define URING_BUF_MAX (1ull << 30)
#define URING_MAX_BUFFERS 16384u
/* The default table size: 256 mappings or 256 GiB. The kernel's headpage_already_acct()
 * (io_uring/rsrc.c) walks every slot of the table for each 2 MiB folio being registered, so
 * a full 16,384-slot table made hugetlb registration 5-8x slower than a packed one (bench/pin). */
#define URING_DEFAULT_BUFFERS 256u
#define URING_QUEUE_DEPTH 256u

struct uring_req {
	unsigned pending;		/* pieces submitted and not completed (cq_lock) */
};

struct uring_piece {
	struct uring_req *req;
	struct pin_dma_seg *seg;	/* the segment it is part of (result) */
	uint64_t host;			/* where in RAM */
	uint64_t media_off;		/* where in the media file */
	uint32_t len;			/* bytes still to move */
	uint16_t buf;			/* registered buffer index */
	int res;			/* last completion result */
};

struct uring_state {
	struct io_uring ring;
	pthread_mutex_t sq_lock;	/* SQE allocation and submit */
	pthread_mutex_t cq_lock;	/* reaping and request completion counts */
	pthread_cond_t cq_cond;		/* a reaper finished a batch */
	bool reaping;			/* a thread is waiting in the kernel for CQEs */
	uint32_t nr_slots;		/* size of the buffer table */
	bool table_registered;		/* the table exists (from the first map until empty again) */
	uint8_t slot_used[URING_MAX_BUFFERS];
};

static int uring_open(struct pin_container *c, const struct pin_options *opt, struct err *e)
{
	struct uring_state *s = calloc(1, sizeof(*s));
	unsigned slots = opt->max_mappings ? opt->max_mappings : URING_DEFAULT_BUFFERS;
	int ret;

	if (slots > URING_MAX_BUFFERS) {
		free(s);
		return err_set(e, -EINVAL, "io_uring holds at most %u registered buffers, not %u: ask for fewer mappings",
			       URING_MAX_BUFFERS, slots);
	}
	if (!s)
		return err_set(e, -ENOMEM, "out of memory allocating the io_uring backend");
	ret = io_uring_queue_init(URING_QUEUE_DEPTH, &s->ring, 0);
	if (ret) {
		free(s);
		if (ret == -ENOSYS || ret == -EPERM)
			return err_set(e, -ENODEV,
				       "io_uring is unavailable (%s): enable it (sysctl kernel.io_uring_disabled=0) "
				       "or pin with vfio or iommufd", strerror(-ret));
		return err_set(e, ret, "io_uring_queue_init failed: %s", strerror(-ret));
	}
	/* Sparse tables and per-buffer updates: Linux 5.19 (IORING_RSRC_REGISTER_SPARSE).
	 * Probe here; the table itself is registered by the first map (see uring_map). */
	ret = io_uring_register_buffers_sparse(&s->ring, slots);
	if (!ret)
		ret = io_uring_unregister_buffers(&s->ring);
	if (ret) {
		io_uring_queue_exit(&s->ring);
		free(s);
		return err_set(e, ret == -EINVAL ? -ENODEV : ret,
			       "io_uring cannot register a sparse buffer table (%s): Linux 5.19 or newer is needed",
			       strerror(-ret));
	}
	{
		/* Batched DMA puts many shmem reads in flight, each punted to an io-wq worker; more
		 * workers than CPUs only thrash the caches. Per ring (Linux 5.15); best effort. */
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		unsigned max[2] = { cpus > 0 ? (unsigned)cpus : 1, cpus > 0 ? (unsigned)cpus : 1 };

		io_uring_register_iowq_max_workers(&s->ring, max);
	}
	pthread_mutex_init(&s->sq_lock, NULL);
	pthread_mutex_init(&s->cq_lock, NULL);
	pthread_cond_init(&s->cq_cond, NULL);
	c->priv = s;
	s->nr_slots = slots;
	c->max_mappings = slots;
	return 0;
}

static void uring_close(struct pin_container *c)
{
	struct uring_state *s = c->priv;

	/* Unregistering the table and closing the ring releases any pin left behind. */
	if (s->table_registered)
		io_uring_unregister_buffers(&s->ring);
	io_uring_queue_exit(&s->ring);
	pthread_mutex_destroy(&s->sq_lock);
	pthread_mutex_destroy(&s->cq_lock);
	pthread_cond_destroy(&s->cq_cond);
	free(s);
}

/* First index of n consecutive free buffer slots, or -1. */
static int find_slots(struct uring_state *s, uint32_t n)
{
	uint32_t run = 0;

	for (uint32_t i = 0; i < s->nr_slots; i++) {
		run = s->slot_used[i] ? 0 : run + 1;
		if (run == n)
			return (int)(i + 1 - n);
	}
	return -1;
}

static int set_slot(struct uring_state *s, uint32_t slot, uint64_t addr, uint64_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	__u64 tag = 0;
	int ret = io_uring_register_buffers_update_tag(&s->ring, slot, &iov, &tag, 1);

	return ret == 1 ? 0 : ret < 0 ? ret : -EIO;
}

static int map_error(const struct pin_mapping *m, int ret, struct err *e);

/* The first mapping registers the whole table in one IORING_REGISTER_BUFFERS2 call, its
 * chunks in slots 0..n-1 and the rest empty. Later mappings update single slots, where the
 * kernel's duplicate-hugepage accounting scans every registered buffer for each 2 MiB folio
 * (quadratic in GiB of hugetlb); a whole-table registration only scans the new buffer. */
static int register_table(struct pin_container *c, struct uring_state *s,
			  const struct pin_mapping *m, uint32_t n)
{
	struct iovec *iov = calloc(s->nr_slots, sizeof(*iov));
	__u64 *tags = calloc(s->nr_slots, sizeof(*tags));
	int ret = -ENOMEM;

	if (iov && tags) {
		for (uint32_t i = 0; i < n; i++) {
			uint64_t off = (uint64_t)i * URING_BUF_MAX;

			iov[i].iov_base = (void *)(uintptr_t)(m->vaddr + off);
			iov[i].iov_len = m->size - off < URING_BUF_MAX ? m->size - off : URING_BUF_MAX;
		}
		/* Several 1 GiB pieces and threads: pin them in parallel (pin_uring_parallel.c);
		 * 1 = the kernel cannot clone buffers, so register on this thread. */
		ret = 1;
		if (n > 1 && c->pin_threads > 1)
			ret = uring_register_parallel(&s->ring, iov, n, 0, s->nr_slots, true,
						      c->pin_threads, c->progress, c->progress_opaque);
		if (ret == 1)
			ret = io_uring_register_buffers_tags(&s->ring, iov, tags, s->nr_slots);
	}
	free(iov);
	free(tags);
	if (ret)
		return ret;
	s->table_registered = true;
	memset(s->slot_used, 0, sizeof(s->slot_used));
	memset(s->slot_used, 1, n);
	return 0;
}

static int uring_map(struct pin_container *c, struct pin_mapping *m, struct err *e)
{
	struct uring_state *s = c->priv;
	uint32_t n = pin_slots_for(m->size, URING_BUF_MAX);
	int first = find_slots(s, n);

	if (first < 0)
		return err_set(e, -ENOSPC,
			       "the io_uring buffer table has no %u free consecutive slots of %u (one per GiB "
			       "mapped): unmap something, or open the container with a larger max_mappings",
			       n, s->nr_slots);
	if (!s->table_registered) {
		int ret = register_table(c, s, m, n);

		if (ret)
			return map_error(m, ret, e);
		first = 0;
		goto done;
	}
	/* Later maps of several pieces: in parallel too, cloned into their slots. */
	if (n > 1 && c->pin_threads > 1) {
		struct iovec *iov = calloc(n, sizeof(*iov));
		int ret = -ENOMEM;

		if (iov) {
			for (uint32_t i = 0; i < n; i++) {
				uint64_t off = (uint64_t)i * URING_BUF_MAX;

				iov[i].iov_base = (void *)(uintptr_t)(m->vaddr + off);
				iov[i].iov_len = m->size - off < URING_BUF_MAX ? m->size - off : URING_BUF_MAX;
			}
			ret = uring_register_parallel(&s->ring, iov, n, (unsigned)first, s->nr_slots, false,
						      c->pin_threads, c->progress, c->progress_opaque);
			free(iov);
		}
		if (ret < 0)
			return map_error(m, ret, e);
		if (!ret) {
			memset(&s->slot_used[first], 1, n);
			goto done;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = (uint64_t)i * URING_BUF_MAX;
		uint64_t len = m->size - off < URING_BUF_MAX ? m->size - off : URING_BUF_MAX;
		int ret = set_slot(s, (uint32_t)first + i, m->vaddr + off, len);

		if (ret) {
			while (i--)
				set_slot(s, (uint32_t)first + i, 0, 0);
			return map_error(m, ret, e);
		}
		s->slot_used[first + i] = 1;
	}
done:
	m->slot = (uint32_t)first;
	m->nr_slots = n;
	c->used_slots += n;
	return 0;
}

/* One sentence for a failed registration. */
static int map_error(const struct pin_mapping *m, int ret, struct err *e)
{
	char sz[32];

	if (ret == -ENOMEM)
		return pin_memlock_error(e, m->size, "io_uring registered buffers");
	/* Before 6.5 io_uring accepted file-backed buffers only on shmem and hugetlbfs, so a
	 * devdax (or any other file) mapping is refused with EOPNOTSUPP after the pin. */
	if (ret == -EOPNOTSUPP)
		return err_set(e, -EOPNOTSUPP,
			       "this kernel refuses io_uring registered buffers on %s at 0x%" PRIx64 " (%s): "
			       "io_uring pins file-backed memory other than shmem and hugetlbfs only "
			       "since Linux 6.5; pin through VFIO instead (with a PCI device bound to vfio-pci) "
			       "or use a shmem/hugetlb backing",
			       size_format(m->size, sz, sizeof(sz)), m->vaddr, strerror(-ret));
	if (ret == -EFAULT)
		return err_set(e, -EFAULT,
			       "the kernel refused to pin %s at 0x%" PRIx64 " long-term (%s): page-cache "
			       "files on a disk filesystem cannot be pinned; use devdax, hugetlbfs, "
			       "memfd, tmpfs or anonymous memory",
			       size_format(m->size, sz, sizeof(sz)), m->vaddr, strerror(-ret));
	return err_set(e, ret, "io_uring buffer registration of %s at 0x%" PRIx64 " failed: %s",
		       size_format(m->size, sz, sizeof(sz)), m->vaddr, strerror(-ret));
}

static int uring_unmap(struct pin_container *c, struct pin_mapping *m, struct err *e)
{
	struct uring_state *s = c->priv;
	int ret = 0;

	/* Replacing a slot with an empty iovec drops its node; with no request in flight (the
	 * container's write lock) the pages are unpinned before the syscall returns (6.13+
	 * per-node refcounts; older kernels defer to the next quiesce). */
	for (uint32_t i = 0; i < m->nr_slots; i++) {
		int r = set_slot(s, m->slot + i, 0, 0);

		if (r && !ret)
			ret = err_set(e, r, "io_uring could not unregister buffer %u: %s", m->slot + i,
				      strerror(-r));
		if (!r)
			s->slot_used[m->slot + i] = 0;
	}
	if (!ret)
		c->used_slots -= m->nr_slots;
	/* Empty again: drop the table so the next first map registers in one call. */
	if (!ret && !c->used_slots && !io_uring_unregister_buffers(&s->ring))
		s->table_registered = false;
	return ret;
}

static void uring_info(struct pin_container *c, struct pin_info *info)
{
	info->pgsize_bitmap = 1ull << 12;	/* any multiple of 4 KiB */
	info->iova_ranges[0].start = 0;
	info->iova_ranges[0].end = UINT64_MAX;
	info->nr_iova_ranges = 1;
}

/* Queues and submits p[0..n) in one io_uring_submit (more only when the SQ fills). Returns
 * how many were queued; *err receives a submit failure, after which the pieces not queued
 * are not in flight (queued ones are: the kernel or the next submit takes them). */
static size_t submit_pieces(struct uring_state *s, int fd, struct uring_piece *p, size_t n, int *err)
{
	size_t i;
	int ret = 0;

	*err = 0;
	pthread_mutex_lock(&s->sq_lock);
	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe;

		while (!(sqe = io_uring_get_sqe(&s->ring))) {
			ret = io_uring_submit(&s->ring);
			if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
				goto out;
		}
		if (p[i].seg->to_ram)
			io_uring_prep_read_fixed(sqe, fd, (void *)(uintptr_t)p[i].host, p[i].len,
						 p[i].media_off, p[i].buf);
		else
			io_uring_prep_write_fixed(sqe, fd, (void *)(uintptr_t)p[i].host, p[i].len,
						  p[i].media_off, p[i].buf);
		io_uring_sqe_set_data(sqe, &p[i]);
	}
	do
		ret = io_uring_submit(&s->ring);
	while (ret == -EINTR || ret == -EAGAIN || ret == -EBUSY);
out:
	pthread_mutex_unlock(&s->sq_lock);
	if (ret < 0)
		*err = ret;
	return i;
}

/* Waits until req has no piece in flight. Whoever reaps dispatches every CQE it finds. */
static void wait_req(struct uring_state *s, struct uring_req *req)
{
	pthread_mutex_lock(&s->cq_lock);
	while (req->pending) {
		struct __kernel_timespec ts = { .tv_sec = 1 };
		struct io_uring_cqe *cqe;
		int ret;

		if (s->reaping) {
			pthread_cond_wait(&s->cq_cond, &s->cq_lock);
			continue;
		}
		s->reaping = true;
		pthread_mutex_unlock(&s->cq_lock);
		/* With IORING_FEAT_EXT_ARG (Linux 5.11) the timeout takes no SQE, so waiting
		 * needs no sq_lock. */
		ret = io_uring_wait_cqe_timeout(&s->ring, &cqe, &ts);
		if (ret == -ETIME) {
			/* Pieces queued by a submit that failed are still in the SQ: push them. */
			pthread_mutex_lock(&s->sq_lock);
			if (io_uring_sq_ready(&s->ring))
				io_uring_submit(&s->ring);
			pthread_mutex_unlock(&s->sq_lock);
		}
		pthread_mutex_lock(&s->cq_lock);
		if (!ret) {
			unsigned head, seen = 0;

			io_uring_for_each_cqe(&s->ring, head, cqe) {
				struct uring_piece *p = io_uring_cqe_get_data(cqe);

				p->res = cqe->res;
				p->req->pending--;
				seen++;
			}
			io_uring_cq_advance(&s->ring, seen);
		}
		s->reaping = false;
		pthread_cond_broadcast(&s->cq_cond);
	}
	pthread_mutex_unlock(&s->cq_lock);
}

/* Pieces segment g needs: one per 1 GiB registered buffer it touches. */
static size_t pieces_of(const struct pin_dma_seg *g)
{
	uint64_t off = g->iova - g->m->iova;

	return (size_t)((off + g->len - 1) / URING_BUF_MAX - off / URING_BUF_MAX + 1);
}

static void piece_failed(struct uring_piece *p, int res)
{
	if (!p->seg->res) {
		p->seg->res = res;
		p->seg->fail_off = p->media_off;
	}
}

#define URING_STACK_PIECES 64

/* Every piece of every segment in one submit, then one wait; short transfers continue from
 * where they stopped in the next round. */
static int uring_dma_rw(struct pin_container *c, int media_fd, struct pin_dma_seg *segs, size_t nsegs)
{
	struct uring_state *s = c->priv;
	struct uring_piece stack[URING_STACK_PIECES], *p = stack;
	struct uring_req req = { 0 };
	size_t n = 0;
	int ret = 0;

	for (size_t k = 0; k < nsegs; k++) {
		segs[k].res = 0;
		n += pieces_of(&segs[k]);
	}
	if (n > URING_STACK_PIECES && !(p = calloc(n, sizeof(*p)))) {
		for (size_t k = 0; k < nsegs; k++) {
			segs[k].res = -ENOMEM;
			segs[k].fail_off = segs[k].media_off;
		}
		return -ENOMEM;
	}
	/* Split at the 1 GiB registered-buffer boundaries. */
	n = 0;
	for (size_t k = 0; k < nsegs; k++) {
		struct pin_dma_seg *g = &segs[k];
		uint64_t off = g->iova - g->m->iova, len = g->len, media_off = g->media_off;

		while (len) {
			uint64_t in_buf = off % URING_BUF_MAX;
			uint64_t piece = URING_BUF_MAX - in_buf < len ? URING_BUF_MAX - in_buf : len;

			p[n++] = (struct uring_piece){ .req = &req, .seg = g, .host = g->m->vaddr + off,
						       .media_off = media_off, .len = (uint32_t)piece,
						       .buf = (uint16_t)(g->m->slot + off / URING_BUF_MAX) };
			off += piece;
			media_off += piece;
			len -= piece;
		}
	}
	while (n) {
		size_t left = 0, queued;
		int err;

		pthread_mutex_lock(&s->cq_lock);
		req.pending = (unsigned)n;
		pthread_mutex_unlock(&s->cq_lock);
		queued = submit_pieces(s, media_fd, p, n, &err);
		if (queued < n) {
			/* Those never reached the SQ: they will not complete. */
			pthread_mutex_lock(&s->cq_lock);
			req.pending -= (unsigned)(n - queued);
			pthread_mutex_unlock(&s->cq_lock);
			for (size_t i = queued; i < n; i++)
				piece_failed(&p[i], err);
		}
		if (err && !ret)
			ret = err;
		/* Queued pieces point into p: wait for them even after a submit failure. */
		wait_req(s, &req);
		for (size_t i = 0; i < queued; i++) {
			if (p[i].res < 0) {
				piece_failed(&p[i], p[i].res);
			} else if (p[i].res == 0) {
				piece_failed(&p[i], -EIO);	/* the media ended */
			} else if ((uint32_t)p[i].res < p[i].len && !p[i].seg->res) {
				struct uring_piece q = p[i];

				q.host += (uint64_t)q.res;
				q.media_off += (uint64_t)q.res;
				q.len -= (uint32_t)q.res;
				p[left++] = q;
			}
		}
		n = left;
	}
	if (p != stack)
		free(p);
	return ret;
}

const struct pin_backend_ops pin_uring_ops = {
	.open = uring_open,
	.close = uring_close,
	.map = uring_map,
	.unmap = uring_unmap,
	.info = uring_info,
	.dma_rw = uring_dma_rw,
};
