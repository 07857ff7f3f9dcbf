/* Libraries loaded only when needed (libvirt and libxml2 for inspect, libdaxctl for a devdax
 * backing): linked, they and what they pull in would cost every daxvm start their loading. */
#ifndef DAXVM_COMMON_DL_SYMS_H
#define DAXVM_COMMON_DL_SYMS_H

#include <stddef.h>

#include "common/err.h"

/* One symbol to resolve and where its address goes (a function pointer's storage). */
struct dl_sym {
	const char *name;
	void **slot;
};

/* What library, by which soname, from which package, and the oldest version with every symbol. */
struct dl_lib {
	const char *soname;	/* "libvirt.so.0" */
	const char *what;	/* "libvirt" */
	const char *package;	/* "libvirt0" */
	const char *since;	/* "libvirt 1.0" */
};

/* dlopen()s lib (RTLD_NOW | RTLD_LOCAL; the handle stays open for the process) and fills every
 * slot. 0, or -ENOENT with a sentence naming the package to install or the symbol missing
 * (then the library is closed again and every slot is NULL). */
int dl_syms_load(const struct dl_lib *lib, const struct dl_sym *syms, size_t n, struct err *e);

#endif
