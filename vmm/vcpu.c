/* vCPU threads and their exit handling. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/thread_filter.h"
#include "vmm/vcpu.h"

/* The signal that kicks a vCPU thread out of KVM_RUN; its handler does nothing. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

const char *vcpu_end_name(enum vcpu_end end)
{
	switch (end) {
	case VCPU_RUNNING: return "running";
	case VCPU_END_DONE: return "done";
	case VCPU_END_EXCEPTION: return "exception";
	case VCPU_END_SHUTDOWN: return "triple fault";
	case VCPU_END_STOPPED: return "stopped";
	case VCPU_END_ERROR: return "error";
	}
	return "?";
}

int vcpu_create(struct vcpu *v, const struct vm *vm, unsigned index, struct vcpu_shared *shared,
		struct err *e)
{
	int code;

	memset(v, 0, sizeof(*v));
	v->index = index;
	v->shared = shared;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		code = -errno;
		v->fd = -1;
		return err_set(e, code, "KVM_CREATE_VCPU %u failed: %s: use fewer vCPUs", index,
			       strerror(-code));
	}
	v->run_bytes = vm->vcpu_mmap_bytes;
	v->run = mmap(NULL, v->run_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		code = -errno;
		v->run = NULL;
		close(v->fd);
		v->fd = -1;
		return err_set(e, code, "mapping vCPU %u's kvm_run failed: %s: free some memory", index,
			       strerror(-code));
	}
	return 0;
}

static void vcpu_fail(struct vcpu *v, enum vcpu_end end, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vcpu_fail(struct vcpu *v, enum vcpu_end end, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	atomic_store(&v->end, end);
}

static uint64_t vcpu_rip(struct vcpu *v)
{
	struct kvm_regs r;

	return ioctl(v->fd, KVM_GET_REGS, &r) == 0 ? r.rip : 0;
}

static const char *vcpu_exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "port I/O";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_SHUTDOWN: return "shutdown";
	case KVM_EXIT_INTR: return "signal";
	default: return "other";
	}
}

void vcpu_where(struct vcpu *v, double still_s, char *buf, size_t len)
{
	uint64_t exits = atomic_load_explicit(&v->exits, memory_order_relaxed);
	uint32_t reason = atomic_load_explicit(&v->last_exit, memory_order_relaxed);
	char last[96];

	if (!exits)
		snprintf(last, sizeof(last), "no exit yet");
	else if (reason == KVM_EXIT_MMIO || reason == KVM_EXIT_IO)
		snprintf(last, sizeof(last), "%s %s of 0x%" PRIx64, vcpu_exit_name(reason),
			 atomic_load_explicit(&v->last_write, memory_order_relaxed) ? "write" : "read",
			 atomic_load_explicit(&v->last_addr, memory_order_relaxed));
	else
		snprintf(last, sizeof(last), "exit %u (%s)", reason, vcpu_exit_name(reason));
	if (atomic_load_explicit(&v->serving, memory_order_relaxed))
		snprintf(buf, len, "its thread has been serving one exit in the VMM for %.1f s (%s; %" PRIu64 " exits)",
			 still_s, last, exits);
	else
		snprintf(buf, len, "its thread has been inside KVM_RUN with no exit for %.1f s (%" PRIu64 " exits before; the last: %s)",
			 still_s, exits, last);
}

/* For vcpu_where, from the vCPU thread only (its sole writer): plain relaxed stores. */
static void vcpu_note_exit(struct vcpu *v, const struct kvm_run *run)
{
	atomic_store_explicit(&v->serving, true, memory_order_relaxed);
	atomic_store_explicit(&v->last_exit, run->exit_reason, memory_order_relaxed);
	if (run->exit_reason == KVM_EXIT_MMIO) {
		atomic_store_explicit(&v->last_addr, run->mmio.phys_addr, memory_order_relaxed);
		atomic_store_explicit(&v->last_write, run->mmio.is_write, memory_order_relaxed);
	} else if (run->exit_reason == KVM_EXIT_IO) {
		atomic_store_explicit(&v->last_addr, run->io.port, memory_order_relaxed);
		atomic_store_explicit(&v->last_write, run->io.direction == KVM_EXIT_IO_OUT, memory_order_relaxed);
	}
	atomic_store_explicit(&v->exits, atomic_load_explicit(&v->exits, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static void vcpu_count_unclaimed(struct vcpu_shared *sh, uint16_t port)
{
	atomic_fetch_add(&sh->unclaimed_pio, 1);
	for (unsigned i = 0; i < VCPU_PORT_STATS; i++) {
		uint32_t want = 0, have = atomic_load(&sh->unclaimed[i].port_plus_1);

		if (!have && atomic_compare_exchange_strong(&sh->unclaimed[i].port_plus_1, &want,
							    (uint32_t)port + 1))
			have = (uint32_t)port + 1;
		else if (!have)
			have = want;	/* another thread took the slot: want holds its port */
		if (have == (uint32_t)port + 1) {
			atomic_fetch_add(&sh->unclaimed[i].count, 1);
			return;
		}
	}
}

/* Returns true when the vCPU should keep running. */
static bool vcpu_handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		int ret = bus_dispatch(v->shared->bus, BUS_PIO, v->index, run->io.port, data,
				       run->io.size, is_write);

		if (ret == -ENOENT && (v->shared->ignore_unclaimed_pio || v->shared->refuse_unclaimed)) {
			if (!is_write)
				memset(data, 0xff, run->io.size);	/* like an empty bus */
			if (v->shared->refuse_unclaimed)
				atomic_fetch_add(&v->refused, 1);
			else
				vcpu_count_unclaimed(v->shared, run->io.port);
			continue;
		}
		if (ret == -ENOENT) {
			vcpu_fail(v, VCPU_END_ERROR, "guest %s of unregistered port 0x%x at RIP 0x%" PRIx64,
				  is_write ? "write" : "read", run->io.port, vcpu_rip(v));
			return false;
		}
		if (ret) {
			vcpu_fail(v, VCPU_END_ERROR, "device at port 0x%x failed: %s (RIP 0x%" PRIx64 ")",
				  run->io.port, strerror(-ret), vcpu_rip(v));
			return false;
		}
	}
	return true;
}

static bool vcpu_handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	int ret = bus_dispatch(v->shared->bus, BUS_MMIO, v->index, run->mmio.phys_addr,
			       run->mmio.data, run->mmio.len, run->mmio.is_write);

	if (ret == -ENOENT && v->shared->refuse_unclaimed) {
		atomic_fetch_add(&v->refused, 1);
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, sizeof(run->mmio.data));	/* like an empty bus */
		return true;
	}
	if (ret == -ENOENT) {
		vcpu_fail(v, VCPU_END_ERROR, "guest %s of unregistered address 0x%llx at RIP 0x%" PRIx64,
			  run->mmio.is_write ? "write" : "read", (unsigned long long)run->mmio.phys_addr,
			  vcpu_rip(v));
		return false;
	}
	if (ret) {
		vcpu_fail(v, VCPU_END_ERROR, "device at 0x%llx failed: %s (RIP 0x%" PRIx64 ")",
			  (unsigned long long)run->mmio.phys_addr, strerror(-ret), vcpu_rip(v));
		return false;
	}
	return true;
}

/* What a vCPU thread does after set-up: KVM_RUN and KVM_GET_REGS (an error's RIP) on its own
 * fd only, and what the guest's device handlers do on it (shared->filter_rules, built from
 * the guest and its devices; doorbell eventfd and console writes, locks, clock: the base set).
 * No open, no socket, no exec, no other ioctl. */
static int vcpu_filter(struct vcpu *v)
{
	static const struct thread_filter_rules none;
	struct thread_filter_rules r = v->shared->filter_rules ? *v->shared->filter_rules : none;
	const struct thread_filter f = { .role = "vCPU", .rules = &r };
	struct err e = { 0 };
	int ret;

	thread_filter_rules_add_ioctl(&r, v->fd, KVM_RUN);
	thread_filter_rules_add_ioctl(&r, v->fd, KVM_GET_REGS);
	ret = thread_filter_install(&f, &e);
	if (ret) {
		vcpu_fail(v, VCPU_END_ERROR, "%s", e.msg);
		return ret;
	}
	if (v->shared->seccomp_probe) {
		/* The positive control: this must be refused (EPERM) and counted as a violation. */
		int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			vcpu_fail(v, VCPU_END_ERROR, "the seccomp probe's open(\"/\") was not refused: the vCPU filter does not work");
			return -EIO;
		}
	}
	return 0;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct kvm_run *run = v->run;
	sigset_t set;

	/* SIGINT/SIGTERM belong to the main thread; only the kick interrupts KVM_RUN here. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (v->shared->seccomp && vcpu_filter(v)) {
		atomic_fetch_add(&v->shared->ended, 1);
		return NULL;
	}

	while (atomic_load(&v->end) == VCPU_RUNNING) {
		if (atomic_load(&v->shared->stop)) {
			atomic_store(&v->stop_rip, vcpu_rip(v));	/* where a hung guest was */
			atomic_store(&v->end, VCPU_END_STOPPED);
			break;
		}
		atomic_store_explicit(&v->serving, false, memory_order_relaxed);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			atomic_store_explicit(&v->serving, true, memory_order_relaxed);
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vcpu_fail(v, VCPU_END_ERROR, "KVM_RUN failed: %s", strerror(errno));
			break;
		}
		vcpu_note_exit(v, run);
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
		case KVM_EXIT_MMIO:
			if (run->exit_reason == KVM_EXIT_IO ? !vcpu_handle_io(v) : !vcpu_handle_mmio(v))
				break;
			if (v->shared->mmio_done) {
				int end = v->shared->mmio_done(v->shared->guest, v->index);

				if (end != VCPU_RUNNING)
					atomic_store(&v->end, end);
			}
			break;
		case KVM_EXIT_SHUTDOWN: {
			uint64_t rip = vcpu_rip(v);

			/* AMD: KVM re-initialises the VMCB on a shutdown intercept (SVM's state is
			 * undefined after it), so the registers read the reset vector. */
			if (rip == 0xfff0)
				vcpu_fail(v, VCPU_END_SHUTDOWN, "triple fault (KVM_EXIT_SHUTDOWN); the faulting RIP is lost: the vCPU reads the reset vector 0xfff0, as KVM on AMD resets it on a shutdown");
			else
				vcpu_fail(v, VCPU_END_SHUTDOWN, "triple fault (KVM_EXIT_SHUTDOWN) at RIP 0x%" PRIx64, rip);
			break;
		}
		case KVM_EXIT_HLT:
			if (v->shared->hlt_is_idle)
				break;
			vcpu_fail(v, VCPU_END_ERROR, "the guest halted without reporting why, at RIP 0x%" PRIx64,
				  vcpu_rip(v));
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vcpu_fail(v, VCPU_END_ERROR, "KVM could not enter the guest (hardware reason 0x%llx)",
				  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vcpu_fail(v, VCPU_END_ERROR, "KVM internal error (suberror %u) at RIP 0x%" PRIx64,
				  run->internal.suberror, vcpu_rip(v));
			break;
		default:
			vcpu_fail(v, VCPU_END_ERROR, "unexpected KVM exit %u at RIP 0x%" PRIx64,
				  run->exit_reason, vcpu_rip(v));
			break;
		}
	}
	atomic_fetch_add(&v->shared->ended, 1);
	return NULL;
}

int vcpu_start(struct vcpu *v, struct err *e)
{
	static atomic_bool handler_installed;
	int ret;

	if (!atomic_exchange(&handler_installed, true)) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = vcpu_kick_handler;	/* no SA_RESTART: KVM_RUN returns EINTR */
		sigemptyset(&sa.sa_mask);
		if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0) {
			atomic_store(&handler_installed, false);
			return err_set(e, -errno, "installing the vCPU kick signal handler failed: %s",
				       strerror(errno));
		}
	}
	ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (ret)
		return err_set(e, -ret, "starting vCPU thread %u failed: %s: raise the thread limit",
			       v->index, strerror(ret));
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->started || !v->run)
		return;
	/* immediate_exit (Linux 4.11) closes the race with a thread about to enter KVM_RUN. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (atomic_load(&v->end) == VCPU_RUNNING)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (!v->started)
		return;
	pthread_join(v->thread, NULL);
	v->started = false;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->started) {
		atomic_store(&v->shared->stop, true);
		vcpu_kick(v);
		vcpu_join(v);
	}
	if (v->run)
		munmap(v->run, v->run_bytes);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
