/* daxvm entry point: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: daxvm COMMAND [OPTIONS]\n"
		"\n"
		"A small KVM VMM whose guest RAM lives on device-dax (or a stand-in backing),\n"
		"pinned for device DMA and validated while the guest runs.\n"
		"\n"
		"commands:\n"
		"  run         boot the built-in stress guest on pinned RAM and validate the pins\n"
		"  pin-check   map, pin, validate and unpin a backing without a guest\n"
		"\n"
		"'daxvm COMMAND --help' describes each command's options.\n"
		"Exit status: 0 PASS, 1 a check failed, 2 usage or environment error.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("daxvm %s\n", DAXVM_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pin-check"))
		return cmd_pin_check(argc - 1, argv + 1);
	fprintf(stderr, "daxvm: unknown command '%s': use 'run' or 'pin-check' (see daxvm --help)\n",
		argv[1]);
	return EXIT_USAGE;
}
