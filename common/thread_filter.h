/* Least privilege for the threads that serve the guest: once set-up is done, a vCPU or device
 * thread installs a seccomp filter (libseccomp) on itself that allows only the system calls it
 * needs. Anything else is refused with SCMP_ACT_TRAP: the call does not run, it returns
 * -EPERM to the thread, and the violation is counted (each distinct call with its thread role
 * and, for ioctl, its request) so the run fails naming it, instead of a thread dying without a
 * word. */
#ifndef DAXVM_COMMON_THREAD_FILTER_H
#define DAXVM_COMMON_THREAD_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* One allowed call, narrowed by its arguments: only on fd (argument 0) when fd >= 0, and for
 * ioctl only with request (argument 1). */
struct thread_filter_rule {
	int syscall;			/* SCMP_SYS(...) */
	int fd;				/* -1: any fd */
	unsigned long request;		/* ioctl: the one request allowed; ignored for other calls */
};

/* The rules of one thread, collected from the parts of the program whose code runs on it (the
 * vCPU loop, the guest's devices, passed-through PCI devices). */
#define THREAD_FILTER_MAX_RULES 64
struct thread_filter_rules {
	struct thread_filter_rule rule[THREAD_FILTER_MAX_RULES];
	unsigned nr;
	bool overflow;			/* more were added than fit: installing refuses the list */
};

/* syscall, on fd only (fd >= 0) or on any fd (-1); a duplicate is not added twice. */
void thread_filter_rules_add(struct thread_filter_rules *r, int syscall, int fd);
/* ioctl request on fd only (fd >= 0) or on any fd (-1). */
void thread_filter_rules_add_ioctl(struct thread_filter_rules *r, int fd, unsigned long request);

struct thread_filter {
	const char *role;		/* "vCPU", "DMA queue": named in the violation report */
	const int *syscalls;		/* allowed besides the base set (thread_filter.c), any args */
	size_t nr_syscalls;
	const unsigned long *ioctls;	/* ioctl requests allowed on any fd */
	size_t nr_ioctls;
	const struct thread_filter_rules *rules;	/* argument-narrowed rules, may be NULL */
};

/* Installs f on the calling thread only (no TSYNC; NO_NEW_PRIVS is set for this thread,
 * so no privilege is needed) and the process-wide SIGSYS handler (once). The role string
 * must outlive the thread. */
int thread_filter_install(const struct thread_filter *f, struct err *e);

#define THREAD_FILTER_KINDS 16
#define THREAD_FILTER_PATH_BYTES 64
/* A distinct refused call: system call, ioctl request (0 for others) and the thread's role. */
struct thread_filter_kind {
	int syscall;
	unsigned long request;
	const char *role;
	uint64_t count;
	char path[THREAD_FILTER_PATH_BYTES];	/* open/openat: the first one's path ("" otherwise) */
};

struct thread_filter_violations {
	uint64_t count;			/* refused system calls, every filtered thread */
	int first_syscall;		/* the first one's number (x86-64), -1 when none */
	const char *first_role;		/* the role of the thread that made it, NULL when none */
	unsigned nr_kinds;		/* distinct refused calls kept (the first THREAD_FILTER_KINDS) */
	uint64_t quiet;			/* files glibc opens on its own (thread_filter.c), refused
					 * with EACCES but not violations */
	struct thread_filter_kind kinds[THREAD_FILTER_KINDS];
};
void thread_filter_get_violations(struct thread_filter_violations *v);

/* "openat" for 257; "syscall N" when libseccomp does not know it. */
void thread_filter_syscall_name(int nr, char *buf, size_t len);

/* "ioctl KVM_IRQ_LINE (0x4008ae61) by vCPU x3; openat by vCPU x1": every distinct refused
 * call; name_ioctl (may be NULL) names a request it knows, else returns NULL. */
void thread_filter_describe(const struct thread_filter_violations *v,
			    const char *(*name_ioctl)(unsigned long request), char *buf, size_t len);

#endif
