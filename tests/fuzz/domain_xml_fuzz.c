/* Fuzz target: the libvirt domain XML reader (inspect/domain_xml.c over libxml2), the one file a
 * user hands `daxvm inspect --domain` (through libvirt). Invariants: it accepts or refuses with a
 * sentence (-EINVAL/-ENOMEM only); what it accepts has a name and a size, counts within its
 * arrays, every string NUL-terminated inside its field, every nvdimm a path, every hostdev a
 * DDDD:BB:DD.F address and a driver, enumerations in range; and the same bytes parse to the
 * same result (no uninitialised or leftover state). ASan/LSan see reads past the input and
 * libxml2 objects not freed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "fuzz_input.h"
#include "inspect/domain.h"

static void terminated(const char *s, size_t size, const char *what)
{
	FUZZ_ASSERT(memchr(s, '\0', size) != NULL, "%s is not NUL-terminated inside its %zu bytes", what, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct inspect_domain d, again;
	struct err e = { 0 }, e2 = { 0 };
	int ret, ret2;

	if (size > 1 << 16)
		return 0;
	memset(&d, 0x5a, sizeof(d));	/* the parser must set every field itself */
	memset(&again, 0xa5, sizeof(again));
	ret = inspect_domain_xml_parse((const char *)data, size, &d, &e);
	ret2 = inspect_domain_xml_parse((const char *)data, size, &again, &e2);
	FUZZ_ASSERT(ret == ret2 && !strcmp(e.msg, e2.msg), "the same XML parsed twice: %d (%s), then %d (%s)", ret,
		    e.msg, ret2, e2.msg);
	if (ret) {
		FUZZ_ASSERT(ret == -EINVAL || ret == -ENOMEM, "refused with %d, not -EINVAL or -ENOMEM", ret);
		FUZZ_ASSERT(e.msg[0], "refused (%d) without a sentence", ret);
		return 0;
	}
	FUZZ_ASSERT(!memcmp(&d, &again, sizeof(d)), "the same XML parsed to two different results");
	terminated(d.name, sizeof(d.name), "name");
	terminated(d.uuid, sizeof(d.uuid), "uuid");
	terminated(d.type, sizeof(d.type), "type");
	FUZZ_ASSERT(d.name[0], "accepted without a name");
	FUZZ_ASSERT(d.nr_nvdimm <= INSPECT_MAX_NVDIMM && d.nr_hostdev <= INSPECT_MAX_HOSTDEV, "counts %u %u",
		    d.nr_nvdimm, d.nr_hostdev);
	FUZZ_ASSERT(d.ram_source >= INSPECT_SRC_ANY && d.ram_source <= INSPECT_SRC_FILE, "ram_source %d", d.ram_source);
	FUZZ_ASSERT(d.ram_share >= -1 && d.ram_share <= 1 && d.hugepages >= -1 && d.hugepages <= 1 &&
		    d.locked >= -1 && d.locked <= 1 && (d.has_backing == 0 || d.has_backing == 1),
		    "flags share %d hugepages %d locked %d backing %d", d.ram_share, d.hugepages, d.locked, d.has_backing);
	for (unsigned i = 0; i < d.nr_nvdimm; i++) {
		terminated(d.nvdimm[i].path, sizeof(d.nvdimm[i].path), "nvdimm path");
		FUZZ_ASSERT(d.nvdimm[i].path[0], "nvdimm %u without a path", i);
		FUZZ_ASSERT(d.nvdimm[i].share >= -1 && d.nvdimm[i].share <= 1 && d.nvdimm[i].pmem >= 0 &&
			    d.nvdimm[i].pmem <= 1, "nvdimm %u flags", i);
	}
	for (unsigned i = 0; i < d.nr_hostdev; i++) {
		const char *a = d.hostdev[i].address;
		unsigned dom, bus, slot, fn;
		char tail;

		terminated(a, sizeof(d.hostdev[i].address), "hostdev address");
		terminated(d.hostdev[i].driver, sizeof(d.hostdev[i].driver), "hostdev driver");
		FUZZ_ASSERT(sscanf(a, "%x:%x:%x.%x%c", &dom, &bus, &slot, &fn, &tail) == 4, "hostdev address '%s'", a);
		FUZZ_ASSERT(d.hostdev[i].driver[0] && (d.hostdev[i].managed == 0 || d.hostdev[i].managed == 1),
			    "hostdev %u driver '%s' managed %d", i, d.hostdev[i].driver, d.hostdev[i].managed);
	}
	return 0;
}
