/* daxvm entry point: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		daxvm_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		daxvm_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("daxvm %s\n", DAXVM_VERSION);
		return 0;
	}
	for (size_t i = 0; i < daxvm_nr_commands; i++)
		if (!strcmp(argv[1], daxvm_commands[i].opts->name))
			return daxvm_commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "daxvm: unknown command '%s': use ", argv[1]);
	for (size_t i = 0; i < daxvm_nr_commands; i++)
		fprintf(stderr, "%s'%s'", i == 0 ? "" : i + 1 == daxvm_nr_commands ? " or " : ", ",
			daxvm_commands[i].opts->name);
	fprintf(stderr, " (see daxvm --help)\n");
	return EXIT_USAGE;
}
