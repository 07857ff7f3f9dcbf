/* 'daxvm run' option parsing: defaults, both spellings, every bad-input message, and that the
 * cli leaves the backend auto-choice to pinning. */
#include "guest/abi.h"
#include "pinning/pin.h"
#include "test.h"
#include "cli/run_options.h"

#define ARGV(...) ((char *[]){ "run", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "run", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, e, ...) run_options_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (e))

static void expect_error(int ret, const struct err *e, const char *needle)
{
	TEST_ASSERT(ret == -EINVAL, "expected -EINVAL for '%s', got %d", needle, ret);
	TEST_ASSERT(strstr(e->msg, needle), "message '%s' should mention '%s'", e->msg, needle);
	TEST_ASSERT(!strchr(e->msg, '\n'), "one line: %s", e->msg);
}

/* The Linux guest's options (issue 10). */
static void test_linux_options(void)
{
	struct run_options o;
	struct err e = { 0 };

	TEST_ASSERT(PARSE(&o, &e, "--kernel", "/boot/bz", "--initrd=/i.cpio", "--append", "quiet loglevel=3",
			  "--pmem", "/dev/dax0.0,size=64M,offset=256M") == 0, "linux options: %s", e.msg);
	TEST_ASSERT(!strcmp(o.cfg.kernel, "/boot/bz") && !strcmp(o.cfg.initrd, "/i.cpio") &&
		    !strcmp(o.cfg.append, "quiet loglevel=3") && !strcmp(o.cfg.pmem_path, "/dev/dax0.0") &&
		    o.cfg.pmem_size == 64ULL << 20 && o.cfg.pmem_offset == 256ULL << 20 && !o.cfg.dma,
		    "linux values (and no DMA engine)");
	free(o.pmem_path_buf);
	TEST_ASSERT(PARSE(&o, &e, "--kernel", "/boot/bz", "--pmem", "memfd") == 0 && !o.cfg.pmem_size &&
		    o.cfg.pmem_offset == RUN_PMEM_OFFSET_AUTO, "pmem defaults: %s", e.msg);
	free(o.pmem_path_buf);
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--initrd", "/i.cpio"), &e, "--initrd needs --kernel");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--append", "quiet"), &e, "--append needs --kernel");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--pmem", "memfd"), &e, "--pmem needs --kernel");
	free(o.pmem_path_buf);
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--kernel", "/b", "--inject", "ud"), &e, "--inject is for the built-in");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--kernel", "/b", "--pmem", "memfd,size=0"), &e, "size=SIZE");
	free(o.pmem_path_buf);
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--kernel", "/b", "--pmem", "memfd,colour=red"), &e, "'colour=red'");
	free(o.pmem_path_buf);
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--kernel", "/b", "--pmem", "size=64M"), &e, "does not start with a path");
}

int main(void)
{
	test_linux_options();
	struct run_options o;
	struct err e = { 0 };
	char *none[] = { "run", NULL };

	TEST_ASSERT(run_options_parse(1, none, &o, &e) == 0, "no options: %s", e.msg);
	TEST_ASSERT(o.cfg.cpus == 2 && o.cfg.duration_s == 10.0 && o.cfg.pin == PIN_AUTO && !o.cfg.mem &&
		    !o.cfg.mem_size && !o.report_path && !o.cfg.console_path && !o.cfg.guest_flags && !o.help,
		    "defaults");

	TEST_ASSERT(PARSE(&o, &e, "--mem", "memfd", "--mem-size=5G", "--cpus", "4", "--duration",
			  "0.5", "--report", "r.json", "--console=c.txt", "--pin", "io_uring",
			  "--work-size", "64M") == 0, "all options: %s", e.msg);
	TEST_ASSERT(!strcmp(o.cfg.mem, "memfd") && o.cfg.mem_size == (5ULL << 30) && o.cfg.cpus == 4 &&
		    o.cfg.duration_s == 0.5 && !strcmp(o.report_path, "r.json") &&
		    !strcmp(o.cfg.console_path, "c.txt") && o.cfg.pin == PIN_IO_URING &&
		    o.cfg.work_bytes == (64ULL << 20), "values");
	TEST_ASSERT(PARSE(&o, &e, "--inject", "ud") == 0 && o.cfg.guest_flags == GUEST_F_INJECT_UD, "ud");
	TEST_ASSERT(PARSE(&o, &e, "--inject=triple-fault") == 0 &&
		    o.cfg.guest_flags == GUEST_F_TRIPLE_FAULT, "triple fault");
	TEST_ASSERT(PARSE(&o, &e, "--pin", "none") == 0 && o.cfg.pin == PIN_NONE, "none");
	TEST_ASSERT(PARSE(&o, &e, "-h") == 0 && o.help, "help");

	err_reset(&e);
	expect_error(PARSE(&o, &e, "--cpus", "0"), &e, "--cpus 0");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--cpus", "65"), &e, "1 to 64");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--cpus", "-1"), &e, "not a number");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--cpus", "2x"), &e, "not a number");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--duration", "0"), &e, "seconds");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--duration", "nan"), &e, "seconds");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--mem-size", "12Q"), &e, "not a size");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--mem-size", "0"), &e, "not a size");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--frobnicate"), &e, "unknown option '--frobnicate'");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "stray"), &e, "unexpected argument 'stray'");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--mem"), &e, "needs a value");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--pin", "dma"), &e, "not a pinning backend");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--inject", "nmi"), &e, "ud, triple-fault, bad-mmio, hang, corrupt or hostile");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--inject", "ud", "--inject", "triple-fault"), &e, "one fault");

	/* Backend names come from pinning; the test-only mock is not offered to users. */
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--pin", "mock"), &e, "--pin 'mock' is not a pinning backend: use auto, io_uring, vfio, iommufd or none");
	TEST_ASSERT(PARSE(&o, &e, "--pin=iommufd") == 0 && o.cfg.pin == PIN_IOMMUFD &&
		    !strcmp(o.cfg.pin_name, "iommufd"), "iommufd");
	/* --vfio under auto stays auto: pin_container_open makes that choice, not the cli. */
	TEST_ASSERT(PARSE(&o, &e, "--vfio", "0000:00:03.0") == 0 && o.cfg.pin == PIN_AUTO &&
		    !strcmp(o.cfg.vfio, "0000:00:03.0"), "vfio under auto: %s", e.msg);
	TEST_ASSERT(PARSE(&o, &e, "--pin", "vfio", "--vfio=0000:00:03.0") == 0 && o.cfg.pin == PIN_VFIO,
		    "pin vfio: %s", e.msg);
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--pin", "vfio"), &e, "--pin vfio needs a device: add --vfio");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--vfio", "00:03.0"), &e, "--vfio '00:03.0' is not a PCI address");

	/* --pin none turns the DMA stress off; --dma takes on or off. */
	TEST_ASSERT(PARSE(&o, &e, "--pin", "none", "--dma", "on") == 0 && !o.cfg.dma, "none: no dma");
	TEST_ASSERT(PARSE(&o, &e, "--dma=off") == 0 && !o.cfg.dma, "dma off");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--dma", "maybe"), &e, "--dma 'maybe' is neither on nor off");

	/* Flags take no value; counts keep their bounds. */
	TEST_ASSERT(PARSE(&o, &e, "--grow-pool") == 0 && o.cfg.grow_pool, "grow-pool");
	TEST_ASSERT(PARSE(&o, &e, "--mem", "memfd") == 0 && !o.cfg.grow_pool, "grow-pool off by default");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--grow-pool=yes"), &e, "--grow-pool takes no value");
	TEST_ASSERT(PARSE(&o, &e, "--dma-queues", "8", "--validate-interval=250", "--hang-timeout", "2.5",
			  "--dma-media", "/tmp/m") == 0 && o.cfg.dma_queues == 8 &&
		    o.cfg.validate_interval_ms == 250 && o.cfg.hang_s == 2.5 &&
		    !strcmp(o.cfg.dma_media, "/tmp/m"), "dma and validator values: %s", e.msg);
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--dma-queues", "9"), &e, "--dma-queues 9 is out of range: use 1 to 8");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--validate-interval", "0"), &e, "use 1 to 60000");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--report="), &e, "--report is empty");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "-x"), &e, "unknown option '-x'");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--cpus=4", "--mem"), &e, "--mem needs a value: see daxvm run --help");
	printf("PASS: run options\n");
	return T_PASS;
}
