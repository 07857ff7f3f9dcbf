/* A libvirt domain's live XML and UUID through libvirt's C API on a read-only connection
 * (virConnectOpenReadOnly: no write access to libvirt is needed or taken). libvirt's API has
 * no read-only call that names the domain's QEMU pid, so the caller finds QEMU by the UUID
 * libvirt passes it (-uuid). libvirt is loaded with dlopen on the first call: linked, its ~50
 * libraries cost every daxvm start (run, pin-check) 40-50 ms of dynamic loading on the
 * development machine (docs/perf-ready.md), and only inspect --domain uses it. */
#include "inspect/domain.h"
#include "common/dl_syms.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* The libvirt calls used, resolved from libvirt.so.0 (the library's stable soname). */
static struct {
	bool loaded;
	void (*set_error_func)(void *, virErrorFunc);
	const char *(*last_error_message)(void);
	virConnectPtr (*open_read_only)(const char *);
	int (*connect_close)(virConnectPtr);
	virDomainPtr (*lookup_by_name)(virConnectPtr, const char *);
	int (*is_active)(virDomainPtr);
	int (*uuid_string)(virDomainPtr, char *);
	char *(*xml_desc)(virDomainPtr, unsigned int);
	int (*domain_free)(virDomainPtr);
} lv;

static int load_libvirt(struct err *e)
{
	static const struct dl_lib lib = { "libvirt.so.0", "libvirt", "libvirt0", "libvirt 1.0" };
	const struct dl_sym syms[] = {
		{ "virSetErrorFunc", (void **)&lv.set_error_func },
		{ "virGetLastErrorMessage", (void **)&lv.last_error_message },
		{ "virConnectOpenReadOnly", (void **)&lv.open_read_only },
		{ "virConnectClose", (void **)&lv.connect_close },
		{ "virDomainLookupByName", (void **)&lv.lookup_by_name },
		{ "virDomainIsActive", (void **)&lv.is_active },
		{ "virDomainGetUUIDString", (void **)&lv.uuid_string },
		{ "virDomainGetXMLDesc", (void **)&lv.xml_desc },
		{ "virDomainFree", (void **)&lv.domain_free },
	};
	int ret;

	if (lv.loaded)
		return 0;
	ret = dl_syms_load(&lib, syms, sizeof(syms) / sizeof(syms[0]), e);
	lv.loaded = !ret;
	return ret;
}

/* libvirt prints every error to stderr by default; inspect reports them itself. */
static void quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static const char *last_error(void)
{
	const char *m = lv.last_error_message();

	return m && m[0] ? m : "no reason given";
}

int inspect_libvirt_domain_xml(const char *uri, const char *name, char **xml, char uuid[40], struct err *e)
{
	virConnectPtr conn;
	virDomainPtr dom;
	char *desc;
	int ret = 0, active;

	*xml = NULL;
	ret = load_libvirt(e);
	if (ret)
		return ret;
	lv.set_error_func(NULL, quiet);
	conn = lv.open_read_only(uri);
	if (!conn)
		return err_set(e, -ECONNREFUSED, "cannot connect to libvirt at %s: %s", uri, last_error());
	dom = lv.lookup_by_name(conn, name);
	if (!dom) {
		ret = err_set(e, -ENOENT, "libvirt at %s has no domain named '%s' (%s)", uri, name, last_error());
		goto out_conn;
	}
	active = lv.is_active(dom);
	if (active != 1) {
		ret = err_set(e, -ESRCH, "domain '%s' on %s is not running%s%s", name, uri, active < 0 ? ": " : "",
			      active < 0 ? last_error() : "");
		goto out_dom;
	}
	if (lv.uuid_string(dom, uuid) < 0) {
		ret = err_set(e, -EIO, "cannot read the UUID of domain '%s': %s", name, last_error());
		goto out_dom;
	}
	desc = lv.xml_desc(dom, 0);
	if (!desc) {
		ret = err_set(e, -EIO, "cannot read the XML of domain '%s': %s", name, last_error());
		goto out_dom;
	}
	*xml = desc;
out_dom:
	lv.domain_free(dom);
out_conn:
	lv.connect_close(conn);
	return ret;
}
