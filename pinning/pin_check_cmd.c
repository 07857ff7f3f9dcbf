/* daxvm pin-check: PLACEHOLDER until the pinning layer lands (issue 3). */
#include <stdio.h>

#include "vmm/commands.h"

int cmd_pin_check(int argc, char **argv)
{
	fprintf(stderr, "daxvm pin-check: not implemented yet\n");
	return EXIT_USAGE;
}
