/* Writing and verifying address-tagged patterns (see pattern.h). */
#include "pattern.h"

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t pattern_seed(uint64_t base, unsigned pass)
{
	/* splitmix64's finaliser is a bijection, so distinct passes give distinct seeds; the +1
	 * keeps pass 0 from reusing the base seed. */
	return splitmix64(base + (uint64_t)pass + 1);
}

void pattern_fill(uint64_t *buf, size_t n, uint64_t first_index, uint64_t seed)
{
	uint64_t v = first_index * PATTERN_MULT;

	for (size_t i = 0; i < n; i++, v += PATTERN_MULT)
		buf[i] = v ^ seed;
}

uint64_t pattern_check(const volatile uint64_t *buf, size_t n, uint64_t first_index, uint64_t seed,
		       struct pattern_miss *first)
{
	uint64_t v = first_index * PATTERN_MULT, bad = 0;

	/* volatile: every word is read from memory, never from what the compiler remembers of
	 * the fill. */
	for (size_t i = 0; i < n; i++, v += PATTERN_MULT) {
		uint64_t got = buf[i];

		if (got != (v ^ seed)) {
			if (!bad && first) {
				first->word = i;
				first->expected = v ^ seed;
				first->found = got;
			}
			bad++;
		}
	}
	return bad;
}
