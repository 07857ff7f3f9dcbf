/* The daxvm subcommands; each parses its own options and returns the process exit code:
 * 0 PASS, 1 FAIL (a check did not hold), 2 usage or environment error. */
#ifndef DAXVM_CLI_COMMANDS_H
#define DAXVM_CLI_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

#include "cli/options.h"

#define EXIT_PASS 0
#define EXIT_CHECK_FAILED 1
#define EXIT_USAGE 2

int cmd_run(int argc, char **argv);		/* cli/run_cmd.c */
int cmd_pin_check(int argc, char **argv);	/* cli/pin_check_cmd.c */
int cmd_inspect(int argc, char **argv);		/* cli/inspect_cmd.c */

extern const struct opt_command run_command;		/* cli/run_options.c */
extern const struct opt_command pin_check_command;	/* cli/pin_check_options.c */
extern const struct opt_command inspect_command;	/* cli/inspect_options.c */

/* Every command, in the order 'daxvm --help' and the man page list them. */
struct daxvm_command {
	const struct opt_command *opts;
	int (*main)(int argc, char **argv);
};
extern const struct daxvm_command daxvm_commands[];
extern const size_t daxvm_nr_commands;

/* 'daxvm --help'. */
void daxvm_usage(FILE *out);

/* The daxvm.1 man page (roff), from the same tables as --help. */
void daxvm_man(FILE *out, const char *version);

#endif
