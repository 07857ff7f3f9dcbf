/* Matching a VMM's configuration to its mappings: each RAM or NVDIMM promise is looked up in
 * /proc/PID/smaps (a device or file by path, a memfd by name and size, anonymous RAM by
 * size), what the mapping is (kind, shared, page size, locked) is compared with what was
 * promised, and the matches become the validator's ranges. */
#include "inspect/target.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/size.h"
#include "memory/dax.h"
#include "pinning/pin.h"
#include "validate/vmstat.h"

__attribute__((format(printf, 2, 3)))
static void mismatch(struct inspect_target *t, const char *fmt, ...)
{
	va_list ap;

	if (t->nr_mismatch >= INSPECT_MAX_MISMATCH)
		return;
	va_start(ap, fmt);
	vsnprintf(t->mismatch[t->nr_mismatch++], sizeof(t->mismatch[0]), fmt, ap);
	va_end(ap);
}

static const char *vma_kind(const struct proc_vma *v)
{
	if (!v->path[0])
		return "anon";
	if (!strncmp(v->path, "/dev/dax", 8))
		return "devdax";
	if (!strncmp(v->path, "/memfd:", 7))
		return v->kernel_page_size > 4096 ? "memfd-huge" : "memfd";
	if (v->kernel_page_size > 4096)
		return "hugetlbfs";
	if (v->dev_major == 0)
		return "tmpfs";	/* shmem and other in-memory filesystems */
	return "file";
}

static bool used(const struct inspect_target *t, const struct proc_vma *v)
{
	for (unsigned i = 0; i < t->nr_found; i++)
		if (t->found[i].found && t->found[i].vaddr == v->start)
			return true;
	return false;
}

static bool size_fits(const struct inspect_mem *m, const struct proc_vma *v)
{
	return !m->size || v->end - v->start == m->size;
}

/* The mapping that fulfils promise m, or NULL. */
static const struct proc_vma *lookup(const struct inspect_target *t, const struct inspect_mem *m,
				     const struct proc_vmas *vmas)
{
	struct stat st;
	bool dir = m->path[0] && stat(m->path, &st) == 0 && S_ISDIR(st.st_mode);
	size_t plen = strlen(m->path);

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < vmas->n; i++) {
			const struct proc_vma *v = &vmas->v[i];

			if (used(t, v) || !v->read || v->io)
				continue;
			switch (m->source) {
			case INSPECT_SRC_FILE:
				if (dir ? !strncmp(v->path, m->path, plen) && v->path[plen] == '/' && size_fits(m, v)
					: !strcmp(v->path, m->path) && (pass || size_fits(m, v)))
					return v;
				break;
			case INSPECT_SRC_MEMFD:
				if (!strncmp(v->path, "/memfd:", 7) && (!m->path[0] || !strcmp(v->path, m->path)) &&
				    (pass || size_fits(m, v)))
					return v;
				break;
			case INSPECT_SRC_ANON:
				if (!v->path[0] && v->write && m->size && v->end - v->start == m->size)
					return v;
				break;
			case INSPECT_SRC_ANY:	/* daxvm's automatic choice: its memfd or a devdax device */
				if ((!strcmp(v->path, "/memfd:daxvm-guest-ram") || !strncmp(v->path, "/dev/dax", 8)) &&
				    (pass || size_fits(m, v)))
					return v;
				break;
			}
		}
	}
	return NULL;
}

static void describe_promise(const struct inspect_mem *m, char *buf, size_t len)
{
	char sz[32];

	snprintf(buf, len, "%s %s%s%s of %s", inspect_role_name(m->role), inspect_source_name(m->source),
		 m->path[0] ? " " : "", m->path, m->size ? size_format(m->size, sz, sizeof(sz)) : "any size");
}

/* Compares what the command line promised for m with mapping f. */
static void compare_promise(struct inspect_target *t, const struct inspect_mem *m, const struct inspect_found *f)
{
	bool dax = !strcmp(f->kind, "devdax"), huge = f->page_size > 4096 && !dax;

	if (m->share == 1 && !f->shared)
		mismatch(t, "%s promises a shared mapping (share=on) but %s %s is mapped private", m->origin,
			 f->label, f->path[0] ? f->path : "(anonymous)");
	if (m->share == 0 && f->shared && m->source != INSPECT_SRC_MEMFD)
		mismatch(t, "%s promises a private mapping (share=off) but %s is mapped shared", m->origin, f->label);
	if (m->share == 0 && m->path[0] && !strncmp(m->path, "/dev/dax", 8))
		mismatch(t, "%s maps device-dax private (share=off): the kernel refuses MAP_PRIVATE on devdax, and a "
			 "private copy would not be the device's memory; use share=on", m->origin);
	if (m->hugepages == 1 && !huge)
		mismatch(t, "%s promises huge pages but %s has %" PRIu64 " KiB pages", m->origin, f->label,
			 f->page_size / 1024);
	if (m->hugepage_size && huge && m->hugepage_size != f->page_size)
		mismatch(t, "%s promises %" PRIu64 " KiB huge pages but %s has %" PRIu64 " KiB pages", m->origin,
			 m->hugepage_size / 1024, f->label, f->page_size / 1024);
	if (m->size && f->size != m->size) {
		char a[32], b[32];

		mismatch(t, "%s promises %s but the mapping %s is %s", m->origin, size_format(m->size, a, sizeof(a)),
			 f->label, size_format(f->size, b, sizeof(b)));
	}
	if (m->align && dax && f->page_size < m->align)
		mismatch(t, "%s promises alignment %" PRIu64 " KiB but device %s maps %" PRIu64 " KiB pages",
			 m->origin, m->align / 1024, f->path, f->page_size / 1024);
}

/* The kernel never sets VM_LOCKED on devdax or hugetlb mappings (mlock_fixup skips them). */
static bool lockable(const struct inspect_found *f)
{
	return strcmp(f->kind, "devdax") && f->page_size <= 4096;
}

static void compare_domain(struct inspect_target *t, const struct inspect_domain *d,
			   const struct inspect_process *p, const struct inspect_config *cfg)
{
	for (unsigned i = 0; i < t->nr_found; i++) {
		const struct inspect_found *f = &t->found[i];
		bool dax = !strcmp(f->kind, "devdax");

		if (!f->found || f->promise->role != INSPECT_ROLE_RAM)
			continue;
		if (d->ram_source == INSPECT_SRC_MEMFD && strncmp(f->kind, "memfd", 5))
			mismatch(t, "<memoryBacking><source type='memfd'/> but guest RAM %s is %s", f->label, f->kind);
		if (d->ram_source == INSPECT_SRC_FILE && (!strcmp(f->kind, "anon") || !strncmp(f->kind, "memfd", 5)))
			mismatch(t, "<memoryBacking><source type='file'/> but guest RAM %s is %s", f->label, f->kind);
		if (d->ram_source == INSPECT_SRC_ANON && d->hugepages != 1 && strcmp(f->kind, "anon"))
			mismatch(t, "<memoryBacking><source type='anonymous'/> but guest RAM %s is %s %s", f->label,
				 f->kind, f->path);
		if (d->ram_share == 1 && !f->shared)
			mismatch(t, "<memoryBacking><access mode='shared'/> but guest RAM %s is mapped private", f->label);
		if (d->ram_share == 0 && f->shared)
			mismatch(t, "<memoryBacking><access mode='private'/> but guest RAM %s is mapped shared", f->label);
		if (d->ram_share == 0 && dax)
			mismatch(t, "<memoryBacking><access mode='private'/> on device-dax %s: the kernel refuses "
				 "MAP_PRIVATE there; use mode='shared'", f->path);
		if (d->hugepages == 1 && f->page_size <= 4096)
			mismatch(t, "<memoryBacking><hugepages/> but guest RAM %s has 4 KiB pages", f->label);
		if (d->locked == 1 && lockable(f) && !f->locked)
			mismatch(t, "<memoryBacking><locked/> but guest RAM %s is not locked (no VM_LOCKED)", f->label);
	}
	for (unsigned k = 0; k < d->nr_nvdimm; k++) {
		const struct inspect_nvdimm *n = &d->nvdimm[k];
		const struct inspect_found *hit = NULL;

		for (unsigned i = 0; i < t->nr_found; i++)
			if (t->found[i].found && !strcmp(t->found[i].path, n->path))
				hit = &t->found[i];
		if (!hit) {
			mismatch(t, "<memory model='nvdimm'> on %s: QEMU does not map %s", n->path, n->path);
			continue;
		}
		if (n->share == 0 && !strncmp(n->path, "/dev/dax", 8))
			mismatch(t, "<memory model='nvdimm' access='private'> on device-dax %s: the kernel refuses "
				 "MAP_PRIVATE there; use access='shared'", n->path);
		else if (n->share == 1 && !hit->shared)
			mismatch(t, "<memory model='nvdimm' access='shared'> but %s is mapped private", hit->label);
		if (n->size && hit->size != n->size)
			mismatch(t, "<memory model='nvdimm'> on %s promises %" PRIu64 " MiB, mapped %" PRIu64 " MiB",
				 n->path, n->size >> 20, hit->size >> 20);
		if (n->align && !strcmp(hit->kind, "devdax") && hit->page_size < n->align)
			mismatch(t, "<memory model='nvdimm'> alignsize %" PRIu64 " KiB but %s maps %" PRIu64 " KiB pages",
				 n->align / 1024, n->path, hit->page_size / 1024);
	}
	for (unsigned k = 0; k < d->nr_hostdev; k++) {
		const struct inspect_hostdev *h = &d->hostdev[k];
		bool on_cmdline = false;

		for (unsigned i = 0; i < cfg->nr_vfio; i++)
			on_cmdline |= !strcasecmp(cfg->vfio[i], h->address);
		if (strcmp(h->driver, "vfio"))
			mismatch(t, "<hostdev> %s uses driver '%s', not vfio: its DMA does not go through VFIO type1 pins",
				 h->address, h->driver);
		else if (!on_cmdline)
			mismatch(t, "<hostdev> %s is not passed to QEMU with -device vfio-pci", h->address);
	}
	if (d->nr_hostdev && !p->vfio_container_fds && !p->vfio_group_fds)
		mismatch(t, "the domain passes %u device(s) through, but QEMU holds no /dev/vfio file open", d->nr_hostdev);
}

static int add_devmap(struct inspect_target *t, const char *path, struct err *e)
{
	struct dax_info info;
	int ret = dax_info_by_path(path, &info, e);

	if (ret)
		return ret;
	if (!t->devdax_device[0])
		snprintf(t->devdax_device, sizeof(t->devdax_device), "%s", path);
	for (unsigned i = 0; i < info.nr_ranges && t->nr_devmap < BACKING_MAX_RANGES; i++) {
		bool dup = false;

		for (unsigned k = 0; k < t->nr_devmap; k++)
			dup |= t->devmap[k].start == info.ranges[i].start;
		if (!dup)
			t->devmap[t->nr_devmap++] = info.ranges[i];
	}
	return 0;
}

static enum pin_backend backend_of(const char *pin_path)
{
	if (!strcmp(pin_path, "vfio"))
		return PIN_VFIO;
	if (!strcmp(pin_path, "iommufd"))
		return PIN_IOMMUFD;
	if (!strcmp(pin_path, "io_uring"))
		return PIN_IO_URING;
	return PIN_NONE;
}

int inspect_target_build(const struct inspect_process *p, const struct inspect_config *cfg,
			 const struct inspect_domain *dom, const struct proc_vmas *vmas,
			 struct inspect_target *t, struct err *e)
{
	enum pin_backend b;
	unsigned nram = 0, nnv = 0;
	uint64_t expected = 0, uncharged_bytes = 0;
	int ret;

	memset(t, 0, sizeof(*t));
	t->pid = p->pid;
	snprintf(t->pin_path, sizeof(t->pin_path), "%s", inspect_process_pin_path(p));
	b = backend_of(t->pin_path);
	vmstat_status_kib(p->pid, "VmLck", &t->vmlck_kib, NULL);
	vmstat_status_kib(p->pid, "VmPin", &t->vmpin_kib, NULL);
	t->mlocked_kib = proc_vmas_locked_bytes(vmas) / 1024;
	for (unsigned i = 0; i < cfg->nr_mem; i++) {
		const struct inspect_mem *m = &cfg->mem[i];
		struct inspect_found *f = &t->found[t->nr_found];
		const struct proc_vma *v;
		char what[200];

		if (m->role == INSPECT_ROLE_OTHER)
			continue;
		t->nr_found++;
		f->promise = m;
		snprintf(f->label, sizeof(f->label), "%s%u", m->role == INSPECT_ROLE_RAM ? "ram" : "nvdimm",
			 m->role == INSPECT_ROLE_RAM ? nram++ : nnv++);
		v = lookup(t, m, vmas);
		if (!v) {
			describe_promise(m, what, sizeof(what));
			mismatch(t, "%s promises %s, but no such mapping is in /proc/%d/maps", m->origin, what, (int)p->pid);
			continue;
		}
		f->found = true;
		snprintf(f->kind, sizeof(f->kind), "%s", vma_kind(v));
		snprintf(f->path, sizeof(f->path), "%s", v->path);
		f->vaddr = v->start;
		f->size = v->end - v->start;
		f->page_size = v->kernel_page_size;
		f->shared = v->shared;
		f->locked = v->locked;
		f->devmap = !strcmp(f->kind, "devdax");
		compare_promise(t, m, f);
		if (cfg->mem_lock == 1 && lockable(f) && !f->locked)
			mismatch(t, "%s promises locked memory but %s is not locked (no VM_LOCKED)", cfg->mem_lock_origin,
				 f->label);
		if (f->devmap) {
			ret = add_devmap(t, f->path, e);
			if (ret)
				return ret;
		}
		f->pins_expected = b == PIN_NONE ? 0 : pin_expected_pins(b, f->vaddr, f->size, f->page_size);
		/* VFIO type1 charges locked_vm only for pages that are not PG_reserved: devdax pages
		 * are (ZONE_DEVICE), so it never charges them (6.1 .. 7.3, LAB-FACTS.md). */
		f->charged = b != PIN_NONE && !(b == PIN_VFIO && f->devmap);
		expected += f->pins_expected;
		if (!f->charged)
			uncharged_bytes += f->pins_expected * 4096;
		t->ranges[t->nr_ranges++] = (struct validate_range){
			.vaddr = f->vaddr, .size = f->size, .page_size = f->page_size, .iova = f->vaddr,
			.not_devmap = !f->devmap };
		memcpy(t->ranges[t->nr_ranges - 1].label, f->label, VALIDATE_LABEL_MAX);
	}
	if (cfg->nr_vfio && b != PIN_VFIO)
		mismatch(t, "the command line passes %s through with vfio-pci, but the process holds no /dev/vfio file open",
			 cfg->vfio[0]);
	if (dom)
		compare_domain(t, dom, p, cfg);

	t->vt.pid = p->pid;
	t->vt.ranges = t->ranges;
	t->vt.nr_ranges = t->nr_ranges;
	t->vt.devmap = t->nr_devmap > 0;
	t->vt.devmap_ranges = t->devmap;
	t->vt.nr_devmap = t->nr_devmap;
	t->vt.own_field = b == PIN_VFIO ? "VmLck" : b == PIN_NONE ? NULL : "VmPin";
	/* VmLck is also what mlock charges: the VM_LOCKED mappings are not pins. */
	t->vt.own_not_pins_kib = b == PIN_VFIO ? t->mlocked_kib : 0;
	t->vt.expected_pins = expected;
	t->vt.uncharged_bytes = uncharged_bytes;
	t->vt.pin_unit = b == PIN_VFIO ? 4096 : 0;
	t->vt.kernel_pins = true;
	t->vt.attached = true;
	t->vt.pin_path = t->pin_path;
	if (b == PIN_VFIO)
		snprintf(t->pin_why, sizeof(t->pin_why), "the process holds /dev/vfio files: VFIO type1 pins all guest "
			 "RAM it maps for device DMA");
	else if (b == PIN_NONE)
		snprintf(t->pin_why, sizeof(t->pin_why), "the process holds no VFIO, iommufd or io_uring file: "
			 "nothing pins its memory");
	else
		snprintf(t->pin_why, sizeof(t->pin_why), "the process holds %s files", t->pin_path);
	t->vt.pin_path_why = t->pin_why;
	return 0;
}
