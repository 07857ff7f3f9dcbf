/* One human sentence per failure: libraries fill a struct err and return -errno. */
#ifndef DAXVM_COMMON_ERR_H
#define DAXVM_COMMON_ERR_H

#include <stddef.h>

struct err {
	int code;		/* the -errno that was returned, 0 when no error */
	char msg[512];		/* "what is wrong: how to fix it", no trailing newline */
};

/* Records the sentence and returns code (a negative errno), so callers can write
 * `return err_set(e, -EINVAL, "...")`. e may be NULL. A message already set is kept
 * (the innermost cause is the most precise) unless err_reset() was called. */
__attribute__((format(printf, 3, 4)))
int err_set(struct err *e, int code, const char *fmt, ...);

/* Like err_set but always overwrites an earlier message. */
__attribute__((format(printf, 3, 4)))
int err_replace(struct err *e, int code, const char *fmt, ...);

void err_reset(struct err *e);

#endif
