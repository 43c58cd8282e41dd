/*
 * rootfs.c - the container's file system view, in its own mount namespace.
 *
 * chroot(2) only changes how "/" is looked up; the host's mounts stay in the
 * process's mount table, reachable by anyone who can walk out (chapter 1).
 * In a new mount namespace we instead make the rootfs the root *mount*
 * with pivot_root(2), and detach the host's tree, so there is nothing left
 * to walk out to. Before that we give the container a fresh /proc (it is in
 * a new PID namespace), a small /dev, and a read-only /sys.
 *
 * Step 7: those mounts now come from the config's list (config.md "Mounts";
 * box run's config lists the same ones, run-config.c) and are made by
 * mounts.c; what stays here is the order: the root, the mounts, the devices
 * the runtime spec says every container gets, pivot_root, then the masked
 * and read-only paths (config-linux.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "box.h"

/* The device nodes a container gets: the harmless ones every program expects. */
static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };

/* The rest of /dev: links that programs and shells expect to find. */
static const struct {
	const char *name, *target;
} dev_links[] = {
	{ "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
};

/*
 * Our new mount namespace starts as a copy of the host's, and mounts marked
 * shared there would still propagate both ways (mount_namespaces(7)). Mark
 * the whole tree private first, so nothing we mount reaches the host.
 */
static int make_mounts_private(void)
{
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/*
 * Bind each device node from the host's /dev onto an empty file. Binding
 * rather than mknod(2) works in a user namespace too, where mknod is not
 * allowed. Step 7: each path is resolved inside the root (mounts.c), since
 * a bundle's rootfs may hold a /dev that is a symlink out of it.
 */
static int bind_devices(int root_fd)
{
	char host[PATH_MAX], target[PATH_MAX];

	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		if (path_join(host, sizeof(host), "/dev", devices[i]) < 0 ||
		    path_join(target, sizeof(target), "/dev", devices[i]) < 0)
			return -1;
		if (bind_file_in_root(root_fd, host, target) < 0)
			return -1;
	}
	return 0;
}

/* The links of dev_links: /dev/ptmx into devpts, /dev/fd and stdin/out/err into /proc.
 * A rootfs may bring its own (an image's /dev on disk): those stay. */
static int make_dev_links(int dev_fd)
{
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		if (symlinkat(dev_links[i].target, dev_fd, dev_links[i].name) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/*
 * config-linux.md "Default Devices": whatever the config says, the runtime
 * gives every container /dev/null, zero, full, random, urandom, tty and
 * /dev/ptmx (as step 2 did, bound from the host's). After the config's
 * mounts, so that they land in the /dev tmpfs the config mounts.
 */
static int make_default_devices(int root_fd)
{
	int dev_fd = make_dir_in_root(root_fd, "/dev"), ret;

	if (dev_fd < 0)
		return -1;
	ret = bind_devices(root_fd);
	if (ret == 0) {
		int dir = openat(dev_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);	/* symlinkat needs more than O_PATH */

		ret = dir < 0 ? -1 : make_dev_links(dir);
		if (dir >= 0)
			close(dir);
	}
	close(dev_fd);
	return ret;
}

/* config-linux.md "Devices": the nodes a config asks for, like /dev/fuse (c 10:229). */
static int make_config_device(int root_fd, const struct oci_linux_device *d, bool userns)
{
	static const struct {
		char type;
		mode_t mode;
	} types[] = { { 'c', S_IFCHR }, { 'u', S_IFCHR }, { 'b', S_IFBLK }, { 'p', S_IFIFO } };
	mode_t mode = d->has_file_mode ? d->file_mode : 0666;
	char target[64];
	int fd, ret = -1;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i].type == d->type)
			mode |= types[i].mode;
	}
	/* mknod(2) is not allowed in a user namespace: bind the host's node there instead. */
	if (userns)
		return bind_file_in_root(root_fd, d->path, d->path);
	if (mknod_in_root(root_fd, d->path, mode, makedev((unsigned int)d->major, (unsigned int)d->minor)) < 0)
		return -1;
	fd = open_in_root(root_fd, d->path, O_PATH, 0);
	if (fd < 0)
		return -1;
	/* mknod(2) applied our umask: set the mode exactly, and the owner. */
	if (format_into(target, sizeof(target), "/proc/self/fd/%d", fd) == 0 && chmod(target, mode & 07777) == 0)
		ret = chown(target, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0);
	close(fd);
	return ret;
}

/* The default devices, then the config's: after the mounts, before pivot_root. */
static int make_devices(const struct container_spec *spec, struct failure *f)
{
	int root_fd = open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (root_fd < 0)
		return failed(f, "open %s", spec->root_path);
	if (make_default_devices(root_fd) < 0)
		ret = failed(f, "make the default devices in %s/dev", spec->root_path);
	for (size_t i = 0; ret == 0 && i < spec->n_devices; i++) {
		if (make_config_device(root_fd, &spec->devices[i], spec->userns) < 0)
			ret = failed(f, "make device %s (linux.devices[%zu])", spec->devices[i].path, i);
	}
	close(root_fd);
	return ret;
}

/* [exercise] */
/*
 * pivot_root(2) makes rootfs the root mount and moves the old root
 * elsewhere. With new_root and put_old both ".", the old root ends up
 * stacked on top of the new one (the trick pivot_root(2) describes);
 * umount2(2) with MNT_DETACH then removes it. The host's tree is gone from
 * this namespace: no ".." leads back to it. glibc has no wrapper: syscall(2).
 */
static int pivot_into(const char *rootfs)
{
	if (chdir(rootfs) < 0)
		return -1;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return -1;
	if (umount2(".", MNT_DETACH) < 0)
		return -1;
	return chdir("/");
}

/*
 * pivot_root(2) needs the new root to be a mount point. box run's root is
 * the overlay, a mount already; a bundle's root.path is a plain directory:
 * bind it onto itself (MS_REC: with what is mounted below it).
 */
static int bind_root(const char *root)
{
	return mount(root, root, NULL, MS_BIND | MS_REC, NULL);
}

/*
 * Before pivot_root, while the host's tree is still in view: the root, the
 * config's mounts in order, the devices. f notes the step that failed. The
 * hooks that run "before pivot_root" (config.md) run after this, in child.c.
 */
int prepare_rootfs(const struct container_spec *spec, struct failure *f)
{
	if (make_mounts_private() < 0)
		return failed(f, "make mounts private");
	if (spec->rootfs && setup_layers(spec, f) < 0)
		return -1;
	if (!spec->rootfs && bind_root(spec->root_path) < 0)
		return failed(f, "bind the root %s onto itself", spec->root_path);
	if (mount_all(spec, f) < 0)
		return -1;
	return make_devices(spec, f);
}

/*
 * Switch to the root, then what is done from inside it: the propagation
 * the config asks for ("/" stays private otherwise), an image's working
 * directory made if missing (as root, before "/" may become read-only),
 * and a read-only root.
 */
int enter_rootfs(const struct container_spec *spec, struct failure *f)
{
	if (pivot_into(spec->root_path) < 0)
		return failed(f, "pivot_root into %s", spec->root_path);
	if (spec->rootfs_propagation && mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
		return failed(f, "set the propagation of / (linux.rootfsPropagation)");
	if (spec->workdir && make_working_dir(spec->workdir) < 0)
		return failed(f, "create the working directory %s", spec->workdir);
	if (spec->read_only && make_root_read_only() < 0)
		return failed(f, "make / read-only");
	return 0;
}

/* ---- step 7: masked and read-only paths (config-linux.md) --------------------------------- */

/*
 * Hide path: an empty read-only tmpfs over a directory, /dev/null over a
 * file. docker hides /proc/kcore (the host's memory), /proc/keys, timer and
 * scheduler details, /sys/firmware. A path this kernel lacks is skipped.
 */
static int mask_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode))
		return mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0");
	return mount("/dev/null", path, NULL, MS_BIND, NULL);
}

/*
 * Make path read-only: bind it onto itself, then remount the bind with
 * MS_RDONLY. A bind remount sets the mount's flags to exactly those given,
 * so keep the nosuid/nodev/noexec it has (from /proc's mount, say): in a
 * user namespace clearing them is not even allowed (mount(2), EPERM).
 */
static int read_only_path(const char *path)
{
	static const struct {
		unsigned long st, ms;
	} kept[] = { { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC } };
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
	struct statvfs fs;

	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 : -1;
	if (statvfs(path, &fs) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		if (fs.f_flag & kept[i].st)
			flags |= kept[i].ms;
	}
	return mount(NULL, path, NULL, flags, NULL);
}

/* After pivot_root, so the paths are the container's: readonlyPaths, then maskedPaths. */
int protect_paths(const struct container_spec *spec, struct failure *f)
{
	for (size_t i = 0; i < spec->n_readonly_paths; i++) {
		if (read_only_path(spec->readonly_paths[i]) < 0)
			return failed(f, "make %s read-only (linux.readonlyPaths)", spec->readonly_paths[i]);
	}
	for (size_t i = 0; i < spec->n_masked_paths; i++) {
		if (mask_path(spec->masked_paths[i]) < 0)
			return failed(f, "mask %s (linux.maskedPaths)", spec->masked_paths[i]);
	}
	return 0;
}
