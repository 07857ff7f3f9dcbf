/* The dax guard: watches one device-dax device from a thread and says, once, when it goes away
 * (its driver unbound, the device removed or changed). No kernel makes a long-term pin hold the
 * device's dev_pagemap (docs/findings/devdax-teardown-under-pins.md): `daxctl disable-device`
 * succeeds under live pins and device DMA through the old IOMMU mappings still lands in the
 * released memory, so whoever holds pins on the device must watch it and stop DMA itself.
 *
 * Two sources, both checked by the guard thread:
 *   - kernel uevents (a NETLINK_KOBJECT_UEVENT socket, kernel multicast group 1): "unbind",
 *     "remove", "change", "offline" or "move" of the device (SUBSYSTEM=dax, DEVPATH ending in
 *     /daxX.Y), and "unbind"/"remove" of the driver it was bound to;
 *   - sysfs, polled every poll_ms as a fallback (and for kernels or containers where the socket
 *     cannot be opened): SYSFS/bus/dax/devices/daxX.Y/driver must stay a link to the same driver,
 *     and `size` and `resource` must keep the values they had at start.
 * The first event that matches calls fn once, on the guard thread; the guard then stops
 * watching, except that after a sysfs trip it waits for the matching uevent to record when it
 * came (dax_guard_late_uevent). dax_guard_stop() joins the thread and closes the socket.
 *
 * Tests inject both sources: cfg.sysfs_root points at a fake tree and cfg.uevent_fd at one end
 * of a socketpair (SOCK_DGRAM or SOCK_SEQPACKET) carrying uevent-formatted datagrams. */
#ifndef DAXVM_VALIDATE_DAX_GUARD_H
#define DAXVM_VALIDATE_DAX_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define DAX_GUARD_NAME_BYTES 64

enum dax_guard_source {
	DAX_GUARD_SRC_NONE = 0,
	DAX_GUARD_SRC_UEVENT,	/* a kernel uevent */
	DAX_GUARD_SRC_SYSFS,	/* the sysfs poll */
};

struct dax_guard_event {
	char device[DAX_GUARD_NAME_BYTES];	/* "dax0.0" */
	enum dax_guard_source source;
	char action[16];			/* uevent ACTION ("unbind"), or "sysfs" */
	char what[192];				/* "driver unbound (uevent unbind of dax0.0)" */
	uint64_t seqnum;			/* uevent SEQNUM, 0 for sysfs */
	uint64_t arrival_ns;	/* CLOCK_MONOTONIC: the uevent was read, or the sysfs read that
				 * saw the change returned */
	uint64_t detect_ns;	/* CLOCK_MONOTONIC: matched, just before fn is called */
};

typedef void (*dax_guard_fn)(const struct dax_guard_event *ev, void *opaque);

struct dax_guard_config {
	const char *device;	/* "dax0.0" or "/dev/dax0.0" */
	const char *sysfs_root;	/* NULL = "/sys"; tests: a fake tree with bus/dax/devices/... */
	int uevent_fd;		/* -1: open a NETLINK_KOBJECT_UEVENT socket (closed at stop);
				 * >= 0: read uevents from this fd (the caller's; not closed) */
	bool no_uevents;	/* sysfs only (uevent_fd ignored) */
	unsigned poll_ms;	/* sysfs poll interval; 0 = 50 ms */
	dax_guard_fn fn;	/* required: called once, from the guard thread */
	void *opaque;
};

struct dax_guard;

/* Reads the device's sysfs state (it must exist and be bound to a driver), opens the uevent
 * socket and starts the thread. Without a usable netlink socket the guard still runs on sysfs
 * alone; dax_guard_sources() says which. -errno with one sentence. */
int dax_guard_start(const struct dax_guard_config *cfg, struct dax_guard **out, struct err *e);

/* Stops and joins the thread, closes the socket it opened, frees. NULL is fine. Do not call
 * from fn. */
void dax_guard_stop(struct dax_guard *g);

/* True once fn was called; ev (may be NULL) gets the event. Thread-safe. */
bool dax_guard_tripped(struct dax_guard *g, struct dax_guard_event *ev);

/* After a trip by sysfs the guard goes on reading uevents (no second callback) until the
 * uevent of the same event arrives: true once it did, with ev (its arrival_ns). */
bool dax_guard_late_uevent(struct dax_guard *g, struct dax_guard_event *ev);

/* "uevent+sysfs" or "sysfs (netlink: <why>)": what the guard is watching with. */
const char *dax_guard_sources(const struct dax_guard *g);

/* The driver the device was bound to at start ("device_dax"). */
const char *dax_guard_driver(const struct dax_guard *g);

const char *dax_guard_source_name(enum dax_guard_source s);	/* "uevent", "sysfs", "none" */

/* Parses one uevent datagram (kernel format "ACTION@DEVPATH\0KEY=VALUE\0..."; libudev's
 * "libudev\0" messages are ignored) and decides whether it concerns dax device `device` bound
 * to `driver`: true with ev->action and ev->what filled. Pure; exposed for tests. */
bool dax_guard_match_uevent(const char *buf, size_t len, const char *device, const char *driver,
			    struct dax_guard_event *ev);

#endif
