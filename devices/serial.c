/* 8250 UART subset: THR writes print, LSR always says "transmitter empty", other
 * registers read as zero and ignore writes. Enough for a polled console. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/serial.h"

#define UART_THR 0	/* transmit holding register (DLAB=0) */
#define UART_LCR 3	/* line control: bit 7 is DLAB */
#define UART_LSR 5	/* line status */
#define UART_LSR_THRE 0x20	/* transmit holding register empty */
#define UART_LSR_TEMT 0x40	/* transmitter empty */
#define UART_LCR_DLAB 0x80

struct serial {
	pthread_mutex_t lock;
	FILE *out;
	unsigned char lcr;	/* last LCR value written: DLAB decides what port 0 means */
	unsigned long written;	/* characters printed, bytes */
};

int serial_create(struct serial **out_serial, FILE *out, struct err *e)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return err_set(e, -ENOMEM, "out of memory creating the serial console: free some memory");
	pthread_mutex_init(&s->lock, NULL);
	s->out = out;
	*out_serial = s;
	return 0;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	serial_flush(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void serial_putc(struct serial *s, char c)
{
	pthread_mutex_lock(&s->lock);
	if (s->out) {
		fputc(c, s->out);
		if (c == '\n')
			fflush(s->out);
	}
	s->written++;
	pthread_mutex_unlock(&s->lock);
}

void serial_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->out)
		fflush(s->out);
	pthread_mutex_unlock(&s->lock);
}

unsigned long serial_bytes_written(struct serial *s)
{
	unsigned long n;

	pthread_mutex_lock(&s->lock);
	n = s->written;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static int serial_io(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len,
		     bool is_write)
{
	struct serial *s = opaque;
	unsigned reg = (unsigned)(addr - SERIAL_COM1_PORT);
	bool dlab;

	pthread_mutex_lock(&s->lock);
	dlab = s->lcr & UART_LCR_DLAB;
	pthread_mutex_unlock(&s->lock);
	if (is_write) {
		if (reg == UART_LCR) {
			pthread_mutex_lock(&s->lock);
			s->lcr = data[0];
			pthread_mutex_unlock(&s->lock);
		} else if (reg == UART_THR && !dlab) {
			serial_putc(s, (char)data[0]);
		}
		return 0;
	}
	memset(data, 0, len);
	if (reg == UART_LSR)
		data[0] = UART_LSR_THRE | UART_LSR_TEMT;
	else if (reg == UART_LCR)
		data[0] = s->lcr;
	return 0;
}

int serial_attach(struct serial *s, struct bus *bus, struct err *e)
{
	return bus_register(bus, BUS_PIO, SERIAL_COM1_PORT, SERIAL_NR_PORTS, serial_io, s,
			    "serial", e);
}
