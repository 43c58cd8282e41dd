/*
 * diff.c - a directory of changes becomes a layer (OCI image-spec layer.md).
 *
 * A container's writes land in its overlay upper directory (chapter 4):
 * new and changed files as themselves, deletions as whiteouts. Turning
 * that directory into a tar stream is all it takes to make a layer; only
 * the whiteouts need translating from overlayfs's words to the image's:
 *
 *     in the upper directory                  in the layer
 *     etc/motd, a file                        etc/motd
 *     etc/issue, a character device 0/0       etc/.wh.issue            (image-spec "Whiteouts")
 *     opt/, trusted.overlay.opaque="y"        opt/ and opt/.wh..wh..opq  ("Opaque Whiteout")
 *
 * (layer.c does the reverse when a layer is pulled.) The same directory must
 * give the same bytes every time: the layer's digest is its name, and a
 * name that changed on every build would defeat sharing and the cache. So:
 *
 *   - entries sorted by name, a directory before what it holds;
 *   - numeric owners only (no user or group names), no atime or ctime;
 *   - mtimes in whole seconds, and none later than SOURCE_DATE_EPOCH when
 *     it is set (reproducible-builds.org/specs/source-date-epoch);
 *   - pax extended headers only where ustar cannot say it (long names,
 *     xattrs): libarchive's "restricted pax" format;
 *   - gzip at level 6 with no time and no file name in its header: the
 *     same bytes as `gzip -6 -n`.
 *
 * One pass does it all. The tar stream is hashed as it is made (its sha256
 * is the diffID, the config's name for the layer), then compressed, and the
 * compressed stream hashed on its way into the store (its sha256 is the
 * digest, the manifest's name for the blob):
 *
 *     files -> [tar writer] -> sha256: diffID -> [gzip writer] -> store blob (sha256: digest)
 */
#include <dirent.h>
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

static const char layer_gzip_type[] = "application/vnd.oci.image.layer.v1.tar+gzip";
static const char whiteout_prefix[] = ".wh.";
static const char opaque_marker[] = ".wh..wh..opq";
/* overlayfs(5): root mounts keep overlay state in trusted.*, unprivileged ones (userxattr) in user.* */
static const char *const opaque_xattrs[] = { "trusted.overlay.opaque", "user.overlay.opaque", NULL };
/* What a layer cannot carry: a renamed directory (redirect_dir=on), a file whose data stayed below (metacopy=on). */
static const char *const unsupported_xattrs[] = { "trusted.overlay.redirect", "trusted.overlay.metacopy",
						  "user.overlay.redirect", "user.overlay.metacopy", NULL };

enum {
	GZIP_LEVEL = 6,		/* zlib's default, and what docker and buildah write */
	WHITEOUT_MODE = 0600,	/* docker writes whiteouts as empty files of this mode */
	BLOCK_SIZE = 64 * 1024,
	XATTR_NAMES_MAX = 256,		/* attributes of one file that box carries; more: E2BIG */
};

/* A file seen before under another name (st_nlink > 1): the next name is a hard link to the first. */
struct seen_inode {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct differ {
	struct archive *tar;	/* entries -> tar stream */
	struct archive *gzip;	/* tar stream -> gzip stream ("raw" format: no archive, just the filter) */
	EVP_MD_CTX *sha256;	/* of the tar stream: the diffID */
	struct blob_writer blob;	/* the gzip stream into the store; it hashes it: the digest */
	long long clamp;	/* SOURCE_DATE_EPOCH, or -1 */
	struct layer_blob *out;
	struct seen_inode *inodes;
	size_t ninodes, inodes_cap;
	int write_errno;	/* a failure inside a write callback */
	char block[BLOCK_SIZE];
};

/*
 * SOURCE_DATE_EPOCH (reproducible-builds.org): a decimal count of seconds.
 * Set and valid: *epoch gets it. Unset: -1. Set to anything else: EINVAL,
 * as the spec asks ("fail ... rather than silently ignore it").
 */
int source_date_epoch(long long *epoch)
{
	const char *text = getenv("SOURCE_DATE_EPOCH");
	char *end;

	*epoch = -1;
	if (!text || !text[0])
		return 0;
	errno = 0;
	*epoch = strtoll(text, &end, 10);
	if (errno || *end || *epoch < 0 || text[0] < '0' || text[0] > '9') {
		*epoch = -1;
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* ---- the two writers and their pipe -------------------------------------------------------- */

/* The tar writer's output: hashed (the diffID), then handed to the gzip writer. */
static la_ssize_t tar_out(struct archive *a, void *user, const void *buf, size_t n)
{
	struct differ *d = user;

	(void)a;
	EVP_DigestUpdate(d->sha256, buf, n);
	d->out->tar_size += (long long)n;
	if (archive_write_data(d->gzip, buf, n) != (la_ssize_t)n) {
		archive_set_error(d->tar, EIO, "gzip: %s", archive_error_string(d->gzip));
		return -1;
	}
	return (la_ssize_t)n;
}

/* The gzip writer's output: the blob, into the store. */
static la_ssize_t gzip_out(struct archive *a, void *user, const void *buf, size_t n)
{
	struct differ *d = user;

	if (blob_writer_write(&d->blob, buf, n) < 0) {
		d->write_errno = errno;
		archive_set_error(a, errno, "write %s", d->blob.temp);
		return -1;
	}
	return (la_ssize_t)n;
}

/* gzip -6 -n: no timestamp in the header (libarchive writes the time by default), no padding at the end. */
static int open_gzip(struct differ *d)
{
	struct archive_entry *e = archive_entry_new();
	char level[4];
	int ret = -1;

	d->gzip = archive_write_new();
	snprintf(level, sizeof(level), "%d", GZIP_LEVEL);
	if (e && d->gzip && archive_write_set_format_raw(d->gzip) == ARCHIVE_OK &&
	    archive_write_add_filter_gzip(d->gzip) == ARCHIVE_OK &&
	    archive_write_set_filter_option(d->gzip, "gzip", "timestamp", NULL) == ARCHIVE_OK &&
	    archive_write_set_filter_option(d->gzip, "gzip", "compression-level", level) == ARCHIVE_OK &&
	    archive_write_set_bytes_per_block(d->gzip, 0) == ARCHIVE_OK &&
	    archive_write_open(d->gzip, d, NULL, gzip_out, NULL) == ARCHIVE_OK) {
		/* The raw format wants one regular-file entry: the stream it compresses. */
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_pathname(e, "layer.tar");
		ret = archive_write_header(d->gzip, e) == ARCHIVE_OK ? 0 : -1;
	}
	archive_entry_free(e);
	return ret;
}

/* Restricted pax: ustar headers, and a pax header only for what ustar cannot hold. No blocking, no padding. */
static int open_tar(struct differ *d)
{
	d->tar = archive_write_new();
	if (!d->tar || archive_write_set_format_pax_restricted(d->tar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(d->tar, 0) != ARCHIVE_OK)
		return -1;
	return archive_write_open(d->tar, d, NULL, tar_out, NULL) == ARCHIVE_OK ? 0 : -1;
}

/* ---- one entry -------------------------------------------------------------------------------- */

static time_t clamped(const struct differ *d, time_t mtime)
{
	return d->clamp >= 0 && mtime > d->clamp ? (time_t)d->clamp : mtime;
}

/* What every entry has: name, type and permissions, numeric owner, mtime (seconds, clamped). */
static void fill_entry(const struct differ *d, struct archive_entry *e, const char *path, const struct stat *st)
{
	archive_entry_set_pathname(e, path);
	archive_entry_set_mode(e, st->st_mode);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, clamped(d, st->st_mtim.tv_sec), 0);
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Which extended attributes travel: file capabilities and user.* ones; never overlayfs's own state. */
static bool keep_xattr(const char *name)
{
	if (strcmp(name, "security.capability") == 0)
		return true;
	return strncmp(name, "user.", 5) == 0 && strncmp(name, "user.overlay.", 13) != 0;
}

/* The xattrs of an open file, sorted by name (listxattr's order is the file system's). */
static int add_xattrs(struct archive_entry *e, int fd)
{
	/* The kernel's limits (<linux/limits.h>); static: too big for a stack frame. */
	static char list[XATTR_LIST_MAX], value[XATTR_SIZE_MAX];
	char *names[XATTR_NAMES_MAX];
	ssize_t len = flistxattr(fd, list, sizeof(list));
	size_t n = 0;

	if (len < 0)
		return errno == ENOTSUP ? 0 : -1;
	for (char *p = list; p < list + len; p += strlen(p) + 1) {
		if (!keep_xattr(p))
			continue;
		if (n == XATTR_NAMES_MAX) {
			errno = E2BIG;
			return -1;
		}
		names[n++] = p;
	}
	qsort(names, n, sizeof(names[0]), compare_names);
	for (size_t i = 0; i < n; i++) {
		ssize_t size = fgetxattr(fd, names[i], value, sizeof(value));

		if (size < 0)
			return -1;
		archive_entry_xattr_add_entry(e, names[i], value, (size_t)size);
	}
	return 0;
}

/* Does the open file or directory carry one of these xattrs (value "y" where it is a flag)? */
static bool has_xattr(int fd, const char *const names[], bool must_be_y)
{
	char value[8];

	for (int i = 0; names[i]; i++) {
		ssize_t n = fgetxattr(fd, names[i], value, sizeof(value));

		if (n >= 0 && (!must_be_y || (n == 1 && value[0] == 'y')))
			return true;
	}
	return false;
}

/* overlayfs left something a layer cannot carry: say what to change, rather than write a wrong layer. */
static int refuse_overlay_state(int fd, const char *path, struct failure *f)
{
	if (!has_xattr(fd, unsupported_xattrs, false))
		return 0;
	errno = ENOTSUP;
	return failed(f, "\"%s\" was renamed or copied up by overlayfs's redirect_dir or metacopy feature, "
		      "which a layer cannot carry: mount the container with redirect_dir=off,metacopy=off", path);
}

/* The first name of a file with several (st_nlink > 1), if it was written already. */
static const char *first_name(struct differ *d, const struct stat *st, const char *path)
{
	struct seen_inode *grown;

	for (size_t i = 0; i < d->ninodes; i++) {
		if (d->inodes[i].dev == st->st_dev && d->inodes[i].ino == st->st_ino)
			return d->inodes[i].path;
	}
	if (d->ninodes == d->inodes_cap) {
		d->inodes_cap = d->inodes_cap ? 2 * d->inodes_cap : 16;
		grown = realloc(d->inodes, d->inodes_cap * sizeof(*grown));
		if (!grown)
			return NULL;	/* then it is written as a file of its own: bigger, still right */
		d->inodes = grown;
	}
	d->inodes[d->ninodes] = (struct seen_inode){ .dev = st->st_dev, .ino = st->st_ino, .path = strdup(path) };
	if (d->inodes[d->ninodes].path)
		d->ninodes++;
	return NULL;
}

/*
 * Write the header, then the data of fd if it is a regular file's: the size
 * the header says, no more (a file still growing is cut there; one that
 * shrank is padded with zeros by libarchive when the entry ends).
 */
static int write_entry(struct differ *d, struct archive_entry *e, int fd)
{
	long long left = archive_entry_size(e);
	ssize_t n = 0;

	if (archive_write_header(d->tar, e) != ARCHIVE_OK)
		return -1;
	d->out->entries++;
	if (fd < 0 || archive_entry_filetype(e) != AE_IFREG)
		return 0;
	while (left > 0 && (n = read(fd, d->block, left < BLOCK_SIZE ? (size_t)left : sizeof(d->block))) > 0) {
		if (archive_write_data(d->tar, d->block, (size_t)n) != n)
			return -1;
		left -= n;
	}
	return n < 0 ? -1 : 0;
}

/* An empty regular file that means something: a whiteout, or an opaque marker. */
static int write_marker(struct differ *d, const char *dir, const char *name, const struct stat *st, mode_t perm)
{
	char path[PATH_MAX];
	struct archive_entry *e;
	struct stat as_file = *st;
	int ret;

	if (format_into(path, sizeof(path), "%s%s%s", dir, dir[0] ? "/" : "", name) < 0)
		return -1;
	as_file.st_mode = S_IFREG | perm;
	e = archive_entry_new();
	if (!e)
		return -1;
	fill_entry(d, e, path, &as_file);
	archive_entry_set_size(e, 0);
	ret = write_entry(d, e, -1);
	archive_entry_free(e);
	return ret;
}

/* etc/issue, a 0/0 device in the upper directory: etc/.wh.issue in the layer. */
static int write_whiteout(struct differ *d, const char *dir, const char *name, const struct stat *st)
{
	char marker[NAME_MAX + sizeof(whiteout_prefix)];

	if (format_into(marker, sizeof(marker), "%s%s", whiteout_prefix, name) < 0)
		return -1;
	return write_marker(d, dir, marker, st, WHITEOUT_MODE);
}

/* A file, symlink, device or fifo: its header (and data); a second name of a file: a hard link. */
static int write_node(struct differ *d, int dir_fd, const char *name, const char *path, const struct stat *st,
		      struct failure *f)
{
	struct archive_entry *e = archive_entry_new();
	char target[PATH_MAX];
	const char *first = NULL;
	int fd = -1, ret = 0;
	ssize_t len;

	if (!e)
		return failed(f, "\"%s\"", path);
	fill_entry(d, e, path, st);
	if (S_ISREG(st->st_mode)) {
		fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || refuse_overlay_state(fd, path, f) < 0 || add_xattrs(e, fd) < 0)
			ret = -1;
		first = st->st_nlink > 1 ? first_name(d, st, path) : NULL;
		archive_entry_set_size(e, first ? 0 : st->st_size);
		if (first)
			archive_entry_set_hardlink(e, first);
	} else if (S_ISLNK(st->st_mode)) {
		len = readlinkat(dir_fd, name, target, sizeof(target) - 1);
		ret = len < 0 ? -1 : 0;
		target[len < 0 ? 0 : len] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		archive_entry_set_rdevmajor(e, major(st->st_rdev));
		archive_entry_set_rdevminor(e, minor(st->st_rdev));
	}
	if (ret == 0 && write_entry(d, e, first ? -1 : fd) < 0)
		ret = -1;
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	if (ret < 0 && !f->what[0])
		failed(f, "\"%s\"", path);
	return ret;
}

/* ---- the walk ---------------------------------------------------------------------------------- */

/* The names in a directory, sorted: the order must not depend on the file system's. */
static char **sorted_names(int dir_fd, size_t *count)
{
	int fd = dup(dir_fd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL, **grown;
	size_t cap = 0;
	struct dirent *ent;

	*count = 0;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((ent = readdir(dir))) {
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		if (*count + 1 >= cap) {
			cap = cap ? 2 * cap : 32;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown)
				break;
			names = grown;
		}
		names[(*count)++] = strdup(ent->d_name);
	}
	closedir(dir);
	if (!names)
		names = calloc(1, sizeof(*names));
	qsort(names, *count, sizeof(*names), compare_names);
	return names;
}

static void free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

static int write_tree(struct differ *d, int dir_fd, const char *dir_path, struct failure *f);

/* A directory: its entry, its opaque marker if overlayfs made it opaque, then what it holds. */
static int write_dir(struct differ *d, int parent_fd, const char *name, const char *path, const struct stat *st,
		     struct failure *f)
{
	struct archive_entry *e = archive_entry_new();
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int ret = -1;

	if (!e || fd < 0) {
		failed(f, "open directory \"%s\"", path);
		goto out;
	}
	if (refuse_overlay_state(fd, path, f) < 0)
		goto out;
	fill_entry(d, e, path, st);
	if (add_xattrs(e, fd) < 0 || write_entry(d, e, -1) < 0) {
		failed(f, "directory \"%s\"", path);
		goto out;
	}
	/* overlayfs(5): an opaque directory hides everything below it; the layer says so with a marker. */
	if (has_xattr(fd, opaque_xattrs, true) && write_marker(d, path, opaque_marker, st, st->st_mode & 07777) < 0) {
		failed(f, "opaque marker in \"%s\"", path);
		goto out;
	}
	ret = write_tree(d, fd, path, f);
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	return ret;
}

/* One name in a directory of changes: a whiteout, a directory (and all below it), or a node. */
static int write_name(struct differ *d, int dir_fd, const char *dir_path, const char *name, struct failure *f)
{
	char path[PATH_MAX];
	struct stat st;

	if (format_into(path, sizeof(path), "%s%s%s", dir_path, dir_path[0] ? "/" : "", name) < 0)
		return failed(f, "\"%s/%s\"", dir_path, name);
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return failed(f, "stat \"%s\"", path);
	if (strncmp(name, whiteout_prefix, strlen(whiteout_prefix)) == 0) {
		/* In a layer, that name means a deletion: a file by that name cannot travel. */
		errno = EINVAL;
		return failed(f, "\"%s\": a file named .wh.* cannot be put in a layer", path);
	}
	if (is_whiteout(&st))
		return write_whiteout(d, dir_path, name, &st) < 0 ? failed(f, "whiteout \"%s\"", path) : 0;
	if (S_ISDIR(st.st_mode))
		return write_dir(d, dir_fd, name, path, &st, f);
	if (S_ISSOCK(st.st_mode))
		return 0;	/* a socket is a running program's, not a file to ship */
	return write_node(d, dir_fd, name, path, &st, f);
}

static int write_tree(struct differ *d, int dir_fd, const char *dir_path, struct failure *f)
{
	size_t count;
	char **names = sorted_names(dir_fd, &count);
	int ret = 0;

	if (!names)
		return failed(f, "read directory \"%s\"", dir_path[0] ? dir_path : ".");
	for (size_t i = 0; i < count && ret == 0; i++)
		ret = write_name(d, dir_fd, dir_path, names[i], f);
	free_names(names, count);
	return ret;
}

/* ---- the layer --------------------------------------------------------------------------------- */

static void finish_diff_id(struct differ *d)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *p = d->out->diff_id;

	EVP_DigestFinal_ex(d->sha256, md, &len);
	p += sprintf(p, "sha256:");
	for (unsigned int i = 0; i < len; i++)
		p += sprintf(p, "%02x", md[i]);
}

/* Close both writers, in order: the tar's end-of-archive blocks still pass through gzip. */
static int close_writers(struct differ *d)
{
	int ret = 0;

	if (d->tar && archive_write_close(d->tar) != ARCHIVE_OK)
		ret = -1;
	if (d->gzip && archive_write_close(d->gzip) != ARCHIVE_OK)
		ret = -1;
	return ret;
}

static void free_differ(struct differ *d)
{
	if (d->tar)
		archive_write_free(d->tar);
	if (d->gzip)
		archive_write_free(d->gzip);
	EVP_MD_CTX_free(d->sha256);
	for (size_t i = 0; i < d->ninodes; i++)
		free(d->inodes[i].path);
	free(d->inodes);
	free(d);
}

/* Write the layer blob of dir into the store; out gets its descriptor, diffID and counts. */
static int write_layer_blob(const struct store *s, int dir_fd, long long clamp, struct layer_blob *out,
			    struct failure *f)
{
	struct differ *d = calloc(1, sizeof(*d));
	int ret = -1;

	if (!d)
		return failed(f, "make a layer");
	d->clamp = clamp;
	d->out = out;
	d->blob.fd = -1;
	d->sha256 = EVP_MD_CTX_new();
	if (!d->sha256 || EVP_DigestInit_ex(d->sha256, EVP_sha256(), NULL) != 1 ||
	    blob_writer_open(s, &d->blob, NULL, -1) < 0 || open_gzip(d) < 0 || open_tar(d) < 0) {
		failed(f, "start a layer in %s", s->root);
	} else if (write_tree(d, dir_fd, "", f) == 0) {
		if (close_writers(d) < 0) {
			errno = d->write_errno ? d->write_errno : EIO;
			failed(f, "finish the layer: %s", archive_error_string(d->tar));
		} else {
			finish_diff_id(d);
			ret = blob_writer_commit(s, &d->blob, f);
		}
	}
	if (ret == 0) {
		snprintf(out->blob.media_type, sizeof(out->blob.media_type), "%s", layer_gzip_type);
		snprintf(out->blob.digest, sizeof(out->blob.digest), "%s", d->blob.digest);
		out->blob.size = d->blob.size;
	} else {
		/* The writers are closed (their last bytes still go to the temp blob), then the temp blob goes. */
		close_writers(d);
		blob_writer_abort(&d->blob);
	}
	free_differ(d);
	return ret;
}

/*
 * Make a layer of the directory dir (a container's overlay upper directory,
 * or a directory COPY filled): the blob goes into the store, named by its
 * digest, and is unpacked as a store layer under its diffID (the same
 * extraction as a pulled layer: what the next step or 'box run' stacks is
 * exactly what the blob says). clamp: SOURCE_DATE_EPOCH, or -1. out gets
 * the descriptor, the diffID, and how many entries the layer has (0: the
 * directory held no change).
 */
int layer_from_dir(const struct store *s, const char *dir, long long clamp, struct layer_blob *out,
		   struct failure *f)
{
	struct failure why = { "" };
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return failed(f, "open %s", dir);
	ret = write_layer_blob(s, fd, clamp, out, &why);
	close(fd);
	if (ret < 0)
		return failed(f, "layer from %s: %s", dir, why.what);
	return store_add_layer(s, out->blob.digest, out->diff_id, NULL, f);
}
