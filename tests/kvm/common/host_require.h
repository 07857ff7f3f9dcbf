/* Requirements of the host suite (root, io_uring; no KVM): each turns a missing feature into
 * a skip that names it, and only that. */
#ifndef DAXVM_TESTS_KVM_HOST_REQUIRE_H
#define DAXVM_TESTS_KVM_HOST_REQUIRE_H

#include <liburing.h>
#include <unistd.h>

#include "test.h"

/* why: what the test does that only root may (read PFNs, write vm sysctls, change user...). */
static inline void t_require_root(const char *why)
{
	TEST_REQUIRE(geteuid() == 0, "feature missing: root (%s)", why);
}

/* A ring can be set up: the kernel has io_uring and kernel.io_uring_disabled allows it. */
static inline void t_require_io_uring(void)
{
	struct io_uring ring;
	int ret = io_uring_queue_init(1, &ring, 0);

	TEST_REQUIRE(ret == 0, "feature missing: io_uring (io_uring_setup: %s%s)", strerror(-ret),
		     ret == -EPERM ? "; see /proc/sys/kernel/io_uring_disabled" : "");
	io_uring_queue_exit(&ring);
}

#endif
