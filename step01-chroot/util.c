/*
 * util.c - reporting errors, the one way every file of box does it.
 *
 * Errors are printed once, by the code that knows what was being done:
 *     box: chroot /tmp/rootfs: No such file or directory
 * fail() and fail_msg() return -1, so a caller can write "return fail(...)".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "box.h"

/* The one place that prints: "box: ", the label ("" or "warning: "), the message,
 * and strerror(err) if err is set. */
static __attribute__((format(printf, 2, 0))) void report(const char *label, const char *fmt, va_list ap, int err)
{
	fprintf(stderr, "box: %s", label);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

/* Print "box: <what>: <strerror(errno)>" and return -1, leaving errno as it was. */
int fail(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	report("", fmt, ap, err);
	va_end(ap);
	errno = err;
	return -1;
}

/* Print "box: <what>" (for errors that have no errno, like bad flags) and return -1. */
int fail_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("", fmt, ap, 0);
	va_end(ap);
	return -1;
}
