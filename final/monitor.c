/*
 * monitor.c - box-monitor: the small process that watches one detached container.
 *
 * box run -d sets the container up, starts it as its own child, and then
 * execs this program: exec keeps the process, and so the child, which is
 * now ours. From here on nobody else is left to care for the container, so
 * the monitor
 *   - reads its stdout and stderr (or its pty) and writes them to log.json
 *     in docker's json-file format, rotating at a size cap (logs.c);
 *   - lets box attach clients see the output live and type into the
 *     container (attach.c has the messages);
 *   - notices the exit through a pidfd (pidfd_open(2)), reaps the child,
 *     records its exit status and time in a file, atomically;
 *   - and finally execs the cleanup command it was given (box's own
 *     "cleanup ID": network, cgroup, mounts, --rm), exactly once.
 *
 * It is meant to stay small: one of these runs beside every detached
 * container. No stdio streams, no malloc, buffers of fixed size, one poll(2) loop,
 * statically linked. box stop signals the container, never the monitor;
 * the monitor ignores the usual stop signals and just waits for the exit.
 *
 *     box-monitor --pid PID --exit-file PATH [--log PATH] [--log-max-size BYTES]
 *                 [--log-max-files N] [--stdout-fd FD --stderr-fd FD] [--stdin-fd FD]
 *                 [--pty-fd FD] [--attach PATH [--attach-fd FD]] [--ready-fd FD]
 *                 [--keep-fd FD]... -- CLEANUP [ARG...]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

enum {
	MAX_CLIENTS = 16,		/* attach clients at once; more are turned away */
	MAX_KEEP_FDS = 8,		/* --keep-fd */
	MAX_NAMED_FDS = 8 + MAX_KEEP_FDS,	/* every fd the command line names, with 0, 1, 2 */
	CLIENT_STALL_MAX_MS = 10000,	/* how long a client may stay behind before it is dropped */
	LISTEN_BACKLOG = 8,
	EXIT_MONITOR_FAILED = 125,	/* like box: the monitor itself failed */
	DEFAULT_LOG_MAX_FILES = 1,	/* docker's default max-file */
	READY_BYTE = 'g',		/* what the container's init waits for on --ready-fd ("go") */
};

/* Where things are in the poll(2) array; clients follow the fixed slots. */
enum { SLOT_PID, SLOT_LISTEN, SLOT_STDOUT, SLOT_STDERR, SLOT_STDIN, SLOT_CLIENTS, SLOTS = SLOT_CLIENTS + MAX_CLIENTS };

/* What the command line says. */
struct options {
	pid_t pid;
	int stdout_fd, stderr_fd, stdin_fd, pty_fd;	/* -1: none */
	const char *log_path;
	long long log_max_size;
	int log_max_files;
	const char *attach_path;
	int attach_fd;		/* already listening at attach_path (box bound it); -1: bind it here */
	const char *exit_file;
	int ready_fd;
	int keep_fds[MAX_KEEP_FDS];
	int nkeep;
	char **cleanup;		/* argv of the command to exec at the end */
};

/* An attach client. "behind": its socket buffer is more than a quarter full (see mark_clients_behind). */
struct client {
	int fd;
	bool behind;
	struct timespec behind_since;
};

/* Input for the container that it has not taken yet (its pipe or pty was full). */
struct input {
	int fd;			/* the write end of its stdin, or the pty master; -1: none */
	size_t len, done;
	char buf[ATTACH_DATA_MAX];
};

struct monitor {
	struct options opt;
	int pidfd, listen_fd;
	int out_fd[LOG_STREAMS];	/* stdout and stderr (with a pty: the master, as stdout) */
	struct input in;
	struct client clients[MAX_CLIENTS];
	int nclients;
	struct log_writer log;
	bool log_failing;	/* a log write failed, and we have said so once */
	bool exited;
	int exit_status;
	struct timespec finished_at;
	char msg[ATTACH_MSG_MAX];	/* output read from the container goes here, after its type byte */
};

/* ---- Messages about the monitor itself: to its stderr, which box points at a file ---- */

/* "box-monitor: <what>: <strerror(err)>" on fd 2, in one write(2); no stdio. */
static void say(const char *what, int err)
{
	char line[PATH_MAX + 512];

	if (err && format_into(line, sizeof(line), "box-monitor: %s: %s\n", what, strerror(err)) == 0)
		write_all(STDERR_FILENO, line, strlen(line));
	else if (!err && format_into(line, sizeof(line), "box-monitor: %s\n", what) == 0)
		write_all(STDERR_FILENO, line, strlen(line));
}

static void say_failure(const struct failure *f)
{
	say(f->what, errno);
}

/* ---- The command line ---- */

static const struct option long_options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "stdout-fd", required_argument, NULL, 'o' },
	{ "stderr-fd", required_argument, NULL, 'e' },
	{ "stdin-fd", required_argument, NULL, 'i' },
	{ "pty-fd", required_argument, NULL, 't' },
	{ "log", required_argument, NULL, 'l' },
	{ "log-max-size", required_argument, NULL, 's' },
	{ "log-max-files", required_argument, NULL, 'n' },
	{ "attach", required_argument, NULL, 'a' },
	{ "attach-fd", required_argument, NULL, 'A' },
	{ "exit-file", required_argument, NULL, 'x' },
	{ "ready-fd", required_argument, NULL, 'r' },
	{ "keep-fd", required_argument, NULL, 'k' },
	{ NULL, 0, NULL, 0 },
};

/* A whole decimal number from min to max. */
static int parse_number(const char *text, long long min, long long max, long long *value)
{
	char *end;

	errno = 0;
	*value = strtoll(text, &end, 10);
	if (errno || end == text || *end != '\0' || *value < min || *value > max) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* A descriptor number that box left open for us: fcntl(2) F_GETFD fails with EBADF on a closed one. */
static int parse_fd(const char *text, int *fd)
{
	long long value;

	if (parse_number(text, 0, INT_MAX, &value) < 0)
		return -1;
	if (fcntl((int)value, F_GETFD) < 0)
		return -1;
	*fd = (int)value;
	return 0;
}

/* One flag and its value into o. */
static int take_option(int opt, const char *value, struct options *o)
{
	long long n;

	switch (opt) {
	case 'p':
		if (parse_number(value, 1, INT_MAX, &n) < 0)
			return -1;
		o->pid = (pid_t)n;
		return 0;
	case 'o':
		return parse_fd(value, &o->stdout_fd);
	case 'e':
		return parse_fd(value, &o->stderr_fd);
	case 'i':
		return parse_fd(value, &o->stdin_fd);
	case 't':
		return parse_fd(value, &o->pty_fd);
	case 'A':
		return parse_fd(value, &o->attach_fd);
	case 'r':
		return parse_fd(value, &o->ready_fd);
	case 'l':
		o->log_path = value;
		return 0;
	case 'a':
		o->attach_path = value;
		return 0;
	case 'x':
		o->exit_file = value;
		return 0;
	case 's':
		return parse_number(value, 0, LLONG_MAX, &o->log_max_size);
	case 'n':
		if (parse_number(value, 1, LOG_FILES_MAX, &n) < 0)
			return -1;
		o->log_max_files = (int)n;
		return 0;
	case 'k':
		if (o->nkeep == MAX_KEEP_FDS) {
			errno = E2BIG;
			return -1;
		}
		return parse_fd(value, &o->keep_fds[o->nkeep++]);
	}
	errno = EINVAL;
	return -1;
}

/* The command line into o; on a bad one, say what is wrong and return -1. */
static int parse_options(int argc, char *argv[], struct options *o)
{
	char what[256];
	int opt;

	*o = (struct options){ .stdout_fd = -1, .stderr_fd = -1, .stdin_fd = -1, .pty_fd = -1,
			       .attach_fd = -1, .ready_fd = -1, .log_max_files = DEFAULT_LOG_MAX_FILES };
	opterr = 0;	/* getopt_long(3) would print with stdio: we say it ourselves */
	while ((opt = getopt_long(argc, argv, "+", long_options, NULL)) != -1) {
		if (opt == '?' || opt == ':' || take_option(opt, optarg, o) < 0) {
			if (format_into(what, sizeof(what), "bad or unknown flag %s", argv[optind - 1]) == 0)
				say(what, opt == '?' ? 0 : errno);
			return -1;
		}
	}
	o->cleanup = argv + optind;
	if (o->pid == 0 || !o->exit_file || !o->cleanup[0]) {
		say("usage: box-monitor --pid PID --exit-file PATH [OPTIONS] -- CLEANUP [ARG...]", 0);
		return -1;
	}
	if (o->attach_fd >= 0 && !o->attach_path) {
		say("--attach-fd needs --attach PATH (to remove the socket at the end)", 0);
		return -1;
	}
	return 0;
}

/* ---- Setting up ---- */

/* Sort the few descriptor numbers in fds (insertion sort: a handful of them). */
static void sort_fds(int *fds, int n)
{
	for (int i = 1; i < n; i++) {
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];

			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	}
}

/*
 * Close every descriptor the command line does not name. box should leave
 * us nothing else, but a stray one (a lock, the write end of a pipe a
 * reader waits on) would be held for the container's whole life.
 * close_range(2) closes the gaps between the named ones, up to ~0U.
 */
static void close_unnamed_fds(const struct options *o)
{
	int fds[MAX_NAMED_FDS] = { 0, 1, 2, o->stdout_fd, o->stderr_fd, o->stdin_fd, o->pty_fd, o->attach_fd,
				   o->ready_fd };
	int n = 9;
	unsigned int next = 0;

	for (int i = 0; i < o->nkeep; i++)
		fds[n++] = o->keep_fds[i];
	sort_fds(fds, n);
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0 || (unsigned int)fds[i] < next)
			continue;
		if ((unsigned int)fds[i] > next)
			close_range(next, (unsigned int)fds[i] - 1, 0);
		next = (unsigned int)fds[i] + 1;
	}
	close_range(next, ~0U, 0);
}

/*
 * The monitor must outlive whatever box's terminal or session does, and
 * box stop signals the container, not us: ignore the stop signals. SIGPIPE
 * too: a client that went away, or a container that closed its stdin,
 * must be an EPIPE from write(2), not our death. signal(7): ignored
 * signals stay ignored across execve(2), so the cleanup command gets the
 * defaults back first (default_signals).
 */
static const int ignored_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGTTIN, SIGTTOU };

static int ignore_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t none;

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(ignored_signals) / sizeof(ignored_signals[0]); i++) {
		if (sigaction(ignored_signals[i], &sa, NULL) < 0)
			return -1;
	}
	/* A blocked signal stays blocked in us and in what we exec: start from none. */
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL);
}

static void default_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(ignored_signals) / sizeof(ignored_signals[0]); i++)
		sigaction(ignored_signals[i], &sa, NULL);
}

/*
 * pidfd_open(2): a descriptor for the container's init that poll(2)
 * reports readable once it has exited, so its exit is one more event in
 * the loop (no SIGCHLD handler, no signalfd). waitid(P_PIDFD, WNOWAIT)
 * checks now that it is our child: only a parent can reap.
 */
static int open_pidfd(pid_t pid)
{
	siginfo_t info;
	int fd = pidfd_open(pid, 0);

	if (fd < 0)
		return -1;
	if (waitid((idtype_t)P_PIDFD, (id_t)fd, &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* O_NONBLOCK: the loop must never sit in a read(2) or write(2) while other things wait. */
static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (fd < 0)
		return 0;
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/*
 * The attach socket: SOCK_SEQPACKET (see attach.c), bound at path, unless
 * box bound it already and passed it (--attach-fd: box run -it connects
 * before the container runs, and its connection waits in the backlog).
 * A socket file left at path by a monitor that was killed would make
 * bind(2) fail with EADDRINUSE: the path is ours alone (box runs one
 * monitor per container at a time), so remove it first.
 */
static int listen_attach(const struct options *o, struct failure *f)
{
	struct sockaddr_un addr;
	int fd, dir_fd;

	if (o->attach_fd >= 0)
		return set_nonblocking(o->attach_fd) < 0 ? failed(f, "attach socket fd %d", o->attach_fd) : o->attach_fd;
	if (unlink(o->attach_path) < 0 && errno != ENOENT)
		return failed(f, "remove the old attach socket %s", o->attach_path);
	if (unix_address(o->attach_path, &addr, &dir_fd) < 0)
		return failed(f, "attach socket %s", o->attach_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		failed(f, "create the attach socket");
	} else if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		failed(f, "listen on %s", o->attach_path);
		close(fd);
		fd = -1;
	}
	if (dir_fd >= 0)
		close(dir_fd);
	return fd;
}

/* The container's output and input descriptors, from a pty or from pipes. */
static int take_container_fds(struct monitor *m)
{
	const struct options *o = &m->opt;

	m->out_fd[LOG_STDOUT] = o->pty_fd >= 0 ? o->pty_fd : o->stdout_fd;
	m->out_fd[LOG_STDERR] = o->pty_fd >= 0 ? -1 : o->stderr_fd;
	m->in.fd = o->pty_fd >= 0 ? o->pty_fd : o->stdin_fd;
	m->in.len = m->in.done = 0;
	if (set_nonblocking(m->out_fd[LOG_STDOUT]) < 0 || set_nonblocking(m->out_fd[LOG_STDERR]) < 0 ||
	    set_nonblocking(m->in.fd) < 0)
		return -1;
	return 0;
}

/*
 * Everything before the loop. Only what makes watching impossible is fatal
 * (the pidfd, the container's descriptors); without a log or an attach
 * socket the container still runs, and the monitor says what is missing.
 */
static int set_up(struct monitor *m)
{
	struct failure f;

	m->listen_fd = -1;
	m->pidfd = open_pidfd(m->opt.pid);
	if (m->pidfd < 0) {
		say("watch the container (pidfd_open, waitid: is it our child?)", errno);
		return -1;
	}
	if (take_container_fds(m) < 0) {
		say("make the container's descriptors non-blocking", errno);
		return -1;
	}
	if (m->opt.log_path && log_open(&m->log, m->opt.log_path, m->opt.log_max_size, m->opt.log_max_files) < 0) {
		say("open the log (trying again as output comes)", errno);
		m->log_failing = true;
	}
	if (!m->opt.log_path)
		m->log.fd = -1;
	if (m->opt.attach_path) {
		m->listen_fd = listen_attach(&m->opt, &f);
		if (m->listen_fd < 0)
			say_failure(&f);
	}
	return 0;
}

/*
 * --ready-fd: tell the container's init to go on (one byte), now that its
 * output is watched and its first clients are connected, so that nothing it
 * prints is missed. The descriptor stays open until the end: in box the
 * init takes a closed pipe for box's death (child.c, die_with_parent).
 */
static void signal_ready(const struct options *o)
{
	char go = READY_BYTE;

	if (o->ready_fd >= 0 && write_all(o->ready_fd, &go, 1) < 0)
		say("tell the container to start (--ready-fd)", errno);
}

/* ---- Attach clients ---- */

/* Take every connection waiting on the socket; past MAX_CLIENTS, turn them away. */
static void accept_clients(struct monitor *m)
{
	int fd;

	while ((fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0 || errno == EINTR) {
		if (fd < 0)
			continue;
		if (m->nclients == MAX_CLIENTS) {
			close(fd);
			continue;
		}
		m->clients[m->nclients++] = (struct client){ .fd = fd };
	}
}

/* Forget client i (the last one takes its place). */
static void drop_client(struct monitor *m, int i)
{
	close(m->clients[i].fd);
	m->clients[i] = m->clients[--m->nclients];
}

/*
 * unix(7) SOCK_SEQPACKET: poll(2) says POLLOUT while at most a quarter of
 * the socket's send buffer is in use (the kernel's unix_writable), so a
 * client that is not behind can take at least one more message of any
 * size we send. After each message we look: a client that is now behind
 * is waited for (no more output is read, the container's pipe fills and
 * it waits too, as with docker) for up to CLIENT_STALL_MAX_MS; then it is
 * dropped, so that one stuck client cannot stop the container for good.
 */
static void mark_clients_behind(struct monitor *m)
{
	struct pollfd pfd[MAX_CLIENTS];
	struct timespec now;

	if (m->nclients == 0)
		return;
	for (int i = 0; i < m->nclients; i++)
		pfd[i] = (struct pollfd){ .fd = m->clients[i].fd, .events = POLLOUT };
	if (poll(pfd, (nfds_t)m->nclients, 0) < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (int i = 0; i < m->nclients; i++) {
		if (!(pfd[i].revents & POLLOUT) && !m->clients[i].behind) {
			m->clients[i].behind = true;
			m->clients[i].behind_since = now;
		}
	}
}

/*
 * send(2) one message to a client. MSG_DONTWAIT: never wait here (EAGAIN
 * instead); MSG_NOSIGNAL: a client gone is EPIPE, not SIGPIPE.
 */
static int send_to_client(int fd, const char *msg, size_t len)
{
	while (send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Send one message to every client; one that cannot take it (gone, or full after all) is dropped. */
static void broadcast(struct monitor *m, const char *msg, size_t len)
{
	for (int i = m->nclients - 1; i >= 0; i--) {
		if (send_to_client(m->clients[i].fd, msg, len) < 0)
			drop_client(m, i);
	}
	mark_clients_behind(m);
}

static bool any_client_behind(const struct monitor *m)
{
	for (int i = 0; i < m->nclients; i++) {
		if (m->clients[i].behind)
			return true;
	}
	return false;
}

/* Milliseconds from a to b (CLOCK_MONOTONIC). */
static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L;
}

/* Drop the clients behind for too long; return how long poll may wait for the next one (-1: no limit). */
static int drop_stalled_clients(struct monitor *m)
{
	struct timespec now;
	long wait = -1, left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (int i = 0; i < m->nclients; i++) {
		if (!m->clients[i].behind)
			continue;
		left = CLIENT_STALL_MAX_MS - ms_between(&m->clients[i].behind_since, &now);
		if (left <= 0) {
			say("dropped an attach client: it stopped reading", 0);
			drop_client(m, i--);
		} else if (wait < 0 || left < wait) {
			wait = left;
		}
	}
	return (int)wait;
}

/* ---- The container's input ---- */

/* Close the container's stdin: it reads end of file. (A pty has no separate input to close.) */
static void close_input(struct monitor *m)
{
	if (m->in.fd >= 0 && m->in.fd != m->opt.pty_fd)
		close(m->in.fd);
	m->in.fd = -1;
	m->in.len = m->in.done = 0;
}

/* Write what waits for the container, as much as it takes now. EPIPE: it closed its stdin; drop the rest. */
static void flush_input(struct monitor *m)
{
	struct input *in = &m->in;
	ssize_t n;

	while (in->fd >= 0 && in->done < in->len) {
		n = write(in->fd, in->buf + in->done, in->len - in->done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			close_input(m);
			return;
		}
		in->done += (size_t)n;
	}
	in->len = in->done = 0;
}

/* Input from a client, queued for the container (the queue is empty: see set_poll_fds). */
static void queue_input(struct monitor *m, const char *data, size_t len)
{
	if (m->in.fd < 0)
		return;		/* no stdin (run without -i), or it was closed */
	memcpy(m->in.buf, data, len);
	m->in.len = len;
	m->in.done = 0;
	flush_input(m);
}

/* ioctl_tty(2) TIOCSWINSZ on the master: the kernel sends SIGWINCH to the pty's foreground process group. */
static void resize_pty(struct monitor *m, const struct attach_msg *msg)
{
	struct winsize ws = { 0 };

	if (m->opt.pty_fd < 0 || attach_decode_resize(msg, &ws.ws_row, &ws.ws_col) < 0)
		return;
	ioctl(m->opt.pty_fd, TIOCSWINSZ, &ws);
}

/* One message from client i. A message that is not one of ours drops the client. */
static void take_client_message(struct monitor *m, int i)
{
	char buf[ATTACH_MSG_MAX];
	struct attach_msg msg;
	ssize_t n = recv(m->clients[i].fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0 || attach_decode(buf, (size_t)n, &msg) < 0) {
		drop_client(m, i);	/* n == 0: it hung up */
		return;
	}
	if (msg.type == ATTACH_STDIN)
		queue_input(m, msg.data, msg.len);
	else if (msg.type == ATTACH_RESIZE)
		resize_pty(m, &msg);
	else if (msg.type == ATTACH_CLOSE_STDIN && m->in.fd != m->opt.pty_fd)
		close_input(m);
}

/* ---- The container's output ---- */

/* Stop reading one of the container's outputs: it closed it (end of file; EIO from a pty whose other side is gone). */
static void close_output(struct monitor *m, enum log_stream stream)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (m->opt.log_path)
		log_flush(&m->log, stream, &now);	/* its last line, even without '\n' */
	if (m->out_fd[stream] != m->opt.pty_fd)
		close(m->out_fd[stream]);
	m->out_fd[stream] = -1;
}

/* Log a chunk of output; say so once when the log starts failing (disk full, directory gone), and once when it works again. */
static void log_output(struct monitor *m, enum log_stream stream, const char *data, size_t len)
{
	struct timespec now;
	int ret;

	if (!m->opt.log_path)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	ret = log_write(&m->log, stream, data, len, &now);
	if (ret < 0 && !m->log_failing)
		say("write the log (dropping output until it works again)", errno);
	if (ret == 0 && m->log_failing && m->log.error == 0)
		say("the log works again", 0);
	m->log_failing = m->log.error != 0;
}

/* One read from stdout or stderr: to the log and to every client. Returns whether it read anything. */
static bool read_output(struct monitor *m, enum log_stream stream)
{
	ssize_t n;

	do {
		n = read(m->out_fd[stream], m->msg + 1, ATTACH_DATA_MAX);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return false;
	if (n <= 0) {
		close_output(m, stream);
		return false;
	}
	log_output(m, stream, m->msg + 1, (size_t)n);
	m->msg[0] = stream == LOG_STDOUT ? ATTACH_STDOUT : ATTACH_STDERR;
	broadcast(m, m->msg, (size_t)n + 1);
	return true;
}

/* ---- The exit ---- */

/* waitid(2) on the pidfd: reap the container's init and keep its status as a shell reports it. */
static void reap(struct monitor *m)
{
	siginfo_t info = { 0 };

	clock_gettime(CLOCK_REALTIME, &m->finished_at);
	while (waitid((idtype_t)P_PIDFD, (id_t)m->pidfd, &info, WEXITED) < 0) {
		if (errno != EINTR) {
			say("reap the container (waitid)", errno);
			m->exit_status = EXIT_MONITOR_FAILED;
			m->exited = true;
			return;
		}
	}
	if (info.si_code == CLD_EXITED)
		m->exit_status = info.si_status;
	else
		m->exit_status = EXIT_SIGNAL_BASE + info.si_status;	/* CLD_KILLED, CLD_DUMPED */
	m->exited = true;
}

/* ---- The loop ---- */

/*
 * What to wait for this round. poll(2) ignores a slot whose fd is negative,
 * so every slot is always there and a thing we do not wait for is -1. Output
 * is not read while a client is behind (see mark_clients_behind); client
 * messages are not taken while input for the container still waits.
 */
static void set_poll_fds(const struct monitor *m, struct pollfd *pfd, bool read_output_now)
{
	for (int i = 0; i < SLOTS; i++)
		pfd[i] = (struct pollfd){ .fd = -1 };
	pfd[SLOT_PID] = (struct pollfd){ .fd = m->exited ? -1 : m->pidfd, .events = POLLIN };
	pfd[SLOT_LISTEN] = (struct pollfd){ .fd = m->exited ? -1 : m->listen_fd, .events = POLLIN };
	for (int s = 0; s < LOG_STREAMS; s++) {
		pfd[SLOT_STDOUT + s].fd = read_output_now ? m->out_fd[s] : -1;
		pfd[SLOT_STDOUT + s].events = POLLIN;
	}
	pfd[SLOT_STDIN] = (struct pollfd){ .fd = m->in.len > 0 ? m->in.fd : -1, .events = POLLOUT };
	for (int i = 0; i < m->nclients; i++) {
		pfd[SLOT_CLIENTS + i].fd = m->clients[i].fd;
		pfd[SLOT_CLIENTS + i].events = (m->in.len == 0 ? POLLIN : 0) | (m->clients[i].behind ? POLLOUT : 0);
	}
}

/* Clients: caught up (POLLOUT), a message (POLLIN), gone (POLLHUP, POLLERR). Back to front, as drop_client reorders. */
static void handle_clients(struct monitor *m, const struct pollfd *pfd)
{
	for (int i = m->nclients - 1; i >= 0; i--) {
		short revents = pfd[SLOT_CLIENTS + i].revents;

		if (revents & POLLOUT)
			m->clients[i].behind = false;
		if (revents & POLLIN)
			take_client_message(m, i);
		else if (revents & (POLLHUP | POLLERR))
			drop_client(m, i);
	}
}

/* Output, one read per stream and round, and none once a client falls behind. Returns whether any was read. */
static bool handle_output(struct monitor *m, const struct pollfd *pfd)
{
	bool got = false;

	for (int s = 0; s < LOG_STREAMS; s++) {
		if (pfd[SLOT_STDOUT + s].revents && m->out_fd[s] >= 0 && !any_client_behind(m))
			got |= read_output(m, s);
	}
	return got;
}

/*
 * The loop: until the container has exited, and after that until its
 * output is drained (what it wrote before it exited is still in the pipe).
 * After the exit poll does not wait (timeout 0) unless a client is
 * behind: the first round in which output could be read and none was
 * ends it. A writer that outlived the init (outside a PID namespace) and
 * keeps the pipe open without writing does not hold the monitor up.
 */
static void watch(struct monitor *m)
{
	struct pollfd pfd[SLOTS];

	for (;;) {
		int wait = drop_stalled_clients(m);
		bool can_read = !any_client_behind(m), got;

		if (m->exited && can_read)
			wait = 0;
		set_poll_fds(m, pfd, can_read);
		if (poll(pfd, SLOTS, wait) < 0) {
			if (errno != EINTR)
				say("wait (poll)", errno);
			continue;
		}
		if (pfd[SLOT_LISTEN].revents)
			accept_clients(m);
		if (pfd[SLOT_STDIN].revents)
			flush_input(m);
		handle_clients(m, pfd);
		got = handle_output(m, pfd);
		if (m->exited && can_read && !got)
			return;
		if (pfd[SLOT_PID].revents)
			reap(m);
	}
}

/* {"ExitCode":7,"FinishedAt":"..."}: docker inspect's names for them, in a file of their own. */
static int record_exit(const struct monitor *m)
{
	char time[LOG_TIME_MAX], text[128];

	if (format_time(&m->finished_at, false, time) < 0 ||
	    format_into(text, sizeof(text), "{\"ExitCode\":%d,\"FinishedAt\":\"%s\"}\n", m->exit_status, time) < 0)
		return -1;
	return write_file_atomically(m->opt.exit_file, text);
}

/*
 * The end, in the order readers depend on: the last partial lines into the
 * log, the log closed; the exit file (box logs -f stops when it appears,
 * so the log must be complete by then); the socket removed (a late attach
 * finds nothing and reads the exit file); the clients told the status
 * (none is behind now, so the message fits) and let go.
 */
static void finish(struct monitor *m)
{
	char msg[ATTACH_MSG_MAX];
	size_t len;

	for (int s = 0; s < LOG_STREAMS; s++) {
		if (m->opt.log_path)
			log_flush(&m->log, s, &m->finished_at);
	}
	log_close(&m->log);
	if (record_exit(m) < 0)
		say("record the exit status", errno);
	if (m->listen_fd >= 0 && unlink(m->opt.attach_path) < 0 && errno != ENOENT)
		say("remove the attach socket", errno);
	len = attach_encode_u32(msg, sizeof(msg), ATTACH_EXIT, (uint32_t)m->exit_status);
	for (int i = m->nclients - 1; i >= 0; i--) {
		send(m->clients[i].fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		drop_client(m, i);
	}
}

/*
 * Become the cleanup command, exactly once. Nothing of ours may reach it:
 * close_range(2) closes every descriptor but 0, 1, 2 (the log, the pidfd,
 * sockets, --keep-fd locks, which box cleanup takes again itself), and
 * the signals get their defaults back.
 */
static _Noreturn void exec_cleanup(char **argv)
{
	default_signals();
	close_range(3, ~0U, 0);
	execvp(argv[0], argv);
	say("exec the cleanup command", errno);
	_exit(EXIT_MONITOR_FAILED);
}

/* Zeroed and not on the stack: pages of it never touched (the log's line buffers) cost no memory. */
static struct monitor monitor;

int main(int argc, char *argv[])
{
	struct monitor *m = &monitor;

	if (parse_options(argc, argv, &m->opt) < 0)
		return EXIT_MONITOR_FAILED;
	close_unnamed_fds(&m->opt);
	if (ignore_signals() < 0) {
		say("ignore stop signals", errno);
		return EXIT_MONITOR_FAILED;
	}
	if (set_up(m) < 0)
		return EXIT_MONITOR_FAILED;
	if (m->listen_fd >= 0)
		accept_clients(m);	/* connections made before we started (--attach-fd) */
	signal_ready(&m->opt);
	watch(m);
	finish(m);
	exec_cleanup(m->opt.cleanup);
}
