/* Build tool: prints the daxvm.1 man page from the option tables (meson custom_target). */
#include <stdio.h>

#include "cli/commands.h"

int main(void)
{
	daxvm_man(stdout, DAXVM_VERSION);
	return ferror(stdout) ? 1 : 0;
}
