/* The adapter for daxvm's own pin container (`run`, `pin-check`): the target is this
 * process, its ranges are the container's mappings, the counter its backend charges, the
 * expected pins the pinning layer's rule; the release check (unmap hook, leak check) is
 * attached because daxvm unpins itself. */
#include "validate/validate.h"

#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct own_ranges {
	struct validate_range *r;
	size_t n;
	enum pin_backend backend;
	uint64_t expected;
	int ret;
};

static void range_of(const struct pin_mapping_view *m, struct validate_range *r)
{
	memset(r, 0, sizeof(*r));	/* fields this adapter does not know (not_devmap) stay off */
	r->vaddr = m->vaddr;
	r->size = m->size;
	r->page_size = m->page_size;
	r->iova = m->iova;
	snprintf(r->label, sizeof(r->label), "guest");
}

static int collect(const struct pin_mapping_view *m, void *data)
{
	struct own_ranges *o = data;

	if (o->n % 16 == 0) {
		struct validate_range *n = realloc(o->r, (o->n + 16) * sizeof(*n));

		if (!n)
			return o->ret = -ENOMEM;
		o->r = n;
	}
	range_of(m, &o->r[o->n++]);
	o->expected += pin_expected_pins(o->backend, m->vaddr, m->size, m->page_size);
	return 0;
}

static uint64_t container_pins(void *opaque)
{
	return pin_container_pinned_pages(opaque);
}

/* The container calls this around each unmap (with its write lock held). */
static void own_unmap_hook(const struct pin_mapping_view *m, bool done, void *opaque)
{
	struct validate_range r;

	range_of(m, &r);
	validate_unmap_hook(opaque, &r, done);
}

/* The counter each pin path charges (io_uring and iommufd: pinned_vm -> VmPin; VFIO
 * type1: locked_vm -> VmLck); the evidence decision finds out whether it really moved. */
static const char *own_field_of(enum pin_backend b)
{
	switch (b) {
	case PIN_IO_URING:
	case PIN_IOMMUFD:
		return "VmPin";
	case PIN_VFIO:
		return "VmLck";
	default:
		return NULL;
	}
}

int validate_begin(struct validate *v, struct err *e)
{
	struct validate_target t = { .pid = 0, .src = validate_config_of(v)->src };

	return validate_target_begin(v, &t, e);
}

int validate_start(struct validate *v, struct pin_container *c, struct err *e)
{
	const struct validate_config *cfg = validate_config_of(v);
	enum pin_backend b = pin_container_backend(c);
	struct own_ranges o = { .backend = b };
	struct validate_target t = { 0 };
	int ret;

	ret = pin_for_each_mapping(c, collect, &o);
	if (ret || o.ret) {
		free(o.r);
		return err_set(e, -ENOMEM, "out of memory listing the container's mappings");
	}
	t.pid = 0;
	t.ranges = o.r;
	t.nr_ranges = o.n;
	t.devmap = cfg->devmap;
	t.devmap_ranges = cfg->ranges;
	t.nr_devmap = cfg->nr_ranges;
	t.own_field = own_field_of(b);
	t.expected_pins = o.expected;
	/* VFIO type1 pins (and charges) 4 KiB pages whatever the folio size. */
	t.pin_unit = b == PIN_VFIO ? 4096 : 0;
	t.kernel_pins = b != PIN_MOCK && b != PIN_NONE;
	if (!t.kernel_pins) {
		t.bookkeeping_pins = container_pins;
		t.bookkeeping_opaque = c;
	}
	t.pin_path = pin_backend_name(b);
	t.pin_path_why = pin_container_why(c);
	t.src = cfg->src;
	ret = validate_target_start(v, &t, e);
	free(o.r);
	if (ret)
		return ret;
	pin_set_unmap_hook(c, own_unmap_hook, v);
	return 0;
}

int validate_finish(struct validate *v, struct err *e)
{
	return validate_release_check(v, e);
}
