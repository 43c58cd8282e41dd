/*
 * util.c - reporting errors, the one way every file of box does it; writing files.
 *
 * Errors are printed once, by the code that knows what was being done:
 *     box: chroot /tmp/rootfs: No such file or directory
 * fail() and fail_msg() return -1, so a caller can write "return fail(...)".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "box.h"

static void report(const char *fmt, va_list ap, int err)
{
	fputs("box: ", stderr);
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
	report(fmt, ap, err);
	va_end(ap);
	errno = err;
	return -1;
}

/* Print "box: <what>" (for errors that have no errno, like bad flags) and return -1. */
int fail_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap, 0);
	va_end(ap);
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

/* buf = "dir/name"; fails with ENAMETOOLONG rather than cut a path short. */
int path_join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
