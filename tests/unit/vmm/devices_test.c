/* The I/O bus, the 8250 console subset and the control device, driven as a vCPU would. */
#include <stdint.h>

#include "devices/bus.h"
#include "devices/ctl.h"
#include "devices/serial.h"
#include "guest/abi.h"
#include "test.h"

static int calls;

static int count_handler(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len,
			 bool is_write)
{
	calls++;
	data[0] = (uint8_t)(uintptr_t)opaque;
	return 0;
}

static void test_bus(void)
{
	struct bus *bus;
	struct err e = { 0 };
	uint8_t d[8] = { 0 };

	TEST_ASSERT(bus_create(&bus) == 0, "bus_create");
	TEST_ASSERT(bus_register(bus, BUS_MMIO, 0x1000, 0x100, count_handler, (void *)1, "a", &e) == 0, "a");
	TEST_ASSERT(bus_register(bus, BUS_MMIO, 0x3000, 0x100, count_handler, (void *)3, "c", &e) == 0, "c");
	TEST_ASSERT(bus_register(bus, BUS_MMIO, 0x2000, 0x100, count_handler, (void *)2, "b", &e) == 0, "b");
	TEST_ASSERT(bus_register(bus, BUS_MMIO, 0x10ff, 2, count_handler, NULL, "x", &e) == -EEXIST,
		    "overlap refused");
	TEST_ASSERT(strstr(e.msg, "overlaps device a"), "names the other device: %s", e.msg);
	TEST_ASSERT(bus_register(bus, BUS_PIO, 0x1000, 0x10, count_handler, (void *)9, "p", &e) == 0,
		    "the port space is separate");
	TEST_ASSERT(bus_dispatch(bus, BUS_MMIO, 0, 0x20ff, d, 1, false) == 0 && d[0] == 2, "b's last byte");
	TEST_ASSERT(bus_dispatch(bus, BUS_MMIO, 0, 0x3000, d, 1, false) == 0 && d[0] == 3, "c's first byte");
	TEST_ASSERT(bus_dispatch(bus, BUS_MMIO, 0, 0x1100, d, 1, false) == -ENOENT, "gap");
	TEST_ASSERT(bus_dispatch(bus, BUS_MMIO, 0, 0xfff, d, 1, false) == -ENOENT, "below all");
	TEST_ASSERT(bus_dispatch(bus, BUS_PIO, 0, 0x1005, d, 1, true) == 0 && d[0] == 9, "port");
	TEST_ASSERT(calls == 3, "handler calls %d", calls);
	bus_destroy(bus);
}

static void io(struct bus *bus, enum bus_space sp, unsigned cpu, uint64_t addr, uint64_t v,
	       unsigned len)
{
	uint8_t d[8];

	memcpy(d, &v, 8);
	TEST_ASSERT(bus_dispatch(bus, sp, cpu, addr, d, len, true) == 0, "write 0x%llx",
		    (unsigned long long)addr);
}

static void test_serial_and_ctl(void)
{
	struct bus *bus;
	struct serial *serial;
	struct ctl_device *ctl;
	struct ctl_cpu_state st;
	uint64_t seen;
	struct err e = { 0 };
	char text[64] = { 0 };
	FILE *out = tmpfile();
	uint8_t d[8];
	uint64_t c1 = GUEST_MMIO_CTL_GPA + GUEST_CTL_STRIDE;

	TEST_ASSERT(out, "tmpfile");
	TEST_ASSERT(bus_create(&bus) == 0, "bus");
	TEST_ASSERT(serial_create(&serial, out, &e) == 0 && serial_attach(serial, bus, &e) == 0, "%s", e.msg);
	TEST_ASSERT(ctl_create(&ctl, 2, serial, &e) == 0 && ctl_attach(ctl, bus, &e) == 0, "%s", e.msg);
	TEST_ASSERT(ctl_create(&(struct ctl_device *){ NULL }, 65, serial, &e) == -EINVAL, "65 vCPUs");

	/* 8250: THR prints, LSR says empty, DLAB hides THR. */
	io(bus, BUS_PIO, 0, 0x3f8, 'h', 1);
	TEST_ASSERT(bus_dispatch(bus, BUS_PIO, 0, 0x3fd, d, 1, false) == 0 && (d[0] & 0x60) == 0x60, "LSR");
	io(bus, BUS_PIO, 0, 0x3fb, 0x80, 1);
	io(bus, BUS_PIO, 0, 0x3f8, 'X', 1);	/* divisor latch, not printed */
	io(bus, BUS_PIO, 0, 0x3fb, 0x03, 1);
	io(bus, BUS_PIO, 0, 0x3f8, 'i', 1);
	/* CTL_PUTC from either vCPU goes to the same console. */
	io(bus, BUS_MMIO, 1, c1 + CTL_PUTC, '!', 8);
	io(bus, BUS_MMIO, 1, c1 + CTL_PUTC, '\n', 8);
	TEST_ASSERT(serial_bytes_written(serial) == 4, "4 characters, got %lu", serial_bytes_written(serial));

	/* vCPU 1: the protocol, step by step. */
	TEST_ASSERT(!ctl_cpu_finished(ctl, 1), "not finished before anything");
	io(bus, BUS_MMIO, 1, c1 + CTL_READY, 1, 8);
	io(bus, BUS_MMIO, 1, c1 + CTL_PROGRESS, 4096, 8);
	io(bus, BUS_MMIO, 1, c1 + CTL_MISMATCH, 0x200008, 8);
	io(bus, BUS_MMIO, 1, c1 + CTL_PROGRESS, 8192, 8);
	ctl_snapshot(ctl, 1, &st);
	TEST_ASSERT(st.ready && st.ready_ns && st.progress_bytes == 8192 && st.mismatches == 1 &&
		    st.mismatch_gpa[0] == 0x200008 && !st.done, "state after progress");
	io(bus, BUS_MMIO, 1, c1 + CTL_DONE, 1, 8);
	TEST_ASSERT(ctl_cpu_finished(ctl, 1), "finished after CTL_DONE");
	ctl_snapshot(ctl, 1, &st);
	TEST_ASSERT(st.done && st.done_failures == 1, "done value");

	/* vCPU 0: an exception; only the RIP write finishes it. */
	io(bus, BUS_MMIO, 0, GUEST_MMIO_CTL_GPA + CTL_EXC_VECTOR, 14, 8);
	io(bus, BUS_MMIO, 0, GUEST_MMIO_CTL_GPA + CTL_EXC_ERROR, 2, 8);
	io(bus, BUS_MMIO, 0, GUEST_MMIO_CTL_GPA + CTL_EXC_CR2, 0xdead, 8);
	TEST_ASSERT(!ctl_cpu_finished(ctl, 0), "not finished before RIP");
	io(bus, BUS_MMIO, 0, GUEST_MMIO_CTL_GPA + CTL_EXC_RIP, 0x100123, 8);
	ctl_snapshot(ctl, 0, &st);
	TEST_ASSERT(st.exception && st.exc_vector == 14 && st.exc_error == 2 && st.exc_cr2 == 0xdead &&
		    st.exc_rip == 0x100123, "exception state");

	/* Protocol errors are counted, never silently accepted, on the vCPU that wrote: vCPU 0
	 * writing vCPU 1's slot is vCPU 0's bad write and no heartbeat of vCPU 1. */
	ctl_snapshot(ctl, 1, &st);
	seen = st.last_seen_ns;
	io(bus, BUS_MMIO, 0, c1 + CTL_PROGRESS, 1, 8);		/* vCPU 0 writing vCPU 1's slot */
	ctl_snapshot(ctl, 1, &st);
	TEST_ASSERT(st.bad_writes == 0 && st.last_seen_ns == seen && st.progress_bytes == 8192,
		    "vCPU 0's write into vCPU 1's slot counted on vCPU 1 (%llu bad writes) or kept it alive",
		    (unsigned long long)st.bad_writes);
	ctl_snapshot(ctl, 0, &st);
	TEST_ASSERT(st.bad_writes == 1, "vCPU 0's write into another slot: %llu bad writes on vCPU 0",
		    (unsigned long long)st.bad_writes);
	io(bus, BUS_MMIO, 1, c1 + CTL_PROGRESS, 1, 4);		/* 32-bit write */
	io(bus, BUS_MMIO, 1, c1 + 0x80, 1, 8);			/* unknown register */
	ctl_snapshot(ctl, 1, &st);
	TEST_ASSERT(st.bad_writes == 2 && st.progress_bytes == 8192, "bad writes %llu",
		    (unsigned long long)st.bad_writes);
	TEST_ASSERT(bus_dispatch(bus, BUS_MMIO, 0, GUEST_MMIO_CTL_GPA + 2 * GUEST_CTL_STRIDE, d, 8, true) == -ENOENT,
		    "the control device covers exactly nr_cpus slots");

	ctl_destroy(ctl);
	serial_destroy(serial);
	bus_destroy(bus);
	rewind(out);
	TEST_ASSERT(fread(text, 1, sizeof(text) - 1, out) == 4 && !strcmp(text, "hi!\n"),
		    "console text '%s'", text);
	fclose(out);
}

int main(void)
{
	test_bus();
	test_serial_and_ctl();
	printf("PASS: bus, serial, control device\n");
	return T_PASS;
}
