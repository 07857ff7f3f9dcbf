/* /proc/PID/smaps reader: one struct proc_vma per mapping (see proc_maps.h). */
#include "validate/proc_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int proc_read_file(const char *path, char **buf, size_t *len, struct err *e)
{
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !b) {
		int ret = fd < 0 ? -errno : -ENOMEM;

		free(b);
		if (fd >= 0)
			close(fd);
		return err_set(e, ret, "cannot read %s: %s", path, strerror(-ret));
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				close(fd);
				return err_set(e, -ENOMEM, "out of memory reading %s", path);
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int ret = -errno;

			free(b);
			close(fd);
			return err_set(e, ret, "cannot read %s: %s", path, strerror(-ret));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

static int push(struct proc_vmas *m, struct proc_vma **out)
{
	if (m->n % 64 == 0) {
		struct proc_vma *n = realloc(m->v, (m->n + 64) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->v = n;
	}
	*out = &m->v[m->n++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* "start-end perms offset maj:min inode   path" */
static int parse_header(const char *line, struct proc_vma *v)
{
	char perms[8] = "";
	int path_at = 0;
	size_t len;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n", &v->start, &v->end,
		   perms, &v->offset, &v->dev_major, &v->dev_minor, &v->inode, &path_at) < 7 || v->end <= v->start ||
	    strlen(perms) != 4)
		return -EINVAL;
	v->read = perms[0] == 'r';
	v->write = perms[1] == 'w';
	v->shared = perms[3] == 's';
	snprintf(v->path, sizeof(v->path), "%s", path_at ? line + path_at : "");
	len = strlen(v->path);
	while (len && (v->path[len - 1] == '\n' || v->path[len - 1] == ' '))
		v->path[--len] = 0;
	if (len > 10 && !strcmp(v->path + len - 10, " (deleted)")) {
		v->path[len - 10] = 0;
		v->deleted = true;
	}
	v->kernel_page_size = 4096;
	return 0;
}

int proc_vmas_parse(const char *text, struct proc_vmas *out, struct err *e)
{
	struct proc_vma *cur = NULL;
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[PROC_VMA_PATH_MAX + 128];
		uint64_t kib;

		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) - 1 ? len : sizeof(line) - 1), p);
		p += len + (nl ? 1 : 0);
		if (!line[0])
			continue;
		if (line[0] >= 'A' && line[0] <= 'Z') {	/* an smaps field of the current mapping */
			if (!cur)
				return err_set(e, -EINVAL, "smaps field before any mapping: '%.80s'", line);
			if (sscanf(line, "KernelPageSize: %" SCNu64 " kB", &kib) == 1)
				cur->kernel_page_size = kib * 1024;
			else if (sscanf(line, "Rss: %" SCNu64 " kB", &kib) == 1)
				cur->rss = kib * 1024;
			else if (!strncmp(line, "VmFlags:", 8)) {
				cur->locked = strstr(line, " lo") != NULL;
				cur->io = strstr(line, " io") != NULL || strstr(line, " pf") != NULL;
			}
			continue;
		}
		if (push(out, &cur))
			return err_set(e, -ENOMEM, "out of memory listing mappings");
		if (parse_header(line, cur))
			return err_set(e, -EINVAL, "not a maps line: '%.80s'", line);
	}
	return 0;
}

int proc_vmas_read(pid_t pid, struct proc_vmas *out, struct err *e)
{
	char path[64], *text;
	size_t len;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	ret = proc_read_file(path, &text, &len, e);
	if (ret)
		return ret == -ENOENT ? -ESRCH : ret;
	ret = proc_vmas_parse(text, out, e);
	free(text);
	return ret;
}

void proc_vmas_free(struct proc_vmas *m)
{
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

const struct proc_vma *proc_vmas_find(const struct proc_vmas *m, uint64_t addr)
{
	for (size_t i = 0; i < m->n; i++)
		if (addr >= m->v[i].start && addr < m->v[i].end)
			return &m->v[i];
	return NULL;
}

uint64_t proc_vmas_locked_bytes(const struct proc_vmas *m)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].locked)
			sum += m->v[i].end - m->v[i].start;
	return sum;
}
