/* The dax guard on a fake sysfs tree and uevents injected through a socketpair: it fires once
 * for its own device's unbind (uevent and sysfs), never for another device's events or for
 * harmless actions, and start/stop leaves no fd or thread behind. */
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/test.h"
#include "validate/dax_guard.h"

static char root[256];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned calls;
static struct dax_guard_event last;

static void on_event(const struct dax_guard_event *ev, void *opaque)
{
	(void)opaque;
	pthread_mutex_lock(&lock);
	calls++;
	last = *ev;
	pthread_mutex_unlock(&lock);
}

static unsigned get_calls(void)
{
	unsigned n;

	pthread_mutex_lock(&lock);
	n = calls;
	pthread_mutex_unlock(&lock);
	return n;
}

static void reset_calls(void)
{
	pthread_mutex_lock(&lock);
	calls = 0;
	memset(&last, 0, sizeof(last));
	pthread_mutex_unlock(&lock);
}

static void msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits up to ms for at least one call. */
static bool wait_call(unsigned ms)
{
	for (unsigned i = 0; i < ms / 5; i++) {
		if (get_calls())
			return true;
		msleep(5);
	}
	return get_calls() > 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	TEST_ASSERT(f, "create %s", path);
	fputs(text, f);
	fclose(f);
}

static void make_dev(const char *name, const char *size)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/bus/dax/devices/%s", root, name);
	TEST_ASSERT(mkdir(p, 0755) == 0, "mkdir %s", p);
	snprintf(p, sizeof(p), "%s/bus/dax/devices/%s/size", root, name);
	write_file(p, size);
	snprintf(p, sizeof(p), "%s/bus/dax/devices/%s/resource", root, name);
	write_file(p, "0x141200000\n");
	snprintf(p, sizeof(p), "%s/bus/dax/devices/%s/driver", root, name);
	TEST_ASSERT(symlink("../../../../bus/dax/drivers/device_dax", p) == 0, "symlink %s", p);
}

static void unbind(const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/bus/dax/devices/%s/driver", root, name);
	TEST_ASSERT(unlink(p) == 0, "unlink %s", p);
}

static void rebind(const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/bus/dax/devices/%s/driver", root, name);
	TEST_ASSERT(symlink("../../../../bus/dax/drivers/device_dax", p) == 0, "symlink %s", p);
}

/* A kernel-format uevent: "ACTION@DEVPATH\0ACTION=..\0DEVPATH=..\0SUBSYSTEM=..\0SEQNUM=..\0". */
static size_t uevent(char *buf, size_t len, const char *action, const char *devpath,
		     const char *subsystem, unsigned seq)
{
	int n = snprintf(buf, len, "%s@%s%cACTION=%s%cDEVPATH=%s%cSUBSYSTEM=%s%cSEQNUM=%u%c", action,
			 devpath, 0, action, 0, devpath, 0, subsystem, 0, seq, 0);

	return (size_t)n;
}

static void send_uevent(int fd, const char *action, const char *devpath, const char *subsystem,
			unsigned seq)
{
	char buf[512];
	size_t n = uevent(buf, sizeof(buf), action, devpath, subsystem, seq);

	TEST_ASSERT(send(fd, buf, n, 0) == (ssize_t)n, "send uevent");
}


#define DAX0 "/devices/platform/e820_pmem/ndbus0/region0/dax0.0/dax0.0"
#define DAX1 "/devices/platform/e820_pmem/ndbus0/region1/dax1.0/dax1.0"

static void test_match(void)
{
	struct dax_guard_event ev;
	char buf[512];
	size_t n;

	memset(&ev, 0, sizeof(ev));
	n = uevent(buf, sizeof(buf), "unbind", DAX0, "dax", 7);
	TEST_ASSERT(dax_guard_match_uevent(buf, n, "dax0.0", "device_dax", &ev), "own unbind");
	TEST_ASSERT(!strcmp(ev.action, "unbind") && ev.seqnum == 7 && strstr(ev.what, "driver unbound"),
		    "action %s seq %llu what %s", ev.action, (unsigned long long)ev.seqnum, ev.what);
	n = uevent(buf, sizeof(buf), "remove", DAX0, "dax", 8);
	TEST_ASSERT(dax_guard_match_uevent(buf, n, "dax0.0", "device_dax", &ev) &&
		    strstr(ev.what, "device removed"), "own remove: %s", ev.what);
	n = uevent(buf, sizeof(buf), "remove", "/bus/dax/drivers/device_dax", "drivers", 9);
	TEST_ASSERT(dax_guard_match_uevent(buf, n, "dax0.0", "device_dax", &ev) &&
		    strstr(ev.what, "driver device_dax was removed"), "driver removed: %s", ev.what);
	/* negatives: another device, a similar name, harmless actions, another subsystem, libudev */
	n = uevent(buf, sizeof(buf), "unbind", DAX1, "dax", 10);
	TEST_ASSERT(!dax_guard_match_uevent(buf, n, "dax0.0", "device_dax", &ev), "dax1.0 unbind matched");
	n = uevent(buf, sizeof(buf), "unbind", DAX0 "0", "dax", 11);
	TEST_ASSERT(!dax_guard_match_uevent(buf, n, "dax0.0", "device_dax", &ev), "dax0.00 matched");
	n = uevent(buf, sizeof(buf), "bind", DAX0, "dax", 12);
	TEST_ASSERT(!dax_guard_match_uevent(buf, n, "dax0.0", "device_dax", &ev), "bind matched");
	n = uevent(buf, sizeof(buf), "add", DAX0, "dax", 13);
	TEST_ASSERT(!dax_guard_match_uevent(buf, n, "dax0.0", "device_dax", &ev), "add matched");
	n = uevent(buf, sizeof(buf), "unbind", "/devices/virtual/foo/dax0.0", "foo", 14);
	TEST_ASSERT(!dax_guard_match_uevent(buf, n, "dax0.0", "device_dax", &ev), "other subsystem matched");
	n = uevent(buf, sizeof(buf), "remove", "/bus/dax/drivers/kmem", "drivers", 15);
	TEST_ASSERT(!dax_guard_match_uevent(buf, n, "dax0.0", "device_dax", &ev), "other driver matched");
	memcpy(buf, "libudev\0\xfe\xed\xca\xfe", 12);
	TEST_ASSERT(!dax_guard_match_uevent(buf, 12, "dax0.0", "device_dax", &ev), "libudev matched");
}

/* Uevents through a socketpair; the sysfs poll is slow enough (10 s) not to be the trigger. */
static void test_uevents(void)
{
	struct dax_guard_config cfg = { .device = "/dev/dax0.0", .sysfs_root = root, .poll_ms = 10000,
					.fn = on_event };
	struct dax_guard *g;
	struct dax_guard_event ev;
	struct err e = { 0 };
	int sv[2];

	TEST_ASSERT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	cfg.uevent_fd = sv[0];
	reset_calls();
	TEST_ASSERT(dax_guard_start(&cfg, &g, &e) == 0, "start: %s", e.msg);
	TEST_ASSERT(!strcmp(dax_guard_sources(g), "uevent+sysfs"), "sources %s", dax_guard_sources(g));
	TEST_ASSERT(!strcmp(dax_guard_driver(g), "device_dax"), "driver %s", dax_guard_driver(g));
	/* negative control: unrelated events only */
	send_uevent(sv[1], "unbind", DAX1, "dax", 100);
	send_uevent(sv[1], "remove", DAX1, "dax", 101);
	send_uevent(sv[1], "bind", DAX0, "dax", 102);
	send_uevent(sv[1], "remove", "/devices/virtual/net/veth0", "net", 103);
	TEST_ASSERT(send(sv[1], "libudev\0garbage", 15, 0) == 15, "send libudev");
	msleep(300);
	TEST_ASSERT(get_calls() == 0, "fired on an unrelated event: %s", last.what);
	TEST_ASSERT(!dax_guard_tripped(g, NULL), "tripped without a callback");
	/* positive: our unbind */
	send_uevent(sv[1], "unbind", DAX0, "dax", 104);
	TEST_ASSERT(wait_call(3000), "no callback for the unbind of dax0.0");
	TEST_ASSERT(dax_guard_tripped(g, &ev), "not tripped after the callback");
	TEST_ASSERT(ev.source == DAX_GUARD_SRC_UEVENT && ev.seqnum == 104 && !strcmp(ev.device, "dax0.0") &&
		    strstr(ev.what, "driver unbound"), "event %s seq %llu %s", dax_guard_source_name(ev.source),
		    (unsigned long long)ev.seqnum, ev.what);
	TEST_ASSERT(ev.arrival_ns && ev.detect_ns >= ev.arrival_ns, "times %llu %llu",
		    (unsigned long long)ev.arrival_ns, (unsigned long long)ev.detect_ns);
	/* once */
	send_uevent(sv[1], "remove", DAX0, "dax", 105);
	msleep(100);
	TEST_ASSERT(get_calls() == 1, "called %u times", get_calls());
	dax_guard_stop(g);
	close(sv[0]);
	close(sv[1]);
}

/* sysfs alone: another device's unbind is ignored, ours trips; a size change trips. */
static void test_sysfs(void)
{
	struct dax_guard_config cfg = { .device = "dax0.0", .sysfs_root = root, .no_uevents = true,
					.uevent_fd = -1, .poll_ms = 10, .fn = on_event };
	struct dax_guard *g;
	struct dax_guard_event ev;
	struct err e = { 0 };
	char p[512];

	reset_calls();
	TEST_ASSERT(dax_guard_start(&cfg, &g, &e) == 0, "start: %s", e.msg);
	TEST_ASSERT(!strncmp(dax_guard_sources(g), "sysfs", 5), "sources %s", dax_guard_sources(g));
	unbind("dax1.0");
	msleep(200);
	TEST_ASSERT(get_calls() == 0, "fired for dax1.0: %s", last.what);
	unbind("dax0.0");
	TEST_ASSERT(wait_call(3000), "no callback for the sysfs unbind of dax0.0");
	TEST_ASSERT(dax_guard_tripped(g, &ev) && ev.source == DAX_GUARD_SRC_SYSFS &&
		    strstr(ev.what, "driver unbound"), "event %s", ev.what);
	dax_guard_stop(g);
	rebind("dax0.0");
	rebind("dax1.0");

	reset_calls();
	TEST_ASSERT(dax_guard_start(&cfg, &g, &e) == 0, "start: %s", e.msg);
	msleep(100);
	TEST_ASSERT(get_calls() == 0, "fired on an unchanged device: %s", last.what);
	snprintf(p, sizeof(p), "%s/bus/dax/devices/dax0.0/size", root);
	write_file(p, "0\n");
	TEST_ASSERT(wait_call(3000), "no callback for the size change");
	TEST_ASSERT(dax_guard_tripped(g, &ev) && strstr(ev.what, "size changed"), "event %s", ev.what);
	dax_guard_stop(g);
	write_file(p, "1054867456\n");
}

/* Tripped by sysfs first: the guard then records the matching uevent that comes late (not an
 * unrelated one), without a second callback. */
static void test_late_uevent(void)
{
	struct dax_guard_config cfg = { .device = "dax0.0", .sysfs_root = root, .poll_ms = 10, .fn = on_event };
	struct dax_guard *g;
	struct dax_guard_event ev, late;
	struct err e = { 0 };
	int sv[2];

	TEST_ASSERT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	cfg.uevent_fd = sv[0];
	reset_calls();
	TEST_ASSERT(dax_guard_start(&cfg, &g, &e) == 0, "start: %s", e.msg);
	unbind("dax0.0");
	TEST_ASSERT(wait_call(3000), "no callback for the sysfs unbind");
	TEST_ASSERT(dax_guard_tripped(g, &ev) && ev.source == DAX_GUARD_SRC_SYSFS, "source %s",
		    dax_guard_source_name(ev.source));
	send_uevent(sv[1], "unbind", DAX1, "dax", 200);
	msleep(100);
	TEST_ASSERT(!dax_guard_late_uevent(g, NULL), "an unrelated uevent counted as the late one");
	send_uevent(sv[1], "unbind", DAX0, "dax", 201);
	for (int i = 0; i < 300 && !dax_guard_late_uevent(g, NULL); i++)
		msleep(10);
	TEST_ASSERT(dax_guard_late_uevent(g, &late) && late.seqnum == 201 && late.arrival_ns >= ev.arrival_ns,
		    "late uevent not recorded");
	TEST_ASSERT(get_calls() == 1, "called %u times", get_calls());
	dax_guard_stop(g);
	rebind("dax0.0");
	close(sv[0]);
	close(sv[1]);
}

static void test_refusals(void)
{
	struct dax_guard_config cfg = { .device = "dax1.0", .sysfs_root = root, .no_uevents = true,
					.uevent_fd = -1, .fn = on_event };
	struct dax_guard *g = NULL;
	struct err e = { 0 };

	unbind("dax1.0");
	TEST_ASSERT(dax_guard_start(&cfg, &g, &e) == -ENODEV && !g && strstr(e.msg, "dax1.0"),
		    "unbound device accepted: %s", e.msg);
	rebind("dax1.0");
	err_reset(&e);
	cfg.device = "/dev/pmem0";
	TEST_ASSERT(dax_guard_start(&cfg, &g, &e) == -EINVAL && !g, "pmem0 accepted: %s", e.msg);
	err_reset(&e);
	cfg.device = "dax7.0";
	TEST_ASSERT(dax_guard_start(&cfg, &g, &e) == -ENODEV && !g, "missing device accepted: %s", e.msg);
}

int main(void)
{
	char p[512];
	unsigned fds0, tasks0;

	snprintf(root, sizeof(root), "/tmp/dax_guard_test.XXXXXX");
	TEST_ASSERT(mkdtemp(root), "mkdtemp");
	snprintf(p, sizeof(p), "%s/bus", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/bus/dax", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/bus/dax/devices", root);
	mkdir(p, 0755);
	make_dev("dax0.0", "1054867456\n");
	make_dev("dax1.0", "1054867456\n");
	fds0 = t_count_dir("/proc/self/fd");
	tasks0 = t_count_dir("/proc/self/task");

	test_match();
	test_uevents();
	test_sysfs();
	test_late_uevent();
	test_refusals();

	TEST_ASSERT(t_count_dir("/proc/self/fd") == fds0 + 0 - 0, "fds %u -> %u (socketpair closed by the test)",
		    fds0, t_count_dir("/proc/self/fd"));
	TEST_ASSERT(t_count_dir("/proc/self/task") == tasks0, "threads %u -> %u", tasks0,
		    t_count_dir("/proc/self/task"));
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	TEST_ASSERT(system(p) == 0, "cleanup");
	printf("PASS dax_guard: uevent and sysfs unbind fire once, unrelated events do not, no leaks\n");
	return T_PASS;
}
