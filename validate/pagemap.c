/* Pagemap reads: one 64-bit entry per 4 KiB virtual page at offset vaddr / 4096 * 8. */
#include "validate/pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PM_PAGE 4096ull
#define PM_CHUNK 8192	/* entries per pread (64 KiB of pagemap = 32 MiB of memory) */

int pagemap_open(pid_t pid, struct err *e)
{
	char path[64];
	int fd;

	if (pid <= 0 || pid == getpid())
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	else
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "cannot open %s: %s", path, strerror(errno));
	return fd;
}

static int read_full(int fd, void *buf, size_t len, uint64_t off, struct err *e)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		/* 0 bytes: the process's mm is gone (it exited), pagemap has nothing to show. */
		if (n == 0)
			return err_set(e, -ESRCH, "reading pagemap entry of 0x%" PRIx64 " gave nothing: the process has exited",
				       (uint64_t)(off / 8 * PM_PAGE));
		if (n < 0)
			return err_set(e, -errno, "reading pagemap entry of 0x%" PRIx64
				       " failed: %s", (uint64_t)(off / 8 * PM_PAGE), strerror(errno));
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int pagemap_read(int fd, uint64_t vaddr, uint64_t page_size, size_t nr, uint64_t *out,
		 struct err *e)
{
	uint64_t off = vaddr / PM_PAGE * 8;

	if (page_size > PM_PAGE) {
		/* One entry per large page: the first 4 KiB maps the head of the folio. */
		for (size_t i = 0; i < nr; i++) {
			int ret = read_full(fd, &out[i], 8, off + i * (page_size / PM_PAGE) * 8, e);

			if (ret)
				return ret;
		}
		return 0;
	}
	for (size_t done = 0; done < nr;) {
		size_t n = nr - done < PM_CHUNK ? nr - done : PM_CHUNK;
		int ret = read_full(fd, &out[done], n * 8, off + done * 8, e);

		if (ret)
			return ret;
		done += n;
	}
	return 0;
}
