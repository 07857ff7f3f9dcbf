/* The option tables themselves: unique names, every option in --help with its help and
 * default, every valued option asks for its value by name, top-level usage lists commands. */
#include "test.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "pinning/pin.h"

/* text with every run of whitespace made one space, so reflowed help compares with the table */
static char *collapse(const char *text)
{
	char *out = malloc(strlen(text) + 1), *q = out;

	TEST_ASSERT(out, "out of memory");
	for (const char *p = text; *p; p++) {
		if (*p == ' ' || *p == '\n') {
			if (q > out && q[-1] != ' ')
				*q++ = ' ';
		} else {
			*q++ = *p;
		}
	}
	*q = '\0';
	return out;
}

static char *capture_usage(const struct opt_command *c)
{
	char *buf = NULL, *flat;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	TEST_ASSERT(f, "open_memstream");
	if (c)
		opts_usage(c, f);
	else
		daxvm_usage(f);
	fclose(f);
	flat = collapse(buf);
	free(buf);
	return flat;
}

static void check_command(const struct opt_command *c)
{
	char *help = capture_usage(c), vbuf[256], hbuf[1024], heading[512];
	struct err e = { 0 };
	void *t = calloc(1, c->target_size);
	bool want_help;

	TEST_ASSERT(t, "out of memory");
	for (size_t i = 0; i < c->nr_opts; i++) {
		const struct opt *o = &c->opts[i];
		const char *v = opts_value_name(o, vbuf, sizeof(vbuf));
		char *want;

		TEST_ASSERT(!strncmp(o->name, "--", 2) && o->help && *o->help, "%s %s: name and help",
			    c->name, o->name);
		for (size_t j = 0; j < i; j++) {
			TEST_ASSERT(strcmp(o->name, c->opts[j].name), "%s: %s twice", c->name, o->name);
			TEST_ASSERT(!o->short_name || o->short_name != c->opts[j].short_name,
				    "%s: -%c twice", c->name, o->short_name);
		}
		snprintf(heading, sizeof(heading), "%s%s%s", o->name, *v ? " " : "", v);
		TEST_ASSERT(strstr(help, heading), "%s --help lacks '%s'", c->name, heading);
		want = collapse(opts_help_text(c, o, hbuf, sizeof(hbuf)));
		TEST_ASSERT(strstr(help, want), "%s --help lacks the help of %s: '%s'", c->name, o->name,
			    want);
		free(want);
		if (o->kind == OPT_CALL)
			TEST_ASSERT(o->set, "%s %s: OPT_CALL without set", c->name, o->name);
		if (o->kind == OPT_FLAG || o->kind == OPT_HELP)
			continue;
		/* Every valued option says so by name when its value is missing. */
		err_reset(&e);
		c->defaults(t);
		TEST_ASSERT(opts_parse(c, 2, (char *[]){ (char *)c->name, (char *)o->name, NULL }, t,
				       &want_help, &e) == -EINVAL && !strncmp(e.msg, o->name, strlen(o->name)) &&
			    strstr(e.msg, "needs a value"), "%s %s without a value: '%s'", c->name, o->name, e.msg);
		/* And a value it cannot take is refused in one line naming it (strings take any). */
		if (o->kind == OPT_STR)
			continue;
		err_reset(&e);
		TEST_ASSERT(opts_parse(c, 3, (char *[]){ (char *)c->name, (char *)o->name, "~bad", NULL }, t,
				       &want_help, &e) == -EINVAL && strstr(e.msg, o->name) &&
			    strstr(e.msg, "'~bad'") && !strchr(e.msg, '\n'), "%s %s ~bad: '%s'", c->name,
			    o->name, e.msg);
	}
	TEST_ASSERT(strstr(help, "Exit status"), "%s --help lacks the exit status", c->name);
	free(t);
	free(help);
}

int main(void)
{
	const char *names[OPT_NAMES_MAX];
	char *top = capture_usage(NULL), *run;
	char vbuf[256];

	for (size_t i = 0; i < daxvm_nr_commands; i++) {
		const struct opt_command *c = daxvm_commands[i].opts;

		check_command(c);
		TEST_ASSERT(strstr(top, c->name) && strstr(top, c->summary), "daxvm --help lacks %s", c->name);
	}
	free(top);

	/* What tests/kvm/vmm/run_check.py case_help looks for. */
	run = capture_usage(&run_command);
	for (const char *const *s = (const char *[]){ "--mem ", "--mem-size", "--work-size", "--cpus",
						      "--duration", "--pin", "--report", "--console",
						      "--hang-timeout", "--inject", "(default 2)",
						      "(default 10)", "auto", NULL };
	     *s; s++)
		TEST_ASSERT(strstr(run, *s), "run --help lacks '%s'", *s);
	free(run);

	/* --pin offers pinning's own names, each of which pinning parses, and never mock. */
	for (size_t i = 0; i < run_command.nr_opts; i++) {
		const struct opt *o = &run_command.opts[i];
		size_t n;

		if (strcmp(o->name, "--pin"))
			continue;
		TEST_ASSERT(!strcmp(opts_value_name(o, vbuf, sizeof(vbuf)), "auto|io_uring|vfio|iommufd|none"),
			    "--pin placeholder %s", vbuf);
		n = o->choices(names, OPT_NAMES_MAX);
		for (size_t j = 0; j < n; j++) {
			enum pin_backend b;

			TEST_ASSERT(pin_backend_parse(names[j], &b) == 0 && b != PIN_MOCK &&
				    !strcmp(pin_backend_name(b), names[j]), "--pin choice %s", names[j]);
		}
	}
	printf("PASS: option tables, --help of %zu commands\n", daxvm_nr_commands);
	return T_PASS;
}
