/* Reading a finished report for a human summary: a missing key reads as zero, false or the
 * given default, because a summary line shows what the report has (run and inspect share it). */
#ifndef DAXVM_CLI_REPORT_READ_H
#define DAXVM_CLI_REPORT_READ_H

#include <stdbool.h>
#include <stdint.h>

#include "common/report.h"

static inline uint64_t u64(const struct report *r, const char *key)
{
	uint64_t v = 0;

	report_get_u64(r, key, &v);
	return v;
}

static inline int64_t i64(const struct report *r, const char *key)
{
	int64_t v = 0;

	report_get_i64(r, key, &v);
	return v;
}

static inline double dbl(const struct report *r, const char *key)
{
	double v = 0;

	report_get_double(r, key, &v);
	return v;
}

static inline const char *str(const struct report *r, const char *key, const char *dflt)
{
	const char *v = report_get_str(r, key);

	return v ? v : dflt;
}

static inline bool flag(const struct report *r, const char *key)
{
	bool v = false;

	report_get_bool(r, key, &v);
	return v;
}

#endif
