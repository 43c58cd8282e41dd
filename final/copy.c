/*
 * copy.c - COPY and ADD: files from the build context (or from another
 * stage) into a new layer, and the checksum that decides whether the
 * cached layer will do.
 *
 *     COPY [--from=STAGE] [--chown=USER:GROUP] [--chmod=MODE] SRC... DEST
 *     ADD  [--chown=USER:GROUP] [--chmod=MODE] SRC... DEST     (a local tar archive is unpacked)
 *
 * No container is needed: the files are copied into an empty directory,
 * and that directory becomes the layer (diff.c) exactly as a RUN step's
 * upper directory does. Docker's rules for what goes where:
 *
 *   - SRC is relative to the context; a leading "/" is the context's root;
 *     "*", "?" and "[...]" are globs. A SRC that leaves the context
 *     ("../x") is refused; so is a URL (box does not download).
 *   - a directory SRC copies what it holds, not itself;
 *   - DEST ending in "/", an existing directory, or several SRCs: things
 *     go inside DEST under their own names; else DEST is the file's new name;
 *   - files get owner 0:0 (or --chown), keep their mode (or --chmod) and
 *     their modification time; a relative DEST is under WORKDIR.
 *
 * The context is the user's, and may hold a symlink to anywhere. Every
 * path is looked up by the kernel inside the context: openat2(2) with
 * RESOLVE_IN_ROOT treats the context directory as "/", so "link -> /etc"
 * leads to the context's own etc/, never the host's. Inside a copied
 * directory, symlinks are copied as symlinks, never followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "box.h"

enum {
	COPY_BLOCK = 64 * 1024,
	DIR_MODE = 0755,	/* a directory COPY makes that the image does not have */
	OWNER_FILE_MAX = 1024 * 1024,	/* /etc/passwd, /etc/group read for --chown=NAME */
};

/* ---- paths ------------------------------------------------------------------------------------ */

/* openat2(2) RESOLVE_IN_ROOT: path looked up as if root_fd were "/"; symlinks included. */
static int open_beneath(int root_fd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, root_fd, path[0] ? path : ".", &how, sizeof(how));
}

/*
 * "./src//a/" -> "src/a"; "/src" -> "src" (the context's root is "/").
 * A ".." that would climb above the root is refused: the build sees only
 * its context (docker: "forbidden path outside the build context").
 */
static int clean_source(const char *path, char *out, size_t size, struct failure *f)
{
	size_t n = 0;

	out[0] = '\0';
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, "/");

		if (len == 2 && strncmp(p, "..", 2) == 0) {
			if (n == 0) {
				errno = EPERM;
				return failed(f, "%s: the path is outside the build context", path);
			}
			while (n > 0 && out[n - 1] != '/')
				n--;
			n -= n > 0;	/* the slash before it */
			out[n] = '\0';
		} else if (len && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > size) {
				errno = ENAMETOOLONG;
				return failed(f, "%s", path);
			}
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
			out[n] = '\0';
		}
		p += len;
		p += strspn(p, "/");
	}
	return 0;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* a + "/" + b, without a slash when a is "". */
static int join(char *buf, size_t size, const char *a, const char *b)
{
	return format_into(buf, size, "%s%s%s", a, a[0] && b[0] ? "/" : "", b);
}

/* ---- names in a directory ---------------------------------------------------------------------- */

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* The names in the directory at fd (O_PATH is fine), sorted: a checksum must not depend on readdir's order. */
static char **list_dir(int fd, size_t *count)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	char **names = calloc(16, sizeof(*names)), **grown;
	size_t cap = 16;
	struct dirent *e;

	*count = 0;
	if (!dir || !names) {
		if (dir)
			closedir(dir);
		else if (dfd >= 0)
			close(dfd);
		free(names);
		return NULL;
	}
	while ((e = readdir(dir))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (*count == cap) {
			grown = realloc(names, 2 * cap * sizeof(*names));
			if (!grown)
				break;	/* a partial list: the checksum and the copy would be wrong, so say so */
			names = grown;
			cap *= 2;
		}
		names[(*count)++] = strdup(e->d_name);
	}
	if (e) {
		closedir(dir);
		free_list(names, *count);
		return NULL;
	}
	closedir(dir);
	qsort(names, *count, sizeof(*names), compare_names);
	return names;
}

/* ---- sources ---------------------------------------------------------------------------------- */

/* The sources a COPY names, after globs and the ignore file: paths relative to the source root. */
struct sources {
	char **paths;
	size_t count, cap;
};

static int add_source(struct sources *s, const char *path)
{
	if (s->count == s->cap) {
		char **grown = realloc(s->paths, (s->cap = s->cap ? 2 * s->cap : 8) * sizeof(*grown));

		if (!grown)
			return -1;
		s->paths = grown;
	}
	s->paths[s->count] = strdup(path);
	if (!s->paths[s->count])
		return -1;
	s->count++;
	return 0;
}

/* Glob, one component at a time from dir (prefix: its path), matching inside the root only. */
static int glob_from(int root_fd, const char *prefix, char **parts, size_t nparts, size_t i,
		     const struct ignore *ig, struct sources *out)
{
	char path[PATH_MAX], **names;
	size_t count;
	int dir, ret = 0;

	if (i == nparts)
		return ignore_matches(ig, prefix) ? 0 : add_source(out, prefix);
	if (!has_glob(parts[i])) {
		if (join(path, sizeof(path), prefix, parts[i]) < 0)
			return -1;
		dir = open_beneath(root_fd, path, O_PATH);
		if (dir < 0)
			return 0;	/* no such name: no match */
		close(dir);
		return glob_from(root_fd, path, parts, nparts, i + 1, ig, out);
	}
	dir = open_beneath(root_fd, prefix, O_PATH | O_DIRECTORY);
	if (dir < 0)
		return 0;
	names = list_dir(dir, &count);
	close(dir);
	for (size_t k = 0; names && k < count && ret == 0; k++) {
		if (fnmatch(parts[i], names[k], 0) == 0 && join(path, sizeof(path), prefix, names[k]) == 0)
			ret = glob_from(root_fd, path, parts, nparts, i + 1, ig, out);
	}
	free_list(names, count);
	return ret;
}

/* "src/x/a.c" -> "src", "x", "a.c": the components of a path, to glob one at a time. */
static char **split_parts(const char *path, size_t *count)
{
	char **parts = calloc(strlen(path) / 2 + 2, sizeof(*parts));

	*count = 0;
	for (const char *p = path; parts && *p;) {
		size_t len = strcspn(p, "/");

		parts[(*count)++] = strndup(p, len);
		p += len;
		p += strspn(p, "/");
	}
	return parts;
}

/* One SRC into paths: a glob expands (no match is an error, as in docker), a plain path must exist. */
static int resolve_source(int root_fd, const char *written, const struct ignore *ig, struct sources *out,
			  struct failure *f)
{
	char clean[PATH_MAX], **parts;
	size_t nparts, before = out->count;
	int fd, ret;

	if (strstr(written, "://") || strncmp(written, "git@", 4) == 0) {
		errno = ENOTSUP;
		return failed(f, "%s: box does not download: fetch it into the context first (or with RUN)", written);
	}
	if (clean_source(written, clean, sizeof(clean), f) < 0)
		return -1;
	if (has_glob(clean)) {
		parts = split_parts(clean, &nparts);
		ret = parts ? glob_from(root_fd, "", parts, nparts, 0, ig, out) : -1;
		free_list(parts, nparts);
		if (ret == 0 && out->count == before) {
			errno = ENOENT;
			return failed(f, "%s: no source files match", written);
		}
		return ret < 0 ? failed(f, "%s", written) : 0;
	}
	fd = open_beneath(root_fd, clean, O_PATH);
	if (fd < 0 || (clean[0] && ignore_matches(ig, clean))) {
		if (fd >= 0)
			close(fd);
		errno = ENOENT;
		return failed(f, "%s: not found in the build context%s", written, fd >= 0 ? " (the ignore file excludes it)" : "");
	}
	close(fd);
	return add_source(out, clean) < 0 ? failed(f, "%s", written) : 0;
}

static void free_sources(struct sources *s)
{
	free_list(s->paths, s->count);
	memset(s, 0, sizeof(*s));
}

/* ---- the walk: every file a COPY takes, in order, with where it goes ----------------------------- */

/* One thing to copy: an O_PATH descriptor of it, its stat, its path in the source and in the layer. */
struct item {
	int fd;
	struct stat st;
	const char *source;	/* relative to the source root: for the ignore file */
	const char *dest;	/* relative to the layer's root */
	bool top;		/* a SRC itself, not something inside one (ADD unpacks only those) */
};

typedef int (*visit_fn)(void *ctx, const struct item *it, struct failure *f);

static int walk_item(int fd, const char *source, const char *dest, const struct ignore *ig, visit_fn visit, void *ctx,
		     bool top, struct failure *f);

/* The children of a directory, sorted; what the ignore file excludes is skipped (unless a '!' may take it back). */
static int walk_children(int dir_fd, const char *source, const char *dest, const struct ignore *ig, visit_fn visit,
			 void *ctx, struct failure *f)
{
	char src[PATH_MAX], dst[PATH_MAX], **names;
	size_t count;
	int ret = 0;

	names = list_dir(dir_fd, &count);
	if (!names)
		return failed(f, "read directory %s", source[0] ? source : ".");
	for (size_t i = 0; i < count && ret == 0; i++) {
		int fd;

		if (join(src, sizeof(src), source, names[i]) < 0 || join(dst, sizeof(dst), dest, names[i]) < 0) {
			ret = failed(f, "%s/%s", source, names[i]);
			break;
		}
		/* O_NOFOLLOW with O_PATH: a symlink inside is the symlink itself, copied as one. */
		fd = openat(dir_fd, names[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			ret = failed(f, "open %s", src);
			break;
		}
		ret = walk_item(fd, src, dst, ig, visit, ctx, false, f);
		close(fd);
	}
	free_list(names, count);
	return ret;
}

/* Visit the item (unless ignored: a SRC was checked already), then, for a directory, what it holds. */
static int walk_item(int fd, const char *source, const char *dest, const struct ignore *ig, visit_fn visit, void *ctx,
		     bool top, struct failure *f)
{
	struct item it = { .fd = fd, .source = source, .dest = dest, .top = top };
	bool ignored = !top && ignore_matches(ig, source);

	if (fstat(fd, &it.st) < 0)
		return failed(f, "stat %s", source);
	if (ignored && !(S_ISDIR(it.st.st_mode) && ignore_has_exceptions(ig)))
		return 0;
	if (!ignored && visit(ctx, &it, f) < 0)
		return -1;
	if (!S_ISDIR(it.st.st_mode))
		return 0;
	return walk_children(fd, source, dest, ig, visit, ctx, f);
}

/* Where a top-level SRC goes: a directory's contents into DEST; a file into DEST/ or as DEST. */
static int top_dest(const struct copy_spec *c, const char *source, bool is_dir, char *buf, size_t size)
{
	const char *base = strrchr(source, '/') ? strrchr(source, '/') + 1 : source;

	if (is_dir || !c->dest_is_dir)
		return format_into(buf, size, "%s", c->dest);
	return join(buf, size, c->dest, base);
}

/* Every SRC, resolved (symlinks followed, inside the root), then walked. */
static int walk_sources(int root_fd, const struct copy_spec *c, visit_fn visit, void *ctx, struct failure *f)
{
	struct sources srcs = { 0 };
	char dest[PATH_MAX];
	int ret = 0;

	for (size_t i = 0; i < c->nsources && ret == 0; i++)
		ret = resolve_source(root_fd, c->sources[i], c->ignore, &srcs, f);
	for (size_t i = 0; i < srcs.count && ret == 0; i++) {
		int fd = open_beneath(root_fd, srcs.paths[i], O_PATH);
		struct stat st;

		if (fd < 0 || fstat(fd, &st) < 0) {
			ret = failed(f, "open %s", srcs.paths[i]);
		} else if (top_dest(c, srcs.paths[i], S_ISDIR(st.st_mode), dest, sizeof(dest)) < 0) {
			ret = failed(f, "%s", srcs.paths[i]);
		} else if (S_ISDIR(st.st_mode)) {
			/* The directory itself is not copied, only what it holds; DEST is made for it. */
			struct item it = { .fd = fd, .st = st, .source = srcs.paths[i], .dest = dest, .top = true };

			ret = visit(ctx, &it, f);
			if (ret == 0)
				ret = walk_children(fd, srcs.paths[i], dest, c->ignore, visit, ctx, f);
		} else {
			ret = walk_item(fd, srcs.paths[i], dest, c->ignore, visit, ctx, true, f);
		}
		if (fd >= 0)
			close(fd);
	}
	free_sources(&srcs);
	return ret;
}

/* ---- the checksum -------------------------------------------------------------------------------- */

/* A regular file's bytes, through an O_PATH descriptor reopened for reading (/proc/self/fd, proc(5)). */
static int reopen_for_reading(int path_fd)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
	return open(proc, O_RDONLY | O_CLOEXEC);
}

static int hash_content(EVP_MD_CTX *ctx, int path_fd)
{
	char block[COPY_BLOCK];
	int fd = reopen_for_reading(path_fd);
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, block, sizeof(block))) > 0)
		EVP_DigestUpdate(ctx, block, (size_t)n);
	close(fd);
	return n < 0 ? -1 : 0;
}

/*
 * What the cache key of a COPY covers, per file: where it goes, its type,
 * permission bits, size and content (a symlink: its target). Not its owner
 * (COPY sets that) nor its times: like docker, touching a file without
 * changing it keeps the cache.
 */
static int hash_item(void *ctx, const struct item *it, struct failure *f)
{
	char line[2 * PATH_MAX], target[PATH_MAX];
	ssize_t n = 0;

	if (S_ISLNK(it->st.st_mode)) {
		n = readlinkat(it->fd, "", target, sizeof(target) - 1);
		if (n < 0)
			return failed(f, "read link %s", it->source);
	}
	target[n] = '\0';
	snprintf(line, sizeof(line), "%s %o %lld %s\n", it->dest, (unsigned)it->st.st_mode, (long long)it->st.st_size,
		 target);
	EVP_DigestUpdate(ctx, line, strlen(line));
	if (S_ISREG(it->st.st_mode) && hash_content(ctx, it->fd) < 0)
		return failed(f, "read %s", it->source);
	return 0;
}

/* The checksum of everything the COPY would take, as "sha256:<hex>": part of its cache key. */
int copy_checksum(int root_fd, const struct copy_spec *c, char digest[DIGEST_LEN + 1], struct failure *f)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int ret;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return failed(f, "sha256");
	}
	ret = walk_sources(root_fd, c, hash_item, ctx, f);
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	strcpy(digest, "sha256:");
	for (unsigned int i = 0; i < len; i++)
		sprintf(digest + 7 + 2 * i, "%02x", md[i]);
	return ret;
}

/* ---- the copy ---------------------------------------------------------------------------------- */

struct copier {
	const struct copy_spec *c;
	int upper_fd;		/* the new layer's directory */
};

/* A directory the image has below (the union of the layers), with its metadata; else DIR_MODE, root. */
static void parent_metadata(const struct copy_spec *c, const char *path, struct stat *st)
{
	char found[PATH_MAX];

	if (layers_lookup(c->layers, c->nlayers, path, st, found, sizeof(found)) == 0 && S_ISDIR(st->st_mode))
		return;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | DIR_MODE;
}

/* mkdir -p inside the upper directory; a directory the image has keeps its owner, mode and time. */
static int make_parents(struct copier *cp, const char *path)
{
	char partial[PATH_MAX];
	struct stat st;

	for (size_t at = 0; path[at];) {
		size_t len = strcspn(path + at, "/");
		int fd;

		snprintf(partial, sizeof(partial), "%.*s", (int)(at + len), path);
		fd = open_beneath(cp->upper_fd, partial, O_PATH | O_DIRECTORY);
		if (fd < 0) {
			struct timespec times[2];

			parent_metadata(cp->c, partial, &st);
			if (mkdirat(cp->upper_fd, partial, st.st_mode & 07777) < 0 ||
			    fchownat(cp->upper_fd, partial, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
			    fchmodat(cp->upper_fd, partial, st.st_mode & 07777, 0) < 0)
				return -1;
			times[0] = times[1] = st.st_mtim;
			if (st.st_mtim.tv_sec && utimensat(cp->upper_fd, partial, times, AT_SYMLINK_NOFOLLOW) < 0)
				return -1;
		} else {
			close(fd);
		}
		at += len;
		at += path[at] == '/';
	}
	return 0;
}

/*
 * DEST for a directory SRC (whose contents go in): as the image has it, or,
 * if new, 0755 and the COPY's owner (--chown applies to the directory it
 * makes, as in buildkit). Not the source directory's own mode.
 */
static int make_dest_dir(struct copier *cp, const char *dest)
{
	struct stat st;
	char found[PATH_MAX];
	int fd;

	if (layers_lookup(cp->c->layers, cp->c->nlayers, dest, &st, found, sizeof(found)) == 0 && S_ISDIR(st.st_mode))
		return make_parents(cp, dest);
	if (make_parents(cp, dest) < 0 || (fd = open_beneath(cp->upper_fd, dest, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	if (fchown(fd, cp->c->chown ? cp->c->uid : 0, cp->c->chown ? cp->c->gid : 0) < 0 || fchmod(fd, DIR_MODE) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* The parent of dest in the upper directory (made if missing), and dest's last name. */
static int open_parent(struct copier *cp, const char *dest, char *name, size_t size)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(dest, '/');

	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - dest) : 0, dest);
	snprintf(name, size, "%s", slash ? slash + 1 : dest);
	if (parent[0] && make_parents(cp, parent) < 0)
		return -1;
	return open_beneath(cp->upper_fd, parent, O_PATH | O_DIRECTORY);
}

static uid_t owner_uid(const struct copy_spec *c, const struct stat *st)
{
	(void)st;
	return c->chown ? c->uid : 0;
}

static gid_t owner_gid(const struct copy_spec *c, const struct stat *st)
{
	(void)st;
	return c->chown ? c->gid : 0;
}

static mode_t perm_of(const struct copy_spec *c, const struct stat *st)
{
	return c->chmod ? c->mode : st->st_mode & 07777;
}

/* Owner, then mode (chown(2) clears setuid), then the source's mtime: on an fd or, for a link, by name. */
static int set_metadata(const struct copy_spec *c, const struct stat *st, int fd, int dir_fd, const char *name)
{
	struct timespec times[2] = { st->st_mtim, st->st_mtim };

	if (fd >= 0) {
		if (fchown(fd, owner_uid(c, st), owner_gid(c, st)) < 0 || fchmod(fd, perm_of(c, st)) < 0)
			return -1;
		return futimens(fd, times);
	}
	if (fchownat(dir_fd, name, owner_uid(c, st), owner_gid(c, st), AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISLNK(st->st_mode) && fchmodat(dir_fd, name, perm_of(c, st), 0) < 0)
		return -1;
	return utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW);
}

/* A later source may replace what an earlier one put at the same place (never following a symlink). */
static int clear_name(int dir_fd, const char *name, bool keep_dir)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode))
		return keep_dir ? 0 : unlinkat(dir_fd, name, AT_REMOVEDIR);
	return unlinkat(dir_fd, name, 0);
}

static int copy_bytes(int from, int to)
{
	char block[COPY_BLOCK];
	ssize_t n;

	while ((n = read(from, block, sizeof(block))) > 0) {
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(to, block + done, (size_t)(n - done));

			if (w < 0)
				return -1;
			done += w;
		}
	}
	return n < 0 ? -1 : 0;
}

static int copy_file(const struct item *it, const struct copy_spec *c, int dir_fd, const char *name)
{
	int from = reopen_for_reading(it->fd), to = -1, ret = -1;

	if (from >= 0 && clear_name(dir_fd, name, false) == 0)
		to = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (to >= 0 && copy_bytes(from, to) == 0 && set_metadata(c, &it->st, to, -1, NULL) == 0)
		ret = 0;
	if (to >= 0 && close(to) < 0)
		ret = -1;
	if (from >= 0)
		close(from);
	return ret;
}

static int copy_symlink(const struct item *it, const struct copy_spec *c, int dir_fd, const char *name)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(it->fd, "", target, sizeof(target) - 1);

	if (n < 0)
		return -1;
	target[n] = '\0';
	if (clear_name(dir_fd, name, false) < 0 || symlinkat(target, dir_fd, name) < 0)
		return -1;
	return set_metadata(c, &it->st, -1, dir_fd, name);
}

/* A directory inside a copied one: made (or kept), with the source's mode and the COPY's owner. */
static int copy_dir(const struct item *it, const struct copy_spec *c, int dir_fd, const char *name)
{
	int fd;

	if (clear_name(dir_fd, name, true) < 0 || (mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST))
		return -1;
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (set_metadata(c, &it->st, fd, -1, NULL) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int copy_node(const struct item *it, const struct copy_spec *c, int dir_fd, const char *name)
{
	if (clear_name(dir_fd, name, false) < 0 || mknodat(dir_fd, name, it->st.st_mode, it->st.st_rdev) < 0)
		return -1;
	return set_metadata(c, &it->st, -1, dir_fd, name);
}

/* Is this file a tar archive (plain, gzip or zstd)? ADD unpacks those. */
static bool is_tar_archive(int path_fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int fd = reopen_for_reading(path_fd);
	bool yes = false;

	if (a && fd >= 0) {
		archive_read_support_filter_gzip(a);
		archive_read_support_filter_zstd(a);
		archive_read_support_format_tar(a);
		yes = archive_read_open_fd(a, fd, COPY_BLOCK) == ARCHIVE_OK && archive_read_next_header(a, &e) == ARCHIVE_OK;
	}
	if (a)
		archive_read_free(a);
	if (fd >= 0)
		close(fd);
	return yes;
}

/* ADD of a local archive: unpacked into DEST by layer.c, with its checks (no absolute names, no ".."). */
static int unpack_archive(struct copier *cp, const struct item *it, struct failure *f)
{
	struct layer_result res;
	char dest[PATH_MAX];
	int dir_fd, fd, ret;

	if (format_into(dest, sizeof(dest), "%s", cp->c->dest) < 0 || (dest[0] && make_parents(cp, dest) < 0))
		return failed(f, "make %s", cp->c->dest);
	dir_fd = open_beneath(cp->upper_fd, dest, O_RDONLY | O_DIRECTORY);
	fd = reopen_for_reading(it->fd);
	if (dir_fd < 0 || fd < 0) {
		if (dir_fd >= 0)
			close(dir_fd);
		if (fd >= 0)
			close(fd);
		return failed(f, "unpack %s", it->source);
	}
	ret = layer_extract(fd, it->st.st_size, dir_fd, NULL, &res, f);
	close(fd);
	close(dir_fd);
	return ret;
}

/* Copy one item to its place in the upper directory. */
static int copy_item(void *ctx, const struct item *it, struct failure *f)
{
	struct copier *cp = ctx;
	char name[NAME_MAX + 1];
	int dir_fd, ret;

	if (cp->c->add && it->top && S_ISREG(it->st.st_mode) && is_tar_archive(it->fd))
		return unpack_archive(cp, it, f);
	if (!it->dest[0])
		return 0;	/* "/" itself: the layer's root is not an entry */
	if (it->top && S_ISDIR(it->st.st_mode))
		return make_dest_dir(cp, it->dest) < 0 ? failed(f, "make /%s", it->dest) : 0;
	dir_fd = open_parent(cp, it->dest, name, sizeof(name));
	if (dir_fd < 0)
		return failed(f, "make the directory for %s", it->dest);
	if (S_ISREG(it->st.st_mode))
		ret = copy_file(it, cp->c, dir_fd, name);
	else if (S_ISLNK(it->st.st_mode))
		ret = copy_symlink(it, cp->c, dir_fd, name);
	else if (S_ISDIR(it->st.st_mode))
		ret = copy_dir(it, cp->c, dir_fd, name);
	else if (S_ISCHR(it->st.st_mode) || S_ISBLK(it->st.st_mode) || S_ISFIFO(it->st.st_mode))
		ret = copy_node(it, cp->c, dir_fd, name);
	else
		ret = 0;	/* a socket: nothing to copy */
	close(dir_fd);
	return ret < 0 ? failed(f, "copy %s to /%s", it->source, it->dest) : 0;
}

/* Copy what the COPY or ADD names from root_fd into the (empty) directory upper: the step's layer. */
int copy_files(int root_fd, const struct copy_spec *c, const char *upper, struct failure *f)
{
	struct copier cp = { .c = c, .upper_fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
	int ret;

	if (cp.upper_fd < 0)
		return failed(f, "open %s", upper);
	ret = walk_sources(root_fd, c, copy_item, &cp, f);
	close(cp.upper_fd);
	return ret;
}

/* ---- the image's files, without mounting it ----------------------------------------------------- */

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

static bool is_opaque(const char *dir)
{
	char value[2];

	return getxattr(dir, "trusted.overlay.opaque", value, sizeof(value)) == 1 && value[0] == 'y';
}

/*
 * Where path is in a stack of layer directories (bottom first), as overlayfs
 * would show it: the top-most layer that has it wins; a whiteout above it
 * hides it, and so does an opaque directory, or a file, on the way. found
 * gets the real path. (Symlinks on the way are not followed: ENOENT.)
 */
int layers_lookup(char *const layers[], size_t n, const char *path, struct stat *st, char *found, size_t size)
{
	char partial[PATH_MAX];

	for (size_t i = n; i-- > 0;) {
		bool stop = false;

		for (size_t at = 0;;) {
			size_t len = strcspn(path + at, "/");
			bool last = path[at + len] == '\0';

			if (format_into(partial, sizeof(partial), "%s/%.*s", layers[i], (int)(at + len), path) < 0)
				return -1;
			if (lstat(partial, st) < 0)
				break;	/* not in this layer: look below */
			if (is_whiteout(st) || (!last && !S_ISDIR(st->st_mode)))
				goto absent;
			if (last)
				return format_into(found, size, "%s", partial);
			stop |= is_opaque(partial);
			at += len + 1;
		}
		if (stop)
			break;
	}
absent:
	errno = ENOENT;
	return -1;
}

/* ---- --chown=USER:GROUP -------------------------------------------------------------------------- */

static char *read_image_file(char *const layers[], size_t n, const char *path)
{
	char found[PATH_MAX];
	struct stat st;
	char *text;
	ssize_t got;
	int fd;

	if (layers_lookup(layers, n, path, &st, found, sizeof(found)) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > OWNER_FILE_MAX || (fd = open(found, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return NULL;
	text = malloc((size_t)st.st_size + 1);
	got = text ? read(fd, text, (size_t)st.st_size) : -1;
	close(fd);
	if (got < 0) {
		free(text);
		return NULL;
	}
	text[got] = '\0';
	return text;
}

/* "name:x:1000:1000:..." (passwd(5), group(5)): field 3 of the line whose field 1 is name. */
static int id_in(const char *text, const char *name, unsigned *id, unsigned *primary_gid)
{
	size_t len = strlen(name);

	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *p;

		if (strncmp(line, name, len) != 0 || line[len] != ':' || !(p = strchr(line + len + 1, ':')))
			continue;
		*id = (unsigned)strtoul(p + 1, NULL, 10);
		p = strchr(p + 1, ':');
		if (primary_gid && p)
			*primary_gid = (unsigned)strtoul(p + 1, NULL, 10);
		return 0;
	}
	return -1;
}

static bool is_number(const char *s)
{
	return s[0] && strspn(s, "0123456789") == strlen(s);
}

/* One half of USER:GROUP: a number, or a name in the image's passwd or group file. */
static int lookup_id(char *const layers[], size_t n, const char *file, const char *name, unsigned *id,
		     unsigned *primary_gid)
{
	char *text;
	int ret;

	if (is_number(name)) {
		*id = (unsigned)strtoul(name, NULL, 10);
		return 0;
	}
	text = read_image_file(layers, n, file);
	ret = text ? id_in(text, name, id, primary_gid) : -1;
	free(text);
	return ret;
}

/*
 * --chown=USER[:GROUP], names looked up in the image's own /etc/passwd and
 * /etc/group (the layers so far). Without GROUP the group is the user's
 * number, as docker does it.
 */
int resolve_owner(char *const layers[], size_t n, const char *text, uid_t *uid, gid_t *gid, struct failure *f)
{
	char user[256], *group;
	unsigned u, g, primary = 0;

	snprintf(user, sizeof(user), "%s", text);
	group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	if (!user[0] || lookup_id(layers, n, "etc/passwd", user, &u, &primary) < 0) {
		errno = ENOENT;
		return failed(f, "--chown=%s: no user \"%s\" in the image's /etc/passwd", text, user);
	}
	if (group && lookup_id(layers, n, "etc/group", group, &g, NULL) < 0) {
		errno = ENOENT;
		return failed(f, "--chown=%s: no group \"%s\" in the image's /etc/group", text, group);
	}
	*uid = u;
	*gid = group ? g : u;
	return 0;
}

/* ---- COPY --from: a stage's files, seen through overlayfs ------------------------------------------ */

/* "lowerdir=TOP:...:BOTTOM": overlayfs(5) wants the top layer first. */
static int lowerdir_option(char *const layers[], size_t n, char *buf, size_t size)
{
	size_t len = 0;

	if (format_into(buf, size, "lowerdir=") < 0)
		return -1;
	for (size_t i = n; i-- > 0;) {
		len = strlen(buf);
		if (format_into(buf + len, size - len, "%s%s", layers[i], i ? ":" : "") < 0)
			return -1;
	}
	return 0;
}

/*
 * In a child, in a mount namespace of its own: the layers mounted read-only
 * at mountpoint (no upper: nothing can be written), then fn(root_fd, arg).
 * The mount dies with the child's namespace; the host never sees it.
 */
static int run_in_child(char *const layers[], size_t n, const char *mountpoint, int (*fn)(int, void *, struct failure *),
			void *arg, int report_fd)
{
	char options[OVERLAY_OPTIONS_MAX];
	struct failure f = { "" };
	int root_fd, ret = -1;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		failed(&f, "private mount namespace");
	else if (lowerdir_option(layers, n, options, sizeof(options)) < 0)
		failed(&f, "too many layers for one mount");
	else if (mount("overlay", mountpoint, "overlay", MS_RDONLY, options) < 0)
		failed(&f, "mount the stage's layers on %s", mountpoint);
	else if ((root_fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		failed(&f, "open %s", mountpoint);
	else
		ret = fn(root_fd, arg, &f);
	if (ret < 0) {
		int err = errno;

		if (write(report_fd, &err, sizeof(err)) < 0 || write(report_fd, f.what, strlen(f.what) + 1) < 0)
			_exit(2);
	}
	_exit(ret < 0 ? 1 : 0);
}

/*
 * fn(root_fd, arg, f) with root_fd the merged view of layers (bottom
 * first): one layer is just its directory; more are mounted (overlayfs,
 * read-only) in a child process with a mount namespace of its own, so
 * that the parent's never changes. scratch: an empty directory to mount on.
 * What fn writes into files is seen by the parent; what it keeps in memory
 * is not, so fn reports through files (or the failure, passed back here).
 */
int with_layers(char *const layers[], size_t n, const char *scratch, int (*fn)(int, void *, struct failure *),
		void *arg, struct failure *f)
{
	int pipe_fds[2], status, fd, ret, err = 0;
	char what[sizeof(f->what)] = "";
	pid_t pid;

	if (n <= 1) {
		fd = open(n ? layers[0] : scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return failed(f, "open %s", n ? layers[0] : scratch);
		ret = fn(fd, arg, f);
		close(fd);
		return ret;
	}
	if (pipe2(pipe_fds, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		return failed(f, "start a process to read the stage");
	if (pid == 0) {
		close(pipe_fds[0]);
		run_in_child(layers, n, scratch, fn, arg, pipe_fds[1]);
	}
	close(pipe_fds[1]);
	if (read(pipe_fds[0], &err, sizeof(err)) == sizeof(err) && read(pipe_fds[0], what, sizeof(what) - 1) < 0)
		what[0] = '\0';
	close(pipe_fds[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errno = err ? err : EIO;
		return failed(f, "%s", what[0] ? what : "reading the stage's layers failed");
	}
	return 0;
}
