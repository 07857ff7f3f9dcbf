/* Byte sizes on the command line ("512M", "5G") and in human output ("1.5 GiB"). */
#ifndef DAXVM_COMMON_SIZE_H
#define DAXVM_COMMON_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Parses a decimal count with an optional binary suffix K, M, G, T (also KiB/MiB/..,
 * case-insensitive). Returns 0, -EINVAL for syntax errors, -ERANGE on overflow. */
int size_parse(const char *text, uint64_t *bytes);

/* Formats bytes as "64 KiB", "1.5 GiB"; returns buf. */
char *size_format(uint64_t bytes, char *buf, size_t len);

/* Formats bytes exactly, in the largest binary suffix that divides them ("3000K", "6M",
 * "2G", or plain bytes): a value the user can pass back as a size option. */
char *size_exact(uint64_t bytes, char *buf, size_t len);

/* Formats an integer with thousands separators: 524288 -> "524,288". */
char *count_format(uint64_t n, char *buf, size_t len);

#endif
