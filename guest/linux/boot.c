/* Init duties: console, mounts, modules, power-off (see boot.h). */
#include <dirent.h>
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static void console_fds(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

void boot_console(void)
{
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0)
		console_fds();
}

int boot_mounts(char *why, size_t why_len)
{
	static const struct {
		const char *type, *dir;
	} fs[] = { { "proc", "/proc" }, { "sysfs", "/sys" }, { "devtmpfs", "/dev" } };

	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		mkdir(fs[i].dir, 0755);
		if (mount(fs[i].type, fs[i].dir, fs[i].type, 0, NULL) && errno != EBUSY) {
			int err = -errno;

			snprintf(why, why_len, "mounting %s on %s failed: %s", fs[i].type, fs[i].dir,
				 strerror(errno));
			return err;
		}
	}
	/* The initramfs had no /dev/console: open it from devtmpfs now. */
	boot_console();
	return 0;
}

int boot_load_modules(char *why, size_t why_len)
{
	char line[512];
	int loaded = 0;
	FILE *f = fopen(BOOT_MODULES_ORDER, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		int fd, err;

		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			snprintf(why, why_len, "module %s listed in %s cannot be opened: %s", line,
				 BOOT_MODULES_ORDER, strerror(errno));
			fclose(f);
			return err;
		}
		/* finit_module (3.8+); glibc has no wrapper before 2.36's syscall list. */
		err = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
		close(fd);
		if (err && err != -EEXIST) {
			struct utsname u;

			snprintf(why, why_len, "loading module %s failed: %s (is it built for this kernel, %s?)",
				 line, strerror(-err), uname(&u) ? "?" : u.release);
			fclose(f);
			return err;
		}
		loaded++;
	}
	fclose(f);
	return loaded;
}

int boot_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

int boot_find_pci(const char *vendor, const char *device, char *bdf, size_t len)
{
	DIR *dir = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	char path[300], id[32];
	int ret = -ENODEV;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", de->d_name);
		if (boot_read_file(path, id, sizeof(id)) || strncmp(id, vendor, strlen(vendor)))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		if (boot_read_file(path, id, sizeof(id)) || strncmp(id, device, strlen(device)))
			continue;
		snprintf(bdf, len, "%.31s", de->d_name);
		ret = 0;
		break;
	}
	closedir(dir);
	return ret;
}

uint64_t boot_mem_available(void)
{
	char buf[4096], *p;

	if (boot_read_file("/proc/meminfo", buf, sizeof(buf)))
		return 0;
	p = strstr(buf, "MemAvailable:");
	return p ? strtoull(p + strlen("MemAvailable:"), NULL, 10) * 1024 : 0;
}

double boot_uptime(void)
{
	char buf[64];

	return boot_read_file("/proc/uptime", buf, sizeof(buf)) ? 0 : strtod(buf, NULL);
}

void boot_power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* Power-off failed (no ACPI, no pm_power_off): a reboot ends the VM too. */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
