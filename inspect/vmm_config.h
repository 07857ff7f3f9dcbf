/* What a running VMM's configuration promises about its guest memory and devices: read from
 * its command line (QEMU, daxvm) and, for a libvirt domain, from the domain XML. The target
 * builder (target.h) finds each promise in /proc/PID/maps and says where they disagree. */
#ifndef DAXVM_INSPECT_VMM_CONFIG_H
#define DAXVM_INSPECT_VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define INSPECT_MAX_MEM 16
#define INSPECT_MAX_VFIO 8
#define INSPECT_TEXT 256

enum inspect_vmm {
	INSPECT_VMM_QEMU,
	INSPECT_VMM_DAXVM,
};

enum inspect_mem_source {
	INSPECT_SRC_ANY,	/* not said (daxvm's automatic choice) */
	INSPECT_SRC_ANON,	/* memory-backend-ram, <source type='anonymous'/>, --mem anon */
	INSPECT_SRC_MEMFD,	/* memory-backend-memfd, <source type='memfd'/>, --mem memfd(-huge) */
	INSPECT_SRC_FILE,	/* memory-backend-file mem-path=, <source type='file'/>, an nvdimm path */
};

enum inspect_mem_role {
	INSPECT_ROLE_RAM,	/* main guest RAM */
	INSPECT_ROLE_NVDIMM,	/* an emulated NVDIMM (pmem in the guest) */
	INSPECT_ROLE_OTHER,	/* a memory backend no RAM or device uses (not watched) */
};

/* One memory promise. Tri-state fields: -1 not said, 0 no, 1 yes. */
struct inspect_mem {
	char id[64];			/* backend id ("pc.ram", "mem0"), or "" */
	enum inspect_mem_role role;
	enum inspect_mem_source source;
	char path[INSPECT_TEXT];	/* mem-path: a device, a file, or a directory (hugetlbfs) */
	uint64_t size;			/* bytes; 0 not said */
	int share;			/* share=on / access mode='shared' */
	int hugepages;			/* hugetlb=on, a hugetlbfs mem-path, <hugepages/> */
	uint64_t hugepage_size;		/* bytes; 0 = the default */
	uint64_t align;			/* bytes (align=, alignsize); 0 not said */
	int pmem;			/* pmem=on / <pmem/> */
	char origin[INSPECT_TEXT];	/* where it was said, for messages */
};

struct inspect_config {
	enum inspect_vmm vmm;
	char name[128];			/* -name guest=NAME, or "" */
	char uuid[40];			/* -uuid, or "" */
	struct inspect_mem mem[INSPECT_MAX_MEM];
	unsigned nr_mem;
	char vfio[INSPECT_MAX_VFIO][32];	/* PCI addresses passed through with vfio-pci */
	unsigned nr_vfio;
	int mem_lock;			/* -overcommit mem-lock=on, -realtime mlock=on, <locked/> */
	char pin[16];			/* daxvm: --pin as given ("auto", "vfio", ...) or "" */
	char mem_lock_origin[64];
};

/* Parses QEMU's argv (argv[0] the binary). Knows -object memory-backend-{ram,memfd,file} in
 * keyval and JSON form (libvirt writes JSON), -m, -machine memory-backend=, -numa memdev=,
 * -device nvdimm / vfio-pci (both forms), -mem-path, -overcommit mem-lock, -realtime mlock,
 * -name, -uuid. Returns 0 or -EINVAL with a sentence naming the argument. */
int inspect_qemu_cmdline(int argc, char *const *argv, struct inspect_config *c, struct err *e);

/* A daxvm run or pin-check (command) as a configuration: mem is the backing as given (a
 * path, "memfd", "memfd-huge", "anon", NULL automatic), mem_size bytes (0 the default), pin
 * the backend as named, vfio the device or NULL. */
void inspect_daxvm_config(const char *command, const char *mem, uint64_t mem_size, const char *pin,
			  const char *vfio, struct inspect_config *c);

const char *inspect_source_name(enum inspect_mem_source s);	/* "anonymous", "memfd", "file", "any" */
const char *inspect_role_name(enum inspect_mem_role r);		/* "ram", "nvdimm", "other" */

#endif
