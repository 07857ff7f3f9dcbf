/* MC146818 subset: index register (bit 7 is the NMI mask, ignored), the time and date in BCD
 * and 24-hour mode from the host's UTC clock, status A/B/C/D, the century byte; the other
 * CMOS bytes read back what was written (zero at start). Writes to the clock are ignored. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/cmos_rtc.h"

#define RTC_SEC 0x00
#define RTC_MIN 0x02
#define RTC_HOUR 0x04
#define RTC_WDAY 0x06
#define RTC_MDAY 0x07
#define RTC_MON 0x08
#define RTC_YEAR 0x09
#define RTC_STATUS_A 0x0a	/* bit 7 UIP: never set, the time is always readable */
#define RTC_STATUS_B 0x0b
#define RTC_STATUS_C 0x0c
#define RTC_STATUS_D 0x0d
#define RTC_CENTURY 0x32
#define RTC_B_24H 0x02		/* 24-hour mode; DM (bit 2) clear: BCD */
#define RTC_D_VRT 0x80		/* valid RAM and time */

struct cmos_rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128];
	time_t (*now)(void);
};

static time_t host_now(void)
{
	return time(NULL);
}

int cmos_rtc_create(struct cmos_rtc **out, time_t (*now_fn)(void), struct err *e)
{
	struct cmos_rtc *c = calloc(1, sizeof(*c));

	if (!c)
		return err_set(e, -ENOMEM, "out of memory creating the CMOS RTC");
	pthread_mutex_init(&c->lock, NULL);
	c->now = now_fn ? now_fn : host_now;
	c->ram[RTC_STATUS_A] = 0x26;	/* 32.768 kHz time base, 1024 Hz rate */
	c->ram[RTC_STATUS_B] = RTC_B_24H;
	c->ram[RTC_STATUS_D] = RTC_D_VRT;
	*out = c;
	return 0;
}

void cmos_rtc_destroy(struct cmos_rtc *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static uint8_t bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

static uint8_t cmos_read(struct cmos_rtc *c, uint8_t idx)
{
	time_t t = c->now();
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (idx) {
	case RTC_SEC: return bcd(tm.tm_sec);
	case RTC_MIN: return bcd(tm.tm_min);
	case RTC_HOUR: return bcd(tm.tm_hour);
	case RTC_WDAY: return bcd(tm.tm_wday + 1);
	case RTC_MDAY: return bcd(tm.tm_mday);
	case RTC_MON: return bcd(tm.tm_mon + 1);
	case RTC_YEAR: return bcd(tm.tm_year % 100);
	case RTC_CENTURY: return bcd((tm.tm_year + 1900) / 100);
	case RTC_STATUS_C: return 0;	/* no interrupt flags */
	default: return c->ram[idx];
	}
}

static int cmos_io(void *opaque, unsigned cpu, uint64_t addr, uint8_t *data, unsigned len,
		   bool is_write)
{
	struct cmos_rtc *c = opaque;

	pthread_mutex_lock(&c->lock);
	if (addr == CMOS_INDEX_PORT) {
		if (is_write)
			c->index = data[0] & 0x7f;
		else
			data[0] = 0xff;	/* the index register is write-only */
	} else if (is_write) {
		if (c->index > RTC_STATUS_D && c->index != RTC_CENTURY)
			c->ram[c->index] = data[0];	/* the clock itself is the host's */
	} else {
		data[0] = cmos_read(c, c->index);
	}
	if (!is_write && len > 1)
		memset(data + 1, 0, len - 1);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int cmos_rtc_attach(struct cmos_rtc *c, struct bus *bus, struct err *e)
{
	return bus_register(bus, BUS_PIO, CMOS_INDEX_PORT, 2, cmos_io, c, "cmos-rtc", e);
}
