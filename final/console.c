/*
 * console.c - the container's terminal, and handing it to whoever asked.
 *
 * With "terminal": true, the container's process gets a pseudo-terminal
 * (pty(7)) as its stdin, stdout, stderr and controlling terminal. The other
 * end, the master, belongs to the client (conmon, containerd's shim): it
 * passes `--console-socket PATH`, a listening unix(7) stream socket, and
 * the runtime sends the master there as SCM_RIGHTS ancillary data
 * (cmsg(3), unix(7) "Ancillary messages"). runc sends one message whose
 * data is the pty's name and whose control part carries exactly one fd;
 * conmon and the shim accept exactly that (CLIENTS.md §3).
 *
 * Where each step happens matters:
 *  1. console_connect: in the runtime, before the container's mount
 *     namespace hides PATH. The connected fd goes down to the child.
 *  2. console_create: in the child, after /dev/pts is the container's own
 *     devpts and the root is pivoted, so the pty belongs to the container
 *     (inside, `tty` prints /dev/pts/0, and the host's /dev/pts is not
 *     involved).
 *  3. console_send_master, then console_become_stdio: setsid(2) and
 *     TIOCSCTTY make it the controlling terminal (credentials(7), tty_ioctl(4)).
 * All of it during `create`: the client attaches before `start`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "box.h"

enum {
	PTY_NAME_MAX = 64,		/* "/dev/pts/NNN" */
};

/* Step 1: connect to the client's listening socket (unix(7), SOCK_STREAM). */
int console_connect(const char *socket_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(socket_path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * The slave of master. TIOCGPTPEER (Linux 4.13, ioctl_tty(2)) opens it
 * through the master itself, with no path lookup that a process in the
 * container could race; older kernels get ptsname_r(3) and open(2).
 */
static int open_peer(int master)
{
	char name[PTY_NAME_MAX];
	int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd >= 0 || (errno != EINVAL && errno != ENOTTY))
		return fd;
	if (ptsname_r(master, name, sizeof(name)) != 0)
		return -1;
	return open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

/*
 * Step 2: a new pty pair, from the devpts mounted at the container's
 * /dev/pts (posix_openpt(3) opens /dev/ptmx, which points there).
 * grantpt(3) is a no-op on Linux's devpts; unlockpt(3) is needed.
 */
int console_create(int *master, int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0)
		return -1;
	if (grantpt(m) < 0 || unlockpt(m) < 0)
		goto fail;
	*slave = open_peer(m);
	if (*slave < 0)
		goto fail;
	*master = m;
	return 0;
fail:
	{
		int err = errno;

		close(m);
		errno = err;
	}
	return -1;
}

/* process.consoleSize, with TIOCSWINSZ (ioctl_tty(2)); 0 rows or columns means "leave it". */
int console_set_size(int master, unsigned short rows, unsigned short cols)
{
	struct winsize size = { .ws_row = rows, .ws_col = cols };

	if (rows == 0 || cols == 0)
		return 0;
	return ioctl(master, TIOCSWINSZ, &size);
}

/*
 * Step 3a: one sendmsg(2) with the pty's name as data and the master as
 * the single SCM_RIGHTS fd, as runc does (cmsg.SendRawFd).
 */
int console_send_master(int socket_fd, int master)
{
	char name[PTY_NAME_MAX] = "/dev/ptmx";
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;	/* cmsg(3): the buffer must be aligned for cmsghdr */
	} control;
	struct iovec iov = { .iov_base = name, .iov_len = 0 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;

	if (ptsname_r(master, name, sizeof(name)) != 0)
		snprintf(name, sizeof(name), "/dev/ptmx");
	iov.iov_len = strlen(name);
	memset(&control, 0, sizeof(control));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
	while (sendmsg(socket_fd, &msg, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * runc also binds the slave over /dev/console, so that programs that write
 * to the console (init systems) reach the container's terminal, not the
 * host's. Run in the container after pivot_root; /dev is its tmpfs.
 */
int console_bind_dev_console(int slave)
{
	char fd_path[PTY_NAME_MAX], name[PTY_NAME_MAX];
	ssize_t n;
	int fd;

	if (format_into(fd_path, sizeof(fd_path), "/proc/self/fd/%d", slave) < 0)
		return -1;
	n = readlink(fd_path, name, sizeof(name) - 1);
	if (n < 0)
		return -1;
	name[n] = '\0';
	fd = open("/dev/console", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) < 0)
		return -1;
	return mount(name, "/dev/console", NULL, MS_BIND, NULL);
}

/*
 * Step 3b: a new session (setsid(2)), whose controlling terminal becomes
 * the slave (TIOCSCTTY, ioctl_tty(2)); then the slave is fds 0, 1 and 2.
 */
int console_become_stdio(int slave)
{
	if (setsid() < 0)
		return -1;
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return -1;
	for (int fd = 0; fd <= 2; fd++) {
		if (dup2(slave, fd) < 0)
			return -1;
	}
	if (slave > 2)
		close(slave);
	return 0;
}

/*
 * The client's side, for tests and for `box run -t` (box is then its own
 * client): receive one message with exactly one SCM_RIGHTS fd.
 */
int console_receive_master(int socket_fd)
{
	char name[PTY_NAME_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	int fd;

	while (recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC) < 0) {
		if (errno != EINTR)
			return -1;
	}
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)) || (msg.msg_flags & MSG_CTRUNC)) {
		errno = EBADMSG;
		return -1;
	}
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}
