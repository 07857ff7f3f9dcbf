/* What a libvirt domain's XML promises about guest memory and passed-through devices
 * (parsed with libxml2 in domain_xml.c; fetched read-only through libvirt in libvirt_domain.c). */
#ifndef DAXVM_INSPECT_DOMAIN_H
#define DAXVM_INSPECT_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "inspect/vmm_config.h"

#define INSPECT_MAX_NVDIMM 8
#define INSPECT_MAX_HOSTDEV 8

struct inspect_nvdimm {
	char path[INSPECT_TEXT];	/* <source><path> */
	uint64_t size;			/* <target><size>, bytes */
	uint64_t align;			/* <source><alignsize>, bytes; 0 not said */
	int pmem;			/* <source><pmem/> */
	int share;			/* access='shared'|'private', -1 not said */
};

struct inspect_hostdev {
	char address[32];		/* "0000:00:03.0" */
	char driver[16];		/* <driver name=...>; "vfio" when not said (libvirt's default) */
	int managed;			/* managed='yes' */
};

struct inspect_domain {
	char name[128];
	char uuid[40];
	char type[16];			/* <domain type='kvm'> */
	uint64_t memory;		/* <memory>, bytes */
	/* <memoryBacking> */
	int has_backing;
	enum inspect_mem_source ram_source;	/* <source type=...>; ANY when not said */
	int ram_share;			/* <access mode=...> */
	int hugepages;			/* <hugepages> */
	uint64_t hugepage_size;		/* <hugepages><page size unit/>, bytes; 0 = default */
	int locked;			/* <locked/> */
	struct inspect_nvdimm nvdimm[INSPECT_MAX_NVDIMM];
	unsigned nr_nvdimm;
	struct inspect_hostdev hostdev[INSPECT_MAX_HOSTDEV];
	unsigned nr_hostdev;
};

/* Parses a domain XML document. -EINVAL with a sentence when it is not XML or not a
 * <domain> with <name> and <memory>. */
int inspect_domain_xml_parse(const char *xml, size_t len, struct inspect_domain *d, struct err *e);

/* Through libvirt, read-only: connects to uri, finds the domain by name, checks that it runs,
 * and returns its live XML (malloc'd, the caller frees) and UUID. -ECONNREFUSED when libvirt
 * cannot be reached, -ENOENT no such domain, -ESRCH not running; one sentence each. */
int inspect_libvirt_domain_xml(const char *uri, const char *name, char **xml, char uuid[40], struct err *e);

#endif
