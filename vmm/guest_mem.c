/* Guest memory layout, memslots and the region visitor. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/size.h"
#include "guest/abi.h"
#include "vmm/guest_mem.h"

int guest_mem_plan(uint64_t ram_bytes, uint64_t align, struct guest_mem *gm, struct err *e)
{
	char a[32], b[32];
	uint64_t low, high;

	memset(gm, 0, sizeof(*gm));
	if (ram_bytes < GUEST_MEM_MIN_BYTES)
		return err_set(e, -EINVAL, "guest RAM of %s is too small: use --mem-size %s or more",
			       size_format(ram_bytes, a, sizeof(a)),
			       size_format(GUEST_MEM_MIN_BYTES, b, sizeof(b)));
	if (ram_bytes % GUEST_MEM_PAGE_BYTES)
		return err_set(e, -EINVAL, "guest RAM of %s is not a multiple of 2 MiB (the guest's page size): round --mem-size to 2 MiB",
			       size_format(ram_bytes, a, sizeof(a)));
	if (align && ram_bytes % align)
		return err_set(e, -EINVAL, "guest RAM of %s is not a multiple of the backing's alignment %s: round --mem-size to %s",
			       size_format(ram_bytes, a, sizeof(a)), size_format(align, b, sizeof(b)), b);
	low = ram_bytes < GUEST_RAM_LOW_MAX ? ram_bytes : GUEST_RAM_LOW_MAX;
	high = ram_bytes - low;
	if (high > GUEST_MEM_MAX_GPA - GUEST_RAM_HIGH_BASE)
		return err_set(e, -E2BIG, "guest RAM of %s is more than daxvm maps (%s): use a smaller --mem-size",
			       size_format(ram_bytes, a, sizeof(a)),
			       size_format(GUEST_MEM_MAX_GPA - (GUEST_RAM_HIGH_BASE - GUEST_RAM_LOW_MAX), b, sizeof(b)));
	gm->ram_bytes = ram_bytes;
	gm->regions[0] = (struct guest_mem_region){ .gpa = 0, .size = low, .backing_off = 0,
						    .fd = -1, .slot = 0 };
	gm->nr_regions = 1;
	if (high) {
		gm->regions[1] = (struct guest_mem_region){ .gpa = GUEST_RAM_HIGH_BASE, .size = high,
							    .backing_off = low, .fd = -1, .slot = 1 };
		gm->nr_regions = 2;
	}
	return 0;
}

int guest_mem_attach(struct guest_mem *gm, const struct backing *b, struct err *e)
{
	char a[32], c[32];

	if (b->size < gm->ram_bytes)
		return err_set(e, -ENOSPC, "the backing %s holds %s, less than the %s of guest RAM: use a smaller --mem-size",
			       b->path, size_format(b->size, a, sizeof(a)),
			       size_format(gm->ram_bytes, c, sizeof(c)));
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		struct guest_mem_region *r = &gm->regions[i];

		r->host = (char *)b->host + r->backing_off;
		r->fd = b->fd;
		r->fd_offset = b->offset + r->backing_off;
		r->page_size = b->page_size;
	}
	gm->backing = b;
	return 0;
}

int guest_mem_register(const struct guest_mem *gm, int vm_fd, struct err *e)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct guest_mem_region *r = &gm->regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = r->slot,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};
		char a[32];

		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			int code = -errno;

			return err_set(e, code, "KVM refused memslot %u (%s at guest 0x%llx): %s: check the backing and the KVM memslot limit",
				       r->slot, size_format(r->size, a, sizeof(a)),
				       (unsigned long long)r->gpa, strerror(-code));
		}
	}
	return 0;
}

int guest_mem_for_each_region(const struct guest_mem *gm, guest_mem_region_fn fn, void *opaque)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		int ret = fn(&gm->regions[i], opaque);

		if (ret)
			return ret;
	}
	return 0;
}

void *guest_mem_gpa_to_host(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct guest_mem_region *r = &gm->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa)) {
			if (!r->host)
				return NULL;
			return (char *)r->host + (gpa - r->gpa);
		}
	}
	return NULL;
}

uint64_t guest_mem_linear_to_gpa(const struct guest_mem *gm, uint64_t lin)
{
	uint64_t low = gm->regions[0].size;

	return lin < low ? lin : GUEST_RAM_HIGH_BASE + (lin - low);
}
