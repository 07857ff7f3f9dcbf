/* The Linux guest's inputs: the bzImage and initrd files, the command line, and writing
 * everything the 64-bit boot protocol expects into guest RAM. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/size.h"
#include "guest/linux/daxvm_guest_abi.h"
#include "vmm/linux_guest.h"
#include "vmm/mptable.h"
#include "vmm/pci_mptable.h"
#include "vmm/x86_linux.h"

static int read_whole(const char *path, const char *what, uint64_t max, uint8_t **out,
		      size_t *len, struct err *e)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	char a[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(e, -errno, "cannot open the %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, -EINVAL, "the %s %s is not a regular file", what, path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return err_set(e, -EFBIG, "the %s %s is larger than %s", what, path,
			       size_format(max, a, sizeof(a)));
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return err_set(e, -ENOMEM, "out of memory reading the %s %s", what, path);
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n <= 0) {
			int code = n < 0 ? -errno : -EIO;

			free(buf);
			close(fd);
			return err_set(e, code, "reading the %s %s failed at byte %zu: %s", what, path,
				       done, n < 0 ? strerror(-code) : "it shrank while being read");
		}
		done += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = done;
	return 0;
}

int linux_guest_read_files(struct guest *g, struct err *e)
{
	int ret = read_whole(g->cfg->kernel, "kernel", LINUX_KERNEL_MAX_BYTES, &g->kernel,
			     &g->kernel_bytes, e);

	if (!ret) {
		struct err pe = { 0 };

		ret = bzimage_parse(g->kernel, g->kernel_bytes, &g->info, &pe);
		if (ret)
			err_set(e, ret, "%s: %s", g->cfg->kernel, pe.msg);
	}
	if (!ret && g->cfg->initrd) {
		/* Its size is checked against guest RAM when the layout is planned. */
		ret = read_whole(g->cfg->initrd, "initrd", 4ULL << 30, &g->initrd, &g->initrd_bytes, e);
		if (!ret && !g->initrd_bytes)
			ret = err_set(e, -EINVAL, "the initrd %s is empty", g->cfg->initrd);
	}
	return ret;
}

int linux_guest_build_cmdline(struct guest *g, struct err *e)
{
	const char *append = g->cfg->append ? g->cfg->append : "";
	size_t room = strlen(LINUX_CMDLINE_BASE) + strlen(append) + 128;
	int n;

	g->cmdline = malloc(room);
	if (!g->cmdline)
		return err_set(e, -ENOMEM, "out of memory for the kernel command line");
	/* The tool's parameters (no dot: they reach /init's /proc/cmdline) before the user's
	 * text, so the user can override them. */
	n = snprintf(g->cmdline, room, "%s %s%.0f %s%u%s%s", LINUX_CMDLINE_BASE,
		     DAXVM_GUEST_PARAM_DURATION, g->cfg->duration_s, DAXVM_GUEST_PARAM_THREADS,
		     g->nr_cpus, append[0] ? " " : "", append);
	if (n < 0 || (size_t)n >= room)
		return err_set(e, -EINVAL, "the kernel command line could not be built");
	g->cmdline_len = (size_t)n;
	return 0;
}

int linux_guest_write_ram(struct guest *g, const struct guest_machine *m, struct err *e)
{
	const struct linux_boot_layout *l = &g->layout;
	uint8_t *low = guest_mem_gpa_to_host(m->mem, 0, LINUX_LEGACY_END);
	uint8_t *kernel = guest_mem_gpa_to_host(m->mem, l->kernel_gpa, g->info.payload_bytes);
	uint8_t *initrd = l->initrd_bytes ? guest_mem_gpa_to_host(m->mem, l->initrd_gpa, l->initrd_bytes)
					  : NULL;
	struct mptable mp;
	int ret;

	if (!low || !kernel || (l->initrd_bytes && !initrd))
		return err_set(e, -EINVAL, "the kernel or initrd does not lie inside one RAM region");
	/* RAM on a reused device holds old data: the low megabyte starts from zero. */
	memset(low, 0, LINUX_LEGACY_END);
	x86_linux_write_tables(low);
	ret = mptable_init_pc(&mp, g->nr_cpus, e);
	if (!ret)	/* passed-through devices (issue 11): the PCI bus and their INTx entries */
		ret = pci_mptable_add(m->pci, &mp, e);
	if (!ret)
		ret = mptable_write(&mp, LINUX_MPTABLE_GPA, low + LINUX_MPTABLE_GPA, LINUX_MPTABLE_ROOM, e);
	if (!ret)
		ret = linux_zero_page_build(&g->info, g->kernel, m->map, l, low + LINUX_ZERO_PAGE_GPA, e);
	if (ret)
		return ret;
	memcpy(low + LINUX_CMDLINE_GPA, g->cmdline, g->cmdline_len + 1);
	memcpy(kernel, g->kernel + g->info.payload_offset, g->info.payload_bytes);
	if (initrd)
		memcpy(initrd, g->initrd, l->initrd_bytes);
	return 0;
}
