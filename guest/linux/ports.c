/* Port I/O from user space: ioperm() and plain IN/OUT, or /dev/port where that faults
 * (see ports.h). */
#include "ports.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/io.h>
#include <unistd.h>

#include "daxvm_guest_abi.h"

static enum { PORTS_NONE, PORTS_OUT, PORTS_DEVPORT } mode;
static int devport_fd = -1;
static sigjmp_buf probe_jump;

static void on_probe_fault(int sig)
{
	(void)sig;
	siglongjmp(probe_jump, 1);
}

/* One IN under a SIGSEGV guard: 1 when the CPU lets this process do port I/O. */
static int probe_port_io(void)
{
	struct sigaction sa = { .sa_handler = on_probe_fault }, old;
	volatile int ok = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	if (!sigsetjmp(probe_jump, 1)) {
		(void)inl(DAXVM_GUEST_EVENT_PORT);	/* a read: no meaning to the VMM */
		ok = 1;
	}
	sigaction(SIGSEGV, &old, NULL);
	return ok;
}

int ports_open(bool force_devport)
{
	/* ioperm's bitmap is per thread (copied to threads created later): the main thread,
	 * which alone writes these ports, asks for both ranges. */
	if (!force_devport && !ioperm(DAXVM_GUEST_EXIT_PORT, 4, 1) && !ioperm(DAXVM_GUEST_EVENT_PORT, 8, 1) &&
	    probe_port_io()) {
		mode = PORTS_OUT;
		return 0;
	}
	devport_fd = open("/dev/port", O_WRONLY | O_CLOEXEC);
	if (devport_fd < 0)
		return -errno;
	mode = PORTS_DEVPORT;
	return 0;
}

const char *ports_mode(void)
{
	return mode == PORTS_OUT ? "out" : mode == PORTS_DEVPORT ? "devport" : "none";
}

static void out32(uint16_t port, uint32_t value)
{
	uint8_t low = (uint8_t)value;

	if (mode == PORTS_OUT)
		outl(value, port);
	else if (mode == PORTS_DEVPORT && pwrite(devport_fd, &low, 1, port) != 1)
		mode = PORTS_NONE;	/* nothing left to report through */
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
