/* JSON report writer: a flat list of dotted keys, sorted and nested at write time. */
#include "common/report.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum report_type { R_STR, R_U64, R_I64, R_DBL, R_BOOL };

struct report_entry {
	char *key;
	enum report_type type;
	union {
		char *s;
		uint64_t u;
		int64_t i;
		double d;
		bool b;
	} v;
};

struct report {
	struct report_entry *entries;
	size_t nr, cap;
};

struct report *report_new(void)
{
	return calloc(1, sizeof(struct report));
}

static void entry_clear(struct report_entry *e)
{
	if (e->type == R_STR)
		free(e->v.s);
	e->v.s = NULL;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nr; i++) {
		entry_clear(&r->entries[i]);
		free(r->entries[i].key);
	}
	free(r->entries);
	free(r);
}

static bool key_valid(const char *key)
{
	size_t n = strlen(key);

	if (!n || key[0] == '.' || key[n - 1] == '.' || strstr(key, ".."))
		return false;
	for (const char *p = key; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
			return false;
	return true;
}

/* "a.b" conflicts with "a.b.c" (a value cannot also be an object). */
static bool key_conflicts(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	const char *shorter = la < lb ? a : b, *longer = la < lb ? b : a;
	size_t ls = la < lb ? la : lb;

	return la != lb && !strncmp(shorter, longer, ls) && longer[ls] == '.';
}

static struct report_entry *entry_for(struct report *r, const char *key, int *ret)
{
	*ret = 0;
	if (!r || !key_valid(key)) {
		*ret = -EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < r->nr; i++) {
		if (!strcmp(r->entries[i].key, key)) {
			entry_clear(&r->entries[i]);
			return &r->entries[i];
		}
		if (key_conflicts(r->entries[i].key, key)) {
			*ret = -EINVAL;
			return NULL;
		}
	}
	if (r->nr == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct report_entry *n = realloc(r->entries, cap * sizeof(*n));

		if (!n) {
			*ret = -ENOMEM;
			return NULL;
		}
		r->entries = n;
		r->cap = cap;
	}
	struct report_entry *e = &r->entries[r->nr];

	memset(e, 0, sizeof(*e));
	e->key = strdup(key);
	if (!e->key) {
		*ret = -ENOMEM;
		return NULL;
	}
	r->nr++;
	return e;
}

int report_set_str(struct report *r, const char *key, const char *value)
{
	int ret;
	char *copy = strdup(value ? value : "");
	struct report_entry *e;

	if (!copy)
		return -ENOMEM;
	e = entry_for(r, key, &ret);
	if (!e) {
		free(copy);
		return ret;
	}
	e->type = R_STR;
	e->v.s = copy;
	return 0;
}

#define REPORT_SETTER(name, ctype, tag, field)                          \
	int name(struct report *r, const char *key, ctype value)        \
	{                                                               \
		int ret;                                                \
		struct report_entry *e = entry_for(r, key, &ret);       \
		if (!e)                                                 \
			return ret;                                     \
		e->type = tag;                                          \
		e->v.field = value;                                     \
		return 0;                                               \
	}

REPORT_SETTER(report_set_u64, uint64_t, R_U64, u)
REPORT_SETTER(report_set_i64, int64_t, R_I64, i)
REPORT_SETTER(report_set_double, double, R_DBL, d)
REPORT_SETTER(report_set_bool, bool, R_BOOL, b)

static const struct report_entry *entry_find(const struct report *r, const char *key)
{
	for (size_t i = 0; r && i < r->nr; i++)
		if (!strcmp(r->entries[i].key, key))
			return &r->entries[i];
	return NULL;
}

#define REPORT_GETTER(name, ctype, tag, field)                           \
	bool name(const struct report *r, const char *key, ctype *value) \
	{                                                               \
		const struct report_entry *e = entry_find(r, key);      \
									\
		if (!e || e->type != tag)                               \
			return false;                                   \
		*value = e->v.field;                                    \
		return true;                                            \
	}

REPORT_GETTER(report_get_u64, uint64_t, R_U64, u)
REPORT_GETTER(report_get_i64, int64_t, R_I64, i)
REPORT_GETTER(report_get_double, double, R_DBL, d)
REPORT_GETTER(report_get_bool, bool, R_BOOL, b)

const char *report_get_str(const struct report *r, const char *key)
{
	const struct report_entry *e = entry_find(r, key);

	return e && e->type == R_STR ? e->v.s : NULL;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct report_entry *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

static void write_string(FILE *out, const char *s, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void write_value(FILE *out, const struct report_entry *e)
{
	switch (e->type) {
	case R_STR: write_string(out, e->v.s, strlen(e->v.s)); break;
	case R_U64: fprintf(out, "%" PRIu64, e->v.u); break;
	case R_I64: fprintf(out, "%" PRId64, e->v.i); break;
	case R_BOOL: fputs(e->v.b ? "true" : "false", out); break;
	case R_DBL:
		if (isfinite(e->v.d))
			fprintf(out, "%.6g", e->v.d);
		else
			fputs("null", out);
		break;
	}
}

/* Number of leading dot-separated components that a and b share. */
static unsigned common_depth(const char *a, const char *b)
{
	unsigned depth = 0;
	size_t i = 0;

	for (;; i++) {
		if (a[i] != b[i])
			return depth;
		if (a[i] == '\0')
			return depth;
		if (a[i] == '.')
			depth++;
	}
}

static unsigned key_depth(const char *k)
{
	unsigned d = 0;

	for (; *k; k++)
		d += *k == '.';
	return d;
}

/* Returns the start of component number idx of key and its length. */
static const char *component(const char *key, unsigned idx, size_t *len)
{
	const char *p = key;

	for (unsigned i = 0; i < idx; i++)
		p = strchr(p, '.') + 1;
	const char *dot = strchr(p, '.');

	*len = dot ? (size_t)(dot - p) : strlen(p);
	return p;
}

static void indent(FILE *out, unsigned level)
{
	for (unsigned i = 0; i < level; i++)
		fputs("  ", out);
}

int report_write(const struct report *r, FILE *out)
{
	const struct report_entry **sorted;
	unsigned open = 0;	/* objects open below the root */
	const char *prev = NULL;

	sorted = malloc((r->nr ? r->nr : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < r->nr; i++)
		sorted[i] = &r->entries[i];
	qsort(sorted, r->nr, sizeof(*sorted), entry_cmp);

	fputs("{", out);
	for (size_t i = 0; i < r->nr; i++) {
		const char *key = sorted[i]->key;
		unsigned depth = key_depth(key);
		unsigned keep = prev ? common_depth(prev, key) : 0;

		if (keep > depth)
			keep = depth;
		while (open > keep) {
			fputc('\n', out);
			indent(out, open);
			fputc('}', out);
			open--;
		}
		if (prev)
			fputc(',', out);
		while (open < depth) {
			size_t len;
			const char *name = component(key, open, &len);

			fputc('\n', out);
			indent(out, open + 1);
			write_string(out, name, len);
			fputs(": {", out);
			open++;
			prev = NULL;
		}
		size_t len;
		const char *leaf = component(key, depth, &len);

		fputc('\n', out);
		indent(out, open + 1);
		write_string(out, leaf, len);
		fputs(": ", out);
		write_value(out, sorted[i]);
		prev = key;
	}
	while (open > 0) {
		fputc('\n', out);
		indent(out, open);
		fputc('}', out);
		open--;
	}
	fputs("\n}\n", out);
	free(sorted);
	return ferror(out) ? -EIO : 0;
}

int report_write_file(const struct report *r, const char *path)
{
	char tmp[4096];
	FILE *f;
	int ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	ret = report_write(r, f);
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}
