/*
 * child.c - the child side of a run: set up the inside, then become the command.
 *
 * Everything here runs in the child, created by clone(2) in new namespaces
 * (namespaces.c). It waits for the parent's "go", then sets up its view of
 * the system step by step, and finally execs the command. On failure it
 * prints one line and exits: it cannot return into the parent's code.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "box.h"

/* The PATH docker gives a container whose image sets none. */
static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/*
 * Block until the parent has done its part (the id maps, the cgroup, the
 * veth) and writes one byte. If the parent dies instead, its end of the pipe closes
 * and read(2) returns 0: then there is nobody to run for.
 */
static int wait_for_parent(int sync_fd)
{
	char go;
	ssize_t n;

	do {
		n = read(sync_fd, &go, 1);
	} while (n < 0 && errno == EINTR);
	if (n == 1)
		return 0;
	if (n == 0)
		errno = EPIPE;
	return -1;
}

/*
 * prctl(2) PR_SET_PDEATHSIG: if box dies, even by SIGKILL, the kernel kills
 * us. We are PID 1 of our namespace, so the whole container goes with us
 * (pid_namespaces(7)). It must be set after the last change of our user
 * ids, which clears it; and box may have died just before, which the pipe
 * tells: the parent holds its end open until we exit.
 */
static int die_with_parent(int sync_fd)
{
	struct pollfd pfd = { .fd = sync_fd, .events = POLLIN };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -1;
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLHUP)) {
		errno = EPIPE;
		return -1;
	}
	return 0;
}

/*
 * The host's environment (its PATH, HOME, secrets in variables) is not the
 * container's business: start from a clean one, as docker does, holding an
 * image's Env ("NAME=value"; anything else is skipped). PATH and HOME are
 * filled in where the image sets none. TERM is kept so that programs
 * inside can still drive the user's terminal.
 */
static int reset_environment(char *const *image_env)
{
	/* Copy TERM first: clearenv(3) may free the string getenv(3) points to.
	 * (The copy is never freed: exec replaces this process soon.) */
	char *term = getenv("TERM") ? strdup(getenv("TERM")) : NULL;

	if (clearenv() != 0)
		return -1;
	for (size_t i = 0; image_env && image_env[i]; i++) {
		char *equals = strchr(image_env[i], '=');

		if (equals && equals > image_env[i] && putenv(image_env[i]) != 0)
			return -1;
	}
	if (!getenv("PATH") && setenv("PATH", default_path, 1) < 0)
		return -1;
	if (!getenv("HOME") && setenv("HOME", "/root", 1) < 0)
		return -1;
	if (term && setenv("TERM", term, 0) < 0)
		return -1;
	return 0;
}

/* Exit the child the way a shell would when CMD cannot be run (127: not found). */
static _Noreturn void exec_failed(const char *command)
{
	int err = errno;

	fail("exec %s", command);
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* Set up the inside, in order; a failed step is reported here, once. */
static int setup_inside(const struct container_spec *spec, int sync_fd)
{
	struct failure f;

	if (wait_for_parent(sync_fd) < 0)
		return fail("wait for box");
	if (spec->userns && become_userns_root() < 0)
		return fail("become root in the user namespace");
	if (enter_cgroup_namespace() < 0)
		return fail("enter a new cgroup namespace");
	if (die_with_parent(sync_fd) < 0)
		return fail("tie the container's life to box");
	if (set_hostname(spec->hostname) < 0)
		return fail("sethostname %s", spec->hostname);
	if (network_inside(spec, &f) < 0)
		return fail("%s", f.what);
	if (setup_rootfs(spec, &f) < 0)
		return fail("%s", f.what);
	if (reset_environment(spec->env) < 0)
		return fail("set the environment");
	if (spec->image && apply_image_config(spec, &f) < 0)
		return fail("%s", f.what);
	/* A change of user ids clears the parent-death signal (prctl(2)): set it again. */
	if (spec->user && die_with_parent(sync_fd) < 0)
		return fail("tie the container's life to box");
	return 0;
}

_Noreturn void child_main(const struct container_spec *spec, int sync_fd)
{
	if (setup_inside(spec, sync_fd) < 0)
		_exit(EXIT_BOX_ERROR);
	/* execvp(3) searches PATH, which is now the container's, inside the new root. */
	execvp(spec->argv[0], spec->argv);
	exec_failed(spec->argv[0]);
}
