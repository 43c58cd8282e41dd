/*
 * util.c - reporting errors, the one way every file of box does it; writing files;
 * locking directories.
 *
 * Errors are printed once, by the code that knows what was being done:
 *     box: chroot /tmp/rootfs: No such file or directory
 * fail() and fail_msg() return -1, so a caller can write "return fail(...)".
 * Code deep down that knows the path but not whether to speak notes what it
 * was doing with failed(), and its caller reports that note once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "box.h"

/* Step 7: the name errors start with ("box-oci" for the runtime face), and where
 * else they go: box-oci's --log file (runtime.c), read by containerd. */
const char *program_name = "box";
static void (*log_sink)(const char *level, const char *message);

/* Send every error and warning to sink too (NULL: only to stderr). */
void set_log_sink(void (*sink)(const char *level, const char *message))
{
	log_sink = sink;
}

/* The one place that prints: "box: ", the label ("" or "warning: "), the message,
 * and strerror(err) if err is set. */
static __attribute__((format(printf, 2, 0))) void report(const char *label, const char *fmt, va_list ap, int err)
{
	char message[PATH_MAX + 1024];
	size_t len;

	vsnprintf(message, sizeof(message), fmt, ap);	/* a message cut short still says enough */
	len = strlen(message);
	if (err)
		snprintf(message + len, sizeof(message) - len, ": %s", strerror(err));
	fprintf(stderr, "%s: %s%s\n", program_name, label, message);
	if (log_sink)
		log_sink(label[0] ? "warning" : "error", message);
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

/* Print "box: warning: <what>: <strerror(errno)>" for a failure that does not stop the run. */
void warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	report("warning: ", fmt, ap, err);
	va_end(ap);
	errno = err;
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

	if (f) {	/* step 7: a caller that only wants -1 and errno passes NULL */
		va_start(ap, fmt);
		vsnprintf(f->what, sizeof(f->what), fmt, ap);	/* a note cut short still says enough */
		va_end(ap);
	}
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

/*
 * write(2) may write less than asked (a pipe, a signal, a full disk part
 * way through): go on from where it stopped until all is written, and
 * retry after EINTR. A write of 0 bytes would loop forever: call it ENOSPC.
 */
int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replace path's content with text so that a reader sees the old content
 * or the new, never a half-written file: write a temporary file beside it,
 * fsync(2) it, then rename(2) it over path (rename is atomic).
 */
int write_file_atomically(const char *path, const char *text)
{
	char temp[PATH_MAX];
	size_t len = strlen(text);
	int fd;

	if (format_into(temp, sizeof(temp), "%s.tmp-%d", path, (int)getpid()) < 0)
		return -1;
	fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		int err = errno ? errno : EIO;
		close(fd);
		unlink(temp);
		errno = err;
		return -1;
	}
	if (close(fd) < 0 || rename(temp, path) < 0) {
		int err = errno;
		unlink(temp);
		errno = err;
		return -1;
	}
	return 0;
}

/* mkdir -p: make path and every missing directory above it (/var/lib/box may not exist yet). */
int make_path(const char *path)
{
	char partial[PATH_MAX];

	if (format_into(partial, sizeof(partial), "%s", path) < 0)
		return -1;
	for (char *slash = strchr(partial + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(partial, 0755) < 0 && errno != EEXIST)
			return -1;
		*slash = '/';
	}
	if (mkdir(partial, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
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

/*
 * flock(2), waiting as long as it takes. box's stop-signal handlers are
 * installed without SA_RESTART (run.c), so a Ctrl-C while we wait makes
 * flock fail with EINTR: wait again, or we would go on holding no lock.
 */
int lock_fd(int fd, int how)
{
	while (flock(fd, how) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Is fd still the directory at path? (Another box may have removed it meanwhile.) */
static bool still_there(int fd, const char *path)
{
	struct stat by_fd, by_path;

	return fstat(fd, &by_fd) == 0 && stat(path, &by_path) == 0 && by_fd.st_ino == by_path.st_ino;
}

/*
 * Make the directory path if it is missing, open it and flock(2) it (how:
 * LOCK_SH or LOCK_EX). Returns a descriptor that holds the lock, or -1. If
 * another box removes the directory while we wait, make it again: a lock
 * on a removed directory guards nothing.
 */
int lock_dir(const char *path, int how)
{
	int fd;

	for (;;) {
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			return -1;
		if (fd < 0)
			continue;	/* removed between our mkdir and open: make it again */
		if (lock_fd(fd, how) < 0) {
			close(fd);
			return -1;
		}
		if (still_there(fd, path))
			return fd;
		close(fd);	/* removed while we waited for the lock: make it again */
	}
}

/* Does some process hold a lock on the directory path? (A box holds one on its own while it runs.) */
bool dir_in_use(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool locked;

	if (fd < 0)
		return false;
	locked = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return locked;
}

/* Is name a container id: CONTAINER_ID_LEN lowercase hex digits? */
bool is_container_id(const char *name)
{
	return strlen(name) == CONTAINER_ID_LEN && strspn(name, "0123456789abcdef") == CONTAINER_ID_LEN;
}
