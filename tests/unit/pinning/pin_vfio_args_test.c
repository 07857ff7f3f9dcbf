/* Argument handling of the vfio and iommufd backends and of auto selection; on a host
 * without /dev/vfio or /dev/iommu they must refuse with a clear "unavailable" sentence. */
#include "pinning/pin.h"
#include "test.h"

static void check_addresses(void)
{
	static const struct {
		const char *addr;
		bool ok;
	} cases[] = {
		{ "0000:00:03.0", true },  { "0000:af:1f.7", true },  { "0000:00:03", false },
		{ "0000:00:03.8", false }, { "0000:00:20.0", false }, { "0000:00:03.0 ", false },
		{ "0000-00:03.0", false }, { "0000:0G:03.0", false }, { "", false },
		{ "00:03.0", false },      { "0000:AF:03.0", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TEST_ASSERT(pin_vfio_address_valid(cases[i].addr) == cases[i].ok, "address '%s'",
			    cases[i].addr);
	TEST_ASSERT(!pin_vfio_address_valid(NULL), "NULL address");
}

static void expect_open_fails(const struct pin_options *opt, int want, const char *needle)
{
	struct pin_container *c = (void *)1;
	struct err e = { 0 };
	int ret = pin_container_open(opt, &c, &e);

	TEST_ASSERT(ret == want, "open %s (%s): got %d want %d: %s", pin_backend_name(opt->backend),
		    opt->vfio_device ? opt->vfio_device : "-", ret, want, e.msg);
	TEST_ASSERT(c == NULL, "no container on failure");
	TEST_ASSERT(strstr(e.msg, needle), "message '%s' should mention '%s'", e.msg, needle);
}

int main(void)
{
	struct pin_options opt = { .backend = PIN_VFIO };
	struct pin_container *c;
	struct err e = { 0 };

	check_addresses();
	expect_open_fails(&opt, -EINVAL, "needs a PCI device");
	opt.vfio_device = "00:03.0";
	expect_open_fails(&opt, -EINVAL, "not a PCI address");
	opt.vfio_device = "0000:00:1f.7";
	if (access("/dev/vfio/vfio", F_OK))
		expect_open_fails(&opt, -ENODEV, "VFIO is unavailable");
	else if (access("/sys/bus/pci/devices/0000:00:1f.7", F_OK))
		expect_open_fails(&opt, -ENODEV, "no PCI device");

	/* auto with a device chooses vfio (and so fails the same way here). */
	opt.backend = PIN_AUTO;
	opt.vfio_device = "bad";
	expect_open_fails(&opt, -EINVAL, "not a PCI address");

	opt.vfio_device = NULL;
	opt.backend = PIN_IOMMUFD;
	if (access("/dev/iommu", F_OK))
		expect_open_fails(&opt, -ENODEV, "iommufd is unavailable");
	{
		/* auto without a device: io_uring (an IOAS would pin nothing without a device). */
		opt.backend = PIN_AUTO;
		if (pin_container_open(&opt, &c, &e) == 0) {
			TEST_ASSERT(pin_container_backend(c) == PIN_IO_URING, "auto picks io_uring");
			TEST_ASSERT(strstr(pin_container_why(c), "io_uring"), "why: %s", pin_container_why(c));
			TEST_ASSERT(pin_vfio_group_fd(c) == -ENODEV, "no vfio group on io_uring");
			pin_container_close(c);
		} else {
			TEST_ASSERT(e.code == -ENODEV && e.msg[0], "io_uring unavailable must say so: %s", e.msg);
		}
	}
	printf("PASS: vfio/iommufd argument handling and auto selection\n");
	return T_PASS;
}
