/* The dax guard stage: watch the devdax device under the pins, stop device DMA when it goes,
 * fail the run. See session_guard.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "validate/dax_guard.h"
#include "vmm/session_guard.h"

struct session_guard {
	struct run_session *s;
	struct dax_guard *guard;
	bool armed;
	char why_off[160];		/* why the guard is off */
	char device[DAX_GUARD_NAME_BYTES];	/* "dax0.0" */
	char sources[160];
	uint64_t pins_live;		/* pinned pages when the guard was armed */
	uintptr_t ram_lo, ram_hi;	/* the backing's mapping: guest RAM */
	bool sigbus_installed;
	struct sigaction old_sigbus;
	/* Written by the guard thread and the SIGBUS handler (atomics): */
	uint64_t guard_ns;		/* the guard's event arrived (uevent read, sysfs poll) */
	uint64_t sigbus_ns;		/* first SIGBUS inside guest RAM */
	uint64_t sigbus_count;
	uint64_t sigbus_addr;		/* its address */
	int remapped;			/* guest RAM replaced by anonymous memory */
	uint64_t fence_ns;		/* device DMA stopped (0: none ran or not yet) */
	pthread_mutex_t lock;
	struct dax_guard_event ev;	/* the guard's event, under lock */
	uint64_t late_uevent_ns;	/* tripped by sysfs: when the uevent came after (0: never) */
	bool judged;
	double latency_ms;
	char source[16];
};

/* The SIGBUS handler's view (one run per process at a time). */
static struct session_guard *active;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void set_once(uint64_t *slot, uint64_t v)
{
	uint64_t zero = 0;

	if (v)
		__atomic_compare_exchange_n(slot, &zero, v, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* Stops device DMA (async-signal-safe: the guest's stop_dma is atomics only). */
static void stop_dma(struct session_guard *sg, uint64_t since_ns)
{
	struct run_session *s = sg->s;

	if (s->guest_ops->stop_dma && s->guest)
		set_once(&sg->fence_ns, s->guest_ops->stop_dma(s->guest, since_ns));
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	struct session_guard *sg = __atomic_load_n(&active, __ATOMIC_ACQUIRE);
	uintptr_t a = (uintptr_t)si->si_addr;

	if (sg && a >= sg->ram_lo && a < sg->ram_hi) {
		uint64_t now = mono_ns();
		int zero = 0;

		set_once(&sg->sigbus_ns, now);
		set_once(&sg->sigbus_addr, a);
		__atomic_fetch_add(&sg->sigbus_count, 1, __ATOMIC_RELAXED);
		stop_dma(sg, now);
		/* The device's pages are gone: let the thread finish on anonymous memory. Others
		 * faulting meanwhile return and fault again until the mapping is replaced. */
		if (__atomic_compare_exchange_n(&sg->remapped, &zero, 1, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE) &&
		    mmap((void *)sg->ram_lo, sg->ram_hi - sg->ram_lo, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
			signal(SIGBUS, SIG_DFL);	/* cannot recover: die as before */
		}
		return;
	}
	/* Not guest RAM: what would have happened without us. */
	if (sg && (sg->old_sigbus.sa_flags & SA_SIGINFO) && sg->old_sigbus.sa_sigaction) {
		sg->old_sigbus.sa_sigaction(sig, si, uc);
		return;
	}
	if (sg && sg->old_sigbus.sa_handler != SIG_DFL && sg->old_sigbus.sa_handler != SIG_IGN &&
	    sg->old_sigbus.sa_handler) {
		sg->old_sigbus.sa_handler(sig);
		return;
	}
	signal(SIGBUS, SIG_DFL);
	if (si->si_code <= 0)
		raise(SIGBUS);	/* sent, not a fault: deliver it again with the default action */
	/* a fault: returning re-runs the access, which now kills the process */
}

static void on_guard_event(const struct dax_guard_event *ev, void *opaque)
{
	struct session_guard *sg = opaque;

	stop_dma(sg, ev->arrival_ns);	/* first: nothing else matters as much */
	pthread_mutex_lock(&sg->lock);
	sg->ev = *ev;
	pthread_mutex_unlock(&sg->lock);
	__atomic_store_n(&sg->guard_ns, ev->arrival_ns, __ATOMIC_RELEASE);
}

int session_guard_setup(struct run_session *s, struct err *e)
{
	struct session_guard *sg = calloc(1, sizeof(*sg));
	struct dax_guard_config gc = { .uevent_fd = -1, .fn = on_guard_event };
	struct sigaction sa;
	int ret;

	if (!sg)
		return err_set(e, -ENOMEM, "out of memory for the dax guard");
	sg->s = s;
	pthread_mutex_init(&sg->lock, NULL);
	s->guard = sg;
	if (s->backing.kind != BACKING_DEVDAX) {
		snprintf(sg->why_off, sizeof(sg->why_off), "guest RAM is on %s, not on a devdax device",
			 backing_kind_name(s->backing.kind));
		return 0;
	}
	if (!s->pins) {
		snprintf(sg->why_off, sizeof(sg->why_off), "guest RAM is not pinned");
		return 0;
	}
	sg->pins_live = pin_container_pinned_pages(s->pins);
	sg->ram_lo = (uintptr_t)s->backing.host;
	sg->ram_hi = sg->ram_lo + s->backing.size;
	gc.device = s->backing.path;
	gc.opaque = sg;
	ret = dax_guard_start(&gc, &sg->guard, e);
	if (ret)
		return ret;
	snprintf(sg->device, sizeof(sg->device), "%.63s",
		 strrchr(s->backing.path, '/') ? strrchr(s->backing.path, '/') + 1 : s->backing.path);
	snprintf(sg->sources, sizeof(sg->sources), "%s, SIGBUS on guest RAM", dax_guard_sources(sg->guard));
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	__atomic_store_n(&active, sg, __ATOMIC_RELEASE);
	if (sigaction(SIGBUS, &sa, &sg->old_sigbus) == 0)
		sg->sigbus_installed = true;
	else
		snprintf(sg->sources, sizeof(sg->sources), "%s", dax_guard_sources(sg->guard));
	sg->armed = true;
	return 0;
}

void session_guard_undo(struct run_session *s)
{
	struct session_guard *sg = s->guard;

	if (!sg)
		return;
	if (sg->guard) {
		struct dax_guard_event late;

		if (dax_guard_late_uevent(sg->guard, &late))
			sg->late_uevent_ns = late.arrival_ns;
	}
	dax_guard_stop(sg->guard);	/* joins: no callback after this */
	sg->guard = NULL;
	/* The handler stays until guest RAM is unmapped would be ideal; the stages after this
	 * one's undo (devices, pinning) touch guest RAM only through the kernel (unmap, unpin). */
	if (sg->sigbus_installed)
		sigaction(SIGBUS, &sg->old_sigbus, NULL);
	sg->sigbus_installed = false;
	__atomic_store_n(&active, NULL, __ATOMIC_RELEASE);
}

bool session_guard_tripped(const struct run_session *s)
{
	const struct session_guard *sg = s->guard;

	return sg && (__atomic_load_n(&sg->guard_ns, __ATOMIC_ACQUIRE) ||
		      __atomic_load_n(&sg->sigbus_ns, __ATOMIC_ACQUIRE));
}

/* 65536 -> "65,536" */
static void thousands(uint64_t v, char *out, size_t len)
{
	char raw[32];
	size_t n, o = 0;

	snprintf(raw, sizeof(raw), "%llu", (unsigned long long)v);
	n = strlen(raw);
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = raw[i];
	}
	out[o] = '\0';
}

void session_guard_judge(struct run_session *s)
{
	struct session_guard *sg = s->guard;
	char pins[32], what[224], dma[160], first[64], prev[SESSION_REASON_BYTES];
	uint64_t gns, bns, event_ns, fence_ns, after = 0;
	bool have_after = false;

	if (!sg || !sg->armed || sg->judged)
		return;
	/* A vCPU that failed on devdax, or a SIGBUS in guest RAM, before the uevent: the
	 * kernel tears the mapping down before it announces the unbind, so give the guard a
	 * second to say whether the device went. */
	if (!__atomic_load_n(&sg->guard_ns, __ATOMIC_ACQUIRE) &&
	    (__atomic_load_n(&sg->sigbus_ns, __ATOMIC_ACQUIRE) ||
	     (s->found.live[0] && strcmp(s->found.live, "interrupted")))) {
		for (int i = 0; i < 100 && !__atomic_load_n(&sg->guard_ns, __ATOMIC_ACQUIRE); i++)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	gns = __atomic_load_n(&sg->guard_ns, __ATOMIC_ACQUIRE);
	bns = __atomic_load_n(&sg->sigbus_ns, __ATOMIC_ACQUIRE);
	if (!gns && !bns)
		return;
	sg->judged = true;
	event_ns = gns && (!bns || gns <= bns) ? gns : bns;
	fence_ns = __atomic_load_n(&sg->fence_ns, __ATOMIC_ACQUIRE);
	sg->latency_ms = fence_ns > event_ns ? (double)(fence_ns - event_ns) / 1e6 : 0.0;
	pthread_mutex_lock(&sg->lock);
	if (gns)
		snprintf(what, sizeof(what), "%s", sg->ev.what);
	else
		snprintf(what, sizeof(what), "its memory vanished from guest RAM (SIGBUS at host address 0x%llx)",
			 (unsigned long long)__atomic_load_n(&sg->sigbus_addr, __ATOMIC_ACQUIRE));
	snprintf(sg->source, sizeof(sg->source), "%s",
		 event_ns == gns ? dax_guard_source_name(sg->ev.source) : "sigbus");
	pthread_mutex_unlock(&sg->lock);
	if (s->report)
		have_after = report_get_u64(s->report, "dma.transfers_after_fence", &after);
	thousands(sg->pins_live, pins, sizeof(pins));
	/* The first sign may be a SIGBUS before the guard's own event: say which it was. */
	if (event_ns == gns)
		snprintf(first, sizeof(first), "the event");
	else if (gns)
		snprintf(first, sizeof(first), "the first sign, a SIGBUS on guest RAM %.1f ms earlier",
			 (double)(gns - bns) / 1e6);
	else
		snprintf(first, sizeof(first), "the first sign, a SIGBUS on guest RAM");
	if (!fence_ns)
		snprintf(dma, sizeof(dma), "no device DMA was running to stop");
	else if (have_after)
		snprintf(dma, sizeof(dma), "device DMA stopped %.3f ms after %s (%llu transfers after it)",
			 sg->latency_ms, first, (unsigned long long)after);
	else
		snprintf(dma, sizeof(dma), "device DMA stopped %.3f ms after %s", sg->latency_ms, first);
	snprintf(prev, sizeof(prev), "%s", s->found.live);
	snprintf(s->found.live, sizeof(s->found.live),
		 "hazard: %.40s went away under live pins: %.100s, while %.31s pages were pinned; %.140s%s%.100s%s",
		 s->backing.path, what, pins, dma, prev[0] ? " (then: " : "", prev, prev[0] ? ")" : "");
}

int session_guard_collect(struct run_session *s, struct report *r)
{
	struct session_guard *sg = s->guard;
	uint64_t after = 0;
	int ret = 0;

	if (!sg)
		return 0;
	if (!sg->armed) {
		ret |= report_set_str(r, "dax_guard.state", "off");
		ret |= report_set_str(r, "dax_guard.why", sg->why_off);
		return ret ? -EINVAL : 0;
	}
	ret |= report_set_str(r, "dax_guard.state", sg->judged ? "tripped" : "armed");
	ret |= report_set_str(r, "dax_guard.device", sg->device);
	ret |= report_set_str(r, "dax_guard.sources", sg->sources);
	ret |= report_set_u64(r, "dax_guard.pins_live", sg->pins_live);
	ret |= report_set_u64(r, "dax_guard.sigbus_faults", __atomic_load_n(&sg->sigbus_count, __ATOMIC_ACQUIRE));
	if (!sg->judged)
		return ret ? -EINVAL : 0;
	pthread_mutex_lock(&sg->lock);
	ret |= report_set_str(r, "dax_guard.event", sg->guard_ns ? sg->ev.what : "SIGBUS on guest RAM");
	if (sg->guard_ns && sg->ev.seqnum)
		ret |= report_set_u64(r, "dax_guard.uevent_seqnum", sg->ev.seqnum);
	pthread_mutex_unlock(&sg->lock);
	ret |= report_set_str(r, "dax_guard.source", sg->source);
	ret |= report_set_double(r, "dax_guard.latency_ms", sg->latency_ms);
	ret |= report_set_bool(r, "dax_guard.dma_stopped", sg->fence_ns != 0);
	if (sg->sigbus_ns && sg->guard_ns)
		ret |= report_set_double(r, "dax_guard.event_after_sigbus_ms",
					 ((double)sg->guard_ns - (double)sg->sigbus_ns) / 1e6);
	if (sg->late_uevent_ns && sg->guard_ns)
		ret |= report_set_double(r, "dax_guard.uevent_after_event_ms",
					 ((double)sg->late_uevent_ns - (double)sg->guard_ns) / 1e6);
	if (report_get_u64(r, "dma.transfers_after_fence", &after))
		ret |= report_set_u64(r, "dax_guard.dma_after_event", after);
	return ret ? -EINVAL : 0;
}

void session_guard_free(struct run_session *s)
{
	struct session_guard *sg = s->guard;

	if (!sg)
		return;
	session_guard_undo(s);	/* idempotent: when setup failed half-way */
	pthread_mutex_destroy(&sg->lock);
	free(sg);
	s->guard = NULL;
}
