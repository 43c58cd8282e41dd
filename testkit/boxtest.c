/*
 * boxtest.c - run box like a user would, and check that it cleans up.
 * See boxtest.h. TESTKIT_DIR is set by the stage's Makefile.
 */
#include "boxtest.h"

#include <dirent.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char scratch_dir[] = "/tmp/box-test.XXXXXX";
static char rootfs_dir[sizeof(scratch_dir) + 16];
static char box_root[sizeof(scratch_dir) + 16], box_state[sizeof(scratch_dir) + 16];

const char *box_path(void)
{
	const char *box = getenv("BOX");

	return box ? box : "./box";
}

const char *test_dir(void)
{
	return scratch_dir;
}

const char *test_rootfs(void)
{
	return rootfs_dir;
}

int is_root(void)
{
	return geteuid() == 0;
}

void skip_unless_root(void)
{
	if (!is_root()) {
		print_message("skipped: this test runs box as root\n");
		skip();
	}
}

static int status_of(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	return 128 + WTERMSIG(wstatus);
}

/* Append what is readable on fd to buf; returns 0 at end of file. */
static int drain(int fd, char *buf, size_t *len)
{
	ssize_t n;
	char scrap[4096];

	if (*len < RUN_OUTPUT_MAX - 1)
		n = read(fd, buf + *len, RUN_OUTPUT_MAX - 1 - *len);
	else
		n = read(fd, scrap, sizeof(scrap));	/* output past the limit is dropped */
	if (n < 0)
		return errno == EINTR ? 1 : 0;
	if (n > 0 && *len < RUN_OUTPUT_MAX - 1)
		*len += (size_t)n;
	buf[*len] = '\0';
	return n > 0;
}

static void exec_child(char *const argv[], int in, int out, int err)
{
	dup2(in, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	dup2(err, STDERR_FILENO);
	execvp(argv[0], argv);
	fprintf(stderr, "boxtest: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Read the child's stdout and stderr until both close or the time is up. */
static int collect(struct run *r, int out, int err, time_t deadline)
{
	struct pollfd fds[2] = { { .fd = out, .events = POLLIN }, { .fd = err, .events = POLLIN } };
	size_t out_len = 0, err_len = 0;

	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		int left = (int)(deadline - time(NULL));

		if (left <= 0 || poll(fds, 2, left * 1000) == 0)
			return -1;
		if (fds[0].revents && !drain(out, r->out, &out_len))
			fds[0].fd = -1;
		if (fds[1].revents && !drain(err, r->err, &err_len))
			fds[1].fd = -1;
	}
	return 0;
}

struct run run_argv_with_input(char *const argv[], const char *input)
{
	static struct run r;
	int out[2], err[2], in[2], wstatus;
	pid_t pid;

	memset(&r, 0, sizeof(r));
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		exec_child(argv, in[0], out[1], err[1]);
	close(out[1]);
	close(err[1]);
	close(in[0]);
	if (input && write(in[1], input, strlen(input)) < 0)
		print_error("boxtest: write input: %s\n", strerror(errno));
	close(in[1]);
	if (collect(&r, out[0], err[0], time(NULL) + RUN_TIMEOUT_SECONDS) < 0) {
		print_error("boxtest: %s did not finish in %d s; killing it\n", argv[0], RUN_TIMEOUT_SECONDS);
		kill(pid, SIGKILL);
		r.status = -1;
	}
	close(out[0]);
	close(err[0]);
	while (waitpid(pid, &wstatus, 0) < 0)
		assert_int_equal(errno, EINTR);
	if (r.status != -1)
		r.status = status_of(wstatus);
	return r;
}

void assert_status(const struct run *r, int status)
{
	if (r->status != status)
		fail_msg("exit status %d, expected %d; stderr:\n%s", r->status, status, r->err);
}

struct run run_argv(char *const argv[])
{
	return run_argv_with_input(argv, NULL);
}

struct run run_box(const char *arg, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)box_path();
	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *)) {
		assert_true(argc < 63);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	return run_argv(argv);
}

void host_sh(const char *fmt, ...)
{
	char cmd[4096];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct run r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = run_argv(argv);
	if (r.status != 0)
		fail_msg("host command failed (status %d): %s\n%s", r.status, cmd, r.err);
}

pid_t read_pid(const char *path)
{
	char text[32];

	if (!read_text(path, text, sizeof(text)))
		fail_msg("cannot read a pid from %s: %s", path, strerror(errno));
	return (pid_t)atoi(text);
}

int signal_and_reap(const char *pidfile, int sig)
{
	pid_t pid = read_pid(pidfile);
	int wstatus;

	assert_int_equal(kill(pid, sig), 0);
	/* Started in the background by a shell that has exited, it is now our child (subreaper). */
	for (int tries = 0; tries < 500; tries++) {
		if (waitpid(pid, &wstatus, WNOHANG) == pid)
			return status_of(wstatus);
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return -1;
		usleep(10 * 1000);
	}
	fail_msg("process %d did not exit within 5 s of signal %d", (int)pid, sig);
	return -1;
}

int wait_for_file(const char *path)
{
	for (int tries = 0; tries < 500 && access(path, F_OK) < 0; tries++)
		usleep(10 * 1000);
	return access(path, F_OK);
}

int still_running(const char *pidfile)
{
	char path[64], stat[512], *paren;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)read_pid(pidfile));
	if (!read_text(path, stat, sizeof(stat)))
		return 0;
	/* proc(5): "pid (comm) state ..."; Z is a zombie, exited but not yet reaped. */
	paren = strrchr(stat, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z';
}

void select_tests(void)
{
	const char *pattern = getenv("TEST");

	if (pattern && pattern[0])
		cmocka_set_test_filter(pattern);
}

char *read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* ---- clean-host check ------------------------------------------------------------------ */

static int compare_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Split text into lines and sort them, so two snapshots compare as multisets. */
static size_t sorted_lines(char *text, char **lines, size_t max)
{
	size_t n = 0;

	for (char *line = strtok(text, "\n"); line && n < max; line = strtok(NULL, "\n"))
		lines[n++] = line;
	qsort(lines, n, sizeof(*lines), compare_lines);
	return n;
}

static char *snapshot(void)
{
	char *argv[] = { TESTKIT_DIR "/host-state", NULL };
	struct run r = run_argv(argv);

	if (r.status != 0)
		fail_msg("testkit/host-state failed: %s", r.err);
	return strdup(r.out);
}

void host_state_save(struct host_state *before)
{
	before->lines = snapshot();
	assert_non_null(before->lines);
}

/* Append to report every line of after that has no partner in before. */
static void new_lines(char *before, char *after, char *report, size_t size)
{
	enum { MAX_LINES = 4096 };
	static char *b[MAX_LINES], *a[MAX_LINES];
	size_t nb = sorted_lines(before, b, MAX_LINES), na = sorted_lines(after, a, MAX_LINES);
	size_t i = 0, j = 0;

	while (j < na) {
		int cmp = i < nb ? strcmp(b[i], a[j]) : 1;

		if (cmp == 0) {
			i++;
			j++;
		} else if (cmp < 0) {
			i++;
		} else {
			size_t len = strlen(report);
			snprintf(report + len, size - len, "  %s\n", a[j++]);
		}
	}
}

/* Is pid a service a test started on purpose (a registry, say), listed as a
 * *.pid file in the scratch dir's services/ folder? Those are not leftovers. */
static int is_service(int pid)
{
	char dir[sizeof(scratch_dir) + 16], path[sizeof(dir) + 300], text[32];
	struct dirent *d;
	DIR *services;
	int found = 0;

	snprintf(dir, sizeof(dir), "%s/services", scratch_dir);
	services = opendir(dir);
	while (services && !found && (d = readdir(services))) {
		size_t len = strlen(d->d_name);

		if (len > 4 && strcmp(d->d_name + len - 4, ".pid") == 0 &&
		    snprintf(path, sizeof(path), "%s/%s", dir, d->d_name) < (int)sizeof(path) &&
		    read_text(path, text, sizeof(text)) && atoi(text) == pid)
			found = 1;
	}
	if (services)
		closedir(services);
	return found;
}

/* Reap children that have exited; return how many are still alive. With a report, name
 * them there and kill them, so that one leak does not spoil the tests after it. */
static int live_children(char *report, size_t size)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	int live = 0;

	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (!proc)
		return 0;
	while ((d = readdir(proc))) {
		char path[300], stat[1024], *paren;
		int ppid;
		char state;

		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		if (d->d_name[0] < '1' || d->d_name[0] > '9' || !read_text(path, stat, sizeof(stat)))
			continue;
		/* proc(5): "pid (comm) state ppid ...", comm may hold spaces, so parse after the last ')' */
		paren = strrchr(stat, ')');
		if (!paren || sscanf(paren + 2, "%c %d", &state, &ppid) != 2 || ppid != getpid() || state == 'Z' ||
		    is_service(atoi(d->d_name)))
			continue;
		live++;
		if (report) {
			size_t len = strlen(report);
			paren[1] = '\0';	/* keep "pid (comm)" */
			snprintf(report + len, size - len, "  process %s\n", stat);
			kill(atoi(d->d_name), SIGKILL);
		}
	}
	closedir(proc);
	return live;
}

void assert_host_clean(struct host_state *before)
{
	static char report[16384];
	char *after;
	int tries;

	/* A container's last processes may take a moment to be reaped by the kernel. */
	for (tries = 0; tries < 20 && live_children(NULL, 0) > 0; tries++)
		usleep(50 * 1000);
	report[0] = '\0';
	live_children(report, sizeof(report));
	/*
	 * Some teardown the kernel finishes on its own, a moment after the last
	 * process is gone: a network namespace, and with it the container's
	 * veth. Look again for up to a second before calling anything a leftover.
	 */
	for (tries = 0;; tries++) {
		size_t len = strlen(report);
		char *saved = strdup(before->lines);	/* new_lines cuts its arguments into lines */

		assert_non_null(saved);
		after = snapshot();
		new_lines(saved, after, report, sizeof(report));
		free(saved);
		free(after);
		if (strlen(report) == len || tries == 20)
			break;
		report[len] = '\0';
		usleep(50 * 1000);
	}
	free(before->lines);
	before->lines = NULL;
	if (report[0])
		fail_msg("the host is not clean after the test; left behind:\n%s", report);
}

int integration_setup(void **state)
{
	static struct host_state before;

	if (is_root())
		host_state_save(&before);
	*state = &before;
	return 0;
}

int integration_teardown(void **state)
{
	struct host_state *before = *state;

	if (before->lines)
		assert_host_clean(before);
	return 0;
}

/* What a stopped test run does to remove its scratch dir: after box has had a
 * moment to clean up after itself, unless something is still mounted below it. */
static char cleanup_script[sizeof(scratch_dir) * 3 + 200];

/*
 * Ctrl-C or SIGTERM to a test run: remove the scratch dir, then die of the
 * signal. Only async-signal-safe calls (signal-safety(7)): wait for the
 * children (the box under test cleans up on the same Ctrl-C), then fork and
 * exec the prepared script.
 */
static void stop_test_run(int sig)
{
	char *argv[] = { "/bin/sh", "-c", cleanup_script, NULL };
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	pid_t pid;

	for (int tries = 0; tries < 300 && waitpid(-1, NULL, WNOHANG) >= 0; tries++)
		nanosleep(&tick, NULL);
	pid = fork();
	if (pid == 0) {
		execve(argv[0], argv, NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int remove_scratch_dir_when_stopped(void)
{
	struct sigaction sa = { .sa_handler = stop_test_run };

	/* mountinfo lines name mount points in field 5; never rm -rf through a mount. */
	snprintf(cleanup_script, sizeof(cleanup_script),
		 "awk '$5 == \"%s\" || index($5, \"%s/\") == 1 {found = 1} END {exit !found}' /proc/self/mountinfo "
		 "|| rm -rf %s", scratch_dir, scratch_dir, scratch_dir);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -1;
	return 0;
}

/* netdevice(7): SIOCSIFFLAGS with IFF_UP on "lo". */
static int bring_loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -1;

	if (fd < 0)
		return -1;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return ret;
}

int testkit_setup(void **state)
{
	char *argv[] = { TESTKIT_DIR "/mkrootfs.sh", rootfs_dir, NULL };
	struct run r;

	(void)state;
	if (!mkdtemp(scratch_dir)) {
		print_error("boxtest: mkdtemp %s: %s\n", scratch_dir, strerror(errno));
		return -1;
	}
	if (remove_scratch_dir_when_stopped() < 0) {
		print_error("boxtest: sigaction: %s\n", strerror(errno));
		return -1;
	}
	/* mkdtemp makes it 0700; root of a user namespace is another host id and must get through. */
	if (chmod(scratch_dir, 0755) < 0) {
		print_error("boxtest: chmod %s: %s\n", scratch_dir, strerror(errno));
		return -1;
	}
	snprintf(rootfs_dir, sizeof(rootfs_dir), "%s/rootfs", scratch_dir);
	/* Never the real /var/lib/box or /run/box: every box the tests run keeps its files here. */
	snprintf(box_root, sizeof(box_root), "%s/root", scratch_dir);
	snprintf(box_state, sizeof(box_state), "%s/state", scratch_dir);
	if (setenv("BOX_ROOT", box_root, 1) < 0 || setenv("BOX_STATE", box_state, 1) < 0) {
		print_error("boxtest: setenv: %s\n", strerror(errno));
		return -1;
	}
	r = run_argv(argv);
	if (r.status != 0) {
		print_error("boxtest: building the rootfs failed: %s\n", r.err);
		return -1;
	}
	/*
	 * A network namespace of our own: the boxes under test make bridges,
	 * veths, nftables rules and turn on forwarding there, not on the host,
	 * and no packet they send can leave the machine. The clean-host check
	 * then looks at this namespace (host-state reads /proc/net, which is the
	 * caller's). Its loopback starts down: bring it up for 127.0.0.1.
	 */
	if (unshare(CLONE_NEWNET) < 0 || bring_loopback_up() < 0) {
		print_error("boxtest: a network namespace for the tests: %s\n", strerror(errno));
		return -1;
	}
	/* prctl(2): orphans of anything we start become our children, so leaks can be seen. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		print_error("boxtest: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Is anything mounted at or below dir? (proc(5): field 5 of mountinfo is the mount point.) */
static int mounted_below(const char *dir)
{
	char line[4096], point[4096];
	size_t len = strlen(dir);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strncmp(point, dir, len) == 0 &&
		    (point[len] == '/' || point[len] == '\0'))
			found = 1;
	}
	if (f)
		fclose(f);
	return found;
}

int testkit_cleanup(void **state)
{
	char *argv[] = { "rm", "-rf", scratch_dir, NULL };

	(void)state;
	/* Never delete through a mount a test left behind: it could be the host's files. */
	if (mounted_below(scratch_dir)) {
		print_error("boxtest: something is still mounted below %s; not removing it\n", scratch_dir);
		return -1;
	}
	return run_argv(argv).status == 0 ? 0 : -1;
}
