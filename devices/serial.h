/* The guest console: an 8250 UART subset at port 0x3f8 whose output goes to a FILE. */
#ifndef DAXVM_DEVICES_SERIAL_H
#define DAXVM_DEVICES_SERIAL_H

#include <stdio.h>

#include "common/err.h"
#include "devices/bus.h"

#define SERIAL_COM1_PORT 0x3f8
#define SERIAL_NR_PORTS 8

struct serial;

/* out is not closed by serial_destroy (stdout, or a file the caller owns). */
int serial_create(struct serial **out_serial, FILE *out, struct err *e);
void serial_destroy(struct serial *s);

/* Registers the UART's eight ports at SERIAL_COM1_PORT. */
__attribute__((warn_unused_result))
int serial_attach(struct serial *s, struct bus *bus, struct err *e);

/* Writes one character of guest output; thread-safe (the control device uses it too). */
void serial_putc(struct serial *s, char c);
/* Writes out any partial line. */
void serial_flush(struct serial *s);

/* Bytes the guest wrote so far, for the report. */
unsigned long serial_bytes_written(struct serial *s);

#endif
