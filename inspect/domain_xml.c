/* A libvirt domain XML, read with libxml2 (XPath over the parsed tree): the promises about
 * guest memory (<memory>, <memoryBacking>, <memory model='nvdimm'>) and passed-through PCI
 * devices (<hostdev mode='subsystem' type='pci'>). libxml2 is loaded with dlopen on the first
 * parse, as libvirt is (libvirt_domain.c): linked, it and the ICU and C++ libraries it pulls in
 * cost every daxvm start ~11 ms of loading on the development machine, and only inspect
 * --domain reads XML. */
#include "inspect/domain.h"
#include "common/dl_syms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

/* The libxml2 calls used, resolved from libxml2.so.2 (its soname since 2.0). */
static struct {
	bool loaded;
	xmlDocPtr (*read_memory)(const char *, int, const char *, const char *, int);
	xmlNodePtr (*root_element)(const xmlDoc *);
	void (*free_doc)(xmlDocPtr);
	xmlChar *(*node_content)(const xmlNode *);
	xmlXPathContextPtr (*xpath_new_context)(xmlDocPtr);
	void (*xpath_free_context)(xmlXPathContextPtr);
	xmlXPathObjectPtr (*xpath_eval)(const xmlChar *, xmlXPathContextPtr);
	void (*xpath_free_object)(xmlXPathObjectPtr);
	xmlFreeFunc *free;	/* xmlFree is a variable: the allocator's free, settable */
	void (*set_generic_error)(void *, xmlGenericErrorFunc);
} lx;

/* libxml2 reports some errors (a broken encoding) through its generic handler, which writes to
 * stderr whatever the parse options say; the parse's result is what this file reports. */
static void lx_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static int load_libxml2(struct err *e)
{
	static const struct dl_lib lib = { "libxml2.so.2", "libxml2", "libxml2", "libxml2 2.9" };
	const struct dl_sym syms[] = {
		{ "xmlReadMemory", (void **)&lx.read_memory },
		{ "xmlDocGetRootElement", (void **)&lx.root_element },
		{ "xmlFreeDoc", (void **)&lx.free_doc },
		{ "xmlNodeGetContent", (void **)&lx.node_content },
		{ "xmlXPathNewContext", (void **)&lx.xpath_new_context },
		{ "xmlXPathFreeContext", (void **)&lx.xpath_free_context },
		{ "xmlXPathEvalExpression", (void **)&lx.xpath_eval },
		{ "xmlXPathFreeObject", (void **)&lx.xpath_free_object },
		{ "xmlFree", (void **)&lx.free },
		{ "xmlSetGenericErrorFunc", (void **)&lx.set_generic_error },
	};
	int ret;

	if (lx.loaded)
		return 0;
	ret = dl_syms_load(&lib, syms, sizeof(syms) / sizeof(syms[0]), e);
	lx.loaded = !ret;
	return ret;
}

static void lx_free(void *p)
{
	if (p)
		(*lx.free)(p);
}

/* The string value of the first node of expr (relative to node), or NULL; free with lx_free. */
static char *xstr(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o;
	char *s = NULL;

	ctx->node = node;
	o = lx.xpath_eval((const xmlChar *)expr, ctx);
	if (o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0)
		s = (char *)lx.node_content(o->nodesetval->nodeTab[0]);
	lx.xpath_free_object(o);
	return s;
}

static bool xhas(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o;
	bool yes;

	ctx->node = node;
	o = lx.xpath_eval((const xmlChar *)expr, ctx);
	yes = o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0;
	lx.xpath_free_object(o);
	return yes;
}

static void xcopy(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr, char *out, size_t len)
{
	char *s = xstr(ctx, node, expr);

	snprintf(out, len, "%s", s ? s : "");
	lx_free(s);
}

/* libvirt's scaled integers: the value in unit (default KiB; b, KB = 1000, KiB/k = 1024, ...). */
static int scaled(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr, uint64_t *out)
{
	static const struct { const char *u; uint64_t mul; } units[] = {
		{ "b", 1 }, { "bytes", 1 }, { "KB", 1000 }, { "k", 1024 }, { "KiB", 1024 },
		{ "MB", 1000000 }, { "M", 1 << 20 }, { "MiB", 1 << 20 }, { "GB", 1000000000 },
		{ "G", 1 << 30 }, { "GiB", 1 << 30 }, { "TB", 1000000000000ull }, { "T", 1ull << 40 },
		{ "TiB", 1ull << 40 },
	};
	char expr_unit[256], *val = xstr(ctx, node, expr), *unit, *end;
	uint64_t mul = 1024, n;
	int ret = 0;

	*out = 0;
	if (!val)
		return -ENOENT;
	snprintf(expr_unit, sizeof(expr_unit), "%s/@unit", expr);
	unit = xstr(ctx, node, expr_unit);
	if (unit) {
		mul = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(unit, units[i].u) || (strlen(units[i].u) > 2 && !strcasecmp(unit, units[i].u)))
				mul = units[i].mul;
	}
	n = strtoull(val, &end, 10);
	if (!mul || end == val || *end)
		ret = -EINVAL;
	else
		*out = n * mul;
	lx_free(val);
	lx_free(unit);
	return ret;
}

static int share_of(const char *mode)
{
	if (!mode || !mode[0])
		return -1;
	return !strcmp(mode, "shared");
}

static void backing(xmlXPathContextPtr ctx, xmlNodePtr root, struct inspect_domain *d)
{
	char *s;

	d->has_backing = xhas(ctx, root, "memoryBacking");
	d->hugepages = d->has_backing ? xhas(ctx, root, "memoryBacking/hugepages") : -1;
	if (d->hugepages == 1 && xhas(ctx, root, "memoryBacking/hugepages/page/@size"))
		scaled(ctx, root, "memoryBacking/hugepages/page/@size", &d->hugepage_size);
	if (d->hugepage_size && xhas(ctx, root, "memoryBacking/hugepages/page/@unit")) {
		/* <page size='2048' unit='KiB'/>: the unit is an attribute of page, not of size. */
		char *u = xstr(ctx, root, "memoryBacking/hugepages/page/@unit");

		if (u && (!strcasecmp(u, "M") || !strcasecmp(u, "MiB")))
			d->hugepage_size = d->hugepage_size / 1024 * 1024 * 1024;
		else if (u && (!strcasecmp(u, "G") || !strcasecmp(u, "GiB")))
			d->hugepage_size = d->hugepage_size / 1024 << 30;
		lx_free(u);
	}
	d->locked = d->has_backing ? xhas(ctx, root, "memoryBacking/locked") : -1;
	s = xstr(ctx, root, "memoryBacking/source/@type");
	d->ram_source = !s ? INSPECT_SRC_ANY : !strcmp(s, "file") ? INSPECT_SRC_FILE
		: !strcmp(s, "memfd") ? INSPECT_SRC_MEMFD : !strcmp(s, "anonymous") ? INSPECT_SRC_ANON
		: INSPECT_SRC_ANY;
	lx_free(s);
	s = xstr(ctx, root, "memoryBacking/access/@mode");
	d->ram_share = share_of(s);
	lx_free(s);
}

static int devices(xmlXPathContextPtr ctx, xmlNodePtr root, struct inspect_domain *d, struct err *e)
{
	xmlXPathObjectPtr o;

	ctx->node = root;
	o = lx.xpath_eval((const xmlChar *)"devices/memory[@model='nvdimm']", ctx);
	for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr && d->nr_nvdimm < INSPECT_MAX_NVDIMM; i++) {
		xmlNodePtr n = o->nodesetval->nodeTab[i];
		struct inspect_nvdimm *nv = &d->nvdimm[d->nr_nvdimm];
		char *acc;

		xcopy(ctx, n, "source/path", nv->path, sizeof(nv->path));
		if (!nv->path[0]) {
			lx.xpath_free_object(o);
			return err_set(e, -EINVAL, "the domain's <memory model='nvdimm'> has no <source><path>");
		}
		scaled(ctx, n, "target/size", &nv->size);
		scaled(ctx, n, "source/alignsize", &nv->align);
		nv->pmem = xhas(ctx, n, "source/pmem");
		acc = xstr(ctx, n, "@access");
		nv->share = share_of(acc);
		lx_free(acc);
		d->nr_nvdimm++;
	}
	lx.xpath_free_object(o);
	ctx->node = root;
	o = lx.xpath_eval((const xmlChar *)"devices/hostdev[@mode='subsystem'][@type='pci']", ctx);
	for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr && d->nr_hostdev < INSPECT_MAX_HOSTDEV; i++) {
		xmlNodePtr n = o->nodesetval->nodeTab[i];
		struct inspect_hostdev *h = &d->hostdev[d->nr_hostdev];
		char *dom = xstr(ctx, n, "source/address/@domain"), *bus = xstr(ctx, n, "source/address/@bus");
		char *slot = xstr(ctx, n, "source/address/@slot"), *fn = xstr(ctx, n, "source/address/@function");
		char *drv = xstr(ctx, n, "driver/@name"), *man = xstr(ctx, n, "@managed");

		if (!bus || !slot || !fn) {
			err_set(e, -EINVAL, "the domain's <hostdev> has no <source><address bus= slot= function=>");
		} else {
			snprintf(h->address, sizeof(h->address), "%04lx:%02lx:%02lx.%lx", dom ? strtoul(dom, NULL, 0) : 0,
				 strtoul(bus, NULL, 0), strtoul(slot, NULL, 0), strtoul(fn, NULL, 0));
			snprintf(h->driver, sizeof(h->driver), "%s", drv ? drv : "vfio");
			h->managed = man && !strcmp(man, "yes");
			d->nr_hostdev++;
		}
		lx_free(dom);
		lx_free(bus);
		lx_free(slot);
		lx_free(fn);
		lx_free(drv);
		lx_free(man);
		if (e && e->code) {
			lx.xpath_free_object(o);
			return e->code;
		}
	}
	lx.xpath_free_object(o);
	return 0;
}

int inspect_domain_xml_parse(const char *xml, size_t len, struct inspect_domain *d, struct err *e)
{
	xmlDocPtr doc;
	xmlXPathContextPtr ctx = NULL;
	xmlNodePtr root;
	int ret = 0;

	memset(d, 0, sizeof(*d));
	d->ram_share = d->hugepages = d->locked = -1;
	if (len > (size_t)0x7fffffff)
		return err_set(e, -EINVAL, "the domain XML is too large");
	ret = load_libxml2(e);
	if (ret)
		return ret;
	lx.set_generic_error(NULL, lx_quiet);	/* per thread in libxml2: set on the parsing one */
	doc = lx.read_memory(xml, (int)len, "domain.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return err_set(e, -EINVAL, "the domain XML is not well-formed XML");
	root = lx.root_element(doc);
	if (!root || strcmp((const char *)root->name, "domain")) {
		ret = err_set(e, -EINVAL, "the XML is not a libvirt domain: its root element is <%s>, not <domain>",
			      root ? (const char *)root->name : "nothing");
		goto out;
	}
	ctx = lx.xpath_new_context(doc);
	if (!ctx) {
		ret = err_set(e, -ENOMEM, "out of memory reading the domain XML");
		goto out;
	}
	xcopy(ctx, root, "name", d->name, sizeof(d->name));
	xcopy(ctx, root, "uuid", d->uuid, sizeof(d->uuid));
	xcopy(ctx, root, "@type", d->type, sizeof(d->type));
	if (!d->name[0]) {
		ret = err_set(e, -EINVAL, "the domain XML has no <name>");
		goto out;
	}
	if (scaled(ctx, root, "memory", &d->memory)) {
		ret = err_set(e, -EINVAL, "the domain XML of '%s' has no readable <memory> size", d->name);
		goto out;
	}
	backing(ctx, root, d);
	ret = devices(ctx, root, d, e);
out:
	lx.xpath_free_context(ctx);
	lx.free_doc(doc);
	return ret;
}
