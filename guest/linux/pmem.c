/* Finding the pmem device and one O_DIRECT pattern pass over a slice of it (see pmem.h). */
#include "pmem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* /proc/iomem names e820 type 12 "Persistent Memory (legacy)" and ACPI NFIT ranges
 * "Persistent Memory" (both since 4.x). */
static int iomem_has_pmem(void)
{
	char line[256];
	FILE *f = fopen("/proc/iomem", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "Persistent Memory") != NULL;
	fclose(f);
	return found;
}

/* The driver probes asynchronously: the node can appear a little after the module loaded. */
static int wait_for_node(const char *path, unsigned ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct stat st;

	for (unsigned waited = 0; ; waited += 10) {
		if (!stat(path, &st))
			return S_ISBLK(st.st_mode) ? 0 : -ENOTBLK;
		if (waited >= ms)
			return -ENOENT;
		nanosleep(&tick, NULL);
	}
}

int pmem_find(const struct stress_params *p, char *path, size_t path_len, uint64_t *size,
	      char *why, size_t why_len)
{
	int fd, err;
	struct stat st;

	path[0] = 0;
	*size = 0;
	if (p->pmem_mode == PARAMS_PMEM_NONE)
		return 0;
	if (p->pmem_mode == PARAMS_PMEM_AUTO && !iomem_has_pmem() && stat(p->pmem_path, &st))
		return 0;	/* nothing persistent in this guest */
	err = wait_for_node(p->pmem_path, PMEM_WAIT_MS);
	if (err == -ENOENT) {
		snprintf(why, why_len, "%s did not appear within %u ms%s: the guest kernel needs "
			 "nd_e820 (or nfit) and nd_pmem, built in or loaded from the initramfs "
			 "(/lib/modules/daxvm-modules.order)", p->pmem_path, PMEM_WAIT_MS,
			 p->pmem_mode == PARAMS_PMEM_AUTO ? " although /proc/iomem lists persistent memory" : "");
		return err;
	}
	if (err) {
		snprintf(why, why_len, "%s is not a block device", p->pmem_path);
		return err;
	}
	fd = open(p->pmem_path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, why_len, "cannot open %s with O_DIRECT: %s", p->pmem_path, strerror(errno));
		return err;
	}
	if (ioctl(fd, BLKGETSIZE64, size)) {
		err = -errno;
		snprintf(why, why_len, "cannot read the size of %s: %s", p->pmem_path, strerror(errno));
		close(fd);
		return err;
	}
	close(fd);
	if (*size < PMEM_CHUNK) {
		snprintf(why, why_len, "%s has %llu bytes, less than the %u the tool writes at once",
			 p->pmem_path, (unsigned long long)*size, PMEM_CHUNK);
		return -ENOSPC;
	}
	snprintf(path, path_len, "%s", p->pmem_path);
	return 0;
}

static void io_error(struct pmem_pass *out, ssize_t got)
{
	if (!out->errors++)
		out->first_errno = got < 0 ? errno : EIO;
}

void pmem_pass_slice(int fd, uint64_t off, uint64_t len, uint64_t seed, void *buf,
		     void (*progress)(uint64_t bytes), struct pmem_pass *out)
{
	uint64_t pos;

	memset(out, 0, sizeof(*out));
	for (pos = off; pos < off + len; pos += PMEM_CHUNK) {
		size_t n = off + len - pos < PMEM_CHUNK ? (size_t)(off + len - pos) : PMEM_CHUNK;
		ssize_t got;

		pattern_fill(buf, n / 8, pos / 8, seed);
		got = pwrite(fd, buf, n, (off_t)pos);
		if (got != (ssize_t)n)
			io_error(out, got);
	}
	for (pos = off; pos < off + len; pos += PMEM_CHUNK) {
		size_t n = off + len - pos < PMEM_CHUNK ? (size_t)(off + len - pos) : PMEM_CHUNK;
		struct pattern_miss miss;
		uint64_t bad;
		ssize_t got;

		/* Scrambled first: a read that moved nothing cannot leave the expected data. */
		memset(buf, 0xa5, n);
		got = pread(fd, buf, n, (off_t)pos);
		if (got != (ssize_t)n) {
			io_error(out, got);
			continue;
		}
		bad = pattern_check(buf, n / 8, pos / 8, seed, &miss);
		if (bad && !out->have_miss) {
			out->have_miss = 1;
			out->miss_offset = pos + miss.word * 8;
			out->miss_expected = miss.expected;
			out->miss_found = miss.found;
		}
		out->mismatches += bad;
		out->verified += n;
		if (progress)
			progress(n);
	}
}
