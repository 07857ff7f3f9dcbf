/* dlopen + dlsym into a table of function pointers, for the optional libraries (dl_syms.h). */
#include "common/dl_syms.h"

#include <dlfcn.h>
#include <errno.h>

int dl_syms_load(const struct dl_lib *lib, const struct dl_sym *syms, size_t n, struct err *e)
{
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return err_set(e, -ENOENT, "cannot load %s (%s): install the %s package", lib->what, dlerror(),
			       lib->package);
	for (size_t i = 0; i < n; i++) {
		*syms[i].slot = dlsym(h, syms[i].name);
		if (!*syms[i].slot) {
			/* Too old: nothing of it is used, so none of it stays loaded or pointed to. */
			for (size_t k = 0; k < i; k++)
				*syms[k].slot = NULL;
			dlclose(h);
			return err_set(e, -ENOENT, "%s has no %s: install %s or newer", lib->soname, syms[i].name,
				       lib->since);
		}
	}
	return 0;	/* the handle stays open: the library may keep threads and state */
}
