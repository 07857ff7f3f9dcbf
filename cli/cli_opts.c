/* Options that more than one command takes. */
#include <errno.h>

#include "cli/cli_opts.h"

/* What users may choose, in the order --help lists them; names come from pinning. */
static const enum pin_backend user_backends[] = {
	PIN_AUTO, PIN_IO_URING, PIN_VFIO, PIN_IOMMUFD, PIN_NONE,
};

size_t cli_pin_choices(const char **names, size_t max)
{
	size_t n = 0;

	for (; n < sizeof(user_backends) / sizeof(user_backends[0]) && n < max; n++)
		names[n] = pin_backend_name(user_backends[n]);
	return n;
}

int cli_set_pin(const struct opt *o, enum pin_backend *out, const char *val, struct err *e)
{
	enum pin_backend b;

	if (pin_backend_parse(val, &b) || b == PIN_MOCK)	/* mock: unit tests only */
		return opts_choice_error(o, val, "a pinning backend", e);
	*out = b;
	return 0;
}

int cli_set_vfio(const struct opt *o, const char **out, const char *val, struct err *e)
{
	if (!pin_vfio_address_valid(val))
		return err_set(e, -EINVAL, "%s '%s' is not a PCI address: use the sysfs form DDDD:BB:DD.F, such as 0000:00:03.0",
			       o->name, val);
	*out = val;
	return 0;
}
