/* An i8042 keyboard controller stub at ports 0x60/0x64: enough for Linux's i8042 driver to
 * find a controller without a keyboard, and the reset line (command 0xFE, what reboot=k
 * writes), which daxvm turns into "the guest rebooted". */
#ifndef DAXVM_DEVICES_I8042_H
#define DAXVM_DEVICES_I8042_H

#include "common/err.h"
#include "devices/bus.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_CMD_RESET 0xfe	/* pulse output line 0: CPU reset */

struct i8042;

/* Called on the vCPU thread that wrote the reset command. */
typedef void (*i8042_reset_fn)(void *opaque, unsigned cpu);

int i8042_create(struct i8042 **out, i8042_reset_fn on_reset, void *opaque, struct err *e);
void i8042_destroy(struct i8042 *k);
__attribute__((warn_unused_result))
int i8042_attach(struct i8042 *k, struct bus *bus, struct err *e);

unsigned long i8042_resets(struct i8042 *k);

#endif
