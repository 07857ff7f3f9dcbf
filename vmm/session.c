/* The stages of one 'daxvm run', in start-up order, and the teardown in reverse. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/size.h"
#include "vmm/guest_params.h"
#include "vmm/session.h"

#define SESSION_POLL_NS (10ULL * 1000 * 1000)	/* run-loop tick */
#define SESSION_SEED 0x5eed0fda7a5eedULL

static void session_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };

	nanosleep(&ts, NULL);	/* EINTR (SIGINT) just ends the tick early */
}

void session_fail(struct run_session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return;
	s->failed = true;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

int session_open_kvm(struct run_session *s, struct err *e)
{
	int ret = vm_open(&s->vm, e);

	if (ret)
		return ret;
	s->vm_open = true;
	if (s->opt->cpus > s->vm.max_vcpus)
		return err_set(e, -EINVAL, "--cpus %u is above this KVM's limit of %u vCPUs (KVM_CAP_MAX_VCPUS): use fewer --cpus",
			       s->opt->cpus, s->vm.max_vcpus);
	return 0;
}

int session_open_backing(struct run_session *s, struct err *e)
{
	struct backing_request req = {
		.spec = s->opt->mem,
		.size = s->opt->mem_size,
		/* The hugetlb pool is global state: changed only when asked, and given back. */
		.may_grow_pool = s->opt->grow_pool,
	};
	int ret;

	s->t.map_start_ns = ctl_now_ns();
	ret = backing_open(&req, &s->backing, e);
	if (ret)
		return ret;
	s->backing_open = true;
	return 0;
}

int session_map_guest_mem(struct run_session *s, struct err *e)
{
	uint64_t ram = s->opt->mem_size ? s->opt->mem_size : s->backing.size;
	int ret;

	ret = guest_mem_plan(ram, s->backing.align, &s->mem, e);
	if (!ret)
		ret = guest_mem_attach(&s->mem, &s->backing, e);
	if (!ret)
		ret = guest_mem_register(&s->mem, s->vm.vm_fd, e);
	if (ret)
		return ret;
	s->params = guest_mem_gpa_to_host(&s->mem, GUEST_PARAMS_GPA, sizeof(*s->params));
	s->t.map_end_ns = ctl_now_ns();
	return 0;
}

int session_visit_pin_regions(void *guest_mem, pin_region_fn fn, void *data)
{
	const struct guest_mem *gm = guest_mem;

	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct guest_mem_region *r = &gm->regions[i];
		struct pin_region pr = { .gpa = r->gpa, .host = r->host, .size = r->size,
					 .page_size = r->page_size };
		int ret = fn(&pr, data);

		if (ret)
			return ret;
	}
	return 0;
}

int session_create_devices(struct run_session *s, struct err *e)
{
	int ret;

	if (s->opt->console_path) {
		s->console = fopen(s->opt->console_path, "we");
		if (!s->console)
			return err_set(e, -errno, "cannot create the console file %s: %s: give a writable --console path",
				       s->opt->console_path, strerror(errno));
		s->console_owned = true;
	} else {
		s->console = stdout;
	}
	ret = bus_create(&s->bus);
	if (ret)
		return err_set(e, ret, "out of memory creating the I/O bus: free some memory");
	ret = serial_create(&s->serial, s->console, e);
	if (!ret)
		ret = serial_attach(s->serial, s->bus, e);
	if (!ret)
		ret = ctl_create(&s->ctl, s->opt->cpus, s->serial, e);
	if (!ret)
		ret = ctl_attach(s->ctl, s->bus, e);
	if (!ret)
		ret = session_dma_create(s, e);
	if (ret)
		return ret;
	s->shared.bus = s->bus;
	s->shared.ctl = s->ctl;
	return 0;
}

int session_create_vcpus(struct run_session *s, struct err *e)
{
	for (unsigned i = 0; i < s->opt->cpus; i++) {
		int ret = vcpu_create(&s->vcpus[i], &s->vm, i, &s->shared, e);

		if (ret)
			return ret;
		s->nr_vcpus++;
	}
	return 0;
}

static bool session_all_ready(struct run_session *s)
{
	uint64_t first = 0, last = 0;

	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		struct ctl_cpu_state st;

		ctl_snapshot(s->ctl, i, &st);
		if (!st.ready)
			return false;
		if (!first || st.ready_ns < first)
			first = st.ready_ns;
		if (st.ready_ns > last)
			last = st.ready_ns;
	}
	s->t.first_ready_ns = first;
	s->t.all_ready_ns = last;
	return true;
}

/* Checks how vCPU threads ended; a vCPU that ended before the stop flag, or in any way
 * other than CTL_DONE, fails the run. Returns true when all have ended. */
static bool session_check_vcpus(struct run_session *s)
{
	unsigned ended = 0;

	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		struct vcpu *v = &s->vcpus[i];
		enum vcpu_end end = atomic_load(&v->end);
		struct ctl_cpu_state st;

		if (end == VCPU_RUNNING)
			continue;
		ended++;
		switch (end) {
		case VCPU_END_EXCEPTION:
			ctl_snapshot(s->ctl, i, &st);
			session_fail(s, "guest exception on vCPU %u: vector %" PRIu64 " (%s), error code 0x%" PRIx64 ", RIP 0x%" PRIx64 ", CR2 0x%" PRIx64,
				     i, st.exc_vector, x86_exception_name(st.exc_vector), st.exc_error,
				     st.exc_rip, st.exc_cr2);
			break;
		case VCPU_END_SHUTDOWN:
			session_fail(s, "guest %s on vCPU %u", v->why, i);
			break;
		case VCPU_END_ERROR:
			session_fail(s, "vCPU %u: %s", i, v->why);
			break;
		default:
			break;
		}
	}
	return ended == s->nr_vcpus;
}

static void session_stop_vcpus(struct run_session *s)
{
	atomic_store(&s->shared.stop, true);
	for (unsigned i = 0; i < s->nr_vcpus; i++)
		vcpu_kick(&s->vcpus[i]);
	for (unsigned i = 0; i < s->nr_vcpus; i++)
		vcpu_join(&s->vcpus[i]);
}

int session_boot(struct run_session *s, struct err *e)
{
	struct guest_params p;
	bool broken_idt = s->opt->guest_flags & GUEST_F_TRIPLE_FAULT;
	uint64_t deadline;
	int ret;

	s->t.boot_start_ns = ctl_now_ns();
	ret = x86_boot_prepare(&s->mem, s->nr_vcpus, &s->boot, e);
	if (!ret)
		ret = guest_params_layout(&s->mem, s->nr_vcpus, s->opt->guest_flags, SESSION_SEED,
					  session_dma_reserve_bytes(s), s->opt->work_bytes, &p, e);
	if (!ret)
		ret = session_dma_layout(s, &p, e);
	if (ret)
		return ret;
	memcpy(s->params, &p, sizeof(p));
	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		ret = x86_boot_vcpu(&s->vm, s->vcpus[i].fd, i, &s->boot, broken_idt, e);
		if (ret)
			return ret;
	}
	ret = session_dma_start(s, e);
	if (ret)
		return ret;
	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		ret = vcpu_start(&s->vcpus[i], e);
		if (ret)
			return ret;
	}
	deadline = ctl_now_ns() + (uint64_t)(s->opt->hang_s * 1e9);
	while (!session_all_ready(s)) {
		if (*s->interrupted) {
			session_fail(s, "interrupted");
			break;
		}
		if (session_check_vcpus(s) || s->failed)
			break;
		if (ctl_now_ns() > deadline) {
			session_fail(s, "the guest did not start: not every vCPU reported CTL_READY within %.1f s",
				     s->opt->hang_s);
			break;
		}
		session_sleep_ns(100 * 1000);
	}
	return 0;
}

static uint64_t session_verified_bytes(struct run_session *s)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		struct ctl_cpu_state st;

		ctl_snapshot(s->ctl, i, &st);
		sum += st.progress_bytes;
	}
	return sum;
}

static void session_progress_line(struct run_session *s, uint64_t now)
{
	double secs = (double)(now - s->t.all_ready_ns) / 1e9;
	uint64_t bytes = session_verified_bytes(s);
	char a[32], b[32], c[32] = "";

	if (s->dma) {
		struct dma_stats st;

		dma_engine_get_stats(s->dma, &st);
		snprintf(c, sizeof(c), ", %" PRIu64 " DMAs", st.transfers);
	}
	fprintf(stdout, "\r  %5.1f s / %.1f s  verified %s  (%s/s)%s   ", secs, s->opt->duration_s,
		size_format(bytes, a, sizeof(a)),
		size_format(secs > 0 ? (uint64_t)((double)bytes / secs) : 0, b, sizeof(b)), c);
	fflush(stdout);
	s->progress_line = true;
}

void session_run(struct run_session *s)
{
	uint64_t duration_ns = (uint64_t)(s->opt->duration_s * 1e9);
	uint64_t hang_ns = (uint64_t)(s->opt->hang_s * 1e9);
	bool live = isatty(STDOUT_FILENO) && !s->opt->console_path && s->opt->duration_s > 1.0;
	uint64_t last_line = 0;

	while (!s->failed) {
		uint64_t now = ctl_now_ns();

		if (*s->interrupted) {
			session_fail(s, "interrupted");
			break;
		}
		if (session_check_vcpus(s))
			break;
		if (!s->t.stop_ns && now - s->t.all_ready_ns >= duration_ns) {
			__atomic_store_n(&s->params->stop, 1, __ATOMIC_SEQ_CST);
			s->t.stop_ns = now;
		}
		for (unsigned i = 0; i < s->nr_vcpus && !s->failed; i++) {
			struct ctl_cpu_state st;

			if (atomic_load(&s->vcpus[i].end) != VCPU_RUNNING)
				continue;
			ctl_snapshot(s->ctl, i, &st);
			if (now > st.last_seen_ns && now - st.last_seen_ns > hang_ns)
				session_fail(s, "vCPU %u hung: no report from the guest for %.1f s (after %" PRIu64 " bytes verified)",
					     i, (double)(now - st.last_seen_ns) / 1e9, st.progress_bytes);
		}
		/* The first line waits half a second, after the guest's banner on the console. */
		if (live && now - s->t.all_ready_ns > 500ULL * 1000 * 1000 &&
		    now - last_line > 250ULL * 1000 * 1000) {
			session_progress_line(s, now);
			last_line = now;
		}
		session_sleep_ns(SESSION_POLL_NS);
	}
	if (!s->t.stop_ns)
		s->t.stop_ns = ctl_now_ns();
	session_stop_vcpus(s);
	session_check_vcpus(s);
	s->t.run_end_ns = ctl_now_ns();
	if (s->progress_line) {
		fprintf(stdout, "\r%*s\r", 72, "");
		fflush(stdout);
	}
}

void session_close(struct run_session *s)
{
	if (s->nr_vcpus)
		session_stop_vcpus(s);
	for (unsigned i = s->nr_vcpus; i > 0; i--)
		vcpu_destroy(&s->vcpus[i - 1]);
	s->nr_vcpus = 0;
	session_stop_dma(s);
	dma_engine_destroy(s->dma);	/* before the bus and the pins it uses */
	s->dma = NULL;
	ctl_destroy(s->ctl);
	s->ctl = NULL;
	serial_destroy(s->serial);
	s->serial = NULL;
	bus_destroy(s->bus);
	s->bus = NULL;
	if (s->console_owned)
		fclose(s->console);
	else if (s->console)
		fflush(s->console);
	s->console = NULL;
	s->console_owned = false;
	session_unpin(s);
	validate_free(s->validator);
	s->validator = NULL;
	/* KVM memslots go with the VM fd; close it before unmapping the RAM they point at. */
	if (s->vm_open)
		vm_close(&s->vm);
	s->vm_open = false;
	if (s->backing_open)
		backing_close(&s->backing);
	s->backing_open = false;
}
