/* A libvirt domain XML, read with libxml2 (XPath over the parsed tree): the promises about
 * guest memory (<memory>, <memoryBacking>, <memory model='nvdimm'>) and passed-through PCI
 * devices (<hostdev mode='subsystem' type='pci'>). */
#include "inspect/domain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

/* The string value of the first node of expr (relative to node), or NULL; free with xmlFree. */
static char *xstr(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o;
	char *s = NULL;

	ctx->node = node;
	o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	if (o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0)
		s = (char *)xmlNodeGetContent(o->nodesetval->nodeTab[0]);
	xmlXPathFreeObject(o);
	return s;
}

static bool xhas(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
	xmlXPathObjectPtr o;
	bool yes;

	ctx->node = node;
	o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	yes = o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0;
	xmlXPathFreeObject(o);
	return yes;
}

static void xcopy(xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr, char *out, size_t len)
{
	char *s = xstr(ctx, node, expr);

	snprintf(out, len, "%s", s ? s : "");
	xmlFree(s);
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
	xmlFree(val);
	xmlFree(unit);
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
		xmlFree(u);
	}
	d->locked = d->has_backing ? xhas(ctx, root, "memoryBacking/locked") : -1;
	s = xstr(ctx, root, "memoryBacking/source/@type");
	d->ram_source = !s ? INSPECT_SRC_ANY : !strcmp(s, "file") ? INSPECT_SRC_FILE
		: !strcmp(s, "memfd") ? INSPECT_SRC_MEMFD : !strcmp(s, "anonymous") ? INSPECT_SRC_ANON
		: INSPECT_SRC_ANY;
	xmlFree(s);
	s = xstr(ctx, root, "memoryBacking/access/@mode");
	d->ram_share = share_of(s);
	xmlFree(s);
}

static int devices(xmlXPathContextPtr ctx, xmlNodePtr root, struct inspect_domain *d, struct err *e)
{
	xmlXPathObjectPtr o;

	ctx->node = root;
	o = xmlXPathEvalExpression((const xmlChar *)"devices/memory[@model='nvdimm']", ctx);
	for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr && d->nr_nvdimm < INSPECT_MAX_NVDIMM; i++) {
		xmlNodePtr n = o->nodesetval->nodeTab[i];
		struct inspect_nvdimm *nv = &d->nvdimm[d->nr_nvdimm];
		char *acc;

		xcopy(ctx, n, "source/path", nv->path, sizeof(nv->path));
		if (!nv->path[0]) {
			xmlXPathFreeObject(o);
			return err_set(e, -EINVAL, "the domain's <memory model='nvdimm'> has no <source><path>");
		}
		scaled(ctx, n, "target/size", &nv->size);
		scaled(ctx, n, "source/alignsize", &nv->align);
		nv->pmem = xhas(ctx, n, "source/pmem");
		acc = xstr(ctx, n, "@access");
		nv->share = share_of(acc);
		xmlFree(acc);
		d->nr_nvdimm++;
	}
	xmlXPathFreeObject(o);
	ctx->node = root;
	o = xmlXPathEvalExpression((const xmlChar *)"devices/hostdev[@mode='subsystem'][@type='pci']", ctx);
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
		xmlFree(dom);
		xmlFree(bus);
		xmlFree(slot);
		xmlFree(fn);
		xmlFree(drv);
		xmlFree(man);
		if (e && e->code) {
			xmlXPathFreeObject(o);
			return e->code;
		}
	}
	xmlXPathFreeObject(o);
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
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return err_set(e, -EINVAL, "the domain XML is not well-formed XML");
	root = xmlDocGetRootElement(doc);
	if (!root || strcmp((const char *)root->name, "domain")) {
		ret = err_set(e, -EINVAL, "the XML is not a libvirt domain: its root element is <%s>, not <domain>",
			      root ? (const char *)root->name : "nothing");
		goto out;
	}
	ctx = xmlXPathNewContext(doc);
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
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ret;
}
