/*
 * child.c - the child side of a run: change the root, then become the command.
 *
 * Everything here runs in the child process, after fork(2). On failure the
 * child prints one line and exits: it cannot return into the parent's code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box.h"

/* The PATH docker gives a container whose image sets none. */
static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* [exercise] */
/*
 * chroot(2) changes what "/" means for this process and its children. It does
 * not move the working directory, which stays outside the new root: chdir(2)
 * to "/" afterwards, or "cd .." walks straight out (chapter 1's escape uses
 * exactly this kind of hole).
 */
static int enter_rootfs(const char *rootfs)
{
	if (chroot(rootfs) < 0)
		return -1;
	if (chdir("/") < 0)
		return -1;
	return 0;
}

/*
 * The host's environment (its PATH, HOME, secrets in variables) is not the
 * container's business: start from a clean one, as docker does. TERM is
 * kept so that programs inside can still drive the user's terminal.
 */
static int reset_environment(void)
{
	/* Copy TERM first: clearenv(3) may free the string getenv(3) points to.
	 * (The copy is never freed: exec replaces this process soon.) */
	char *term = getenv("TERM") ? strdup(getenv("TERM")) : NULL;

	if (clearenv() != 0)
		return -1;
	if (setenv("PATH", default_path, 1) < 0 || setenv("HOME", "/root", 1) < 0)
		return -1;
	if (term && setenv("TERM", term, 1) < 0)
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
static int setup_inside(const struct container_spec *spec)
{
	if (enter_rootfs(spec->rootfs) < 0)
		return fail("chroot into %s", spec->rootfs);
	if (reset_environment() < 0)
		return fail("set the environment");
	return 0;
}

_Noreturn void child_main(const struct container_spec *spec)
{
	if (setup_inside(spec) < 0)
		_exit(EXIT_BOX_ERROR);
	/* execvp(3) searches PATH, which is now the container's, inside the new root. */
	execvp(spec->argv[0], spec->argv);
	exec_failed(spec->argv[0]);
}
