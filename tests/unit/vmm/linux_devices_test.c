/* The PC devices a Linux guest drives, through the bus as a vCPU would: the 16550A probe as
 * Linux's 8250 driver does it, the THR-empty interrupt (raised on enable and after each byte,
 * cleared by IIR, gated by OUT2), the console line tap; the i8042 self test and reset; the
 * guest ABI ports. */
#include "test.h"
#include "devices/bus.h"
#include "devices/cmos_rtc.h"
#include "devices/guest_ports.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "guest/linux/daxvm_guest_abi.h"

static int level, edges;
static char last_line[256];
static unsigned lines, resets, reset_cpu;
static uint32_t verdict = 99, event, progress;

static void on_irq(void *opaque, int l)
{
	if (l && !level)
		edges++;
	level = l;
}

static void on_line(void *opaque, const char *line)
{
	snprintf(last_line, sizeof(last_line), "%s", line);
	lines++;
}

static void on_reset(void *opaque, unsigned cpu)
{
	resets++;
	reset_cpu = cpu;
}

static void on_verdict(void *o, unsigned cpu, uint32_t v) { verdict = v; }
static void on_event(void *o, unsigned cpu, uint32_t v) { event = v; }
static void on_progress(void *o, unsigned cpu, uint32_t v) { progress = v; }

static uint8_t in8(struct bus *b, uint16_t port)
{
	uint8_t v = 0;

	TEST_ASSERT(bus_dispatch(b, BUS_PIO, 0, port, &v, 1, false) == 0, "inb 0x%x", port);
	return v;
}

static void out8(struct bus *b, uint16_t port, uint8_t v)
{
	TEST_ASSERT(bus_dispatch(b, BUS_PIO, 0, port, &v, 1, true) == 0, "outb 0x%x", port);
}

static void out32(struct bus *b, unsigned cpu, uint16_t port, uint32_t v)
{
	TEST_ASSERT(bus_dispatch(b, BUS_PIO, cpu, port, (uint8_t *)&v, 4, true) == 0, "outl 0x%x", port);
}

static void test_serial(struct bus *b)
{
	const uint16_t com = SERIAL_COM1_PORT;
	struct serial *s;
	struct err e = { 0 };
	char buf[256] = "";
	FILE *out = fmemopen(buf, sizeof(buf), "w");

	TEST_ASSERT(out && serial_create(&s, out, &e) == 0 && serial_attach(s, b, &e) == 0, "%s", e.msg);
	serial_set_irq(s, on_irq, NULL);
	serial_set_line_tap(s, on_line, NULL);
	/* autoconfig's IER test and scratch test */
	out8(b, com + 1, 0);
	TEST_ASSERT(in8(b, com + 1) == 0, "IER reads 0");
	out8(b, com + 1, 0x0f);
	TEST_ASSERT((in8(b, com + 1) & 0x0f) == 0x0f, "IER reads 0x0f");
	out8(b, com + 1, 0);
	out8(b, com + 7, 0xa5);
	TEST_ASSERT(in8(b, com + 7) == 0xa5, "scratch");
	out8(b, com + 2, 0x01);	/* FIFO on: a 16550A */
	TEST_ASSERT((in8(b, com + 2) & 0xc0) == 0xc0, "FIFO bits in IIR");
	TEST_ASSERT(in8(b, com + 2) & 0x01, "no interrupt pending with IER 0");
	/* startup: THRI enabled while the transmitter is empty reports THRI (no TXEN bug) */
	out8(b, com + 1, 0x02);
	TEST_ASSERT((in8(b, com + 2) & 0x0f) == 0x02, "THRI identified");
	TEST_ASSERT(in8(b, com + 2) & 0x01, "THRI cleared by reading IIR");
	TEST_ASSERT(edges == 0, "no edge without OUT2 (%d)", edges);
	out8(b, com + 4, 0x08);	/* OUT2 */
	out8(b, com + 1, 0);
	out8(b, com + 1, 0x02);
	TEST_ASSERT(level == 1 && edges == 1, "OUT2 + THRI: line up (level %d, edges %d)", level, edges);
	TEST_ASSERT((in8(b, com + 2) & 0x0f) == 0x02 && level == 0, "IIR read lowers the line");
	for (const char *p = "DAXVM hi\r\n"; *p; p++)
		out8(b, com, (uint8_t)*p);
	TEST_ASSERT(edges == 11 && level == 1, "one edge per byte sent: %d", edges);
	TEST_ASSERT(lines == 1 && !strcmp(last_line, "DAXVM hi"), "line tap got \"%s\"", last_line);
	out8(b, com + 1, 0);	/* __stop_tx */
	TEST_ASSERT(level == 0, "IER 0 lowers the line");
	TEST_ASSERT((in8(b, com + 5) & 0x60) == 0x60, "LSR: transmitter empty");
	/* DLAB: the divisor latch, not THR/IER */
	out8(b, com + 3, 0x80);
	out8(b, com, 0x01);
	out8(b, com + 1, 0x00);
	TEST_ASSERT(in8(b, com) == 0x01, "DLL");
	out8(b, com + 3, 0x03);
	TEST_ASSERT(serial_bytes_written(s) == 10 && serial_irqs_raised(s) == 11, "counts %lu %lu",
		    serial_bytes_written(s), serial_irqs_raised(s));
	serial_destroy(s);
	fclose(out);
	TEST_ASSERT(!strcmp(buf, "DAXVM hi\r\n"), "console got \"%s\"", buf);
}

static void test_i8042_and_ports(struct bus *b)
{
	static const struct guest_ports_ops ops = { on_verdict, on_event, on_progress };
	struct i8042 *k;
	struct guest_ports *gp;
	struct err e = { 0 };

	TEST_ASSERT(i8042_create(&k, on_reset, NULL, &e) == 0 && i8042_attach(k, b, &e) == 0, "%s", e.msg);
	TEST_ASSERT((in8(b, 0x64) & 0x01) == 0, "empty output buffer");
	out8(b, 0x64, 0xaa);
	TEST_ASSERT((in8(b, 0x64) & 0x01) && in8(b, 0x60) == 0x55, "self test answers 0x55");
	TEST_ASSERT((in8(b, 0x64) & 0x01) == 0, "read empties the buffer");
	out8(b, 0x64, 0x60);
	out8(b, 0x60, 0x47);
	out8(b, 0x64, 0x20);
	TEST_ASSERT(in8(b, 0x60) == 0x47, "command byte kept");
	TEST_ASSERT(resets == 0, "no reset yet");
	{
		uint8_t v = I8042_CMD_RESET;

		TEST_ASSERT(bus_dispatch(b, BUS_PIO, 1, 0x64, &v, 1, true) == 0, "reset write");
	}
	TEST_ASSERT(resets == 1 && reset_cpu == 1 && i8042_resets(k) == 1, "0xfe resets");
	TEST_ASSERT(guest_ports_create(&gp, &ops, NULL, &e) == 0 && guest_ports_attach(gp, b, &e) == 0, "%s", e.msg);
	out32(b, 0, DAXVM_GUEST_EVENT_PORT, DAXVM_GUEST_EVENT_RUNNING);
	out32(b, 0, DAXVM_GUEST_PROGRESS_PORT, 1234);
	TEST_ASSERT(event == DAXVM_GUEST_EVENT_RUNNING && progress == 1234 && verdict == 99, "event, progress");
	out32(b, 0, DAXVM_GUEST_EXIT_PORT, DAXVM_GUEST_FAIL_MISMATCH);
	TEST_ASSERT(verdict == DAXVM_GUEST_FAIL_MISMATCH, "verdict %u", verdict);
	guest_ports_destroy(gp);
	i8042_destroy(k);
}

static time_t fixed_now(void)
{
	return 1795855395;	/* 2026-11-28 08:43:15 UTC, a Saturday */
}

static void test_rtc(void)
{
	static const struct { uint8_t idx, want; } regs[] = {
		{ 0x00, 0x15 }, { 0x02, 0x43 }, { 0x04, 0x08 }, { 0x06, 0x07 }, { 0x07, 0x28 },
		{ 0x08, 0x11 }, { 0x09, 0x26 }, { 0x32, 0x20 }, { 0x0b, 0x02 }, { 0x0d, 0x80 },
	};
	struct cmos_rtc *c;
	struct bus *b;
	struct err e = { 0 };

	TEST_ASSERT(bus_create(&b) == 0 && cmos_rtc_create(&c, fixed_now, &e) == 0 &&
		    cmos_rtc_attach(c, b, &e) == 0, "%s", e.msg);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		out8(b, 0x70, regs[i].idx | 0x80);	/* NMI mask bit set, as Linux writes it */
		TEST_ASSERT(in8(b, 0x71) == regs[i].want, "CMOS 0x%02x: 0x%02x, want 0x%02x", regs[i].idx,
			    in8(b, 0x71), regs[i].want);
	}
	out8(b, 0x70, 0x0a);
	TEST_ASSERT(!(in8(b, 0x71) & 0x80), "status A: update in progress must never be set");
	out8(b, 0x70, 0x00);
	out8(b, 0x71, 0x59);
	TEST_ASSERT(in8(b, 0x71) == 0x15, "writing the clock is ignored");
	out8(b, 0x70, 0x40);
	out8(b, 0x71, 0x5a);
	TEST_ASSERT(in8(b, 0x71) == 0x5a, "CMOS RAM keeps what was written");
	cmos_rtc_destroy(c);
	bus_destroy(b);
}

int main(void)
{
	test_rtc();
	struct bus *b;

	TEST_ASSERT(bus_create(&b) == 0, "bus");
	test_serial(b);
	bus_destroy(b);
	TEST_ASSERT(bus_create(&b) == 0, "bus");
	test_i8042_and_ports(b);
	bus_destroy(b);
	printf("linux_devices_test: 8250 probe and THRE interrupts, console lines, i8042, CMOS RTC, guest ports\n");
	return T_PASS;
}
