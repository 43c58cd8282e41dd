/*
 * launch.c - start a container that box does not wait for: box run -d,
 * box create + box start, box run -it.
 *
 * box is a big program (libcurl, libarchive, jansson, ...): it should not
 * stay in memory for the life of every container. So, as conmon does for
 * podman, a small static program, box-monitor (monitor.c), waits instead:
 * it holds the container's output (into log.json) or its pty, records the
 * exit, and then runs `box cleanup ID`. The order (NOTES of the monitor):
 *
 *   user's box ──fork──> A: setsid(2) ──fork──> B, and A exits (B is an orphan,
 *                            and not a session leader: it can never get a terminal)
 *   B: everything run_container does (dirs, network, cgroup, clone the child),
 *      but no "go" for the child; then execv(box-monitor --ready-fd SYNC ...):
 *      the monitor writes the "go" once it watches everything.
 *   user's box: reads the report pipe to its end: the end comes at that exec
 *      (O_CLOEXEC), so "printed the id" means "the monitor runs".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "monitor.h"

static const char started_mark[] = "started\n";

long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* proc(5) /proc/PID/stat field 22: when the process started; with the pid it names one process. -1: gone. */
long long live_start_time(pid_t pid)
{
	char path[64], text[1024], *p, state;
	long long start = -1;
	FILE *file;

	if (format_into(path, sizeof(path), "/proc/%d/stat", (int)pid) < 0 || !(file = fopen(path, "re")))
		return -1;
	if (!fgets(text, sizeof(text), file) || !(p = strrchr(text, ')')) ||
	    sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %lld", &state,
		   &start) != 2 || state == 'Z')
		start = -1;	/* a zombie has exited: only its parent has not looked yet */
	fclose(file);
	return start;
}

/* Where box-init is, in the container: bound there read-only from beside box (docker: /sbin/docker-init). */
static const char init_inside[] = "/sbin/box-init";

/* The command becomes box-init's: argv is now box-init's, and box-init is bound into the root. */
int wrap_with_init(struct container_spec *spec)
{
	static char *argv[1024];
	struct volume *v = &spec->volumes[spec->nvolumes];
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t i = 0;

	if (n < 0 || spec->nvolumes == MAX_VOLUMES)
		return fail("--init: find box-init");
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	memset(v, 0, sizeof(*v));
	if (format_into(v->source, sizeof(v->source), "%s/box-init", self) < 0 || access(v->source, X_OK) < 0)
		return fail("--init: %s/box-init", self);
	snprintf(v->destination, sizeof(v->destination), "%s", init_inside);
	v->read_only = true;
	spec->nvolumes++;
	argv[i++] = (char *)init_inside;
	for (char **a = spec->argv; *a && i < sizeof(argv) / sizeof(argv[0]) - 1; a++)
		argv[i++] = *a;
	argv[i] = NULL;
	spec->argv = argv;
	return 0;
}

/* B's errors go to the waiting box through the report pipe (util.c's log sink). */
static int report_fd = -1;

static void report_to_parent(const char *level, const char *message)
{
	char line[PATH_MAX + 1100];

	if (format_into(line, sizeof(line), "box: %s%s\n", strcmp(level, "error") ? "warning: " : "", message) == 0)
		write_all(report_fd, line, strlen(line));
}

/* signal(7): ignored signals and the mask survive execve; the container and the monitor start clean. */
static void default_signals(void)
{
	sigset_t all;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);	/* fails harmlessly for SIGKILL, SIGSTOP and glibc's own */
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

/* The monitor's path: $BOX_MONITOR, else box-monitor beside the box that runs. */
static int monitor_path(char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (getenv("BOX_MONITOR"))
		return format_into(buf, size, "%s", getenv("BOX_MONITOR"));
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	return format_into(buf, size, "%s/box-monitor", self);
}

/* Mark state.json running: the init's pid, and the monitor's (ours, about to exec) with its start time. */
static int record_running(const struct container *record, pid_t pid, const struct container_spec *spec)
{
	struct container c = *record;
	int lock = container_lock(&c), ret = -1;
	json_t *ports = json_array();
	char text[128], ip[INET_ADDRSTRLEN];

	if (lock < 0)
		return -1;
	/* docker's way to show a published port: 0.0.0.0:8080->80/tcp (box port, box ps). */
	for (int i = 0; i < spec->nports; i++) {
		const struct port_map *p = &spec->ports[i];

		inet_ntop(AF_INET, &p->host_ip, ip, sizeof(ip));
		snprintf(text, sizeof(text), "%s:%u->%u/%s", ip, p->host_port, p->container_port,
			 p->protocol == IPPROTO_UDP ? "udp" : "tcp");
		json_array_append_new(ports, json_string(text));
	}
	c.state = json_pack("{s:s, s:i, s:i, s:I, s:I, s:o, s:s}", "Status", "running", "Pid", (int)pid, "MonitorPid",
			    (int)getpid(), "MonitorStart", (json_int_t)live_start_time(getpid()), "StartedAt",
			    (json_int_t)now_ns(), "Ports", ports, "IPAddress",
			    spec->network == NETWORK_BRIDGE ? inet_ntop(AF_INET, &spec->address, ip, sizeof(ip)) : "");
	if (c.state)
		ret = container_save_state(&c);
	json_decref(c.state);
	close(lock);
	return ret;
}

/* Up to 40 words of the monitor's command line, added one at a time. */
struct words {
	char *word[48];
	char text[48][PATH_MAX];
	int n;
};

static void add_word(struct words *w, const char *fmt_text)
{
	snprintf(w->text[w->n], sizeof(w->text[0]), "%s", fmt_text);
	w->word[w->n] = w->text[w->n];
	w->word[++w->n] = NULL;
}

static void add_fd(struct words *w, const char *flag, int fd)
{
	char text[16];

	if (fd < 0)
		return;
	add_word(w, flag);
	snprintf(text, sizeof(text), "%d", fd);
	add_word(w, text);
	fcntl(fd, F_SETFD, 0);	/* this one the monitor keeps */
}

/*
 * Our fds 0-2 were the container's (pipes or pty slave): the monitor must not
 * hold them (it would never see their end), nor write its own messages there.
 * Its messages go to monitor.err in the record.
 */
static int monitor_stdio(const struct container *record)
{
	char path[PATH_MAX];
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), err;

	if (null < 0 || container_file(record, "monitor.err", path, sizeof(path)) < 0)
		return -1;
	err = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (err < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err, 2) < 0) {
		close(null);
		return -1;
	}
	close(null);
	close(err);
	return 0;
}

/* The monitor's command line, then its exec: on success it does not return. */
static int exec_monitor(const struct container_spec *spec, pid_t pid, int pty, int go_fd, int dir_lock,
			const struct cgroup *cg, const struct network *net)
{
	const struct launch *l = spec->launch;
	static struct words w;	/* 48 paths: too big for the stack of a clone's parent */
	char path[PATH_MAX], self[PATH_MAX];
	ssize_t n;

	w.n = 0;
	if (monitor_path(path, sizeof(path)) < 0 || (n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		return fail("find box-monitor");
	self[n] = '\0';
	add_word(&w, path);
	snprintf(path, sizeof(path), "%d", (int)pid);
	add_word(&w, "--pid");
	add_word(&w, path);
	container_file(l->record, "exit.json", path, sizeof(path));
	add_word(&w, "--exit-file");
	add_word(&w, path);
	container_file(l->record, "log.json", path, sizeof(path));
	add_word(&w, "--log");
	add_word(&w, path);
	/* --log-opt, else box's defaults; docker's json-file keeps one file of any size unless told. */
	snprintf(path, sizeof(path), "%lld", spec->log_max_size ? spec->log_max_size : LOG_MAX_SIZE_DEFAULT);
	add_word(&w, "--log-max-size");
	add_word(&w, path);
	add_word(&w, "--log-max-files");
	snprintf(path, sizeof(path), "%d", spec->log_max_files ? spec->log_max_files : LOG_MAX_FILES_DEFAULT);
	add_word(&w, path);
	add_fd(&w, "--stdout-fd", l->stdout_fd);
	add_fd(&w, "--stderr-fd", l->stderr_fd);
	add_fd(&w, "--stdin-fd", l->stdin_fd);
	add_fd(&w, "--pty-fd", pty);
	container_file(l->record, "attach.sock", path, sizeof(path));
	add_word(&w, "--attach");
	add_word(&w, path);
	add_fd(&w, "--attach-fd", l->attach_fd);
	add_fd(&w, "--ready-fd", go_fd);
	/* The locks that tell box prune "in use": held until the cleanup (NOTES §3). */
	add_fd(&w, "--keep-fd", dir_lock);
	add_fd(&w, "--keep-fd", cg->lock_fd);
	add_fd(&w, "--keep-fd", net->lease.fd);
	add_word(&w, "--");
	add_word(&w, self);
	add_word(&w, "--root");
	add_word(&w, l->box_root);
	add_word(&w, "--state");
	add_word(&w, l->box_state);
	add_word(&w, "cleanup");
	add_word(&w, l->record->id);
	if (monitor_stdio(l->record) < 0)
		return fail("set up the monitor's stdio");
	if (write_all(l->report_fd, started_mark, strlen(started_mark)) < 0)
		return fail("report to box");
	execv(w.word[0], w.word);
	return fail("execute %s", w.word[0]);
}

/*
 * run_container's last step for a detached container (run.c): the child,
 * without its "go"; the pty's master, if -t; then the monitor. Returns
 * only on failure, with the child gone; the caller unwinds the rest.
 */
int launch_monitor(struct container_spec *spec, struct cgroup *cg, struct network *net, int dir_lock)
{
	int go_fd = -1, pty = -1, slave = -1;
	pid_t pid;

	/* -t: a pty made here; its slave is the child's stdin, stdout, stderr and terminal (child.c). */
	if (spec->terminal) {
		if (console_create(&pty, &slave) < 0)
			return fail("create a pty");
		if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) {
			close(pty);
			close(slave);
			return fail("make the pty the container's stdio");
		}
		close(slave);
	}
	pid = start_child(spec, cg, net, &go_fd);
	if (pid < 0)
		goto close_pty;
	if (record_running(spec->launch->record, pid, spec) < 0) {
		fail("write the state of %s", spec->launch->record->id);
		goto kill;
	}
	exec_monitor(spec, pid, pty, go_fd, dir_lock, cg, net);
kill:
	abort_child(pid);
	close(go_fd);
close_pty:
	if (pty >= 0)
		close(pty);
	return -1;
}

/* B: its stdio becomes the container's; errors go to the waiting box. Then run_container's path. */
static _Noreturn void become_launcher(struct command_line *cl, const struct launch *l, int in_fd, int out_fd,
				       int err_fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int status;

	/* Nothing of the caller's (its shell's fds, say) may reach the container or the monitor: CVE-2024-21626. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	report_fd = l->report_fd;
	set_log_sink(report_to_parent);
	default_signals();
	if (null < 0 || dup2(in_fd >= 0 ? in_fd : null, 0) < 0 || dup2(out_fd >= 0 ? out_fd : null, 1) < 0 ||
	    dup2(err_fd >= 0 ? err_fd : null, 2) < 0 || chdir("/") < 0) {
		fail("set up the container's stdio");
		_exit(EXIT_BOX_ERROR);
	}
	cl->spec.launch = l;
	/* The running parts (overlay dir, cgroup, veth, lease) are named by the short id, as docker shows it. */
	snprintf(cl->spec.id, sizeof(cl->spec.id), "%.*s", CONTAINER_ID_LEN, l->record->id);
	status = cl->spec.image ? run_image(&cl->spec, &cl->pull) : run_container(&cl->spec);
	_exit(status < 0 ? EXIT_BOX_ERROR : status);
}

/* A: a new session, then B, then exit: B is orphaned (reparented to init or a subreaper). */
static _Noreturn void detach_launcher(struct command_line *cl, const struct launch *l, int in_fd, int out_fd,
				      int err_fd)
{
	pid_t b;

	if (setsid() < 0)
		_exit(EXIT_BOX_ERROR);
	b = fork();
	if (b == 0)
		become_launcher(cl, l, in_fd, out_fd, err_fd);
	_exit(b < 0 ? EXIT_BOX_ERROR : 0);
}

/* Read the report pipe to its end: "started" last means the monitor runs; else print B's errors. */
static int read_report(int fd)
{
	char buf[8192];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 && ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0 ||
					  (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	buf[len] = '\0';
	if (len >= strlen(started_mark) && strcmp(buf + len - strlen(started_mark), started_mark) == 0)
		return 0;
	if (len == 0)
		return fail_msg("the container's launcher died without a word");
	fputs(buf, stderr);
	return -1;
}

/* A pipe whose one end (keep) stays with the monitor: the other end is the container's. */
static int make_pipe(int p[2])
{
	return pipe2(p, O_CLOEXEC);
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++) {
		if (p[i] >= 0)
			close(p[i]);
		p[i] = -1;
	}
}

/* Listen at the attach socket before the container runs, and connect: then nothing it prints is missed. */
static int listen_attach(const struct container *c, int *listen_fd, int *client, struct failure *f)
{
	struct sockaddr_un addr;
	char path[PATH_MAX];
	int dir_fd = -1;

	container_file(c, "attach.sock", path, sizeof(path));
	unlink(path);
	*listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (*listen_fd < 0 || unix_address(path, &addr, &dir_fd) < 0 ||
	    bind(*listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(*listen_fd, 16) < 0) {
		if (dir_fd >= 0)
			close(dir_fd);
		return failed(f, "listen at %s", path);
	}
	if (dir_fd >= 0)
		close(dir_fd);
	*client = attach_connect(path, f);
	return *client < 0 ? -1 : 0;
}

/* With -a / -it: the session, and the container's status (or 0 after Ctrl-P Ctrl-Q). */
static int attach_to(int sock, const struct command_line *cl)
{
	struct attach_options o = { .tty = cl->run.tty, .forward_stdin = cl->run.interactive,
				    .close_stdin_at_eof = true, .in_fd = 0, .out_fd = 1, .err_fd = 2 };
	struct attach_result r = { 0 };
	struct failure f;

	if (attach_session(sock, &o, &r, &f) < 0)
		return fail("%s", f.what);
	close(sock);
	if (r.detached)
		return 0;
	return r.exited ? r.exit_status : fail_msg("lost the container's monitor");
}

/*
 * Start the container recorded in c, as parsed into cl, under a monitor.
 * attach: stay, show its output (and pass input with -i), return its status.
 */
int launch_container(struct command_line *cl, struct container *c, bool attach, bool print_id)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 }, report[2] = { -1, -1 };
	int listen_fd = -1, client = -1, wait_status, ret = -1;
	struct launch l = { .record = c, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .attach_fd = -1,
			    .box_root = cl->spec.box_root, .box_state = cl->spec.box_state };
	char path[PATH_MAX];
	struct failure f;
	pid_t a;

	if (container_file(c, "exit.json", path, sizeof(path)) == 0)
		unlink(path);	/* a restart: the exit file is the old run's */
	if (make_pipe(report) < 0 || (!cl->run.tty && (make_pipe(out) < 0 || make_pipe(err) < 0)) ||
	    (cl->run.interactive && !cl->run.tty && make_pipe(in) < 0)) {
		fail("create the container's pipes");
		goto out;
	}
	if (attach && listen_attach(c, &listen_fd, &client, &f) < 0) {
		fail("%s", f.what);
		goto out;
	}
	l.report_fd = report[1];
	l.stdout_fd = out[0];
	l.stderr_fd = err[0];
	l.stdin_fd = in[1];
	l.attach_fd = listen_fd;
	cl->spec.terminal = cl->run.tty;
	fflush(NULL);
	a = fork();
	if (a < 0) {
		fail("fork");
		goto out;
	}
	if (a == 0)
		detach_launcher(cl, &l, in[0], out[1], err[1]);
	close(report[1]);
	report[1] = -1;
	close_pair(out);
	close_pair(err);
	close_pair(in);
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	if (wait_for(a, &wait_status) < 0 || read_report(report[0]) < 0)
		goto out;
	if (print_id)
		printf("%s\n", c->id);
	ret = 0;
	if (attach) {
		fflush(stdout);
		ret = attach_to(client, cl);
		client = -1;
	}
out:
	if (client >= 0)
		close(client);
	if (listen_fd >= 0)
		close(listen_fd);
	close_pair(report);
	close_pair(out);
	close_pair(err);
	close_pair(in);
	return ret;
}
