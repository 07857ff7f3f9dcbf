/* Least privilege for the threads that serve the guest: once set-up is done, a vCPU or device
 * thread installs a seccomp filter (libseccomp) on itself that allows only the system calls it
 * needs. Anything else is refused with SCMP_ACT_TRAP: the call does not run, it returns
 * -EPERM to the thread, and the violation is counted (with the first one's system call and
 * thread role) so the run fails naming it, instead of a thread dying without a word. */
#ifndef DAXVM_COMMON_THREAD_FILTER_H
#define DAXVM_COMMON_THREAD_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct thread_filter {
	const char *role;		/* "vCPU", "DMA queue": named in the violation report */
	const int *syscalls;		/* allowed besides the base set (thread_filter.c) */
	size_t nr_syscalls;
	const unsigned long *ioctls;	/* ioctl requests allowed; any other ioctl is a violation */
	size_t nr_ioctls;
};

/* Installs f on the calling thread only (no TSYNC; NO_NEW_PRIVS is set for this thread,
 * so no privilege is needed) and the process-wide SIGSYS handler (once). The role string
 * must outlive the thread. */
int thread_filter_install(const struct thread_filter *f, struct err *e);

struct thread_filter_violations {
	uint64_t count;			/* refused system calls, every filtered thread */
	int first_syscall;		/* the first one's number (x86-64), -1 when none */
	const char *first_role;		/* the role of the thread that made it, NULL when none */
};
void thread_filter_get_violations(struct thread_filter_violations *v);

/* "openat" for 257; "syscall N" when libseccomp does not know it. */
void thread_filter_syscall_name(int nr, char *buf, size_t len);

#endif
