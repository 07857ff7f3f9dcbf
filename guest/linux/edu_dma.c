/* daxvm-edu: the /init of the edu passthrough check's initramfs (issue 11). Inside a Linux guest
 * that daxvm (or QEMU) gave QEMU's edu device (1234:11e8) through VFIO, it binds edu to
 * uio_pci_generic (for its interrupt), maps BAR0 from sysfs resource0, turns bus mastering on
 * through the config file, and runs edu DMA both ways between its buffer and pages of its own
 * RAM at many guest-physical addresses (= IOVAs in daxvm's container), waiting for each
 * completion by interrupt (polling as the fallback) and verifying every byte. Then one DMA aimed
 * at a guest-physical address outside RAM, which must land nowhere (the host's IOMMU refuses
 * it; the lab reads the host's kernel log). Prints the DAXVM-GUEST-RESULT line with
 * "tool":"edu", writes the verdict port and powers off.
 * When a second device, QEMU's e1000e, is passed through too, Linux's e1000e driver takes it in
 * MSI-X mode and then in MSI mode (nic_irq.c) and the interrupts L2 took are counted: the proof
 * that MSI-X and MSI reach the guest (edu's interrupt here is INTx, through uio_pci_generic).
 * Parameters on the kernel command line: daxvm_edu_rounds=N (round trips, default 24).
 * Modules: uio and uio_pci_generic (and e1000e) from the initramfs (mkinitramfs.py --modules). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "boot.h"
#include "daxvm_guest_abi.h"
#include "nic_irq.h"
#include "ports.h"

#define EDU_BUF		0x40000u	/* the device's DMA buffer, in edu's address space */
#define EDU_MAX_XFER	4095u		/* QEMU 7.2 aborts on a transfer reaching the last byte */
#define EDU_DMA_MASK	((1ull << 28) - 1)	/* edu's DMA address width */
#define POOL_BYTES	(16u << 20)	/* RAM the transfers go to and from */
#define PAGE		4096u

struct edu {
	char bdf[32];
	volatile uint8_t *bar0;
	int cfg_fd;			/* sysfs config */
	int uio_fd;			/* /dev/uioN, -1: poll only */
	uint64_t interrupts, polled;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static uint32_t rd32(struct edu *d, unsigned reg)
{
	return *(volatile uint32_t *)(d->bar0 + reg);
}

static void wr32(struct edu *d, unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(d->bar0 + reg) = v;
}

static void wr64(struct edu *d, unsigned reg, uint64_t v)
{
	*(volatile uint64_t *)(d->bar0 + reg) = v;
}

static int cfg_command(struct edu *d, uint16_t set, uint16_t clear)
{
	uint16_t cmd;

	if (pread(d->cfg_fd, &cmd, 2, 4) != 2)
		return -errno;
	cmd = (uint16_t)((cmd | set) & ~clear);
	return pwrite(d->cfg_fd, &cmd, 2, 4) == 2 ? 0 : -errno;
}

/* uio_pci_generic takes edu by ID; its uio node appears under the device. */
static int open_uio(struct edu *d)
{
	char path[300];
	DIR *dir;
	struct dirent *de;
	int fd = open("/sys/bus/pci/drivers/uio_pci_generic/new_id", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1234 11e8", 9) < 0 && errno != EEXIST)
			fprintf(stderr, "edu: new_id: %s\n", strerror(errno));
		close(fd);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/uio", d->bdf);
	for (int tries = 0; tries < 100; tries++) {
		dir = opendir(path);
		if (dir) {
			while ((de = readdir(dir)))
				if (!strncmp(de->d_name, "uio", 3)) {
					char dev[300];

					snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
					closedir(dir);
					for (int t = 0; t < 100; t++) {
						fd = open(dev, O_RDWR);
						if (fd >= 0)
							return fd;
						usleep(10000);
					}
					return -errno;
				}
			closedir(dir);
		}
		usleep(10000);
	}
	return -ENODEV;
}

/* Waits for the DMA started last: the interrupt through uio (then acknowledged at edu and
 * INTx unmasked again: uio_pci_generic masks it with COMMAND's INTx-disable bit, and a write
 * to /dev/uioN is ENOSYS for this driver), or edu's run bit when no interrupt comes. */
static int wait_dma(struct edu *d, double timeout_s)
{
	double end = now_s() + timeout_s;
	bool irq = false;

	if (d->uio_fd >= 0) {
		struct pollfd p = { .fd = d->uio_fd, .events = POLLIN };
		uint32_t count;

		if (poll(&p, 1, (int)(timeout_s * 1000)) == 1 && read(d->uio_fd, &count, 4) == 4) {
			irq = true;
			d->interrupts++;
			wr32(d, 0x64, rd32(d, 0x24));	/* acknowledge */
			cfg_command(d, 0, 0x400);	/* INTx back on */
		}
	}
	while (rd32(d, 0x98) & 1) {
		if (now_s() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	if (!irq)
		d->polled++;
	return 0;
}

static int dma(struct edu *d, uint64_t iova, uint32_t len, bool to_device)
{
	wr64(d, 0x80, to_device ? iova : EDU_BUF);
	wr64(d, 0x88, to_device ? EDU_BUF : iova);
	wr64(d, 0x90, len);
	wr64(d, 0x98, (to_device ? 0x1 : 0x3) | 0x4);	/* start, direction, interrupt when done */
	return wait_dma(d, 5.0);
}

static uint64_t phys_of(int pagemap, const void *p)
{
	uint64_t e = 0;

	if (pread(pagemap, &e, 8, (off_t)((uintptr_t)p / PAGE * 8)) != 8 || !(e >> 63))
		return 0;
	return (e & ((1ull << 55) - 1)) * PAGE;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint8_t pat(uint64_t seed, uint64_t i)
{
	uint64_t x = (seed + i / 8) * 0x9e3779b97f4a7c15ull;

	x ^= x >> 31;
	return (uint8_t)(x >> (i % 8 * 8));
}

/* End of the highest "System RAM" range below 4 GiB (/proc/iomem, root sees addresses). */
static uint64_t ram_end_low(void)
{
	FILE *f = fopen("/proc/iomem", "r");
	char line[256];
	uint64_t best = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;

		if (line[0] != ' ' && strstr(line, "System RAM") && sscanf(line, "%llx-%llx", &a, &b) == 2 &&
		    b < (4ull << 30) && b + 1 > best)
			best = b + 1;
	}
	fclose(f);
	return best;
}

static unsigned param_uint(const char *key, unsigned def)
{
	char cmdline[2048];
	const char *p;

	if (boot_read_file("/proc/cmdline", cmdline, sizeof(cmdline)) || !(p = strstr(cmdline, key)))
		return def;
	return (unsigned)strtoul(p + strlen(key), NULL, 0);
}

int main(void)
{
	struct edu d = { .cfg_fd = -1, .uio_fd = -1 };
	struct nic_irq_result nic = { .bdf = "" };
	unsigned rounds = param_uint("daxvm_edu_rounds=", 24), done = 0, mismatches = 0, pages = 0;
	uint64_t bytes = 0, seed = 0x1234567, first_bad = 0, outside = 0, changed = 0;
	uint64_t *phys = NULL, sum0 = 0, sum1 = 0;
	char why[256] = "", path[320], line[DAXVM_GUEST_RESULT_MAX];
	double t0, t_usable = 0;
	uint8_t *pool = NULL;
	int pagemap = -1, fd, mod;
	bool ok = false;

	boot_console();
	if (boot_mounts(why, sizeof(why)))
		goto out;
	ports_open(false);	/* port I/O, or /dev/port where it faults (nested guests) */
	ports_event(DAXVM_GUEST_EVENT_INIT);
	mod = boot_load_modules(why, sizeof(why));
	if (mod < 0)
		goto out;
	nic_irq_park();		/* the NIC waits, driverless, until its own phase */
	if (boot_find_pci("0x1234", "0x11e8", d.bdf, sizeof(d.bdf))) {
		snprintf(why, sizeof(why), "no edu device (1234:11e8) on the PCI bus");
		goto out;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", d.bdf);
	d.cfg_fd = open(path, O_RDWR);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", d.bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (d.cfg_fd < 0 || fd < 0) {
		snprintf(why, sizeof(why), "cannot open edu's config or resource0: %s", strerror(errno));
		goto out;
	}
	d.bar0 = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (d.bar0 == MAP_FAILED) {
		snprintf(why, sizeof(why), "mmap of resource0 failed: %s", strerror(errno));
		goto out;
	}
	d.uio_fd = open_uio(&d);
	if (cfg_command(&d, 0x6, 0x400)) {	/* memory decode, bus master, INTx enabled */
		snprintf(why, sizeof(why), "cannot set bus mastering through the config file: %s", strerror(errno));
		goto out;
	}
	/* Liveness: the ID register, and the value inverter at 0x04. */
	wr32(&d, 0x04, 0x5a5a0f0f);
	if ((rd32(&d, 0) & 0xff) != 0xed || rd32(&d, 0x04) != ~0x5a5a0f0fu) {
		snprintf(why, sizeof(why), "edu's registers do not answer through resource0 (id 0x%08x)", rd32(&d, 0));
		goto out;
	}
	wr32(&d, 0x64, rd32(&d, 0x24));	/* a stale interrupt status (edu has no reset) */
	t_usable = boot_uptime();
	printf("edu %s: BAR0 mapped, bus master on, interrupts %s, usable at %.2f s uptime\n", d.bdf,
	       d.uio_fd >= 0 ? "through uio_pci_generic" : "NOT available (polling)", t_usable);
	fflush(stdout);

	/* RAM for the transfers: locked pages below edu's 28-bit DMA limit, by physical address. */
	pool = mmap(NULL, POOL_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	phys = calloc(POOL_BYTES / PAGE, sizeof(*phys));
	if (pool == MAP_FAILED || pagemap < 0 || !phys) {
		snprintf(why, sizeof(why), "cannot lock %u MiB for DMA or read pagemap: %s", POOL_BYTES >> 20, strerror(errno));
		goto out;
	}
	for (unsigned i = 0; i < POOL_BYTES / PAGE; i++) {
		uint64_t p = phys_of(pagemap, pool + (uint64_t)i * PAGE);

		if (p && p + PAGE - 1 <= EDU_DMA_MASK)
			phys[pages++] = (uint64_t)i << 32 | p >> 12;	/* page index, frame */
	}
	if (pages < 2) {
		snprintf(why, sizeof(why), "no locked pages below edu's 256 MiB DMA limit");
		goto out;
	}
	ports_event(DAXVM_GUEST_EVENT_RUNNING);
	t0 = now_s();
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t a = phys[rng(&seed) % pages], b = phys[rng(&seed) % pages];
		uint32_t off = (uint32_t)(rng(&seed) % PAGE), len = (uint32_t)(1 + rng(&seed) % EDU_MAX_XFER);
		uint8_t *src, *dst;

		if (off + len > PAGE)		/* stay inside one page: physically contiguous */
			off = PAGE - len;
		if (a == b)
			continue;
		src = pool + (a >> 32) * PAGE + off;
		dst = pool + (b >> 32) * PAGE + off;
		for (uint32_t i = 0; i < len; i++)
			src[i] = pat(r, i);
		memset(dst, 0xa5, len);
		if (dma(&d, (a & 0xffffffff) * PAGE + off, len, true) ||
		    dma(&d, (b & 0xffffffff) * PAGE + off, len, false)) {
			snprintf(why, sizeof(why), "edu DMA %u did not complete in 5 s", r);
			goto out;
		}
		for (uint32_t i = 0; i < len; i++)
			if (dst[i] != pat(r, i)) {
				if (!mismatches++)
					first_bad = (b & 0xffffffff) * PAGE + off + i;
				break;
			}
		bytes += 2ull * len;
		done++;
		ports_progress((uint32_t)(bytes >> 20));
		if (done % 8 == 0) {	/* signs of life on the console (the VMM's hang detector reads it) */
			printf("edu: %u round trips at %.2f s uptime, %" PRIu64 " interrupts\n", done, boot_uptime(),
			       d.interrupts);
			fflush(stdout);
		}
	}
	printf("edu: %u round trips, %" PRIu64 " bytes verified, %u mismatches, %" PRIu64 " interrupts, %" PRIu64
	       " polled, %.2f s (%.1f DMAs/s)\n", done, bytes, mismatches, d.interrupts, d.polled, now_s() - t0,
	       2 * done / (now_s() - t0));

	/* A DMA aimed outside guest RAM (below edu's limit): the IOMMU must refuse it. Guest RAM
	 * (the pool) must not change. */
	outside = ram_end_low() + (16u << 20);
	if (outside && outside + PAGE <= EDU_DMA_MASK) {
		uint64_t first = phys[0];
		uint8_t *p0 = pool + (first >> 32) * PAGE;

		/* Load edu's buffer with a recognisable byte, then checksum the pool. */
		memset(p0, 0xee, EDU_MAX_XFER);
		if (dma(&d, (first & 0xffffffff) * PAGE, EDU_MAX_XFER, true)) {
			snprintf(why, sizeof(why), "loading edu's buffer did not complete");
			goto out;
		}
		for (unsigned i = 0; i < POOL_BYTES / 8; i++)
			sum0 = sum0 * 31 + ((uint64_t *)pool)[i];
		printf("edu: DMA of %u bytes to guest-physical 0x%" PRIx64 " (outside RAM) ...\n", EDU_MAX_XFER, outside);
		fflush(stdout);
		if (dma(&d, outside, EDU_MAX_XFER, false)) {
			snprintf(why, sizeof(why), "the DMA outside RAM did not complete");
			goto out;
		}
		for (unsigned i = 0; i < POOL_BYTES / 8; i++)
			sum1 = sum1 * 31 + ((uint64_t *)pool)[i];
		changed = sum1 != sum0;
		printf("edu: after the DMA outside RAM, the DMA pool %s\n", changed ? "CHANGED" : "is unchanged");
	} else {
		outside = 0;
	}
	ok = done > 0 && !mismatches && !changed;
	if (!ok && !why[0])
		snprintf(why, sizeof(why), "%u mismatches%s", mismatches, changed ? ", RAM changed by a DMA outside RAM" : "");
	if (ok) {	/* MSI-X and MSI through a passed-through e1000e, when there is one */
		int nr = nic_irq_run(&nic, why, sizeof(why));

		ok = nr == 0 || nr == -ENODEV;
	}
out:
	snprintf(line, sizeof(line),
		 DAXVM_GUEST_RESULT_PREFIX "{\"tool\":\"edu\",\"verdict\":\"%s\",\"bytes_verified\":%" PRIu64
		 ",\"mismatches\":%u,\"threads\":1,\"ram_bytes\":%u,\"pmem_bytes\":0,\"pmem_device\":\"\",\"seconds\":%.2f"
		 ",\"first_mismatch\":\"0x%" PRIx64 "\",\"device\":\"%s\",\"dma_round_trips\":%u,\"interrupts\":%" PRIu64
		 ",\"polled\":%" PRIu64 ",\"usable_uptime_s\":%.2f,\"outside_ram_iova\":\"0x%" PRIx64 "\",\"outside_ram_changed\":%s"
		 ",\"nic\":\"%s\",\"nic_msix_vectors\":%u,\"nic_msix_irqs\":%" PRIu64 ",\"nic_msi_vectors\":%u"
		 ",\"nic_msi_irqs\":%" PRIu64 ",\"nic_seconds\":%.2f,\"nic_msi_why\":\"%.100s\",\"why\":\"%.120s\"}",
		 ok ? "pass" : "fail", bytes, mismatches, pages * PAGE, boot_uptime(), first_bad, d.bdf, done,
		 d.interrupts, d.polled, t_usable, outside, changed ? "true" : "false", nic.bdf, nic.msix_vectors,
		 nic.msix_irqs, nic.msi_vectors, nic.msi_irqs, nic.seconds, nic.msi_why, why);
	puts(line);
	fflush(stdout);
	ports_event(DAXVM_GUEST_EVENT_DONE);
	ports_verdict(ok ? DAXVM_GUEST_PASS : why[0] && !done ? DAXVM_GUEST_FAIL_SETUP : DAXVM_GUEST_FAIL_DEVICE);
	boot_power_off();
}
