/* Fuzz targets: reading a libFuzzer input as a stream of choices (exhausted input reads as
 * zeros, so every input is valid) and the invariant check that aborts with a message. */
#ifndef DAXVM_TESTS_FUZZ_INPUT_H
#define DAXVM_TESTS_FUZZ_INPUT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t fuzz_bytes(struct fuzz_in *in, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in) { return (uint8_t)fuzz_bytes(in, 1); }
static inline uint16_t fuzz_u16(struct fuzz_in *in) { return (uint16_t)fuzz_bytes(in, 2); }
static inline uint32_t fuzz_u32(struct fuzz_in *in) { return (uint32_t)fuzz_bytes(in, 4); }
static inline uint64_t fuzz_u64(struct fuzz_in *in) { return fuzz_bytes(in, 8); }

/* A value in [0, n) (n > 0). */
static inline unsigned fuzz_pick(struct fuzz_in *in, unsigned n)
{
	return n <= 256 ? fuzz_u8(in) % n : fuzz_u16(in) % n;
}

/* A broken invariant: print what and abort, so libFuzzer keeps the input as a crash. */
__attribute__((format(printf, 1, 2), noreturn))
static inline void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "INVARIANT BROKEN: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/* FUZZ_ASSERT(cond, "format", args...): the format is required. */
#define FUZZ_ASSERT(cond, fmt, ...)                                             \
	do {                                                                    \
		if (!(cond))                                                    \
			fuzz_fail("%s:%d: %s: " fmt, __FILE__, __LINE__, #cond,  \
				  ##__VA_ARGS__);                               \
	} while (0)

#endif
