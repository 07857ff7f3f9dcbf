/* The JSON run report: each part of daxvm sets dotted keys ("pinning.pinned_pages");
 * the writer nests them into objects. */
#ifndef DAXVM_COMMON_REPORT_H
#define DAXVM_COMMON_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct report;

struct report *report_new(void);
void report_free(struct report *r);

/* Setting a key again replaces its value. Keys are "a.b.c": letters, digits, '_' and '.'.
 * Return 0 or -ENOMEM / -EINVAL (bad key, or a key that is both a value and an object). */
int report_set_str(struct report *r, const char *key, const char *value);
int report_set_u64(struct report *r, const char *key, uint64_t value);
int report_set_i64(struct report *r, const char *key, int64_t value);
int report_set_double(struct report *r, const char *key, double value);
int report_set_bool(struct report *r, const char *key, bool value);

/* Lookups for tests and for the summary; return false when the key is absent or of another type. */
bool report_get_u64(const struct report *r, const char *key, uint64_t *value);
bool report_get_i64(const struct report *r, const char *key, int64_t *value);
bool report_get_double(const struct report *r, const char *key, double *value);
bool report_get_bool(const struct report *r, const char *key, bool *value);
const char *report_get_str(const struct report *r, const char *key);

/* Writes the whole report as one JSON object, keys sorted, nested by dots. */
int report_write(const struct report *r, FILE *out);
/* Writes to path via a temporary file and rename, so a reader never sees half a report. */
int report_write_file(const struct report *r, const char *path);

#endif
