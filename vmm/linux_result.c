/* A small JSON reader for one flat object: string, number and literal values; nested values
 * of tool-specific keys are skipped. Anything else is malformed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/linux/daxvm_guest_abi.h"
#include "vmm/linux_result.h"

struct cursor {
	const char *p;
};

static void skip_ws(struct cursor *c)
{
	while (*c->p == ' ' || *c->p == '\t')
		c->p++;
}

/* Reads a string into buf (escapes kept as the escaped character, \u dropped); false if
 * malformed. */
static bool read_string(struct cursor *c, char *buf, size_t len)
{
	size_t n = 0;

	if (*c->p != '"')
		return false;
	for (c->p++; *c->p && *c->p != '"'; c->p++) {
		char ch = *c->p;

		if (ch == '\\') {
			c->p++;
			if (!*c->p)
				return false;
			ch = *c->p;
			if (ch == 'u') {
				for (int i = 0; i < 4; i++)
					if (!*++c->p)
						return false;
				continue;
			}
		}
		if ((unsigned char)ch < 0x20)
			return false;
		if (n + 1 < len)
			buf[n++] = ch;
	}
	if (*c->p != '"')
		return false;
	c->p++;
	if (len)
		buf[n] = '\0';
	return true;
}

/* Skips a nested object or array (strings inside respected). */
static bool skip_nested(struct cursor *c)
{
	int depth = 0;

	do {
		if (*c->p == '"') {
			char dummy[1];

			if (!read_string(c, dummy, 0))
				return false;
			continue;
		}
		if (!*c->p)
			return false;
		if (*c->p == '{' || *c->p == '[')
			depth++;
		else if (*c->p == '}' || *c->p == ']')
			depth--;
		if (depth > 32)
			return false;
		c->p++;
	} while (depth > 0);
	return true;
}

enum value_kind { V_STRING, V_NUMBER, V_OTHER };

static bool read_value(struct cursor *c, enum value_kind *kind, char *s, size_t len, double *num,
		       uint64_t *u)
{
	char *end;

	skip_ws(c);
	if (*c->p == '"') {
		*kind = V_STRING;
		return read_string(c, s, len);
	}
	if (*c->p == '{' || *c->p == '[') {
		*kind = V_OTHER;
		return skip_nested(c);
	}
	if (!strncmp(c->p, "true", 4) || !strncmp(c->p, "null", 4)) {
		*kind = V_OTHER;
		c->p += 4;
		return true;
	}
	if (!strncmp(c->p, "false", 5)) {
		*kind = V_OTHER;
		c->p += 5;
		return true;
	}
	if (*c->p != '-' && (*c->p < '0' || *c->p > '9'))
		return false;
	*kind = V_NUMBER;
	*num = strtod(c->p, &end);
	if (end == c->p)
		return false;
	*u = *c->p == '-' || *num < 0 ? 0 : strtoull(c->p, NULL, 10);
	c->p = end;
	return true;
}

int linux_result_parse(const char *line, struct linux_result *out, struct err *e)
{
	size_t plen = strlen(DAXVM_GUEST_RESULT_PREFIX);
	struct cursor c;
	bool has_verdict = false, has_bytes = false, has_mismatches = false;

	memset(out, 0, sizeof(*out));
	if (strncmp(line, DAXVM_GUEST_RESULT_PREFIX, plen))
		return -ENOENT;
	c.p = line + plen;
	skip_ws(&c);
	if (*c.p++ != '{')
		return err_set(e, -EINVAL, "the guest's result line is not a JSON object");
	skip_ws(&c);
	if (*c.p == '}') {
		c.p++;
		goto done;
	}
	for (;;) {
		char key[32], s[64];
		enum value_kind kind;
		double num = 0;
		uint64_t u = 0;

		skip_ws(&c);
		if (!read_string(&c, key, sizeof(key)))
			return err_set(e, -EINVAL, "the guest's result line has a malformed key");
		skip_ws(&c);
		if (*c.p++ != ':')
			return err_set(e, -EINVAL, "the guest's result line lacks ':' after \"%s\"", key);
		s[0] = '\0';
		if (!read_value(&c, &kind, s, sizeof(s), &num, &u))
			return err_set(e, -EINVAL, "the guest's result line has a malformed value for \"%s\"", key);
		if (!strcmp(key, "verdict") && kind == V_STRING) {
			if (strcmp(s, "pass") && strcmp(s, "fail"))
				return err_set(e, -EINVAL, "the guest's verdict \"%s\" is neither pass nor fail", s);
			out->pass = !strcmp(s, "pass");
			has_verdict = true;
		} else if (!strcmp(key, "bytes_verified") && kind == V_NUMBER) {
			out->bytes_verified = u;
			has_bytes = true;
		} else if (!strcmp(key, "mismatches") && kind == V_NUMBER) {
			out->mismatches = u;
			has_mismatches = true;
		} else if (!strcmp(key, "threads") && kind == V_NUMBER) {
			out->threads = u;
		} else if (!strcmp(key, "ram_bytes") && kind == V_NUMBER) {
			out->ram_bytes = u;
		} else if (!strcmp(key, "pmem_bytes") && kind == V_NUMBER) {
			out->pmem_bytes = u;
		} else if (!strcmp(key, "seconds") && kind == V_NUMBER) {
			out->seconds = num;
		} else if (!strcmp(key, "tool") && kind == V_STRING) {
			snprintf(out->tool, sizeof(out->tool), "%s", s);
		} else if (!strcmp(key, "pmem_device") && kind == V_STRING) {
			memcpy(out->pmem_device, s, sizeof(out->pmem_device));
		} else if (!strcmp(key, "first_mismatch") && kind == V_STRING) {
			memcpy(out->first_mismatch, s, sizeof(out->first_mismatch));
			out->first_mismatch[sizeof(out->first_mismatch) - 1] = '\0';
		}
		skip_ws(&c);
		if (*c.p == ',') {
			c.p++;
			continue;
		}
		if (*c.p++ == '}')
			break;
		return err_set(e, -EINVAL, "the guest's result line is not a closed JSON object");
	}
done:
	skip_ws(&c);
	if (*c.p)
		return err_set(e, -EINVAL, "the guest's result line has text after its JSON object");
	if (!has_verdict || !has_bytes || !has_mismatches)
		return err_set(e, -EINVAL, "the guest's result line lacks %s",
			       !has_verdict ? "\"verdict\"" : !has_bytes ? "\"bytes_verified\"" : "\"mismatches\"");
	return 0;
}
