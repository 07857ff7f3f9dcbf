/* The PC's CMOS RTC (MC146818) at ports 0x70/0x71, read-only time from the host clock: without
 * it Linux's read of the wall clock polls a status register that reads all ones (update in
 * progress) about 20,000 times at boot, each a VM exit. */
#ifndef DAXVM_DEVICES_CMOS_RTC_H
#define DAXVM_DEVICES_CMOS_RTC_H

#include <stdint.h>
#include <time.h>

#include "common/err.h"
#include "devices/bus.h"

#define CMOS_INDEX_PORT 0x70
#define CMOS_DATA_PORT 0x71

struct cmos_rtc;

/* now_fn (NULL: time()) gives the UTC seconds the clock shows; for tests. */
int cmos_rtc_create(struct cmos_rtc **out, time_t (*now_fn)(void), struct err *e);
void cmos_rtc_destroy(struct cmos_rtc *c);
__attribute__((warn_unused_result))
int cmos_rtc_attach(struct cmos_rtc *c, struct bus *bus, struct err *e);

#endif
