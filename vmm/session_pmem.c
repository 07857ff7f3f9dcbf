/* The pmem region: placement checks (pure) and its backing, range and memslot region. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/size.h"
#include "vmm/session_pmem.h"

bool pmem_shares_ram(const struct run_config *cfg)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (!cfg->pmem_path || !cfg->mem || cfg->pmem_path[0] != '/' || cfg->mem[0] != '/')
		return false;	/* memfd and anon are always their own */
	if (!realpath(cfg->pmem_path, a) || !realpath(cfg->mem, b))
		return !strcmp(cfg->pmem_path, cfg->mem);
	return !strcmp(a, b);
}

int pmem_ram_request(const struct run_config *cfg, uint64_t *ram_request, struct err *e)
{
	uint64_t off = cfg->pmem_offset;

	*ram_request = cfg->mem_size;
	if (!cfg->pmem_path || !pmem_shares_ram(cfg))
		return 0;
	if (!cfg->mem_size)
		return err_set(e, -EINVAL, "pmem on guest RAM's own device or file %s needs an explicit RAM size (the rest of it is the pmem)",
			       cfg->mem);
	if (off == RUN_PMEM_OFFSET_AUTO)
		off = cfg->mem_size;
	/* RAM's backing then spans RAM and the pmem; without a pmem size, the whole device. */
	*ram_request = cfg->pmem_size ? off + cfg->pmem_size : 0;
	if (cfg->pmem_size && *ram_request < off)
		return err_set(e, -EINVAL, "the pmem offset plus its size overflows");
	return 0;
}

int pmem_place(const struct run_config *cfg, uint64_t backing_size, uint64_t align, bool shared,
	       struct pmem_region *p, struct err *e)
{
	uint64_t off = cfg->pmem_offset, size = cfg->pmem_size, unit = align > MACHINE_RAM_UNIT ? align : MACHINE_RAM_UNIT;
	char a[32], b[32], c[32];

	if (off == RUN_PMEM_OFFSET_AUTO)
		off = shared ? cfg->mem_size : 0;
	if (off % unit || size % unit)
		return err_set(e, -EINVAL, "the pmem range (offset %s, size %s) is not aligned to %s (the backing's alignment and the 2 MiB memslot unit): round both",
			       size_exact(off, a, sizeof(a)), size_exact(size, b, sizeof(b)),
			       size_format(unit, c, sizeof(c)));
	if (shared && off < cfg->mem_size)
		return err_set(e, -EINVAL, "the pmem range at offset %s of %s overlaps guest RAM (its first %s): start it at %s or later",
			       size_exact(off, a, sizeof(a)), cfg->pmem_path,
			       size_exact(cfg->mem_size, b, sizeof(b)), size_exact(cfg->mem_size, c, sizeof(c)));
	if (off >= backing_size)
		return err_set(e, -EINVAL, "the pmem offset %s is at or past the end of %s (%s)",
			       size_exact(off, a, sizeof(a)), cfg->pmem_path, size_exact(backing_size, b, sizeof(b)));
	if (!size)
		size = backing_size - off;
	if (size > backing_size - off)
		return err_set(e, -EINVAL, "the pmem range of %s at offset %s runs past the end of %s (%s)",
			       size_exact(size, a, sizeof(a)), size_exact(off, b, sizeof(b)),
			       cfg->pmem_path, size_exact(backing_size, c, sizeof(c)));
	p->offset = off;
	p->size = size;
	p->shares_ram = shared;
	p->active = true;
	return 0;
}

int pmem_open(const struct run_config *cfg, const struct backing *ram, struct pmem_region *p,
	      struct err *e)
{
	struct backing_request req = { .spec = cfg->pmem_path };
	uint64_t off = cfg->pmem_offset == RUN_PMEM_OFFSET_AUTO ? 0 : cfg->pmem_offset;
	int ret;

	memset(p, 0, sizeof(*p));
	p->own.fd = -1;
	if (!cfg->pmem_path)
		return 0;
	if (pmem_shares_ram(cfg))
		return pmem_place(cfg, ram->size, ram->align, true, p, e);
	req.size = cfg->pmem_size ? off + cfg->pmem_size : 0;
	if (cfg->pmem_size && req.size < off)
		return err_set(e, -EINVAL, "the pmem offset plus its size overflows");
	ret = backing_open(&req, &p->own, e);
	if (ret)
		return ret;
	/* The validator checks one devdax device's ranges: another device cannot be judged. */
	if (p->own.kind == BACKING_DEVDAX || p->own.kind == BACKING_ANON ||
	    p->own.kind == BACKING_PAGECACHE || (ram->devmap && !p->own.devmap)) {
		ret = err_set(e, -EINVAL, "pmem on %s (%s) is not supported: use part of guest RAM's own devdax device, or with a stand-in RAM a memfd, tmpfs or hugetlbfs file",
			      p->own.path, backing_kind_name(p->own.kind));
		pmem_close(p);
		return ret;
	}
	ret = pmem_place(cfg, p->own.size, p->own.align, false, p, e);
	if (ret)
		pmem_close(p);
	return ret;
}

void pmem_close(struct pmem_region *p)
{
	if (p->own.host || p->own.fd >= 0)
		backing_close(&p->own);
	memset(&p->own, 0, sizeof(p->own));
	p->own.fd = -1;
	p->active = false;
}

int pmem_layout(struct pmem_region *p, const struct backing *ram, struct machine_map *map,
		struct guest_mem *mem, struct err *e)
{
	const struct backing *b = p->shares_ram ? ram : &p->own;
	const struct machine_range *last = NULL, *r;
	uint64_t end;
	int ret;

	if (!p->active)
		return 0;
	for (unsigned n = 0; (r = machine_map_nth(map, MACHINE_RAM, n)); n++)
		last = r;
	end = last ? last->gpa + last->size : 0;
	if (end < X86_MMIO_HOLE_END)
		end = X86_MMIO_HOLE_END;
	p->gpa = (end + PMEM_GPA_ALIGN - 1) & ~(PMEM_GPA_ALIGN - 1);
	ret = machine_map_add(map, p->gpa, p->size, MACHINE_PMEM, "pmem", e);
	if (!ret)
		ret = guest_mem_add_region(mem, p->gpa, p->size, (char *)b->host + p->offset, b->fd,
					   b->offset + p->offset, b->page_size, e);
	return ret;
}
