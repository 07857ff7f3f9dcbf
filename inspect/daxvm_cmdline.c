/* A daxvm run / pin-check command line as a configuration: its backing (--mem, --mem-size)
 * and pin path (--pin, --vfio). daxvm names its memfd "daxvm-guest-ram". */
#include "inspect/vmm_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/size.h"

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]; NULL when argv[*i] is not opt. */
static const char *value_of(int argc, char *const *argv, int *i, const char *opt)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n))
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

int inspect_daxvm_cmdline(int argc, char *const *argv, struct inspect_config *c, struct err *e)
{
	struct inspect_mem *m = &c->mem[0];
	const char *mem = NULL, *v;

	memset(c, 0, sizeof(*c));
	c->vmm = INSPECT_VMM_DAXVM;
	c->mem_lock = -1;
	c->nr_mem = 1;
	m->role = INSPECT_ROLE_RAM;
	m->share = -1;
	m->hugepages = -1;
	m->pmem = -1;
	snprintf(c->pin, sizeof(c->pin), "auto");
	for (int i = 2; i < argc; i++) {
		if ((v = value_of(argc, argv, &i, "--mem-size"))) {
			if (size_parse(v, &m->size))
				return err_set(e, -EINVAL, "daxvm's --mem-size '%s' is not a size", v);
		} else if ((v = value_of(argc, argv, &i, "--mem"))) {
			mem = v;
		} else if ((v = value_of(argc, argv, &i, "--pin"))) {
			snprintf(c->pin, sizeof(c->pin), "%s", v);
		} else if ((v = value_of(argc, argv, &i, "--vfio")) && c->nr_vfio < INSPECT_MAX_VFIO) {
			snprintf(c->vfio[c->nr_vfio++], sizeof(c->vfio[0]), "%s", v);
		}
	}
	snprintf(m->id, sizeof(m->id), "guest");
	snprintf(m->origin, sizeof(m->origin), "daxvm %s --mem %s", argv[1], mem ? mem : "(automatic)");
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
	return 0;
}
