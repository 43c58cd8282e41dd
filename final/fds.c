/*
 * fds.c - nothing of the runtime's may reach the container's process.
 *
 * CVE-2024-21626 ("Leaky Vessels"): runc opened /sys/fs/cgroup without
 * O_CLOEXEC, and the fd was still open when it set the working directory
 * from process.cwd. With "cwd": "/proc/self/fd/7" the container's process
 * started *inside the host's file system*: `cat ../../../../etc/shadow`.
 * An image could ship that as its WorkingDir; `exec --cwd` too.
 *
 * Two defences, both as runc and crun do them now:
 *  - close everything above stdio (and LISTEN_FDS / --preserve-fds) right
 *    before execve: close_range(2), Linux 5.9, else one close(2) per entry
 *    of /proc/self/fd. (Opening everything O_CLOEXEC is the first defence,
 *    but one forgotten flag, or one inherited fd like the containerd
 *    shim's fd 3 (CLIENTS.md), is enough.)
 *  - after chdir(process.cwd), ask the kernel where we are: getcwd(2)
 *    returns a path starting "(unreachable)" when the directory is not
 *    below our root (the glibc wrapper hides that as ENOENT, so the raw
 *    system call is used). Refuse to go on if so.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "box.h"

static const char unreachable[] = "(unreachable)";

/* The slow way, for kernels before 5.9: every fd listed in /proc/self/fd. */
static int close_listed_fds(int first)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	int dir_fd;

	if (!dir)
		return -1;
	dir_fd = dirfd(dir);
	while ((entry = readdir(dir)) != NULL) {
		char *end;
		long fd = strtol(entry->d_name, &end, 10);

		if (*end != '\0' || end == entry->d_name || fd < first || fd == dir_fd)
			continue;
		close((int)fd);
	}
	return closedir(dir);
}

/* Close every fd >= first (close_range(2)); first is 3 + the fds passed on on purpose. */
int close_fds_from(int first)
{
	if (syscall(SYS_close_range, (unsigned int)first, ~0U, 0) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -1;
	return close_listed_fds(first);
}

/* Mark them close-on-exec instead (CLOSE_RANGE_CLOEXEC, 5.11): for fds still needed until execve. */
int cloexec_fds_from(int first)
{
	return (int)syscall(SYS_close_range, (unsigned int)first, ~0U, CLOSE_RANGE_CLOEXEC);
}

/* After chdir(process.cwd): 0 if the working directory is below our root, else -1/ENOENT. */
int check_cwd_inside_root(void)
{
	char cwd[PATH_MAX];
	long n = syscall(SYS_getcwd, cwd, sizeof(cwd));

	if (n < 0)
		return -1;
	if (strncmp(cwd, unreachable, sizeof(unreachable) - 1) == 0 || cwd[0] != '/') {
		errno = ENOENT;
		return -1;
	}
	return 0;
}
