/* The dax guard: kernel uevents plus a sysfs poll on one device-dax device, from a thread;
 * one callback when the device goes away. See dax_guard.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "validate/dax_guard.h"

#define DAX_GUARD_DEFAULT_POLL_MS 50
#define UEVENT_BUF 8192

struct sysfs_state {
	bool present;		/* the device directory exists */
	char driver[DAX_GUARD_NAME_BYTES];	/* basename of the driver link, "" when unbound */
	char size[32];		/* contents of size ("" when absent) */
	char resource[32];	/* contents of resource ("" when absent: older kernels) */
};

struct dax_guard {
	struct dax_guard_config cfg;
	char device[DAX_GUARD_NAME_BYTES];
	char sysfs_root[1024];
	struct sysfs_state start;
	int uevent_fd;		/* -1 when sysfs only */
	bool own_uevent_fd;
	int stop_fd;		/* eventfd */
	pthread_t thread;
	bool thread_started;
	char sources[160];
	pthread_mutex_t lock;
	bool tripped;
	struct dax_guard_event ev;
	bool late_seen;			/* tripped by sysfs, then the uevent came */
	struct dax_guard_event late;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

const char *dax_guard_source_name(enum dax_guard_source s)
{
	switch (s) {
	case DAX_GUARD_SRC_UEVENT: return "uevent";
	case DAX_GUARD_SRC_SYSFS: return "sysfs";
	default: return "none";
	}
}

/* "/dev/dax0.0" or "dax0.0" -> "dax0.0"; false when it does not look like daxX.Y. */
static bool dax_name(const char *in, char *out, size_t len)
{
	const char *b = strrchr(in, '/');
	unsigned a, c;
	char tail;

	b = b ? b + 1 : in;
	if (sscanf(b, "dax%u.%u%c", &a, &c, &tail) != 2 || strlen(b) >= len)
		return false;
	snprintf(out, len, "%s", b);
	return true;
}

static void read_small(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, out, len - 1);
	close(fd);
	if (n < 0)
		n = 0;
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
}

static void read_state(const struct dax_guard *g, struct sysfs_state *st)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], link[PATH_MAX];
	struct stat sb;
	ssize_t n;

	memset(st, 0, sizeof(*st));
	snprintf(dir, sizeof(dir), "%s/bus/dax/devices/%s", g->sysfs_root, g->device);
	if (stat(dir, &sb) || !S_ISDIR(sb.st_mode))
		return;
	st->present = true;
	snprintf(path, sizeof(path), "%s/driver", dir);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		const char *base;

		link[n] = '\0';
		base = strrchr(link, '/');
		snprintf(st->driver, sizeof(st->driver), "%.63s", base ? base + 1 : link);
	}
	snprintf(path, sizeof(path), "%s/size", dir);
	read_small(path, st->size, sizeof(st->size));
	snprintf(path, sizeof(path), "%s/resource", dir);
	read_small(path, st->resource, sizeof(st->resource));
}

/* What changed from the start state, as a phrase; false when nothing did. */
static bool state_changed(const struct dax_guard *g, const struct sysfs_state *now, char *what,
			  size_t len)
{
	const struct sysfs_state *s0 = &g->start;

	if (!now->present)
		snprintf(what, len, "device removed (sysfs: %.60s/bus/dax/devices/%.20s is gone)",
			 g->sysfs_root, g->device);
	else if (!now->driver[0])
		snprintf(what, len, "driver unbound (sysfs: %s has no driver link, was %s)",
			 g->device, s0->driver);
	else if (strcmp(now->driver, s0->driver))
		snprintf(what, len, "driver changed from %s to %s (sysfs)", s0->driver, now->driver);
	else if (strcmp(now->size, s0->size))
		snprintf(what, len, "size changed from %s to %s (sysfs)", s0->size,
			 now->size[0] ? now->size : "nothing");
	else if (strcmp(now->resource, s0->resource))
		snprintf(what, len, "resource changed from %s to %s (sysfs)", s0->resource,
			 now->resource[0] ? now->resource : "nothing");
	else
		return false;
	return true;
}

/* The value of KEY= in a uevent's NUL-separated environment, or NULL. */
static const char *uevent_get(const char *buf, size_t len, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i < len;) {
		const char *s = buf + i;
		size_t n = strnlen(s, len - i);

		if (n > klen && !strncmp(s, key, klen) && s[klen] == '=')
			return s + klen + 1;
		i += n + 1;
	}
	return NULL;
}

bool dax_guard_match_uevent(const char *buf, size_t len, const char *device, const char *driver,
			    struct dax_guard_event *ev)
{
	static const char *const device_actions[] = { "unbind", "remove", "change", "offline", "move" };
	const char *action, *devpath, *subsystem, *seq, *base;
	char drvpath[DAX_GUARD_NAME_BYTES + 32];
	size_t hdr;

	if (!len || len > UEVENT_BUF)
		return false;
	hdr = strnlen(buf, len);
	/* Kernel messages start with "ACTION@DEVPATH"; libudev's with "libudev" (ignored). */
	if (hdr == len || !memchr(buf, '@', hdr))
		return false;
	action = uevent_get(buf + hdr + 1, len - hdr - 1, "ACTION");
	devpath = uevent_get(buf + hdr + 1, len - hdr - 1, "DEVPATH");
	subsystem = uevent_get(buf + hdr + 1, len - hdr - 1, "SUBSYSTEM");
	seq = uevent_get(buf + hdr + 1, len - hdr - 1, "SEQNUM");
	if (!action || !devpath || !subsystem)
		return false;
	base = strrchr(devpath, '/');
	base = base ? base + 1 : devpath;
	if (!strcmp(subsystem, "dax") && !strcmp(base, device)) {
		size_t i;

		for (i = 0; i < sizeof(device_actions) / sizeof(device_actions[0]); i++)
			if (!strcmp(action, device_actions[i]))
				break;
		if (i == sizeof(device_actions) / sizeof(device_actions[0]))
			return false;	/* add, bind, online: not a hazard */
		snprintf(ev->what, sizeof(ev->what), "%s (uevent %s of %s)",
			 !strcmp(action, "unbind") ? "driver unbound" :
			 !strcmp(action, "remove") ? "device removed" :
			 !strcmp(action, "change") ? "device changed" :
			 !strcmp(action, "offline") ? "device offlined" : "device moved",
			 action, device);
	} else if (driver && driver[0] && !strcmp(subsystem, "drivers") &&
		   snprintf(drvpath, sizeof(drvpath), "/bus/dax/drivers/%s", driver) > 0 &&
		   !strcmp(devpath, drvpath) &&
		   (!strcmp(action, "remove") || !strcmp(action, "unbind"))) {
		snprintf(ev->what, sizeof(ev->what), "its driver %s was removed (uevent %s of %s)",
			 driver, action, devpath);
	} else {
		return false;
	}
	snprintf(ev->action, sizeof(ev->action), "%s", action);
	ev->seqnum = seq ? strtoull(seq, NULL, 10) : 0;
	ev->source = DAX_GUARD_SRC_UEVENT;
	return true;
}

static void trip(struct dax_guard *g, struct dax_guard_event *ev)
{
	snprintf(ev->device, sizeof(ev->device), "%s", g->device);
	ev->detect_ns = mono_ns();
	pthread_mutex_lock(&g->lock);
	g->ev = *ev;
	g->tripped = true;
	pthread_mutex_unlock(&g->lock);
	g->cfg.fn(ev, g->cfg.opaque);
}

/* Reads every pending datagram; true (and ev filled) at the first that matches. */
static bool drain_uevents(struct dax_guard *g, struct dax_guard_event *ev)
{
	char buf[UEVENT_BUF + 1];

	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = { buf, UEVENT_BUF };
		struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov,
				     .msg_iovlen = 1 };
		ssize_t n;

		memset(&sa, 0, sizeof(sa));
		n = recvmsg(g->uevent_fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;	/* ENOBUFS: lost some; the sysfs check follows */
			return false;		/* EAGAIN: drained */
		}
		if (n == 0) {
			/* the peer (a test) closed its end: sysfs only from here */
			g->uevent_fd = g->own_uevent_fd ? g->uevent_fd : -1;
			return false;
		}
		/* Only the kernel (port 0) sends kernel uevents on the netlink socket. */
		if (mh.msg_namelen >= sizeof(sa.nl_family) && sa.nl_family == AF_NETLINK && sa.nl_pid)
			continue;
		buf[n] = '\0';
		memset(ev, 0, sizeof(*ev));
		ev->arrival_ns = mono_ns();
		if (dax_guard_match_uevent(buf, (size_t)n, g->device, g->start.driver, ev))
			return true;
	}
}

/* After a sysfs trip: waits for the uevent that announces the same event (evidence that
 * the uevent path works, and how late it is), until stopped. */
static void await_late_uevent(struct dax_guard *g)
{
	while (g->uevent_fd >= 0) {
		struct pollfd pfd[2] = { { .fd = g->stop_fd, .events = POLLIN },
					 { .fd = g->uevent_fd, .events = POLLIN } };
		struct dax_guard_event ev;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return;
		if (pfd[0].revents)
			return;
		if (pfd[1].revents && drain_uevents(g, &ev)) {
			snprintf(ev.device, sizeof(ev.device), "%s", g->device);
			ev.detect_ns = ev.arrival_ns;
			pthread_mutex_lock(&g->lock);
			g->late = ev;
			g->late_seen = true;
			pthread_mutex_unlock(&g->lock);
			return;
		}
		if (pfd[1].revents & (POLLHUP | POLLERR))
			return;
	}
}

static void *guard_main(void *arg)
{
	struct dax_guard *g = arg;
	unsigned poll_ms = g->cfg.poll_ms ? g->cfg.poll_ms : DAX_GUARD_DEFAULT_POLL_MS;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = g->stop_fd, .events = POLLIN },
					 { .fd = g->uevent_fd, .events = POLLIN } };
		struct dax_guard_event ev;
		struct sysfs_state now;
		int n = poll(pfd, g->uevent_fd >= 0 ? 2 : 1, (int)poll_ms);

		if (n < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		if (g->uevent_fd >= 0 && pfd[1].revents) {
			if (drain_uevents(g, &ev)) {
				trip(g, &ev);
				break;
			}
			if (pfd[1].revents & (POLLHUP | POLLERR) && !g->own_uevent_fd)
				g->uevent_fd = -1;
		}
		memset(&ev, 0, sizeof(ev));
		read_state(g, &now);
		/* Seen when the read returned: sysfs reads can wait while the kernel unbinds. */
		ev.arrival_ns = mono_ns();
		if (state_changed(g, &now, ev.what, sizeof(ev.what))) {
			ev.source = DAX_GUARD_SRC_SYSFS;
			snprintf(ev.action, sizeof(ev.action), "sysfs");
			trip(g, &ev);
			await_late_uevent(g);
			break;
		}
	}
	return NULL;
}

static int open_netlink(char *why, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int size = 1 << 20;
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);

	if (fd < 0) {
		snprintf(why, len, "socket(NETLINK_KOBJECT_UEVENT): %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(why, len, "bind to the kernel uevent group: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* A burst of unrelated uevents must not overflow it (ENOBUFS is survived anyway). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return fd;
}

int dax_guard_start(const struct dax_guard_config *cfg, struct dax_guard **out, struct err *e)
{
	struct dax_guard *g;
	char why[128] = "";
	int ret;

	*out = NULL;
	if (!cfg->device || !cfg->fn)
		return err_set(e, -EINVAL, "the dax guard needs a device and a callback");
	g = calloc(1, sizeof(*g));
	if (!g)
		return err_set(e, -ENOMEM, "out of memory for the dax guard");
	g->cfg = *cfg;
	g->uevent_fd = -1;
	g->stop_fd = -1;
	pthread_mutex_init(&g->lock, NULL);
	if (!dax_name(cfg->device, g->device, sizeof(g->device))) {
		ret = err_set(e, -EINVAL, "%s is not a device-dax device name (daxX.Y)", cfg->device);
		goto fail;
	}
	snprintf(g->sysfs_root, sizeof(g->sysfs_root), "%.1000s", cfg->sysfs_root ? cfg->sysfs_root : "/sys");
	read_state(g, &g->start);
	if (!g->start.present || !g->start.driver[0]) {
		ret = err_set(e, -ENODEV, "%s is not a bound device-dax device (%s/bus/dax/devices/%s%s)",
			      g->device, g->sysfs_root, g->device, g->start.present ? " has no driver" : " is missing");
		goto fail;
	}
	if (cfg->no_uevents) {
		snprintf(why, sizeof(why), "not asked");
	} else if (cfg->uevent_fd >= 0) {
		g->uevent_fd = cfg->uevent_fd;
	} else {
		g->uevent_fd = open_netlink(why, sizeof(why));
		g->own_uevent_fd = g->uevent_fd >= 0;
	}
	if (g->uevent_fd >= 0)
		snprintf(g->sources, sizeof(g->sources), "uevent+sysfs");
	else
		snprintf(g->sources, sizeof(g->sources), "sysfs (no uevents: %s)", why);
	g->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->stop_fd < 0) {
		ret = err_set(e, -errno, "eventfd for the dax guard: %s", strerror(errno));
		goto fail;
	}
	ret = pthread_create(&g->thread, NULL, guard_main, g);
	if (ret) {
		ret = err_set(e, -ret, "cannot start the dax guard thread: %s", strerror(ret));
		goto fail;
	}
	g->thread_started = true;
	*out = g;
	return 0;
fail:
	dax_guard_stop(g);
	return ret;
}

void dax_guard_stop(struct dax_guard *g)
{
	uint64_t one = 1;

	if (!g)
		return;
	if (g->thread_started) {
		if (write(g->stop_fd, &one, sizeof(one)) < 0) {
			/* a wake-up is already pending */
		}
		pthread_join(g->thread, NULL);
	}
	if (g->own_uevent_fd && g->uevent_fd >= 0)
		close(g->uevent_fd);
	if (g->stop_fd >= 0)
		close(g->stop_fd);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

bool dax_guard_tripped(struct dax_guard *g, struct dax_guard_event *ev)
{
	bool t;

	pthread_mutex_lock(&g->lock);
	t = g->tripped;
	if (t && ev)
		*ev = g->ev;
	pthread_mutex_unlock(&g->lock);
	return t;
}

bool dax_guard_late_uevent(struct dax_guard *g, struct dax_guard_event *ev)
{
	bool seen;

	pthread_mutex_lock(&g->lock);
	seen = g->late_seen;
	if (seen && ev)
		*ev = g->late;
	pthread_mutex_unlock(&g->lock);
	return seen;
}

const char *dax_guard_sources(const struct dax_guard *g)
{
	return g->sources;
}

const char *dax_guard_driver(const struct dax_guard *g)
{
	return g->start.driver;
}
