/* The daxvm subcommands; each parses its own options and returns the process exit code:
 * 0 PASS, 1 FAIL (a check did not hold), 2 usage or environment error. */
#ifndef DAXVM_CLI_COMMANDS_H
#define DAXVM_CLI_COMMANDS_H

#define EXIT_PASS 0
#define EXIT_CHECK_FAILED 1
#define EXIT_USAGE 2

int cmd_run(int argc, char **argv);		/* vmm/run_cmd.c */
int cmd_pin_check(int argc, char **argv);	/* pinning/pin_check_cmd.c */

#endif
