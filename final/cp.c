/*
 * cp.c - box cp: files between a running container and the host, both ways.
 *
 * The container's files are reached through /proc/PID/root of its init:
 * a directory fd of its root, in its own mount namespace (proc(5)). The
 * danger is the path: a process inside chooses what every component is,
 * and may change it while we look. "/etc" can be a symlink to "/", and a
 * naive join of /proc/PID/root with the path would follow an absolute link
 * to the HOST's root (docker cp had this bug, CVE-2018-15664, made
 * reliable with a symlink-exchange race). So:
 *   - the path given is resolved once, by the kernel, with openat2(2)
 *     RESOLVE_IN_ROOT (open_in_root, overlay.c): "/" and ".." stop at the
 *     container's root, whatever the links say and whenever they change;
 *   - below that fd, every name is opened relative to its parent's fd with
 *     O_NOFOLLOW: a link is copied as a link, never followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"

enum { COPY_BUFFER = 64 * 1024, COPY_DEPTH_MAX = 128 };

static int copy_tree(int from_dir, const char *name, int to_dir, const char *to_name, int depth);

/* read(2) to write(2) until the end of the file. */
static int copy_bytes(int in, int out)
{
	char buf[COPY_BUFFER];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write_all(out, buf, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

/* A regular file: opened without following a link, created (or truncated) without following one. */
static int copy_file(int from_dir, const char *name, int to_dir, const char *to_name, mode_t mode)
{
	int in = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out, ret;

	if (in < 0)
		return -1;
	out = openat(to_dir, to_name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (out < 0) {
		close(in);
		return -1;
	}
	ret = copy_bytes(in, out) < 0 || fchmod(out, mode & 07777) < 0 ? -1 : 0;
	close(in);
	if (close(out) < 0)
		ret = -1;
	return ret;
}

/* A symlink is copied as what it says, never followed. */
static int copy_link(int from_dir, const char *name, int to_dir, const char *to_name)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(from_dir, name, target, sizeof(target) - 1);

	if (n < 0)
		return -1;
	target[n] = '\0';
	unlinkat(to_dir, to_name, 0);
	return symlinkat(target, to_dir, to_name);
}

/* A directory: made on the other side, then each entry, relative to the two directory fds. */
static int copy_dir(int from_dir, const char *name, int to_dir, const char *to_name, mode_t mode, int depth)
{
	int from = openat(from_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), to = -1, ret = -1;
	struct dirent *d;
	DIR *dir;

	if (from < 0)
		return -1;
	if ((mkdirat(to_dir, to_name, 0700) < 0 && errno != EEXIST) ||
	    (to = openat(to_dir, to_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 || !(dir = fdopendir(from))) {
		close(from);
		if (to >= 0)
			close(to);
		return -1;
	}
	ret = 0;
	while (ret == 0 && (d = readdir(dir))) {
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			ret = copy_tree(dirfd(dir), d->d_name, to, d->d_name, depth + 1);
	}
	if (ret == 0 && fchmod(to, mode & 07777) < 0)
		ret = -1;
	closedir(dir);
	close(to);
	return ret;
}

/* name in from_dir (a file, a link or a directory) to to_name in to_dir. */
static int copy_tree(int from_dir, const char *name, int to_dir, const char *to_name, int depth)
{
	struct stat st;

	if (depth > COPY_DEPTH_MAX) {
		errno = ELOOP;
		return -1;
	}
	if (fstatat(from_dir, name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return copy_dir(from_dir, name, to_dir, to_name, st.st_mode, depth);
	if (S_ISLNK(st.st_mode))
		return copy_link(from_dir, name, to_dir, to_name);
	if (S_ISREG(st.st_mode))
		return copy_file(from_dir, name, to_dir, to_name, st.st_mode);
	return 0;	/* devices, fifos, sockets: docker cp skips them too */
}

/* Split path into its parent and its last name ("/a/b" -> "/a", "b"; "f" -> ".", "f"). */
static void split_path(const char *path, char *parent, char *name, size_t size)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	snprintf(parent, size, "%s", dirname(a));
	snprintf(name, size, "%s", basename(b));
}

/*
 * Where a copy goes: into dest if dest is a directory that exists (keeping
 * the source's name), else as dest. dest_dir is opened by open_dir (in the
 * container's root, or on the host); the last name is created with O_NOFOLLOW.
 */
static int open_destination(int root, const char *dest, const char *source_name, char *name, size_t size)
{
	char parent[PATH_MAX];
	int fd = root >= 0 ? open_in_root(root, dest, O_RDONLY | O_DIRECTORY, 0)
			   : open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		snprintf(name, size, "%s", source_name);
		return fd;
	}
	split_path(dest, parent, name, size);
	return root >= 0 ? open_in_root(root, parent, O_RDONLY | O_DIRECTORY, 0)
			 : open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* What the directory src (resolved in src_root) holds, into the host directory dest_dir. */
int copy_dir_contents(int src_root, const char *src, const char *dest_dir)
{
	int from = open_in_root(src_root, src, O_RDONLY | O_DIRECTORY, 0), to, ret = 0;
	struct dirent *d;
	DIR *dir;

	if (from < 0)
		return -1;
	to = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (to < 0 || !(dir = fdopendir(from))) {
		close(from);
		if (to >= 0)
			close(to);
		return -1;
	}
	while (ret == 0 && (d = readdir(dir))) {
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			ret = copy_tree(dirfd(dir), d->d_name, to, d->d_name, 1);
	}
	closedir(dir);
	close(to);
	return ret;
}

/*
 * Copy path src (in the container if src_root >= 0, else on the host) to
 * dest (in the container if dest_root >= 0). The source's parent is
 * resolved in the root, then its last name opened without following.
 */
int copy_path(int src_root, const char *src, int dest_root, const char *dest)
{
	char parent[PATH_MAX], name[NAME_MAX + 1], to_name[NAME_MAX + 1];
	int from, to, ret;

	split_path(src, parent, name, sizeof(name));
	if (strcmp(name, "/") == 0)
		snprintf(name, sizeof(name), ".");
	from = src_root >= 0 ? open_in_root(src_root, parent, O_RDONLY | O_DIRECTORY, 0)
			     : open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (from < 0)
		return -1;
	to = open_destination(dest_root, dest, strcmp(name, ".") == 0 ? "root" : name, to_name, sizeof(to_name));
	if (to < 0) {
		close(from);
		return -1;
	}
	ret = copy_tree(from, name, to, to_name, 0);
	close(from);
	close(to);
	return ret;
}
