/*
 * run.c - the parent side of a run: check, create the child, wait, report.
 *
 * The child (child.c) sets up its view of the system and becomes the user's
 * command; the parent stays outside and passes the command's exit status on.
 * A pipe keeps the two in step: the child waits until the parent has done
 * what only the parent can do (the id maps of a user namespace).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box.h"

/* Refuse early, with a clear line, what would otherwise fail deep in the child. */
static int check_can_run(const struct container_spec *spec)
{
	struct stat st;

	/* Creating namespaces (except a user namespace) needs CAP_SYS_ADMIN: box runs as root. */
	if (geteuid() != 0)
		return fail_msg("run: must be run as root (clone(2) with new namespaces needs CAP_SYS_ADMIN)");
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
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return EXIT_SIGNAL_BASE + WTERMSIG(wait_status);
	errno = EINVAL;
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

/* A random container id: 12 hex digits, like docker's short ids. */
static int new_container_id(char id[CONTAINER_ID_LEN + 1])
{
	unsigned char bytes[CONTAINER_ID_LEN / 2];

	if (getrandom(bytes, sizeof(bytes), 0) != sizeof(bytes))
		return -1;
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(id + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

/* What the parent does while the child waits: the id maps of --userns. */
static int prepare_child(pid_t pid, const struct container_spec *spec)
{
	if (spec->userns && write_id_maps(pid, spec) < 0)
		return fail("write the user namespace id maps of %d", (int)pid);
	return 0;
}

/* Stop a child that never got its "go", and reap it. */
static void abort_child(pid_t pid)
{
	int wait_status;

	kill(pid, SIGKILL);
	wait_for(pid, &wait_status);
}

/*
 * Create the child in its namespaces, do the parent's part, then tell it to
 * go on. *go_fd is our end of the pipe: keep it open until the child exits,
 * so the child can tell box is alive (die_with_parent in child.c).
 */
static pid_t start_child(const struct container_spec *spec, int *go_fd)
{
	int sync[2];
	pid_t pid;

	if (pipe2(sync, O_CLOEXEC) < 0)
		return fail("create the sync pipe");
	/* Like fork(2) in step 1, but the child starts in new namespaces (namespaces.c). */
	pid = clone_container(spec);
	if (pid == 0) {
		/* The child keeps only its end: then end of file on it means box is gone. */
		close(sync[1]);
		child_main(spec, sync[0]);
	}
	close(sync[0]);
	if (pid < 0) {
		fail("create the container's namespaces (clone)");
		close(sync[1]);
		return -1;
	}
	if (prepare_child(pid, spec) < 0 || write(sync[1], "g", 1) != 1) {
		abort_child(pid);
		close(sync[1]);
		return -1;
	}
	*go_fd = sync[1];
	return pid;
}

/*
 * --cidfile FILE: write the id where scripts (and the tests) can find it, as
 * docker does. The file must appear whole, since a reader may be waiting
 * for it, and must not replace one that exists, which may name a container
 * still running. So write an unnamed file first (O_TMPFILE, open(2)), then
 * give it its name with linkat(2): that fails with EEXIST if it is taken.
 */
static int write_cidfile(const char *path, const char *id)
{
	char dir[PATH_MAX], fd_path[64];
	ssize_t len = (ssize_t)strlen(id);
	int fd, ret = -1;

	if (format_into(dir, sizeof(dir), "%s", path) < 0)
		return -1;
	fd = open(dirname(dir), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, id, (size_t)len) == len && format_into(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd) == 0)
		ret = linkat(AT_FDCWD, fd_path, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

/* --userns: find the id ranges, and refuse ones that would not isolate anything. */
static int check_userns(struct container_spec *spec)
{
	struct failure f;

	if (lookup_userns_ranges(spec, &f) < 0)
		return fail("%s", f.what);
	if (check_id_range(&spec->uids) < 0 || check_id_range(&spec->gids) < 0)
		return fail_msg("--userns: no usable id range (uids %u:%u, gids %u:%u): "
				"need a non-empty range of host ids that does not include 0",
				spec->uids.host, spec->uids.count, spec->gids.host, spec->gids.count);
	return 0;
}

/* Everything before anything is created: checks, the id, the hostname, the id ranges. */
static int prepare_run(struct container_spec *spec)
{
	if (check_can_run(spec) < 0)
		return -1;
	if (new_container_id(spec->id) < 0)
		return fail("make a container id");
	if (spec->cidfile && write_cidfile(spec->cidfile, spec->id) < 0)
		return fail("write the container id to --cidfile %s", spec->cidfile);
	if (!spec->hostname)
		spec->hostname = spec->id;
	if (spec->userns && check_userns(spec) < 0)
		return -1;
	return 0;
}

/* Run the container; return the command's exit status, or -1 if box failed. */
int run_container(struct container_spec *spec)
{
	int wait_status, go_fd = -1, ret;
	pid_t pid;

	if (prepare_run(spec) < 0)
		return -1;
	pid = start_child(spec, &go_fd);
	if (pid < 0)
		return -1;
	ret = wait_for(pid, &wait_status);
	close(go_fd);
	if (ret < 0)
		return fail("wait for child %d", (int)pid);
	return exit_status_of(wait_status);
}
