/* The report's target section: what the configuration promised and what was found. */
#include <stdio.h>
#include <string.h>

#include "inspect/target.h"

static const char *tri_name(int v)
{
	return v < 0 ? "unsaid" : v ? "yes" : "no";
}

static int promise_keys(struct report *r, const char *pre, const struct inspect_mem *m)
{
	char k[128];
	int ret = 0;

#define KEY(name) (snprintf(k, sizeof(k), "%.96s.%s", pre, name), k)
	ret |= report_set_str(r, KEY("id"), m->id);
	ret |= report_set_str(r, KEY("role"), inspect_role_name(m->role));
	ret |= report_set_str(r, KEY("source"), inspect_source_name(m->source));
	ret |= report_set_str(r, KEY("path"), m->path);
	ret |= report_set_u64(r, KEY("size_bytes"), m->size);
	ret |= report_set_str(r, KEY("share"), tri_name(m->share));
	ret |= report_set_str(r, KEY("hugepages"), tri_name(m->hugepages));
	ret |= report_set_str(r, KEY("origin"), m->origin);
#undef KEY
	return ret;
}

static int found_keys(struct report *r, const char *pre, const struct inspect_found *f)
{
	char k[128];
	int ret = 0;

#define KEY(name) (snprintf(k, sizeof(k), "%.96s.%s", pre, name), k)
	ret |= report_set_bool(r, KEY("found"), f->found);
	if (!f->found)
		return ret;
	ret |= report_set_str(r, KEY("kind"), f->kind);
	ret |= report_set_str(r, KEY("path"), f->path);
	ret |= report_set_u64(r, KEY("vaddr"), f->vaddr);
	ret |= report_set_u64(r, KEY("size_bytes"), f->size);
	ret |= report_set_u64(r, KEY("page_size"), f->page_size);
	ret |= report_set_bool(r, KEY("shared"), f->shared);
	ret |= report_set_bool(r, KEY("locked"), f->locked);
	ret |= report_set_bool(r, KEY("devmap"), f->devmap);
	ret |= report_set_u64(r, KEY("pins_expected"), f->pins_expected);
	ret |= report_set_bool(r, KEY("pins_charged"), f->charged);
#undef KEY
	return ret;
}

int inspect_target_fill_report(const struct inspect_target *t, const struct inspect_process *p,
			       const struct inspect_config *cfg, const struct inspect_domain *dom,
			       struct report *r)
{
	char k[128], list[256] = "";
	int ret = 0;

	ret |= report_set_u64(r, "target.pid", (uint64_t)p->pid);
	ret |= report_set_str(r, "target.vmm", cfg->vmm == INSPECT_VMM_QEMU ? "qemu" : "daxvm");
	ret |= report_set_str(r, "target.comm", p->comm);
	ret |= report_set_str(r, "target.config_source", dom ? "domain XML and QEMU command line" : "command line");
	if (cfg->name[0])
		ret |= report_set_str(r, "target.name", cfg->name);
	if (cfg->uuid[0])
		ret |= report_set_str(r, "target.uuid", cfg->uuid);
	for (unsigned i = 0; i < t->nr_found; i++) {
		snprintf(k, sizeof(k), "target.mappings.%s.promised", t->found[i].label);
		ret |= promise_keys(r, k, t->found[i].promise);
		snprintf(k, sizeof(k), "target.mappings.%s.found", t->found[i].label);
		ret |= found_keys(r, k, &t->found[i]);
	}
	for (unsigned i = 0; i < cfg->nr_vfio; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? " " : "", cfg->vfio[i]);
	ret |= report_set_str(r, "target.promised.vfio", list);
	ret |= report_set_str(r, "target.promised.mem_lock", tri_name(cfg->mem_lock));
	ret |= report_set_str(r, "target.found.pin_path", t->pin_path);
	ret |= report_set_u64(r, "target.found.vfio_fds", p->vfio_container_fds + p->vfio_group_fds);
	ret |= report_set_u64(r, "target.found.vmlck_kib", t->vmlck_kib);
	ret |= report_set_u64(r, "target.found.vmpin_kib", t->vmpin_kib);
	ret |= report_set_u64(r, "target.found.mlocked_kib", t->mlocked_kib);
	if (t->devdax_device[0])
		ret |= report_set_str(r, "target.found.devdax", t->devdax_device);
	if (dom) {
		ret |= report_set_str(r, "target.domain.name", dom->name);
		ret |= report_set_str(r, "target.domain.type", dom->type);
		ret |= report_set_u64(r, "target.domain.memory_bytes", dom->memory);
		ret |= report_set_str(r, "target.domain.memory_backing.source", inspect_source_name(dom->ram_source));
		ret |= report_set_str(r, "target.domain.memory_backing.shared", tri_name(dom->ram_share));
		ret |= report_set_str(r, "target.domain.memory_backing.hugepages", tri_name(dom->hugepages));
		ret |= report_set_str(r, "target.domain.memory_backing.locked", tri_name(dom->locked));
		for (unsigned i = 0; i < dom->nr_nvdimm; i++) {
			snprintf(k, sizeof(k), "target.domain.nvdimm%u.path", i);
			ret |= report_set_str(r, k, dom->nvdimm[i].path);
			snprintf(k, sizeof(k), "target.domain.nvdimm%u.size_bytes", i);
			ret |= report_set_u64(r, k, dom->nvdimm[i].size);
		}
		for (unsigned i = 0; i < dom->nr_hostdev; i++) {
			snprintf(k, sizeof(k), "target.domain.hostdev%u", i);
			ret |= report_set_str(r, k, dom->hostdev[i].address);
		}
	}
	ret |= report_set_u64(r, "target.mismatches", t->nr_mismatch);
	for (unsigned i = 0; i < t->nr_mismatch; i++) {
		snprintf(k, sizeof(k), "target.mismatch%u", i);
		ret |= report_set_str(r, k, t->mismatch[i]);
	}
	return ret ? -1 : 0;
}
