/*
 * run.c - the parent side of a run: check, create the child, wait, report.
 *
 * The child (child.c) sets up its view of the system and becomes the user's
 * command; the parent stays outside and passes the command's exit status on.
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box.h"

/* Refuse early, with a clear line, what would otherwise fail deep in the child. */
static int check_can_run(const struct container_spec *spec)
{
	struct stat st;

	/* chroot(2) needs CAP_SYS_CHROOT; in practice, box runs as root. */
	if (geteuid() != 0)
		return fail_msg("run: must be run as root (chroot(2) needs CAP_SYS_CHROOT)");
	if (stat(spec->rootfs, &st) < 0)
		return fail("rootfs %s", spec->rootfs);
	if (!S_ISDIR(st.st_mode))
		return fail_msg("rootfs %s: not a directory", spec->rootfs);
	return 0;
}

/* [exercise] */
/*
 * Turn a wait(2) status into the exit status a shell reports: the command's
 * own status if it exited (WIFEXITED, WEXITSTATUS), or 128 + N if signal N
 * killed it (WIFSIGNALED, WTERMSIG). See wait(2).
 */
int exit_status_of(int wait_status)
{
	/* TODO: write exit_status_of(), as the comment above says; read wait(2). */
	errno = ENOSYS;
	return -1;
}

/* waitpid(2), tried again if a signal interrupts it. */
static int wait_for(pid_t pid, int *wait_status)
{
	while (waitpid(pid, wait_status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Run the container; return the command's exit status, or -1 if box failed. */
int run_container(const struct container_spec *spec)
{
	int wait_status;
	pid_t pid;

	if (check_can_run(spec) < 0)
		return -1;
	/* fork(2): the child gets a copy of us, then changes its own root (child.c). */
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0)
		child_main(spec);
	if (wait_for(pid, &wait_status) < 0)
		return fail("wait for child %d", (int)pid);
	return exit_status_of(wait_status);
}
