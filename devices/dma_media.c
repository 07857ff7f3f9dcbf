/* The DMA engine's media: a memfd by default, or a file / block device. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/dma_internal.h"

static int media_open_path(struct dma_media *m, const char *path, uint64_t bytes, struct err *e)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return err_set(e, -errno, "cannot open DMA media %s: %s: give a writable file or block device as the media",
			       path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		int ret = -errno;

		close(fd);
		return err_set(e, ret, "cannot stat DMA media %s: %s", path, strerror(-ret));
	}
	snprintf(m->name, sizeof(m->name), "%s", path);
	m->check_fd = fd;
	if (S_ISBLK(st.st_mode)) {
		uint64_t dev_bytes = 0;
		int lbs = 512;

		if (ioctl(fd, BLKGETSIZE64, &dev_bytes) < 0 || ioctl(fd, BLKSSZGET, &lbs) < 0)
			return err_set(e, -errno, "cannot read the size of block device %s: %s", path,
				       strerror(errno));
		m->is_blockdev = true;
		m->align = lbs > 0 ? (uint64_t)lbs : 512;
		if (!bytes)
			bytes = dev_bytes < (1ULL << 30) ? dev_bytes : (1ULL << 30);
		if (bytes > dev_bytes)
			return err_set(e, -ENOSPC, "DMA media %s holds %llu bytes, fewer than the %llu asked: use a bigger device or a smaller media size",
				       path, (unsigned long long)dev_bytes, (unsigned long long)bytes);
		/* The DMA itself bypasses the page cache, as a device would. O_DIRECT with io_uring
		 * fixed buffers needs iova, length and offset aligned to the logical block size
		 * (DMA_REG_ALIGN tells the guest); a direct write invalidates the cached range, so
		 * the buffered check_fd reads what landed (Linux 2.6+). */
		m->fd = open(path, O_RDWR | O_CLOEXEC | O_DIRECT);
		if (m->fd < 0)
			return err_set(e, -errno, "cannot open block device %s with O_DIRECT: %s", path,
				       strerror(errno));
	} else if (S_ISREG(st.st_mode)) {
		if (!bytes)
			bytes = DMA_DEFAULT_MEDIA_BYTES;
		if ((uint64_t)st.st_size < bytes && ftruncate(fd, (off_t)bytes) < 0)
			return err_set(e, -errno, "cannot grow DMA media file %s to %llu bytes: %s", path,
				       (unsigned long long)bytes, strerror(errno));
		m->align = 1;
		m->fd = dup(fd);
		if (m->fd < 0)
			return err_set(e, -errno, "dup of the DMA media fd failed: %s", strerror(errno));
	} else {
		return err_set(e, -EINVAL, "DMA media %s is neither a regular file nor a block device: give one of those as the media",
			       path);
	}
	m->bytes = bytes & ~(m->align > 4096 ? m->align - 1 : 4095);
	return 0;
}

int dma_media_open(struct dma_media *m, const char *path, uint64_t bytes, struct err *e)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->fd = m->check_fd = -1;
	if (path) {
		ret = media_open_path(m, path, bytes, e);
	} else {
		m->is_memfd = true;
		m->align = 1;
		m->bytes = (bytes ? bytes : DMA_DEFAULT_MEDIA_BYTES) & ~4095ULL;
		snprintf(m->name, sizeof(m->name), "memfd");
		/* memfd_create: Linux 3.17; io_uring READ_FIXED/WRITE_FIXED work on shmem files. */
		m->fd = memfd_create("daxvm-dma-media", MFD_CLOEXEC);
		if (m->fd < 0)
			return err_set(e, -errno, "memfd_create for the DMA media failed: %s", strerror(errno));
		ret = 0;
		if (ftruncate(m->fd, (off_t)m->bytes) < 0)
			ret = err_set(e, -errno, "cannot size the DMA media memfd to %llu bytes: %s",
				      (unsigned long long)m->bytes, strerror(errno));
		m->check_fd = dup(m->fd);
		if (!ret && m->check_fd < 0)
			ret = err_set(e, -errno, "dup of the DMA media fd failed: %s", strerror(errno));
	}
	if (!ret && m->bytes < (4ULL << 20))
		ret = err_set(e, -EINVAL, "DMA media of %llu bytes is too small: give at least 4 MiB",
			      (unsigned long long)m->bytes);
	if (ret)
		dma_media_close(m);
	return ret;
}

int dma_media_fill(struct dma_media *m, struct err *e)
{
	const uint64_t chunk = 1ULL << 20;
	uint64_t end = dma_media_read_bytes(m->bytes);
	uint64_t *buf = malloc(chunk);
	int ret = 0;

	if (!buf)
		return err_set(e, -ENOMEM, "out of memory for the DMA media fill buffer");
	for (uint64_t off = 0; off < end && !ret; off += chunk) {
		uint64_t n = end - off < chunk ? end - off : chunk;

		for (uint64_t i = 0; i < n / 8; i++)
			buf[i] = dma_pattern_word(DMA_MEDIA_SEED, off / 8 + i);
		if (pwrite(m->check_fd, buf, n, (off_t)off) != (ssize_t)n)
			ret = err_set(e, -EIO, "cannot write the DMA media %s at offset %llu: %s", m->name,
				      (unsigned long long)off, strerror(errno));
	}
	/* O_DIRECT reads flush dirty page cache first, but make the pattern durable anyway. */
	if (!ret && !m->is_memfd && fdatasync(m->check_fd) < 0)
		ret = err_set(e, -errno, "fdatasync of the DMA media %s failed: %s", m->name, strerror(errno));
	free(buf);
	return ret;
}

int dma_media_verify(struct dma_media *m, uint64_t off, uint64_t len, uint64_t seed,
		     uint64_t base, void *buf, uint64_t buf_len, uint64_t *bad_off)
{
	uint8_t *b = buf;

	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < buf_len ? len - done : buf_len;
		ssize_t got = pread(m->check_fd, b, n, (off_t)(off + done));

		if (got != (ssize_t)n)
			return got < 0 ? -errno : -EIO;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t o = off + done + i - base;

			/* Whole aligned words at a time where possible: this runs on every write. */
			if ((o & 7) == 0 && i + 8 <= n) {
				uint64_t w;

				memcpy(&w, b + i, 8);
				if (w == dma_pattern_word(seed, o >> 3)) {
					i += 7;
					continue;
				}
			}
			if (b[i] != dma_pattern_byte(seed, o)) {
				*bad_off = off + done + i;
				return -EIO;
			}
		}
		done += n;
	}
	return 0;
}

void dma_media_close(struct dma_media *m)
{
	if (m->fd >= 0)
		close(m->fd);
	if (m->check_fd >= 0)
		close(m->check_fd);
	m->fd = m->check_fd = -1;
}
