/* Fuzz test: size_parse() against an independent reference on random inputs built from
 * the characters that matter (digits, suffixes, junk); seeded, so a failure reproduces. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <strings.h>

#include "common/size.h"
#include "test.h"

/* Reference: digits, then optionally one of KMGT followed by nothing, "B" or "iB". */
static int reference_parse(const char *s, uint64_t *out)
{
	unsigned __int128 v = 0;
	size_t i = 0;
	unsigned shift = 0;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	bool overflow = false;

	for (; isdigit((unsigned char)s[i]); i++) {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > UINT64_MAX)
			overflow = true;
	}
	if (s[i]) {
		const char *units = "KMGT";
		const char *u = strchr(units, toupper((unsigned char)s[i]));

		if (!u)
			return -EINVAL;
		shift = 10 * (unsigned)(u - units + 1);
		const char *rest = s + i + 1;

		if (*rest && strcasecmp(rest, "B") && strcasecmp(rest, "iB"))
			return -EINVAL;
	}
	if (overflow || (v << shift) > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)(v << shift);
	return 0;
}

int main(int argc, char **argv)
{
	static const char alphabet[] = "0123456789999kKmMgGtTiIbBx .-";
	unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	char buf[32];

	for (unsigned long n = 0; n < iterations; n++) {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		size_t len = state % 24;

		for (size_t i = 0; i < len; i++) {
			uint64_t r = state >> (i % 8 * 8);

			buf[i] = alphabet[(r ^ i * 31) % (sizeof(alphabet) - 1)];
		}
		buf[len] = '\0';

		uint64_t got = 0, want = 0;
		int ret = size_parse(buf, &got), ref = reference_parse(buf, &want);

		TEST_ASSERT(ret == ref, "input \"%s\": size_parse %d, reference %d", buf, ret, ref);
		TEST_ASSERT(ret || got == want, "input \"%s\": %" PRIu64 " vs %" PRIu64, buf, got, want);
	}
	printf("size_fuzz: %lu random inputs agree with the reference\n", iterations);
	return T_PASS;
}
