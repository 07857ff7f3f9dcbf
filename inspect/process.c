/* /proc/PID of the inspected process: identity, argv, open pin paths, exit. */
#include "inspect/process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "validate/proc_maps.h"

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int read_argv(pid_t pid, char **args, char **argv, int *argc, struct err *e)
{
	char path[64];
	size_t len, off = 0;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	ret = proc_read_file(path, args, &len, e);
	if (ret)
		return ret;
	*argc = 0;
	while (off < len && *argc < INSPECT_MAX_ARGS - 1) {
		argv[(*argc)++] = *args + off;
		off += strlen(*args + off) + 1;
	}
	argv[*argc] = NULL;
	return 0;
}

static bool is_qemu(const char *argv0, const char *comm)
{
	const char *b = base(argv0);

	return !strncmp(b, "qemu-system-", 12) || !strcmp(b, "qemu-kvm") || !strncmp(comm, "qemu-system-", 12) ||
	       !strcmp(comm, "qemu-kvm");
}

int inspect_process_open(pid_t pid, struct inspect_process *p, struct err *e)
{
	char path[64], *comm;
	size_t len;
	int ret;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->pidfd = -1;
	if (pid <= 0)
		return err_set(e, -EINVAL, "%d is not a process id", (int)pid);
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd < 0) {
		ret = -errno;
		if (ret == -ESRCH)
			return err_set(e, ret, "no process with pid %d", (int)pid);
		return err_set(e, ret, "cannot watch pid %d (pidfd_open: %s; Linux 5.3 or newer is needed)",
			       (int)pid, strerror(-ret));
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	ret = proc_read_file(path, &comm, &len, e);
	if (ret) {
		inspect_process_close(p);
		return ret == -ENOENT ? err_replace(e, -ESRCH, "no process with pid %d", (int)pid) : ret;
	}
	snprintf(p->comm, sizeof(p->comm), "%.*s", (int)strcspn(comm, "\n"), comm);
	free(comm);
	ret = read_argv(pid, &p->args, p->argv, &p->argc, e);
	if (ret) {
		inspect_process_close(p);
		return ret;
	}
	if (p->argc >= 1 && is_qemu(p->argv[0], p->comm)) {
		p->vmm = INSPECT_VMM_QEMU;
	} else if (p->argc >= 2 && !strcmp(base(p->argv[0]), "daxvm") &&
		   (!strcmp(p->argv[1], "run") || !strcmp(p->argv[1], "pin-check"))) {
		p->vmm = INSPECT_VMM_DAXVM;
	} else {
		err_set(e, -EINVAL, "pid %d (%s) is not a VMM inspect knows: neither QEMU (qemu-system-*) nor "
			"daxvm run or pin-check", (int)pid, p->comm);
		inspect_process_close(p);
		return -EINVAL;
	}
	/* Reading another process's page map needs ptrace read access to it. */
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	ret = open(path, O_RDONLY | O_CLOEXEC);
	if (ret < 0) {
		ret = -errno;
		err_set(e, ret, "cannot read %s: %s: inspecting another process's page frames needs root",
			path, strerror(-ret));
		inspect_process_close(p);
		return ret;
	}
	close(ret);
	ret = inspect_process_scan_fds(p, e);
	if (ret)
		inspect_process_close(p);
	return ret;
}

void inspect_process_close(struct inspect_process *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	free(p->args);
	p->args = NULL;
	p->argc = 0;
}

int inspect_process_scan_fds(struct inspect_process *p, struct err *e)
{
	char dir[64], link[PATH_MAX], target[256];
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)p->pid);
	dp = opendir(dir);
	if (!dp)
		return err_set(e, errno == ENOENT ? -ESRCH : -errno, "cannot list %s: %s", dir, strerror(errno));
	p->vfio_container_fds = p->vfio_group_fds = p->iommufd_fds = p->io_uring_fds = 0;
	while ((d = readdir(dp))) {
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, d->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strcmp(target, "/dev/vfio/vfio"))
			p->vfio_container_fds++;
		else if (!strncmp(target, "/dev/vfio/", 10))
			p->vfio_group_fds++;
		else if (!strcmp(target, "/dev/iommu"))
			p->iommufd_fds++;
		else if (!strcmp(target, "anon_inode:[io_uring]"))
			p->io_uring_fds++;
	}
	closedir(dp);
	return 0;
}

const char *inspect_process_pin_path(const struct inspect_process *p)
{
	if (p->vfio_container_fds || p->vfio_group_fds)
		return "vfio";
	if (p->iommufd_fds)
		return "iommufd";
	if (p->io_uring_fds)
		return "io_uring";
	return "none";
}

bool inspect_process_wait_exit(const struct inspect_process *p, int ms)
{
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

	return p->pidfd >= 0 && poll(&pfd, 1, ms) > 0;
}

bool inspect_process_exited(const struct inspect_process *p)
{
	return inspect_process_wait_exit(p, 0);
}

int inspect_find_qemu_by_uuid(const char *uuid, pid_t *pid, struct err *e)
{
	DIR *dp = opendir("/proc");
	struct dirent *d;

	if (!dp)
		return err_set(e, -errno, "cannot list /proc: %s", strerror(errno));
	while ((d = readdir(dp))) {
		char *args = NULL, *argv[INSPECT_MAX_ARGS];
		pid_t cand = (pid_t)atoi(d->d_name);
		int argc = 0;
		bool hit = false;

		if (cand <= 0 || read_argv(cand, &args, argv, &argc, NULL))
			continue;
		if (argc && is_qemu(argv[0], ""))
			for (int i = 1; i + 1 < argc && !hit; i++)
				hit = !strcmp(argv[i], "-uuid") && !strcasecmp(argv[i + 1], uuid);
		free(args);
		if (hit) {
			closedir(dp);
			*pid = cand;
			return 0;
		}
	}
	closedir(dp);
	return err_set(e, -ESRCH, "no QEMU process with -uuid %s runs on this host", uuid);
}
