/*
 * create.c - box-oci create, start and delete: a container's life in three
 * commands (runtime.md "Lifecycle").
 *
 *     create  everything the config asks for: namespaces, cgroup, mounts,
 *             pivot_root, hooks; the init then waits before its execve,
 *             on exec.fifo in the state directory; create exits
 *     start   opens exec.fifo: the init goes on and becomes the process
 *     delete  the cgroup (and whatever is still in it), the poststop
 *             hooks, the state directory
 *
 * The init is the same child as box run's (run.c start_child, child.c):
 * only a few spec fields differ. Unlike box run, create does not stay: the
 * init must outlive it (no PR_SET_PDEATHSIG), and whoever called box-oci
 * (conmon, containerd's shim: subreapers, prctl(2)) becomes its parent and
 * collects its exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "box.h"

static const char default_cgroup_parent[] = "/box-oci";

enum {
	NFTW_FDS = 16,
	START_POLL_MS = 100,	/* start checks this often that the init is still there */
	BUNDLE_CONFIG_MAX = 4 * 1024 * 1024,	/* a config.json with docker's seccomp profile is about 30 KiB */
};

/* Everything create makes, so that a failure can undo it in reverse. */
struct creation {
	struct state st;
	struct oci_config cfg;
	struct container_spec spec;
	struct cgroup cg;
	int lock;
	bool have_cgroup;
	pid_t pid;
};

/* nftw(3) callback of remove_state_dir. */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* rm -rf <root>/<id>: state.json, config.json, exec.fifo. */
static int remove_state_dir(const char *dir)
{
	if (nftw(dir, remove_entry, NFTW_FDS, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Now, in RFC 3339, as runc writes "created". */
static void now_rfc3339(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Read a small file whole (config.json). */
static char *read_whole(const char *path)
{
	char *text = malloc(BUNDLE_CONFIG_MAX + 1);
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!text || fd < 0)
		goto fail;
	while ((n = read(fd, text + len, (size_t)(BUNDLE_CONFIG_MAX - len))) > 0)
		len += n;
	if (n < 0)
		goto fail;
	close(fd);
	text[len] = '\0';
	return text;
fail:
	if (fd >= 0)
		close(fd);
	free(text);
	return NULL;
}

/* The bundle's config.json, kept beside the state: exec and delete read it when the bundle may be gone. */
static int keep_config(const char *bundle, const char *dir)
{
	char from[PATH_MAX], to[PATH_MAX];
	char *text;
	int ret;

	if (path_join(from, sizeof(from), bundle, "config.json") < 0 || path_join(to, sizeof(to), dir, "config.json") < 0)
		return -1;
	text = read_whole(from);
	if (!text)
		return -1;
	ret = write_file_atomically(to, text);
	free(text);
	return ret;
}

/* Read config.json: the bundle's, or the copy in the state directory. */
int load_config(const char *dir, struct oci_config *cfg, struct failure *f)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), dir, "config.json") < 0)
		return failed(f, "config.json in %s", dir);
	return oci_load(path, cfg, f);
}

/* What oci.c skipped or could not grant (unknown capabilities, say): said once, at create. */
static void print_warnings(const struct oci_config *cfg)
{
	for (size_t i = 0; i < cfg->n_warnings; i++) {
		errno = 0;	/* a warning, not a failed system call: no strerror */
		warn("%s", cfg->warnings[i]);
	}
}

/* <root>/<id>, made now: it must not exist (a duplicate id), and is locked while create works. */
static int make_state_dir(const char *root, const char *id, struct state *st)
{
	if (check_container_id(id) < 0)
		return fail_msg("container id \"%s\": letters, digits and _+-. only", id);
	if (make_path(root) < 0)
		return fail("create the state root %s", root);
	if (state_dir(root, id, st->dir, sizeof(st->dir)) < 0)
		return fail("state directory of %s", id);
	if (mkdir(st->dir, 0711) < 0)
		return errno == EEXIST ? fail_msg("container with id %s already exists", id)
				       : fail("create %s", st->dir);
	return 0;
}

/*
 * Lock a container's state directory: commands on one container take
 * turns. Not flock(2): a flock belongs to the open file, and the init,
 * cloned while create holds it, would share it and hold it on after create
 * exits. A record lock of fcntl(2) (F_SETLKW on a "lock" file) belongs to
 * the process: a child does not inherit it.
 */
int lock_state_dir(const char *dir)
{
	struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX];
	int fd;

	if (path_join(path, sizeof(path), dir, "lock") < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (fcntl(fd, F_SETLKW, &lock) < 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* The spec of box-oci's init: the config's, and what only the runtime face sets. */
static int runtime_spec(const struct create_options *o, struct creation *c, struct failure *f)
{
	struct container_spec *spec = &c->spec;
	static char fifo[PATH_MAX], cgroup_path[PATH_MAX];

	memset(spec, 0, sizeof(*spec));
	spec->console_fd = -1;
	if (oci_to_spec(&c->cfg, c->st.bundle, spec, f) < 0)
		return -1;
	if (!(spec->new_namespaces & CLONE_NEWNS)) {
		errno = ENOTSUP;
		return failed(f, "config.json: linux.namespaces: box needs a new mount namespace (it pivots the root)");
	}
	if ((spec->hostname || spec->domainname) && !(spec->new_namespaces & CLONE_NEWUTS)) {
		errno = EINVAL;
		return failed(f, "config.json: hostname: setting it needs a new uts namespace, or it is the host's");
	}
	if (!spec->cgroups_path && format_into(cgroup_path, sizeof(cgroup_path), "%s/%s", default_cgroup_parent, o->id) == 0)
		spec->cgroups_path = cgroup_path;
	if (path_join(fifo, sizeof(fifo), c->st.dir, "exec.fifo") < 0 || !spec->cgroups_path)
		return failed(f, "paths of %s", o->id);
	spec->oci_id = o->id;
	spec->exec_fifo = fifo;
	spec->preserve_fds = o->preserve_fds;
	spec->no_new_keyring = o->no_new_keyring;
	/* The client does networking (a hook, a CNI plugin): box only brings up lo of a new namespace. */
	spec->network = spec->new_namespaces & CLONE_NEWNET ? NETWORK_NONE : NETWORK_HOST;
	return format_into(c->st.cgroup_path, sizeof(c->st.cgroup_path), "%s", spec->cgroups_path) < 0
		       ? failed(f, "linux.cgroupsPath %s", spec->cgroups_path) : 0;
}

/* What can be refused before anything is made: rlimits box cannot raise, a seccomp profile that does not build. */
static int check_config(struct creation *c, const struct create_options *o, struct failure *f)
{
	if (check_rlimits(c->spec.process, f) < 0)
		return -1;
	if (c->spec.seccomp && seccomp_check(c->spec.seccomp, f) < 0)
		return -1;
	if (c->spec.process->terminal && !o->console_socket) {
		errno = EINVAL;
		return failed(f, "process.terminal is true: it needs --console-socket, where the terminal goes");
	}
	return 0;
}

/* The runtime's hooks, while the init waits before pivot_root (child.c create_hooks). */
static int runtime_hooks(struct creation *c)
{
	struct failure f;
	char *text;
	int ret;

	c->st.pid = c->pid;
	text = state_json(&c->st, STATUS_CREATING, &c->cfg);
	if (!text)
		return fail("write the state for the hooks");
	ret = run_hooks(c->spec.hooks, HOOK_PRESTART, text, &f);
	if (ret == 0)
		ret = run_hooks(c->spec.hooks, HOOK_CREATE_RUNTIME, text, &f);
	free(text);
	return ret < 0 ? fail("%s", f.what) : 0;
}

/* One byte from the child; 0 at end of file (it exited: it has said why on stderr and in the log). */
static int read_from_child(int sync_fd, char *what)
{
	ssize_t n;

	do {
		n = read(sync_fd, what, 1);
	} while (n < 0 && errno == EINTR);
	return (int)n;
}

/*
 * Answer the init until it is ready: run the hooks when it asks, then its
 * "ready" (it now waits on exec.fifo). -1 if it failed on the way.
 */
static int serve_child(struct creation *c, int sync_fd)
{
	const char go = SYNC_GO;
	char what;

	for (;;) {
		if (read_from_child(sync_fd, &what) <= 0)
			return -1;
		if (what == SYNC_READY)
			return 0;
		if (what != SYNC_HOOKS || runtime_hooks(c) < 0 || write(sync_fd, &go, 1) != 1)
			return -1;
	}
}

/* Start the init and see it through to "ready"; its pid goes to c->pid. */
static int start_init(struct creation *c)
{
	struct network net = { .lease.fd = -1 };	/* unused: box-oci's containers have no box network */
	struct failure f;
	int sync_fd, ret;

	if (join_pid_namespace(&c->spec, &f) < 0)
		return fail("%s", f.what);
	c->pid = start_child(&c->spec, &c->cg, &net, &sync_fd);
	if (c->spec.join[NS_PID] && leave_pid_namespace() < 0)
		warn("go back to our own pid namespace");
	if (c->pid < 0)
		return -1;
	ret = serve_child(c, sync_fd);
	if (ret < 0)
		kill(c->pid, SIGKILL);	/* before it sees us go: the one line to say is ours */
	close(sync_fd);
	return ret;
}

/* Undo a failed create, in reverse; what was reported stays the one line. */
static void undo_create(struct creation *c)
{
	struct failure f;

	if (c->pid > 0)
		abort_child(c->pid);
	if (c->have_cgroup && cgroup_remove(&c->cg, &f) < 0)
		warn("%s", f.what);
	if (c->spec.console_fd >= 0)
		close(c->spec.console_fd);
	if (remove_state_dir(c->st.dir) < 0)
		warn("remove %s", c->st.dir);
	close(c->lock);
	oci_free(&c->cfg);
}

/* Read and check the config: what a client got wrong is refused here, before anything is made. */
static int config_steps(const struct create_options *o, struct creation *c, struct failure *f)
{
	if (load_config(c->st.bundle, &c->cfg, f) < 0)
		return -1;
	print_warnings(&c->cfg);
	return runtime_spec(o, c, f) < 0 || check_config(c, o, f) < 0 ? -1 : 0;
}

/*
 * The init opens exec.fifo for writing as the container's root: in a user
 * namespace, a host id of its own (the one uid_map gives container id 0),
 * which must own the fifo to open it (runc chowns it the same way).
 */
static int give_fifo_to_root(const struct container_spec *spec)
{
	uid_t uid = 0;
	gid_t gid = 0;

	for (size_t i = 0; spec->userns && i < spec->n_uid_mappings; i++) {
		if (spec->uid_mappings[i].container_id == 0)
			uid = spec->uid_mappings[i].host_id;
	}
	for (size_t i = 0; spec->userns && i < spec->n_gid_mappings; i++) {
		if (spec->gid_mappings[i].container_id == 0)
			gid = spec->gid_mappings[i].host_id;
	}
	return chown(spec->exec_fifo, uid, gid);
}

/* The steps of create that make things, once the config is good; f says which failed. */
static int create_steps(const struct create_options *o, struct creation *c, struct failure *f)
{
	c->st.creating = true;
	if (write_state(&c->st) < 0)
		return failed(f, "write the state of %s", o->id);
	if (keep_config(c->st.bundle, c->st.dir) < 0)
		return failed(f, "copy config.json into %s", c->st.dir);
	if (o->console_socket && (c->spec.console_fd = console_connect(o->console_socket)) < 0)
		return failed(f, "connect to --console-socket %s", o->console_socket);
	if (cgroup_create(&c->cg, &c->spec, f) < 0)
		return -1;
	c->have_cgroup = true;
	c->spec.cgroup = &c->cg;
	if (mkfifo(c->spec.exec_fifo, 0600) < 0 || give_fifo_to_root(&c->spec) < 0)
		return failed(f, "create %s", c->spec.exec_fifo);
	return 0;
}

/* The init runs and waits: write down its pid and start time, and the pid file. */
static int finish_create(const struct create_options *o, struct creation *c)
{
	c->st.pid = c->pid;
	c->st.creating = false;
	if (process_start_time(c->pid, &c->st.start_time) < 0)
		return fail("the container's init %d is gone", (int)c->pid);
	if (write_state(&c->st) < 0)
		return fail("write the state of %s", o->id);
	if (o->pid_file && write_pid_file(o->pid_file, c->pid) < 0)
		return fail("write --pid-file %s", o->pid_file);
	return 0;
}

/* box-oci create: 0 once the init waits on exec.fifo; its pid in *init_pid. */
int create_container(const struct create_options *o, pid_t *init_pid)
{
	static struct creation c;	/* big (paths, the cgroup's mounts): not on the stack */
	struct failure f;

	memset(&c, 0, sizeof(c));
	c.lock = -1;
	c.spec.console_fd = -1;
	if (make_state_dir(o->root, o->id, &c.st) < 0)
		return -1;
	c.lock = lock_state_dir(c.st.dir);
	if (c.lock < 0 || !realpath(o->bundle, c.st.bundle)) {
		fail("open the bundle %s", o->bundle);
		undo_create(&c);
		return -1;
	}
	format_into(c.st.id, sizeof(c.st.id), "%s", o->id);
	now_rfc3339(c.st.created, sizeof(c.st.created));
	if (config_steps(o, &c, &f) < 0) {
		fail_config(&f);
		undo_create(&c);
		return -1;
	}
	if (create_steps(o, &c, &f) < 0) {
		fail("%s", f.what);
		undo_create(&c);
		return -1;
	}
	if (start_init(&c) < 0 || finish_create(o, &c) < 0) {
		undo_create(&c);
		return -1;
	}
	if (c.spec.console_fd >= 0)
		close(c.spec.console_fd);
	if (c.cg.clone_fd >= 0)
		close(c.cg.clone_fd);
	*init_pid = c.pid;
	oci_free(&c.cfg);
	close(c.lock);
	return 0;
}

/*
 * Release the init: open exec.fifo, where it waits to write. Opened
 * O_NONBLOCK, the open cannot hang on an init that is gone; poll(2) then
 * waits for its byte, and after it for the end of file that comes when the
 * init's execve closes its end (child.c wait_for_start): then the
 * process runs, and the poststart hooks may follow. Every START_POLL_MS we
 * check the init is still there.
 */
static int release_init(const struct state *st, const char *fifo)
{
	struct pollfd pfd = { .events = POLLIN };
	bool got_byte = false;
	char byte;
	int ret = -1;

	pfd.fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (pfd.fd < 0)
		return -1;
	for (;;) {
		int ready = poll(&pfd, 1, START_POLL_MS);
		ssize_t n = ready > 0 ? read(pfd.fd, &byte, 1) : -1;

		if (n == 1)
			got_byte = true;
		if (n == 0 && got_byte) {	/* end of file after the byte: it has exec'd (or exited) */
			ret = 0;
			break;
		}
		if ((ready < 0 && errno != EINTR) || (n == 0 && !got_byte) || (!init_is_alive(st) && !got_byte)) {
			errno = ESRCH;
			break;
		}
	}
	close(pfd.fd);
	return ret;
}

/* box-oci start: release the init, then the poststart hooks (their failure is only a warning). */
int start_container(const char *root, const char *id)
{
	struct oci_config cfg;
	struct state st;
	struct failure f;
	char fifo[PATH_MAX], *text;
	int lock, ret = -1;

	if (read_state(root, id, &st, &f) < 0)
		return fail_state(&f);
	lock = lock_state_dir(st.dir);
	if (lock < 0)
		return fail("lock %s", st.dir);
	if (container_status(&st, NULL) != STATUS_CREATED) {
		fail_msg("cannot start container %s: it is %s, not created", id, status_name(container_status(&st, NULL)));
	} else if (path_join(fifo, sizeof(fifo), st.dir, "exec.fifo") < 0 || release_init(&st, fifo) < 0) {
		fail("start container %s: release its init", id);
	} else if (unlink(fifo) < 0) {
		fail("remove %s", fifo);
	} else {
		ret = 0;
	}
	if (ret == 0 && load_config(st.dir, &cfg, &f) == 0) {
		text = state_json(&st, STATUS_RUNNING, &cfg);
		if (!text || run_hooks(&cfg.hooks, HOOK_POSTSTART, text, &f) < 0)
			warn("%s", text ? f.what : "write the state for the poststart hooks");
		free(text);
		oci_free(&cfg);
	}
	close(lock);
	return ret;
}

/* Wait until the init has exited (it is not our child: poll its start time), up to about 2 s. */
static void wait_until_gone(const struct state *st)
{
	for (int tries = 0; tries < 200 && init_is_alive(st); tries++)
		usleep(10 * 1000);
}

/*
 * delete: kill what is still in the cgroup (the init first) and remove the
 * cgroup, run the poststop hooks, remove the state directory. The caller
 * holds the lock and has checked that the container may be deleted.
 */
int destroy_container(const struct state *st, const struct oci_config *cfg, struct failure *f)
{
	struct cgroup cg;
	char *text;
	int ret = 0;

	if (init_is_alive(st))
		kill(st->pid, SIGKILL);
	if (cgroup_open_path(&cg, st->cgroup_path, f) < 0 || cgroup_remove(&cg, f) < 0)
		ret = -1;
	wait_until_gone(st);
	if (cfg) {
		struct failure hook;

		text = state_json(st, STATUS_STOPPED, cfg);
		if (!text || run_hooks(&cfg->hooks, HOOK_POSTSTOP, text, &hook) < 0)
			warn("%s", text ? hook.what : "write the state for the poststop hooks");
		free(text);
	}
	if (remove_state_dir(st->dir) < 0 && ret == 0)
		ret = failed(f, "remove %s", st->dir);
	return ret;
}
