/* QEMU's command line as a configuration: the memory backends and what uses them, the
 * devices passed through with vfio-pci, and memory locking. Options come in QEMU's keyval
 * form (memory-backend-file,id=m,mem-path=/dev/dax0.0) or, as libvirt writes them, as one
 * flat JSON object ({"qom-type":"memory-backend-ram","id":"pc.ram","size":268435456}). */
#include "inspect/vmm_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/size.h"

#define KV_MAX 32

/* One option's key=value pairs; the first bare word (keyval's implied key) has key "". */
struct kv {
	char key[KV_MAX][48];
	char val[KV_MAX][INSPECT_TEXT];
	unsigned n;
};

static const char *kv_get(const struct kv *kv, const char *key)
{
	for (unsigned i = 0; i < kv->n; i++)
		if (!strcmp(kv->key[i], key))
			return kv->val[i];
	return NULL;
}

static void kv_add(struct kv *kv, const char *k, size_t klen, const char *v, size_t vlen)
{
	if (kv->n >= KV_MAX)
		return;
	snprintf(kv->key[kv->n], sizeof(kv->key[0]), "%.*s", (int)klen, k);
	snprintf(kv->val[kv->n], sizeof(kv->val[0]), "%.*s", (int)vlen, v);
	kv->n++;
}

/* Flat JSON: strings, numbers, true/false; nested values are skipped. */
static int parse_json(const char *s, struct kv *kv)
{
	const char *p = s + 1;

	for (;;) {
		const char *k, *v;
		size_t klen, vlen;

		while (isspace((unsigned char)*p) || *p == ',')
			p++;
		if (*p == '}')
			return 0;
		if (*p != '"')
			return -EINVAL;
		k = ++p;
		while (*p && *p != '"')
			p++;
		if (!*p)
			return -EINVAL;
		klen = (size_t)(p - k);
		p++;
		while (isspace((unsigned char)*p) || *p == ':')
			p++;
		if (*p == '"') {
			v = ++p;
			while (*p && *p != '"')
				p += *p == '\\' && p[1] ? 2 : 1;
			if (!*p)
				return -EINVAL;
			vlen = (size_t)(p - v);
			p++;
		} else if (*p == '{' || *p == '[') {
			int depth = 0;

			v = p;
			do {
				depth += *p == '{' || *p == '[';
				depth -= *p == '}' || *p == ']';
				p++;
			} while (*p && depth);
			vlen = 0;
		} else {
			v = p;
			while (*p && *p != ',' && *p != '}' && !isspace((unsigned char)*p))
				p++;
			vlen = (size_t)(p - v);
		}
		kv_add(kv, k, klen, v, vlen);
	}
}

/* keyval: "first,key=value,key=value" (",," is a literal comma). */
static int parse_opts(const char *s, struct kv *kv)
{
	memset(kv, 0, sizeof(*kv));
	if (s[0] == '{')
		return parse_json(s, kv);
	while (*s) {
		char item[INSPECT_TEXT + 64];
		size_t n = 0;
		const char *eq;

		while (*s && n < sizeof(item) - 1) {
			if (*s == ',' && s[1] == ',') {
				item[n++] = ',';
				s += 2;
				continue;
			}
			if (*s == ',')
				break;
			item[n++] = *s++;
		}
		item[n] = 0;
		if (*s == ',')
			s++;
		eq = strchr(item, '=');
		if (eq)
			kv_add(kv, item, (size_t)(eq - item), eq + 1, strlen(eq + 1));
		else
			kv_add(kv, "", 0, item, n);
	}
	return 0;
}

/* on/off/yes/no/true/false -> 1/0; NULL -> -1. */
static int tri(const char *v)
{
	if (!v)
		return -1;
	return !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1");
}

static int size_of(const char *v, uint64_t *out, bool mib_default)
{
	size_t n = strlen(v);

	if (n && isdigit((unsigned char)v[n - 1]) && mib_default) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%sM", v);
		return size_parse(buf, out);
	}
	return size_parse(v, out);
}

static struct inspect_mem *mem_by_id(struct inspect_config *c, const char *id)
{
	for (unsigned i = 0; i < c->nr_mem; i++)
		if (id && !strcmp(c->mem[i].id, id))
			return &c->mem[i];
	return NULL;
}

static int add_backend(struct inspect_config *c, const struct kv *kv, const char *type, const char *arg,
		       struct err *e)
{
	struct inspect_mem *m;
	const char *v;

	if (c->nr_mem >= INSPECT_MAX_MEM)
		return err_set(e, -EINVAL, "more than %d memory backends on the command line", INSPECT_MAX_MEM);
	m = &c->mem[c->nr_mem++];
	memset(m, 0, sizeof(*m));
	m->role = INSPECT_ROLE_OTHER;
	m->share = tri(kv_get(kv, "share"));
	m->hugepages = tri(kv_get(kv, "hugetlb"));
	m->pmem = tri(kv_get(kv, "pmem"));
	snprintf(m->id, sizeof(m->id), "%s", kv_get(kv, "id") ? kv_get(kv, "id") : "");
	snprintf(m->origin, sizeof(m->origin), "-object %.64s,id=%.64s", type, kv_get(kv, "id") ? kv_get(kv, "id") : "");
	if (!strcmp(type, "memory-backend-ram"))
		m->source = INSPECT_SRC_ANON;
	else if (!strcmp(type, "memory-backend-memfd"))
		m->source = INSPECT_SRC_MEMFD;
	else
		m->source = INSPECT_SRC_FILE;
	/* QEMU's default for memfd is share=on; ram and file default to off. */
	if (m->share < 0)
		m->share = m->source == INSPECT_SRC_MEMFD;
	if ((v = kv_get(kv, "mem-path")))
		snprintf(m->path, sizeof(m->path), "%s", v);
	if ((v = kv_get(kv, "size")) && size_of(v, &m->size, false))
		return err_set(e, -EINVAL, "size '%s' of %s is not a size", v, arg);
	if ((v = kv_get(kv, "align")) && size_of(v, &m->align, false))
		return err_set(e, -EINVAL, "align '%s' of %s is not a size", v, arg);
	if ((v = kv_get(kv, "hugetlbsize")) && size_of(v, &m->hugepage_size, false))
		return err_set(e, -EINVAL, "hugetlbsize '%s' of %s is not a size", v, arg);
	return 0;
}

struct qemu_args {
	uint64_t ram_size;		/* -m, bytes */
	char machine_backend[64];	/* -machine memory-backend= */
	char mem_path[INSPECT_TEXT];	/* -mem-path */
	bool used_as_ram;		/* some backend is RAM (machine or numa) */
};

static int device(struct inspect_config *c, const struct kv *kv, const char *arg, struct err *e)
{
	const char *drv = kv_get(kv, "driver") ? kv_get(kv, "driver") : kv_get(kv, "");
	const char *v;

	if (!drv)
		return 0;
	if (!strcmp(drv, "vfio-pci")) {
		v = kv_get(kv, "host");
		if (!v && (v = kv_get(kv, "sysfsdev")) && strrchr(v, '/'))
			v = strrchr(v, '/') + 1;
		if (!v)
			return err_set(e, -EINVAL, "%s has neither host= nor sysfsdev=", arg);
		if (c->nr_vfio < INSPECT_MAX_VFIO) {
			/* QEMU accepts the short form "00:03.0": domain 0000. */
			snprintf(c->vfio[c->nr_vfio], sizeof(c->vfio[0]), "%s%.24s",
				 strlen(v) <= 7 ? "0000:" : "", v);
			c->nr_vfio++;
		}
	} else if (!strcmp(drv, "nvdimm")) {
		struct inspect_mem *m = mem_by_id(c, kv_get(kv, "memdev"));

		if (!m)
			return err_set(e, -EINVAL, "%s names memdev '%s', which no -object defines before it", arg,
				       kv_get(kv, "memdev") ? kv_get(kv, "memdev") : "");
		m->role = INSPECT_ROLE_NVDIMM;
	}
	return 0;
}

int inspect_qemu_cmdline(int argc, char *const *argv, struct inspect_config *c, struct err *e)
{
	struct qemu_args q = { .ram_size = 128ull << 20 };	/* QEMU's default -m */
	struct kv kv;

	memset(c, 0, sizeof(*c));
	c->vmm = INSPECT_VMM_QEMU;
	c->mem_lock = -1;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL, *v;
		char what[INSPECT_TEXT];

		if (opt[0] != '-')
			continue;
		if (opt[1] == '-')
			opt++;	/* QEMU takes --opt too */
		if (!arg)
			break;
		snprintf(what, sizeof(what), "%s %.200s", opt, arg);
		if (!strcmp(opt, "-object") || !strcmp(opt, "-device") || !strcmp(opt, "-machine") ||
		    !strcmp(opt, "-M") || !strcmp(opt, "-m") || !strcmp(opt, "-numa") ||
		    !strcmp(opt, "-overcommit") || !strcmp(opt, "-realtime") || !strcmp(opt, "-name")) {
			if (parse_opts(arg, &kv))
				return err_set(e, -EINVAL, "cannot parse QEMU argument '%s'", what);
		}
		if (!strcmp(opt, "-object")) {
			const char *type = kv_get(&kv, "qom-type") ? kv_get(&kv, "qom-type") : kv_get(&kv, "");

			if (type && !strncmp(type, "memory-backend-", 15) && add_backend(c, &kv, type, what, e))
				return -EINVAL;
		} else if (!strcmp(opt, "-device")) {
			if (device(c, &kv, what, e))
				return -EINVAL;
		} else if (!strcmp(opt, "-machine") || !strcmp(opt, "-M")) {
			if ((v = kv_get(&kv, "memory-backend")))
				snprintf(q.machine_backend, sizeof(q.machine_backend), "%s", v);
		} else if (!strcmp(opt, "-m")) {
			v = kv_get(&kv, "size") ? kv_get(&kv, "size") : kv_get(&kv, "");
			if (v && size_of(v, &q.ram_size, true))
				return err_set(e, -EINVAL, "cannot read the RAM size of '%s'", what);
		} else if (!strcmp(opt, "-numa")) {
			struct inspect_mem *m = mem_by_id(c, kv_get(&kv, "memdev"));

			if (m) {
				m->role = INSPECT_ROLE_RAM;
				q.used_as_ram = true;
			}
		} else if (!strcmp(opt, "-mem-path")) {
			snprintf(q.mem_path, sizeof(q.mem_path), "%s", arg);
		} else if (!strcmp(opt, "-overcommit") && (v = kv_get(&kv, "mem-lock"))) {
			c->mem_lock = tri(v);
			snprintf(c->mem_lock_origin, sizeof(c->mem_lock_origin), "-overcommit mem-lock=%s", v);
		} else if (!strcmp(opt, "-realtime") && (v = kv_get(&kv, "mlock"))) {
			c->mem_lock = tri(v);
			snprintf(c->mem_lock_origin, sizeof(c->mem_lock_origin), "-realtime mlock=%s", v);
		} else if (!strcmp(opt, "-name")) {
			v = kv_get(&kv, "guest") ? kv_get(&kv, "guest") : kv_get(&kv, "");
			snprintf(c->name, sizeof(c->name), "%s", v ? v : "");
		} else if (!strcmp(opt, "-uuid")) {
			snprintf(c->uuid, sizeof(c->uuid), "%s", arg);
		} else {
			continue;
		}
		i++;
	}
	if (q.machine_backend[0]) {
		struct inspect_mem *m = mem_by_id(c, q.machine_backend);

		if (!m)
			return err_set(e, -EINVAL, "-machine memory-backend=%s names no -object memory-backend-*",
				       q.machine_backend);
		m->role = INSPECT_ROLE_RAM;
		if (!m->size)
			m->size = q.ram_size;
		q.used_as_ram = true;
	}
	if (!q.used_as_ram && c->nr_mem < INSPECT_MAX_MEM) {
		/* No backend given for RAM: QEMU allocates "pc.ram" itself, anonymous or in -mem-path. */
		struct inspect_mem *m = &c->mem[c->nr_mem++];

		memset(m, 0, sizeof(*m));
		snprintf(m->id, sizeof(m->id), "pc.ram");
		m->role = INSPECT_ROLE_RAM;
		m->size = q.ram_size;
		m->source = q.mem_path[0] ? INSPECT_SRC_FILE : INSPECT_SRC_ANON;
		m->share = 0;
		m->hugepages = -1;
		m->pmem = -1;
		snprintf(m->path, sizeof(m->path), "%s", q.mem_path);
		snprintf(m->origin, sizeof(m->origin), "-m %llu M%s%.180s", (unsigned long long)(q.ram_size >> 20),
			 q.mem_path[0] ? " -mem-path " : "", q.mem_path);
	}
	return 0;
}

const char *inspect_source_name(enum inspect_mem_source s)
{
	switch (s) {
	case INSPECT_SRC_ANON:
		return "anonymous";
	case INSPECT_SRC_MEMFD:
		return "memfd";
	case INSPECT_SRC_FILE:
		return "file";
	case INSPECT_SRC_ANY:
		break;
	}
	return "any";
}

const char *inspect_role_name(enum inspect_mem_role r)
{
	switch (r) {
	case INSPECT_ROLE_RAM:
		return "ram";
	case INSPECT_ROLE_NVDIMM:
		return "nvdimm";
	case INSPECT_ROLE_OTHER:
		break;
	}
	return "other";
}
