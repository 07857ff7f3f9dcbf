/* A libvirt domain's live XML and UUID through libvirt's C API on a read-only connection
 * (virConnectOpenReadOnly: no write access to libvirt is needed or taken). libvirt's API has
 * no read-only call that names the domain's QEMU pid, so the caller finds QEMU by the UUID
 * libvirt passes it (-uuid). */
#include "inspect/domain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* libvirt prints every error to stderr by default; inspect reports them itself. */
static void quiet(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m && m[0] ? m : "no reason given";
}

int inspect_libvirt_domain_xml(const char *uri, const char *name, char **xml, char uuid[40], struct err *e)
{
	virConnectPtr conn;
	virDomainPtr dom;
	char *desc;
	int ret = 0, active;

	*xml = NULL;
	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpenReadOnly(uri);
	if (!conn)
		return err_set(e, -ECONNREFUSED, "cannot connect to libvirt at %s: %s", uri, last_error());
	dom = virDomainLookupByName(conn, name);
	if (!dom) {
		ret = err_set(e, -ENOENT, "libvirt at %s has no domain named '%s' (%s)", uri, name, last_error());
		goto out_conn;
	}
	active = virDomainIsActive(dom);
	if (active != 1) {
		ret = err_set(e, -ESRCH, "domain '%s' on %s is not running%s%s", name, uri, active < 0 ? ": " : "",
			      active < 0 ? last_error() : "");
		goto out_dom;
	}
	if (virDomainGetUUIDString(dom, uuid) < 0) {
		ret = err_set(e, -EIO, "cannot read the UUID of domain '%s': %s", name, last_error());
		goto out_dom;
	}
	desc = virDomainGetXMLDesc(dom, 0);
	if (!desc) {
		ret = err_set(e, -EIO, "cannot read the XML of domain '%s': %s", name, last_error());
		goto out_dom;
	}
	*xml = desc;
out_dom:
	virDomainFree(dom);
out_conn:
	virConnectClose(conn);
	return ret;
}
