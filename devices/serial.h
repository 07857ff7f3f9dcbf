/* The guest console: a 16550A UART subset at port 0x3f8 whose output goes to a FILE, with
 * the transmit interrupt a Linux guest's tty layer needs (IRQ 4 through a callback). */
#ifndef DAXVM_DEVICES_SERIAL_H
#define DAXVM_DEVICES_SERIAL_H

#include <stdio.h>

#include "common/err.h"
#include "devices/bus.h"

#define SERIAL_COM1_PORT 0x3f8
#define SERIAL_COM1_IRQ 4
#define SERIAL_NR_PORTS 8
#define SERIAL_LINE_MAX 2048	/* longest line handed to the line tap; longer lines are cut */

struct serial;

/* Sets the UART's interrupt line to level (0 or 1); called with the UART's lock held, from
 * vCPU threads. */
typedef void (*serial_irq_fn)(void *opaque, int level);
/* Gets every complete output line (without "\r\n"), from the thread that wrote it. */
typedef void (*serial_line_fn)(void *opaque, const char *line);

/* out is not closed by serial_destroy (stdout, or a file the caller owns). */
int serial_create(struct serial **out_serial, FILE *out, struct err *e);
void serial_destroy(struct serial *s);

/* Registers the UART's eight ports at SERIAL_COM1_PORT. */
__attribute__((warn_unused_result))
int serial_attach(struct serial *s, struct bus *bus, struct err *e);

/* Before the vCPUs start: where the interrupt goes (none by default: a polled console)
 * and who reads the output line by line (none by default). */
void serial_set_irq(struct serial *s, serial_irq_fn fn, void *opaque);
void serial_set_line_tap(struct serial *s, serial_line_fn fn, void *opaque);

/* Writes one character of guest output; thread-safe (the control device uses it too). */
void serial_putc(struct serial *s, char c);
/* Writes out any partial line. */
void serial_flush(struct serial *s);

/* Bytes the guest wrote so far, for the report. */
unsigned long serial_bytes_written(struct serial *s);
/* Interrupts raised (rising edges of the line), for the report and tests. */
unsigned long serial_irqs_raised(struct serial *s);

#endif
