/* Pin counters: global FOLL_PIN counts (vmstat, Linux 5.8) and this process's VmPin/VmLck. */
#include "validate/vmstat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int vmstat_refresh(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, "1\n", 2) != 2)
		ret = -errno;
	close(fd);
	return ret;
}

/* Without the privilege to write stat_refresh (root), let the kernel fold the per-CPU deltas
 * itself: vmstat_shepherd does every vm.stat_interval seconds (default 1; mm/vmstat.c). Costs
 * about 1.3 s per judged reading, only for an unprivileged run (measured in the lab on 6.1:
 * 28 of 16,384 pins were still in per-CPU deltas right after pinning). */
static void wait_for_fold(void)
{
	FILE *f = fopen("/proc/sys/vm/stat_interval", "re");
	unsigned interval = 1;
	struct timespec ts;

	if (f) {
		if (fscanf(f, "%u", &interval) != 1 || interval < 1 || interval > 2)
			interval = interval > 2 ? 2 : 1;
		fclose(f);
	}
	ts.tv_sec = interval;
	ts.tv_nsec = 300 * 1000 * 1000;
	nanosleep(&ts, NULL);
}

int vmstat_read_pins(struct vmstat_pins *p, struct err *e)
{
	char line[128];
	int found = 0;
	FILE *f;

	memset(p, 0, sizeof(*p));
	/* The counters are per-CPU and folded lazily: without a refresh, deltas were off by
	 * tens of pages on this machine. */
	p->refreshed = vmstat_refresh() == 0;
	if (!p->refreshed)
		wait_for_fold();
	f = fopen("/proc/vmstat", "re");
	if (!f)
		return err_set(e, -errno, "cannot read /proc/vmstat: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nr_foll_pin_acquired %" SCNu64, &p->acquired) == 1)
			found |= 1;
		else if (sscanf(line, "nr_foll_pin_released %" SCNu64, &p->released) == 1)
			found |= 2;
	}
	fclose(f);
	if (found != 3)
		return err_set(e, -ENOENT,
			       "/proc/vmstat has no nr_foll_pin_acquired/released counters: Linux 5.8 or newer is needed");
	return 0;
}

int vmstat_status_kib(pid_t pid, const char *field, uint64_t *kib, struct err *e)
{
	size_t n = strlen(field);
	char line[256], path[64];
	FILE *f;
	int ret = -ENOENT;

	if (pid <= 0 || pid == getpid())
		snprintf(path, sizeof(path), "/proc/self/status");
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return err_set(e, -errno, "cannot read %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n) && line[n] == ':' &&
		    sscanf(line + n + 1, "%" SCNu64, kib) == 1) {
			ret = 0;
			break;
		}
	}
	fclose(f);
	if (ret)
		return err_set(e, ret, "%s has no %s field", path, field);
	return 0;
}

int vmstat_self_kib(const char *field, uint64_t *kib, struct err *e)
{
	return vmstat_status_kib(0, field, kib, e);
}
