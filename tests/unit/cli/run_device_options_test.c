/* 'daxvm run --device vfio-pci,host=ADDR': QEMU's spelling, repeatable, and each bad input
 * as one line naming the option (parsing only; the device checks run in the pci_check stage). */
#include "pinning/pin.h"
#include "test.h"
#include "cli/run_options.h"

#define ARGV(...) ((char *[]){ "run", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "run", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, e, ...) (err_reset(e), run_options_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (e)))

static void expect_error(int ret, const struct err *e, const char *needle)
{
	TEST_ASSERT(ret == -EINVAL, "expected -EINVAL for '%s', got %d", needle, ret);
	TEST_ASSERT(strstr(e->msg, needle) && strstr(e->msg, "--device"), "message '%s' should mention '%s'",
		    e->msg, needle);
	TEST_ASSERT(!strchr(e->msg, '\n'), "one line: %s", e->msg);
}

int main(void)
{
	struct run_options o;
	struct err e = { 0 };

	TEST_ASSERT(PARSE(&o, &e, "--device", "vfio-pci,host=0000:00:03.0") == 0, "%s", e.msg);
	TEST_ASSERT(o.cfg.nr_devices == 1 && !strcmp(o.cfg.devices[0], "0000:00:03.0") && o.cfg.pin == PIN_AUTO,
		    "one device");
	/* Repeatable; QEMU's short form without the domain means domain 0000. */
	TEST_ASSERT(PARSE(&o, &e, "--device", "vfio-pci,host=0000:00:03.0", "--device=vfio-pci,host=01:00.1",
			  "--pin", "vfio") == 0, "%s", e.msg);
	TEST_ASSERT(o.cfg.nr_devices == 2 && !strcmp(o.cfg.devices[1], "0000:01:00.1") && o.cfg.pin == PIN_VFIO,
		    "two devices, --pin vfio satisfied by --device");
	expect_error(PARSE(&o, &e, "--device", "virtio-blk,host=0000:00:03.0"), &e, "vfio-pci,host=");
	expect_error(PARSE(&o, &e, "--device", "vfio-pci"), &e, "vfio-pci,host=");
	expect_error(PARSE(&o, &e, "--device", "vfio-pci,host=0000:00:03.0,x=1"), &e, "vfio-pci,host=");
	expect_error(PARSE(&o, &e, "--device", "vfio-pci,host=0000:00:3.0"), &e, "not a PCI address");
	expect_error(PARSE(&o, &e, "--device", "vfio-pci,host=0000:00:20.0"), &e, "not a PCI address");
	expect_error(PARSE(&o, &e, "--device", "vfio-pci,host=0000:00:03.0", "--device", "vfio-pci,host=00:03.0"),
		     &e, "given twice");
	expect_error(PARSE(&o, &e, "--device", "vfio-pci,host=0000:00:01.0", "--device", "vfio-pci,host=0000:00:02.0",
			   "--device", "vfio-pci,host=0000:00:03.0", "--device", "vfio-pci,host=0000:00:04.0",
			   "--device", "vfio-pci,host=0000:00:05.0"), &e, "at most");
	expect_error(PARSE(&o, &e, "--device", "vfio-pci,host=0000:00:03.0", "--pin", "io_uring"), &e, "vfio container");
	printf("run --device: parsing and every bad input ok\n");
	return T_PASS;
}
