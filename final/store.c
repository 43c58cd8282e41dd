/*
 * store.c - the content-addressed store under the box root (--root, BOX_ROOT).
 *
 *     ROOT/lock                            flock(2): shared while adding, exclusive while removing
 *     ROOT/index.json                      names -> manifests: what 'box images' lists
 *     ROOT/index.lock                      flock(2): one writer of index.json at a time
 *     ROOT/blobs/sha256/<hex>              manifests, configs, compressed layers: the registry's bytes
 *     ROOT/layers/sha256/<diffID hex>/diff     a layer, unpacked once, shared by every image that has it
 *     ROOT/layers/sha256/<diffID hex>/layer.json   its size and entry count
 *     ROOT/cache/<key hex>                 a build step's result, by its cache key (build.c)
 *     ROOT/tmp/                            work in progress; never read as content
 *
 * (ROOT/containers/, the containers' writable layers, is overlay.c's.)
 *
 * A blob's name is the sha256 of its bytes, so whatever is found under a name
 * is what that name promises. Every file and directory is made in tmp/,
 * checked, synced, and only then renamed into place: rename(2) is atomic, so
 * a box killed at any moment leaves the old state or the new one, never half
 * of something, under its final name. What tmp/ holds after a crash is
 * removed by the next box that finds the store unused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "box.h"

static const char lock_file[] = "lock";
static const char index_file[] = "index.json";
static const char index_lock_file[] = "index.lock";
static const char blobs_dir[] = "blobs/sha256";
static const char layers_dir[] = "layers/sha256";
static const char temp_dir[] = "tmp";
static const char cache_dir[] = "cache";
static const char layer_tree[] = "diff";
static const char layer_meta[] = "layer.json";

enum {
	STORE_DIR_MODE = 0700,	/* layers hold setuid files and device nodes: keep other users out */
	LAYER_META_MAX = 4096,
	INDEX_MAX = 64 * 1024 * 1024,
};

static const char *hex_of(const char *digest)
{
	return digest + strlen("sha256:");
}

static int store_path(const struct store *s, const char *name, char *buf, size_t size)
{
	return path_join(buf, size, s->root, name);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (format_into(buf, sizeof(buf), "%s", path) < 0)
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* fsync(2) a directory: makes a rename inside it survive a power cut, not just a crash. */
static int sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

/* Nothing else uses the store (we hold its lock exclusively): all of tmp/ is left over from a crash. */
int store_clean_temp(struct store *s, struct failure *f)
{
	char path[PATH_MAX], entry[PATH_MAX];
	DIR *dir;
	struct dirent *d;
	int ret = 0;

	if (store_path(s, temp_dir, path, sizeof(path)) < 0 || !(dir = opendir(path)))
		return failed(f, "open %s/%s", s->root, temp_dir);
	while ((d = readdir(dir))) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (path_join(entry, sizeof(entry), path, d->d_name) < 0 || remove_tree(entry) < 0)
			ret = failed(f, "remove %s", entry);
	}
	closedir(dir);
	return ret;
}

static int make_layout(const char *root)
{
	const char *dirs[] = { blobs_dir, layers_dir, temp_dir, cache_dir };
	char path[PATH_MAX];

	/* The box root itself as overlay.c makes it (0755): containers/ is there too. */
	if (make_path(root) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (path_join(path, sizeof(path), root, dirs[i]) < 0 || mkdir_p(path, STORE_DIR_MODE) < 0)
			return -1;
	}
	return 0;
}

/*
 * Open the store at root, making it if needed, and lock it: STORE_SHARED to
 * read or add (many boxes at once; a container run from an image holds it
 * while it runs), STORE_EXCLUSIVE to remove (nobody else in: EBUSY at once
 * rather than wait for a container that may run for days). Whoever finds it
 * unused first cleans up what crashed boxes left in tmp/.
 */
int store_open(struct store *s, const char *root, enum store_lock how, struct failure *f)
{
	char path[PATH_MAX];

	s->lock_fd = -1;
	if (format_into(s->root, sizeof(s->root), "%s", root) < 0 || make_layout(root) < 0)
		return failed(f, "create the store in %s", root);
	if (store_path(s, lock_file, path, sizeof(path)) < 0)
		return failed(f, "lock %s", root);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return failed(f, "open %s", path);
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0) {
		if (store_clean_temp(s, f) < 0) {
			store_close(s);
			return -1;
		}
		if (how == STORE_SHARED && flock(s->lock_fd, LOCK_SH) < 0)
			return failed(f, "lock %s", path);
		return 0;
	}
	if (errno == EWOULDBLOCK && how == STORE_EXCLUSIVE) {
		errno = EBUSY;
		failed(f, "the image store in %s is in use (a pull, or a container run from an image): "
		       "try again when it has finished", root);
		store_close(s);
		return -1;
	}
	if (errno != EWOULDBLOCK || lock_fd(s->lock_fd, LOCK_SH) < 0) {
		failed(f, "lock %s", path);
		store_close(s);
		return -1;
	}
	return 0;
}

void store_close(struct store *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}

/* ---- blobs ------------------------------------------------------------------------------- */

int store_blob_path(const struct store *s, const char *digest, char *buf, size_t size)
{
	if (!is_digest(digest)) {
		errno = EINVAL;
		return -1;
	}
	return format_into(buf, size, "%s/%s/%s", s->root, blobs_dir, hex_of(digest));
}

bool store_has_blob(const struct store *s, const char *digest)
{
	char path[PATH_MAX];

	return store_blob_path(s, digest, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

/*
 * Start a blob: a temp file in the store's own file system (so rename(2) can
 * move it in). digest is what the bytes must hash to; NULL for a blob box
 * makes itself (a layer it builds): commit then names it by its hash.
 */
int blob_writer_open(const struct store *s, struct blob_writer *w, const char *digest, long long size)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if ((digest && !is_digest(digest)) ||
	    format_into(w->temp, sizeof(w->temp), "%s/%s/blob-XXXXXX", s->root, temp_dir) < 0) {
		errno = EINVAL;
		return -1;
	}
	snprintf(w->digest, sizeof(w->digest), "%s", digest ? digest : "");
	w->expected_size = size;
	w->sha256 = EVP_MD_CTX_new();
	if (!w->sha256 || EVP_DigestInit_ex(w->sha256, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(w->sha256);
		errno = ENOMEM;
		return -1;
	}
	w->fd = mkostemp(w->temp, O_CLOEXEC);
	if (w->fd < 0) {
		EVP_MD_CTX_free(w->sha256);
		return -1;
	}
	return 0;
}

/* Hash and write the next bytes; EFBIG as soon as they go past the size the descriptor promised. */
int blob_writer_write(struct blob_writer *w, const void *data, size_t len)
{
	if (w->expected_size >= 0 && w->size + (long long)len > w->expected_size) {
		errno = EFBIG;
		return -1;
	}
	EVP_DigestUpdate(w->sha256, data, len);
	w->size += (long long)len;
	return write_all(w->fd, data, len);
}

/* Start again from the first byte: a download is retried. */
int blob_writer_restart(struct blob_writer *w)
{
	w->size = 0;
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return -1;
	return EVP_DigestInit_ex(w->sha256, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

void blob_writer_abort(struct blob_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlink(w->temp);
	}
	w->fd = -1;
	EVP_MD_CTX_free(w->sha256);
	w->sha256 = NULL;
}

static void hex_digest(EVP_MD_CTX *ctx, char out[DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_DigestFinal_ex(ctx, md, &len);
	out += sprintf(out, "sha256:");
	for (unsigned int i = 0; i < len; i++)
		out += sprintf(out, "%02x", md[i]);
}

/* [exercise] */
/*
 * Are these the bytes the digest names, and all of them? w->size bytes
 * came, the manifest promised w->expected_size (-1: it did not say);
 * w->sha256 has hashed every byte: hex_digest finishes it
 * (EVP_DigestFinal_ex(3)) as "sha256:<hex>", to compare with w->digest.
 * Any difference: EBADMSG, noted in f naming the digest (and what the
 * bytes hash to). The caller then throws them away.
 */
static int verify_blob(struct blob_writer *w, struct failure *f)
{
	char got[DIGEST_LEN + 1];

	if (w->expected_size >= 0 && w->size != w->expected_size) {
		errno = EBADMSG;
		return failed(f, "blob %s: got %lld bytes, the manifest says %lld", w->digest, w->size,
			      w->expected_size);
	}
	hex_digest(w->sha256, got);
	if (strcmp(got, w->digest) != 0) {
		errno = EBADMSG;
		return failed(f, "blob %s: content does not match its digest (it hashes to %s)", w->digest, got);
	}
	return 0;
}

/* A blob box made itself has no name yet: it gets the one its bytes hash to. */
static void name_by_content(struct blob_writer *w)
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();

	/* Finishing a hash ends it: finish a copy, so verify_blob can finish the original. */
	if (copy && EVP_MD_CTX_copy_ex(copy, w->sha256) == 1)
		hex_digest(copy, w->digest);
	EVP_MD_CTX_free(copy);
}

/* Verified, synced, renamed into blobs/: only now does the blob exist under its name. */
int blob_writer_commit(const struct store *s, struct blob_writer *w, struct failure *f)
{
	char path[PATH_MAX], dir[PATH_MAX];

	if (!w->digest[0])
		name_by_content(w);
	if (verify_blob(w, f) < 0) {
		blob_writer_abort(w);
		return -1;
	}
	if (fsync(w->fd) < 0 || store_blob_path(s, w->digest, path, sizeof(path)) < 0 ||
	    rename(w->temp, path) < 0) {
		failed(f, "store blob %s", w->digest);
		blob_writer_abort(w);
		return -1;
	}
	close(w->fd);
	w->fd = -1;
	EVP_MD_CTX_free(w->sha256);
	w->sha256 = NULL;
	if (store_path(s, blobs_dir, dir, sizeof(dir)) < 0 || sync_dir(dir) < 0)
		return failed(f, "sync %s", dir);
	return 0;
}

/* A small blob (a manifest, a config) from memory. */
int store_put_blob(const struct store *s, const char *digest, const void *data, size_t len, struct failure *f)
{
	struct blob_writer w;

	if (store_has_blob(s, digest))
		return 0;
	if (blob_writer_open(s, &w, digest, (long long)len) < 0)
		return failed(f, "store blob %s", digest);
	if (blob_writer_write(&w, data, len) < 0) {
		blob_writer_abort(&w);
		return failed(f, "store blob %s", digest);
	}
	return blob_writer_commit(s, &w, f);
}

static int read_all(int fd, size_t max, char **data, size_t *len)
{
	size_t cap = 4096;
	ssize_t n = -1;

	*len = 0;
	*data = malloc(cap + 1);
	while (*data && (n = read(fd, *data + *len, cap - *len)) > 0) {
		*len += (size_t)n;
		if (*len > max) {
			errno = EFBIG;
			break;
		}
		if (*len == cap) {
			char *bigger = realloc(*data, 2 * cap + 1);

			if (!bigger)
				break;
			*data = bigger;
			cap *= 2;
		}
	}
	if (!*data || n != 0) {
		free(*data);
		*data = NULL;
		return -1;
	}
	(*data)[*len] = '\0';
	return 0;
}

/* Read a small blob whole, and check it is still what its name says (a disk can lie too). */
int store_read_blob(const struct store *s, const char *digest, size_t max, char **data, size_t *len,
		    struct failure *f)
{
	char path[PATH_MAX], got[DIGEST_LEN + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int fd, ret;

	if (store_blob_path(s, digest, path, sizeof(path)) < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return failed(f, "read blob %s", digest);
	ret = read_all(fd, max, data, len);
	close(fd);
	if (ret < 0)
		return failed(f, "read blob %s", path);
	EVP_Digest(*data, *len, md, &md_len, EVP_sha256(), NULL);
	strcpy(got, "sha256:");
	for (unsigned int i = 0; i < md_len; i++)
		sprintf(got + 7 + 2 * i, "%02x", md[i]);
	if (strcmp(got, digest) != 0) {
		free(*data);
		*data = NULL;
		errno = EBADMSG;
		return failed(f, "blob %s in the store is corrupt (it hashes to %s)", path, got);
	}
	return 0;
}

/* ---- layers ------------------------------------------------------------------------------ */

/* ROOT/layers/sha256/<hex>: the layer with this diffID; its files are in diff/ inside. */
int store_layer_dir(const struct store *s, const char *diff_id, char *buf, size_t size)
{
	if (!is_digest(diff_id)) {
		errno = EINVAL;
		return -1;
	}
	return format_into(buf, size, "%s/%s/%s", s->root, layers_dir, hex_of(diff_id));
}

bool store_has_layer(const struct store *s, const char *diff_id)
{
	char path[PATH_MAX];

	return store_layer_dir(s, diff_id, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

int store_read_layer_info(const struct store *s, const char *diff_id, struct layer_info *info)
{
	char dir[PATH_MAX], path[PATH_MAX];
	json_t *doc;

	if (store_layer_dir(s, diff_id, dir, sizeof(dir)) < 0 || path_join(path, sizeof(path), dir, layer_meta) < 0)
		return -1;
	doc = json_load_file(path, 0, NULL);
	if (!doc) {
		errno = ENOENT;
		return -1;
	}
	info->size = json_integer_value(json_object_get(doc, "size"));
	info->entries = (long)json_integer_value(json_object_get(doc, "entries"));
	json_decref(doc);
	return 0;
}

static int write_layer_meta(const char *dir, const struct layer_result *res)
{
	char path[PATH_MAX];
	json_t *doc = json_pack("{s:s, s:I, s:I, s:I}", "diff_id", res->diff_id, "size", (json_int_t)res->file_bytes,
				"tar_size", (json_int_t)res->tar_bytes, "entries", (json_int_t)res->entries);
	int ret;

	if (!doc || path_join(path, sizeof(path), dir, layer_meta) < 0) {
		json_decref(doc);
		return -1;
	}
	ret = json_dump_file(doc, path, JSON_SORT_KEYS);
	json_decref(doc);
	return ret;
}

/* Unpack the blob into temp/diff and check the result is the layer the image config names. */
static int unpack_into(const struct store *s, const char *blob_digest, const char *diff_id, const char *temp,
		       const volatile bool *cancel, struct failure *f)
{
	char path[PATH_MAX], blob[PATH_MAX];
	struct layer_result res;
	struct failure why;
	int root_fd, blob_fd, ret;
	struct stat st;

	if (path_join(path, sizeof(path), temp, layer_tree) < 0 || mkdir(path, 0755) < 0 ||
	    (root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return failed(f, "create %s", path);
	if (store_blob_path(s, blob_digest, blob, sizeof(blob)) < 0 || (blob_fd = open(blob, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(blob_fd, &st) < 0) {
		close(root_fd);
		return failed(f, "open blob %s", blob_digest);
	}
	ret = layer_extract(blob_fd, st.st_size, root_fd, cancel, &res, &why);
	close(blob_fd);
	/* syncfs(2): every file of the layer on disk before the layer gets its name. */
	if (ret == 0 && syncfs(root_fd) < 0)
		ret = failed(&why, "sync %s", path);
	close(root_fd);
	if (ret < 0)
		return failed(f, "layer %s: %s", blob_digest, why.what);
	if (strcmp(res.diff_id, diff_id) != 0) {
		errno = EBADMSG;
		return failed(f, "layer %s unpacks to %s, but the image config says %s", blob_digest, res.diff_id, diff_id);
	}
	if (write_layer_meta(temp, &res) < 0)
		return failed(f, "write %s/%s", temp, layer_meta);
	return 0;
}

/*
 * Unpack a layer blob (already in the store) into layers/sha256/<diffID>,
 * once: if the layer is there, nothing is done. It is unpacked in tmp/ and
 * renamed into place when complete, so a layer directory is either whole
 * or absent. Two boxes unpacking the same layer at once both succeed; one
 * rename wins. cancel, if not NULL, stops the work between entries.
 */
int store_add_layer(const struct store *s, const char *blob_digest, const char *diff_id,
		    const volatile bool *cancel, struct failure *f)
{
	char temp[PATH_MAX], final[PATH_MAX], dir[PATH_MAX];

	if (store_has_layer(s, diff_id))
		return 0;
	if (store_layer_dir(s, diff_id, final, sizeof(final)) < 0 ||
	    format_into(temp, sizeof(temp), "%s/%s/layer-XXXXXX", s->root, temp_dir) < 0 || !mkdtemp(temp))
		return failed(f, "unpack layer %s", diff_id);
	if (unpack_into(s, blob_digest, diff_id, temp, cancel, f) < 0) {
		int err = errno;

		remove_tree(temp);
		errno = err;
		return -1;
	}
	if (rename(temp, final) < 0) {
		int err = errno;

		remove_tree(temp);
		errno = err;
		if (err != EEXIST && err != ENOTEMPTY)
			return failed(f, "move layer into %s", final);
	}
	if (store_path(s, layers_dir, dir, sizeof(dir)) < 0 || sync_dir(dir) < 0)
		return failed(f, "sync %s", dir);
	return 0;
}

/* ---- the index: names -> images ---------------------------------------------------------- */

static int lock_index(const struct store *s, struct failure *f)
{
	char path[PATH_MAX];
	int fd;

	if (store_path(s, index_lock_file, path, sizeof(path)) < 0)
		return failed(f, "lock the index of %s", s->root);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || lock_fd(fd, LOCK_EX) < 0) {
		failed(f, "lock %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* index.json, or an empty index if there is none yet. */
static json_t *read_index(const struct store *s, struct failure *f)
{
	char path[PATH_MAX];
	json_error_t err;
	json_t *doc;

	if (store_path(s, index_file, path, sizeof(path)) < 0) {
		failed(f, "index of %s", s->root);
		return NULL;
	}
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return json_pack("{s:[]}", "images");
	doc = json_load_file(path, 0, &err);
	if (!doc || !json_is_array(json_object_get(doc, "images"))) {
		json_decref(doc);
		errno = EINVAL;
		failed(f, "read %s: %s", path, doc ? "no \"images\" list" : err.text);
		return NULL;
	}
	return doc;
}

/* Temp file, fsync, rename: a reader sees the old index or the new one. */
static int write_index(const struct store *s, json_t *doc, struct failure *f)
{
	char temp[PATH_MAX], path[PATH_MAX];
	int fd;
	FILE *out;

	if (format_into(temp, sizeof(temp), "%s/%s/index-XXXXXX", s->root, temp_dir) < 0 ||
	    store_path(s, index_file, path, sizeof(path)) < 0 || (fd = mkostemp(temp, O_CLOEXEC)) < 0)
		return failed(f, "write the index of %s", s->root);
	out = fdopen(fd, "w");
	if (!out || json_dumpf(doc, out, JSON_INDENT(1) | JSON_SORT_KEYS) < 0 || fflush(out) != 0 ||
	    fsync(fd) < 0 || fchmod(fd, 0644) < 0) {
		failed(f, "write %s", temp);
		if (out)
			fclose(out);
		else
			close(fd);
		unlink(temp);
		return -1;
	}
	fclose(out);
	if (rename(temp, path) < 0 || sync_dir(s->root) < 0) {
		failed(f, "replace %s", path);
		unlink(temp);
		return -1;
	}
	return 0;
}

static json_t *record_to_json(const struct image_record *rec)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "name", rec->name, "tag", rec->tag, "digest",
			 rec->digest, "index_digest", rec->index_digest, "config", rec->config, "created",
			 (json_int_t)rec->created, "size", (json_int_t)rec->size);
}

static void copy_member(char *buf, size_t size, json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	snprintf(buf, size, "%s", s ? s : "");
}

static int record_from_json(json_t *obj, struct image_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	copy_member(rec->name, sizeof(rec->name), obj, "name");
	copy_member(rec->tag, sizeof(rec->tag), obj, "tag");
	copy_member(rec->digest, sizeof(rec->digest), obj, "digest");
	copy_member(rec->index_digest, sizeof(rec->index_digest), obj, "index_digest");
	copy_member(rec->config, sizeof(rec->config), obj, "config");
	rec->created = json_integer_value(json_object_get(obj, "created"));
	rec->size = json_integer_value(json_object_get(obj, "size"));
	if (!rec->name[0] || !is_digest(rec->digest) || !is_digest(rec->config)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Does the record answer to this name? By tag, or (pinned) by manifest or index digest. */
static bool record_matches(const struct image_record *rec, const char *name, const struct reference *ref)
{
	if (strcmp(rec->name, name) != 0)
		return false;
	if (ref->digest[0])
		return strcmp(rec->digest, ref->digest) == 0 || strcmp(rec->index_digest, ref->digest) == 0;
	return strcmp(rec->tag, ref->tag) == 0;
}

/* The same entry: same name and tag, or, without a tag, same name and manifest. */
static bool same_entry(const struct image_record *a, const struct image_record *b)
{
	if (strcmp(a->name, b->name) != 0 || strcmp(a->tag, b->tag) != 0)
		return false;
	return a->tag[0] || strcmp(a->digest, b->digest) == 0;
}

/* Add or replace a name. Its blobs and layers must be in the store already. */
int store_add_image(const struct store *s, const struct image_record *rec, struct failure *f)
{
	int lock = lock_index(s, f);
	json_t *doc, *images, *entry;
	struct image_record old;
	size_t i;
	int ret = -1;

	if (lock < 0)
		return -1;
	doc = read_index(s, f);
	if (doc) {
		images = json_object_get(doc, "images");
		json_array_foreach(images, i, entry) {
			if (record_from_json(entry, &old) == 0 && same_entry(&old, rec)) {
				json_array_remove(images, i);
				break;
			}
		}
		json_array_append_new(images, record_to_json(rec));
		ret = write_index(s, doc, f);
	}
	json_decref(doc);
	close(lock);
	return ret;
}

/* Find a stored image by reference; ENOENT if there is none. */
int store_find_image(const struct store *s, const struct reference *ref, struct image_record *rec)
{
	char name[2 * REF_NAME_MAX + 2];
	struct failure ignored;
	json_t *doc = read_index(s, &ignored), *entry;
	size_t i;
	int ret = -1;

	errno = ENOENT;
	if (!doc || reference_name(ref, name, sizeof(name)) < 0) {
		json_decref(doc);
		return -1;
	}
	json_array_foreach(json_object_get(doc, "images"), i, entry) {
		if (record_from_json(entry, rec) == 0 && record_matches(rec, name, ref)) {
			ret = 0;
			break;
		}
	}
	json_decref(doc);
	if (ret < 0)
		errno = ENOENT;
	return ret;
}

int store_list_images(const struct store *s, struct image_record **recs, size_t *count)
{
	struct failure ignored;
	json_t *doc = read_index(s, &ignored), *images, *entry;
	size_t i;

	*count = 0;
	*recs = NULL;
	if (!doc)
		return -1;
	images = json_object_get(doc, "images");
	*recs = calloc(json_array_size(images) + 1, sizeof(**recs));
	if (!*recs) {
		json_decref(doc);
		return -1;
	}
	json_array_foreach(images, i, entry) {
		if (record_from_json(entry, &(*recs)[*count]) == 0)
			(*count)++;
	}
	json_decref(doc);
	return 0;
}

/* Remove the names that match ref (a tag, or every name of a digest). Run store_gc after. */
int store_remove_image(struct store *s, const struct reference *ref, struct failure *f)
{
	char name[2 * REF_NAME_MAX + 2], text[3 * REF_NAME_MAX];
	int lock = lock_index(s, f), removed = 0, ret = -1;
	json_t *doc, *images;
	struct image_record rec;

	if (lock < 0)
		return -1;
	reference_name(ref, name, sizeof(name));
	doc = read_index(s, f);
	if (doc) {
		images = json_object_get(doc, "images");
		for (size_t i = 0; i < json_array_size(images);) {
			if (record_from_json(json_array_get(images, i), &rec) == 0 && record_matches(&rec, name, ref)) {
				json_array_remove(images, i);
				removed++;
			} else {
				i++;
			}
		}
		reference_string(ref, text, sizeof(text));
		errno = ENOENT;
		ret = removed ? write_index(s, doc, f) : failed(f, "no such image: %s", text);
	}
	json_decref(doc);
	close(lock);
	return ret;
}

/* ---- the build cache: a step's result under its key ---------------------------------------- */

static int cache_path(const struct store *s, const char *key, char *buf, size_t size)
{
	if (!is_digest(key)) {
		errno = EINVAL;
		return -1;
	}
	return format_into(buf, size, "%s/%s/%s", s->root, cache_dir, hex_of(key));
}

/* The entry build.c stored under key (its JSON text), or ENOENT. */
int store_cache_get(const struct store *s, const char *key, char **text)
{
	char path[PATH_MAX];
	size_t len;
	int fd, ret;

	*text = NULL;
	if (cache_path(s, key, path, sizeof(path)) < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	ret = read_all(fd, LAYER_META_MAX * 16, text, &len);
	close(fd);
	return ret;
}

/* Store an entry under key: temp file, fsync, rename, like every name in the store. */
int store_cache_put(const struct store *s, const char *key, const char *text, struct failure *f)
{
	char temp[PATH_MAX], path[PATH_MAX];
	size_t len = strlen(text);
	int fd;

	if (cache_path(s, key, path, sizeof(path)) < 0 ||
	    format_into(temp, sizeof(temp), "%s/%s/cache-XXXXXX", s->root, temp_dir) < 0 ||
	    (fd = mkostemp(temp, O_CLOEXEC)) < 0)
		return failed(f, "store cache entry %s", key);
	if (write(fd, text, len) != (ssize_t)len || fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(temp, path) < 0) {
		failed(f, "store cache entry %s", key);
		close(fd);
		unlink(temp);
		return -1;
	}
	return close(fd);
}

/* ---- garbage collection: mark what the index reaches, sweep the rest ---------------------- */

struct marks {
	char **digests;
	size_t count, cap;
};

static int mark(struct marks *m, const char *digest)
{
	if (!digest[0])
		return 0;
	if (m->count == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		char **d = realloc(m->digests, cap * sizeof(*d));

		if (!d)
			return -1;
		m->digests = d;
		m->cap = cap;
	}
	m->digests[m->count] = strdup(digest);
	return m->digests[m->count++] ? 0 : -1;
}

static bool is_marked(const struct marks *m, const char *hex)
{
	for (size_t i = 0; i < m->count; i++) {
		if (strcmp(hex_of(m->digests[i]), hex) == 0)
			return true;
	}
	return false;
}

static void free_marks(struct marks *m)
{
	for (size_t i = 0; i < m->count; i++)
		free(m->digests[i]);
	free(m->digests);
}

/* Everything one image uses: manifest, index, config, layer blobs, layers (by diffID). */
static int mark_image(const struct store *s, const struct image_record *rec, struct marks *blobs,
		      struct marks *layers, struct failure *f)
{
	struct manifest m;
	struct image_config c;
	char *data;
	size_t len;
	int ret = 0;

	if (mark(blobs, rec->digest) < 0 || mark(blobs, rec->index_digest) < 0 || mark(blobs, rec->config) < 0)
		return failed(f, "mark");
	if (store_read_blob(s, rec->digest, MANIFEST_MAX, &data, &len, f) < 0 || parse_manifest(data, len, &m, f) < 0)
		return -1;
	free(data);
	for (size_t i = 0; i < m.count && ret == 0; i++)
		ret = mark(blobs, m.layers[i].digest);
	free_manifest(&m);
	if (ret < 0 || store_read_blob(s, rec->config, CONFIG_MAX, &data, &len, f) < 0 ||
	    parse_image_config(data, len, &c, f) < 0)
		return -1;
	free(data);
	for (size_t i = 0; i < c.ndiff_ids && ret == 0; i++)
		ret = mark(layers, c.diff_ids[i]);
	free_image_config(&c);
	return ret;
}

/* A layer leaves by rename into tmp/ first: it is never seen half-deleted under its name. */
static int remove_layer(const struct store *s, const char *path)
{
	char temp[PATH_MAX], moved[PATH_MAX];

	if (format_into(temp, sizeof(temp), "%s/%s/gc-XXXXXX", s->root, temp_dir) < 0 || !mkdtemp(temp) ||
	    path_join(moved, sizeof(moved), temp, "layer") < 0 || rename(path, moved) < 0)
		return -1;
	return remove_tree(temp);
}

/* Remove every entry of dir (blobs or layers) that is not marked. */
static int sweep(struct store *s, const char *dir_name, const struct marks *m, bool layers, int *removed,
		 struct failure *f)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *d;
	DIR *dir_stream;
	int ret = 0;

	if (store_path(s, dir_name, dir, sizeof(dir)) < 0 || !(dir_stream = opendir(dir)))
		return failed(f, "open %s/%s", s->root, dir_name);
	while ((d = readdir(dir_stream))) {
		if (strlen(d->d_name) != DIGEST_HEX_LEN || is_marked(m, d->d_name))
			continue;
		if (path_join(path, sizeof(path), dir, d->d_name) < 0 ||
		    (layers ? remove_layer(s, path) : unlink(path)) < 0)
			ret = failed(f, "remove %s", path);
		else
			(*removed)++;
	}
	closedir(dir_stream);
	return ret;
}

/*
 * The build cache pins what its steps made: each entry's layer blob
 * ("layer": {"digest": ..}) and unpacked layer ("diff_id"), so that gc
 * keeps a builder stage's layers that no named image uses.
 */
static int mark_cache(const struct store *s, struct marks *blobs, struct marks *layers, struct failure *f)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *d;
	DIR *stream;
	int ret = 0;

	if (store_path(s, cache_dir, dir, sizeof(dir)) < 0 || !(stream = opendir(dir)))
		return errno == ENOENT ? 0 : failed(f, "open %s/%s", s->root, cache_dir);
	while (ret == 0 && (d = readdir(stream))) {
		json_t *entry;
		const char *blob, *diff_id;

		if (strlen(d->d_name) != DIGEST_HEX_LEN || path_join(path, sizeof(path), dir, d->d_name) < 0 ||
		    !(entry = json_load_file(path, 0, NULL)))
			continue;
		blob = json_string_value(json_object_get(json_object_get(entry, "layer"), "digest"));
		diff_id = json_string_value(json_object_get(entry, "diff_id"));
		if ((blob && is_digest(blob) && mark(blobs, blob) < 0) || (diff_id && is_digest(diff_id) && mark(layers, diff_id) < 0))
			ret = failed(f, "mark");
		json_decref(entry);
	}
	closedir(stream);
	return ret;
}

/*
 * Remove every blob and layer no name in the index reaches. The caller
 * holds the store exclusively (STORE_EXCLUSIVE): no pull is between
 * storing a blob and naming it. If any image cannot be read, nothing is
 * removed: better a full disk than a broken image.
 */
int store_gc(struct store *s, struct gc_stats *stats, struct failure *f)
{
	struct marks blobs = { 0 }, layers = { 0 };
	struct image_record *recs;
	size_t count;
	int ret = 0;

	memset(stats, 0, sizeof(*stats));
	if (store_list_images(s, &recs, &count) < 0)
		return failed(f, "read the index of %s", s->root);
	for (size_t i = 0; i < count && ret == 0; i++)
		ret = mark_image(s, &recs[i], &blobs, &layers, f);
	free(recs);
	if (ret == 0)
		ret = mark_cache(s, &blobs, &layers, f);
	if (ret == 0)
		ret = sweep(s, blobs_dir, &blobs, false, &stats->blobs_removed, f);
	if (ret == 0)
		ret = sweep(s, layers_dir, &layers, true, &stats->layers_removed, f);
	free_marks(&blobs);
	free_marks(&layers);
	return ret;
}

/* ---- a stored image, for run ------------------------------------------------------------- */

static int read_image_documents(const struct store *s, struct image *img, struct manifest *m, struct failure *f)
{
	char *data;
	size_t len;
	int ret;

	if (store_read_blob(s, img->record.digest, MANIFEST_MAX, &data, &len, f) < 0)
		return -1;
	ret = parse_manifest(data, len, m, f);
	free(data);
	if (ret < 0 || store_read_blob(s, img->record.config, CONFIG_MAX, &data, &len, f) < 0)
		return -1;
	ret = parse_image_config(data, len, &img->config, f);
	free(data);
	if (ret == 0 && img->config.ndiff_ids != m->count) {
		errno = EINVAL;
		ret = failed(f, "image %s: its config lists %zu layers, its manifest %zu", img->record.digest,
			     img->config.ndiff_ids, m->count);
	}
	return ret;
}

/* Each layer's directory, bottom first; every one must be there. */
static int find_layers(const struct store *s, struct image *img, struct failure *f)
{
	char dir[PATH_MAX], path[PATH_MAX];

	img->layers = calloc(img->config.ndiff_ids + 1, sizeof(*img->layers));
	if (!img->layers)
		return failed(f, "list layers");
	for (size_t i = 0; i < img->config.ndiff_ids; i++) {
		const char *diff_id = img->config.diff_ids[i];

		if (store_layer_dir(s, diff_id, dir, sizeof(dir)) < 0 || path_join(path, sizeof(path), dir, layer_tree) < 0 ||
		    access(path, F_OK) < 0)
			return failed(f, "layer %s of %s is missing from the store (pull the image again)", diff_id,
				      img->record.name);
		img->layers[i] = strdup(path);
		if (!img->layers[i])
			return failed(f, "list layers");
		img->nlayers++;
	}
	return 0;
}

/* A stored image, ready to run: its layer directories bottom to top and its config parsed. */
int store_open_image(const struct store *s, const struct reference *ref, struct image *img, struct failure *f)
{
	char text[3 * REF_NAME_MAX];
	struct manifest m = { 0 };
	int ret;

	memset(img, 0, sizeof(*img));
	if (store_find_image(s, ref, &img->record) < 0) {
		reference_string(ref, text, sizeof(text));
		return failed(f, "no such image: %s", text);
	}
	ret = read_image_documents(s, img, &m, f);
	free_manifest(&m);
	if (ret == 0)
		ret = find_layers(s, img, f);
	if (ret < 0)
		free_image(img);
	return ret;
}

void free_image(struct image *img)
{
	for (size_t i = 0; i < img->nlayers; i++)
		free(img->layers[i]);
	free(img->layers);
	free_image_config(&img->config);
	memset(img, 0, sizeof(*img));
}

/* ---- 'box images' ------------------------------------------------------------------------ */

/* Sizes as docker prints them: decimal units, three significant digits ("4.26MB"). */
void format_size(long long bytes, char *buf, size_t size)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)bytes;
	size_t i = 0;

	/* 999.5 would print as "1e+03" at three digits: it is the next unit already. */
	while (v >= 999.5 && i + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000;
		i++;
	}
	snprintf(buf, size, "%.3g%s", v, units[i]);
}

/* "2 minutes ago", as docker's go-units HumanDuration says it. */
void format_ago(time_t then, time_t now, char *buf, size_t size)
{
	long long s = (long long)(now - then), minutes = s / 60, hours = (s + 1800) / 3600;

	if (then <= 0)
		snprintf(buf, size, "N/A");
	else if (s < 1)
		snprintf(buf, size, "Less than a second ago");
	else if (s == 1)
		snprintf(buf, size, "1 second ago");
	else if (s < 60)
		snprintf(buf, size, "%lld seconds ago", s);
	else if (minutes == 1)
		snprintf(buf, size, "About a minute ago");
	else if (minutes < 60)
		snprintf(buf, size, "%lld minutes ago", minutes);
	else if (hours == 1)
		snprintf(buf, size, "About an hour ago");
	else if (hours < 48)
		snprintf(buf, size, "%lld hours ago", hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, size, "%lld days ago", hours / 24);
	else if (hours < 24 * 30 * 2)
		snprintf(buf, size, "%lld weeks ago", hours / 24 / 7);
	else if (hours < 24 * 365 * 2)
		snprintf(buf, size, "%lld months ago", hours / 24 / 30);
	else
		snprintf(buf, size, "%lld years ago", s / 3600 / 24 / 365);
}

enum { IMAGE_COLUMNS = 5, CELL_MAX = 2 * REF_NAME_MAX + 2 };

/* The cells of one row of 'box images'. */
static void image_row(const struct image_record *rec, time_t now, char cells[IMAGE_COLUMNS][CELL_MAX])
{
	familiar_name(rec->name, cells[0], CELL_MAX);
	snprintf(cells[1], CELL_MAX, "%s", rec->tag[0] ? rec->tag : "<none>");
	snprintf(cells[2], CELL_MAX, "%.*s", IMAGE_ID_LEN, hex_of(rec->config));
	format_ago((time_t)rec->created, now, cells[3], CELL_MAX);
	format_size(rec->size, cells[4], CELL_MAX);
}

static int newest_first(const void *a, const void *b)
{
	const struct image_record *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? 1 : -1;
	return strcmp(x->name, y->name);
}

/*
 * The table docker prints: each column as wide as its widest cell plus 3,
 * at least 10 (docker's tabwriter settings), the last one unpadded.
 */
int print_images(FILE *out, const struct image_record *recs, size_t count, time_t now)
{
	static const char *const header[IMAGE_COLUMNS] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" };
	char (*rows)[IMAGE_COLUMNS][CELL_MAX] = calloc(count + 1, sizeof(*rows));
	struct image_record *sorted = calloc(count + 1, sizeof(*sorted));
	int width[IMAGE_COLUMNS];

	if (!rows || !sorted) {
		free(rows);
		free(sorted);
		return -1;
	}
	memcpy(sorted, recs, count * sizeof(*recs));
	qsort(sorted, count, sizeof(*sorted), newest_first);
	for (int c = 0; c < IMAGE_COLUMNS; c++) {
		snprintf(rows[0][c], CELL_MAX, "%s", header[c]);
		width[c] = 10;
	}
	for (size_t r = 0; r < count; r++)
		image_row(&sorted[r], now, rows[r + 1]);
	for (size_t r = 0; r <= count; r++) {
		for (int c = 0; c < IMAGE_COLUMNS; c++) {
			if ((int)strlen(rows[r][c]) + 3 > width[c])
				width[c] = (int)strlen(rows[r][c]) + 3;
		}
	}
	for (size_t r = 0; r <= count; r++) {
		for (int c = 0; c < IMAGE_COLUMNS; c++) {
			if (c + 1 < IMAGE_COLUMNS)
				fprintf(out, "%-*s", width[c], rows[r][c]);
			else
				fprintf(out, "%s\n", rows[r][c]);
		}
	}
	free(rows);
	free(sorted);
	return ferror(out) ? -1 : 0;
}
