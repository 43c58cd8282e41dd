/*
 * layer.c - unpacking a layer into a directory of its own.
 *
 * A layer is a tar stream (OCI image-spec layer.md), compressed with gzip or
 * zstd or not at all. Unpacked, it becomes one directory that overlayfs
 * stacks on the layers below it; deletions travel as "whiteouts":
 *
 *     tar entry           in the layer directory
 *     a/.wh.b             a/b: a character device 0/0 (overlayfs hides a/b below)
 *     a/.wh..wh..opq      a gets xattr trusted.overlay.opaque="y" (hides all of a below)
 *
 * A layer comes from a stranger, so every entry is treated as an attack
 * until proven harmless: "../../etc/passwd", "/etc/passwd", a symlink
 * "x -> /etc" followed by "x/passwd", a hard link to "/etc/shadow". Checking
 * names as strings is not enough (symlinks change what a name means), so
 * every path is resolved by the kernel inside the layer: openat2(2) with
 * RESOLVE_IN_ROOT treats the layer directory as "/" for the whole lookup,
 * symlinks included (open_in_root, overlay.c, which volumes use too). Only the parent directory is looked up that way; the
 * entry itself is then made with a *at(2) call on that directory and a
 * single name, which never follows a symlink. libarchive only reads; every
 * write below is a system call you can see.
 *
 * Two archives run as a pipeline so the stream is decompressed once:
 *
 *     blob -> [raw: gunzip/unzstd] -> sha256 (the diffID) -> [tar: entries] -> files
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "box.h"

static const char whiteout_prefix[] = ".wh.";
static const char opaque_marker[] = ".wh..wh..opq";
/* overlayfs(5) "whiteouts and opaque directories" */
static const char opaque_xattr[] = "trusted.overlay.opaque";
static const char trusted_prefix[] = "trusted.";

enum {
	BLOCK_SIZE = 64 * 1024,		/* bytes read from the blob, and from the decompressor, at a time */
	DIR_MODE = 0755,		/* for parent directories a layer uses but does not list */
};

/* A directory whose times are set at the end: adding its entries would change them. */
struct dir_times {
	char *path;
	struct timespec times[2];
};

struct unpack {
	struct archive *raw;	/* decompresses the blob */
	struct archive *tar;	/* reads entries from the decompressed stream */
	EVP_MD_CTX *sha256;	/* hashes the decompressed stream: the diffID */
	int root_fd;		/* the layer directory */
	long long limit;	/* bytes the layer may unpack to */
	const volatile bool *cancel;
	struct layer_result *res;
	struct dir_times *dirs;
	size_t ndirs, dirs_cap;
	bool too_large;
	char block[BLOCK_SIZE];
};

/* What a layer of this compressed size may unpack to: a decompression bomb stops there. */
long long layer_limit(long long compressed_size)
{
	long long limit = LAYER_MIN_EXPANSION;

	if (compressed_size > 0 && compressed_size <= LAYER_MAX_BYTES / LAYER_MAX_RATIO &&
	    compressed_size * LAYER_MAX_RATIO > limit)
		limit = compressed_size * LAYER_MAX_RATIO;
	if (compressed_size > LAYER_MAX_BYTES / LAYER_MAX_RATIO)
		limit = LAYER_MAX_BYTES;
	return limit;
}

/*
 * "./usr//bin/" -> "usr/bin"; "" is the layer's root. An absolute name or a
 * ".." is refused outright: no honest layer has one. (The kernel would keep
 * them inside anyway; refusing says loudly that the layer is hostile.)
 */
static int clean_path(const char *name, char *out, size_t size, struct failure *f)
{
	const char *in = name;
	size_t n = 0;

	if (in[0] == '/') {
		errno = EPERM;
		return failed(f, "entry \"%s\": absolute path", name);
	}
	while (*in) {
		size_t len = strcspn(in, "/");

		if (len == 2 && strncmp(in, "..", 2) == 0) {
			errno = EPERM;
			return failed(f, "entry \"%s\": \"..\" would leave the layer", name);
		}
		if (len > 0 && !(len == 1 && in[0] == '.')) {
			if (n + len + 2 > size) {
				errno = ENAMETOOLONG;
				return failed(f, "entry \"%.64s...\"", name);
			}
			if (n)
				out[n++] = '/';
			memcpy(out + n, in, len);
			n += len;
		}
		in += len;
		in += strspn(in, "/");
	}
	out[n] = '\0';
	return 0;
}

/* "usr/bin/ls" -> parent "usr/bin", name "ls". path is cut in two in place. */
static void split_path(char *path, const char **parent, const char **name)
{
	char *slash = strrchr(path, '/');

	if (!slash) {
		*parent = "";
		*name = path;
		return;
	}
	*slash = '\0';
	*parent = path;
	*name = slash + 1;
}

/* Open (making it, and its parents, if missing) a directory of the layer, resolved inside it. */
static int open_dir(struct unpack *u, const char *path)
{
	char prefix[PATH_MAX];
	int fd = open_in_root(u->root_fd, path, O_PATH | O_DIRECTORY, 0);
	size_t at = 0;

	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* Walk down from the root; each missing directory is made in the one above it. */
	fd = open_in_root(u->root_fd, "", O_PATH | O_DIRECTORY, 0);
	while (fd >= 0 && path[at]) {
		size_t len = strcspn(path + at, "/");
		int next;

		memcpy(prefix, path, at + len);
		prefix[at + len] = '\0';
		if (mkdirat(fd, prefix + at, DIR_MODE) < 0 && errno != EEXIST)
			next = -1;
		else
			next = open_in_root(u->root_fd, prefix, O_PATH | O_DIRECTORY, 0);
		close(fd);
		fd = next;
		at += len;
		if (path[at] == '/')
			at++;
	}
	return fd;
}

/* Make room for a new entry called name: tar semantics, a later entry replaces an earlier one. */
static int clear_name(int dir_fd, const char *name, bool keep_dir)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode))
		return keep_dir ? 0 : unlinkat(dir_fd, name, AT_REMOVEDIR);
	return unlinkat(dir_fd, name, 0);
}

/* /proc/self/fd/N/name: a path to name in an open directory, for calls that have no *at form. */
static int proc_path(char *buf, size_t size, int dir_fd, const char *name)
{
	return format_into(buf, size, "/proc/self/fd/%d/%s", dir_fd, name);
}

/*
 * The entry's extended attributes: file capabilities (security.capability)
 * and user.* ones. trusted.* are the host's (overlayfs keeps its own state
 * there): a layer may not set them, only whiteouts below do.
 */
static int set_xattrs(struct archive_entry *e, int fd, int dir_fd, const char *name)
{
	const char *key;
	const void *value;
	size_t size;
	char path[PATH_MAX];

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
		int ret;

		if (strncmp(key, trusted_prefix, strlen(trusted_prefix)) == 0)
			continue;
		if (fd >= 0)
			ret = fsetxattr(fd, key, value, size, 0);
		else if (proc_path(path, sizeof(path), dir_fd, name) < 0)
			ret = -1;
		else
			ret = lsetxattr(path, key, value, size, 0);
		if (ret < 0)
			return -1;
	}
	return 0;
}

static void entry_times(struct archive_entry *e, struct timespec times[2])
{
	times[1].tv_sec = archive_entry_mtime(e);
	times[1].tv_nsec = archive_entry_mtime_nsec(e);
	times[0] = times[1];
	if (archive_entry_atime_is_set(e)) {
		times[0].tv_sec = archive_entry_atime(e);
		times[0].tv_nsec = archive_entry_atime_nsec(e);
	}
}

/* Owner, then mode (chown(2) clears setuid and setgid bits), then xattrs (it clears capabilities too). */
static int set_owner_mode_xattrs(struct archive_entry *e, int fd)
{
	if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
		return -1;
	if (fchmod(fd, archive_entry_perm(e)) < 0)
		return -1;
	return set_xattrs(e, fd, -1, NULL);
}

/* Copy the entry's data in; sparse files keep their holes (libarchive hands out offsets). */
static int write_data(struct unpack *u, int fd, struct archive_entry *e)
{
	const void *buf;
	size_t size;
	la_int64_t offset;
	int r;

	while ((r = archive_read_data_block(u->tar, &buf, &size, &offset)) == ARCHIVE_OK) {
		if (pwrite(fd, buf, size, offset) != (ssize_t)size)
			return -1;
	}
	if (r != ARCHIVE_EOF) {
		errno = EIO;
		return -1;
	}
	return ftruncate(fd, archive_entry_size(e));
}

static int make_file(struct unpack *u, struct archive_entry *e, int dir_fd, const char *name)
{
	struct timespec times[2];
	int fd, ret;

	if (clear_name(dir_fd, name, false) < 0)
		return -1;
	/* O_EXCL|O_NOFOLLOW: a new file, never what a symlink by that name points to. */
	fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	entry_times(e, times);
	ret = write_data(u, fd, e);
	if (ret == 0)
		ret = set_owner_mode_xattrs(e, fd);
	if (ret == 0)
		ret = futimens(fd, times);
	if (close(fd) < 0)
		ret = -1;
	u->res->file_bytes += archive_entry_size(e);
	return ret;
}

/* A directory's times wait until the end: every entry made inside it would change them. */
static int remember_dir_times(struct unpack *u, struct archive_entry *e, const char *path)
{
	if (u->ndirs == u->dirs_cap) {
		size_t cap = u->dirs_cap ? 2 * u->dirs_cap : 64;
		struct dir_times *d = realloc(u->dirs, cap * sizeof(*d));

		if (!d)
			return -1;
		u->dirs = d;
		u->dirs_cap = cap;
	}
	u->dirs[u->ndirs].path = strdup(path);
	if (!u->dirs[u->ndirs].path)
		return -1;
	entry_times(e, u->dirs[u->ndirs].times);
	u->ndirs++;
	return 0;
}

static int make_dir(struct unpack *u, struct archive_entry *e, int dir_fd, const char *name, const char *path)
{
	int fd, ret;

	if (!path[0]) {
		fd = open_in_root(u->root_fd, "", O_RDONLY | O_DIRECTORY, 0);	/* "./": the layer's root */
	} else {
		if (clear_name(dir_fd, name, true) < 0 || (mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST))
			return -1;
		fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	ret = set_owner_mode_xattrs(e, fd);
	close(fd);
	if (ret == 0)
		ret = remember_dir_times(u, e, path);
	return ret;
}

/* Symlinks, devices and fifos: no fd to hold, so the *at calls never follow the name. */
static int set_node_metadata(struct archive_entry *e, int dir_fd, const char *name, bool is_link)
{
	struct timespec times[2];

	entry_times(e, times);
	if (fchownat(dir_fd, name, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	/* A symlink's own mode means nothing on Linux; chmod would follow it. */
	if (!is_link && fchmodat(dir_fd, name, archive_entry_perm(e), 0) < 0)
		return -1;
	if (set_xattrs(e, -1, dir_fd, name) < 0)
		return -1;
	return utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW);
}

/* The target is stored as written: it is only followed later, inside the container's root. */
static int make_symlink(struct archive_entry *e, int dir_fd, const char *name)
{
	const char *target = archive_entry_symlink(e);

	if (!target || clear_name(dir_fd, name, false) < 0 || symlinkat(target, dir_fd, name) < 0)
		return -1;
	return set_node_metadata(e, dir_fd, name, true);
}

static int make_node(struct archive_entry *e, int dir_fd, const char *name)
{
	mode_t type = archive_entry_filetype(e);
	dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));

	if (clear_name(dir_fd, name, false) < 0)
		return -1;
	if (mknodat(dir_fd, name, type | 0600, type == AE_IFIFO ? 0 : dev) < 0)
		return -1;
	return set_node_metadata(e, dir_fd, name, false);
}

/* A hard link may point only at a file this layer made before: resolved inside the layer too. */
static int make_hardlink(struct unpack *u, struct archive_entry *e, int dir_fd, const char *name,
			 struct failure *f)
{
	char target[PATH_MAX];
	const char *target_parent, *target_name;
	int target_dir, ret;

	if (clean_path(archive_entry_hardlink(e), target, sizeof(target), f) < 0)
		return -1;
	split_path(target, &target_parent, &target_name);
	if (!target_name[0]) {
		errno = EPERM;
		return failed(f, "hard link to the layer's root");
	}
	target_dir = open_in_root(u->root_fd, target_parent, O_PATH | O_DIRECTORY, 0);
	if (target_dir < 0)
		return failed(f, "hard link target \"%s\"", archive_entry_hardlink(e));
	ret = clear_name(dir_fd, name, false);
	/* linkat(2) without AT_SYMLINK_FOLLOW links a symlink itself, never what it points to. */
	if (ret == 0)
		ret = linkat(target_dir, target_name, dir_fd, name, 0);
	close(target_dir);
	if (ret < 0)
		return failed(f, "hard link to \"%s\"", archive_entry_hardlink(e));
	return 0;
}

/* [exercise] */
/*
 * ".wh.NAME": NAME is deleted in this layer; overlayfs marks that with a
 * character device numbered 0/0 named NAME (mknodat(2), makedev(3);
 * overlayfs.rst "whiteouts and opaque directories"), made in dir_fd, the
 * parent resolved inside the layer. A name already there goes first
 * (clear_name). A whiteout of "", "." or ".." names no file, and would
 * delete the directory itself or its parent: refuse it (EPERM), noted in f.
 */
static int make_whiteout(int dir_fd, const char *whiteout, struct failure *f)
{
	const char *name = whiteout + strlen(whiteout_prefix);

	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		errno = EPERM;
		return failed(f, "whiteout \"%s\" names no file", whiteout);
	}
	if (clear_name(dir_fd, name, false) < 0 || mknodat(dir_fd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		return failed(f, "whiteout for \"%s\"", name);
	return 0;
}

/* ".wh..wh..opq": the directory hides everything below it; it keeps its own entries. */
static int make_opaque(struct unpack *u, const char *dir_path, struct failure *f)
{
	int fd = open_in_root(u->root_fd, dir_path, O_RDONLY | O_DIRECTORY, 0);
	int ret;

	if (fd < 0)
		return failed(f, "opaque directory \"%s\"", dir_path);
	ret = fsetxattr(fd, opaque_xattr, "y", 1, 0);
	close(fd);
	if (ret < 0)
		return failed(f, "mark \"%s\" opaque (%s)", dir_path, opaque_xattr);
	return 0;
}

static int make_whiteouts(struct unpack *u, int dir_fd, const char *parent, const char *name, struct failure *f)
{
	if (strcmp(name, opaque_marker) == 0)
		return make_opaque(u, parent, f);
	/* ".wh..wh.plnk" and the like are aufs's bookkeeping, not deletions: skip them. */
	if (strncmp(name, opaque_marker, strlen(whiteout_prefix) * 2) == 0)
		return 0;
	return make_whiteout(dir_fd, name, f);
}

/* Make one entry of the layer under its parent, which is resolved inside the layer. */
static int make_entry(struct unpack *u, struct archive_entry *e, char *path, struct failure *f)
{
	char full[PATH_MAX];
	const char *parent, *name;
	mode_t type = archive_entry_filetype(e);
	int dir_fd, ret;

	snprintf(full, sizeof(full), "%s", path);
	split_path(path, &parent, &name);
	dir_fd = open_dir(u, parent);
	if (dir_fd < 0)
		return failed(f, "entry \"%s\": parent directory", full);
	if (strncmp(name, whiteout_prefix, strlen(whiteout_prefix)) == 0)
		ret = make_whiteouts(u, dir_fd, parent, name, f);
	else if (archive_entry_hardlink(e))
		ret = make_hardlink(u, e, dir_fd, name, f);
	else if (type == AE_IFDIR)
		ret = make_dir(u, e, dir_fd, name, full) < 0 ? failed(f, "directory \"%s\"", full) : 0;
	else if (type == AE_IFREG)
		ret = make_file(u, e, dir_fd, name) < 0 ? failed(f, "file \"%s\"", full) : 0;
	else if (type == AE_IFLNK)
		ret = make_symlink(e, dir_fd, name) < 0 ? failed(f, "symlink \"%s\"", full) : 0;
	else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO)
		ret = make_node(e, dir_fd, name) < 0 ? failed(f, "device or fifo \"%s\"", full) : 0;
	else
		ret = 0;	/* sockets and the like: tar cannot carry them meaningfully */
	close(dir_fd);
	return ret;
}

/* Directory times last, now that nothing more is added inside them. */
static int set_dir_times(struct unpack *u, struct failure *f)
{
	for (size_t i = 0; i < u->ndirs; i++) {
		int fd = open_in_root(u->root_fd, u->dirs[i].path, O_RDONLY | O_DIRECTORY, 0);

		if (fd < 0 || futimens(fd, u->dirs[i].times) < 0) {
			if (fd >= 0)
				close(fd);
			return failed(f, "set times of \"%s\"", u->dirs[i].path);
		}
		close(fd);
	}
	return 0;
}

/*
 * The tar reader's input: the next block of the decompressed stream, hashed
 * on its way through and counted against the limit.
 */
static la_ssize_t next_block(struct archive *tar, void *data, const void **buf)
{
	struct unpack *u = data;
	la_ssize_t n = archive_read_data(u->raw, u->block, sizeof(u->block));

	if (n < 0) {
		archive_set_error(tar, EIO, "%s", archive_error_string(u->raw));
		return -1;
	}
	EVP_DigestUpdate(u->sha256, u->block, (size_t)n);
	u->res->tar_bytes += n;
	if (u->res->tar_bytes > u->limit) {
		u->too_large = true;
		archive_set_error(tar, EFBIG, "layer too large");
		return -1;
	}
	*buf = u->block;
	return n;
}

/*
 * Only gzip and zstd (the compressions OCI layers use) and plain tar.
 * archive_read_support_filter_all() would also accept lrzip, lzop and
 * grzip by running external programs on what a stranger sent: not here.
 */
static int open_archives(struct unpack *u, int blob_fd)
{
	struct archive_entry *e;

	u->raw = archive_read_new();
	u->tar = archive_read_new();
	if (!u->raw || !u->tar)
		return -1;
	archive_read_support_filter_gzip(u->raw);
	archive_read_support_filter_zstd(u->raw);
	archive_read_support_format_raw(u->raw);
	archive_read_support_format_tar(u->tar);
	if (archive_read_open_fd(u->raw, blob_fd, BLOCK_SIZE) != ARCHIVE_OK ||
	    archive_read_next_header(u->raw, &e) != ARCHIVE_OK)
		return -1;
	return archive_read_open(u->tar, u, NULL, next_block, NULL) == ARCHIVE_OK ? 0 : -1;
}

static int archive_failure(struct unpack *u, struct failure *f)
{
	const char *why = u->tar ? archive_error_string(u->tar) : NULL;

	if (!why && u->raw)
		why = archive_error_string(u->raw);

	if (u->too_large) {
		errno = EFBIG;
		return failed(f, "layer unpacks to more than %lld bytes (the limit for its size)", u->limit);
	}
	errno = EINVAL;
	return failed(f, "layer is not a valid tar stream: %s", why ? why : "unknown error");
}

/* Read every entry and make it; stop at the first that fails or breaks a bound. */
static int unpack_entries(struct unpack *u, struct failure *f)
{
	struct archive_entry *e;
	char path[PATH_MAX];
	int r;

	while ((r = archive_read_next_header(u->tar, &e)) == ARCHIVE_OK) {
		if (u->cancel && *u->cancel) {
			errno = ECANCELED;
			return failed(f, "cancelled");
		}
		if (++u->res->entries > LAYER_MAX_ENTRIES) {
			errno = EFBIG;
			return failed(f, "layer has more than %d entries", LAYER_MAX_ENTRIES);
		}
		if (!archive_entry_pathname(e)) {
			errno = EINVAL;
			return failed(f, "entry with an unreadable name");
		}
		/* A file's declared size counts before its data is read: a sparse file could claim terabytes. */
		if (archive_entry_size(e) > u->limit - u->res->file_bytes) {
			u->too_large = true;
			return archive_failure(u, f);
		}
		if (clean_path(archive_entry_pathname(e), path, sizeof(path), f) < 0 ||
		    make_entry(u, e, path, f) < 0)
			return -1;
	}
	return r == ARCHIVE_EOF ? 0 : archive_failure(u, f);
}

/* Hash what follows the tar's end marker too: the diffID covers the whole stream. */
static int hash_rest(struct unpack *u, struct failure *f)
{
	la_ssize_t n;

	while ((n = archive_read_data(u->raw, u->block, sizeof(u->block))) > 0) {
		EVP_DigestUpdate(u->sha256, u->block, (size_t)n);
		u->res->tar_bytes += n;
		if (u->res->tar_bytes > u->limit) {
			u->too_large = true;
			return archive_failure(u, f);
		}
	}
	return n == 0 ? 0 : archive_failure(u, f);
}

static void finish_digest(struct unpack *u)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *p = u->res->diff_id;

	EVP_DigestFinal_ex(u->sha256, md, &len);
	p += sprintf(p, "sha256:");
	for (unsigned int i = 0; i < len; i++)
		p += sprintf(p, "%02x", md[i]);
}

static void close_unpack(struct unpack *u)
{
	if (u->tar)
		archive_read_free(u->tar);
	if (u->raw)
		archive_read_free(u->raw);
	EVP_MD_CTX_free(u->sha256);
	for (size_t i = 0; i < u->ndirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	free(u);
}

/*
 * Unpack the layer blob (gzip, zstd or plain tar) read from blob_fd into the
 * empty directory root_fd; res gets its diffID (sha256 of the uncompressed
 * stream) and sizes. Nothing is written outside root_fd. On failure root_fd
 * holds part of the layer: the caller removes it.
 */
int layer_extract(int blob_fd, long long blob_size, int root_fd, const volatile bool *cancel,
		  struct layer_result *res, struct failure *f)
{
	struct unpack *u = calloc(1, sizeof(*u));
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (!u)
		return failed(f, "unpack layer");
	u->root_fd = root_fd;
	u->limit = layer_limit(blob_size);
	u->cancel = cancel;
	u->res = res;
	u->sha256 = EVP_MD_CTX_new();
	if (!u->sha256 || EVP_DigestInit_ex(u->sha256, EVP_sha256(), NULL) != 1) {
		errno = ENOMEM;
		failed(f, "sha256");
	} else if (open_archives(u, blob_fd) < 0) {
		archive_failure(u, f);
	} else if (unpack_entries(u, f) == 0 && hash_rest(u, f) == 0 && set_dir_times(u, f) == 0) {
		finish_digest(u);
		ret = 0;
	}
	close_unpack(u);
	return ret;
}
