/* 16550A UART subset: THR writes print (transmission is instant, so the transmitter is always
 * empty), no receive side. IER, IIR/FCR, LCR, MCR, SCR and the divisor latch behave as the
 * Linux 8250 driver probes them; the THR-empty interrupt is raised when enabled and cleared by
 * reading IIR or writing THR, as on the real part, and reaches the interrupt line only with
 * MCR.OUT2 set (the PC wiring). Without an interrupt callback it is a polled console. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/serial.h"

#define UART_THR 0	/* transmit holding register (DLAB=0); DLL with DLAB=1 */
#define UART_IER 1	/* interrupt enable (DLAB=0); DLM with DLAB=1 */
#define UART_IIR 2	/* interrupt identification (read) / FIFO control (write) */
#define UART_LCR 3	/* line control: bit 7 is DLAB */
#define UART_MCR 4	/* modem control: bit 3 is OUT2, which gates the IRQ on a PC */
#define UART_LSR 5	/* line status */
#define UART_MSR 6	/* modem status */
#define UART_SCR 7	/* scratch */
#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_FIFO 0xc0	/* FIFOs enabled (16550A) */
#define UART_FCR_ENABLE 0x01
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_LSR_THRE 0x20	/* transmit holding register empty */
#define UART_LSR_TEMT 0x40	/* transmitter empty */
#define UART_LCR_DLAB 0x80
#define UART_MSR_IDLE 0xb0	/* DCD, DSR, CTS: a cable that is always ready */

struct serial {
	pthread_mutex_t lock;
	FILE *out;
	unsigned char lcr, ier, mcr, scr, dll, dlm, fcr;
	bool thri_pending;	/* THR-empty interrupt waiting to be identified */
	int level;		/* current interrupt line level */
	serial_irq_fn irq;
	void *irq_opaque;
	serial_line_fn tap;
	void *tap_opaque;
	char line[SERIAL_LINE_MAX + 1];
	size_t line_len;
	unsigned long written;	/* characters printed, bytes */
	unsigned long irqs;	/* rising edges */
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

void serial_set_irq(struct serial *s, serial_irq_fn fn, void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->irq = fn;
	s->irq_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

void serial_set_line_tap(struct serial *s, serial_line_fn fn, void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->tap = fn;
	s->tap_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

/* Locked: drives the line from the pending state. */
static void serial_update_irq(struct serial *s)
{
	int level = s->thri_pending && (s->ier & UART_IER_THRI) && (s->mcr & UART_MCR_OUT2);

	if (level == s->level)
		return;
	s->level = level;
	if (level)
		s->irqs++;
	if (s->irq)
		s->irq(s->irq_opaque, level);
}

/* Locked. */
static void serial_emit(struct serial *s, char c)
{
	if (s->out) {
		fputc(c, s->out);
		if (c == '\n')
			fflush(s->out);
	}
	s->written++;
	if (c == '\n') {
		while (s->line_len && s->line[s->line_len - 1] == '\r')
			s->line_len--;
		s->line[s->line_len] = '\0';
		if (s->tap)
			s->tap(s->tap_opaque, s->line);
		s->line_len = 0;
	} else if (s->line_len < SERIAL_LINE_MAX) {
		s->line[s->line_len++] = c;
	}
}

void serial_putc(struct serial *s, char c)
{
	pthread_mutex_lock(&s->lock);
	serial_emit(s, c);
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

unsigned long serial_irqs_raised(struct serial *s)
{
	unsigned long n;

	pthread_mutex_lock(&s->lock);
	n = s->irqs;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void serial_write_reg(struct serial *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab) {
			s->dll = v;
			break;
		}
		/* Loopback mode sends nothing out; either way the byte leaves at once, so the
		 * holding register is empty again: a fresh THR-empty interrupt. */
		if (!(s->mcr & UART_MCR_LOOP))
			serial_emit(s, (char)v);
		s->thri_pending = false;
		serial_update_irq(s);
		s->thri_pending = true;
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling the THR-empty interrupt while the register is empty raises it. */
		if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
			s->thri_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_IIR:
		s->fcr = v & UART_FCR_ENABLE;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break;	/* LSR, MSR: read-only */
	}
	serial_update_irq(s);
}

static uint8_t serial_read_reg(struct serial *s, unsigned reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t v = 0, fifo = s->fcr ? UART_IIR_FIFO : 0;

	switch (reg) {
	case UART_THR:
		v = dlab ? s->dll : 0;	/* nothing is ever received */
		break;
	case UART_IER:
		v = dlab ? s->dlm : s->ier;
		break;
	case UART_IIR:
		if (s->thri_pending && (s->ier & UART_IER_THRI)) {
			v = UART_IIR_THRI | fifo;
			s->thri_pending = false;	/* identified: cleared, as on the 16550 */
			serial_update_irq(s);
		} else {
			v = UART_IIR_NO_INT | fifo;
		}
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT;
		break;
	case UART_MSR:
		v = UART_MSR_IDLE;
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	return v;
}

static int serial_io(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len,
		     bool is_write)
{
	struct serial *s = opaque;
	unsigned reg = (unsigned)(addr - SERIAL_COM1_PORT);

	pthread_mutex_lock(&s->lock);
	if (is_write) {
		serial_write_reg(s, reg, data[0]);
	} else {
		memset(data, 0, len);
		data[0] = serial_read_reg(s, reg);
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int serial_attach(struct serial *s, struct bus *bus, struct err *e)
{
	return bus_register(bus, BUS_PIO, SERIAL_COM1_PORT, SERIAL_NR_PORTS, serial_io, s,
			    "serial", e);
}
