/* The option-table engine: parsing, --help and man-page text all read the same table. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/size.h"
#include "cli/options.h"

#define HELP_COLUMN 21	/* --help: where the help text starts */
#define HELP_WIDTH 80

static const struct opt *find_long(const struct opt_command *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->nr_opts; i++)
		if (strlen(c->opts[i].name) == len && !strncmp(c->opts[i].name, name, len))
			return &c->opts[i];
	return NULL;
}

static const struct opt *find_short(const struct opt_command *c, char ch)
{
	for (size_t i = 0; i < c->nr_opts; i++)
		if (c->opts[i].short_name && c->opts[i].short_name == ch)
			return &c->opts[i];
	return NULL;
}

static bool takes_value(const struct opt *o)
{
	return o->kind != OPT_FLAG && o->kind != OPT_HELP;
}

/* "a, b or c" from o's choices. */
static const char *choice_list(const struct opt *o, const char *sep, const char *last, char *buf,
			       size_t len)
{
	const char *names[OPT_NAMES_MAX];
	size_t n = o->choices ? o->choices(names, OPT_NAMES_MAX) : 0, used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i == 0 ? "" : (i + 1 == n ? last : sep), names[i]);
	return buf;
}

int opts_choice_error(const struct opt *o, const char *val, const char *what, struct err *e)
{
	char list[256];

	return err_set(e, -EINVAL, "%s '%s' is not %s: use %s", o->name, val, what,
		       choice_list(o, ", ", " or ", list, sizeof(list)));
}

static int parse_unsigned(const struct opt *o, const char *val, unsigned long long *out,
			  struct err *e)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-' || val[0] == '+')
		return err_set(e, -EINVAL, "%s '%s' is not a number: give a whole number %s", o->name, val,
			       o->fix);
	if (n < o->min || n > o->max) {
		if (o->max == UINT64_MAX || (o->kind == OPT_UINT && o->max == UINT32_MAX))
			return err_set(e, -EINVAL, "%s %s is out of range: use %llu or more", o->name, val,
				       o->min);
		return err_set(e, -EINVAL, "%s %s is out of range: use %llu to %llu", o->name, val, o->min,
			       o->max);
	}
	*out = n;
	return 0;
}

static int parse_seconds(const struct opt *o, const char *val, double *out, struct err *e)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(val, &end);
	if (errno || end == val || *end || !isfinite(v) || v < 0 || (o->min && v == 0) ||
	    v > (double)o->max)
		return err_set(e, -EINVAL, "%s '%s' is not a number of seconds: give %s number up to %llu, such as 1 or 0.5",
			       o->name, val, o->min ? "a positive" : "0 or a positive", o->max);
	*out = v;
	return 0;
}

static int set_value(const struct opt *o, void *target, const char *val, struct err *e)
{
	char *field = (char *)target + o->off;
	unsigned long long n = 0;
	uint64_t bytes = 0;
	int ret;

	switch (o->kind) {
	case OPT_STR:
		if (!*val)
			return err_set(e, -EINVAL, "%s is empty: give %s", o->name, o->fix);
		memcpy(field, &val, sizeof(val));
		return 0;
	case OPT_SIZE:
		if (size_parse(val, &bytes) || bytes == 0)
			return err_set(e, -EINVAL, "%s '%s' is not a size: use a number with K, M or G, %s",
				       o->name, val, o->fix);
		memcpy(field, &bytes, sizeof(bytes));
		return 0;
	case OPT_UINT:
	case OPT_U64:
		ret = parse_unsigned(o, val, &n, e);
		if (ret)
			return ret;
		if (o->kind == OPT_UINT) {
			unsigned u = (unsigned)n;

			memcpy(field, &u, sizeof(u));
		} else {
			bytes = n;
			memcpy(field, &bytes, sizeof(bytes));
		}
		return 0;
	case OPT_SECONDS: {
		double s = 0;

		ret = parse_seconds(o, val, &s, e);
		if (!ret)
			memcpy(field, &s, sizeof(s));
		return ret;
	}
	case OPT_CALL:
		return o->set(o, target, val, e);
	case OPT_FLAG:
	case OPT_HELP:
		break;
	}
	return err_set(e, -EINVAL, "%s cannot be parsed: this is a bug in daxvm's option table", o->name);
}

int opts_parse(const struct opt_command *c, int argc, char **argv, void *target, bool *help,
	       struct err *e)
{
	*help = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = NULL, *val;
		const struct opt *o;
		int ret;

		if (!strncmp(arg, "--", 2) && arg[2]) {
			size_t len;

			eq = strchr(arg, '=');
			len = eq ? (size_t)(eq - arg) : strlen(arg);
			o = find_long(c, arg, len);
			if (!o)
				return err_set(e, -EINVAL, "unknown option '%.*s': see daxvm %s --help",
					       (int)len, arg, c->name);
		} else if (arg[0] == '-' && arg[1] && !arg[2]) {
			o = find_short(c, arg[1]);
			if (!o)
				return err_set(e, -EINVAL, "unknown option '%s': see daxvm %s --help", arg,
					       c->name);
		} else {
			return err_set(e, -EINVAL, "unexpected argument '%s': see daxvm %s --help", arg,
				       c->name);
		}
		if (!takes_value(o)) {
			if (eq)
				return err_set(e, -EINVAL, "%s takes no value: give %s alone", o->name,
					       o->name);
			if (o->kind == OPT_HELP)
				*help = true;
			else
				*(bool *)((char *)target + o->off) = true;
			continue;
		}
		if (!eq && i + 1 >= argc)
			return err_set(e, -EINVAL, "%s needs a value: see daxvm %s --help", o->name, c->name);
		val = eq ? eq + 1 : argv[++i];
		ret = set_value(o, target, val, e);
		if (ret)
			return ret;
	}
	return 0;
}

const char *opts_value_name(const struct opt *o, char *buf, size_t len)
{
	if (!takes_value(o))
		return "";
	if (o->value)
		return o->value;
	if (o->choices)
		return choice_list(o, "|", "|", buf, len);
	return "VALUE";
}

const char *opts_default_text(const struct opt_command *c, const struct opt *o, char *buf,
			      size_t len)
{
	void *t;
	const char *field;

	if (o->def)
		return o->def;
	if (o->kind != OPT_UINT && o->kind != OPT_U64 && o->kind != OPT_SECONDS && o->kind != OPT_SIZE)
		return NULL;
	t = calloc(1, c->target_size);
	if (!t)
		return NULL;
	c->defaults(t);
	field = (const char *)t + o->off;
	if (o->kind == OPT_UINT) {
		unsigned u;

		memcpy(&u, field, sizeof(u));
		snprintf(buf, len, "%u", u);
	} else if (o->kind == OPT_SECONDS) {
		double s;

		memcpy(&s, field, sizeof(s));
		snprintf(buf, len, "%g", s);
	} else {
		uint64_t n;

		memcpy(&n, field, sizeof(n));
		if (o->kind == OPT_SIZE && !n)
			buf = NULL;	/* 0 means "decided later": the table must say by whom */
		else if (o->kind == OPT_SIZE)
			size_format(n, buf, len);
		else
			snprintf(buf, len, "%llu", (unsigned long long)n);
	}
	free(t);
	return buf;
}

const char *opts_help_text(const struct opt_command *c, const struct opt *o, char *buf, size_t len)
{
	char dbuf[64];
	const char *def = opts_default_text(c, o, dbuf, sizeof(dbuf));

	if (!def)
		snprintf(buf, len, "%s", o->help);
	else	/* "(default 2)", but "(default: the device size ...)" reads better for prose */
		snprintf(buf, len, "%s (default%s %s)", o->help, strchr(def, ' ') ? ":" : "", def);
	return buf;
}

/* Prints text word by word, lines at most HELP_WIDTH wide, every line indented by indent
 * except the first, which starts at column col. */
static void reflow(FILE *out, const char *text, int col, int indent)
{
	const char *p = text;

	while (*p) {
		size_t w = strcspn(p, " ");

		if (col > indent && col + 1 + (int)w > HELP_WIDTH) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int)w, p);
		col += (int)w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

void opts_paragraphs(FILE *out, const char *text)
{
	char *copy = strdup(text), *para = copy, *next;

	if (!copy)
		return;
	for (; para; para = next) {
		next = strstr(para, "\n\n");
		if (next) {
			*next = '\0';
			next += 2;
		}
		for (char *q = para; *q; q++)
			if (*q == '\n')
				*q = ' ';
		reflow(out, para, 0, 0);
		if (next)
			fputc('\n', out);
	}
	free(copy);
}

void opts_usage(const struct opt_command *c, FILE *out)
{
	char vbuf[256], hbuf[1024];

	fprintf(out, "usage: daxvm %s [OPTIONS]\n\n", c->name);
	opts_paragraphs(out, c->description);
	fprintf(out, "\noptions:\n");
	for (size_t i = 0; i < c->nr_opts; i++) {
		const struct opt *o = &c->opts[i];
		const char *v = opts_value_name(o, vbuf, sizeof(vbuf));
		int col;

		if (o->short_name)
			col = fprintf(out, "  -%c, %s%s%s", o->short_name, o->name, *v ? " " : "", v);
		else
			col = fprintf(out, "  %s%s%s", o->name, *v ? " " : "", v);
		if (col > HELP_COLUMN - 1)
			fprintf(out, "\n%*s", HELP_COLUMN, "");
		else
			fprintf(out, "%*s", HELP_COLUMN - col, "");
		reflow(out, opts_help_text(c, o, hbuf, sizeof(hbuf)), HELP_COLUMN, HELP_COLUMN);
	}
	fputc('\n', out);
	opts_paragraphs(out, c->exit_status);
}

void opts_roff(const char *text, FILE *out)
{
	if (*text == '.' || *text == '\'')
		fputs("\\&", out);
	for (const char *p = text; *p; p++) {
		if (*p == '-')
			fputs("\\-", out);
		else if (*p == '\\')
			fputs("\\e", out);
		else if (*p == '\n')
			fputc(' ', out);
		else
			fputc(*p, out);
	}
}

static void roff_paragraphs(FILE *out, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *end = strstr(p, "\n\n");
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *para = strndup(p, n);

		if (!para)
			return;
		fputs(".PP\n", out);
		opts_roff(para, out);
		fputc('\n', out);
		free(para);
		p += n;
		while (*p == '\n')
			p++;
	}
}

void opts_man_command(const struct opt_command *c, FILE *out)
{
	char vbuf[256], hbuf[1024];

	fprintf(out, ".SS \"daxvm %s [OPTIONS]\"\n", c->name);
	roff_paragraphs(out, c->description);
	for (size_t i = 0; i < c->nr_opts; i++) {
		const struct opt *o = &c->opts[i];
		const char *v = opts_value_name(o, vbuf, sizeof(vbuf));

		fputs(".TP\n", out);
		if (o->short_name)
			fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
		fputs("\\fB", out);
		opts_roff(o->name, out);
		fputs("\\fR", out);
		if (*v) {
			fputs(" \\fI", out);
			opts_roff(v, out);
			fputs("\\fR", out);
		}
		fputc('\n', out);
		opts_roff(opts_help_text(c, o, hbuf, sizeof(hbuf)), out);
		fputc('\n', out);
	}
	roff_paragraphs(out, c->exit_status);
}
