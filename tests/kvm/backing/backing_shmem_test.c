/* Integration: memfd, anon and tmpfs-file backings on the real kernel, the size and path
 * errors, and auto selection; every case checked for leaked fds and mappings. */
#include <dlfcn.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "backing_check.h"
#include "memory/dax.h"
#include "kvm/common/host_require.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static int fds_before;

/* Opens, checks and closes one backing; nothing of it may remain. */
static void open_ok(const char *spec, uint64_t size, enum backing_kind kind, uint64_t want_size)
{
	struct backing_request req = { .spec = spec, .size = size };
	struct backing b;
	struct err e = { 0 };
	void *host;
	int ret = backing_open(&req, &b, &e);

	TEST_ASSERT(ret == 0, "backing_open(%s, %llu): %d %s", spec ? spec : "auto",
		    (unsigned long long)size, ret, e.msg);
	bk_check_open(&b, kind, want_size);
	host = b.host;
	backing_close(&b);
	backing_close(&b);	/* closing twice is harmless */
	TEST_ASSERT(bk_count_fds() == fds_before, "%s leaked an fd", spec ? spec : "auto");
	TEST_ASSERT(bk_maps_matching(host, want_size, "daxvm-guest-ram") == 0,
		    "%s left a mapping", spec ? spec : "auto");
	printf("ok: %s %llu bytes -> %s\n", spec ? spec : "(auto)", (unsigned long long)want_size,
	       backing_kind_name(kind));
}

/* Expects a failure with errno want and a message containing text; nothing left behind. */
static void open_fails(const char *spec, uint64_t size, int want, const char *text)
{
	struct backing_request req = { .spec = spec, .size = size };
	struct backing b;
	struct err e = { 0 };
	int maps = bk_maps_matching(NULL, 0, "daxvm-guest-ram");
	int ret = backing_open(&req, &b, &e);

	TEST_ASSERT(ret == want, "backing_open(%s, %llu) returned %d, want %d (%s)", spec,
		    (unsigned long long)size, ret, want, e.msg);
	TEST_ASSERT(e.code == ret && strstr(e.msg, text), "message '%s' lacks '%s'", e.msg, text);
	TEST_ASSERT(!strchr(e.msg, '\n'), "message has a newline: '%s'", e.msg);
	TEST_ASSERT(b.fd == -1 && b.host == NULL, "failed open left fd %d host %p", b.fd, b.host);
	backing_close(&b);	/* harmless after a failed open */
	TEST_ASSERT(bk_count_fds() == fds_before, "failed %s leaked an fd", spec);
	TEST_ASSERT(bk_maps_matching(NULL, 0, "daxvm-guest-ram") == maps, "failed %s left a mapping",
		    spec);
	printf("ok: %s refused: %s\n", spec, e.msg);
}

static void test_sparse_5g(const char *spec, enum backing_kind kind)
{
	struct backing_request req = { .spec = spec, .size = 5 * GiB };
	struct backing b;
	struct err e = { 0 };
	long rss = bk_status_kib("VmRSS");
	int ret = backing_open(&req, &b, &e);

	TEST_ASSERT(ret == 0, "5 GiB %s: %s", spec, e.msg);
	/* Nothing is touched at open: the resident set grows by far less than the size. */
	TEST_ASSERT(bk_status_kib("VmRSS") - rss < 16 * 1024, "5 GiB %s made %ld KiB resident",
		    spec, bk_status_kib("VmRSS") - rss);
	bk_check_open(&b, kind, 5 * GiB);
	backing_close(&b);
	TEST_ASSERT(bk_count_fds() == fds_before, "5 GiB %s leaked an fd", spec);
	printf("ok: 5 GiB %s sparse\n", spec);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	TEST_ASSERT(f, "create %s", path);
	fputs(text, f);
	fclose(f);
}

static void test_tmpfs(void)
{
	char path[64], text[64] = "";
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "/dev/shm/daxvm-backing-test-%d", (int)getpid());
	unlink(path);
	/* A new file in a tmpfs directory: created, sized, removed at close. */
	open_ok(path, 64 * MiB, BACKING_TMPFS, 64 * MiB);
	TEST_ASSERT(access(path, F_OK) != 0, "created file %s not removed at close", path);
	/* An existing empty file: sized for the run, emptied again at close. */
	write_file(path, "");
	open_ok(path, 0, BACKING_TMPFS, 512 * MiB);
	TEST_ASSERT(stat(path, &st) == 0 && st.st_size == 0, "empty file left at %lld bytes",
		    (long long)st.st_size);
	/* A file with content, smaller than asked: refused, content untouched. */
	write_file(path, "user data\n");
	open_fails(path, 64 * MiB, -EINVAL, "smaller than the 64 MiB of guest RAM: grow it yourself (truncate -s 67108864");
	f = fopen(path, "re");
	TEST_ASSERT(f && fgets(text, sizeof(text), f) && strcmp(text, "user data\n") == 0,
		    "user file changed: '%s'", text);
	fclose(f);
	TEST_ASSERT(stat(path, &st) == 0 && st.st_size == 10, "user file resized");
	/* An existing file of the right size: its size is the default. */
	TEST_ASSERT(truncate(path, 8 * MiB) == 0, "truncate");
	open_ok(path, 0, BACKING_TMPFS, 8 * MiB);
	TEST_ASSERT(stat(path, &st) == 0 && st.st_size == (off_t)(8 * MiB), "file resized");
	open_ok(path, 4 * MiB, BACKING_TMPFS, 4 * MiB);
	unlink(path);
	/* More than the tmpfs can hold: refused now rather than a SIGBUS in the guest later. */
	open_fails(path, 1ULL << 45, -ENOSPC, "free, less than the 32 TiB of guest RAM");
	TEST_ASSERT(access(path, F_OK) != 0, "refused new file left behind");
	write_file(path, "");
	TEST_ASSERT(truncate(path, 8 * MiB) == 0, "truncate");
	open_fails(path, 16 * MiB, -EINVAL, "ask for 8 MiB or less");
	TEST_ASSERT(stat(path, &st) == 0 && st.st_size == (off_t)(8 * MiB), "file resized");
	unlink(path);
}

/* As an unprivileged user, a root-only tmpfs file is refused with the reason and the fix. */
static void test_no_permission(void)
{
	char path[64];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "/dev/shm/daxvm-backing-perm-%d", (int)getpid());
	write_file(path, "");
	TEST_ASSERT(chmod(path, 0600) == 0, "chmod");
	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (pid == 0) {
		TEST_ASSERT(setgid(65534) == 0 && setuid(65534) == 0, "drop to nobody");
		open_fails(path, 4096, -EACCES, "no permission to open");
		exit(T_PASS);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	unlink(path);
	TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == T_PASS, "permission case failed");
}

/* Whether a shared object whose path contains name is mapped into this process. */
static bool lib_mapped(const char *name)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	TEST_ASSERT(f, "cannot read /proc/self/maps");
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

/* libdaxctl is loaded only for a devdax lookup (memory/dax.c): auto selection on a machine
 * without a device-dax device must not load it; a lookup of a path does (where installed). */
static void test_libdaxctl_on_demand(void)
{
	struct backing_request req = { 0 };
	struct backing b;
	struct err e = { 0 };
	void *h;

	if (dax_any_device()) {
		printf("note: this machine has a device-dax device: auto selection loads libdaxctl, not checked\n");
		return;
	}
	TEST_ASSERT(!lib_mapped("libdaxctl.so"), "libdaxctl is mapped before any devdax lookup: is it linked again?");
	TEST_ASSERT(backing_open(&req, &b, &e) == 0, "auto: %s", e.msg);
	backing_close(&b);
	TEST_ASSERT(!lib_mapped("libdaxctl.so"), "auto selection without a devdax device loaded libdaxctl");
	open_fails("/dev/null", 0, -ENODEV, "not a device-dax device");
	h = dlopen("libdaxctl.so.1", RTLD_NOW | RTLD_NOLOAD);
	TEST_ASSERT(!!h == lib_mapped("libdaxctl.so"), "dlopen and /proc/self/maps disagree");
	if (h) {
		dlclose(h);
		printf("ok: libdaxctl loaded by the first devdax lookup, not by auto selection\n");
	} else {
		printf("note: libdaxctl.so.1 is not installed: the lookup read sysfs\n");
	}
}

int main(void)
{
	t_require_root("the permission case opens a root-only file as uid nobody");
	fds_before = bk_count_fds();
	test_libdaxctl_on_demand();

	open_ok("memfd", 0, BACKING_MEMFD, 512 * MiB);
	open_ok("memfd", 4096, BACKING_MEMFD, 4096);
	open_ok("anon", 0, BACKING_ANON, 512 * MiB);
	open_ok("anon", 3 * MiB, BACKING_ANON, 3 * MiB);
	test_sparse_5g("memfd", BACKING_MEMFD);
	test_sparse_5g("anon", BACKING_ANON);
	test_tmpfs();
	test_no_permission();

	open_fails("memfd", 3000, -EINVAL, "not a multiple of the 4 KiB alignment of memfd: use 4K");
	open_fails("anon", 4096 + 1, -EINVAL, "use 4K or 8K");
	open_fails("memfd-huge", 3 * MiB, -EINVAL, "2 MiB alignment of memfd-huge: use 2M or 4M");
	open_fails("/nonexistent-dir/guest-ram", 0, -ENOENT, "does not exist");
	open_fails("/dev/dax9.9", 0, -ENOENT, "device-dax /dev/dax9.9 does not exist: daxctl list");
	TEST_ASSERT(access("/dev/dax9.9", F_OK) != 0, "a missing /dev/dax9.9 was created");
	open_fails("/dev/guest-ram", 0, -ENOENT, "does not exist");
	TEST_ASSERT(access("/dev/guest-ram", F_OK) != 0, "a file was created on devtmpfs");
	open_fails("memfd", 1ULL << 62, -EINVAL, "larger than");
	open_fails("/dev/null", 0, -ENODEV, "not a device-dax device");
	open_fails("/dev/shm", 0, -EISDIR, "is a directory");

	/* Auto: on a machine without devdax the pick must be a stand-in, with the reason. */
	{
		struct backing_request req = { 0 };
		struct backing b;
		struct err e = { 0 };

		TEST_ASSERT(backing_open(&req, &b, &e) == 0, "auto: %s", e.msg);
		printf("auto picked %s: %s\n", backing_kind_name(b.kind), b.why);
		TEST_ASSERT(strstr(b.why, backing_kind_name(b.kind)), "why does not name the pick");
		if (access("/dev/dax0.0", F_OK) != 0)
			TEST_ASSERT(b.kind == BACKING_MEMFD || b.kind == BACKING_MEMFD_HUGE,
				    "auto without devdax picked %s", backing_kind_name(b.kind));
		backing_close(&b);
		TEST_ASSERT(bk_count_fds() == fds_before, "auto leaked an fd");
	}
	printf("PASS\n");
	return T_PASS;
}
