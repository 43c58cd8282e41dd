/*
 * exe-seal.c - run box-oci from a sealed copy of itself (CVE-2019-5736).
 *
 * When `box-oci exec` (or create) joins a container, there is a moment
 * when a process of ours runs inside the container's pid namespace while
 * its /proc/PID/exe still points at the box-oci binary on the host. A
 * process in the container that can see it (root in the container, same
 * uid) can open /proc/PID/exe: O_WRONLY fails with ETXTBSY while we run,
 * but an O_PATH fd opened now can be reopened for writing through
 * /proc/self/fd/N the moment we exit, and the host's runtime binary is
 * overwritten: the next `box-oci` anyone runs is the attacker's.
 *
 * The defence runc used from 2019 and crun still uses: at start, copy our
 * own binary into a memfd (memfd_create(2)), seal it against every change
 * (F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE: fcntl(2) "File
 * Sealing"), and execve that. /proc/PID/exe is then the memfd: there is
 * nothing on disk to reach, and the copy itself cannot be written.
 * (runc 1.2 first tries a private read-only overlayfs mount of the binary,
 * which costs no copy; box takes the memfd, which works everywhere and
 * teaches the idea in 80 lines. CVE.md has the numbers.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box.h"

static const unsigned int all_seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

enum {
	/* linux/memfd.h of Linux 6.3+; the headers here (6.1) lack it. */
	BOX_MFD_EXEC = 0x0010U,
};

/* Whether /proc/self/exe is already a sealed memfd (then we are the copy). */
int is_sealed_copy(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int seals;

	if (fd < 0)
		return 0;
	seals = fcntl(fd, F_GET_SEALS);
	close(fd);
	return seals >= 0 && ((unsigned int)seals & all_seals) == all_seals;
}

/*
 * memfd_create(2) that may be executed: since Linux 6.3 the sysctl
 * vm.memfd_noexec can make plain memfds non-executable unless MFD_EXEC is
 * given; older kernels do not know MFD_EXEC (EINVAL).
 */
static int executable_memfd(void)
{
	int fd = memfd_create("box-oci", MFD_CLOEXEC | MFD_ALLOW_SEALING | BOX_MFD_EXEC);

	if (fd >= 0 || errno != EINVAL)
		return fd;
	return memfd_create("box-oci", MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

/* Copy all of from into to, with sendfile(2) (no copy through user space). */
static int copy_all(int from, int to)
{
	struct stat st;
	off_t offset = 0;

	if (fstat(from, &st) < 0)
		return -1;
	while (offset < st.st_size) {
		ssize_t n = sendfile(to, from, &offset, (size_t)(st.st_size - offset));

		if (n < 0 && errno != EINTR)
			return -1;
		if (n == 0) {
			errno = EIO;	/* the file shrank under us */
			return -1;
		}
	}
	return 0;
}

/* A sealed, executable copy of the file at path; the fd, or -1. */
int sealed_copy(const char *path)
{
	int from = open(path, O_RDONLY | O_CLOEXEC);
	int to = -1, err;

	if (from < 0)
		return -1;
	to = executable_memfd();
	if (to < 0 || copy_all(from, to) < 0 || fchmod(to, 0511) < 0 ||
	    fcntl(to, F_ADD_SEALS, all_seals) < 0)
		goto fail;
	close(from);
	return to;
fail:
	err = errno;
	close(from);
	if (to >= 0)
		close(to);
	errno = err;
	return -1;
}

/*
 * Called first thing in main: if we are not the sealed copy yet, become
 * it (fexecve(3) with the same argv and environment). Returns 0 in the
 * copy; -1 if the copy could not be made or run.
 */
int run_from_sealed_copy(char *const argv[], char *const envp[])
{
	int fd;

	if (is_sealed_copy())
		return 0;
	fd = sealed_copy("/proc/self/exe");
	if (fd < 0)
		return -1;
	fexecve(fd, argv, envp);
	{
		int err = errno;

		close(fd);
		errno = err;
	}
	return -1;
}
