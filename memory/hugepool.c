/* The hugetlb page pool: read its counters, grow it for a run as root, put it back. */
#include "memory/hugepool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/size.h"

static void hugepool_sysfs_path(uint64_t page_size, const char *file, char *buf, unsigned len)
{
	snprintf(buf, len, "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/%s", page_size >> 10,
		 file);
}

static int hugepool_read_long(const char *path, long *value)
{
	char text[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	close(fd);
	text[n] = '\0';
	*value = strtol(text, NULL, 10);
	return 0;
}

static int hugepool_write_long(const char *path, long value)
{
	char text[32];
	int len = snprintf(text, sizeof(text), "%ld\n", value);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int ret = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		ret = -errno;
	else if (n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

int hugepool_query(uint64_t page_size, struct hugepool_state *st, struct err *e)
{
	char path[128], human[32];
	int ret;

	memset(st, 0, sizeof(*st));
	st->page_size = page_size;
	hugepool_sysfs_path(page_size, "nr_hugepages", path, sizeof(path));
	ret = hugepool_read_long(path, &st->total);
	if (ret < 0)
		return err_set(e, ret, "the kernel has no %s hugetlb pool (%s: %s): use the memfd backing",
			       size_format(page_size, human, sizeof(human)), path, strerror(-ret));
	hugepool_sysfs_path(page_size, "free_hugepages", path, sizeof(path));
	ret = hugepool_read_long(path, &st->free);
	if (ret == 0) {
		hugepool_sysfs_path(page_size, "resv_hugepages", path, sizeof(path));
		ret = hugepool_read_long(path, &st->reserved);
	}
	if (ret < 0)
		return err_set(e, ret, "cannot read the %s hugetlb pool (%s: %s)",
			       size_format(page_size, human, sizeof(human)), path, strerror(-ret));
	return 0;
}

long hugepool_available(const struct hugepool_state *st)
{
	/* free_hugepages counts reserved pages too (HugePages_Rsvd is part of HugePages_Free). */
	return st->free > st->reserved ? st->free - st->reserved : 0;
}

uint64_t hugepool_default_page_size(void)
{
	char line[128];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

void hugepool_control_path(uint64_t page_size, char *buf, unsigned len)
{
	if (page_size == hugepool_default_page_size())
		snprintf(buf, len, "/proc/sys/vm/nr_hugepages");
	else
		hugepool_sysfs_path(page_size, "nr_hugepages", buf, len);
}

int hugepool_grow(uint64_t page_size, long needed, long *restore_to, struct err *e)
{
	struct hugepool_state st;
	char path[128], human[32];
	long want;
	int ret;

	*restore_to = -1;
	ret = hugepool_query(page_size, &st, e);
	if (ret < 0)
		return ret;
	if (hugepool_available(&st) >= needed)
		return 0;
	want = st.total + (needed - hugepool_available(&st));
	hugepool_control_path(page_size, path, sizeof(path));
	size_format(page_size, human, sizeof(human));
	ret = hugepool_write_long(path, want);
	if (ret < 0)
		return err_set(e, ret, "cannot grow the %s hugetlb pool to %ld pages (%s: %s): run as root or use the memfd backing",
			       human, want, path, strerror(-ret));
	*restore_to = want - st.total;	/* the pages this run added */
	ret = hugepool_query(page_size, &st, e);
	if (ret == 0 && hugepool_available(&st) < needed) {
		/* The kernel allocates what it can and reports success: check what we got. */
		ret = err_set(e, -ENOMEM, "the kernel found only %ld of %ld free %s hugepages when growing the pool (memory is fragmented or short): use the memfd backing, or free memory and retry",
			      hugepool_available(&st), needed, human);
	}
	if (ret < 0) {
		hugepool_restore(page_size, *restore_to);
		*restore_to = -1;
		return ret;
	}
	return 0;
}

int hugepool_restore(uint64_t page_size, long restore_to)
{
	struct hugepool_state st;
	char path[128];

	if (restore_to <= 0)
		return 0;
	/* Give back only what this run added: another run may have grown the pool meanwhile,
	 * and writing an absolute value would take its pages or leave ours behind. */
	if (hugepool_query(page_size, &st, NULL) < 0)
		return -EIO;
	hugepool_control_path(page_size, path, sizeof(path));
	return hugepool_write_long(path, st.total > restore_to ? st.total - restore_to : 0);
}
