/* The Linux guest stress tool's pure parts on the host (suite unit): parameter parsing, the
 * address-tagged patterns (a flipped bit, stale data, misplaced data must not verify) and the
 * result line (prefix, size bound, escaping). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/linux/daxvm_guest_abi.h"
#include "guest/linux/params.h"
#include "guest/linux/pattern.h"
#include "guest/linux/result.h"
#include "test.h"

static void test_params(void)
{
	struct stress_params p;
	char why[256] = "";

	params_defaults(&p);
	TEST_ASSERT(params_parse("console=ttyS0 quiet", &p, why, sizeof(why)) == 0, "%s", why);
	TEST_ASSERT(p.duration_s == PARAMS_DURATION_DEFAULT && p.threads == 0 &&
		    p.ram_percent == PARAMS_RAM_PERCENT_DEFAULT && p.pmem_mode == PARAMS_PMEM_AUTO &&
		    !strcmp(p.pmem_path, "/dev/pmem0") && p.inject == PARAMS_INJECT_NONE, "defaults");

	TEST_ASSERT(params_parse("console=ttyS0 daxvm_duration=7 daxvm_threads=3 daxvm_ram_percent=50 "
				 "daxvm_pmem=/dev/pmem1 daxvm_inject=mismatch daxvm_ports=devport\n", &p, why, sizeof(why)) == 0,
		    "%s", why);
	TEST_ASSERT(p.duration_s == 7 && p.threads == 3 && p.ram_percent == 50 &&
		    p.pmem_mode == PARAMS_PMEM_PATH && !strcmp(p.pmem_path, "/dev/pmem1") &&
		    p.inject == PARAMS_INJECT_MISMATCH && p.ports_devport, "every key read");
	TEST_ASSERT(params_parse("daxvm_pmem=none", &p, why, sizeof(why)) == 0 && p.pmem_mode == PARAMS_PMEM_NONE,
		    "none");
	/* After "--" the words are init's arguments, not parameters. */
	params_defaults(&p);
	TEST_ASSERT(params_parse("quiet -- daxvm_duration=x", &p, why, sizeof(why)) == 0 &&
		    p.duration_s == PARAMS_DURATION_DEFAULT, "words after -- ignored");

	static const char *const bad[] = { "daxvm_durration=5", "daxvm_duration=0", "daxvm_duration=5s",
		"daxvm_duration=", "daxvm_threads=0", "daxvm_threads=257", "daxvm_ram_percent=91",
		"daxvm_ram_percent=-1", "daxvm_pmem=pmem0", "daxvm_pmem=/dev/", "daxvm_inject=yes",
		"daxvm_ports=io" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		params_defaults(&p);
		why[0] = 0;
		TEST_ASSERT(params_parse(bad[i], &p, why, sizeof(why)) == -EINVAL, "%s accepted", bad[i]);
		TEST_ASSERT(strstr(why, bad[i]) != NULL, "the reason names the word: %s", why);
	}
}

static void test_pattern(void)
{
	enum { N = 4096 };
	uint64_t *buf = malloc(N * 8);
	struct pattern_miss miss = { 0 };
	uint64_t s0 = pattern_seed(42, 0), s1 = pattern_seed(42, 1);

	TEST_ASSERT(buf, "malloc");
	pattern_fill(buf, N, 1000, s0);
	TEST_ASSERT(pattern_check(buf, N, 1000, s0, &miss) == 0, "a fresh fill verifies");
	buf[777] ^= 1ull << 40;
	TEST_ASSERT(pattern_check(buf, N, 1000, s0, &miss) == 1, "one flipped bit is one mismatch");
	TEST_ASSERT(miss.word == 777 && miss.found == (miss.expected ^ (1ull << 40)) &&
		    miss.expected == pattern_word(1777, s0), "the first mismatch is located");
	buf[777] ^= 1ull << 40;
	/* Data of the previous pass (another seed) fails in every word. */
	TEST_ASSERT(pattern_check(buf, N, 1000, s1, NULL) == N, "stale data verified");
	/* Data written for another place (index shifted by one word) fails in every word. */
	TEST_ASSERT(pattern_check(buf + 1, N - 1, 1000, s0, NULL) == N - 1, "misplaced data verified");
	for (unsigned a = 0; a < 200; a++)
		for (unsigned b = a + 1; b < 200; b++)
			TEST_ASSERT(pattern_seed(7, a) != pattern_seed(7, b), "passes %u and %u share a seed", a, b);
	free(buf);
}

static void test_result(void)
{
	struct stress_result r = { 0 };
	char line[2048];
	size_t n;

	r.verdict = DAXVM_GUEST_PASS;
	r.ram_bytes_verified = 3 << 20;
	r.pmem_bytes_verified = 1 << 20;
	r.threads = 2;
	snprintf(r.pmem_device, sizeof(r.pmem_device), "/dev/pmem0");
	n = result_format(&r, line, sizeof(line));
	TEST_ASSERT(n > 0 && n == strlen(line) && line[n - 1] == '\n', "one line: %s", line);
	static const char head[] = DAXVM_GUEST_RESULT_PREFIX
		"{\"tool\":\"stress\",\"verdict\":\"pass\",\"bytes_verified\":4194304,";
	TEST_ASSERT(!strncmp(line, head, sizeof(head) - 1), "%s", line);
	TEST_ASSERT(strstr(line, "\"pmem_device\":\"/dev/pmem0\"") && strstr(line, "\"first_mismatch\":\"\""),
		    "%s", line);

	r.verdict = DAXVM_GUEST_FAIL_SETUP;
	memset(r.reason, '"', sizeof(r.reason) - 1);	/* escaping doubles it: must be cut */
	r.reason[sizeof(r.reason) - 1] = 0;
	r.have_miss = 1;
	r.miss_where = "pmem";
	r.miss_address = 0x1234;
	n = result_format(&r, line, sizeof(line));
	TEST_ASSERT(n > 0 && n < DAXVM_GUEST_RESULT_MAX && line[n - 1] == '\n' && line[n - 2] == '}',
		    "a long reason is cut to fit: %zu bytes", n);
	TEST_ASSERT(strstr(line, "\"verdict\":\"fail\"") && strstr(line, "\"first_mismatch\":\"0x1234\"") &&
		    strstr(line, "...\"}"), "%s", line);
	TEST_ASSERT(!strstr(line, "\\\\\"") && !strstr(line, "\"\"\""), "quotes stay escaped: %s", line);
}

int main(void)
{
	test_params();
	test_pattern();
	test_result();
	printf("PASS\n");
	return T_PASS;
}
