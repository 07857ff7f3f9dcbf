/* Fuzz target: the I/O bus (devices/bus.c), the control device (devices/ctl.c) and the 8250
 * serial console (devices/serial.c), as vCPU MMIO and port exits reach them. The input first
 * registers extra ranges (any base and length: overlapping, empty, wrapping, too many), then
 * makes accesses of any address, length and direction from any vCPU. Checked against a model:
 *   - bus_register accepts exactly the ranges that are non-empty, do not wrap, do not overlap
 *     and fit in the table; bus_dispatch reaches the one handler whose range holds the address
 *     (with the address unchanged), else -ENOENT;
 *   - the control device's per-vCPU state (ready, progress, mismatches and the addresses kept,
 *     done, exception, bad writes) is what the protocol in guest/abi.h says after every write;
 *     a vCPU can change only its own slot; reads return zeros in exactly len bytes;
 *   - the serial port prints exactly the THR writes made with DLAB clear and the control
 *     device's CTL_PUTC characters, LSR reads "transmitter empty", LCR reads back. */
#include <errno.h>
#include <inttypes.h>

#include "devices/ctl.h"
#include "devices/serial.h"
#include "guest/abi.h"
#include "fuzz_input.h"

#define MAX_EXTRA 40		/* more than the bus holds: ENOSPC is part of the contract */
#define BUS_SLOTS 32		/* BUS_MAX_RANGES */

struct range {
	uint64_t base, len;
	unsigned id;
};

struct space_model {
	struct range r[BUS_SLOTS];
	unsigned nr;
};

static struct {
	struct space_model space[2];
	unsigned nr_cpus;
	struct ctl_cpu_state cpu[CTL_MAX_CPUS];
	struct {		/* the 16550A as a PC guest sees it (devices/serial.c's contract) */
		uint8_t lcr, ier, mcr, scr, dll, dlm, fcr;
		bool thri;	/* THR-empty interrupt pending */
	} uart;
	unsigned long printed;
	unsigned last_id;	/* the dummy handler that ran last, 0 = none */
	uint64_t last_addr;
} model;

static FILE *devnull;

/* The UART's registers by offset, DLAB = LCR bit 7 selecting the divisor latch at 0 and 1. */
static void uart_model_write(unsigned reg, uint8_t v)
{
	bool dlab = model.uart.lcr & 0x80;

	switch (reg) {
	case 0:
		if (dlab) {
			model.uart.dll = v;
		} else {
			if (!(model.uart.mcr & 0x10))	/* loopback sends nothing out */
				model.printed++;
			model.uart.thri = true;		/* the byte left at once: THR empty again */
		}
		break;
	case 1:
		if (dlab) {
			model.uart.dlm = v;
		} else {
			if ((v & 0x02) && !(model.uart.ier & 0x02))
				model.uart.thri = true;
			model.uart.ier = v & 0x0f;
		}
		break;
	case 2: model.uart.fcr = v & 0x01; break;
	case 3: model.uart.lcr = v; break;
	case 4: model.uart.mcr = v & 0x1f; break;
	case 7: model.uart.scr = v; break;
	default: break;		/* LSR and MSR are read-only */
	}
}

static uint8_t uart_model_read(unsigned reg)
{
	bool dlab = model.uart.lcr & 0x80;
	uint8_t fifo = model.uart.fcr ? 0xc0 : 0;

	switch (reg) {
	case 0: return dlab ? model.uart.dll : 0;	/* nothing is ever received */
	case 1: return dlab ? model.uart.dlm : model.uart.ier;
	case 2:
		if (model.uart.thri && (model.uart.ier & 0x02)) {
			model.uart.thri = false;	/* identifying the interrupt clears it */
			return 0x02 | fifo;
		}
		return 0x01 | fifo;
	case 3: return model.uart.lcr;
	case 4: return model.uart.mcr;
	case 5: return 0x60;			/* THR empty, transmitter empty */
	case 6: return 0xb0;			/* DCD, DSR, CTS */
	default: return model.uart.scr;
	}
}

/* Handlers of the extra ranges: record who was called, with which address. */
static int dummy_io(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len, bool is_write)
{
	model.last_id = (unsigned)(uintptr_t)opaque;
	model.last_addr = addr;
	if (!is_write)
		memset(data, 0x5c, len);
	return 0;
}

static const struct range *model_find(enum bus_space sp, uint64_t addr)
{
	const struct space_model *m = &model.space[sp];

	for (unsigned i = 0; i < m->nr; i++)
		if (addr >= m->r[i].base && addr - m->r[i].base < m->r[i].len)
			return &m->r[i];
	return NULL;
}

static int model_register(enum bus_space sp, uint64_t base, uint64_t len, unsigned id)
{
	struct space_model *m = &model.space[sp];

	if (!len || base + len < base)
		return -EINVAL;
	for (unsigned i = 0; i < m->nr; i++)
		if (base < m->r[i].base + m->r[i].len && m->r[i].base < base + len)
			return -EEXIST;
	if (m->nr == BUS_SLOTS)
		return -ENOSPC;
	m->r[m->nr++] = (struct range){ base, len, id };
	return 0;
}

static uint64_t pick_base(struct fuzz_in *in, enum bus_space sp)
{
	switch (fuzz_pick(in, 6)) {
	case 0: return (sp == BUS_MMIO ? GUEST_MMIO_CTL_GPA : SERIAL_COM1_PORT) + (uint64_t)(int64_t)(int8_t)fuzz_u8(in);
	case 1: return fuzz_u64(in);
	case 2: return UINT64_MAX - fuzz_u8(in);
	case 3: return fuzz_u16(in);
	default: return 0xe0000000ULL + fuzz_u16(in) * 16ULL;
	}
}

static uint64_t pick_len(struct fuzz_in *in)
{
	switch (fuzz_pick(in, 4)) {
	case 0: return fuzz_u8(in);
	case 1: return fuzz_u64(in);
	default: return 1 + fuzz_u16(in) % 512;
	}
}

static uint64_t le(const uint8_t *d, unsigned len)
{
	uint64_t v = 0;

	memcpy(&v, d, len < 8 ? len : 8);
	return v;
}

static void ctl_model_write(unsigned cpu, uint64_t off, const uint8_t *data, unsigned len)
{
	unsigned slot = (unsigned)(off / GUEST_CTL_STRIDE);
	uint64_t reg = off % GUEST_CTL_STRIDE, v = le(data, len);
	struct ctl_cpu_state *s;

	if (reg == CTL_PUTC) {
		model.printed++;
		return;
	}
	s = &model.cpu[cpu];	/* a bad write is the writer's */
	if (slot != cpu || len != 8) {
		s->bad_writes++;
		return;
	}
	switch (reg) {
	case CTL_READY: s->ready = true; break;
	case CTL_PROGRESS: s->progress_bytes = v; break;
	case CTL_MISMATCH:
		if (s->mismatches < CTL_MISMATCHES_KEPT)
			s->mismatch_gpa[s->mismatches] = v;
		s->mismatches++;
		break;
	case CTL_DONE: s->done = true; s->done_failures = v; break;
	case CTL_EXC_VECTOR: s->exc_vector = v; break;
	case CTL_EXC_ERROR: s->exc_error = v; break;
	case CTL_EXC_CR2: s->exc_cr2 = v; break;
	case CTL_EXC_RIP: s->exc_rip = v; s->exception = true; break;
	case CTL_EXC_SURVIVED: s->exceptions_survived++; s->last_survived_vector = v; break;
	default: s->bad_writes++; break;
	}
}

static void check_cpu(struct ctl_device *ctl, unsigned c)
{
	struct ctl_cpu_state got;
	const struct ctl_cpu_state *w = &model.cpu[c];

	ctl_snapshot(ctl, c, &got);
	FUZZ_ASSERT(got.ready == w->ready && got.progress_bytes == w->progress_bytes &&
		    got.mismatches == w->mismatches && got.done == w->done &&
		    got.done_failures == w->done_failures && got.exception == w->exception &&
		    got.exc_vector == w->exc_vector && got.exc_error == w->exc_error &&
		    got.exc_cr2 == w->exc_cr2 && got.exc_rip == w->exc_rip && got.bad_writes == w->bad_writes &&
		    got.exceptions_survived == w->exceptions_survived && got.last_survived_vector == w->last_survived_vector,
		    "vCPU %u: control state differs from the protocol (bad writes %" PRIu64 " vs %" PRIu64 ")",
		    c, got.bad_writes, w->bad_writes);
	FUZZ_ASSERT(!memcmp(got.mismatch_gpa, w->mismatch_gpa, sizeof(got.mismatch_gpa)), "vCPU %u mismatch list", c);
	FUZZ_ASSERT(ctl_cpu_finished(ctl, c) == (w->done || w->exception), "vCPU %u finished", c);
}

static void io_access(struct fuzz_in *in, struct bus *bus, struct ctl_device *ctl, struct serial *ser)
{
	enum bus_space sp = fuzz_pick(in, 3) ? BUS_MMIO : BUS_PIO;
	unsigned cpu = fuzz_pick(in, model.nr_cpus), len = 1 + fuzz_pick(in, 8);
	bool is_write = fuzz_u8(in) & 1;
	uint64_t addr, val = fuzz_u64(in);
	uint8_t data[16], canary[16];
	const struct range *owner;
	int ret;

	switch (fuzz_pick(in, 5)) {
	case 0: addr = pick_base(in, sp); break;
	case 1: addr = SERIAL_COM1_PORT + fuzz_pick(in, 10) - 1; break;
	case 2: {
		const struct space_model *m = &model.space[sp];
		const struct range *r = m->nr ? &m->r[fuzz_pick(in, m->nr)] : NULL;

		addr = r ? r->base + (r->len > 1 ? fuzz_u64(in) % (r->len + 1) : 0) : 0;
		break;
	}
	default:
		/* The control window: a slot (often the caller's own) and a register. */
		addr = GUEST_MMIO_CTL_GPA + (uint64_t)(fuzz_pick(in, 2) ? cpu : fuzz_pick(in, model.nr_cpus + 1)) * GUEST_CTL_STRIDE +
		       (fuzz_pick(in, 4) ? fuzz_pick(in, 11) * 8ULL : fuzz_u8(in));
		if (fuzz_pick(in, 4))
			len = 8;
		break;
	}
	memset(canary, 0xc3 ^ (uint8_t)addr, sizeof(canary));
	memcpy(data, canary, sizeof(data));
	memcpy(data, &val, len);
	owner = model_find(sp, addr);
	model.last_id = 0;
	ret = bus_dispatch(bus, sp, cpu, addr, data, len, is_write);
	FUZZ_ASSERT(!memcmp(data + len, canary + len, sizeof(data) - len), "an access of %u bytes wrote past them", len);
	if (!owner) {
		FUZZ_ASSERT(ret == -ENOENT && model.last_id == 0, "0x%" PRIx64 " belongs to nobody: %d, handler %u", addr, ret,
			    model.last_id);
		return;
	}
	FUZZ_ASSERT(ret == 0, "dispatch to range %u: %d", owner->id, ret);
	if (owner->id >= 100) {	/* an extra range */
		FUZZ_ASSERT(model.last_id == owner->id && model.last_addr == addr, "0x%" PRIx64 " went to handler %u, not %u",
			    addr, model.last_id, owner->id);
		return;
	}
	FUZZ_ASSERT(model.last_id == 0, "a device access reached an extra handler");
	if (sp == BUS_MMIO) {	/* the control device */
		if (is_write) {
			ctl_model_write(cpu, addr - GUEST_MMIO_CTL_GPA, data, len);
		} else {
			for (unsigned i = 0; i < len; i++)
				FUZZ_ASSERT(data[i] == 0, "control register read returned data");
		}
		unsigned slot = (unsigned)((addr - GUEST_MMIO_CTL_GPA) / GUEST_CTL_STRIDE);

		check_cpu(ctl, cpu);
		if (slot < model.nr_cpus)
			check_cpu(ctl, slot);
	} else {		/* the serial port */
		unsigned reg = (unsigned)(addr - SERIAL_COM1_PORT);

		if (is_write) {
			uart_model_write(reg, data[0]);
		} else {
			uint8_t want0 = uart_model_read(reg);

			FUZZ_ASSERT(data[0] == want0, "serial register %u read 0x%02x, want 0x%02x", reg, data[0], want0);
			for (unsigned i = 1; i < len; i++)
				FUZZ_ASSERT(data[i] == 0, "serial read byte %u", i);
		}
	}
	FUZZ_ASSERT(serial_bytes_written(ser) == model.printed, "serial printed %lu, want %lu",
		    serial_bytes_written(ser), model.printed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct ctl_device *ctl = NULL;
	struct serial *ser = NULL;
	struct bus *bus = NULL;
	struct err e = { 0 };
	unsigned extra;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	memset(&model, 0, sizeof(model));
	model.nr_cpus = 1 + fuzz_pick(&in, CTL_MAX_CPUS);
	FUZZ_ASSERT(bus_create(&bus) == 0, "bus");
	FUZZ_ASSERT(serial_create(&ser, devnull, &e) == 0, "serial: %s", e.msg);
	FUZZ_ASSERT(ctl_create(&ctl, model.nr_cpus, ser, &e) == 0, "ctl: %s", e.msg);
	FUZZ_ASSERT(ctl_attach(ctl, bus, &e) == 0 &&
		    model_register(BUS_MMIO, GUEST_MMIO_CTL_GPA, model.nr_cpus * GUEST_CTL_STRIDE, 1) == 0, "ctl attach");
	FUZZ_ASSERT(serial_attach(ser, bus, &e) == 0 &&
		    model_register(BUS_PIO, SERIAL_COM1_PORT, SERIAL_NR_PORTS, 2) == 0, "serial attach");
	extra = fuzz_pick(&in, MAX_EXTRA + 1);
	for (unsigned i = 0; i < extra; i++) {
		enum bus_space sp = fuzz_pick(&in, 2) ? BUS_MMIO : BUS_PIO;
		uint64_t base = pick_base(&in, sp), len = pick_len(&in);
		unsigned id = 100 + i;
		int want = model_register(sp, base, len, id);
		struct err re = { 0 };
		int got = bus_register(bus, sp, base, len, dummy_io, (void *)(uintptr_t)id, "extra", &re);

		FUZZ_ASSERT(got == want, "register 0x%" PRIx64 "+0x%" PRIx64 ": %d, model %d", base, len, got, want);
		FUZZ_ASSERT(!got || re.msg[0], "a refused registration says why");
	}
	while (in.left)
		io_access(&in, bus, ctl, ser);
	ctl_destroy(ctl);
	serial_destroy(ser);
	bus_destroy(bus);
	return 0;
}
