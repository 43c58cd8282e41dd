/*
 * rootfs.c - the container's file system view, in its own mount namespace.
 *
 * chroot(2) only changes how "/" is looked up; the host's mounts stay in the
 * process's mount table, reachable by anyone who can walk out (chapter 1).
 * In a new mount namespace we instead make the rootfs the root *mount*
 * with pivot_root(2), and detach the host's tree, so there is nothing left
 * to walk out to. Before that we give the container a fresh /proc (it is in
 * a new PID namespace), a small /dev, and a read-only /sys.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

/* Make a directory to mount on, if the rootfs lacks it. */
static int make_mount_point(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Our new mount namespace starts as a copy of the host's, and mounts marked
 * shared there would still propagate both ways (mount_namespaces(7)). Mark
 * the whole tree private first, so nothing we mount reaches the host.
 */
static int make_mounts_private(void)
{
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* [exercise] */
/*
 * A proc(5) mounted from inside the new PID namespace shows that namespace's
 * processes only: the container's command is PID 1 there. nosuid, nodev,
 * noexec: nothing in /proc needs them. See mount(2).
 */
static int mount_proc(const char *rootfs)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), rootfs, "proc") < 0 || make_mount_point(path) < 0)
		return -1;
	return mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/*
 * Bind each device node from the host's /dev onto an empty file. Binding
 * rather than mknod(2) works in a user namespace too, where mknod is not
 * allowed.
 */
static int bind_devices(const char *dev)
{
	char host[PATH_MAX], target[PATH_MAX];

	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		int fd;

		if (path_join(host, sizeof(host), "/dev", devices[i]) < 0 ||
		    path_join(target, sizeof(target), dev, devices[i]) < 0)
			return -1;
		fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0 || close(fd) < 0)
			return -1;
		if (mount(host, target, NULL, MS_BIND, NULL) < 0)
			return -1;
	}
	return 0;
}

/*
 * /dev/pts: a new devpts instance (each mount is its own since Linux 4.7), so
 * the container's pseudo-terminals are not the host's; /dev/ptmx will point
 * into it. /dev/shm: shared memory for POSIX IPC, its own tmpfs.
 */
static int mount_pts_and_shm(const char *dev)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), dev, "pts") < 0 || make_mount_point(path) < 0 ||
	    mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
		return -1;
	if (path_join(path, sizeof(path), dev, "shm") < 0 || make_mount_point(path) < 0 ||
	    mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777") < 0)
		return -1;
	return 0;
}

/* The links of dev_links: /dev/ptmx into devpts, /dev/fd and stdin/out/err into /proc. */
static int make_dev_links(const char *dev)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		if (path_join(path, sizeof(path), dev, dev_links[i].name) < 0 ||
		    symlink(dev_links[i].target, path) < 0)
			return -1;
	}
	return 0;
}

/* A tmpfs /dev with only what a container needs, not the host's disks and consoles. */
static int mount_dev(const char *rootfs)
{
	char dev[PATH_MAX];

	if (path_join(dev, sizeof(dev), rootfs, "dev") < 0 || make_mount_point(dev) < 0 ||
	    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k") < 0)
		return -1;
	if (bind_devices(dev) < 0 || mount_pts_and_shm(dev) < 0)
		return -1;
	return make_dev_links(dev);
}

/*
 * sysfs shows the network devices of the namespace that mounts it; read-only,
 * because writes there would change the host's hardware settings.
 */
static int mount_sys(const char *rootfs)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), rootfs, "sys") < 0 || make_mount_point(path) < 0)
		return -1;
	return mount("sysfs", path, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
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
 * Set up the container's mounts and switch to its root; f notes the step
 * that failed. The new root is the overlay of overlay.c: a mount point
 * already, as pivot_root(2) needs.
 */
int setup_rootfs(const struct container_spec *spec, struct failure *f)
{
	char rootfs[PATH_MAX];

	if (make_mounts_private() < 0)
		return failed(f, "make mounts private");
	if (setup_layers(spec, rootfs, sizeof(rootfs), f) < 0)
		return -1;
	if (mount_proc(rootfs) < 0)
		return failed(f, "mount /proc in %s", rootfs);
	if (mount_dev(rootfs) < 0)
		return failed(f, "set up /dev in %s", rootfs);
	if (mount_sys(rootfs) < 0)
		return failed(f, "mount /sys in %s", rootfs);
	if (pivot_into(rootfs) < 0)
		return failed(f, "pivot_root into %s", rootfs);
	if (spec->workdir && make_working_dir(spec->workdir) < 0)
		return failed(f, "create the working directory %s", spec->workdir);
	if (spec->read_only && make_root_read_only() < 0)
		return failed(f, "make / read-only");
	return 0;
}
