/* Auto selection of the guest-RAM backing (no backing asked for): a pure decision over machine facts. */
#include <inttypes.h>
#include <stdio.h>

#include "common/size.h"
#include "memory/backing.h"

enum backing_kind backing_auto_choose(const struct backing_auto_facts *f, char *why,
				      unsigned why_len)
{
	uint64_t size = f->size ? f->size : backing_default_size(BACKING_MEMFD, 0);
	char page[32], total[32];
	uint64_t needed;

	if (f->nr_devdax && f->devdax_first) {
		snprintf(why, why_len, "devdax %s chosen: first of %u device-dax device%s",
			 f->devdax_first, f->nr_devdax, f->nr_devdax == 1 ? "" : "s");
		return BACKING_DEVDAX;
	}
	if (!f->huge_page_size) {
		snprintf(why, why_len, "no devdax device; no hugetlb pool; memfd chosen");
		return BACKING_MEMFD;
	}
	size_format(f->huge_page_size, page, sizeof(page));
	size_format(size, total, sizeof(total));
	if (size % f->huge_page_size) {
		snprintf(why, why_len,
			 "no devdax device; %s is not a multiple of the %s hugepage size; memfd chosen",
			 total, page);
		return BACKING_MEMFD;
	}
	needed = size / f->huge_page_size;
	if (f->huge_available >= 0 && (uint64_t)f->huge_available >= needed) {
		snprintf(why, why_len,
			 "no devdax device; hugetlb pool has %ld free %s pages (%" PRIu64 " needed for %s); memfd-huge chosen",
			 f->huge_available, page, needed, total);
		return BACKING_MEMFD_HUGE;
	}
	snprintf(why, why_len, "no devdax device; hugetlb pool has %ld free %s pages (%" PRIu64 " needed for %s); memfd chosen",
		 f->huge_available < 0 ? 0 : f->huge_available, page, needed, total);
	return BACKING_MEMFD;
}
