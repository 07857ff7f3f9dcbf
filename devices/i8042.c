/* i8042 stub: the controller answers its self tests and keeps its command byte, no keyboard
 * or mouse ever answers (Linux's atkbd probe times out in the background), and the reset
 * command calls back. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"

#define STS_OBF 0x01		/* output buffer full: a byte waits at port 0x60 */
#define STS_SYS 0x04		/* system flag: self test passed */
#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define SELF_TEST_OK 0x55

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;		/* controller command byte */
	uint8_t out;		/* the byte waiting at port 0x60 */
	bool obf;
	bool want_ctr;		/* the next data write is the command byte */
	unsigned long resets;
	i8042_reset_fn on_reset;
	void *opaque;
};

int i8042_create(struct i8042 **out, i8042_reset_fn on_reset, void *opaque, struct err *e)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return err_set(e, -ENOMEM, "out of memory creating the i8042 controller");
	pthread_mutex_init(&k->lock, NULL);
	k->ctr = 0x45;		/* keyboard interrupt on, system flag, translation: the BIOS default */
	k->on_reset = on_reset;
	k->opaque = opaque;
	*out = k;
	return 0;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

unsigned long i8042_resets(struct i8042 *k)
{
	unsigned long n;

	pthread_mutex_lock(&k->lock);
	n = k->resets;
	pthread_mutex_unlock(&k->lock);
	return n;
}

static void i8042_reply(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->obf = true;
}

static int i8042_io(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len,
		    bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		memset(data, 0, len);
		if (addr == I8042_CMD_PORT) {
			data[0] = STS_SYS | (k->obf ? STS_OBF : 0);
		} else {
			data[0] = k->out;
			k->obf = false;
		}
	} else if (addr == I8042_DATA_PORT) {
		if (k->want_ctr)
			k->ctr = data[0];
		k->want_ctr = false;	/* anything else is for the absent keyboard */
	} else {
		switch (data[0]) {
		case CMD_READ_CTR: i8042_reply(k, k->ctr); break;
		case CMD_WRITE_CTR: k->want_ctr = true; break;
		case CMD_SELF_TEST: i8042_reply(k, SELF_TEST_OK); break;
		case CMD_KBD_TEST:
		case CMD_AUX_TEST: i8042_reply(k, 0x00); break;	/* "no error" */
		case I8042_CMD_RESET: reset = true; k->resets++; break;
		default: break;
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (reset && k->on_reset)
		k->on_reset(k->opaque, cpu);
	return 0;
}

int i8042_attach(struct i8042 *k, struct bus *bus, struct err *e)
{
	int ret = bus_register(bus, BUS_PIO, I8042_DATA_PORT, 1, i8042_io, k, "i8042", e);

	return ret ? ret : bus_register(bus, BUS_PIO, I8042_CMD_PORT, 1, i8042_io, k, "i8042", e);
}
