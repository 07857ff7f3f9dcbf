/* Unit test: size parsing and formatting (common/size.c), table-driven. */
#include <errno.h>
#include <inttypes.h>

#include "common/size.h"
#include "test.h"

static const struct {
	const char *text;
	int ret;
	uint64_t bytes;
} parse_cases[] = {
	{ "0", 0, 0 },
	{ "4096", 0, 4096 },
	{ "4k", 0, 4096 },
	{ "4K", 0, 4096 },
	{ "2M", 0, 2ULL << 20 },
	{ "2MiB", 0, 2ULL << 20 },
	{ "2mb", 0, 2ULL << 20 },
	{ "5G", 0, 5ULL << 30 },
	{ "1T", 0, 1ULL << 40 },
	{ "16777215T", 0, 16777215ULL << 40 },
	{ "16777216T", -ERANGE, 0 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -ERANGE, 0 },
	{ "", -EINVAL, 0 },
	{ "G", -EINVAL, 0 },
	{ "-1M", -EINVAL, 0 },
	{ "1.5G", -EINVAL, 0 },
	{ "12X", -EINVAL, 0 },
	{ "12Gx", -EINVAL, 0 },
	{ " 12", -EINVAL, 0 },
};

static const struct {
	uint64_t bytes;
	const char *text;
} format_cases[] = {
	{ 0, "0 B" },
	{ 1023, "1023 B" },
	{ 4096, "4 KiB" },
	{ 64 << 10, "64 KiB" },
	{ 512ULL << 20, "512 MiB" },
	{ 3ULL << 29, "1.5 GiB" },
	{ 5ULL << 30, "5 GiB" },
};

int main(void)
{
	char buf[64];

	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		uint64_t bytes = 0;
		int ret = size_parse(parse_cases[i].text, &bytes);

		TEST_ASSERT(ret == parse_cases[i].ret, "size_parse(\"%s\") returned %d, expected %d",
			    parse_cases[i].text, ret, parse_cases[i].ret);
		if (!ret)
			TEST_ASSERT(bytes == parse_cases[i].bytes, "size_parse(\"%s\") = %" PRIu64,
				    parse_cases[i].text, bytes);
	}
	TEST_ASSERT(size_parse(NULL, &(uint64_t){ 0 }) == -EINVAL, "NULL text accepted");
	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		size_format(format_cases[i].bytes, buf, sizeof(buf));
		TEST_ASSERT(!strcmp(buf, format_cases[i].text), "size_format(%" PRIu64 ") = \"%s\", expected \"%s\"",
			    format_cases[i].bytes, buf, format_cases[i].text);
	}
	TEST_ASSERT(!strcmp(size_exact(3072000, buf, sizeof(buf)), "3000K"), "got %s", buf);
	TEST_ASSERT(!strcmp(size_exact(6ULL << 20, buf, sizeof(buf)), "6M"), "got %s", buf);
	TEST_ASSERT(!strcmp(size_exact(5ULL << 30, buf, sizeof(buf)), "5G"), "got %s", buf);
	TEST_ASSERT(!strcmp(size_exact(1000, buf, sizeof(buf)), "1000"), "got %s", buf);
	TEST_ASSERT(!strcmp(size_exact(0, buf, sizeof(buf)), "0"), "got %s", buf);
	TEST_ASSERT(!strcmp(count_format(524288, buf, sizeof(buf)), "524,288"), "got %s", buf);
	TEST_ASSERT(!strcmp(count_format(999, buf, sizeof(buf)), "999"), "got %s", buf);
	TEST_ASSERT(!strcmp(count_format(1000, buf, sizeof(buf)), "1,000"), "got %s", buf);
	TEST_ASSERT(!strcmp(count_format(0, buf, sizeof(buf)), "0"), "got %s", buf);
	printf("size: %zu parse and %zu format cases passed\n",
	       sizeof(parse_cases) / sizeof(parse_cases[0]), sizeof(format_cases) / sizeof(format_cases[0]));
	return T_PASS;
}
