/*
 * util.c - reporting errors, the one way every file of box does it; writing files.
 *
 * Errors are printed once, by the code that knows what was being done:
 *     box: chroot /tmp/rootfs: No such file or directory
 * fail() and fail_msg() return -1, so a caller can write "return fail(...)".
 * Code deep down that knows the path but not whether to speak notes what it
 * was doing with failed(), and its caller reports that note once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/*
 * Note in f what was being done when a step failed ("mount /proc in /x"),
 * print nothing, keep errno, and return -1: the caller reports it once,
 * with fail("%s", f->what).
 */
int failed(struct failure *f, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->what, sizeof(f->what), fmt, ap);	/* a note cut short still says enough */
	va_end(ap);
	errno = err;
	return -1;
}

/* Write text to an existing file such as /proc/PID/uid_map, in a single write(2):
 * several kernel files accept only one write, and only whole. */
int write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	if (n < 0 || (size_t)n != len) {
		int err = n < 0 ? errno : EIO;
		close(fd);
		errno = err;
		return -1;
	}
	return close(fd);
}

/* snprintf(3) into buf, but fail with ENAMETOOLONG rather than cut the text short:
 * a truncated path would name a different file. */
int format_into(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* buf = "dir/name"; fails with ENAMETOOLONG rather than cut a path short. */
int path_join(char *buf, size_t size, const char *dir, const char *name)
{
	return format_into(buf, size, "%s/%s", dir, name);
}
