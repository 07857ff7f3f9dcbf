/* A Linux bzImage behind the guest interface (the second implementation after the stress
 * guest): the kernel, its initrd and command line, the PC devices it needs, and what its
 * in-guest tool reports (guest/linux/daxvm_guest_abi.h). Internals shared by
 * linux_guest.c (the interface), linux_load.c (files, layout, writing RAM) and
 * linux_guest_report.c (collect). */
#ifndef DAXVM_VMM_LINUX_GUEST_H
#define DAXVM_VMM_LINUX_GUEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/cmos_rtc.h"
#include "devices/guest_ports.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "vmm/bzimage.h"
#include "vmm/guest.h"
#include "vmm/linux_boot_params.h"
#include "vmm/linux_result.h"

/* What daxvm puts on every Linux command line, before --append's text (the kernel takes the
 * last value of a repeated parameter, so the user's text wins): the console on the 8250,
 * reboot through the i8042 (daxvm's "the guest rebooted"), reboot at once on panic (a panic
 * is a run that rebooted without a verdict), no PS/2 mouse or multiplexer probing. */
#define LINUX_CMDLINE_BASE "console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.dumbkbd"
/* Before /init reports, the kernel may be quiet (the quiet parameter, a slow nested boot):
 * silence counts as a hang only after this many seconds, or the hang timeout if longer. */
#define LINUX_BOOT_SILENCE_S 30.0
/* A tool still running this long after its duration (or 10 hang timeouts if longer) has
 * not stopped by itself: the run fails. */
#define LINUX_LATE_MIN_S 60.0
#define LINUX_KERNEL_MAX_BYTES (256ULL << 20)
#define LINUX_MIN_RAM (64ULL << 20)

enum linux_end {
	LINUX_RUNNING,		/* no end seen */
	LINUX_END_VERDICT,	/* a write to the verdict port */
	LINUX_END_REBOOT,	/* the i8042 reset line */
};

struct guest {
	const struct run_config *cfg;
	unsigned nr_cpus;
	uint8_t *kernel;		/* the whole bzImage file */
	size_t kernel_bytes;
	uint8_t *initrd;
	size_t initrd_bytes;
	char *cmdline;
	size_t cmdline_len;
	struct bzimage_info info;
	struct linux_boot_layout layout;
	int vm_fd;			/* for the serial interrupt line; -1 before devices */
	struct serial *serial;		/* the session's console (not owned) */
	struct i8042 *kbd;
	struct guest_ports *ports;
	struct cmos_rtc *rtc;
	bool devices_attached;

	/* Written by vCPU threads, read by the run loop. */
	_Atomic int end;		/* enum linux_end */
	_Atomic int end_cpu;
	_Atomic uint32_t verdict;	/* the verdict port's value (valid with end VERDICT) */
	_Atomic uint32_t progress_mib;	/* the progress port's last value */
	_Atomic uint64_t start_ns;	/* vCPUs about to start (the "first instruction") */
	_Atomic uint64_t init_ns;	/* EVENT_INIT */
	_Atomic uint64_t running_ns;	/* EVENT_RUNNING */
	_Atomic uint64_t done_ns;	/* EVENT_DONE */
	_Atomic uint64_t port_life_ns;	/* last write to a guest port */
	/* Run loop only: console output seen as a sign of life. */
	unsigned long seen_serial_bytes;
	uint64_t serial_life_ns;

	pthread_mutex_t lock;		/* the result line */
	bool result_seen;
	int result_status;		/* 0, or -EINVAL: malformed */
	struct linux_result result;
	char result_error[256];
	unsigned result_lines;		/* result lines seen (more than one is odd) */
};

/* linux_load.c */
int linux_guest_read_files(struct guest *g, struct err *e);
int linux_guest_build_cmdline(struct guest *g, struct err *e);
/* Writes tables, MP table, zero page, command line, kernel and initrd into guest RAM. */
int linux_guest_write_ram(struct guest *g, const struct guest_machine *m, struct err *e);

/* linux_guest_report.c */
int linux_guest_collect(struct guest *g, const struct guest_machine *m, struct report *r,
			char *guest_failure, char *device_failure, size_t len);

#endif
