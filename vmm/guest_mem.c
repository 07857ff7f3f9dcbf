/* Guest memory layout, memslots and the region visitor. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/size.h"
#include "vmm/guest_mem.h"

int guest_mem_plan(const struct machine_map *map, struct guest_mem *gm, struct err *e)
{
	const struct machine_range *r;
	uint64_t off = 0;

	memset(gm, 0, sizeof(*gm));
	for (unsigned n = 0; (r = machine_map_nth(map, MACHINE_RAM, n)); n++) {
		if (gm->nr_regions == GUEST_MEM_MAX_REGIONS)
			return err_set(e, -E2BIG, "the machine has more than %d RAM ranges", GUEST_MEM_MAX_REGIONS);
		/* The RAM ranges are laid end to end in the backing, in guest-physical order. */
		gm->regions[gm->nr_regions] = (struct guest_mem_region){
			.gpa = r->gpa, .size = r->size, .backing_off = off, .fd = -1,
			.slot = gm->nr_regions,
		};
		gm->nr_regions++;
		off += r->size;
	}
	if (!gm->nr_regions)
		return err_set(e, -EINVAL, "the machine map has no RAM");
	gm->ram_bytes = off;
	return 0;
}

int guest_mem_attach(struct guest_mem *gm, const struct backing *b, struct err *e)
{
	char a[32], c[32];

	if (b->size < gm->ram_bytes)
		return err_set(e, -ENOSPC, "the backing %s holds %s, less than the %s of guest RAM asked for: ask for less",
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

int guest_mem_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *host, int fd,
			 uint64_t fd_offset, uint64_t page_size, struct err *e)
{
	if (gm->nr_regions == GUEST_MEM_MAX_REGIONS)
		return err_set(e, -E2BIG, "guest memory has more than %d regions", GUEST_MEM_MAX_REGIONS);
	gm->regions[gm->nr_regions] = (struct guest_mem_region){
		.gpa = gpa, .size = size, .host = host, .fd = fd, .fd_offset = fd_offset,
		.page_size = page_size, .slot = gm->nr_regions, .backing_off = UINT64_MAX,
	};
	gm->nr_regions++;
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
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		if (lin < gm->regions[i].size)
			return gm->regions[i].gpa + lin;
		lin -= gm->regions[i].size;
	}
	return UINT64_MAX;
}
