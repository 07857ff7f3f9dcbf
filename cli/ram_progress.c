/* Progress lines for populating and pinning guest RAM (see ram_progress.h). On stderr, so a
 * report or summary on stdout stays clean when it is piped. */
#include "cli/ram_progress.h"

#include <stdio.h>
#include <unistd.h>

#include "common/size.h"

void ram_progress_init(struct ram_progress *p)
{
	p->tty = isatty(STDERR_FILENO);
	p->shown = false;
}

static void draw(const char *what, uint64_t done, uint64_t total, double secs, struct ram_progress *p)
{
	char a[32], b[32], r[32];

	if (!p->tty)
		return;
	if (done >= total) {	/* finished: the line goes, what follows starts clean */
		if (p->shown)
			fprintf(stderr, "\r%*s\r", 72, "");
		p->shown = false;
		return;
	}
	fprintf(stderr, "\r  %s guest RAM: %s of %s (%s/s)   ", what, size_format(done, a, sizeof(a)),
		size_format(total, b, sizeof(b)),
		size_format(secs > 0 ? (uint64_t)((double)done / secs) : 0, r, sizeof(r)));
	p->shown = true;
}

void ram_progress_populate(uint64_t done, uint64_t total, double secs, void *opaque)
{
	draw("populating", done, total, secs, opaque);
}

void ram_progress_pin(uint64_t done, uint64_t total, double secs, void *opaque)
{
	draw("pinning", done, total, secs, opaque);
}
