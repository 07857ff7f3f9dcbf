/* How long this process has existed: "launch" in the launch_to_* timings is the exec, not
 * the moment the command started parsing. */
#include "cli/process_age.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Age of this process in ms: CLOCK_BOOTTIME now minus /proc/self/stat starttime, which
 * the kernel keeps in clock ticks since boot (so it is good to about 10 ms). */
double process_age_ms(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	unsigned long long start_ticks = 0;
	struct timespec now;
	size_t n;
	char *p;

	if (!f)
		return 0.0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may contain spaces; fields count from after it */
	if (!p)
		return 0.0;
	/* After ")": state is field 3; starttime is field 22, i.e. the 20th after state. */
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start_ticks) != 1)
		return 0.0;
	clock_gettime(CLOCK_BOOTTIME, &now);
	return ((double)now.tv_sec + (double)now.tv_nsec / 1e9) * 1e3 -
	       (double)start_ticks * 1e3 / (double)sysconf(_SC_CLK_TCK);
}
