/* The list of daxvm commands, the top-level usage and the man page built from their tables. */
#include "cli/commands.h"

const struct daxvm_command daxvm_commands[] = {
	{ &run_command, cmd_run },
	{ &pin_check_command, cmd_pin_check },
	{ &inspect_command, cmd_inspect },
};
const size_t daxvm_nr_commands = sizeof(daxvm_commands) / sizeof(daxvm_commands[0]);

static const char about[] =
	"A small KVM VMM whose guest RAM lives on device-dax (or a stand-in backing), pinned for "
	"device DMA and validated while the guest runs.";
static const char exit_status[] = "Exit status: 0 PASS, 1 a check failed, 2 usage or environment error.";

void daxvm_usage(FILE *out)
{
	fprintf(out, "usage: daxvm COMMAND [OPTIONS]\n\n");
	opts_paragraphs(out, about);
	fprintf(out, "\ncommands:\n");
	for (size_t i = 0; i < daxvm_nr_commands; i++)
		fprintf(out, "  %-11s %s\n", daxvm_commands[i].opts->name, daxvm_commands[i].opts->summary);
	fprintf(out, "\n'daxvm COMMAND --help' describes each command's options.\n%s\n", exit_status);
}

void daxvm_man(FILE *out, const char *version)
{
	fprintf(out, ".\\\" Generated from daxvm's option tables (cli/*_options.c); do not edit.\n");
	fprintf(out, ".TH DAXVM 1 \"\" \"daxvm %s\" \"User Commands\"\n", version);
	fputs(".SH NAME\ndaxvm \\- ", out);
	opts_roff("a KVM VMM whose guest RAM lives on device-dax, pinned for DMA and validated", out);
	fputs("\n.SH SYNOPSIS\n.B daxvm\n.I COMMAND\n.RI [ OPTIONS ]\n.br\n.B daxvm\n.BR \\-\\-help \" | \" \\-\\-version\n", out);
	fputs(".SH DESCRIPTION\n", out);
	opts_roff(about, out);
	fputs("\n.PP\n", out);
	opts_roff("'daxvm COMMAND --help' prints the options of one command, as listed below.", out);
	fputs("\n.SH COMMANDS\n", out);
	for (size_t i = 0; i < daxvm_nr_commands; i++) {
		fputs(".TP\n\\fB", out);
		opts_roff(daxvm_commands[i].opts->name, out);
		fputs("\\fR\n", out);
		opts_roff(daxvm_commands[i].opts->summary, out);
		fputc('\n', out);
	}
	fputs(".SH OPTIONS\n", out);
	for (size_t i = 0; i < daxvm_nr_commands; i++)
		opts_man_command(daxvm_commands[i].opts, out);
	fputs(".SH EXIT STATUS\n", out);
	opts_roff(exit_status, out);
	fputs("\n.SH SEE ALSO\n", out);
	opts_roff("The project's README.md and docs/cli.md.", out);
	fputc('\n', out);
}
