/*
 * attach.c - the attach socket: its messages (used by the monitor and by
 * box), and the client side of box attach / box start -a.
 *
 * The monitor listens on a unix socket of type SOCK_SEQPACKET (unix(7)):
 * connection-oriented like a stream, but the kernel keeps each message
 * whole, as a datagram socket does. So the framing is one type byte and
 * the payload, and one recv(2) returns exactly one message: no length
 * field, no message split across reads, nothing to reassemble.
 *
 *     monitor -> client   [1][bytes]  the container wrote to stdout (or to its pty)
 *                         [2][bytes]  ... to stderr
 *                         [3][4 bytes big-endian]  it exited with this status; then EOF
 *     client -> monitor   [0][bytes]  for the container's stdin (or its pty)
 *                         [4][rows 2 bytes][cols 2 bytes]  the terminal's new size
 *                         [5]         no more input: close the container's stdin
 *
 * The types 0, 1, 2 are docker's stream numbers in its attach stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "monitor.h"

/* ---- Messages ---- */

/* A message of type with len bytes of data into buf; its size, or 0 if it does not fit. */
size_t attach_encode(char *buf, size_t size, enum attach_type type, const void *data, size_t len)
{
	if (len > ATTACH_DATA_MAX || len + 1 > size)
		return 0;
	buf[0] = (char)type;
	if (len > 0)
		memcpy(buf + 1, data, len);
	return len + 1;
}

/* Numbers go big-endian ("network order"), byte by byte, whatever this machine's order. */
static void put_be16(char *p, unsigned int value)
{
	p[0] = (char)(value >> 8);
	p[1] = (char)value;
}

static unsigned int get_be16(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (unsigned int)u[0] << 8 | u[1];
}

/* ATTACH_EXIT: the exit status as 4 bytes. */
size_t attach_encode_u32(char *buf, size_t size, enum attach_type type, uint32_t value)
{
	char data[4];

	put_be16(data, value >> 16);
	put_be16(data + 2, value & 0xFFFF);
	return attach_encode(buf, size, type, data, sizeof(data));
}

/* ATTACH_RESIZE: rows, then columns, as ioctl_tty(2)'s struct winsize has them. */
size_t attach_encode_resize(char *buf, size_t size, unsigned short rows, unsigned short cols)
{
	char data[4];

	put_be16(data, rows);
	put_be16(data + 2, cols);
	return attach_encode(buf, size, ATTACH_RESIZE, data, sizeof(data));
}

/* The payload size a type must have: -1 for "any up to ATTACH_DATA_MAX". */
static long fixed_size(enum attach_type type)
{
	switch (type) {
	case ATTACH_EXIT:
	case ATTACH_RESIZE:
		return 4;
	case ATTACH_CLOSE_STDIN:
		return 0;
	default:
		return -1;
	}
}

/* The message in buf[0..len) (as one recv(2) returned it) into m; -1 with EPROTO if it is not one. */
int attach_decode(const char *buf, size_t len, struct attach_msg *m)
{
	unsigned char type;

	if (len < 1 || len > ATTACH_MSG_MAX) {
		errno = EPROTO;
		return -1;
	}
	type = (unsigned char)buf[0];
	if (type > ATTACH_CLOSE_STDIN || (fixed_size(type) >= 0 && (size_t)fixed_size(type) != len - 1)) {
		errno = EPROTO;
		return -1;
	}
	m->type = type;
	m->data = buf + 1;
	m->len = len - 1;
	return 0;
}

int attach_decode_u32(const struct attach_msg *m, uint32_t *value)
{
	if (m->len != 4) {
		errno = EPROTO;
		return -1;
	}
	*value = (uint32_t)get_be16(m->data) << 16 | get_be16(m->data + 2);
	return 0;
}

int attach_decode_resize(const struct attach_msg *m, unsigned short *rows, unsigned short *cols)
{
	if (m->type != ATTACH_RESIZE || m->len != 4) {
		errno = EPROTO;
		return -1;
	}
	*rows = (unsigned short)get_be16(m->data);
	*cols = (unsigned short)get_be16(m->data + 2);
	return 0;
}

/*
 * The address of the socket at path, for bind(2) or connect(2). unix(7):
 * sun_path holds 107 bytes and a '\0', and a container's directory under a
 * test's --state can be deeper than that. Then the socket is named through
 * its directory: open the directory (O_PATH) and use
 * "/proc/self/fd/N/NAME", which the kernel resolves through the open
 * directory however long its real path is. *dir_fd is that directory
 * (close it after bind or connect), or -1.
 */
int unix_address(const char *path, struct sockaddr_un *addr, int *dir_fd)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	*dir_fd = -1;
	if (format_into(addr->sun_path, sizeof(addr->sun_path), "%s", path) == 0)
		return 0;
	if (!slash || format_into(dir, sizeof(dir), "%.*s", (int)(slash - path), path) < 0)
		return -1;
	*dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dir_fd < 0)
		return -1;
	if (format_into(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", *dir_fd, slash + 1) < 0) {
		close(*dir_fd);
		*dir_fd = -1;
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Ctrl-P Ctrl-Q detaches, as in docker. A Ctrl-P is held back until the
 * next byte says what it is: Ctrl-Q (detach; neither is sent) or anything
 * else (the Ctrl-P is sent after all, then that byte is looked at afresh).
 * Copies in[0..n) to out, which must hold n + 1 bytes (a Ctrl-P held from
 * the last call comes first). Returns true when the user asked to detach:
 * out then holds what came before the keys.
 */
bool detach_filter(struct detach_keys *k, const char *in, size_t n, char *out, size_t *out_len)
{
	*out_len = 0;
	for (size_t i = 0; i < n; i++) {
		if (k->held && in[i] == DETACH_KEY_2) {
			k->held = false;
			return true;
		}
		if (k->held)
			out[(*out_len)++] = DETACH_KEY_1;
		k->held = in[i] == DETACH_KEY_1;
		if (!k->held)
			out[(*out_len)++] = in[i];
	}
	return false;
}

/* ---- The client ---- */

/* Connect to the monitor's attach socket at path. */
int attach_connect(const char *path, struct failure *f)
{
	struct sockaddr_un addr;
	int fd, dir_fd, err;

	if (unix_address(path, &addr, &dir_fd) < 0)
		return failed(f, "attach socket %s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		failed(f, "create a socket to attach to %s", path);
	} else if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		failed(f, "connect to %s (has the container exited?)", path);
		err = errno;
		close(fd);
		errno = err;
		fd = -1;
	}
	if (dir_fd >= 0)
		close(dir_fd);
	return fd;
}

/* Send one message; the socket blocks us while the monitor's queue is full, which is what we want here. */
static int send_msg(int sock, enum attach_type type, const void *data, size_t len)
{
	char msg[ATTACH_MSG_MAX];
	size_t n = attach_encode(msg, sizeof(msg), type, data, len);

	if (n == 0) {
		errno = EMSGSIZE;
		return -1;
	}
	while (send(sock, msg, n, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Tell the monitor our terminal's size: ioctl_tty(2) TIOCGWINSZ here, TIOCSWINSZ there. */
static int send_window_size(int sock, const struct attach_options *o)
{
	struct winsize ws;
	char msg[ATTACH_MSG_MAX];
	size_t n;

	if (ioctl(o->out_fd, TIOCGWINSZ, &ws) < 0 && ioctl(o->in_fd, TIOCGWINSZ, &ws) < 0)
		return 0;	/* neither is a terminal: there is no size to pass on */
	n = attach_encode_resize(msg, sizeof(msg), ws.ws_row, ws.ws_col);
	while (send(sock, msg, n, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * termios(3) cfmakeraw: no echo, no line editing, no signals from keys
 * (Ctrl-C becomes byte 3, which the container's pty turns into SIGINT
 * there), no output processing: every byte goes through as it is, and the
 * terminal inside does the work. *saved is what to restore.
 */
static int enter_raw_mode(int fd, struct termios *saved)
{
	struct termios raw;

	if (tcgetattr(fd, saved) < 0)
		return -1;
	raw = *saved;
	cfmakeraw(&raw);
	return tcsetattr(fd, TCSADRAIN, &raw);
}

/*
 * signalfd(2): SIGWINCH (the terminal was resized) and SIGTERM, SIGHUP,
 * SIGINT (stop attaching) arrive as reads on a descriptor, in the same
 * poll(2) as everything else, instead of interrupting us in a handler.
 * They must be blocked first, or they would still be delivered the old
 * way. *old is the mask to restore.
 */
static int signals_as_fd(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, old) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* One message from the monitor: output to our stdout or stderr, or the exit status. 0: go on; 1: it hung up. */
static int take_message(int sock, const struct attach_options *o, struct attach_result *r)
{
	char buf[ATTACH_MSG_MAX];
	struct attach_msg m;
	uint32_t status;
	ssize_t n = recv(sock, buf, sizeof(buf), 0);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return 1;
	if (attach_decode(buf, (size_t)n, &m) < 0)
		return 0;	/* not a message we know: a newer monitor may send more kinds */
	if (m.type == ATTACH_STDOUT)
		return write_all(o->out_fd, m.data, m.len);
	if (m.type == ATTACH_STDERR)
		return write_all(o->err_fd, m.data, m.len);
	if (m.type == ATTACH_EXIT && attach_decode_u32(&m, &status) == 0) {
		r->exited = true;
		r->exit_status = (int)status;
	}
	return 0;
}

/*
 * What the user typed: pass it on, unless it holds Ctrl-P Ctrl-Q. At end
 * of input, close the container's stdin if asked (box start -a -i < file).
 * Returns 1 once we should stop reading input (end, or detach).
 */
static int forward_input(int sock, const struct attach_options *o, struct detach_keys *keys,
			 struct attach_result *r)
{
	char in[ATTACH_DATA_MAX - 1], out[ATTACH_DATA_MAX];
	ssize_t n = read(o->in_fd, in, sizeof(in));
	size_t len;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		if (o->close_stdin_at_eof && send_msg(sock, ATTACH_CLOSE_STDIN, NULL, 0) < 0)
			return -1;
		return 1;
	}
	r->detached = detach_filter(keys, in, (size_t)n, out, &len);
	if (len > 0 && send_msg(sock, ATTACH_STDIN, out, len) < 0)
		return -1;
	return r->detached ? 1 : 0;
}

/* A signal from signalfd: SIGWINCH passes the new size on; the others detach. 1: stop. */
static int take_signal(int sig_fd, int sock, const struct attach_options *o, struct attach_result *r)
{
	struct signalfd_siginfo info;

	if (read(sig_fd, &info, sizeof(info)) != sizeof(info))
		return 0;
	if (info.ssi_signo == SIGWINCH)
		return o->tty ? send_window_size(sock, o) : 0;
	r->detached = true;
	return 1;
}

/* The session itself: until the container exits, the user detaches, or something fails. */
static int session_loop(int sock, int sig_fd, const struct attach_options *o, struct attach_result *r,
			struct failure *f)
{
	struct detach_keys keys = { false };
	bool reading = o->forward_stdin;
	int done;

	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = sock, .events = POLLIN },
			{ .fd = reading ? o->in_fd : -1, .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
		};

		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return failed(f, "wait for the container (poll)");
		}
		if (pfd[0].revents) {
			done = take_message(sock, o, r);
			if (done < 0)
				return failed(f, "pass on the container's output");
			if (done > 0 && !r->exited) {
				errno = ECONNRESET;	/* the monitor died, or dropped us for not reading */
				return failed(f, "the monitor hung up before the container exited");
			}
			if (done > 0)
				return 0;
		}
		if (pfd[1].revents) {
			done = forward_input(sock, o, &keys, r);
			if (done < 0)
				return failed(f, "pass on input to the container");
			if (r->detached)
				return 0;
			reading = done == 0;
		}
		if (pfd[2].revents && take_signal(sig_fd, sock, o, r) > 0)
			return 0;
	}
}

/*
 * Attach to a container through the monitor's socket (from attach_connect):
 * show its output, pass on input with -i, keep the window size in step with
 * -t, until it exits (r->exited, r->exit_status) or the user detaches
 * (r->detached). The terminal is left as it was found, whatever happens.
 */
int attach_session(int sock, const struct attach_options *o, struct attach_result *r, struct failure *f)
{
	struct termios saved;
	bool raw = false;
	sigset_t old_mask;
	int sig_fd, ret;

	memset(r, 0, sizeof(*r));
	sig_fd = signals_as_fd(&old_mask);
	if (sig_fd < 0)
		return failed(f, "set up signals (signalfd)");
	if (o->tty && o->forward_stdin && isatty(o->in_fd)) {
		if (enter_raw_mode(o->in_fd, &saved) < 0) {
			ret = failed(f, "put the terminal in raw mode");
			goto restore_signals;
		}
		raw = true;
	}
	if (o->tty && send_window_size(sock, o) < 0) {
		ret = failed(f, "send the window size");
		goto restore_terminal;
	}
	ret = session_loop(sock, sig_fd, o, r, f);
restore_terminal:
	if (raw)
		tcsetattr(o->in_fd, TCSADRAIN, &saved);
restore_signals:
	close(sig_fd);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return ret;
}
