/*
 * child.c - the child side of a run: set up the inside, then become the command.
 *
 * Everything here runs in the child, created by clone(2) in new namespaces
 * (namespaces.c). It waits for the parent's "go", then sets up its view of
 * the system step by step, and finally execs the command. On failure it
 * prints one line and exits: it cannot return into the parent's code.
 *
 * Step 7: each step as the config says (the spec's step-7 fields, oci.c),
 * the hooks, and the process's last steps (become_process), which box-oci
 * exec shares (exec.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "box.h"

/*
 * Block until the parent has done its part (the id maps, the cgroup, the
 * veth) and writes one byte. If the parent dies instead, its end of the pipe closes
 * and read(2) returns 0: then there is nobody to run for.
 */
int wait_for_parent(int sync_fd)
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
 * container's business: start from a clean one, as docker does. Step 7:
 * exactly process.env of the config (box run's has chapter 2's PATH, HOME
 * and TERM, run-config.c). putenv(3) keeps the config's strings, which
 * live until exec.
 */
static int reset_environment(const struct oci_process *process)
{
	if (clearenv() != 0)
		return -1;
	for (size_t i = 0; i < process->n_env; i++) {
		if (putenv(process->env[i]) != 0)
			return -1;
	}
	return 0;
}

/* Exit the child the way a shell would when CMD cannot be run (127: not found). */
static _Noreturn void exec_failed(const char *command)
{
	int err = errno;

	fail("exec %s", command);
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* ---- step 7 ---------------------------------------------------------------------------- */

/* One byte to the parent on the sync socket: SYNC_HOOKS, SYNC_READY. */
static int tell_parent(int sync_fd, char what)
{
	if (sync_fd < 0)
		return 0;
	while (write(sync_fd, &what, 1) != 1) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* The hooks that run in the container, with the state on their stdin (hooks.c). */
static int container_hooks(const struct container_spec *spec, enum oci_hook_kind kind,
			   enum container_status status)
{
	struct failure f;
	char *state;
	int ret;

	if (!spec->hooks || !spec->hooks->n[kind])
		return 0;
	state = hook_state(spec, status, getpid());
	if (!state)
		return fail("write the state for the hooks");
	ret = run_hooks(spec->hooks, kind, state, &f);
	free(state);
	return ret < 0 ? fail("%s", f.what) : 0;
}

/*
 * config.md: prestart and createRuntime hooks run in the runtime's
 * namespaces, createContainer hooks in the container's, all before
 * pivot_root. So here, with the mounts made: ask the parent to run its
 * hooks and wait until it has, then run ours.
 */
static int create_hooks(const struct container_spec *spec, int sync_fd)
{
	if (has_runtime_create_hooks(spec) && (tell_parent(sync_fd, SYNC_HOOKS) < 0 || wait_for_parent(sync_fd) < 0))
		return fail("wait for the prestart and createRuntime hooks");
	return container_hooks(spec, HOOK_CREATE_CONTAINER, STATUS_CREATING);
}

/*
 * process.cwd, resolved inside the root (we are past pivot_root), then
 * asked of the kernel: a cwd like /proc/self/fd/7 can lead to a directory
 * of the host through an fd of the runtime (CVE-2024-21626), and getcwd
 * says so (fds.c). Fails with EXDEV then.
 */
static int enter_cwd(const char *cwd)
{
	if (chdir(cwd) < 0)
		return -1;
	if (check_cwd_inside_root() < 0) {
		errno = EXDEV;
		return -1;
	}
	return 0;
}

/*
 * Is there a command to run? execvp(3) would tell only after start; runc
 * tells at create, and podman and docker turn its "no such file or
 * directory" into exit status 127 (CLIENTS.md). Searches PATH like execvp.
 */
static int find_command(const char *name)
{
	const char *path = getenv("PATH");
	char dir_list[PATH_MAX], candidate[PATH_MAX], *rest = dir_list, *dir;

	if (strchr(name, '/'))
		return access(name, F_OK);
	if (format_into(dir_list, sizeof(dir_list), "%s", path ? path : "/usr/bin:/bin") < 0)
		return -1;
	while ((dir = strsep(&rest, ":"))) {
		if (path_join(candidate, sizeof(candidate), dir[0] ? dir : ".", name) == 0 && access(candidate, F_OK) == 0)
			return 0;
	}
	errno = ENOENT;
	return -1;
}

/*
 * process.terminal: a pty of the container's devpts (we are past
 * pivot_root), whose master goes to the client over --console-socket, and
 * whose slave becomes our stdin, stdout, stderr and controlling terminal
 * (console.c). The init also shows it as /dev/console, as runc does.
 */
static int setup_terminal(const struct container_spec *spec, const struct oci_process *process, bool init)
{
	int master, slave;

	/* final: a detached -t container's pty was made by box (launch.c) and is our stdio already. */
	if (spec->launch)
		return console_become_stdio(0);
	if (spec->console_fd < 0) {
		errno = EINVAL;
		return -1;
	}
	if (console_create(&master, &slave) < 0)
		return -1;
	if (console_set_size(master, (unsigned short)process->console_height, (unsigned short)process->console_width) < 0 ||
	    (init && console_bind_dev_console(slave) < 0) || console_send_master(spec->console_fd, master) < 0) {
		close(master);
		close(slave);
		return -1;
	}
	close(master);
	close(spec->console_fd);
	return console_become_stdio(slave);
}

/* [exercise] */
/*
 * box-oci's init, created and waiting: open exec.fifo (a named pipe in the
 * state directory, fifo(7)) for writing. open(2) blocks until a reader
 * opens it: that is box-oci start. Then write one byte for start to read.
 * fifo_fd is an O_PATH descriptor of the fifo, opened before pivot_root,
 * when the state directory was still in view: reopen it for writing
 * through /proc/self/fd/N. Keep the new descriptor open, O_CLOEXEC: the
 * kernel closes it at execve(2), and start, which waits for that end of
 * file, knows the process runs (for the poststart hooks).
 */
static int wait_for_start(int fifo_fd)
{
	char path[64];
	int fd;

	if (format_into(path, sizeof(path), "/proc/self/fd/%d", fifo_fd) < 0)
		return -1;
	do {
		fd = open(path, O_WRONLY | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	if (write(fd, "0", 1) != 1) {
		close(fd);
		return -1;
	}
	return close(fifo_fd);
}

/*
 * The last steps before execve, shared by the init (box run, box-oci
 * create) and box-oci exec; the order is NOTES' and runc's: the process's
 * environment, terminal and working directory; the command found; our
 * own descriptors closed at exec (fds.c, CVE-2024-21626); "ready" to the
 * parent; for box-oci's init, the wait for start and the startContainer
 * hooks; then who we are and what we may do (security.c), last.
 */
static int prepare_process(const struct container_spec *spec, const struct oci_process *process, int sync_fd,
			   int fifo_fd)
{
	struct failure f;

	if (reset_environment(process) < 0)
		return fail("set the environment");
	if (process->terminal && setup_terminal(spec, process, fifo_fd >= 0) < 0)
		return fail("set up the terminal (process.terminal needs --console-socket)");
	if (enter_cwd(process->cwd) < 0)
		return errno == EXDEV ? fail_msg("process.cwd %s leads outside the container's root: refused "
						 "(see CVE-2024-21626)", process->cwd)
				      : fail("chdir to process.cwd %s", process->cwd);
	if (find_command(process->args[0]) < 0)
		exec_failed(process->args[0]);
	if (!spec->no_new_keyring && join_new_keyring(spec->oci_id ? spec->oci_id : spec->id) < 0)
		return fail("join a new session keyring");
	if (cloexec_fds_from(3 + spec->preserve_fds) < 0)
		return fail("mark our descriptors close-on-exec");
	if (tell_parent(sync_fd, SYNC_READY) < 0)
		return fail("tell the runtime the container is ready");
	if (fifo_fd >= 0 && wait_for_start(fifo_fd) < 0)
		return fail("wait for start on %s", spec->exec_fifo);
	if (fifo_fd >= 0 && container_hooks(spec, HOOK_START_CONTAINER, STATUS_CREATED) < 0)
		return -1;
	if (apply_security(process, spec->seccomp, &f) < 0)
		return fail("%s", f.what);
	/* Changing our ids cleared PR_SET_PDEATHSIG (prctl(2)): set it again. */
	if (spec->die_with_parent && die_with_parent(sync_fd) < 0)
		return fail("tie the container's life to box");
	return 0;
}

_Noreturn void become_process(const struct container_spec *spec, const struct oci_process *process, int sync_fd,
			      int fifo_fd)
{
	if (prepare_process(spec, process, sync_fd, fifo_fd) < 0)
		_exit(EXIT_BOX_ERROR);
	/* execvp(3) searches PATH, which is now the container's, inside the new root. */
	execvp(process->args[0], process->args);
	exec_failed(process->args[0]);
}

/* Set up the inside, in order; a failed step is reported here, once. */
static int setup_inside(const struct container_spec *spec, int sync_fd, int *fifo_fd)
{
	struct failure f;

	if (wait_for_parent(sync_fd) < 0)
		return fail("wait for box");
	if (join_namespaces(spec, &f) < 0)
		return fail("%s", f.what);
	if (spec->userns && become_userns_root() < 0)
		return fail("become root in the user namespace");
	if ((spec->new_namespaces & CLONE_NEWCGROUP) && enter_cgroup_namespace() < 0)
		return fail("enter a new cgroup namespace");
	if (spec->die_with_parent && die_with_parent(sync_fd) < 0)
		return fail("tie the container's life to box");
	if (spec->hostname && set_hostname(spec->hostname) < 0)
		return fail("sethostname %s", spec->hostname);
	if (spec->domainname && set_domainname(spec->domainname) < 0)
		return fail("setdomainname %s", spec->domainname);
	if (network_inside(spec, &f) < 0)
		return fail("%s", f.what);
	if (prepare_rootfs(spec, &f) < 0)
		return fail("%s", f.what);
	if (create_hooks(spec, sync_fd) < 0)
		return -1;
	/* The fifo is in box-oci's state directory, out of sight once we pivot. */
	if (spec->exec_fifo && (*fifo_fd = open(spec->exec_fifo, O_PATH | O_CLOEXEC)) < 0)
		return fail("open %s", spec->exec_fifo);
	if (enter_rootfs(spec, &f) < 0)
		return fail("%s", f.what);
	if (write_sysctls(spec, &f) < 0 || protect_paths(spec, &f) < 0)
		return fail("%s", f.what);
	return 0;
}

_Noreturn void child_main(const struct container_spec *spec, int sync_fd)
{
	/* Our own copy: an image's User changes it (ours alone: clone(2) gave us our own memory). */
	struct oci_process process = *spec->process;
	struct failure f;
	int fifo_fd = -1;

	if (setup_inside(spec, sync_fd, &fifo_fd) < 0)
		_exit(EXIT_BOX_ERROR);
	if (spec->user && image_user_to_process(spec, &process, &f) < 0) {
		fail("%s", f.what);
		_exit(EXIT_BOX_ERROR);
	}
	become_process(spec, &process, sync_fd, fifo_fd);
}
