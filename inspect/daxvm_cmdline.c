/* A daxvm run / pin-check as a configuration: its backing (path, memfd, memfd-huge, anon or
 * automatic), its size and pin path. The command line itself is read by cli/ with daxvm's own
 * option tables (only cli/ speaks in flags). daxvm names its memfd "daxvm-guest-ram". */
#include "inspect/vmm_config.h"

#include <stdio.h>
#include <string.h>

void inspect_daxvm_config(const char *command, const char *mem, uint64_t mem_size, const char *pin,
			  const char *vfio, struct inspect_config *c)
{
	struct inspect_mem *m = &c->mem[0];

	memset(c, 0, sizeof(*c));
	c->vmm = INSPECT_VMM_DAXVM;
	c->mem_lock = -1;
	c->nr_mem = 1;
	m->role = INSPECT_ROLE_RAM;
	m->size = mem_size;
	m->share = -1;
	m->hugepages = -1;
	m->pmem = -1;
	snprintf(c->pin, sizeof(c->pin), "%s", pin ? pin : "auto");
	if (vfio)
		snprintf(c->vfio[c->nr_vfio++], sizeof(c->vfio[0]), "%s", vfio);
	snprintf(m->id, sizeof(m->id), "guest");
	snprintf(m->origin, sizeof(m->origin), "daxvm %s, guest RAM on %.200s", command, mem ? mem : "the automatic choice");
	if (!mem) {
		m->source = INSPECT_SRC_ANY;
	} else if (!strcmp(mem, "anon")) {
		m->source = INSPECT_SRC_ANON;
		m->share = 0;
	} else if (!strcmp(mem, "memfd") || !strcmp(mem, "memfd-huge")) {
		m->source = INSPECT_SRC_MEMFD;
		m->share = 1;
		m->hugepages = !strcmp(mem, "memfd-huge");
		snprintf(m->path, sizeof(m->path), "/memfd:daxvm-guest-ram");
	} else {
		m->source = INSPECT_SRC_FILE;
		m->share = 1;
		snprintf(m->path, sizeof(m->path), "%s", mem);
	}
}
