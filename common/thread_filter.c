/* Per-thread seccomp filters and the SIGSYS handler that turns a refused call into -EPERM and
 * a counted violation (see thread_filter.h for why TRAP rather than KILL_THREAD). */
#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <ucontext.h>

#include "common/thread_filter.h"

static __thread const char *filter_role;	/* the calling thread's role, for the handler */
static uint64_t violations;			/* atomics: written from the signal handler */
static int first_syscall = -1;
static const char *first_role;
/* Distinct refused calls: a slot is claimed by a CAS of its key from 0 (async-signal-safe). */
static struct {
	uint64_t key;		/* (syscall + 1) << 32 | ioctl request; 0 = free */
	const char *role;
	uint64_t count;
	char path[THREAD_FILTER_PATH_BYTES];	/* open/openat: the first one's path */
} kinds[THREAD_FILTER_KINDS];
static uint64_t quiet;		/* known libc probes refused without a violation */

/* Files glibc opens by itself from code any thread runs: refused (EACCES, which glibc takes as
 * "unknown" and carries on) but not a violation. glibc 2.36 malloc: check_may_shrink_heap()
 * reads overcommit_memory once, the first time a thread's arena heap shrinks in free(). */
static const char *const quiet_paths[] = { "/proc/sys/vm/overcommit_memory" };

/* What any thread of this program may do whatever its job: locks, time, its own signals and
 * exit, memory management (malloc arenas, thread stacks; the sanitizers' runtime), writes to
 * the console or a log, and the stdio probes of an output stream (fstat, TCGETS). */
static const int base_syscalls[] = {
	SCMP_SYS(futex), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettid),
	SCMP_SYS(getpid), SCMP_SYS(tgkill), SCMP_SYS(madvise), SCMP_SYS(munmap), SCMP_SYS(mmap),
	SCMP_SYS(mprotect), SCMP_SYS(brk), SCMP_SYS(sched_yield), SCMP_SYS(write),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat),
};

/* Copies a path argument in the handler (the thread's own memory, NUL-terminated by libc). */
static void copy_path(char *dst, const char *src)
{
	unsigned i = 0;

	for (; src && src[i] && i + 1 < THREAD_FILTER_PATH_BYTES; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

static bool same_path(const char *a, const char *b)
{
	unsigned i = 0;

	for (; a[i] && a[i] == b[i]; i++)
		;
	return a[i] == b[i];
}

static void note_kind(int nr, unsigned long request, const char *path, const char *role)
{
	uint64_t key = (uint64_t)(nr + 1) << 32 | (uint32_t)request;

	for (unsigned i = 0; i < THREAD_FILTER_KINDS; i++) {
		uint64_t free_key = 0;

		const char *r;

		if (__atomic_compare_exchange_n(&kinds[i].key, &free_key, key, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			copy_path(kinds[i].path, path);
			__atomic_store_n(&kinds[i].role, role, __ATOMIC_RELEASE);
		} else if (free_key != key) {
			continue;
		} else {
			/* Another thread claimed this kind a moment ago: its role follows the key
			 * (two vCPUs refused at once were listed twice before this wait). */
			while (!(r = __atomic_load_n(&kinds[i].role, __ATOMIC_ACQUIRE)))
				;
			if (r != role && strcmp(r, role))
				continue;
		}
		__atomic_fetch_add(&kinds[i].count, 1, __ATOMIC_RELAXED);
		return;
	}
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	const char *role = filter_role ? filter_role : "unnamed";
	int none = -1;

	/* x86-64 syscall arguments: rdi, rsi, ...: open's path is the first, openat's the second. */
	const char *path = si->si_syscall == SCMP_SYS(openat) ? (const char *)uc->uc_mcontext.gregs[REG_RSI] :
			   si->si_syscall == SCMP_SYS(open) ? (const char *)uc->uc_mcontext.gregs[REG_RDI] : NULL;

	(void)sig;
	for (unsigned i = 0; path && i < sizeof(quiet_paths) / sizeof(quiet_paths[0]); i++) {
		if (same_path(path, quiet_paths[i])) {
			__atomic_fetch_add(&quiet, 1, __ATOMIC_RELAXED);
			uc->uc_mcontext.gregs[REG_RAX] = -EACCES;
			return;
		}
	}
	__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
	if (__atomic_compare_exchange_n(&first_syscall, &none, si->si_syscall, false,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		__atomic_store_n(&first_role, role, __ATOMIC_RELEASE);
	/* An ioctl's request is its second argument. */
	note_kind(si->si_syscall, si->si_syscall == SCMP_SYS(ioctl) ?
		  (unsigned long)uc->uc_mcontext.gregs[REG_RSI] : 0, path, role);
	/* The refused call returns -EPERM to its caller (x86-64: the result is in RAX). */
	uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
}

static int handler_ret;

static void install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	handler_ret = sigaction(SIGSYS, &sa, NULL) ? -errno : 0;
}

static int allow_ioctl(scmp_filter_ctx ctx, unsigned long request)
{
	struct scmp_arg_cmp cmp = { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = request, .datum_b = 0 };

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &cmp);
}

/* fd and request are C ints in the kernel (unsigned int cmd): compare the low 32 bits only. */
static int allow_rule(scmp_filter_ctx ctx, const struct thread_filter_rule *r)
{
	struct scmp_arg_cmp cmp[2];
	unsigned n = 0;

	if (r->fd >= 0)
		cmp[n++] = (struct scmp_arg_cmp){ .arg = 0, .op = SCMP_CMP_MASKED_EQ,
						  .datum_a = 0xffffffffu, .datum_b = (uint32_t)r->fd };
	if (r->syscall == SCMP_SYS(ioctl))
		cmp[n++] = (struct scmp_arg_cmp){ .arg = 1, .op = SCMP_CMP_MASKED_EQ,
						  .datum_a = 0xffffffffu, .datum_b = (uint32_t)r->request };
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r->syscall, n, cmp);
}

static void rules_add(struct thread_filter_rules *r, int syscall, int fd, unsigned long request)
{
	for (unsigned i = 0; i < r->nr; i++)
		if (r->rule[i].syscall == syscall && r->rule[i].fd == fd && r->rule[i].request == request)
			return;
	if (r->nr == THREAD_FILTER_MAX_RULES) {
		r->overflow = true;
		return;
	}
	r->rule[r->nr++] = (struct thread_filter_rule){ .syscall = syscall, .fd = fd, .request = request };
}

void thread_filter_rules_add(struct thread_filter_rules *r, int syscall, int fd)
{
	rules_add(r, syscall, fd, 0);
}

void thread_filter_rules_add_ioctl(struct thread_filter_rules *r, int fd, unsigned long request)
{
	rules_add(r, SCMP_SYS(ioctl), fd, request);
}

int thread_filter_install(const struct thread_filter *f, struct err *e)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	scmp_filter_ctx ctx;
	sigset_t sys;
	int ret = 0;

	pthread_once(&once, install_handler);
	if (handler_ret)
		return err_set(e, handler_ret, "cannot install the SIGSYS handler for the %s thread filter: %s",
			       f->role, strerror(-handler_ret));
	if (f->rules && f->rules->overflow)
		return err_set(e, -ENOSPC, "the %s thread filter needs more than %u rules", f->role,
			       THREAD_FILTER_MAX_RULES);
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return err_set(e, -ENOMEM, "seccomp_init failed for the %s thread filter", f->role);
	for (size_t i = 0; !ret && i < sizeof(base_syscalls) / sizeof(base_syscalls[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, base_syscalls[i], 0);
	for (size_t i = 0; !ret && i < f->nr_syscalls; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, f->syscalls[i], 0);
	/* ioctl only with the listed requests (the stdio terminal probe always). */
	if (!ret)
		ret = allow_ioctl(ctx, TCGETS);
	for (size_t i = 0; !ret && i < f->nr_ioctls; i++)
		ret = allow_ioctl(ctx, f->ioctls[i]);
	for (unsigned i = 0; !ret && f->rules && i < f->rules->nr; i++)
		ret = allow_rule(ctx, &f->rules->rule[i]);
	if (ret) {
		seccomp_release(ctx);
		return err_set(e, ret, "building the %s thread filter failed: %s", f->role, strerror(-ret));
	}
	/* SIGSYS must reach the handler: a blocked SIGSYS would kill the process. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	filter_role = f->role;
	/* libseccomp sets NO_NEW_PRIVS on this thread first (SCMP_FLTATR_CTL_NNP, on by default). */
	ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret) {
		filter_role = NULL;
		return err_set(e, ret, "loading the %s thread filter failed: %s (seccomp needs Linux 3.5)",
			       f->role, strerror(-ret));
	}
	return 0;
}

void thread_filter_get_violations(struct thread_filter_violations *v)
{
	v->count = __atomic_load_n(&violations, __ATOMIC_ACQUIRE);
	v->first_syscall = __atomic_load_n(&first_syscall, __ATOMIC_ACQUIRE);
	v->first_role = __atomic_load_n(&first_role, __ATOMIC_ACQUIRE);
	v->quiet = __atomic_load_n(&quiet, __ATOMIC_ACQUIRE);
	v->nr_kinds = 0;
	for (unsigned i = 0; i < THREAD_FILTER_KINDS; i++) {
		uint64_t key = __atomic_load_n(&kinds[i].key, __ATOMIC_ACQUIRE);

		if (!key)
			break;
		v->kinds[v->nr_kinds++] = (struct thread_filter_kind){
			.syscall = (int)(key >> 32) - 1, .request = (uint32_t)key,
			.role = __atomic_load_n(&kinds[i].role, __ATOMIC_ACQUIRE),
			.count = __atomic_load_n(&kinds[i].count, __ATOMIC_RELAXED),
		};
		memcpy(v->kinds[v->nr_kinds - 1].path, kinds[i].path, THREAD_FILTER_PATH_BYTES);
	}
}

void thread_filter_describe(const struct thread_filter_violations *v,
			    const char *(*name_ioctl)(unsigned long request), char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned i = 0; i < v->nr_kinds && n < len; i++) {
		const struct thread_filter_kind *k = &v->kinds[i];
		char name[64];
		const char *req = NULL;

		thread_filter_syscall_name(k->syscall, name, sizeof(name));
		if (k->syscall == SCMP_SYS(ioctl) && name_ioctl)
			req = name_ioctl(k->request);
		if (k->syscall == SCMP_SYS(ioctl))
			n += (size_t)snprintf(buf + n, len - n, "%sioctl %s%s0x%lx%s by %s x%llu", n ? "; " : "",
					      req ? req : "", req ? " (" : "", k->request, req ? ")" : "",
					      k->role ? k->role : "?", (unsigned long long)k->count);
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%s%s%s by %s x%llu", n ? "; " : "", name,
					      k->path[0] ? " " : "", k->path, k->role ? k->role : "?",
					      (unsigned long long)k->count);
	}
	if (v->count && v->nr_kinds == THREAD_FILTER_KINDS && n < len)
		snprintf(buf + n, len - n, "; and maybe others");
}

void thread_filter_syscall_name(int nr, char *buf, size_t len)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "syscall %d", nr);
	free(name);
}
