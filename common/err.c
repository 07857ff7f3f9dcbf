/* The error sentence carried from libraries to the CLI. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int err_vset(struct err *e, int code, const char *fmt, va_list ap)
{
	if (!e)
		return code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->code = code;
	return code;
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e && e->msg[0])
		return code;
	va_start(ap, fmt);
	err_vset(e, code, fmt, ap);
	va_end(ap);
	return code;
}

int err_replace(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, code, fmt, ap);
	va_end(ap);
	return code;
}

void err_reset(struct err *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}
