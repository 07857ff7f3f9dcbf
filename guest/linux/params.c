/* Parses the daxvm_* words of the kernel command line (see params.h). */
#include "params.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daxvm_guest_abi.h"

void params_defaults(struct stress_params *p)
{
	memset(p, 0, sizeof(*p));
	p->duration_s = PARAMS_DURATION_DEFAULT;
	p->threads = 0;
	p->ram_percent = PARAMS_RAM_PERCENT_DEFAULT;
	p->pmem_mode = PARAMS_PMEM_AUTO;
	snprintf(p->pmem_path, sizeof(p->pmem_path), "/dev/pmem0");
	p->inject = PARAMS_INJECT_NONE;
}

/* A decimal in [lo, hi], the whole value. */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int bad(char *why, size_t why_len, const char *word, const char *expect)
{
	snprintf(why, why_len, "kernel parameter '%.80s' is invalid: expected %s", word, expect);
	return -EINVAL;
}

/* One "daxvm_key=value" word. */
static int parse_word(const char *word, struct stress_params *p, char *why, size_t why_len)
{
	static const char *const known[] = { DAXVM_GUEST_PARAM_DURATION, DAXVM_GUEST_PARAM_THREADS,
		DAXVM_GUEST_PARAM_RAM_PERCENT, DAXVM_GUEST_PARAM_PMEM, PARAMS_PARAM_INJECT,
		PARAMS_PARAM_PORTS };
	const char *val;
	size_t k;

	for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (!strncmp(word, known[k], strlen(known[k])))
			break;
	if (k == sizeof(known) / sizeof(known[0]))
		return bad(why, why_len, word, "one of daxvm_duration= daxvm_threads= "
			   "daxvm_ram_percent= daxvm_pmem= daxvm_inject= daxvm_ports=");
	val = word + strlen(known[k]);
	switch (k) {
	case 0:
		return parse_uint(val, 1, 86400, &p->duration_s) ?
			bad(why, why_len, word, "seconds from 1 to 86400") : 0;
	case 1:
		return parse_uint(val, 1, PARAMS_THREADS_MAX, &p->threads) ?
			bad(why, why_len, word, "a thread count from 1 to 256") : 0;
	case 2:
		return parse_uint(val, 1, PARAMS_RAM_PERCENT_MAX, &p->ram_percent) ?
			bad(why, why_len, word, "a percentage of MemAvailable from 1 to 90") : 0;
	case 3:
		if (!strcmp(val, "none")) {
			p->pmem_mode = PARAMS_PMEM_NONE;
			return 0;
		}
		if (strncmp(val, "/dev/", 5) || strlen(val) >= sizeof(p->pmem_path) || strlen(val) == 5)
			return bad(why, why_len, word, "none or a device path such as /dev/pmem0");
		p->pmem_mode = PARAMS_PMEM_PATH;
		snprintf(p->pmem_path, sizeof(p->pmem_path), "%s", val);
		return 0;
	case 5:
		if (strcmp(val, "devport") && strcmp(val, "auto"))
			return bad(why, why_len, word, "devport or auto");
		p->ports_devport = !strcmp(val, "devport");
		return 0;
	default:
		if (!strcmp(val, "mismatch"))
			p->inject = PARAMS_INJECT_MISMATCH;
		else if (!strcmp(val, "none"))
			p->inject = PARAMS_INJECT_NONE;
		else
			return bad(why, why_len, word, "mismatch or none");
		return 0;
	}
}

int params_parse(const char *cmdline, struct stress_params *p, char *why, size_t why_len)
{
	const char *s = cmdline;

	while (*s) {
		char word[256];
		size_t n = strcspn(s, " \t\n");
		int err;

		/* The kernel passes "--" and what follows to init as arguments, not as parameters. */
		if (n == 2 && !strncmp(s, "--", 2))
			break;
		if (n >= 6 && !strncmp(s, "daxvm_", 6)) {
			if (n >= sizeof(word))
				return bad(why, why_len, "daxvm_...", "a word shorter than 256 bytes");
			memcpy(word, s, n);
			word[n] = 0;
			err = parse_word(word, p, why, why_len);
			if (err)
				return err;
		}
		s += n;
		s += strspn(s, " \t\n");
	}
	return 0;
}
