/* The guest's result line: a real one (as guest/linux prints it) parses, lines that are not
 * result lines are ignored, malformed ones are refused with a sentence. */
#include "test.h"
#include "vmm/linux_result.h"

static void refused(const char *line, const char *word)
{
	struct linux_result r;
	struct err e = { 0 };

	TEST_ASSERT(linux_result_parse(line, &r, &e) == -EINVAL, "accepted: %s", line);
	TEST_ASSERT(strstr(e.msg, word), "\"%s\": sentence \"%s\" lacks \"%s\"", line, e.msg, word);
}

int main(void)
{
	struct linux_result r;
	struct err e = { 0 };

	TEST_ASSERT(linux_result_parse("DAXVM-GUEST-RESULT {\"tool\":\"stress\",\"verdict\":\"pass\",\"bytes_verified\":123456789012,"
				       "\"mismatches\":0,\"threads\":2,\"ram_bytes\":200000000,\"pmem_bytes\":0,\"pmem_device\":\"\","
				       "\"seconds\":3.25,\"first_mismatch\":\"\",\"ram_bytes_per_s\":1.5e9,\"extra\":{\"a\":[1,\"}\"]},\"ok\":true}",
				       &r, &e) == 0, "%s", e.msg);
	TEST_ASSERT(r.pass && r.bytes_verified == 123456789012ULL && r.mismatches == 0 && r.threads == 2 &&
		    r.ram_bytes == 200000000 && r.seconds == 3.25 && !strcmp(r.tool, "stress"), "fields");
	TEST_ASSERT(linux_result_parse("DAXVM-GUEST-RESULT {\"verdict\":\"fail\",\"bytes_verified\":8,\"mismatches\":3,"
				       "\"first_mismatch\":\"0x1234\",\"pmem_device\":\"/dev/pmem0\"}", &r, &e) == 0, "%s", e.msg);
	TEST_ASSERT(!r.pass && r.mismatches == 3 && !strcmp(r.first_mismatch, "0x1234") &&
		    !strcmp(r.pmem_device, "/dev/pmem0"), "fail fields");
	TEST_ASSERT(linux_result_parse("[    1.234] Linux version 6.1", &r, &e) == -ENOENT, "a kernel line");
	TEST_ASSERT(linux_result_parse("xDAXVM-GUEST-RESULT {}", &r, &e) == -ENOENT, "prefix mid-line");
	refused("DAXVM-GUEST-RESULT ", "not a JSON object");
	refused("DAXVM-GUEST-RESULT {\"verdict\":\"pass\",\"bytes_verified\":1}", "mismatches");
	refused("DAXVM-GUEST-RESULT {\"verdict\":\"maybe\",\"bytes_verified\":1,\"mismatches\":0}", "neither pass nor fail");
	refused("DAXVM-GUEST-RESULT {\"verdict\":\"pass\",\"bytes_verified\":1,\"mismatches\":0", "closed");
	refused("DAXVM-GUEST-RESULT {\"verdict\":\"pass\",\"bytes_verified\":1,\"mismatches\":0} junk", "after");
	refused("DAXVM-GUEST-RESULT {\"verdict\" \"pass\"}", "':'");
	refused("DAXVM-GUEST-RESULT {\"verdict\":pass}", "malformed value");
	refused("DAXVM-GUEST-RESULT {\"a\":{\"b\":1}", "closed");
	printf("linux_result_test: result lines parse, others are ignored or refused\n");
	return T_PASS;
}
