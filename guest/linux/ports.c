/* Port I/O from user space: ioperm() once, then plain OUT instructions (see ports.h). */
#include "ports.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/io.h>

#include "daxvm_guest_abi.h"

static bool ports_ready;

int ports_open(void)
{
	/* ioperm's bitmap is per thread (copied to threads created later): the main thread,
	 * which alone writes these ports, asks for both ranges. */
	if (ioperm(DAXVM_GUEST_EXIT_PORT, 4, 1) || ioperm(DAXVM_GUEST_EVENT_PORT, 8, 1))
		return -errno;
	ports_ready = true;
	return 0;
}

static void out32(uint16_t port, uint32_t value)
{
	if (ports_ready)
		outl(value, port);
}

void ports_event(uint32_t event)
{
	out32(DAXVM_GUEST_EVENT_PORT, event);
}

void ports_progress(uint32_t mib_verified)
{
	out32(DAXVM_GUEST_PROGRESS_PORT, mib_verified);
}

void ports_verdict(uint32_t verdict)
{
	out32(DAXVM_GUEST_EXIT_PORT, verdict);
}
