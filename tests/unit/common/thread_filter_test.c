/* Unit test: the per-thread seccomp filter (common/thread_filter.c). In a thread with the
 * filter, allowed calls work (positive control: a listed syscall, a base write, a listed ioctl
 * request) and forbidden ones are refused with EPERM and counted with their name and the
 * thread's role (negative: openat, socket, an unlisted ioctl request); the thread goes on
 * running after each. Threads without the filter (main, a sibling) are not affected. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <seccomp.h>

#include "common/thread_filter.h"
#include "test.h"

struct result {
	int install;
	char msg[sizeof(((struct err *)0)->msg)];
	long getuid_ret;	/* allowed: the real uid */
	long write_ret;		/* base set: 1 */
	long fionread_ret;	/* listed ioctl request: 0 */
	long open_ret, open_errno;	/* forbidden */
	long socket_ret, socket_errno;
	long fionbio_ret, fionbio_errno;	/* ioctl, unlisted request */
	long after_ret;		/* the thread still runs: another allowed call */
};

static int pipefd[2];

static void *filtered(void *arg)
{
	static const int allowed[] = { SCMP_SYS(getuid) };
	static const unsigned long ioctls[] = { FIONREAD };
	struct thread_filter f = { .role = "test worker", .syscalls = allowed, .nr_syscalls = 1,
				   .ioctls = ioctls, .nr_ioctls = 1 };
	struct result *r = arg;
	struct err e = { 0 };
	int avail = -1, one = 1;

	r->install = thread_filter_install(&f, &e);
	snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
	if (r->install)
		return NULL;
	r->getuid_ret = syscall(SYS_getuid);
	r->write_ret = write(pipefd[1], "x", 1);
	r->fionread_ret = ioctl(pipefd[0], FIONREAD, &avail);
	errno = 0;
	r->open_ret = open("/dev/null", O_RDONLY);
	r->open_errno = errno;
	errno = 0;
	r->socket_ret = socket(AF_UNIX, SOCK_STREAM, 0);
	r->socket_errno = errno;
	errno = 0;
	r->fionbio_ret = ioctl(pipefd[0], FIONBIO, &one);
	r->fionbio_errno = errno;
	r->after_ret = syscall(SYS_getuid);
	return NULL;
}

/* Argument-narrowed rules: FIONREAD and pread64 allowed on one fd only. */
struct rules_result {
	int install;
	char msg[sizeof(((struct err *)0)->msg) + 32];
	long fionread_ok, fionread_other, fionread_other_errno;
	long pread_ok_errno, pread_other, pread_other_errno;
	long quiet_ret, quiet_errno;
	int overflow_install;
};

static int other_pipe[2];

static void *filtered_rules(void *arg)
{
	struct rules_result *r = arg;
	struct thread_filter_rules rules = { .nr = 0 }, many = { .nr = 0 };
	const struct thread_filter f = { .role = "rules worker", .rules = &rules };
	const struct thread_filter too_many = { .role = "rules worker", .rules = &many };
	struct err e = { 0 };
	int avail = -1;
	char c;

	for (int i = 0; i <= THREAD_FILTER_MAX_RULES; i++)
		thread_filter_rules_add_ioctl(&many, 100 + i, FIONREAD);
	r->overflow_install = thread_filter_install(&too_many, NULL);
	thread_filter_rules_add_ioctl(&rules, pipefd[0], FIONREAD);
	thread_filter_rules_add_ioctl(&rules, pipefd[0], FIONREAD);	/* a duplicate is kept once */
	thread_filter_rules_add(&rules, SCMP_SYS(pread64), pipefd[0]);
	r->install = rules.nr == 2 ? thread_filter_install(&f, &e) : -EINVAL;
	snprintf(r->msg, sizeof(r->msg), "%s (%u rules)", e.msg, rules.nr);
	if (r->install)
		return NULL;
	r->fionread_ok = ioctl(pipefd[0], FIONREAD, &avail);
	errno = 0;
	r->fionread_other = ioctl(other_pipe[0], FIONREAD, &avail);
	r->fionread_other_errno = errno;
	errno = 0;
	(void)!pread(pipefd[0], &c, 1, 0);	/* allowed: a pipe says ESPIPE, not EPERM */
	r->pread_ok_errno = errno;
	errno = 0;
	r->pread_other = pread(other_pipe[0], &c, 1, 0);
	r->pread_other_errno = errno;
	errno = 0;	/* glibc's own probe: refused quietly (EACCES), not a violation */
	r->quiet_ret = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
	r->quiet_errno = errno;
	return NULL;
}

static void *unfiltered(void *arg)
{
	int fd = open("/dev/null", O_RDONLY);

	*(int *)arg = fd;
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(void)
{
	struct thread_filter_violations v;
	struct result r = { 0 };
	pthread_t t;
	int sibling_fd = -1, fd;
	char name[64];

	TEST_ASSERT(pipe(pipefd) == 0, "pipe");
	thread_filter_get_violations(&v);
	TEST_ASSERT(v.count == 0 && v.first_syscall == -1 && !v.first_role, "no violation before any filter");

	TEST_ASSERT(pthread_create(&t, NULL, filtered, &r) == 0, "thread");
	pthread_join(t, NULL);
	TEST_ASSERT(r.install == 0, "install: %s", r.msg);
	/* Positive controls: what the filter allows works. */
	TEST_ASSERT(r.getuid_ret == (long)getuid(), "allowed getuid returned %ld", r.getuid_ret);
	TEST_ASSERT(r.write_ret == 1, "a base-set write returned %ld", r.write_ret);
	TEST_ASSERT(r.fionread_ret == 0, "the listed ioctl FIONREAD returned %ld", r.fionread_ret);
	TEST_ASSERT(r.after_ret == (long)getuid(), "the thread runs on after a violation");
	/* Negative: each forbidden call refused with EPERM, counted, the first one named. */
	TEST_ASSERT(r.open_ret == -1 && r.open_errno == EPERM, "open: %ld, errno %ld", r.open_ret, r.open_errno);
	TEST_ASSERT(r.socket_ret == -1 && r.socket_errno == EPERM, "socket: %ld, errno %ld", r.socket_ret,
		    r.socket_errno);
	TEST_ASSERT(r.fionbio_ret == -1 && r.fionbio_errno == EPERM, "unlisted ioctl: %ld, errno %ld",
		    r.fionbio_ret, r.fionbio_errno);
	thread_filter_get_violations(&v);
	TEST_ASSERT(v.count == 3, "%llu violations counted, want 3", (unsigned long long)v.count);
	thread_filter_syscall_name(v.first_syscall, name, sizeof(name));
	TEST_ASSERT(!strcmp(name, "openat") || !strcmp(name, "open"), "first violation named %s", name);
	TEST_ASSERT(v.first_role && !strcmp(v.first_role, "test worker"), "role %s", v.first_role);

	/* The filter was this thread's own: main and a sibling still open files. */
	fd = open("/dev/null", O_RDONLY);
	TEST_ASSERT(fd >= 0, "main thread open after the filtered thread");
	close(fd);
	TEST_ASSERT(pthread_create(&t, NULL, unfiltered, &sibling_fd) == 0, "sibling");
	pthread_join(t, NULL);
	TEST_ASSERT(sibling_fd >= 0, "an unfiltered sibling thread could not open a file");
	thread_filter_get_violations(&v);
	TEST_ASSERT(v.count == 3, "violations changed without a filtered thread");
	TEST_ASSERT(v.nr_kinds == 3, "%u distinct refused calls, want 3", v.nr_kinds);

	/* Rules narrowed to one fd: the same call on another fd is refused, and named. */
	{
		struct rules_result rr = { 0 };
		char all[512];

		TEST_ASSERT(pipe(other_pipe) == 0, "pipe");
		TEST_ASSERT(pthread_create(&t, NULL, filtered_rules, &rr) == 0, "thread");
		pthread_join(t, NULL);
		TEST_ASSERT(rr.overflow_install == -ENOSPC, "more rules than fit must be refused, got %d",
			    rr.overflow_install);
		TEST_ASSERT(rr.install == 0, "install with rules: %s", rr.msg);
		TEST_ASSERT(rr.fionread_ok == 0, "FIONREAD on the listed fd returned %ld", rr.fionread_ok);
		TEST_ASSERT(rr.pread_ok_errno == ESPIPE, "pread64 on the listed fd: errno %ld, want ESPIPE",
			    rr.pread_ok_errno);
		TEST_ASSERT(rr.fionread_other == -1 && rr.fionread_other_errno == EPERM,
			    "FIONREAD on another fd: %ld, errno %ld", rr.fionread_other, rr.fionread_other_errno);
		TEST_ASSERT(rr.pread_other == -1 && rr.pread_other_errno == EPERM,
			    "pread64 on another fd: %ld, errno %ld", rr.pread_other, rr.pread_other_errno);
		TEST_ASSERT(rr.quiet_ret == -1 && rr.quiet_errno == EACCES, "glibc's overcommit probe: %ld, errno %ld",
			    rr.quiet_ret, rr.quiet_errno);
		thread_filter_get_violations(&v);
		TEST_ASSERT(v.count == 5, "%llu violations counted, want 5", (unsigned long long)v.count);
		TEST_ASSERT(v.quiet == 1, "%llu quiet refusals, want 1", (unsigned long long)v.quiet);
		thread_filter_describe(&v, NULL, all, sizeof(all));
		TEST_ASSERT(strstr(all, "ioctl 0x541b by rules worker x1") && strstr(all, "openat /dev/null by test worker x1") && strstr(all, "pread64 by rules worker x1") &&
			    strstr(all, "socket by test worker x1") && strstr(all, "ioctl 0x5421 by test worker x1"),
			    "the description names each refused call: %s", all);
		printf("thread_filter: refused calls: %s\n", all);
	}
	printf("thread_filter: allowed getuid/write/FIONREAD worked; openat, socket, ioctl FIONBIO refused with EPERM and counted (3, first %s, role %s); other threads unaffected\n",
	       name, v.first_role);
	return T_PASS;
}
