/* Unit test: the JSON report writer nests dotted keys, escapes strings and rejects
 * conflicting keys; the output is checked byte for byte. */
#include <errno.h>

#include "common/report.h"
#include "test.h"

static char *render(const struct report *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	TEST_ASSERT(f, "open_memstream");
	TEST_ASSERT(report_write(r, f) == 0, "report_write");
	fclose(f);
	return text;
}

int main(void)
{
	struct report *r = report_new();
	uint64_t v = 0;

	TEST_ASSERT(r, "report_new");
	TEST_ASSERT(report_set_str(r, "verdict", "PASS") == 0, "verdict");
	TEST_ASSERT(report_set_str(r, "backing.kind", "memfd") == 0, "kind");
	TEST_ASSERT(report_set_bool(r, "backing.devmap", false) == 0, "devmap");
	TEST_ASSERT(report_set_u64(r, "pinning.pinned_pages", 131072) == 0, "pages");
	TEST_ASSERT(report_set_u64(r, "pinning.pinned_pages", 131073) == 0, "replace");
	TEST_ASSERT(report_set_i64(r, "timing.delta", -5) == 0, "i64");
	TEST_ASSERT(report_set_double(r, "dma.gib_per_s", 1.5) == 0, "double");
	TEST_ASSERT(report_set_str(r, "a.b.c", "quote\" back\\ nl\n") == 0, "deep");
	TEST_ASSERT(report_set_u64(r, "a.b", 1) == -EINVAL, "a value that is also an object was accepted");
	TEST_ASSERT(report_set_u64(r, "a.b.c.d", 1) == -EINVAL, "an object under a value was accepted");
	TEST_ASSERT(report_set_u64(r, "bad key", 1) == -EINVAL, "a key with a space was accepted");
	TEST_ASSERT(report_set_u64(r, "trailing.", 1) == -EINVAL, "a key ending in a dot was accepted");
	TEST_ASSERT(report_set_u64(r, "x..y", 1) == -EINVAL, "an empty component was accepted");
	TEST_ASSERT(report_get_u64(r, "pinning.pinned_pages", &v) && v == 131073, "lookup %llu",
		    (unsigned long long)v);
	TEST_ASSERT(!report_get_u64(r, "backing.kind", &v), "a string read as a number");
	TEST_ASSERT(!strcmp(report_get_str(r, "verdict"), "PASS"), "string lookup");

	char *text = render(r);
	const char *expected =
		"{\n"
		"  \"a\": {\n"
		"    \"b\": {\n"
		"      \"c\": \"quote\\\" back\\\\ nl\\n\"\n"
		"    }\n"
		"  },\n"
		"  \"backing\": {\n"
		"    \"devmap\": false,\n"
		"    \"kind\": \"memfd\"\n"
		"  },\n"
		"  \"dma\": {\n"
		"    \"gib_per_s\": 1.5\n"
		"  },\n"
		"  \"pinning\": {\n"
		"    \"pinned_pages\": 131073\n"
		"  },\n"
		"  \"timing\": {\n"
		"    \"delta\": -5\n"
		"  },\n"
		"  \"verdict\": \"PASS\"\n"
		"}\n";
	TEST_ASSERT(!strcmp(text, expected), "report rendered as:\n%s", text);
	free(text);

	/* An empty report is still a JSON object. */
	struct report *empty = report_new();

	text = render(empty);
	TEST_ASSERT(!strcmp(text, "{\n}\n"), "empty report rendered as %s", text);
	free(text);
	report_free(empty);

	/* Written through a temporary file and renamed into place. */
	char path[] = "/tmp/daxvm-report-test-XXXXXX";
	int fd = mkstemp(path);

	TEST_ASSERT(fd >= 0, "mkstemp");
	close(fd);
	TEST_ASSERT(report_write_file(r, path) == 0, "report_write_file");
	FILE *f = fopen(path, "r");
	char buf[64] = { 0 };

	TEST_ASSERT(f && fread(buf, 1, 10, f) == 10 && !strncmp(buf, "{\n  \"a\": {", 10), "file content %s", buf);
	fclose(f);
	unlink(path);
	TEST_ASSERT(report_write_file(r, "/nonexistent-dir/report.json") == -ENOENT,
		    "writing into a missing directory did not fail with ENOENT");
	report_free(r);
	printf("report: nesting, escaping, conflicts and file writing checked\n");
	return T_PASS;
}
