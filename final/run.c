/*
 * run.c - the parent side of a run: check, create the child, wait, report.
 *
 * The child (child.c) sets up its view of the system and becomes the user's
 * command; the parent stays outside and passes the command's exit status on.
 * A pipe keeps the two in step: the child waits until the parent has done
 * what only the parent can do (the id maps of a user namespace, moving the
 * child into its cgroup, its end of the veth pair).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box.h"

/* Is path a directory? Else say so: "<what> <path>: not a directory" or the stat(2) error. */
static int check_directory(const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return fail("%s %s", what, path);
	if (!S_ISDIR(st.st_mode))
		return fail_msg("%s %s: not a directory", what, path);
	return 0;
}

/* Refuse early, with a clear line, what would otherwise fail deep in the child. */
static int check_can_run(const struct container_spec *spec)
{
	/* Creating namespaces (except a user namespace) needs CAP_SYS_ADMIN: box runs as root. */
	if (geteuid() != 0)
		return fail_msg("run: must be run as root (clone(2) with new namespaces needs CAP_SYS_ADMIN)");
	if (check_directory("rootfs", spec->rootfs) < 0)
		return -1;
	for (int i = 0; i < spec->nlayers; i++) {
		if (check_directory("--layer", spec->layers[i]) < 0)
			return -1;
	}
	for (int i = 0; i < spec->nvolumes; i++) {
		if (access(spec->volumes[i].source, F_OK) < 0)
			return fail("-v %s:%s: %s", spec->volumes[i].source, spec->volumes[i].destination,
				    spec->volumes[i].source);
	}
	return 0;
}

/* [exercise] */
/*
 * Turn a wait(2) status into the exit status a shell reports: the command's
 * own status if it exited (WIFEXITED, WEXITSTATUS), or 128 + N if signal N
 * killed it (WIFSIGNALED, WTERMSIG). See wait(2).
 */
int exit_status_of(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return EXIT_SIGNAL_BASE + WTERMSIG(wait_status);
	errno = EINVAL;
	return -1;
}

/* waitpid(2), tried again if a signal interrupts it. */
int wait_for(pid_t pid, int *wait_status)
{
	while (waitpid(pid, wait_status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* A random container id: 12 hex digits, like docker's short ids. */
static int new_container_id(char id[CONTAINER_ID_LEN + 1])
{
	unsigned char bytes[CONTAINER_ID_LEN / 2];

	if (getrandom(bytes, sizeof(bytes), 0) != sizeof(bytes))
		return -1;
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(id + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

/*
 * What the parent does while the child waits: the id maps of --userns,
 * moving the child into its cgroup (unless clone3 already put it there),
 * and its end of the veth pair, made right in its network namespace.
 * Step 7: and the process's rlimits and oom_score_adj, which need
 * privileges the child may have lost in a new user namespace (security.c).
 */
static int prepare_child(pid_t pid, const struct container_spec *spec, const struct cgroup *cg, bool in_cgroup,
			 struct network *net)
{
	struct failure f;

	if (spec->userns && write_id_maps(pid, spec) < 0)
		return fail("write the user namespace id maps of %d", (int)pid);
	if (!in_cgroup && cgroup_join(cg, pid) < 0)
		return fail("move %d into cgroup %s", (int)pid, cg->path);
	if (network_attach(spec, net, pid, &f) < 0)
		return fail("%s", f.what);
	if (apply_rlimits(pid, spec->process, &f) < 0 || apply_oom_score_adj(pid, spec->process, &f) < 0)
		return fail("%s", f.what);
	return 0;
}

/* Stop a child that never got its "go", and reap it. */
void abort_child(pid_t pid)
{
	int wait_status;

	kill(pid, SIGKILL);
	wait_for(pid, &wait_status);
}

/*
 * Create the child in its namespaces, do the parent's part, then tell it to
 * go on. *go_fd is our end of the pipe: keep it open until the child exits,
 * so the child can tell box is alive (die_with_parent in child.c).
 * Step 7: a socket pair rather than a pipe, so that box-oci's child can
 * answer on it too ("run the hooks", "ready": create.c).
 */
pid_t start_child(const struct container_spec *spec, const struct cgroup *cg, struct network *net, int *go_fd)
{
	const char go = SYNC_GO;
	bool in_cgroup;
	int sync[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0)
		return fail("create the sync socket");
	/* Like fork(2) in step 1, but the child starts in new namespaces (namespaces.c). */
	pid = clone_container(spec, cg->clone_fd, &in_cgroup);
	if (pid == 0) {
		/* The child keeps only its end: then end of file on it means box is gone. */
		close(sync[1]);
		child_main(spec, sync[0]);
	}
	close(sync[0]);
	if (pid < 0) {
		fail("create the container's namespaces (clone)");
		close(sync[1]);
		return -1;
	}
	/* final: a detached container gets its "go" from its monitor, once that watches it (launch.c). */
	if (prepare_child(pid, spec, cg, in_cgroup, net) < 0 || (!spec->launch && write(sync[1], &go, 1) != 1)) {
		abort_child(pid);
		close(sync[1]);
		return -1;
	}
	*go_fd = sync[1];
	return pid;
}

/* The container's PID 1 (0 while there is none), and the signal that told box to stop (0: none). */
static volatile sig_atomic_t container_pid, stop_signal;

/*
 * If box is told to stop (Ctrl-C, kill, a closed terminal), stop the
 * container instead of dying with it running: then box can still remove
 * its cgroup. (PID 1 would ignore SIGINT or SIGTERM without a handler; see
 * chapter 2.) A signal that comes before the container exists is kept in
 * stop_signal, and run_container acts on it once it does.
 */
static void stop_container(int sig)
{
	stop_signal = sig;
	if (container_pid > 0)
		kill(container_pid, SIGKILL);
}

/*
 * No SA_RESTART: a signal interrupts what box is waiting in (waitpid, flock)
 * with EINTR, and each wait checks for that and waits again.
 */
static int handle_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = stop_container };
	const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (sigaction(signals[i], &sa, NULL) < 0)
			return -1;
	}
	return 0;
}

/* After the container has exited: if the OOM killer struck inside, say so, once. */
static void report_oom(const struct cgroup *cg, const struct container_spec *spec)
{
	long long kills = 0;
	const char *plural;

	if (cgroup_oom_kills(cg, &kills) < 0 || kills == 0)
		return;
	plural = kills == 1 ? "" : "es";
	if (spec->memory_bytes)
		fail_msg("container %s ran out of memory (limit %lld bytes): the OOM killer killed %lld process%s",
			 cg->id, spec->memory_bytes, kills, plural);
	else
		fail_msg("container %s: the OOM killer killed %lld process%s (the host ran out of memory)",
			 cg->id, kills, plural);
}

/*
 * Wait for the container and return its exit status. If box was told to
 * stop (and so killed it), return what a shell reports for box itself:
 * 128 + that signal, 130 for Ctrl-C.
 */
static int wait_for_container(pid_t pid, const struct container_spec *spec, const struct cgroup *cg)
{
	int wait_status;

	if (wait_for(pid, &wait_status) < 0)
		return fail("wait for child %d", (int)pid);
	container_pid = 0;
	report_oom(cg, spec);
	if (stop_signal)
		return EXIT_SIGNAL_BASE + stop_signal;
	return exit_status_of(wait_status);
}

/*
 * --cidfile FILE: write the id where scripts (and the tests) can find it, as
 * docker does. The file must appear whole, since a reader may be waiting
 * for it, and must not replace one that exists, which may name a container
 * still running. So write an unnamed file first (O_TMPFILE, open(2)), then
 * give it its name with linkat(2): that fails with EEXIST if it is taken.
 */
static int write_cidfile(const char *path, const char *id)
{
	char dir[PATH_MAX], fd_path[64];
	ssize_t len = (ssize_t)strlen(id);
	int fd, ret = -1;

	if (format_into(dir, sizeof(dir), "%s", path) < 0)
		return -1;
	fd = open(dirname(dir), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, id, (size_t)len) == len && format_into(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd) == 0)
		ret = linkat(AT_FDCWD, fd_path, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

/* --userns: find the id ranges, and refuse ones that would not isolate anything. */
static int check_userns(struct container_spec *spec)
{
	struct failure f;

	if (lookup_userns_ranges(spec, &f) < 0)
		return fail("%s", f.what);
	if (check_id_range(&spec->uids) < 0 || check_id_range(&spec->gids) < 0)
		return fail_msg("--userns: no usable id range (uids %u:%u, gids %u:%u): "
				"need a non-empty range of host ids that does not include 0",
				spec->uids.host, spec->uids.count, spec->gids.host, spec->gids.count);
	return 0;
}

/* Everything before anything is created: checks, the id, the hostname, the id ranges. */
static int prepare_run(struct container_spec *spec)
{
	if (check_can_run(spec) < 0)
		return -1;
	/* final: the engine chose the id already (the start of the container's long id). */
	if (!spec->id[0] && new_container_id(spec->id) < 0)
		return fail("make a container id");
	if (spec->cidfile && write_cidfile(spec->cidfile, spec->id) < 0)
		return fail("write the container id to --cidfile %s", spec->cidfile);
	if (!spec->hostname)
		spec->hostname = spec->id;
	if (spec->init && wrap_with_init(spec) < 0)	/* final: --init (launch.c) */
		return -1;
	/* final: -w and -u, for a ROOTFS as for an image (image.c did the same over the image's). */
	if (spec->workdir_flag)
		spec->workdir = spec->workdir_flag;
	if (spec->user_flag)
		spec->user = spec->user_flag;
	if (spec->userns && check_userns(spec) < 0)
		return -1;
	return 0;
}

/*
 * After the container: remove its directory, or with --keep (if it ran)
 * leave it and say where its writable layer is. A failure is a warning:
 * the command's status stands.
 */
static void finish_container_dir(const struct container_spec *spec, int lock, bool ran)
{
	struct failure f;

	if (spec->keep && ran) {
		fprintf(stderr, "box: kept container %s: its writable layer is %s/upper\n", spec->id, spec->dir);
		close(lock);
	} else if (container_dir_remove(spec, lock, &f) < 0) {
		warn("%s", f.what);
	}
}

/* Start the child in its cgroup and network and wait for it; its exit status, or -1. */
static int run_child(struct container_spec *spec, struct cgroup *cg, struct network *net)
{
	int go_fd = -1, status;
	pid_t pid;

	pid = start_child(spec, cg, net, &go_fd);
	if (pid < 0)
		return -1;
	container_pid = pid;
	if (stop_signal)
		kill(pid, SIGKILL);
	status = wait_for_container(pid, spec, cg);
	close(go_fd);
	return status;
}

/*
 * Run the container; return the command's exit status, or -1 if box failed.
 * Each step that makes something has its undo below, in reverse order.
 */
int run_container(struct container_spec *spec)
{
	struct oci_config config;
	struct network net;
	struct cgroup cg;
	struct failure f;
	int dir_lock, status = -1;

	/* final: named volumes (-v NAME:PATH) exist, a new one seeded from the image (volume.c). */
	if (volumes_prepare(spec) < 0 || prepare_run(spec) < 0)
		return -1;
	if (handle_stop_signals() < 0)
		return fail("set signal handlers");
	dir_lock = container_dir_create(spec, &f);
	if (dir_lock < 0)
		return fail("%s", f.what);
	if (network_prepare(spec, &net, &f) < 0) {
		fail("%s", f.what);
		goto remove_dir;
	}
	/* Step 7: the flags become a config.json, read as box-oci reads a bundle's (run-config.c). */
	if (box_run_config(spec, &config, &f) < 0) {
		fail("%s", f.what);
		goto remove_network;
	}
	if (cgroup_create(&cg, spec, &f) < 0) {
		fail("%s", f.what);
		goto free_config;
	}
	spec->cgroup = &cg;
	/* final: detached, the monitor takes over (launch.c: on success this does not return). */
	if (spec->launch)
		status = launch_monitor(spec, &cg, &net, dir_lock);
	else
		status = run_child(spec, &cg, &net);
	/* The command's status stands even if a cleanup fails: say so, and pass it on. */
	if (cgroup_remove(&cg, &f) < 0)
		warn("%s", f.what);
free_config:
	oci_free(&config);
remove_network:
	if (network_remove(spec, &net, &f) < 0)
		warn("%s", f.what);
remove_dir:
	finish_container_dir(spec, dir_lock, status >= 0);
	return status;
}
