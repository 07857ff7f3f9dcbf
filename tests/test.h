/* Test helpers: each test is a standalone program that exits T_PASS, T_SKIP or T_FAIL.
 * A skip always says which feature the machine lacks. */
#ifndef DAXVM_TESTS_TEST_H
#define DAXVM_TESTS_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_PASS 0
#define T_SKIP 77
#define T_FAIL 1

#define TEST_REQUIRE(cond, ...)                                         \
	do {                                                            \
		if (!(cond)) {                                          \
			printf("SKIP: ");                               \
			printf(__VA_ARGS__);                            \
			printf("\n");                                   \
			fflush(stdout);                                 \
			exit(T_SKIP);                                   \
		}                                                       \
	} while (0)

#define TEST_ASSERT(cond, ...)                                          \
	do {                                                            \
		if (!(cond)) {                                          \
			int saved_errno_ = errno;                       \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                            \
			printf(" (errno %d: %s)\n", saved_errno_, strerror(saved_errno_)); \
			fflush(stdout);                                 \
			exit(T_FAIL);                                   \
		}                                                       \
	} while (0)

/* KVM is real on every machine of this project: a test that needs it skips only
 * when /dev/kvm is truly absent, and says so. */
/* How much slower than hardware KVM guests run here: DAXVM_TEST_TIME_SCALE (default 1; the
 * lab's nested KVM under TCG sets 4). Tests that wait for guest progress scale their times. */
static inline double t_time_scale(void)
{
	const char *s = getenv("DAXVM_TEST_TIME_SCALE");
	double v = s ? strtod(s, NULL) : 1.0;

	return v >= 1.0 && v <= 100.0 ? v : 1.0;
}

/* Entries in a directory (with . and ..): /proc/self/fd or /proc/self/task before and after
 * a call shows a leaked fd or thread. */
static inline unsigned t_count_dir(const char *path)
{
	DIR *d = opendir(path);
	unsigned n = 0;

	TEST_ASSERT(d, "opendir %s", path);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The devdax device comes from the environment (DAXVM_TEST_DAX=/dev/dax0.0) or is absent. */
static inline const char *t_require_devdax(void)
{
	const char *dev = getenv("DAXVM_TEST_DAX");

	if (!dev || !*dev)
		dev = "/dev/dax0.0";
	TEST_REQUIRE(access(dev, R_OK | W_OK) == 0,
		     "feature missing: no device-dax device (%s: %s); the pmem lab provides one", dev,
		     strerror(errno));
	return dev;
}

#endif
