/*
 * mounts.c - the config's mounts, in their order, inside the container's root.
 *
 * config.md "Mounts" lists what to mount where: proc on /proc, a tmpfs on
 * /dev, the host's /etc/resolv.conf on /etc/resolv.conf, ... each with
 * fstab-like options that mount-options.c has sorted into mount(2) flags,
 * data, propagation and recursive attributes. box run's config lists its
 * /proc, /dev, /sys, volumes and --tmpfs the same way (run-config.c).
 *
 * Every destination is resolved inside the root (openat2(2)
 * RESOLVE_IN_ROOT, overlay.c), and mount(2) is given /proc/self/fd/N of
 * what was resolved: a rootfs whose /data is a symlink to /etc of the host
 * still gets its mount inside (runc's CVE-2021-30465 was a race of exactly
 * this kind). Runs in the child, before pivot_root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "box.h"

enum {
	FD_PATH_MAX = 64,		/* "/proc/self/fd/N" */
	/* What a bind remount may set (mount(2), "Creating a bind mount"). */
	BIND_REMOUNT_FLAGS = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
			     MS_RELATIME | MS_STRICTATIME,
	COPY_DEPTH_MAX = 64,		/* tmpcopyup: how deep a tree it copies */
};

static int fd_path(char *buf, int fd)
{
	return format_into(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

/* mount(2) on what fd names: the directory or file resolved inside the root. */
static int mount_on(int fd, const char *source, const char *type, unsigned long flags, const void *data)
{
	char target[FD_PATH_MAX];

	if (fd_path(target, fd) < 0)
		return -1;
	return mount(source, target, type, flags, data);
}

/* Bind the host's source onto the file dest inside the root (made empty if missing). */
int bind_file_in_root(int root_fd, const char *source, const char *dest)
{
	int fd = make_file_in_root(root_fd, dest), ret;

	if (fd < 0)
		return -1;
	ret = mount_on(fd, source, NULL, MS_BIND, NULL);
	close(fd);
	return ret;
}

/* mknod(2) path inside the root: the name made in its parent, resolved inside. */
int mknod_in_root(int root_fd, const char *path, mode_t mode, dev_t dev)
{
	char parent[PATH_MAX];
	char *slash;
	int fd, ret;

	if (format_into(parent, sizeof(parent), "%s", path) < 0)
		return -1;
	slash = strrchr(parent, '/');
	if (!slash || !slash[1]) {
		errno = EINVAL;
		return -1;
	}
	*slash = '\0';
	fd = make_dir_in_root(root_fd, parent[0] ? parent : "/");
	if (fd < 0)
		return -1;
	ret = mknodat(fd, slash + 1, mode, dev);
	if (ret < 0 && errno == EEXIST)
		ret = 0;	/* a rootfs may have the node already */
	close(fd);
	return ret;
}

/* A mount's source on the host: a relative one is relative to the bundle (config.md "source"). */
static int host_source(const struct container_spec *spec, const struct oci_mount *m, char *buf, size_t size)
{
	if (!m->source || m->source[0] == '/' || !spec->bundle)
		return format_into(buf, size, "%s", m->source ? m->source : "");
	return path_join(buf, size, spec->bundle, m->source);
}

static bool is_bind(const struct oci_mount *m)
{
	return (m->parsed.flags & MS_BIND) || (m->type && strcmp(m->type, "bind") == 0);
}

/*
 * A bind ignores flags like MS_RDONLY on the first mount(2): they take a
 * second one, MS_REMOUNT | MS_BIND, on the new mount (resolved again: it
 * now covers the path). That call sets the mount's flags to exactly those
 * given, so keep what the source mount has (nosuid, say) unless an option
 * cleared it: in a user namespace clearing a locked flag fails (EPERM).
 */
static int remount_bind(int root_fd, const char *dest, const struct mount_options *o)
{
	static const struct {
		unsigned long st, ms;
	} kept[] = { { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC } };
	unsigned long flags = o->flags & BIND_REMOUNT_FLAGS;
	int fd = open_in_root(root_fd, dest, O_PATH, 0), ret = -1;
	struct statvfs fs;

	if (fd < 0)
		return -1;
	if (fstatvfs(fd, &fs) == 0) {
		for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
			if ((fs.f_flag & kept[i].st) && !(o->cleared & kept[i].ms))
				flags |= kept[i].ms;
		}
		ret = mount_on(fd, NULL, NULL, MS_REMOUNT | MS_BIND | flags, NULL);
	}
	close(fd);
	return ret;
}

/*
 * After the mount itself: its propagation (a second mount(2) with only
 * MS_SHARED, MS_PRIVATE, ...: mount_namespaces(7)) and the recursive
 * attributes of "rro" and friends (mount_setattr(2), AT_RECURSIVE).
 */
static int finish_mount(int root_fd, const char *dest, const struct mount_options *o)
{
	struct mount_attr attr = { .attr_set = o->attr_set, .attr_clr = o->attr_clr };
	int fd, ret = 0;

	if (!o->propagation && !o->attr_set && !o->attr_clr)
		return 0;
	fd = open_in_root(root_fd, dest, O_PATH, 0);
	if (fd < 0)
		return -1;
	if (o->propagation)
		ret = mount_on(fd, NULL, NULL, o->propagation, NULL);
	if (ret == 0 && (o->attr_set || o->attr_clr))
		ret = (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr));
	close(fd);
	return ret;
}

/* Copy one regular file's bytes and mode (tmpcopyup). */
static int copy_file_at(int from_dir, int to_dir, const char *name, const struct stat *st)
{
	int from = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), to = -1, ret = -1;
	off_t offset = 0;

	if (from < 0)
		return -1;
	to = openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
	while (to >= 0 && offset < st->st_size) {
		if (sendfile(to, from, &offset, (size_t)(st->st_size - offset)) <= 0)
			break;
	}
	if (to >= 0 && offset == st->st_size)
		ret = fchmod(to, st->st_mode & 07777);
	close(from);
	if (to >= 0)
		close(to);
	return ret;
}

static int copy_tree(int from_dir, int to_dir, int depth);

/* One entry of a directory being copied: a file, a link, or a directory (recursively). */
static int copy_entry(int from_dir, int to_dir, const char *name, int depth)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int ret = 0;

	if (fstatat(from_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (S_ISREG(st.st_mode)) {
		ret = copy_file_at(from_dir, to_dir, name, &st);
	} else if (S_ISLNK(st.st_mode)) {
		n = readlinkat(from_dir, name, target, sizeof(target) - 1);
		if (n < 0)
			return -1;
		target[n] = '\0';
		ret = symlinkat(target, to_dir, name);
	} else if (S_ISDIR(st.st_mode)) {
		int from = openat(from_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), to;

		if (from < 0 || mkdirat(to_dir, name, st.st_mode & 07777) < 0 ||
		    (to = openat(to_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			if (from >= 0)
				close(from);
			return -1;
		}
		ret = copy_tree(from, to, depth + 1);
		close(from);
		close(to);
	}
	/* Devices, fifos and sockets are left out, as runc's tmpcopyup does. */
	if (ret == 0)
		ret = fchownat(to_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
	return ret;
}

/* Copy the contents of from_dir into to_dir (both open directories). */
static int copy_tree(int from_dir, int to_dir, int depth)
{
	struct dirent *d;
	DIR *dir;
	int dup_fd, ret = 0;

	if (depth > COPY_DEPTH_MAX) {
		errno = ELOOP;
		return -1;
	}
	dup_fd = fcntl(from_dir, F_DUPFD_CLOEXEC, 0);
	dir = dup_fd < 0 ? NULL : fdopendir(dup_fd);
	if (!dir) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -1;
	}
	while (ret == 0 && (d = readdir(dir))) {
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			ret = copy_entry(from_dir, to_dir, d->d_name, depth);
	}
	closedir(dir);
	return ret;
}

/*
 * "tmpcopyup" (runc's extension; podman uses it for --read-only and
 * --tmpfs): the new tmpfs starts with a copy of what the directory held,
 * so /tmp keeps the image's files. old_fd is the directory under the mount.
 */
static int copy_up(int old_fd, int root_fd, const char *dest)
{
	int new_fd = open_in_root(root_fd, dest, O_RDONLY | O_DIRECTORY, 0), ret;

	if (new_fd < 0)
		return -1;
	ret = copy_tree(old_fd, new_fd, 0);
	close(new_fd);
	return ret;
}

/* A mount of a file system (proc, tmpfs, devpts, mqueue, sysfs, ...) on a directory inside the root. */
static int mount_filesystem(int root_fd, const struct oci_mount *m, const char *source)
{
	const struct mount_options *o = &m->parsed;
	int fd = make_dir_in_root(root_fd, m->destination), old = -1, ret;

	if (fd < 0)
		return -1;
	if (o->tmpcopyup)
		old = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = old < 0 && o->tmpcopyup ? -1 : mount_on(fd, source[0] ? source : m->type, m->type,
						      o->flags & ~(MS_BIND | MS_REC), o->data);
	close(fd);
	if (ret == 0 && o->tmpcopyup)
		ret = copy_up(old, root_fd, m->destination);
	if (old >= 0)
		close(old);
	return ret;
}

/* A bind mount of the host's source: onto a directory, or onto a file for a file. */
static int mount_bind(int root_fd, const struct oci_mount *m, const char *source)
{
	const struct mount_options *o = &m->parsed;
	struct stat st;
	int fd, ret;

	if (stat(source, &st) < 0)
		return -1;
	fd = S_ISDIR(st.st_mode) ? make_dir_in_root(root_fd, m->destination) : make_file_in_root(root_fd, m->destination);
	if (fd < 0)
		return -1;
	ret = mount_on(fd, source, NULL, MS_BIND | (o->flags & MS_REC), NULL);
	close(fd);
	if (ret == 0 && (o->flags & BIND_REMOUNT_FLAGS))
		ret = remount_bind(root_fd, m->destination, o);
	return ret;
}

/* [exercise] */
/*
 * One entry of config.md "Mounts": a bind of a host path (mount_bind), a
 * cgroup file system (mount_cgroup, cgroup.c), or any other file system type
 * (mount_filesystem); then its propagation and recursive attributes
 * (finish_mount). See mount(2) and mount_namespaces(7).
 */
static int mount_one(int root_fd, const struct container_spec *spec, const struct oci_mount *m)
{
	char source[PATH_MAX];
	int ret;

	if (host_source(spec, m, source, sizeof(source)) < 0)
		return -1;
	if (is_bind(m))
		ret = mount_bind(root_fd, m, source);
	else if (m->type && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0))
		ret = mount_cgroup(root_fd, spec, m);
	else
		ret = mount_filesystem(root_fd, m, source);
	if (ret < 0)
		return -1;
	return finish_mount(root_fd, m->destination, &m->parsed);
}

/* Every mount of the config, in order; f names the one that failed. */
int mount_all(const struct container_spec *spec, struct failure *f)
{
	int root_fd = open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (root_fd < 0)
		return failed(f, "open the root %s", spec->root_path);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];

		if (mount_one(root_fd, spec, m) < 0) {
			failed(f, "mount %s on %s (mounts[%zu])", m->source ? m->source : m->type ? m->type : "",
			       m->destination, i);
			close(root_fd);
			return -1;
		}
	}
	close(root_fd);
	return 0;
}
