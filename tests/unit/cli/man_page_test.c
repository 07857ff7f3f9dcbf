/* The built daxvm.1 agrees with the option tables: every command and option is there with its
 * help and default, and the page lists nothing the tables lack. Argument: the built page. */
#include "test.h"
#include "cli/commands.h"
#include "cli/options.h"

/* roff back to text: drops font changes and \&, turns \- into - and \e into \. */
static void unroff(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = in; *p && n + 1 < len; p++) {
		if (p[0] == '\\' && p[1] == 'f' && p[2]) {
			p += 2;
		} else if (p[0] == '\\' && p[1] == '&') {
			p++;
		} else if (p[0] == '\\' && p[1] == '-') {
			out[n++] = '-';
			p++;
		} else if (p[0] == '\\' && p[1] == 'e') {
			out[n++] = '\\';
			p++;
		} else if (*p != '\n') {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static const struct opt_command *command_named(const char *name)
{
	for (size_t i = 0; i < daxvm_nr_commands; i++)
		if (!strcmp(daxvm_commands[i].opts->name, name))
			return daxvm_commands[i].opts;
	return NULL;
}

int main(int argc, char **argv)
{
	char line[2048], heading[2048], help[2048], want[2048], vbuf[256], name[64];
	size_t seen[16] = { 0 }, listed = 0, total = 0;
	const struct opt_command *cur = NULL;
	bool in_commands = false, th = false;
	FILE *f;

	TEST_ASSERT(argc == 2, "usage: %s BUILD/cli/daxvm.1", argv[0]);
	TEST_ASSERT(daxvm_nr_commands <= 16, "more commands than the test counts");
	f = fopen(argv[1], "r");
	TEST_ASSERT(f, "cannot open the built man page %s", argv[1]);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, ".TH DAXVM 1 ", 12))
			th = true;
		if (!strncmp(line, ".SH ", 4)) {
			in_commands = !strcmp(line, ".SH COMMANDS\n");
			cur = NULL;
		}
		if (sscanf(line, ".SS \"daxvm %63s [OPTIONS]\"", name) == 1) {
			cur = command_named(name);
			TEST_ASSERT(cur, "the man page documents a command daxvm lacks: %s", name);
		}
		if (strcmp(line, ".TP\n"))
			continue;
		TEST_ASSERT(fgets(line, sizeof(line), f), "a .TP without a heading");
		unroff(line, heading, sizeof(heading));
		TEST_ASSERT(fgets(line, sizeof(line), f), "a .TP without a body: %s", heading);
		unroff(line, help, sizeof(help));
		if (in_commands) {
			const struct opt_command *c = command_named(heading);

			TEST_ASSERT(c && !strcmp(help, c->summary), "COMMANDS: '%s' '%s' not in the table",
				    heading, help);
			listed++;
			continue;
		}
		TEST_ASSERT(cur, "an option outside a command's section: %s", heading);
		bool found = false;

		for (size_t i = 0; i < cur->nr_opts && !found; i++) {
			const struct opt *o = &cur->opts[i];
			const char *v = opts_value_name(o, vbuf, sizeof(vbuf));
			char sh[8] = "";

			if (o->short_name)
				snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
			snprintf(want, sizeof(want), "%s%s%s%s", sh, o->name, *v ? " " : "", v);
			if (strcmp(heading, want))
				continue;
			found = true;
			TEST_ASSERT(!strcmp(help, opts_help_text(cur, o, want, sizeof(want))),
				    "daxvm %s %s: the man page says '%s', the table '%s'", cur->name, o->name,
				    help, want);
		}
		TEST_ASSERT(found, "daxvm %s: the man page has '%s', which the table lacks", cur->name,
			    heading);
		for (size_t i = 0; i < daxvm_nr_commands; i++)
			if (daxvm_commands[i].opts == cur)
				seen[i]++;
	}
	fclose(f);
	TEST_ASSERT(th, "no .TH DAXVM 1 line");
	TEST_ASSERT(listed == daxvm_nr_commands, "COMMANDS lists %zu of %zu commands", listed,
		    daxvm_nr_commands);
	for (size_t i = 0; i < daxvm_nr_commands; i++) {
		TEST_ASSERT(seen[i] == daxvm_commands[i].opts->nr_opts,
			    "daxvm %s: %zu options in the man page, %zu in the table",
			    daxvm_commands[i].opts->name, seen[i], daxvm_commands[i].opts->nr_opts);
		total += seen[i];
	}
	printf("PASS: daxvm.1 documents %zu commands and %zu options exactly as the tables\n",
	       daxvm_nr_commands, total);
	return T_PASS;
}
