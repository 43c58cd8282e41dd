/*
 * enter.c - final: reaching into a running container: box exec (step 7's
 * exec path, exec.c), box cp (cp.c's copy, every path inside the root),
 * box attach (the monitor's attach socket, attach.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "engine.h"
#include "monitor.h"

/*
 * box exec: one more process in a running container, by step 7's exec path
 * (exec.c: setns(2) into the init's namespaces, its cgroup, the security
 * profile of its config.json, which the launch kept in the running dir).
 */
static int exec_state(const struct command_line *cl, struct container *c, struct state *st)
{
	struct status s;

	get_status(c, &s);
	if (strcmp(s.status, "running") != 0)
		return fail_msg("exec: container %.12s is not running", c->id);
	memset(st, 0, sizeof(*st));
	snprintf(st->id, sizeof(st->id), "%.12s", c->id);
	if (format_into(st->dir, sizeof(st->dir), "%s/containers/%.12s", cl->spec.box_root, c->id) < 0 ||
	    format_into(st->bundle, sizeof(st->bundle), "%s", st->dir) < 0)
		return fail("exec: paths of %.12s", c->id);
	st->pid = s.pid;
	if (process_start_time(s.pid, &st->start_time) < 0)
		return fail_msg("exec: container %.12s is not running", c->id);
	return 0;
}

/* Copy what comes from in to out (one read); false at the end (a pty's master says EIO once its slave is gone). */
static bool pass_through(int in, int out)
{
	char buf[4096];
	ssize_t n = read(in, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return true;
	return n > 0 && write_all(out, buf, (size_t)n) == 0;
}

/* Our terminal <-> the pty's master, in raw mode (termios(3) cfmakeraw), until the process is gone. */
static void pump_terminal(int master)
{
	struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = master, .events = POLLIN } };
	struct termios saved, raw;
	struct winsize ws;
	bool tty = isatty(0) && tcgetattr(0, &saved) == 0;

	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSADRAIN, &raw);
	}
	if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
	while (poll(p, 2, -1) > 0 || errno == EINTR) {
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && !pass_through(master, 1))
			break;
		if ((p[0].revents & (POLLIN | POLLHUP)) && !pass_through(0, master))
			p[0].fd = -1;	/* our input ended: the process goes on */
	}
	if (tty)
		tcsetattr(0, TCSADRAIN, &saved);
}

/*
 * exec -t: the process gets a pty of the container's devpts, whose master
 * step 7's exec sends over a socket (--console-socket in box-oci). Here the
 * socket is a pair: a child of ours runs the exec, we hold the other end,
 * receive the master, and pass bytes until the process is gone.
 */
static int exec_with_tty(struct exec_options *o, const struct state *st)
{
	int pair[2], master, wait_status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return fail("exec: socket pair");
	o->tty = true;
	o->console_fd = pair[1];
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int status;

		close(pair[0]);
		status = exec_in_state(o, st);
		_exit(status < 0 ? EXIT_BOX_ERROR : status);
	}
	close(pair[1]);
	if (pid < 0) {
		close(pair[0]);
		return fail("exec: fork");
	}
	master = console_receive_master(pair[0]);	/* end of file instead if the exec failed */
	close(pair[0]);
	if (master >= 0) {
		pump_terminal(master);
		close(master);
	}
	if (wait_for(pid, &wait_status) < 0)
		return fail("exec: wait");
	return exit_status_of(wait_status);
}

int cmd_exec(struct command_line *cl)
{
	static const struct option opts[] = {
		{ "interactive", no_argument, NULL, 'i' }, { "tty", no_argument, NULL, 't' },
		{ "detach", no_argument, NULL, 'd' }, { "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' }, { "user", required_argument, NULL, 'u' }, { NULL, 0, NULL, 0 } };
	struct exec_options o = { .root = cl->spec.box_root, .box_cgroup = true };
	bool interactive = false, tty = false;
	struct container c;
	struct state st;
	int opt, status;

	getopt_start();
	while ((opt = getopt_long(cl->argc, cl->argv, "+:itde:w:u:", opts, NULL)) != -1) {
		if (opt == 'i') {
			interactive = true;
		} else if (opt == 't') {
			tty = true;
		} else if (opt == 'd') {
			o.detach = true;
		} else if (opt == 'e') {
			if (o.n_env == sizeof(o.env) / sizeof(o.env[0]) || !strchr(optarg, '='))
				return fail_msg("exec: -e %s: expected NAME=value (at most 64)", optarg);
			o.env[o.n_env++] = optarg;
		} else if (opt == 'w') {
			if (optarg[0] != '/')
				return fail_msg("exec: -w %s: must be an absolute path", optarg);
			o.cwd = optarg;
		} else if (opt == 'u') {
			o.user = optarg;
		} else {
			return bad_option("exec", cl->argc, cl->argv, opt);
		}
	}
	if (cl->argc - optind < 2)
		return fail_msg("exec: needs a container and a command (see 'box exec --help')");
	if (find_or_fail(cl, cl->argv[optind], &c) < 0)
		return -1;
	o.id = c.id;
	o.args = cl->argv + optind + 1;
	/* Without -i the process reads nothing (docker's exec): stdin from /dev/null. */
	if (!interactive && !freopen("/dev/null", "r", stdin)) {
		container_free(&c);
		return fail("exec: open /dev/null");
	}
	status = exec_state(cl, &c, &st) < 0 ? -1 : tty && !o.detach ? exec_with_tty(&o, &st) : exec_in_state(&o, &st);
	container_free(&c);
	return status;
}

/* The root of a running container, as a directory fd: /proc/PID/root of its init (proc(5)). */
static int container_root_fd(struct container *c)
{
	char path[64];
	struct status s;
	int fd;

	get_status(c, &s);
	if (strcmp(s.status, "running") != 0)
		return fail_msg("cp: container %.12s is not running (box cp needs a running one)", c->id);
	snprintf(path, sizeof(path), "/proc/%d/root", (int)s.pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	get_status(c, &s);	/* still the same init? (then the fd is its root) */
	if (fd >= 0 && strcmp(s.status, "running") != 0) {
		close(fd);
		errno = ESRCH;
	}
	return fd >= 0 && strcmp(s.status, "running") == 0 ? fd : fail("cp: open the root of %.12s", c->id);
}

/* "CONTAINER:PATH": the container's root fd and the path; a plain path: -2 (the host). */
static int cp_side(struct command_line *cl, char *word, struct container *c, const char **path)
{
	char *colon = strchr(word, ':');
	int fd;

	if (!colon || word[0] == '/' || word[0] == '.') {
		*path = word;
		return -2;
	}
	*colon = '\0';
	*path = colon + 1;
	if (find_or_fail(cl, word, c) < 0)
		return -1;
	fd = container_root_fd(c);
	container_free(c);
	return fd;
}

int cmd_cp(struct command_line *cl)
{
	const char *src, *dest;
	struct container c;
	int src_root, dest_root, ret;

	if (cl->argc != 3 || cl->argv[1][0] == '-')
		return fail_msg("cp: needs SOURCE and DEST, one of them CONTAINER:PATH (see 'box cp --help')");
	src_root = cp_side(cl, cl->argv[1], &c, &src);
	if (src_root == -1)
		return -1;
	dest_root = cp_side(cl, cl->argv[2], &c, &dest);
	if (dest_root == -1 || (src_root == -2) == (dest_root == -2)) {
		if (src_root >= 0)
			close(src_root);
		if (dest_root >= 0)
			close(dest_root);
		return dest_root == -1 ? -1 : fail_msg("cp: exactly one of SOURCE and DEST must be CONTAINER:PATH");
	}
	ret = copy_path(src_root >= 0 ? src_root : -1, src, dest_root >= 0 ? dest_root : -1, dest);
	if (ret < 0)
		fail("cp %s to %s", src, dest);
	close(src_root >= 0 ? src_root : dest_root);
	return ret;
}

/* box attach: to a running container's monitor (attach.c's protocol); its status, or 0 after Ctrl-P Ctrl-Q. */
int cmd_attach(struct command_line *cl)
{
	struct attach_result r = { 0 };
	struct attach_options o = { .close_stdin_at_eof = true, .in_fd = 0, .out_fd = 1, .err_fd = 2 };
	char path[PATH_MAX];
	struct container c;
	struct failure f;
	struct status s;
	bool running;
	int sock;

	if (cl->argc != 2)
		return fail_msg("attach: needs one container (see 'box attach --help')");
	if (find_or_fail(cl, cl->argv[1], &c) < 0)
		return -1;
	get_status(&c, &s);
	o.tty = json_is_true(json_object_get(c.config, "Tty"));
	o.forward_stdin = json_is_true(json_object_get(c.config, "OpenStdin"));
	container_file(&c, "attach.sock", path, sizeof(path));
	running = strcmp(s.status, "running") == 0;	/* s points into c's JSON */
	container_free(&c);
	if (!running)
		return fail_msg("attach: container %s is not running", cl->argv[1]);
	sock = attach_connect(path, &f);
	if (sock < 0 || attach_session(sock, &o, &r, &f) < 0) {
		if (sock >= 0)
			close(sock);
		return fail("attach: %s", f.what);
	}
	close(sock);
	return r.detached ? 0 : r.exit_status;
}

