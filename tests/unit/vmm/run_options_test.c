/* 'daxvm run' option parsing: defaults, both spellings, every bad-input message. */
#include "guest/abi.h"
#include "test.h"
#include "vmm/run_options.h"

#define ARGV(...) ((char *[]){ "run", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "run", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, e, ...) run_options_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (e))

static void expect_error(int ret, const struct err *e, const char *needle)
{
	TEST_ASSERT(ret == -EINVAL, "expected -EINVAL for '%s', got %d", needle, ret);
	TEST_ASSERT(strstr(e->msg, needle), "message '%s' should mention '%s'", e->msg, needle);
	TEST_ASSERT(!strchr(e->msg, '\n'), "one line: %s", e->msg);
}

int main(void)
{
	struct run_options o;
	struct err e = { 0 };
	char *none[] = { "run", NULL };

	TEST_ASSERT(run_options_parse(1, none, &o, &e) == 0, "no options: %s", e.msg);
	TEST_ASSERT(o.cpus == 2 && o.duration_s == 10.0 && o.pin == PIN_AUTO && !o.mem &&
		    !o.mem_size && !o.report_path && !o.console_path && !o.guest_flags && !o.help,
		    "defaults");

	TEST_ASSERT(PARSE(&o, &e, "--mem", "memfd", "--mem-size=5G", "--cpus", "4", "--duration",
			  "0.5", "--report", "r.json", "--console=c.txt", "--pin", "io_uring",
			  "--work-size", "64M") == 0, "all options: %s", e.msg);
	TEST_ASSERT(!strcmp(o.mem, "memfd") && o.mem_size == (5ULL << 30) && o.cpus == 4 &&
		    o.duration_s == 0.5 && !strcmp(o.report_path, "r.json") &&
		    !strcmp(o.console_path, "c.txt") && o.pin == PIN_IO_URING &&
		    o.work_bytes == (64ULL << 20), "values");
	TEST_ASSERT(PARSE(&o, &e, "--inject", "ud") == 0 && o.guest_flags == GUEST_F_INJECT_UD, "ud");
	TEST_ASSERT(PARSE(&o, &e, "--inject=triple-fault") == 0 &&
		    o.guest_flags == GUEST_F_TRIPLE_FAULT, "triple fault");
	TEST_ASSERT(PARSE(&o, &e, "--pin", "none") == 0 && o.pin == PIN_NONE, "none");
	TEST_ASSERT(PARSE(&o, &e, "-h") == 0 && o.help, "help");
	TEST_ASSERT(!o.prealloc_threads, "--prealloc-threads defaults to 0 = the CPU count");
	TEST_ASSERT(PARSE(&o, &e, "--prealloc-threads", "3") == 0 && o.prealloc_threads == 3, "prealloc");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--prealloc-threads", "0"), &e, "--prealloc-threads");

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
	expect_error(PARSE(&o, &e, "--inject", "nmi"), &e, "ud, triple-fault, bad-mmio, hang or corrupt");
	err_reset(&e);
	expect_error(PARSE(&o, &e, "--inject", "ud", "--inject", "triple-fault"), &e, "one fault");
	printf("PASS: run options\n");
	return T_PASS;
}
