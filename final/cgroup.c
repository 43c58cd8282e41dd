/*
 * cgroup.c - limits for the container: a control group of its own (cgroups(7)).
 *
 * A cgroup is a directory in a special file system. Writing a PID to its
 * cgroup.procs moves that process in; writing to its other files sets limits
 * that the kernel enforces on every process inside, children included. Each
 * container gets the directory box/<id>, made before its command runs and
 * removed after it ends.
 *
 * Hosts differ: cgroup v1 (a hierarchy per controller), v2 (one unified
 * tree) or hybrid (v1 controllers, with an empty v2 tree mounted beside
 * them). cgroup-v1.c and cgroup-v2.c hold what differs, behind the small
 * table struct cgroup_driver; this file does what is common to both.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroup.h"

static const char cgroup_root[] = "/sys/fs/cgroup";
static const char unified_root[] = "/sys/fs/cgroup/unified";
static const char box_parent[] = "box";

enum {
	MIN_MEMORY_BYTES = 6 * 1024 * 1024,	/* docker's minimum: less cannot even start a shell */
	MIN_CPU_MILLIS = 10,		/* 0.01 CPU: cpu.max takes quotas of 1 ms and up */
	PIDS_LIMIT_MAX = 4194304,	/* PID_MAX_LIMIT on 64-bit: no more pids exist */
	RMDIR_TRIES = 200,		/* a killed process leaves its cgroup when it is gone: wait up to 2 s */
};

/* [exercise] */
/*
 * Which cgroup file system does this host have? statfs(2) names a file
 * system by its magic number (CGROUP2_SUPER_MAGIC, TMPFS_MAGIC in
 * <linux/magic.h>): ask what is mounted, never guess from kernel versions.
 * v2 mounts cgroup2 on /sys/fs/cgroup itself; v1 mounts a tmpfs there with a
 * hierarchy per controller inside; hybrid adds cgroup2 at .../unified. (Its
 * v2 tree may hold a controller, like hugetlb on some hosts, but none of
 * those box uses: on hybrid hosts box limits through v1.)
 */
int cgroup_detect(enum cgroup_mode *mode)
{
	struct statfs fs;

	if (statfs(cgroup_root, &fs) < 0)
		return -1;
	if (fs.f_type == CGROUP2_SUPER_MAGIC) {
		*mode = CGROUP_V2;
		return 0;
	}
	if (fs.f_type != TMPFS_MAGIC) {
		errno = ENOTSUP;
		return -1;
	}
	if (statfs(unified_root, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		*mode = CGROUP_HYBRID;
	else
		*mode = CGROUP_V1;
	return 0;
}

const char *cgroup_mode_name(enum cgroup_mode mode)
{
	switch (mode) {
	case CGROUP_V1:
		return "v1";
	case CGROUP_V2:
		return "v2";
	case CGROUP_HYBRID:
		return "hybrid";
	}
	return "unknown";
}

/* <mount>/box: where every container's cgroup goes, in hierarchy number i. */
static int parent_dir(const struct cgroup *cg, int i, char *buf, size_t size)
{
	return path_join(buf, size, cg->mounts[i], box_parent);
}

/* <mount>/box/<id>: the container's cgroup in hierarchy number i (step 7: <mount>/<cgroupsPath> for box-oci). */
int cgroup_dir(const struct cgroup *cg, int i, char *buf, size_t size)
{
	return path_join(buf, size, cg->mounts[i], cg->path);
}

/* <mount>/box/<id>/<file>: one of the container's cgroup files. */
int cgroup_file(const struct cgroup *cg, int i, const char *file, char *buf, size_t size)
{
	char dir[PATH_MAX];

	if (cgroup_dir(cg, i, dir, sizeof(dir)) < 0)
		return -1;
	return path_join(buf, size, dir, file);
}

/* Write value to one of the container's cgroup files. */
int cgroup_set(const struct cgroup *cg, int i, const char *file, const char *value, struct failure *f)
{
	char path[PATH_MAX];

	if (cgroup_file(cg, i, file, path, sizeof(path)) < 0)
		return failed(f, "cgroup path of %s", file);
	if (write_file(path, value) < 0)
		return failed(f, "set %s to %s", path, value);
	return 0;
}

/* Find "key value" in a file of such lines (memory.events, cpu.stat, ...). */
int read_keyed_value(const char *path, const char *key, long long *value)
{
	FILE *f = fopen(path, "re");
	char name[64];
	long long v;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &v) == 2) {
		if (strcmp(name, key) == 0) {
			*value = v;
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	errno = ENOENT;
	return -1;
}

/* SIGKILL every process listed in dir/cgroup.procs. */
int kill_procs(const char *dir)
{
	char path[PATH_MAX];
	FILE *f;
	int pid;

	if (path_join(path, sizeof(path), dir, "cgroup.procs") < 0)
		return -1;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	while (fscanf(f, "%d", &pid) == 1)
		kill(pid, SIGKILL);
	fclose(f);
	return 0;
}

/*
 * box/ in the first hierarchy, locked: shared while a box makes its
 * container's directory and locks it, exclusive while one removes
 * directories. So a box cleaning up never takes a directory another box
 * has made but not locked yet. Returns a descriptor that holds the lock.
 */
static int lock_parent(const struct cgroup *cg, int how)
{
	char path[PATH_MAX];

	if (parent_dir(cg, 0, path, sizeof(path)) < 0)
		return -1;
	return lock_dir(path, how);
}

/* Is a box using this container's cgroup? It holds a lock on its directory while it does. */
static bool in_use(const struct cgroup *cg)
{
	char path[PATH_MAX];

	if (cgroup_dir(cg, 0, path, sizeof(path)) < 0)
		return true;
	return dir_in_use(path);
}

/* rmdir(2) a cgroup; it fails with EBUSY until the last process inside is gone. */
static int remove_dir(const char *path)
{
	for (int tries = 0; tries < RMDIR_TRIES; tries++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		usleep(10 * 1000);
	}
	return -1;
}

/*
 * Kill what is left in the container's cgroup and remove its directories.
 * Goes on after a failure, to remove as much as it can; f notes the first.
 */
static int remove_dirs(const struct cgroup *cg, struct failure *f)
{
	char path[PATH_MAX];
	int ret = 0;

	if (cg->driver->kill_all(cg) < 0)
		ret = failed(f, "kill the processes left in cgroup %s", cg->path);
	for (int i = 0; i < cg->nmounts; i++) {
		if (cgroup_dir(cg, i, path, sizeof(path)) < 0)
			return failed(f, "cgroup path of %s", cg->path);
		if (remove_dir(path) < 0 && ret == 0)
			ret = failed(f, "remove cgroup %s", path);
	}
	return ret;
}

/* Remove box/ itself once no container uses it (EBUSY: some still do). */
static void remove_parents(const struct cgroup *cg)
{
	char path[PATH_MAX];

	for (int i = cg->nmounts - 1; i >= 0; i--) {
		if (parent_dir(cg, i, path, sizeof(path)) == 0)
			rmdir(path);
	}
}

/* Remove box/<id> if no box holds its lock; a failure only earns a warning. */
static void remove_if_stale(const struct cgroup *cg, const char *id)
{
	struct cgroup stale = *cg;
	struct failure f;

	memcpy(stale.id, id, sizeof(stale.id));
	if (format_into(stale.path, sizeof(stale.path), "%s/%s", box_parent, id) < 0)
		return;
	if (!in_use(&stale) && remove_dirs(&stale, &f) < 0)
		warn("remove the cgroup of a container that is gone: %s", f.what);
}

/*
 * A box killed by SIGKILL cannot remove its cgroup; the next box does. Only
 * directories named like container ids under box/ are looked at, and only
 * those whose lock nobody holds: no other cgroup is ever touched.
 */
static int remove_stale(const struct cgroup *cg, struct failure *f)
{
	char path[PATH_MAX];
	struct dirent *d;
	int parent_fd = lock_parent(cg, LOCK_EX);

	if (parent_fd < 0)
		return failed(f, "lock the cgroup parent %s/%s", cg->mounts[0], box_parent);
	for (int i = 0; i < cg->nmounts; i++) {
		DIR *dir = parent_dir(cg, i, path, sizeof(path)) == 0 ? opendir(path) : NULL;

		while (dir && (d = readdir(dir))) {
			if (is_container_id(d->d_name))
				remove_if_stale(cg, d->d_name);
		}
		if (dir)
			closedir(dir);
	}
	close(parent_fd);
	return 0;
}

/* Make box/<id> in every hierarchy, and lock it for as long as this box runs. */
static int make_dirs(struct cgroup *cg, struct failure *f)
{
	char path[PATH_MAX];

	for (int i = 0; i < cg->nmounts; i++) {
		if (parent_dir(cg, i, path, sizeof(path)) < 0 || (mkdir(path, 0755) < 0 && errno != EEXIST))
			return failed(f, "create cgroup %s", path);
		if (cgroup_dir(cg, i, path, sizeof(path)) < 0 || mkdir(path, 0755) < 0)
			return failed(f, "create cgroup %s", path);
	}
	if (cgroup_dir(cg, 0, path, sizeof(path)) < 0)
		return failed(f, "cgroup path of box/%s", cg->id);
	cg->lock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->lock_fd < 0 || lock_fd(cg->lock_fd, LOCK_EX) < 0)
		return failed(f, "lock cgroup %s", path);
	return 0;
}

/* Detect the host's cgroups and find the hierarchies box uses. */
static int cgroup_open(struct cgroup *cg, const char *id, struct failure *f)
{
	memset(cg, 0, sizeof(*cg));
	cg->lock_fd = cg->clone_fd = -1;
	if (format_into(cg->id, sizeof(cg->id), "%s", id) < 0 ||
	    format_into(cg->path, sizeof(cg->path), "%s/%s", box_parent, id) < 0)
		return failed(f, "container id %s", id);
	if (cgroup_detect(&cg->mode) < 0)
		return failed(f, "find the cgroup file system at %s", cgroup_root);
	cg->driver = cg->mode == CGROUP_V2 ? &cgroup_v2_driver : &cgroup_v1_driver;
	return cg->driver->find_mounts(cg, f);
}

/* final: box exec finds a box run container's cgroup, box/<id>, as cgroup_create made it. */
int cgroup_open_box(struct cgroup *cg, const char *id, struct failure *f)
{
	return cgroup_open(cg, id, f);
}

/* ---- step 7: box-oci's cgroups, at the path its client chose ------------------------------- */

/*
 * config-linux.md "cgroupsPath": podman gives /libpod_parent/libpod-<id>,
 * dockerd /docker/<id>, containerd /default/<id> (CLIENTS.md); box-oci
 * uses /box-oci/<id> when none is given. The same relative path below every
 * hierarchy: every v1 hierarchy and the v2 tree beside them, as runc does,
 * so that /proc/PID/cgroup names it everywhere and the client finds its
 * statistics where it looks.
 */
int cgroup_open_path(struct cgroup *cg, const char *cgroups_path, struct failure *f)
{
	memset(cg, 0, sizeof(*cg));
	cg->lock_fd = cg->clone_fd = -1;
	cg->every_hierarchy = true;
	while (cgroups_path[0] == '/')
		cgroups_path++;
	if (!cgroups_path[0] || strstr(cgroups_path, "..")) {
		errno = EINVAL;
		return failed(f, "linux.cgroupsPath \"/%s\": must name a cgroup below the root, without \"..\"",
			      cgroups_path);
	}
	if (format_into(cg->path, sizeof(cg->path), "%s", cgroups_path) < 0)
		return failed(f, "linux.cgroupsPath %s", cgroups_path);
	if (cgroup_detect(&cg->mode) < 0)
		return failed(f, "find the cgroup file system at %s", cgroup_root);
	cg->driver = cg->mode == CGROUP_V2 ? &cgroup_v2_driver : &cgroup_v1_driver;
	return cg->driver->find_mounts(cg, f);
}

/* v2: the container's directory for clone3(2) CLONE_INTO_CGROUP in cg->clone_fd (-1: cgroup_join instead). */
void cgroup_open_clone_fd(struct cgroup *cg)
{
	char dir[PATH_MAX];

	cg->clone_fd = -1;
	if (cg->mode == CGROUP_V2 && cgroup_dir(cg, 0, dir, sizeof(dir)) == 0)
		cg->clone_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* mkdir -p of the container's path in hierarchy i. */
static int make_path_dirs(const struct cgroup *cg, int i, struct failure *f)
{
	char path[PATH_MAX];
	size_t base = strlen(cg->mounts[i]) + 1;

	if (cgroup_dir(cg, i, path, sizeof(path)) < 0)
		return failed(f, "cgroup path of %s", cg->path);
	for (char *slash = path + base;; slash++) {
		char saved = *slash;

		if (saved != '/' && saved != '\0')
			continue;
		*slash = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return failed(f, "create cgroup %s", path);
		if (saved == '\0')
			return 0;
		*slash = '/';
	}
}

/*
 * box-oci's create: the directories in every hierarchy (an existing leaf
 * is fine: docker makes none, podman may), then the limits. No lock is
 * held: box-oci exits after create, and delete removes the cgroup.
 */
static int create_at_path(struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	struct failure undo;

	if (cgroup_open_path(cg, spec->cgroups_path, f) < 0)
		return -1;
	for (int i = 0; i < cg->nmounts; i++) {
		if (make_path_dirs(cg, i, f) < 0)
			goto undo;
	}
	if (cg->driver->prepare_parent(cg, spec, f) < 0 || cg->driver->set_limits(cg, spec, f) < 0)
		goto undo;
	cgroup_open_clone_fd(cg);
	return 0;
undo:
	if (remove_dirs(cg, &undo) < 0)
		warn("%s", undo.what);
	return -1;
}

/* Make the container's cgroup and set its limits; on failure, nothing is left. */
int cgroup_create(struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	struct failure undo;
	int parent_fd, ret;

	if (spec->cgroups_path)	/* step 7: box-oci, at the path its client chose */
		return create_at_path(cg, spec, f);
	if (cgroup_open(cg, spec->id, f) < 0 || remove_stale(cg, f) < 0)
		return -1;
	parent_fd = lock_parent(cg, LOCK_SH);
	if (parent_fd < 0)
		return failed(f, "lock the cgroup parent %s/%s", cg->mounts[0], box_parent);
	ret = cg->driver->prepare_parent(cg, spec, f);
	if (ret == 0)
		ret = make_dirs(cg, f);
	close(parent_fd);
	if (ret == 0)
		ret = cg->driver->set_limits(cg, spec, f);
	if (ret < 0) {
		if (cgroup_remove(cg, &undo) < 0)
			warn("%s", undo.what);
		return -1;
	}
	/* v2 only: clone3(2) can start the child right inside (CLONE_INTO_CGROUP). */
	if (cg->mode == CGROUP_V2)
		cg->clone_fd = cg->lock_fd;
	return 0;
}

/* [exercise] */
/*
 * cgroups(7): writing a PID to a cgroup's cgroup.procs file moves that
 * process, all its threads, into the cgroup; its children are born there.
 * Write it in every hierarchy box uses (v1 has several).
 */
int cgroup_join(const struct cgroup *cg, pid_t pid)
{
	char path[PATH_MAX], text[32];

	if (format_into(text, sizeof(text), "%d\n", (int)pid) < 0)
		return -1;
	for (int i = 0; i < cg->nmounts; i++) {
		if (cgroup_file(cg, i, "cgroup.procs", path, sizeof(path)) < 0)
			return -1;
		if (write_file(path, text) < 0)
			return -1;
	}
	return 0;
}

/* How many processes the OOM killer has killed in the container's cgroup. */
int cgroup_oom_kills(const struct cgroup *cg, long long *kills)
{
	return cg->driver->oom_kills(cg, kills);
}

/*
 * Kill what is left inside, remove box/<id>, and box/ once empty. Also
 * undoes a half-made cgroup. Goes on after a failure; f notes the first.
 * (Step 7: box-oci's cgroup at its client's path: its parents stay, as
 * with runc; podman keeps its own cgroup in /libpod_parent, for one.)
 */
int cgroup_remove(struct cgroup *cg, struct failure *f)
{
	int parent_fd, ret;

	if (cg->every_hierarchy) {
		ret = remove_dirs(cg, f);
		if (cg->clone_fd >= 0)
			close(cg->clone_fd);
		cg->clone_fd = -1;
		return ret;
	}
	parent_fd = lock_parent(cg, LOCK_EX);
	ret = remove_dirs(cg, f);

	remove_parents(cg);
	if (parent_fd >= 0)
		close(parent_fd);
	if (cg->lock_fd >= 0)
		close(cg->lock_fd);
	cg->lock_fd = cg->clone_fd = -1;
	return ret;
}

/* For 'box info': the host's cgroup mode and the hierarchies box would use. */
int cgroup_info(struct failure *f)
{
	struct cgroup cg;

	if (cgroup_open(&cg, "info", f) < 0)
		return -1;
	printf("cgroup mode: %s\n", cgroup_mode_name(cg.mode));
	printf("cgroup driver: %s\n", cg.driver->name);
	for (int i = 0; i < cg.nmounts; i++)
		printf("cgroup hierarchy: %s%s%s\n", cg.mounts[i], cg.options[i][0] ? " " : "", cg.options[i]);
	return 0;
}

/* For 'box prune': remove the cgroups of containers whose box is gone. */
int cgroup_prune(struct failure *f)
{
	struct cgroup cg;

	if (cgroup_open(&cg, "prune", f) < 0 || remove_stale(&cg, f) < 0)
		return -1;
	remove_parents(&cg);
	return 0;
}

/* ---- step 7: what box-oci needs besides ---------------------------------------------------- */

/* The pids in the container's cgroup (for ps, kill --all): cgroup.procs of its first hierarchy. */
int cgroup_pids(const struct cgroup *cg, pid_t *pids, size_t max, size_t *n)
{
	char path[PATH_MAX];
	FILE *file;
	int pid;

	*n = 0;
	if (cgroup_file(cg, 0, "cgroup.procs", path, sizeof(path)) < 0)
		return -1;
	file = fopen(path, "re");
	if (!file)
		return -1;
	while (*n < max && fscanf(file, "%d", &pid) == 1)
		pids[(*n)++] = pid;
	fclose(file);
	return 0;
}

/* pause and resume: freeze every process inside, or thaw them (the freezer: v1 freezer.state, v2 cgroup.freeze). */
int cgroup_freeze(const struct cgroup *cg, bool frozen)
{
	return cg->driver->freeze(cg, frozen);
}

/* Is the container's cgroup frozen (box-oci state says "paused")? */
bool cgroup_frozen(const struct cgroup *cg)
{
	return cg->driver->is_frozen(cg);
}

/* box-oci update: new limits for a container that runs. */
int cgroup_update(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	return cg->driver->set_limits(cg, spec, f);
}

/* The controllers of a v1 hierarchy as mount(2) data: "rw,memory" -> "memory". */
static int controllers_of(const char *options, char *buf, size_t size)
{
	char copy[256], *rest = copy, *word;
	size_t len = 0;

	buf[0] = '\0';
	if (format_into(copy, sizeof(copy), "%s", options) < 0)
		return -1;
	while ((word = strsep(&rest, ","))) {
		if (strcmp(word, "rw") == 0 || strcmp(word, "ro") == 0 || !word[0])
			continue;
		if (format_into(buf + len, size - len, "%s%s", len ? "," : "", word) < 0)
			return -1;
		len += strlen(buf + len);
	}
	return 0;
}

/* mount(2) on path inside the root, resolved again each time (a mount made there covers the old directory). */
static int mount_in_root(int root_fd, const char *path, const char *source, const char *type, unsigned long flags,
			 const void *data)
{
	char target[64];
	int fd = open_in_root(root_fd, path, O_PATH | O_DIRECTORY, 0), ret = -1;

	if (fd < 0)
		return -1;
	if (format_into(target, sizeof(target), "/proc/self/fd/%d", fd) == 0)
		ret = mount(source, target, type, flags, data);
	close(fd);
	return ret;
}

/*
 * Hierarchy i at path inside the container: in a cgroup namespace
 * (cgroup_namespaces(7)) a fresh mount of it, whose root is the
 * container's cgroup; without one, a bind of the container's own
 * directory, so the host's other cgroups stay out of sight.
 */
static int mount_hierarchy(const struct cgroup *cg, int i, int root_fd, const char *path, bool cgroupns,
			   unsigned long flags)
{
	char host[PATH_MAX], data[256];
	bool v2 = !cg->options[i][0];	/* find_mounts leaves cgroup2's empty */

	if (cgroup_dir(cg, i, host, sizeof(host)) < 0 || controllers_of(cg->options[i], data, sizeof(data)) < 0)
		return -1;
	if (cgroupns)
		return mount_in_root(root_fd, path, "cgroup", v2 ? "cgroup2" : "cgroup", flags, v2 ? NULL : data);
	if (mount_in_root(root_fd, path, host, NULL, MS_BIND, NULL) < 0)
		return -1;
	return mount_in_root(root_fd, path, NULL, NULL, MS_REMOUNT | MS_BIND | flags, NULL);
}

/* v1 and hybrid: a tmpfs on dest, a directory in it per hierarchy (named like its host mount point). */
static int mount_hierarchies(const struct cgroup *cg, int root_fd, const char *dest, bool cgroupns,
			     unsigned long flags)
{
	char path[PATH_MAX];
	int dir_fd, ret = 0;

	if (mount_in_root(root_fd, dest, "tmpfs", "tmpfs", flags & ~MS_RDONLY, "mode=755") < 0)
		return -1;
	dir_fd = open_in_root(root_fd, dest, O_RDONLY | O_DIRECTORY, 0);
	if (dir_fd < 0)
		return -1;
	for (int i = 0; ret == 0 && i < cg->nmounts; i++) {
		const char *name = strrchr(cg->mounts[i], '/') + 1;

		if ((mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST) ||
		    format_into(path, sizeof(path), "%s/%s", dest, name) < 0)
			ret = -1;
		else
			ret = mount_hierarchy(cg, i, root_fd, path, cgroupns, flags);
	}
	close(dir_fd);
	if (ret == 0 && (flags & MS_RDONLY))
		ret = mount_in_root(root_fd, dest, NULL, NULL, MS_REMOUNT | flags, "mode=755");
	return ret;
}

/*
 * config.md mounts of type "cgroup" (docker, podman and containerd all ask
 * for /sys/fs/cgroup). On v2 that is one cgroup2 mount; on v1 and hybrid
 * hosts a tmpfs with a directory per hierarchy, as runc makes it.
 */
int mount_cgroup(int root_fd, const struct container_spec *spec, const struct oci_mount *m)
{
	unsigned long flags = (m->parsed.flags & ~(MS_BIND | MS_REC)) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	bool cgroupns = spec->new_namespaces & CLONE_NEWCGROUP;
	int fd = make_dir_in_root(root_fd, m->destination);

	if (fd < 0)
		return -1;
	close(fd);
	if (spec->cgroup->mode != CGROUP_V2)
		return mount_hierarchies(spec->cgroup, root_fd, m->destination, cgroupns, flags);
	return mount_hierarchy(spec->cgroup, 0, root_fd, m->destination, cgroupns, flags);
}

/* ---- limits from the command line ------------------------------------------------------ */

/* "64m" -> 67108864: a number and an optional unit b, k, m or g (any case, "mb" too), as docker takes. */
int parse_memory(const char *text, long long *bytes)
{
	static const char units[] = "bkmg";
	unsigned long long n;
	const char *unit;
	char *end;
	int shift = 0;

	errno = 0;
	if (!isdigit((unsigned char)text[0]))
		goto bad;
	n = strtoull(text, &end, 10);
	if (errno)
		goto bad;
	if (*end) {
		unit = strchr(units, tolower((unsigned char)*end));
		if (!unit)
			goto bad;
		shift = 10 * (int)(unit - units);
		end++;
		if (shift && tolower((unsigned char)*end) == 'b')
			end++;
		if (*end)
			goto bad;
	}
	if (n > (unsigned long long)LLONG_MAX >> shift || (long long)(n << shift) < MIN_MEMORY_BYTES) {
		errno = ERANGE;
		return -1;
	}
	*bytes = (long long)(n << shift);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* "0.5" -> 500 thousandths of a CPU; at least 0.01, at most the CPUs this machine has. */
int parse_cpus(const char *text, unsigned int *millis)
{
	unsigned long whole = 0, frac = 0, scale = 1000;
	const char *p = text;
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!isdigit((unsigned char)*p) && *p != '.')
		goto bad;
	/* Stop before whole * 1000 could overflow; digits left over make it malformed below. */
	for (; isdigit((unsigned char)*p) && whole < 100000; p++)
		whole = whole * 10 + (unsigned long)(*p - '0');
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {	/* past 0.001, digits are ignored */
			scale /= 10;
			frac += (unsigned long)(*p - '0') * scale;
		}
	}
	if (*p || p == text || (p == text + 1 && *text == '.'))
		goto bad;
	if (whole * 1000 + frac < MIN_CPU_MILLIS || whole * 1000 + frac > (unsigned long)ncpus * 1000) {
		errno = ERANGE;
		return -1;
	}
	*millis = (unsigned int)(whole * 1000 + frac);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* "32" -> 32: how many processes (and threads) the container may have at once. */
int parse_pids_limit(const char *text, long *max)
{
	char *end;
	long n;

	errno = 0;
	if (!isdigit((unsigned char)text[0]))
		goto bad;
	n = strtol(text, &end, 10);
	if (errno || *end)
		goto bad;
	if (n < 1 || n > PIDS_LIMIT_MAX) {
		errno = ERANGE;
		return -1;
	}
	*max = n;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
