/* Address-tagged patterns: the 64-bit word at index i of a test area holds
 * (i * PATTERN_MULT) ^ seed. The odd multiplier makes the tag a bijection of the index (a word
 * written at the wrong place never verifies), and a new seed per pass changes every word (data
 * left from an earlier pass or an earlier run never verifies). */
#ifndef DAXVM_GUEST_LINUX_PATTERN_H
#define DAXVM_GUEST_LINUX_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#define PATTERN_MULT 0x9e3779b97f4a7c15ull	/* odd: invertible modulo 2^64 */

static inline uint64_t pattern_word(uint64_t index, uint64_t seed)
{
	return (index * PATTERN_MULT) ^ seed;
}

/* The seed of pass number `pass` of a run whose base seed is `base`: distinct for every pass
 * (splitmix64 is a bijection of distinct inputs). */
uint64_t pattern_seed(uint64_t base, unsigned pass);

/* Writes words [0, n) of buf as indexes first_index .. first_index + n - 1. */
void pattern_fill(uint64_t *buf, size_t n, uint64_t first_index, uint64_t seed);

/* The first word that did not verify. */
struct pattern_miss {
	size_t word;		/* position in buf */
	uint64_t expected;
	uint64_t found;
};

/* Checks words [0, n) of buf against pattern_fill's values; returns how many differ and, when
 * any does, the first one in *first (when first is not NULL). */
uint64_t pattern_check(const volatile uint64_t *buf, size_t n, uint64_t first_index, uint64_t seed,
		       struct pattern_miss *first);

#endif
