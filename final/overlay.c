/*
 * overlay.c - a copy-on-write root: read-only layers below, one thin
 * writable layer on top (overlayfs), and what is mounted into it.
 *
 * The directory the user names (ROOTFS) is never written to any more: it
 * is the lowest read-only layer, as an image layer will be in step 6.
 * Each container gets a directory of its own under the box root:
 *
 *     <root>/containers/<id>/upper    the container's writes (its one writable layer)
 *                            work     overlayfs's scratch space (same file system as upper)
 *                            merged   where the layers are seen as one tree: the new root
 *                            lower/0, lower/1, ...   short links to the read-only layers
 *
 * The parent makes the directory before the child runs and removes it after
 * (unless --keep); the child mounts the overlay in its own mount namespace,
 * so the mount goes away with the container, whatever happens to box. See
 * the kernel's Documentation/filesystems/overlayfs.rst.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "box.h"

static const char containers_dir[] = "containers";
static const char kept_mark[] = "keep";	/* a --keep container's directory holds this file */

enum {
	NFTW_FDS = 32,			/* descriptors nftw(3) may keep open while it walks */
	DEFAULT_TMPFS_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC,	/* docker's defaults for --tmpfs */
};

/* ---- the per-container directory (parent side) ------------------------------------------ */

/* nftw(3) callback: remove one entry; directories come after their contents (FTW_DEPTH). */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

/*
 * rm -rf path. FTW_PHYS: never follow a symlink (lower/0 points at the
 * user's rootfs!); FTW_MOUNT: never cross into another file system, so a
 * mount that is somehow still there is left alone rather than emptied. A
 * path already gone is fine. It often cleans up after a failure, so when
 * it succeeds it leaves errno as it found it. The store uses it too.
 */
int remove_tree(const char *path)
{
	int err = errno;

	if (nftw(path, remove_entry, NFTW_FDS, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return -1;
	errno = err;
	return 0;
}

/* <root>/containers, locked: shared while a box makes and locks its directory, exclusive while one cleans up. */
static int lock_containers(const char *root, int how)
{
	char path[PATH_MAX];

	if (make_path(root) < 0 || path_join(path, sizeof(path), root, containers_dir) < 0)
		return -1;
	return lock_dir(path, how);
}

/* Was this container kept (--keep)? Then only 'box prune' removes it. */
static bool is_kept(const char *dir)
{
	char path[PATH_MAX];

	return path_join(path, sizeof(path), dir, kept_mark) == 0 && access(path, F_OK) == 0;
}

/*
 * Remove the directories of containers whose box is gone (killed with
 * SIGKILL, say): only those named like an id, only those whose lock nobody
 * holds, and kept ones only when asked (box prune). Returns how many.
 */
int remove_stale_containers(const char *root, bool also_kept, struct failure *f)
{
	char parent[PATH_MAX], path[PATH_MAX];
	int lock = lock_containers(root, LOCK_EX), removed = 0;
	struct dirent *d;
	DIR *dir;

	if (lock < 0 || path_join(parent, sizeof(parent), root, containers_dir) < 0 || !(dir = opendir(parent))) {
		if (lock >= 0)
			close(lock);
		return failed(f, "look for stale containers in %s/%s", root, containers_dir);
	}
	while ((d = readdir(dir))) {
		if (!is_container_id(d->d_name) || path_join(path, sizeof(path), parent, d->d_name) < 0)
			continue;
		if (dir_in_use(path) || (is_kept(path) && !also_kept))
			continue;
		if (remove_tree(path) < 0)
			warn("remove the directory of a container that is gone: %s", path);
		else
			removed++;
	}
	closedir(dir);
	close(lock);
	return removed;
}

/*
 * The read-only layers, top first, as short links lower/0, lower/1, ...:
 * mount(2) takes its options in one page (4096 bytes), and 60 layers with
 * long paths do not fit; "lower/0:lower/1:..." does, for hundreds (docker's
 * overlay2 driver uses short links for the same reason). The child mounts
 * from inside the container directory, so the relative paths resolve.
 */
static int link_layers(const char *dir, const struct container_spec *spec)
{
	char lower[PATH_MAX], link[PATH_MAX], target[PATH_MAX];

	if (path_join(lower, sizeof(lower), dir, "lower") < 0 || mkdir(lower, 0711) < 0)
		return -1;
	for (int i = 0; i <= spec->nlayers; i++) {
		/* The --layer directories, then ROOTFS at the bottom. */
		const char *layer = i < spec->nlayers ? spec->layers[i] : spec->rootfs;

		if (!realpath(layer, target) || format_into(link, sizeof(link), "%s/%d", lower, i) < 0 ||
		    symlink(target, link) < 0)
			return -1;
	}
	return 0;
}

/*
 * In a user namespace, root inside is uids.host outside: the writable
 * layer must belong to it, or root inside could not write to its own "/".
 */
static int give_to_userns_root(const char *dir, const struct container_spec *spec)
{
	const char *const owned[] = { "upper", "work" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		if (path_join(path, sizeof(path), dir, owned[i]) < 0 || chown(path, spec->uids.host, spec->gids.host) < 0)
			return -1;
	}
	return 0;
}

/* --keep: a file named "keep" in the directory tells the next box to leave it alone. */
static int mark_kept(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (path_join(path, sizeof(path), dir, kept_mark) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	return close(fd);
}

/* containers/<id>/{upper,work,merged,lower}, in a directory the caller has locked. */
static int make_container_dir(const char *dir, const struct container_spec *spec, struct failure *f)
{
	const char *const parts[] = { "upper", "work", "merged" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		/* final (box build): upper and work live outside, as links: they outlive the container. */
		const char *outside = i == 0 ? spec->upper_dir : i == 1 ? spec->work_dir : NULL;

		if (path_join(path, sizeof(path), dir, parts[i]) < 0 ||
		    (outside ? symlink(outside, path) : mkdir(path, 0755)) < 0)
			return failed(f, "create %s/%s", dir, parts[i]);
	}
	if (link_layers(dir, spec) < 0)
		return failed(f, "link the layers of %s", dir);
	if (spec->userns && give_to_userns_root(dir, spec) < 0)
		return failed(f, "give %s/upper to the user namespace's root", dir);
	if (spec->keep && mark_kept(dir) < 0)
		return failed(f, "mark %s as kept", dir);
	return 0;
}

/* Does the file system of dir fill in d_type in directory entries (readdir(3))? xfs made with ftype=0 does not. */
static bool has_d_type(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool known = true;

	while (d && (e = readdir(d))) {
		if (e->d_type == DT_UNKNOWN)
			known = false;
	}
	if (d)
		closedir(d);
	return known;
}

/*
 * Can dir hold extended attributes (xattr(7)) named like name? overlayfs
 * marks opaque directories with trusted.overlay.opaque, or in a user
 * namespace user.overlay.opaque (tmpfs has user.* only since Linux 6.6).
 */
static bool has_xattrs(const char *dir, const char *name)
{
	if (lsetxattr(dir, name, "y", 1, 0) < 0)
		return errno != ENOTSUP;	/* any other error: let the mount itself decide */
	lremovexattr(dir, name);
	return true;
}

/*
 * overlayfs refuses an upper directory on overlayfs itself, or on a file
 * system without d_type or the extended attributes it needs; ext4, xfs,
 * btrfs and tmpfs are fine. Say which, rather than leave the mount's
 * EINVAL (or a later EIO) to explain it.
 */
int check_upper_fs(const char *dir, bool userns, struct failure *f)
{
	struct statfs fs;

	if (statfs(dir, &fs) < 0)
		return failed(f, "statfs %s", dir);
	errno = EINVAL;
	if (fs.f_type == OVERLAYFS_SUPER_MAGIC)
		return failed(f, "%s is on overlayfs, which cannot hold a container's writable layer "
			      "(give --root a directory on ext4, xfs, btrfs or tmpfs)", dir);
	if (!has_d_type(dir))
		return failed(f, "%s: its file system does not record file types in directories (d_type), "
			      "which overlayfs needs (give --root another)", dir);
	if (!has_xattrs(dir, userns ? "user.box-check" : "trusted.box-check"))
		return failed(f, "%s: its file system has no %s.* extended attributes, which overlayfs needs%s "
			      "(give --root another)", dir, userns ? "user" : "trusted", userns ? " in a user namespace" : "");
	return 0;
}

/*
 * Make the container's directory under <root>/containers and lock it for as
 * long as this box runs; first remove what dead boxes left behind. The
 * directory's name goes to spec->dir, where the child finds it. Returns the
 * descriptor that holds the lock.
 */
int container_dir_create(struct container_spec *spec, struct failure *f)
{
	char path[PATH_MAX];
	struct failure undo;
	int parent_lock, lock = -1;

	if (remove_stale_containers(spec->box_root, false, f) < 0)
		return -1;
	if (format_into(spec->dir, sizeof(spec->dir), "%s/%s/%s", spec->box_root, containers_dir, spec->id) < 0)
		return failed(f, "container directory in %s", spec->box_root);
	parent_lock = lock_containers(spec->box_root, LOCK_SH);
	if (parent_lock < 0)
		return failed(f, "lock %s/%s", spec->box_root, containers_dir);
	/* The lock's descriptor is the containers directory, where the upper directory will be. */
	if (format_into(path, sizeof(path), "%s/%s", spec->box_root, containers_dir) < 0 ||
	    check_upper_fs(path, spec->userns, f) < 0) {
		close(parent_lock);
		return -1;
	}
	/* 0711: others may pass through (root of a user namespace is "others" here), not list. */
	if (mkdir(spec->dir, 0711) < 0 || (lock = open(spec->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    lock_fd(lock, LOCK_EX) < 0)
		failed(f, "create %s", spec->dir);
	else if (make_container_dir(spec->dir, spec, f) == 0) {
		close(parent_lock);
		return lock;
	}
	close(parent_lock);
	if (container_dir_remove(spec, lock, &undo) < 0)
		warn("%s", undo.what);
	return -1;
}

/* Remove the container's directory and drop its lock. */
int container_dir_remove(const struct container_spec *spec, int lock, struct failure *f)
{
	int ret = 0;

	if (remove_tree(spec->dir) < 0)
		ret = failed(f, "remove %s", spec->dir);
	if (lock >= 0)
		close(lock);
	return ret;
}

/* ---- mounts in the container's root (child side) ------------------------------------------ */

/* [exercise] */
/*
 * The options of an overlay mount(2): lowerdir= the read-only layers, top
 * first, separated by ':' (lower/0 is the top, lower/N, the last, is
 * ROOTFS); upperdir= where writes go; workdir= overlayfs's scratch space:
 *     lowerdir=lower/0:lower/1,upperdir=upper,workdir=work
 * The names are relative to the container's directory (see link_layers).
 * In a user namespace add ",userxattr": overlayfs then keeps its notes in
 * user.overlay.* xattrs, since trusted.* needs real root (overlayfs.rst,
 * "Permission model"). Fail rather than cut the text short (format_into).
 * final: and ",redirect_dir=off,metacopy=off": the upper directory may
 * become an image layer (box build, box commit), and a layer cannot carry a
 * renamed directory or a file whose data stayed below (diff.c). With
 * userxattr both are off already, and the kernel refuses the options there.
 */
static int overlay_options(const struct container_spec *spec, char *buf, size_t size)
{
	size_t len = 0;

	for (int i = 0; i <= spec->nlayers; i++) {
		if (format_into(buf + len, size - len, "%slower/%d", i == 0 ? "lowerdir=" : ":", i) < 0)
			return -1;
		len += strlen(buf + len);
	}
	return format_into(buf + len, size - len, ",upperdir=upper,workdir=work%s",
			   spec->userns ? ",userxattr" : ",redirect_dir=off,metacopy=off");
}

/* [exercise] */
/*
 * chdir(2) into the container's directory, so the short relative names of
 * overlay_options resolve, then mount(2) an overlay (type "overlay", source
 * "overlay": any name) on "merged". mount(2) takes its options in one page:
 * that is why the names are short.
 */
static int mount_overlay(const struct container_spec *spec)
{
	char options[OVERLAY_OPTIONS_MAX];

	if (chdir(spec->dir) < 0 || overlay_options(spec, options, sizeof(options)) < 0)
		return -1;
	return mount("overlay", "merged", "overlay", 0, options);
}

/*
 * openat2(2) with RESOLVE_IN_ROOT: path is looked up as if root_fd were "/",
 * so "..", absolute symlinks and "/../../etc" all stay inside. A rootfs
 * whose /data is a symlink to /../../etc cannot make us touch the host's
 * /etc. (runc and others have had bugs of exactly this kind.) An empty
 * path is the root itself. layer.c unpacks layers with it too.
 */
int open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = flags & O_CREAT ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	/* glibc has no wrapper for openat2(2): call it by number. */
	return (int)syscall(SYS_openat2, root_fd, path[0] ? path : ".", &how, sizeof(how));
}

/*
 * mkdir(2) path inside the root, its parent existing: resolve the parent in
 * the root, then make the last name in it with mkdirat(2). A name that
 * exists already (a directory, or a symlink we will resolve next) is fine.
 */
static int make_one_dir_in_root(int root_fd, char *path)
{
	char *name = strrchr(path, '/');
	int parent, ret;

	if (!name[1])
		return 0;	/* "a//b": nothing between the slashes */
	*name = '\0';
	parent = open_in_root(root_fd, path[0] ? path : "/", O_PATH | O_DIRECTORY, 0);
	*name = '/';
	if (parent < 0)
		return -1;
	ret = mkdirat(parent, name + 1, 0755);
	close(parent);
	return ret < 0 && errno != EEXIST ? -1 : 0;
}

/*
 * mkdir -p of an absolute path inside the root, one directory at a time,
 * each made in a parent resolved inside the root, so a symlink on the way
 * cannot lead out. Returns an O_PATH descriptor of the last one.
 */
int make_dir_in_root(int root_fd, const char *path)
{
	char partial[PATH_MAX];

	if (format_into(partial, sizeof(partial), "%s", path) < 0)
		return -1;
	for (char *end = partial + 1;; end++) {
		char saved = *end;

		if (saved != '/' && saved != '\0')
			continue;
		*end = '\0';
		if (make_one_dir_in_root(root_fd, partial) < 0)
			return -1;
		if (saved == '\0')
			break;
		*end = '/';
	}
	return open_in_root(root_fd, partial, O_PATH | O_DIRECTORY, 0);
}

/* The mount point for a file (a bind mount of a single file): an empty file, made inside the root. */
int make_file_in_root(int root_fd, const char *path)
{
	char parent[PATH_MAX];
	char *slash;
	int fd;

	if (format_into(parent, sizeof(parent), "%s", path) < 0)
		return -1;
	slash = strrchr(parent, '/');
	*slash = '\0';
	if (parent[0] && (fd = make_dir_in_root(root_fd, parent)) >= 0)
		close(fd);
	return open_in_root(root_fd, path, O_CREAT | O_RDONLY, 0644);
}

/*
 * Mount the overlay on <dir>/merged, the new root. Runs in the child, in
 * its own mount namespace. (Step 7: the volumes and tmpfs mounts that
 * followed here are mounts of box run's config now, made by mounts.c.)
 */
int setup_layers(const struct container_spec *spec, struct failure *f)
{
	if (mount_overlay(spec) < 0)
		return failed(f, "mount the overlay on %s/merged", spec->dir);
	return 0;
}

/* --read-only: after pivot_root, "/" is the overlay mount; make that mount read-only. */
int make_root_read_only(void)
{
	return mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
}

/* ---- the command line ------------------------------------------------------------------ */

/* Copy the len bytes at text into buf as a string; fail rather than cut it short. */
static int copy_part(char *buf, size_t size, const char *text, size_t len)
{
	return format_into(buf, size, "%.*s", (int)len, text);
}

/* -v HOST:CONTAINER[:ro|:rw]: both paths absolute, CONTAINER not "/"; HOST must exist (checked before the run). */
int parse_volume(const char *text, struct volume *v)
{
	const char *second = strchr(text, ':'), *third;

	if (!second)
		goto bad;
	third = strchr(second + 1, ':');
	if (copy_part(v->source, sizeof(v->source), text, (size_t)(second - text)) < 0 ||
	    copy_part(v->destination, sizeof(v->destination), second + 1,
		      third ? (size_t)(third - second - 1) : strlen(second + 1)) < 0)
		goto bad;
	if (v->source[0] != '/' || v->destination[0] != '/' || strcmp(v->destination, "/") == 0)
		goto bad;
	if (third && strcmp(third + 1, "ro") != 0 && strcmp(third + 1, "rw") != 0)
		goto bad;
	v->read_only = third && strcmp(third + 1, "ro") == 0;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* "size=64m": a number with an optional unit k, m or g, as tmpfs(5) takes it. */
static bool is_size(const char *text)
{
	size_t digits = strspn(text, "0123456789");

	return digits > 0 && (text[digits] == '\0' || (strchr("kmgKMG", text[digits]) && text[digits + 1] == '\0'));
}

/* One --tmpfs option: a mount flag docker accepts, or size= / mode= for the tmpfs itself. */
static int tmpfs_option(const char *option, struct tmpfs_mount *t)
{
	static const struct {
		const char *name;
		unsigned long set, clear;
	} flags[] = {
		{ "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY }, { "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
		{ "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID }, { "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV },
	};
	size_t len = strlen(t->data);

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcmp(option, flags[i].name) == 0) {
			t->flags = (t->flags | flags[i].set) & ~flags[i].clear;
			return 0;
		}
	}
	if ((strncmp(option, "size=", 5) == 0 && is_size(option + 5)) ||
	    (strncmp(option, "mode=", 5) == 0 && option[5] && strspn(option + 5, "01234567") == strlen(option + 5)))
		return format_into(t->data + len, sizeof(t->data) - len, "%s%s", len ? "," : "", option);
	errno = EINVAL;
	return -1;
}

/* --tmpfs PATH[:OPTION,...], e.g. /tmp:size=64m,mode=1777 (nosuid,nodev,noexec unless told otherwise). */
int parse_tmpfs(const char *text, struct tmpfs_mount *t)
{
	const char *colon = strchr(text, ':');
	char options[TMPFS_DATA_MAX * 2], *rest = options, *option;

	if (copy_part(t->destination, sizeof(t->destination), text, colon ? (size_t)(colon - text) : strlen(text)) < 0 ||
	    format_into(options, sizeof(options), "%s", colon ? colon + 1 : "") < 0)
		goto bad;
	if (t->destination[0] != '/' || (colon && !options[0]))
		goto bad;
	t->flags = DEFAULT_TMPFS_FLAGS;
	t->data[0] = '\0';
	/* strsep(3), not strtok(3): "size=1m,,ro" has an empty option, which is an error. */
	while (colon && (option = strsep(&rest, ","))) {
		if (tmpfs_option(option, t) < 0)
			return -1;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
