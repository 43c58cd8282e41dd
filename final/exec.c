/*
 * exec.c - box-oci exec: one more process in a container that runs.
 *
 * The process joins what the container's init is in: its namespaces with
 * setns(2), its cgroup, and gets the container's security profile (its
 * seccomp filter; the capabilities and user of the process given). It is
 * our child: a process is born in a pid namespace, it cannot move into one,
 * so box-oci first joins the pid namespace for its children
 * (pid_namespaces(7)), then forks, and the child joins the rest.
 *
 * setns(2) takes a pidfd (pidfd_open(2), Linux 5.8 for setns) and several
 * namespace flags at once: the kernel enters them in the right order, the
 * user namespace first, and the pidfd pins the init: its number cannot
 * have been given to another process between our check and the join.
 * Older kernels get the files of /proc/PID/ns one by one.
 *
 * While the child runs box-oci's code inside the container it is
 * non-dumpable (prctl(2) PR_SET_DUMPABLE 0): a process of the container
 * then needs CAP_SYS_PTRACE over it to open its /proc/PID/exe, which is how
 * CVE-2019-5736 reached the runtime's binary (exe-seal.c has the other half).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "box.h"

/* The namespaces a container can have, user first: the order setns(2) needs one by one. */
static const struct {
	const char *name;	/* in /proc/PID/ns */
	int flag;
} ns_files[] = {
	{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID }, { "net", CLONE_NEWNET },
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "cgroup", CLONE_NEWCGROUP },
};

/* The child of an attached exec, for the signal handler to pass signals on to. */
static volatile sig_atomic_t exec_pid;

/* Is /proc/PID/ns/name another namespace than ours? (Joining our own user namespace fails: EINVAL.) */
static bool other_namespace(pid_t pid, const char *name)
{
	char theirs[64], ours[64];
	struct stat a, b;

	if (format_into(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, name) < 0 ||
	    format_into(ours, sizeof(ours), "/proc/self/ns/%s", name) < 0 || stat(theirs, &a) < 0 || stat(ours, &b) < 0)
		return false;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* The CLONE_NEW* flags of the namespaces the init has that we do not share. */
static int namespaces_of(pid_t pid)
{
	int mask = 0;

	for (size_t i = 0; i < sizeof(ns_files) / sizeof(ns_files[0]); i++) {
		if (other_namespace(pid, ns_files[i].name))
			mask |= ns_files[i].flag;
	}
	return mask;
}

/* Join the namespaces of mask through /proc/PID/ns, one by one, user first (kernels before 5.8). */
static int join_by_files(pid_t pid, int mask)
{
	char path[64];

	for (size_t i = 0; i < sizeof(ns_files) / sizeof(ns_files[0]); i++) {
		int fd, ret;

		if (!(mask & ns_files[i].flag))
			continue;
		if (format_into(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_files[i].name) < 0)
			return -1;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		ret = setns(fd, ns_files[i].flag);
		close(fd);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* setns(2) with the init's pidfd and every flag at once; EINVAL from a kernel that takes only namespace fds. */
static int join_init(int pidfd, pid_t pid, int mask)
{
	if (pidfd >= 0 && setns(pidfd, mask) == 0)
		return 0;
	if (pidfd >= 0 && errno != EINVAL)
		return -1;
	return join_by_files(pid, mask);
}

/* The child: non-dumpable, then wait for "go" (it is in the cgroup now), join, become the process. */
static _Noreturn void exec_child(const struct container_spec *spec, const struct oci_process *proc, int pidfd,
				 pid_t init, int mask, int sync_fd)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || wait_for_parent(sync_fd) < 0)
		_exit(EXIT_BOX_ERROR);
	if (join_init(pidfd, init, mask & ~CLONE_NEWPID) < 0) {
		fail("join the namespaces of container %s", spec->oci_id);
		_exit(EXIT_BOX_ERROR);
	}
	if (pidfd >= 0)
		close(pidfd);
	become_process(spec, proc, sync_fd, -1);
}

/* Replace or add KEY=VALUE in a JSON array of environment entries. */
static void set_env(json_t *env, const char *entry)
{
	size_t key_len = strcspn(entry, "="), i;
	json_t *v;

	json_array_foreach(env, i, v) {
		const char *old = json_string_value(v);

		if (old && strncmp(old, entry, key_len) == 0 && old[key_len] == '=') {
			json_array_set_new(env, i, json_string(entry));
			return;
		}
	}
	json_array_append_new(env, json_string(entry));
}

/* -u UID[:GID]: numbers only (the container's /etc/passwd is its own business). */
static int set_user(json_t *process, const char *text)
{
	unsigned long uid, gid = 0;
	char *end;

	errno = 0;
	uid = strtoul(text, &end, 10);
	if (*end == ':')
		gid = strtoul(end + 1, &end, 10);
	if (errno || *end || end == text || uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1) {
		errno = EINVAL;
		return -1;
	}
	json_object_set_new(process, "user", json_pack("{s:I, s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid));
	return 0;
}

/*
 * The process to exec without --process: the container's own, with the
 * command line's args, -e, --cwd, -u and -t (what runc exec does), as
 * process.json text read back through oci.c's parser.
 */
static int process_from_flags(const struct exec_options *o, const char *dir, struct oci_process *proc,
			      struct failure *f)
{
	char path[PATH_MAX], *text = NULL;
	json_t *top, *process, *args = json_array();
	int ret = -1;

	if (path_join(path, sizeof(path), dir, "config.json") < 0 || !(top = json_load_file(path, 0, NULL))) {
		json_decref(args);
		return failed(f, "read %s", path);
	}
	process = json_object_get(top, "process");
	for (char **a = o->args; a && *a; a++)
		json_array_append_new(args, json_string(*a));
	if (!json_is_object(process) || !json_is_array(json_object_get(process, "env")))
		json_object_set_new(process, "env", json_array());
	json_object_set_new(process, "args", args);
	for (size_t i = 0; i < o->n_env; i++)
		set_env(json_object_get(process, "env"), o->env[i]);
	if (o->cwd)
		json_object_set_new(process, "cwd", json_string(o->cwd));
	json_object_set_new(process, "terminal", json_boolean(o->tty));
	json_object_del(process, "consoleSize");
	if (o->user && set_user(process, o->user) < 0)
		failed(f, "exec: --user %s: expected UID or UID:GID", o->user);
	else if ((text = json_dumps(process, 0)))
		ret = oci_parse_process(text, proc, f);
	free(text);
	json_decref(top);
	return ret;
}

/* What exec's child needs of a spec: the container's seccomp filter, and the runtime face's settings. */
static int exec_spec(const struct exec_options *o, const struct state *st, const struct oci_config *cfg,
		     const struct oci_process *proc, struct container_spec *spec, struct failure *f)
{
	memset(spec, 0, sizeof(*spec));
	spec->config = cfg;
	spec->oci_id = o->id;
	spec->bundle = st->bundle;
	spec->process = proc;
	spec->seccomp = cfg->lin.has_seccomp ? &cfg->lin.seccomp : NULL;
	spec->no_new_keyring = true;	/* it shares the init's */
	spec->preserve_fds = o->preserve_fds;
	spec->console_fd = -1;
	/* final: box exec -t hands its own socket (engine.c); 0 is never ours (a zeroed struct means "none"). */
	if (proc->terminal && o->console_fd > 0 && (spec->console_fd = dup(o->console_fd)) < 0)
		return failed(f, "exec: the console socket");
	if (proc->terminal && !o->console_socket && o->console_fd <= 0) {
		errno = EINVAL;
		return failed(f, "exec: a terminal (-t, process.terminal) needs --console-socket");
	}
	if (o->console_socket && (spec->console_fd = console_connect(o->console_socket)) < 0)
		return failed(f, "connect to --console-socket %s", o->console_socket);
	return check_rlimits(proc, f);
}

/* An attached exec passes SIGINT, SIGTERM, SIGHUP and SIGQUIT on to its process, as runc does. */
static void pass_on(int sig)
{
	if (exec_pid > 0)
		kill(exec_pid, sig);
}

static void pass_signals_on(void)
{
	struct sigaction sa = { .sa_handler = pass_on };
	const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &sa, NULL);
}

/* The parent's part once the child is forked: cgroup, rlimits, "go", and its "ready" (0 at end of file). */
static int see_child_ready(pid_t pid, const struct cgroup *cg, bool in_cgroup, const struct oci_process *proc,
			   int sync_fd)
{
	const char go = SYNC_GO;
	struct failure f;
	ssize_t n;
	char what;

	if (!in_cgroup && cgroup_join(cg, pid) < 0)
		return fail("move %d into cgroup %s", (int)pid, cg->path);
	if (apply_rlimits(pid, proc, &f) < 0 || apply_oom_score_adj(pid, proc, &f) < 0)
		return fail("%s", f.what);
	if (write(sync_fd, &go, 1) != 1)
		return fail("tell the exec'd process to go on");
	do {
		n = read(sync_fd, &what, 1);
	} while (n < 0 && errno == EINTR);
	return n == 1 && what == SYNC_READY ? 1 : 0;
}

/* Fork the child into the container's cgroup (clone3 on v2, namespaces.c), after joining its pid namespace. */
static pid_t fork_into(const struct container_spec *spec, const struct cgroup *cg, int pidfd, pid_t init, int mask,
		       int *sync_fd, bool *in_cgroup)
{
	int pair[2];
	pid_t pid;

	if ((mask & CLONE_NEWPID) && join_init(pidfd, init, CLONE_NEWPID) < 0)
		return fail("join the pid namespace of %d", (int)init);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return fail("create the sync socket");
	pid = clone_container(spec, cg->clone_fd, in_cgroup);
	if (pid == 0) {
		close(pair[1]);
		exec_child(spec, spec->process, pidfd, init, mask, pair[0]);
	}
	close(pair[0]);
	if ((mask & CLONE_NEWPID) && leave_pid_namespace() < 0)
		warn("go back to our own pid namespace");
	if (pid < 0) {
		close(pair[1]);
		return fail("fork the process");
	}
	*sync_fd = pair[1];
	return pid;
}

/* After "ready": the pid file, then for an attached exec its exit status; for a detached one 0. */
static int after_ready(const struct exec_options *o, pid_t pid)
{
	int wait_status;

	if (o->pid_file && write_pid_file(o->pid_file, pid) < 0) {
		fail("write --pid-file %s", o->pid_file);
		kill(pid, SIGKILL);
		wait_for(pid, &wait_status);
		return -1;
	}
	if (o->detach)
		return 0;	/* our caller's subreaper (conmon, the shim) collects it */
	if (wait_for(pid, &wait_status) < 0)
		return fail("wait for process %d", (int)pid);
	return exit_status_of(wait_status);
}

/* Run the process in the container of st; its exit status (attached), 0 (detached) or -1. */
static int exec_process(const struct exec_options *o, const struct state *st, struct container_spec *spec)
{
	int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0), err = errno, mask, sync_fd = -1, ready, wait_status;
	int status = -1;
	struct cgroup cg;
	struct failure f;
	bool in_cgroup;
	pid_t pid;

	/* The pidfd first, then the check: from now on the pid cannot be another process's. */
	if ((pidfd < 0 && err != ENOSYS) || !init_is_alive(st)) {
		if (pidfd >= 0)
			close(pidfd);
		return fail_msg("cannot exec in container %s: it is not running", o->id);
	}
	if ((o->box_cgroup ? cgroup_open_box(&cg, st->id, &f) : cgroup_open_path(&cg, st->cgroup_path, &f)) < 0) {
		fail("%s", f.what);
		goto out;
	}
	if (cgroup_frozen(&cg)) {	/* the process would freeze on joining, before it could say "ready" */
		fail_msg("cannot exec in container %s: it is paused", o->id);
		goto out;
	}
	cgroup_open_clone_fd(&cg);
	mask = namespaces_of(st->pid);
	pid = fork_into(spec, &cg, pidfd, st->pid, mask, &sync_fd, &in_cgroup);
	if (pid < 0)
		goto out;
	exec_pid = pid;
	ready = see_child_ready(pid, &cg, in_cgroup, spec->process, sync_fd);
	close(sync_fd);
	if (ready > 0) {
		status = after_ready(o, pid);
	} else {
		/* ready 0: the child failed and said why (an attached exec passes its status on); -1: we did */
		if (ready < 0)
			kill(pid, SIGKILL);
		if (wait_for(pid, &wait_status) == 0 && ready == 0 && !o->detach)
			status = exit_status_of(wait_status);
	}
out:
	if (pidfd >= 0)
		close(pidfd);
	if (cg.clone_fd >= 0)
		close(cg.clone_fd);
	return status;
}

/* box-oci exec: 0 or the process's exit status, -1 (reported) if box-oci failed. */
int exec_in_container(const struct exec_options *o)
{
	struct state st;
	struct failure f;

	if (read_state(o->root, o->id, &st, &f) < 0)
		return fail_state(&f);
	return exec_in_state(o, &st);
}

/* final: the part after the state, which box exec (engine.c) makes from its own record. */
int exec_in_state(const struct exec_options *o, const struct state *state)
{
	struct container_spec spec = { .console_fd = -1 };
	struct oci_process proc = { 0 };
	struct oci_config cfg;
	struct state st = *state;
	struct failure f;
	int status;

	if (load_config(st.dir, &cfg, &f) < 0)
		return fail_config(&f);
	if ((o->process_file ? oci_load_process(o->process_file, &proc, &f) : process_from_flags(o, st.dir, &proc, &f)) < 0 ||
	    exec_spec(o, &st, &cfg, &proc, &spec, &f) < 0) {
		fail_config(&f);
		status = -1;
	} else {
		if (!o->detach)
			pass_signals_on();
		status = exec_process(o, &st, &spec);
	}
	if (spec.console_fd >= 0)
		close(spec.console_fd);
	oci_process_free(&proc);
	oci_free(&cfg);
	return status;
}
