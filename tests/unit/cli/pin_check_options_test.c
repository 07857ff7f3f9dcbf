/* 'daxvm pin-check' option parsing: defaults, both spellings, the cross-option checks. */
#include "test.h"
#include "cli/pin_check_options.h"
#include "memory/populate.h"

#define ARGV(...) ((char *[]){ "pin-check", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "pin-check", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, e, ...) pin_check_options_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (e))

static void expect_error(int ret, struct err *e, const char *needle)
{
	TEST_ASSERT(ret == -EINVAL, "expected -EINVAL for '%s', got %d", needle, ret);
	TEST_ASSERT(strstr(e->msg, needle), "message '%s' should mention '%s'", e->msg, needle);
	TEST_ASSERT(!strchr(e->msg, '\n'), "one line: %s", e->msg);
	err_reset(e);
}

int main(void)
{
	struct pin_check_options o;
	struct err e = { 0 };
	char *none[] = { "pin-check", NULL };

	TEST_ASSERT(pin_check_options_parse(1, none, &o, &e) == 0, "no options: %s", e.msg);
	TEST_ASSERT(!o.mem && !o.mem_size && o.backend == PIN_AUTO && !o.vfio && o.hold_s == 1.0 &&
		    o.interval_ms == 100 && !o.window && !o.report && !o.help, "defaults");

	TEST_ASSERT(PARSE(&o, &e, "--mem", "memfd", "--mem-size=32M", "--pin", "io_uring", "--hold",
			  "0.3", "--validate-interval=0", "--window", "512", "--report", "r.json") == 0,
		    "all options: %s", e.msg);
	TEST_ASSERT(!strcmp(o.mem, "memfd") && o.mem_size == (32ULL << 20) && o.backend == PIN_IO_URING &&
		    o.hold_s == 0.3 && o.interval_ms == 0 && o.window == 512 && !strcmp(o.report, "r.json"),
		    "values");
	TEST_ASSERT(PARSE(&o, &e, "--hold", "0") == 0 && o.hold_s == 0, "hold 0 is allowed");
	TEST_ASSERT(o.prealloc_threads == populate_default_threads() && o.prealloc_threads >= 1,
		    "--prealloc-threads defaults to the CPU count (%u)", o.prealloc_threads);
	TEST_ASSERT(PARSE(&o, &e, "--prealloc-threads", "0") == 0 && o.prealloc_threads == 0,
		    "--prealloc-threads 0: no populate pass");
	TEST_ASSERT(PARSE(&o, &e, "--prealloc-threads=7") == 0 && o.prealloc_threads == 7, "--prealloc-threads=7");
	expect_error(PARSE(&o, &e, "--prealloc-threads", "257"), &e, "--prealloc-threads");
	TEST_ASSERT(PARSE(&o, &e, "--pin", "vfio", "--vfio", "0000:00:1f.7") == 0 && o.backend == PIN_VFIO &&
		    !strcmp(o.vfio, "0000:00:1f.7"), "vfio: %s", e.msg);
	TEST_ASSERT(PARSE(&o, &e, "--vfio", "0000:00:1f.7") == 0 && o.backend == PIN_AUTO,
		    "auto stays auto with --vfio: pinning decides");
	TEST_ASSERT(PARSE(&o, &e, "--help") == 0 && o.help, "--help");
	TEST_ASSERT(PARSE(&o, &e, "-h") == 0 && o.help, "-h");

	expect_error(PARSE(&o, &e, "--bogus"), &e, "unknown option '--bogus': see daxvm pin-check --help");
	expect_error(PARSE(&o, &e, "--mem-size", "lots"), &e, "--mem-size 'lots' is not a size");
	expect_error(PARSE(&o, &e, "--pin", "magic"), &e, "--pin 'magic' is not a pinning backend");
	expect_error(PARSE(&o, &e, "--pin", "mock"), &e, "use auto, io_uring, vfio, iommufd or none");
	expect_error(PARSE(&o, &e, "--pin", "none"), &e, "--pin none pins nothing");
	expect_error(PARSE(&o, &e, "--hold", "-1"), &e, "--hold '-1' is not a number of seconds");
	expect_error(PARSE(&o, &e, "--hold", "604801"), &e, "up to 604800");
	expect_error(PARSE(&o, &e, "--validate-interval", "3600001"), &e, "use 0 to 3600000");
	expect_error(PARSE(&o, &e, "--window", "0"), &e, "--window 0 is out of range: use 1 or more");
	expect_error(PARSE(&o, &e, "--window", "x"), &e, "--window 'x' is not a number");
	expect_error(PARSE(&o, &e, "--mem", "memfd", "extra"), &e, "unexpected argument 'extra'");
	expect_error(PARSE(&o, &e, "--report"), &e, "--report needs a value");
	expect_error(PARSE(&o, &e, "--pin", "io_uring", "--vfio", "0000:00:1f.7"), &e,
		     "--vfio only applies to --pin vfio or auto");
	printf("PASS: pin-check options\n");
	return T_PASS;
}
