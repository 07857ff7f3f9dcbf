/* daxvm run: PLACEHOLDER until the VMM lands (issue 2). */
#include <stdio.h>

#include "vmm/commands.h"

int cmd_run(int argc, char **argv)
{
	fprintf(stderr, "daxvm run: not implemented yet\n");
	return EXIT_USAGE;
}
