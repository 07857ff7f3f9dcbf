/* The control device: the VMM end of the guest protocol in guest/abi.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/ctl.h"
#include "guest/abi.h"

struct ctl_device {
	pthread_mutex_t lock;	/* guards cpu[]: vCPU threads write, the run loop reads */
	unsigned nr_cpus;
	struct serial *console;
	struct ctl_cpu_state cpu[CTL_MAX_CPUS];
};

uint64_t ctl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ctl_create(struct ctl_device **out, unsigned nr_cpus, struct serial *console, struct err *e)
{
	struct ctl_device *ctl;

	if (!nr_cpus || nr_cpus > CTL_MAX_CPUS)
		return err_set(e, -EINVAL, "the control device supports 1 to %d vCPUs, not %u: use fewer vCPUs",
			       CTL_MAX_CPUS, nr_cpus);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return err_set(e, -ENOMEM, "out of memory creating the control device: free some memory");
	pthread_mutex_init(&ctl->lock, NULL);
	ctl->nr_cpus = nr_cpus;
	ctl->console = console;
	*out = ctl;
	return 0;
}

void ctl_destroy(struct ctl_device *ctl)
{
	if (!ctl)
		return;
	pthread_mutex_destroy(&ctl->lock);
	free(ctl);
}

static uint64_t ctl_le64(const uint8_t *data, unsigned len)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < len && i < 8; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

static void ctl_write(struct ctl_device *ctl, struct ctl_cpu_state *s, uint64_t reg, uint64_t v)
{
	switch (reg) {
	case CTL_READY:
		if (!s->ready) {
			s->ready = true;
			s->ready_ns = s->last_seen_ns;
		}
		break;
	case CTL_PROGRESS:
		s->progress_bytes = v;
		break;
	case CTL_MISMATCH:
		if (s->mismatches < CTL_MISMATCHES_KEPT)
			s->mismatch_gpa[s->mismatches] = v;
		s->mismatches++;
		break;
	case CTL_DONE:
		s->done = true;
		s->done_failures = v;
		break;
	case CTL_EXC_VECTOR:
		s->exc_vector = v;
		break;
	case CTL_EXC_ERROR:
		s->exc_error = v;
		break;
	case CTL_EXC_CR2:
		s->exc_cr2 = v;
		break;
	case CTL_EXC_RIP:
		s->exc_rip = v;
		s->exception = true;
		break;
	case CTL_EXC_SURVIVED:
		s->exceptions_survived++;
		s->last_survived_vector = v;
		break;
	default:
		s->bad_writes++;
		break;
	}
}

static int ctl_io(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len,
		  bool is_write)
{
	struct ctl_device *ctl = opaque;
	uint64_t off = addr - GUEST_MMIO_CTL_GPA;
	unsigned slot = (unsigned)(off / GUEST_CTL_STRIDE);
	uint64_t reg = off % GUEST_CTL_STRIDE;
	struct ctl_cpu_state *s;

	if (!is_write) {
		/* Reads are not part of the protocol; they return 0. */
		memset(data, 0, len);
		return 0;
	}
	if (reg == CTL_PUTC) {
		if (ctl->console)
			serial_putc(ctl->console, (char)data[0]);
		return 0;
	}
	/* A vCPU may only speak through its own slot: the ring-0 handler and the workload
	 * both compute it from their cpu index, so anything else is a guest bug, counted on the
	 * writer (whose heartbeat it is: a write into another slot must not keep that vCPU
	 * looking alive). */
	s = &ctl->cpu[cpu < ctl->nr_cpus ? cpu : 0];
	pthread_mutex_lock(&ctl->lock);
	s->last_seen_ns = ctl_now_ns();
	if (slot != cpu || len != 8 || slot >= ctl->nr_cpus)
		s->bad_writes++;
	else
		ctl_write(ctl, s, reg, ctl_le64(data, len));
	pthread_mutex_unlock(&ctl->lock);
	return 0;
}

int ctl_attach(struct ctl_device *ctl, struct bus *bus, struct err *e)
{
	return bus_register(bus, BUS_MMIO, GUEST_MMIO_CTL_GPA, ctl->nr_cpus * GUEST_CTL_STRIDE,
			    ctl_io, ctl, "control", e);
}

void ctl_snapshot(struct ctl_device *ctl, unsigned cpu, struct ctl_cpu_state *out)
{
	pthread_mutex_lock(&ctl->lock);
	*out = ctl->cpu[cpu];
	pthread_mutex_unlock(&ctl->lock);
}

bool ctl_cpu_finished(struct ctl_device *ctl, unsigned cpu)
{
	bool finished;

	pthread_mutex_lock(&ctl->lock);
	finished = ctl->cpu[cpu].done || ctl->cpu[cpu].exception;
	pthread_mutex_unlock(&ctl->lock);
	return finished;
}
