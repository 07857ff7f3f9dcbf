/* e1000e in MSI-X mode, then MSI mode, and the interrupts the guest took in each. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "nic_irq.h"

#define E1000E_KO "/lib/modules/e1000e.ko"	/* where mkinitramfs.py --modules puts it */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* The driver's interface under the device, waiting up to timeout_s for the probe. */
static int netdev_of(const char *bdf, char *name, size_t len, double timeout_s)
{
	char path[300];
	double end = now_s() + timeout_s;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/net", bdf);
	do {
		DIR *dir = opendir(path);
		struct dirent *de;

		while (dir && (de = readdir(dir)))
			if (de->d_name[0] != '.') {
				snprintf(name, len, "%.15s", de->d_name);	/* IFNAMSIZ - 1 */
				closedir(dir);
				return 0;
			}
		if (dir)
			closedir(dir);
		usleep(20000);
	} while (now_s() < end);
	return -ENODEV;
}

static int set_up(const char *ifname, bool up)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	else {
		ifr.ifr_flags = (short)(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			ret = -errno;
	}
	close(s);
	return ret;
}

/* Interrupts on the device's IRQs of one mode ("msi" or "msix", from msi_irqs/N). */
static uint64_t count_irqs(const char *bdf, const char *mode, unsigned *vectors)
{
	char path[300], kind[16], line[4096];
	unsigned irqs[64], n = 0;
	uint64_t total = 0;
	struct dirent *de;
	DIR *dir;
	FILE *f;

	*vectors = 0;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/msi_irqs", bdf);
	dir = opendir(path);
	while (dir && (de = readdir(dir)) && n < 64) {
		char p2[600];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "%s/%s", path, de->d_name);
		if (boot_read_file(p2, kind, sizeof(kind)) == 0 && !strncmp(kind, mode, strlen(mode)) &&
		    (kind[strlen(mode)] == '\n' || !kind[strlen(mode)]))
			irqs[n++] = (unsigned)atoi(de->d_name);
	}
	if (dir)
		closedir(dir);
	*vectors = n;
	f = fopen("/proc/interrupts", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		long irq = strtol(p, &end, 10);
		bool ours = false;

		if (end == p || *end != ':')
			continue;
		for (unsigned i = 0; i < n; i++)
			ours |= irqs[i] == (unsigned)irq;
		if (!ours)
			continue;
		for (p = end + 1;; p = end) {	/* the per-CPU counts */
			unsigned long long c = strtoull(p, &end, 10);

			if (end == p)
				break;
			total += c;
		}
	}
	if (f)
		fclose(f);
	return total;
}

/* The driver's own words about interrupts (kernel log lines naming e1000e or MSI), for the
 * lab log: what it fell back to, and why. */
static void print_driver_log(void)
{
	static char buf[1 << 17];
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof(buf) - 1), shown = 0;

	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *line = strtok(buf, "\n"); line && shown < 12; line = strtok(NULL, "\n"))
		if (strstr(line, "e1000e") && (strstr(line, "MSI") || strstr(line, "nterrupt") || strstr(line, "IntMode"))) {
			printf("edu: L2 kernel: %.200s\n", line);
			shown++;
		}
	fflush(stdout);
}

/* Up, let the driver's own interrupts come, count, down. */
static int one_mode(const char *bdf, const char *mode, unsigned *vectors, uint64_t *irqs, char *why, size_t why_len)
{
	char ifname[IFNAMSIZ];
	int ret = netdev_of(bdf, ifname, sizeof(ifname), 5.0);

	if (ret) {
		snprintf(why, why_len, "e1000e did not bind %s (no interface; %s mode)", bdf, mode);
		return ret;
	}
	ret = set_up(ifname, true);
	if (ret) {
		snprintf(why, why_len, "bringing %s up (%s mode) failed: %s", ifname, mode, strerror(-ret));
		return ret;
	}
	/* The link-status interrupt of e1000_open comes at once; give the watchdog a moment. */
	for (double end = now_s() + 2.0; now_s() < end;) {
		*irqs = count_irqs(bdf, mode, vectors);
		if (*irqs >= 2)
			break;
		usleep(50000);
	}
	printf("edu: e1000e %s (%s) in %s mode: %u vectors, %llu interrupts taken\n", bdf, ifname, mode, *vectors,
	       (unsigned long long)*irqs);
	fflush(stdout);
	set_up(ifname, false);
	if (!*vectors || !*irqs) {
		print_driver_log();
		snprintf(why, why_len, "e1000e in %s mode: %u vectors, %llu interrupts (the driver fell back?)", mode,
			 *vectors, (unsigned long long)*irqs);
		return -EIO;
	}
	return 0;
}

void nic_irq_park(void)
{
	syscall(SYS_delete_module, "e1000e", O_NONBLOCK);	/* ENOENT when it is not loaded */
}

static int load_e1000e(const char *params, char *why, size_t why_len)
{
	int fd = open(E1000E_KO, O_RDONLY | O_CLOEXEC), ret;

	ret = fd < 0 ? -errno : syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	if (fd >= 0)
		close(fd);
	if (ret)
		snprintf(why, why_len, "loading %s '%s' failed: %s", E1000E_KO, params, strerror(-ret));
	return ret;
}

int nic_irq_run(struct nic_irq_result *r, char *why, size_t why_len)
{
	double t0 = now_s();
	int ret;

	memset(r, 0, sizeof(*r));
	if (boot_find_pci("0x8086", "0x10d3", r->bdf, sizeof(r->bdf))) {
		r->bdf[0] = 0;
		return -ENODEV;
	}
	/* MSI-X: e1000e with its defaults; MSI: again with IntMode=1. */
	nic_irq_park();
	ret = load_e1000e("", why, why_len);
	if (!ret)
		ret = one_mode(r->bdf, "msix", &r->msix_vectors, &r->msix_irqs, why, why_len);
	if (ret)
		goto out;
	if (syscall(SYS_delete_module, "e1000e", O_NONBLOCK)) {
		ret = -errno;
		snprintf(why, why_len, "unloading e1000e failed: %s", strerror(errno));
		goto out;
	}
	/* No interrupt throttling: e1000_test_msi gives the test interrupt 100 ms. */
	ret = load_e1000e("IntMode=1 InterruptThrottleRate=0", r->msi_why, sizeof(r->msi_why));
	if (!ret)
		one_mode(r->bdf, "msi", &r->msi_vectors, &r->msi_irqs, r->msi_why, sizeof(r->msi_why));
	ret = 0;
out:
	r->seconds = now_s() - t0;
	return ret;
}
