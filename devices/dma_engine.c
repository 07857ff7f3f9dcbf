/* DMA engine lifecycle: media, rings and guest layout, doorbells (KVM ioeventfd or the bus),
 * registers, queue threads, stop-and-drain, and the report. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/dma_internal.h"

#define SZ_2M (2ULL << 20)
#define SZ_4M (4ULL << 20)
#define SZ_1G (1ULL << 30)

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static void ring_doorbell(struct dma_engine *dma, unsigned r)
{
	uint64_t one = 1;

	if (r < dma->nr_rings && dma->rings[r].kick_fd >= 0 &&
	    write(dma->rings[r].kick_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, a wake-up is pending anyway. */
	}
}

void dma_engine_kick(struct dma_engine *dma, unsigned ring)
{
	ring_doorbell(dma, ring);
}

/* MMIO registers; runs on vCPU threads (doorbells land here only without ioeventfd). */
static int dma_mmio(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len,
		    bool is_write)
{
	struct dma_engine *dma = opaque;
	uint64_t off = addr - GUEST_MMIO_DMA_GPA;
	unsigned r = (unsigned)(off / DMA_REG_STRIDE);
	uint64_t reg = off % DMA_REG_STRIDE, val = 0;

	if (len > 8)
		len = 8;
	if (is_write) {
		memcpy(&val, data, len);
		if (r >= dma->nr_rings)
			return 0;	/* like unbacked device space: writes are dropped */
		if (reg == DMA_REG_DOORBELL) {
			ring_doorbell(dma, r);
		} else if (reg == DMA_REG_VERIFY_FAIL) {
			pthread_mutex_lock(&dma->lock);
			dma->guest_verify_failures++;
			if (!dma->first_failure_gpa)
				dma->first_failure_gpa = val;
			pthread_mutex_unlock(&dma->lock);
		}
		return 0;
	}
	if (r < dma->nr_rings) {
		switch (reg) {
		case DMA_REG_ID:
			val = DMA_ID_VALUE;
			break;
		case DMA_REG_ALIGN:
			val = dma->media.align;
			break;
		case DMA_REG_FAULTS:
			val = __atomic_load_n(&dma->rings[r].faults, __ATOMIC_RELAXED);
			break;
		case DMA_REG_MAX_LEN:
			val = DMA_MAX_DESC_LEN;
			break;
		default:
			break;
		}
	}
	memcpy(data, &val, len);
	return 0;
}

int dma_engine_create(const struct dma_config *cfg, struct pin_container *pins, struct bus *bus,
		      struct dma_engine **out, struct err *e)
{
	struct dma_engine *dma;
	uint64_t scratch, per_queue;
	int ret;

	*out = NULL;
	if (cfg->nr_queues > DMA_MAX_QUEUES)
		return err_set(e, -EINVAL, "%u DMA queues asked, at most %u are supported: ask for fewer",
			       cfg->nr_queues, DMA_MAX_QUEUES);
	if (cfg->fault_permille > 1000)
		return err_set(e, -EINVAL, "DMA fault share %u per mille is above 1000", cfg->fault_permille);
	if (pin_container_backend(pins) == PIN_NONE)
		return err_set(e, -EINVAL, "the DMA engine needs pinned guest RAM but pinning is off: choose a pinning backend");
	dma = calloc(1, sizeof(*dma));
	if (!dma)
		return err_set(e, -ENOMEM, "out of memory for the DMA engine");
	dma->cfg = *cfg;
	dma->pins = pins;
	dma->bus = bus;
	dma->nr_queues = cfg->nr_queues ? cfg->nr_queues : 1;
	dma->ring_entries = cfg->ring_entries ? cfg->ring_entries : DMA_DEFAULT_RING_ENTRIES;
	pthread_mutex_init(&dma->lock, NULL);
	for (unsigned q = 0; q < DMA_MAX_QUEUES; q++)
		dma->queues[q].wake_fd = -1;
	for (unsigned r = 0; r < DMA_MAX_RINGS; r++)
		dma->rings[r].kick_fd = -1;
	ret = dma_media_open(&dma->media, cfg->media_path, cfg->media_bytes, e);
	if (ret) {
		dma->media.fd = dma->media.check_fd = -1;
		goto fail;
	}
	ret = dma_media_fill(&dma->media, e);
	if (ret)
		goto fail;
	scratch = dma->media.bytes - dma_media_scratch_off(dma->media.bytes);
	per_queue = scratch / dma->nr_queues;
	per_queue = per_queue > DMA_QUEUE_BUF ? DMA_QUEUE_BUF : per_queue & ~4095ULL;
	for (unsigned q = 0; q < dma->nr_queues; q++) {
		struct dma_queue *dq = &dma->queues[q];

		dq->dma = dma;
		dq->index = q;
		dq->scratch_off = dma_media_scratch_off(dma->media.bytes) + q * per_queue;
		dq->scratch_bytes = per_queue;
		dq->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		dq->bounce = aligned_alloc(4096, DMA_QUEUE_BUF);
		if (dq->wake_fd < 0 || !dq->bounce) {
			ret = err_set(e, -ENOMEM, "cannot set up DMA queue %u (eventfd or buffer): %s", q,
				      strerror(errno));
			goto fail;
		}
	}
	/* Last: the bus has no unregister, so nothing may fail after this. */
	if (bus) {
		ret = bus_register(bus, BUS_MMIO, GUEST_MMIO_DMA_GPA, GUEST_MMIO_DMA_SIZE, dma_mmio, dma,
				   "dma", e);
		if (ret)
			goto fail;
	}
	*out = dma;
	return 0;
fail:
	dma_engine_destroy(dma);
	return ret;
}

int dma_engine_set_rings(struct dma_engine *dma, unsigned nr_rings, const uint64_t *ring_iova,
			 uint32_t entries, struct err *e)
{
	if (dma->started)
		return err_set(e, -EBUSY, "DMA rings must be set before the engine starts");
	if (!nr_rings || nr_rings > DMA_MAX_RINGS)
		return err_set(e, -EINVAL, "%u DMA rings asked: between 1 and %u are supported", nr_rings,
			       DMA_MAX_RINGS);
	if (!entries || entries > 4096)
		return err_set(e, -EINVAL, "%u descriptors per DMA ring: between 1 and 4096 are supported",
			       entries);
	for (unsigned r = 0; r < nr_rings; r++) {
		if (ring_iova[r] % 64)
			return err_set(e, -EINVAL, "DMA ring %u at IOVA 0x%llx is not 64-byte aligned", r,
				       (unsigned long long)ring_iova[r]);
		if (dma->rings[r].kick_fd < 0)
			dma->rings[r].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (dma->rings[r].kick_fd < 0)
			return err_set(e, -errno, "eventfd for DMA ring %u failed: %s", r, strerror(errno));
		dma->rings[r].iova = ring_iova[r];
		dma->rings[r].cons = 0;
		dma->rings[r].armed = false;
	}
	dma->nr_rings = nr_rings;
	dma->ring_entries = entries;
	return 0;
}

uint64_t dma_engine_region_bytes(unsigned nr_cpus, uint64_t spare_bytes)
{
	uint64_t want = SZ_2M + (uint64_t)nr_cpus * DMA_AREA_MAX_BYTES;

	spare_bytes &= ~(SZ_2M - 1);
	return want < spare_bytes ? want : spare_bytes;
}

/* Areas of `area` bytes after `start`, the first centred on boundary b (0: none). */
static bool place_areas(uint64_t *gpa, unsigned nr, uint64_t start, uint64_t end, uint64_t area,
			uint64_t b)
{
	uint64_t cursor = start;

	for (unsigned c = 0; c < nr; c++) {
		if (c == 0 && b) {
			gpa[0] = b - area / 2;
			continue;
		}
		if (b && cursor < b + area / 2 && cursor + area > b - area / 2)
			cursor = b + area / 2;
		if (cursor + area > end)
			return false;
		gpa[c] = cursor;
		cursor += area;
	}
	return true;
}

int dma_engine_fill_guest_params(struct dma_engine *dma, struct guest_params *p,
				 uint64_t region_gpa, uint64_t region_bytes, struct err *e)
{
	unsigned nr = p->nr_cpus;
	uint64_t slot = round_up(dma_ring_bytes(dma->ring_entries), 4096);
	uint64_t rings_bytes = round_up(slot * nr, SZ_2M);
	uint64_t end = region_gpa + region_bytes, start = region_gpa + rings_bytes;
	uint64_t ring_gpa[DMA_MAX_RINGS], area_gpa[DMA_MAX_RINGS] = { 0 }, area = 0;
	bool placed = false;
	int ret;

	if (!nr || nr > DMA_MAX_RINGS)
		return err_set(e, -EINVAL, "%u vCPUs for the DMA stress: between 1 and %u are supported", nr,
			       DMA_MAX_RINGS);
	if (region_gpa % SZ_2M || region_bytes % SZ_2M)
		return err_set(e, -EINVAL, "the DMA region [0x%llx, +0x%llx) must be 2 MiB aligned",
			       (unsigned long long)region_gpa, (unsigned long long)region_bytes);
	if (!(end <= p->ram_low_bytes ||
	      (region_gpa >= GUEST_RAM_HIGH_BASE && end <= GUEST_RAM_HIGH_BASE + p->ram_high_bytes)))
		return err_set(e, -EINVAL, "the DMA region [0x%llx, 0x%llx) is not inside one bank of guest RAM",
			       (unsigned long long)region_gpa, (unsigned long long)end);
	/* Try a layout where vCPU 0's area straddles a 1 GiB IOVA boundary (the io_uring
	 * backend's 1 GiB buffer edge), first with as big areas as fit, then smaller. */
	for (unsigned slots = nr; slots <= nr + 1 && !placed; slots++) {
		uint64_t b;

		if (start >= end)
			break;
		area = ((end - start) / slots) & ~(SZ_4M - 1);
		if (area > DMA_AREA_MAX_BYTES)
			area = DMA_AREA_MAX_BYTES;
		if (area < DMA_AREA_MIN_BYTES)
			break;
		for (b = round_up(start + area / 2, SZ_1G); b + area / 2 <= end && !placed; b += SZ_1G)
			placed = place_areas(area_gpa, nr, start, end, area, b);
	}
	if (!placed && start < end) {
		area = ((end - start) / nr) & ~(SZ_4M - 1);
		if (area > DMA_AREA_MAX_BYTES)
			area = DMA_AREA_MAX_BYTES;
		if (area >= DMA_AREA_MIN_BYTES)
			placed = place_areas(area_gpa, nr, start, end, area, 0);
	}
	if (!placed)
		return err_set(e, -ENOSPC, "the DMA region of %llu MiB is too small for %u vCPUs: it needs %llu MiB (dma_engine_region_bytes)",
			       (unsigned long long)(region_bytes >> 20), nr,
			       (unsigned long long)((rings_bytes + nr * DMA_AREA_MIN_BYTES) >> 20));
	for (unsigned c = 0; c < nr; c++) {
		ring_gpa[c] = region_gpa + c * slot;
		p->dma_ring_gpa[c] = ring_gpa[c];
		p->dma_area_gpa[c] = area_gpa[c];
	}
	ret = dma_engine_set_rings(dma, nr, ring_gpa, dma->ring_entries, e);
	if (ret)
		return ret;
	p->dma_area_bytes = area;
	p->media_bytes = dma->media.bytes;
	p->dma_fault_permille = dma->cfg.fault_permille;
	p->dma_ring_entries = dma->ring_entries;
	p->flags |= GUEST_F_DMA;
	return 0;
}

/* Doorbells through KVM_IOEVENTFD (KVM_CAP_IOEVENTFD, Linux 2.6.32): the vCPU's MMIO write
 * signals the ring's eventfd inside the kernel, with no exit to user space. */
static void ioeventfd_setup(struct dma_engine *dma)
{
	int vm_fd = dma->cfg.vm_fd;
	unsigned r;

	if (vm_fd < 0) {
		snprintf(dma->ioeventfd_why, sizeof(dma->ioeventfd_why), "no VM fd given");
		return;
	}
	if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0) {
		snprintf(dma->ioeventfd_why, sizeof(dma->ioeventfd_why), "KVM lacks KVM_CAP_IOEVENTFD");
		return;
	}
	for (r = 0; r < dma->nr_rings; r++) {
		struct kvm_ioeventfd io = {
			.addr = GUEST_MMIO_DMA_GPA + r * DMA_REG_STRIDE + DMA_REG_DOORBELL,
			.len = 8,
			.fd = dma->rings[r].kick_fd,
		};

		if (ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0) {
			snprintf(dma->ioeventfd_why, sizeof(dma->ioeventfd_why), "KVM_IOEVENTFD failed: %s",
				 strerror(errno));
			break;
		}
		dma->rings[r].ioeventfd = true;
	}
	dma->ioeventfd = r == dma->nr_rings;
}

static void ioeventfd_teardown(struct dma_engine *dma)
{
	for (unsigned r = 0; r < dma->nr_rings; r++) {
		struct kvm_ioeventfd io = {
			.addr = GUEST_MMIO_DMA_GPA + r * DMA_REG_STRIDE + DMA_REG_DOORBELL,
			.len = 8,
			.fd = dma->rings[r].kick_fd,
			.flags = KVM_IOEVENTFD_FLAG_DEASSIGN,
		};

		if (dma->rings[r].ioeventfd && ioctl(dma->cfg.vm_fd, KVM_IOEVENTFD, &io) == 0)
			dma->rings[r].ioeventfd = false;
	}
	dma->ioeventfd = false;
}

int dma_engine_start(struct dma_engine *dma, struct err *e)
{
	if (dma->started)
		return err_set(e, -EBUSY, "the DMA engine is already started");
	if (!dma->nr_rings)
		return err_set(e, -EINVAL, "the DMA engine has no rings: call dma_engine_fill_guest_params first");
	ioeventfd_setup(dma);
	if (!dma->ioeventfd)
		ioeventfd_teardown(dma);	/* all rings one way: the bus */
	dma->start_ns = dma_now_ns();
	for (unsigned q = 0; q < dma->nr_queues; q++) {
		int ret = pthread_create(&dma->queues[q].thread, NULL, dma_queue_main, &dma->queues[q]);

		if (ret) {
			dma->started = true;
			dma_engine_stop_and_drain(dma);
			dma->started = false;
			return err_set(e, -ret, "cannot start DMA queue thread %u: %s", q, strerror(ret));
		}
		dma->queues[q].thread_started = true;
	}
	dma->started = true;
	return 0;
}

/* The guest's own count of bad descriptors, read through the pins like any ring access
 * (not once fenced: guest RAM may be gone). */
static uint64_t read_faults_injected(struct dma_engine *dma)
{
	uint64_t sum = 0;

	if (dma_fenced(dma))
		return 0;

	for (unsigned r = 0; r < dma->nr_rings; r++) {
		struct pin_translation t;
		struct dma_ring_header *h;

		if (pin_translate(dma->pins, dma->rings[r].iova, sizeof(*h), &t) < 0)
			continue;
		h = t.host;
		if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == DMA_RING_MAGIC)
			sum += __atomic_load_n(&h->faults_injected, __ATOMIC_ACQUIRE);
	}
	return sum;
}

void dma_engine_stop_and_drain(struct dma_engine *dma)
{
	uint64_t one = 1;

	if (!dma->started || dma->stopped)
		return;
	__atomic_store_n(&dma->stopping, true, __ATOMIC_RELEASE);
	for (unsigned q = 0; q < dma->nr_queues; q++) {
		if (!dma->queues[q].thread_started)
			continue;
		if (write(dma->queues[q].wake_fd, &one, sizeof(one)) < 0) {
			/* a pending wake-up is already there */
		}
		pthread_join(dma->queues[q].thread, NULL);
		dma->queues[q].thread_started = false;
	}
	dma->stop_ns = dma_now_ns();
	dma->faults_injected = read_faults_injected(dma);
	dma->stopped = true;
}

uint64_t dma_engine_fence(struct dma_engine *dma, uint64_t since_ns)
{
	uint64_t now = dma_now_ns();
	uint64_t zero = 0;

	if (!__atomic_compare_exchange_n(&dma->fence_ns, &zero, now, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return zero;	/* already fenced: its time */
	__atomic_store_n(&dma->fence_since_ns, since_ns ? since_ns : now, __ATOMIC_RELEASE);
	__atomic_store_n(&dma->fenced, true, __ATOMIC_RELEASE);
	return now;
}

bool dma_engine_fenced(const struct dma_engine *dma, uint64_t *fence_ns)
{
	bool f = dma_fenced(dma);

	if (fence_ns)
		*fence_ns = f ? __atomic_load_n(&dma->fence_ns, __ATOMIC_ACQUIRE) : 0;
	return f;
}

/* Moves (descriptors) whose data transfer started at or after the fence's event; after stop. */
static uint64_t moves_after_fence(const struct dma_engine *dma, bool *saturated)
{
	uint64_t since = __atomic_load_n(&dma->fence_since_ns, __ATOMIC_ACQUIRE), n = 0;

	*saturated = false;
	if (!dma_fenced(dma))
		return 0;
	for (unsigned q = 0; q < dma->nr_queues; q++) {
		const struct dma_queue *qu = &dma->queues[q];
		uint64_t logged = qu->moves_logged < DMA_MOVE_LOG ? qu->moves_logged : DMA_MOVE_LOG;
		uint64_t seen = 0;

		for (uint64_t i = 0; i < logged; i++) {
			if (qu->move_log[i].start_ns >= since) {
				n += qu->move_log[i].n;
				seen++;
			}
		}
		if (seen && seen == DMA_MOVE_LOG)
			*saturated = true;	/* the log holds only later moves: at least n */
	}
	return n;
}

void dma_engine_get_stats(struct dma_engine *dma, struct dma_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned q = 0; q < dma->nr_queues; q++) {
		const struct dma_stats *qs = &dma->queues[q].stats;

#define SUM(f) s->f += __atomic_load_n(&qs->f, __ATOMIC_RELAXED)
		SUM(transfers); SUM(bytes); SUM(iommu_faults); SUM(ring_faults); SUM(bad_ops);
		SUM(bad_lens); SUM(media_range); SUM(media_errors); SUM(host_verify_failures);
		SUM(doorbells); SUM(ring_errors); SUM(batches);
#undef SUM
	}
	pthread_mutex_lock(&dma->lock);
	s->guest_verify_failures = dma->guest_verify_failures;
	s->first_failure_gpa = dma->first_failure_gpa;
	pthread_mutex_unlock(&dma->lock);
	if (dma->started)
		s->busy_ns = (dma->stopped ? dma->stop_ns : dma_now_ns()) - dma->start_ns;
}

int dma_engine_media_fd(const struct dma_engine *dma) { return dma->media.fd; }
uint64_t dma_engine_media_bytes(const struct dma_engine *dma) { return dma->media.bytes; }
uint64_t dma_engine_media_align(const struct dma_engine *dma) { return dma->media.align; }
bool dma_engine_uses_ioeventfd(const struct dma_engine *dma) { return dma->ioeventfd; }

int dma_engine_fill_report(struct dma_engine *dma, struct report *r)
{
	struct dma_stats s;
	uint64_t injected = dma->stopped ? dma->faults_injected : read_faults_injected(dma);
	int ret = 0;

	dma_engine_get_stats(dma, &s);
	ret |= report_set_u64(r, "dma.transfers", s.transfers);
	ret |= report_set_u64(r, "dma.bytes", s.bytes);
	ret |= report_set_u64(r, "dma.verify_failures", s.host_verify_failures + s.guest_verify_failures);
	ret |= report_set_u64(r, "dma.host_verify_failures", s.host_verify_failures);
	ret |= report_set_u64(r, "dma.guest_verify_failures", s.guest_verify_failures);
	ret |= report_set_u64(r, "dma.first_failure_gpa", s.first_failure_gpa);
	ret |= report_set_u64(r, "dma.iommu_faults", s.iommu_faults);
	ret |= report_set_u64(r, "dma.ring_faults", s.ring_faults);
	ret |= report_set_u64(r, "dma.faults_injected", injected);
	ret |= report_set_double(r, "dma.gib_per_s",
				 s.busy_ns ? (double)s.bytes / (double)(1ULL << 30) / ((double)s.busy_ns / 1e9) : 0.0);
	ret |= report_set_u64(r, "dma.queues", dma->nr_queues);
	ret |= report_set_u64(r, "dma.rings", dma->nr_rings);
	ret |= report_set_str(r, "dma.media", dma->media.name);
	ret |= report_set_u64(r, "dma.media_bytes", dma->media.bytes);
	ret |= report_set_u64(r, "dma.bad_ops", s.bad_ops);
	ret |= report_set_u64(r, "dma.bad_lens", s.bad_lens);
	ret |= report_set_u64(r, "dma.media_range_errors", s.media_range);
	ret |= report_set_u64(r, "dma.media_errors", s.media_errors);
	ret |= report_set_u64(r, "dma.doorbells", s.doorbells);
	ret |= report_set_u64(r, "dma.batches", s.batches);
	ret |= report_set_u64(r, "dma.ring_errors", s.ring_errors);
	ret |= report_set_bool(r, "dma.ioeventfd", dma->ioeventfd);
	ret |= report_set_bool(r, "dma.fenced", dma_fenced(dma));
	ret |= report_set_bool(r, "dma.seccomp", dma->cfg.seccomp && !dma->filter_error);
	if (dma_fenced(dma) && dma->stopped) {
		bool sat;
		uint64_t after = moves_after_fence(dma, &sat);

		ret |= report_set_u64(r, "dma.transfers_after_fence", after);
		if (sat)
			ret |= report_set_bool(r, "dma.transfers_after_fence_saturated", true);
	}
	if (!dma->ioeventfd && dma->ioeventfd_why[0])
		ret |= report_set_str(r, "dma.ioeventfd_why", dma->ioeventfd_why);
	return ret ? -ENOMEM : 0;
}

bool dma_engine_verdict_ok(struct dma_engine *dma, char *why, size_t why_len)
{
	struct dma_stats s;
	uint64_t injected = dma->stopped ? dma->faults_injected : read_faults_injected(dma);
	uint64_t vf;

	if (dma_fenced(dma)) {
		snprintf(why, why_len, "the DMA engine was fenced: device DMA was stopped during the run");
		return false;
	}
	if (__atomic_load_n(&dma->filter_error, __ATOMIC_ACQUIRE)) {
		snprintf(why, why_len, "a DMA queue thread could not install its system call filter (%s): it served nothing",
			 strerror(-__atomic_load_n(&dma->filter_error, __ATOMIC_ACQUIRE)));
		return false;
	}
	dma_engine_get_stats(dma, &s);
	vf = s.host_verify_failures + s.guest_verify_failures;
	if (vf) {
		snprintf(why, why_len, "%llu DMA verify failures, the first at guest address 0x%llx",
			 (unsigned long long)vf, (unsigned long long)s.first_failure_gpa);
		return false;
	}
	if (injected != s.iommu_faults) {
		snprintf(why, why_len, "the guest injected %llu bad DMA addresses but the device counted %llu IOMMU faults",
			 (unsigned long long)injected, (unsigned long long)s.iommu_faults);
		return false;
	}
	if (s.media_errors || s.bad_ops || s.bad_lens || s.media_range || s.ring_errors) {
		snprintf(why, why_len, "DMA errors: %llu media I/O, %llu bad op, %llu bad length, %llu media range, %llu ring",
			 (unsigned long long)s.media_errors, (unsigned long long)s.bad_ops,
			 (unsigned long long)s.bad_lens, (unsigned long long)s.media_range,
			 (unsigned long long)s.ring_errors);
		return false;
	}
	if (why_len)
		why[0] = '\0';
	return true;
}

void dma_engine_destroy(struct dma_engine *dma)
{
	if (!dma)
		return;
	dma_engine_stop_and_drain(dma);
	ioeventfd_teardown(dma);
	for (unsigned q = 0; q < DMA_MAX_QUEUES; q++) {
		if (dma->queues[q].wake_fd >= 0)
			close(dma->queues[q].wake_fd);
		free(dma->queues[q].bounce);
	}
	for (unsigned r = 0; r < DMA_MAX_RINGS; r++)
		if (dma->rings[r].kick_fd >= 0)
			close(dma->rings[r].kick_fd);
	dma_media_close(&dma->media);
	pthread_mutex_destroy(&dma->lock);
	free(dma);
}
