/*
 * hooks.c - config.md "POSIX-platform Hooks": programs the client wants
 * run at points of the container's life.
 *
 *     prestart, createRuntime   by create, in the runtime's namespaces, before pivot_root
 *     createContainer           by the init, in the container's namespaces, before pivot_root
 *     startContainer            by the init, after start, before the process runs
 *     poststart                 by start, once the process runs (a failure is only a warning)
 *     poststop                  by delete, after the container is gone (also a warning)
 *
 * dockerd puts a prestart hook in every config: its own binary, through
 * /proc/<dockerd's pid>/exe, which sets up the network of the container
 * whose state it reads on stdin (CLIENTS.md). Each hook gets the state
 * JSON (runtime.md "State") on its stdin, its args (args[0] is its argv[0],
 * not necessarily its path) and env, and at most "timeout" seconds.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box.h"

extern char **environ;

static const char *const hook_names[HOOK_KINDS] = {
	[HOOK_PRESTART] = "prestart", [HOOK_CREATE_RUNTIME] = "createRuntime",
	[HOOK_CREATE_CONTAINER] = "createContainer", [HOOK_START_CONTAINER] = "startContainer",
	[HOOK_POSTSTART] = "poststart", [HOOK_POSTSTOP] = "poststop",
};

/* Does create have hooks to run itself, in the runtime's namespaces, while the init waits? */
bool has_runtime_create_hooks(const struct container_spec *spec)
{
	return spec->hooks && (spec->hooks->n[HOOK_PRESTART] || spec->hooks->n[HOOK_CREATE_RUNTIME]);
}

/* The state a hook run by the init reads: its pid as it sees it (runc does the same). */
char *hook_state(const struct container_spec *spec, enum container_status status, pid_t pid)
{
	struct state st;

	memset(&st, 0, sizeof(st));
	if (format_into(st.id, sizeof(st.id), "%s", spec->oci_id ? spec->oci_id : spec->id) < 0 ||
	    format_into(st.bundle, sizeof(st.bundle), "%s", spec->bundle ? spec->bundle : "") < 0)
		return NULL;
	st.pid = pid;
	return state_json(&st, status, spec->config);
}

/* The hook's side: the state on stdin, nothing else of ours open, then its program. */
static _Noreturn void exec_hook(const struct oci_hook *hook, int stdin_fd)
{
	char *default_args[] = { hook->path, NULL };

	if (dup2(stdin_fd, STDIN_FILENO) < 0)
		_exit(EXIT_CANNOT_EXEC);
	close_fds_from(3);
	/* No env: the runtime's own, as runc passes it (Go's exec.Cmd with a nil Env). */
	execve(hook->path, hook->n_args ? hook->args : default_args, hook->n_env ? hook->env : environ);
	_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/*
 * Wait for the hook, at most timeout seconds (0: as long as it takes). A
 * pidfd (pidfd_open(2), Linux 5.3) becomes readable when the process
 * exits, so poll(2) can wait with a timeout. Returns its wait status, or
 * -1 with ETIMEDOUT after killing it.
 */
static int wait_for_hook(pid_t pid, int timeout)
{
	struct pollfd pfd = { .fd = (int)syscall(SYS_pidfd_open, pid, 0), .events = POLLIN };
	int status, ready = 1;

	if (pfd.fd >= 0 && timeout > 0) {
		do {
			ready = poll(&pfd, 1, timeout * 1000);
		} while (ready < 0 && errno == EINTR);
	}
	if (pfd.fd >= 0)
		close(pfd.fd);
	if (ready == 0)
		kill(pid, SIGKILL);
	if (wait_for(pid, &status) < 0)
		return -1;
	if (ready == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return status;
}

/*
 * One hook: its stdin is one end of a socket pair, the state is sent on the
 * other (send(2) with MSG_NOSIGNAL: a hook that exits without reading
 * must not kill us with SIGPIPE).
 */
static int run_hook(const struct oci_hook *hook, const char *state_text)
{
	int pair[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		exec_hook(hook, pair[1]);
	close(pair[1]);
	if (pid < 0) {
		close(pair[0]);
		return -1;
	}
	send(pair[0], state_text, strlen(state_text), MSG_NOSIGNAL);	/* a hook may not read it: fine */
	close(pair[0]);
	status = wait_for_hook(pid, hook->timeout);
	if (status < 0)
		return -1;
	return exit_status_of(status);
}

/* The hooks of one kind, in order; the first that fails stops the rest (f names it). */
int run_hooks(const struct oci_hooks *hooks, enum oci_hook_kind kind, const char *state_text, struct failure *f)
{
	for (size_t i = 0; hooks && i < hooks->n[kind]; i++) {
		const struct oci_hook *hook = &hooks->list[kind][i];
		int status = run_hook(hook, state_text);

		if (status < 0 && errno == ETIMEDOUT) {
			errno = 0;	/* the message says it all: nothing for strerror to add */
			return failed(f, "hooks.%s[%zu] %s: timed out after %d s", hook_names[kind], i, hook->path,
				      hook->timeout);
		}
		if (status < 0)
			return failed(f, "hooks.%s[%zu] %s", hook_names[kind], i, hook->path);
		if (status != 0) {
			errno = 0;	/* no system call failed: nothing for strerror to add */
			return failed(f, "hooks.%s[%zu] %s: exited with status %d", hook_names[kind], i, hook->path,
				      status);
		}
	}
	return 0;
}
