/* What an init process sets up before the work and does after it: the console, the kernel's
 * file systems, modules the initramfs carries, and the power-off. */
#ifndef DAXVM_GUEST_LINUX_BOOT_H
#define DAXVM_GUEST_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

/* The order file an initramfs may carry: one module path per line, loaded in that order
 * (guest/linux/mkinitramfs.py --modules writes it). */
#define BOOT_MODULES_ORDER "/lib/modules/daxvm-modules.order"

/* fds 0-2 on the console: the kernel opens /dev/console for init when the initramfs has the
 * node; otherwise this opens it once devtmpfs is mounted. */
void boot_console(void);

/* Mounts proc, sysfs and devtmpfs. Returns 0 or -errno with why. */
int boot_mounts(char *why, size_t why_len);

/* Loads the modules named in BOOT_MODULES_ORDER (none when the file is absent); a module
 * already present counts as loaded. Returns how many, or -errno with why. */
int boot_load_modules(char *why, size_t why_len);

/* Reads a whole small file (NUL-terminated). Returns 0 or -errno. */
int boot_read_file(const char *path, char *buf, size_t len);
/* The first PCI device with this vendor and device ID ("0x1234"), its address into bdf;
 * 0, -ENODEV, or -errno when /sys/bus/pci/devices cannot be read. */
int boot_find_pci(const char *vendor, const char *device, char *bdf, size_t len);

/* MemAvailable from /proc/meminfo in bytes, or 0. */
uint64_t boot_mem_available(void);

/* Seconds since the kernel started (/proc/uptime), or 0. */
double boot_uptime(void);

/* Powers the guest off (reboots when power-off is not possible); never returns. */
void boot_power_off(void) __attribute__((noreturn));

#endif
