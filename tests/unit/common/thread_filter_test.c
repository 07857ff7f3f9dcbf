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
	printf("thread_filter: allowed getuid/write/FIONREAD worked; openat, socket, ioctl FIONBIO refused with EPERM and counted (3, first %s, role %s); other threads unaffected\n",
	       name, v.first_role);
	return T_PASS;
}
