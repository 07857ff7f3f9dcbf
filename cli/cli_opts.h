/* Options that more than one command takes: one definition of their values and words. */
#ifndef DAXVM_CLI_CLI_OPTS_H
#define DAXVM_CLI_CLI_OPTS_H

#include "pinning/pin.h"
#include "cli/options.h"

#define CLI_VALUE_MEM "PATH|memfd|memfd-huge|anon"
#define CLI_HELP_MEM "guest RAM backing: a /dev/daxX.Y device, a file on hugetlbfs or tmpfs, or memfd / memfd-huge (2 MiB hugetlb) / anon"
#define CLI_DEFAULT_MEM "the first devdax device, else the best stand-in"
#define CLI_DEFAULT_MEM_SIZE "the device size for devdax, else the backing's default"

/* --pin: the backends a user may ask for, named by pin_backend_name() (never "mock"). */
size_t cli_pin_choices(const char **names, size_t max);

/* --pin VAL through pin_backend_parse(); refuses the test-only mock backend. */
int cli_set_pin(const struct opt *o, enum pin_backend *out, const char *val, struct err *e);

/* --vfio ADDR: a PCI address in the sysfs form (pin_vfio_address_valid()). */
int cli_set_vfio(const struct opt *o, const char **out, const char *val, struct err *e);

#endif
