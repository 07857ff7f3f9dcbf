/* The process inspect looks at: is it there, is it a VMM, what it runs with (argv), which pin
 * paths it holds open (VFIO, iommufd, io_uring fds), and a pidfd to see it end. */
#ifndef DAXVM_INSPECT_PROCESS_H
#define DAXVM_INSPECT_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "inspect/vmm_config.h"

#define INSPECT_MAX_ARGS 512

struct inspect_process {
	pid_t pid;
	int pidfd;			/* pidfd_open (Linux 5.3): readable once the process exits */
	char comm[32];
	enum inspect_vmm vmm;
	char *args;			/* /proc/PID/cmdline */
	char *argv[INSPECT_MAX_ARGS];
	int argc;
	/* Pin paths found among its open files: */
	unsigned vfio_container_fds;	/* /dev/vfio/vfio */
	unsigned vfio_group_fds;	/* /dev/vfio/N */
	unsigned iommufd_fds;		/* /dev/iommu */
	unsigned io_uring_fds;		/* anon_inode:[io_uring] */
};

/* Opens pid: -ESRCH "no process with pid N", -EPERM/-EACCES without the right to read its
 * memory map, -EINVAL "not a VMM" (neither qemu-system-* nor daxvm run/pin-check, judged by
 * argv[0] and comm). */
int inspect_process_open(pid_t pid, struct inspect_process *p, struct err *e);
void inspect_process_close(struct inspect_process *p);

/* Re-reads the open-file counts (pin paths). */
int inspect_process_scan_fds(struct inspect_process *p, struct err *e);

/* True once the process has exited (its pidfd is readable); false while it runs. */
bool inspect_process_exited(const struct inspect_process *p);

/* Waits up to ms for the exit; true when it has exited. */
bool inspect_process_wait_exit(const struct inspect_process *p, int ms);

/* The QEMU process whose command line carries -uuid uuid (libvirt passes the domain's UUID
 * to QEMU): -ESRCH when none runs on this host. */
int inspect_find_qemu_by_uuid(const char *uuid, pid_t *pid, struct err *e);

/* "vfio", "iommufd", "io_uring" or "none": the pin path its open files show. */
const char *inspect_process_pin_path(const struct inspect_process *p);

#endif
