/*
 * archive.c - 'box save' and 'box load': images as one tar file, for
 * machines that no registry reaches.
 *
 * save writes an OCI image layout (image-spec image-layout.md) as a tar:
 *
 *     oci-layout              {"imageLayoutVersion": "1.0.0"}
 *     index.json              an image index: one manifest descriptor per image, its name in the
 *                             annotations org.opencontainers.image.ref.name (OCI; skopeo matches
 *                             oci-archive:FILE:NAME against it) and io.containerd.image.name (what
 *                             containerd, docker and podman load read first)
 *     manifest.json           the same images for docker-archive readers (docker load, skopeo
 *                             docker-archive:): [{"Config": PATH, "RepoTags": [..], "Layers": [PATH..]}]
 *     blobs/sha256/<hex>      every manifest, config and layer blob, once, byte for byte the store's
 *
 * load reads that, or a docker-archive (`docker save`, `podman save`:
 * manifest.json naming config and layer files, such as "<id>/layer.tar").
 * Everything in the file is a stranger's, like a registry's answer, and is
 * checked the same way: each file is streamed into the store and named by
 * what it hashes to, so a blob whose name says another digest is refused;
 * layers are unpacked by layer.c (whose diffIDs must match the config, and
 * whose entries cannot leave the layer); an image is named in the index
 * only when all of it is in the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "box.h"

static const char layout_file[] = "oci-layout";
static const char index_file[] = "index.json";
static const char docker_manifest_file[] = "manifest.json";
static const char blobs_prefix[] = "blobs/sha256/";
static const char oci_index_type[] = "application/vnd.oci.image.index.v1+json";
static const char oci_manifest_type[] = "application/vnd.oci.image.manifest.v1+json";
static const char oci_config_type[] = "application/vnd.oci.image.config.v1+json";
static const char ref_name_key[] = "org.opencontainers.image.ref.name";
static const char containerd_name_key[] = "io.containerd.image.name";

enum {
	METADATA_MAX = 4 * 1024 * 1024,	/* index.json, manifest.json: small documents, read whole */
	BLOCK_SIZE = 64 * 1024,
	FILE_MODE = 0644,
	DIR_MODE = 0755,
};

/* ---- save ------------------------------------------------------------------------------------- */

struct saver {
	const struct store *store;
	struct archive *tar;
	char (*written)[DIGEST_LEN + 1];	/* blobs in the tar already: each goes once */
	size_t nwritten, cap;
	char block[BLOCK_SIZE];
};

/* A header with fixed owner and time: the same images give the same file. */
static int write_header(struct saver *sv, const char *name, mode_t type, long long size)
{
	struct archive_entry *e = archive_entry_new();
	int ret;

	if (!e)
		return -1;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? DIR_MODE : FILE_MODE);
	archive_entry_set_size(e, size);
	archive_entry_set_mtime(e, 0, 0);
	ret = archive_write_header(sv->tar, e) == ARCHIVE_OK ? 0 : -1;
	archive_entry_free(e);
	return ret;
}

/* A small file from memory (oci-layout, index.json, manifest.json). */
static int write_text(struct saver *sv, const char *name, const char *text)
{
	size_t len = strlen(text);

	if (write_header(sv, name, AE_IFREG, (long long)len) < 0)
		return -1;
	return archive_write_data(sv->tar, text, len) == (la_ssize_t)len ? 0 : -1;
}

static bool already_written(const struct saver *sv, const char *digest)
{
	for (size_t i = 0; i < sv->nwritten; i++) {
		if (strcmp(sv->written[i], digest) == 0)
			return true;
	}
	return false;
}

/* blobs/sha256/<hex>: the store's bytes, as they are. */
static int write_blob(struct saver *sv, const struct descriptor *d, struct failure *f)
{
	char path[PATH_MAX], name[sizeof(blobs_prefix) + DIGEST_HEX_LEN];
	ssize_t n;
	int fd;

	if (already_written(sv, d->digest))
		return 0;
	if (sv->nwritten == sv->cap) {
		void *grown = realloc(sv->written, (sv->cap = sv->cap ? 2 * sv->cap : 16) * sizeof(*sv->written));

		if (!grown)
			return failed(f, "save blob %s", d->digest);
		sv->written = grown;
	}
	snprintf(sv->written[sv->nwritten++], DIGEST_LEN + 1, "%s", d->digest);
	snprintf(name, sizeof(name), "%s%s", blobs_prefix, d->digest + strlen("sha256:"));
	if (store_blob_path(sv->store, d->digest, path, sizeof(path)) < 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return failed(f, "blob %s is not in the store", d->digest);
	if (write_header(sv, name, AE_IFREG, d->size) < 0) {
		close(fd);
		return failed(f, "write %s: %s", name, archive_error_string(sv->tar));
	}
	while ((n = read(fd, sv->block, sizeof(sv->block))) > 0) {
		if (archive_write_data(sv->tar, sv->block, (size_t)n) != n)
			break;
	}
	close(fd);
	if (n != 0)
		return failed(f, "write %s", name);
	return 0;
}

/* One image: where its name goes, and its blobs into the tar. */
struct saved_image {
	struct image_record rec;
	struct manifest m;
	char name[3 * REF_NAME_MAX];	/* "127.0.0.1:5000/app:v1", as the reference is written canonically */
	char media_type[MEDIA_TYPE_MAX];
	char digest[DIGEST_LEN + 1];	/* of the manifest in the file: the store's, or its OCI translation */
	long long manifest_size;
	char *converted;	/* the OCI translation of a Docker manifest, or NULL */
};

/* A Docker media type's OCI name for the same bytes (image-spec media-types.md, "Compatibility Matrix"). */
static const char *oci_type_of(const char *type)
{
	static const char *const names[][2] = {
		{ "application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json" },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.oci.image.layer.v1.tar+gzip" },
		{ "application/vnd.docker.image.rootfs.diff.tar", "application/vnd.oci.image.layer.v1.tar" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(type, names[i][0]) == 0)
			return names[i][1];
	}
	return type;
}

static json_t *oci_descriptor(const struct descriptor *d)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", oci_type_of(d->media_type), "digest", d->digest, "size",
			 (json_int_t)d->size);
}

/*
 * An OCI layout holds OCI manifests (skopeo and podman skip any other
 * descriptor in index.json), so a Docker schema 2 image is written with
 * its manifest translated: the same config and layer bytes, OCI's names
 * for them. The image ID (the config's digest) stays; the manifest's changes.
 */
static int convert_to_oci(struct saved_image *img, struct failure *f)
{
	json_t *layers = json_array(), *doc;

	for (size_t i = 0; layers && i < img->m.count; i++)
		json_array_append_new(layers, oci_descriptor(&img->m.layers[i]));
	doc = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType", oci_manifest_type, "config",
			oci_descriptor(&img->m.config), "layers", layers);
	img->converted = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (!img->converted)
		return failed(f, "translate the manifest of %s", img->name);
	img->manifest_size = (long long)strlen(img->converted);
	digest_of(img->converted, strlen(img->converted), img->digest);
	snprintf(img->media_type, sizeof(img->media_type), "%s", oci_manifest_type);
	return 0;
}

static int read_saved_image(const struct store *s, const char *text, struct saved_image *img, struct failure *f)
{
	struct reference ref;
	char *data;
	size_t len;
	int ret;

	if (parse_reference(text, &ref, f) < 0)
		return -1;
	if (store_find_image(s, &ref, &img->rec) < 0)
		return failed(f, "no such image: %s", text);
	reference_string(&ref, img->name, sizeof(img->name));
	if (store_read_blob(s, img->rec.digest, MANIFEST_MAX, &data, &len, f) < 0)
		return -1;
	img->manifest_size = (long long)len;
	snprintf(img->digest, sizeof(img->digest), "%s", img->rec.digest);
	manifest_kind(NULL, data, len, img->media_type, sizeof(img->media_type));
	if (!img->media_type[0])
		snprintf(img->media_type, sizeof(img->media_type), "%s", oci_manifest_type);
	ret = parse_manifest(data, len, &img->m, f);
	free(data);
	if (ret == 0 && strcmp(img->media_type, oci_manifest_type) != 0)
		ret = convert_to_oci(img, f);
	return ret;
}

static int write_image_blobs(struct saver *sv, const struct saved_image *img, struct failure *f)
{
	struct descriptor manifest = { .size = img->manifest_size };
	char name[sizeof(blobs_prefix) + DIGEST_HEX_LEN];

	snprintf(manifest.digest, sizeof(manifest.digest), "%s", img->digest);
	for (size_t i = 0; i < img->m.count; i++) {
		if (write_blob(sv, &img->m.layers[i], f) < 0)
			return -1;
	}
	if (write_blob(sv, &img->m.config, f) < 0)
		return -1;
	if (!img->converted)
		return write_blob(sv, &manifest, f);
	/* The translated manifest is not in the store: it goes from memory. */
	snprintf(name, sizeof(name), "%s%s", blobs_prefix, img->digest + strlen("sha256:"));
	if (already_written(sv, img->digest))
		return 0;
	return write_text(sv, name, img->converted) < 0 ? failed(f, "write %s", name) : 0;
}

/* index.json: each image's manifest descriptor, with its name in both annotations. */
static char *index_json(const struct saved_image *imgs, size_t count)
{
	json_t *manifests = json_array(), *doc;
	char *text;

	for (size_t i = 0; manifests && i < count; i++)
		json_array_append_new(manifests, json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", imgs[i].media_type,
							   "digest", imgs[i].digest, "size",
							   (json_int_t)imgs[i].manifest_size, "annotations",
							   containerd_name_key, imgs[i].name, ref_name_key, imgs[i].name));
	doc = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", oci_index_type, "manifests", manifests);
	text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	return text;
}

static json_t *blob_path_json(const char *digest)
{
	char path[sizeof(blobs_prefix) + DIGEST_HEX_LEN];

	snprintf(path, sizeof(path), "%s%s", blobs_prefix, digest + strlen("sha256:"));
	return json_string(path);
}

/* manifest.json, docker's: config and layer paths, and the familiar names ("busybox:latest"). */
static char *docker_manifest_json(const struct saved_image *imgs, size_t count)
{
	json_t *doc = json_array();
	char familiar[3 * REF_NAME_MAX];
	char *text;

	for (size_t i = 0; doc && i < count; i++) {
		json_t *layers = json_array();

		for (size_t k = 0; layers && k < imgs[i].m.count; k++)
			json_array_append_new(layers, blob_path_json(imgs[i].m.layers[k].digest));
		familiar_name(imgs[i].rec.name, familiar, sizeof(familiar));
		if (imgs[i].rec.tag[0] && strlen(familiar) + strlen(imgs[i].rec.tag) + 2 < sizeof(familiar))
			strcat(strcat(familiar, ":"), imgs[i].rec.tag);
		json_array_append_new(doc, json_pack("{s:o, s:[s], s:o}", "Config", blob_path_json(imgs[i].m.config.digest),
						     "RepoTags", familiar, "Layers", layers));
	}
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

/* The documents first (a streaming reader meets the index before the blobs), then every blob once. */
static int write_layout(struct saver *sv, const struct saved_image *imgs, size_t count, struct failure *f)
{
	char *index = index_json(imgs, count), *docker = docker_manifest_json(imgs, count);
	int ret = -1;

	if (!index || !docker)
		failed(f, "write index.json");
	else if (write_text(sv, layout_file, "{\"imageLayoutVersion\":\"1.0.0\"}") < 0 ||
		 write_text(sv, index_file, index) < 0 || write_text(sv, docker_manifest_file, docker) < 0 ||
		 write_header(sv, "blobs/", AE_IFDIR, 0) < 0 || write_header(sv, "blobs/sha256/", AE_IFDIR, 0) < 0)
		failed(f, "write the layout: %s", archive_error_string(sv->tar));
	else
		ret = 0;
	for (size_t i = 0; ret == 0 && i < count; i++)
		ret = write_image_blobs(sv, &imgs[i], f);
	free(index);
	free(docker);
	return ret;
}

static int open_output(struct saver *sv, const char *temp, int *fd)
{
	*fd = mkostemp((char *)temp, O_CLOEXEC);
	if (*fd < 0)
		return -1;
	sv->tar = archive_write_new();
	if (!sv->tar || archive_write_set_format_pax_restricted(sv->tar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(sv->tar, 0) != ARCHIVE_OK || archive_write_open_fd(sv->tar, *fd) != ARCHIVE_OK)
		return -1;
	return 0;
}

/* The tar is finished, flushed and synced under a temp name, then renamed: a failed save leaves no half file. */
static int finish_output(struct saver *sv, int fd, const char *temp, const char *path)
{
	int ret = archive_write_close(sv->tar) == ARCHIVE_OK && fchmod(fd, FILE_MODE) == 0 && fsync(fd) == 0 ? 0 : -1;

	if (ret == 0)
		ret = rename(temp, path);
	return ret;
}

/* 'box save -o PATH IMAGE...': the images as one OCI layout tar at path. */
int save_images(const struct store *s, char *const names[], size_t count, const char *path, struct failure *f)
{
	struct saved_image *imgs = calloc(count + 1, sizeof(*imgs));
	struct saver sv = { .store = s };
	char temp[PATH_MAX];
	int fd = -1, ret = imgs ? 0 : failed(f, "save");

	for (size_t i = 0; ret == 0 && i < count; i++)
		ret = read_saved_image(s, names[i], &imgs[i], f);
	if (ret == 0 && (format_into(temp, sizeof(temp), "%s.XXXXXX", path) < 0 || open_output(&sv, temp, &fd) < 0))
		ret = failed(f, "create %s", path);
	if (ret == 0)
		ret = write_layout(&sv, imgs, count, f);
	if (ret == 0 && finish_output(&sv, fd, temp, path) < 0)
		ret = failed(f, "write %s", path);
	if (fd >= 0) {
		close(fd);
		if (ret < 0)
			unlink(temp);
	}
	if (sv.tar)
		archive_write_free(sv.tar);
	for (size_t i = 0; imgs && i < count; i++) {
		free_manifest(&imgs[i].m);
		free(imgs[i].converted);
	}
	free(imgs);
	free(sv.written);
	return ret;
}

/* ---- load: reading the tar ------------------------------------------------------------------------ */

/* A file of the archive: where its bytes went (a blob named by their hash), or what it links to. */
struct member {
	char *name;		/* cleaned: no "./", no trailing "/" */
	char *link;		/* a symlink's or hard link's target, cleaned, else NULL */
	char digest[DIGEST_LEN + 1];
	long long size;
};

struct loader {
	const struct store *store;
	const char *path;
	struct archive *tar;
	struct member *members;
	size_t count, cap;
	char *index;		/* index.json, or NULL */
	char *docker_manifest;	/* manifest.json, or NULL */
	char block[BLOCK_SIZE];
};

/* "./blobs//sha256/x" -> "blobs/sha256/x"; names are only compared, never used as paths. */
static char *clean_name(const char *name)
{
	char *out = malloc(strlen(name) + 1), *o = out;

	for (const char *p = name; out && *p;) {
		size_t len = strcspn(p, "/");

		if (len && !(len == 1 && p[0] == '.')) {
			if (o != out)
				*o++ = '/';
			memcpy(o, p, len);
			o += len;
		}
		p += len;
		p += strspn(p, "/");
	}
	if (out)
		*o = '\0';
	return out;
}

/* A symlink's target is relative to the link's directory ("../abc/layer.tar", as docker save writes). */
static char *link_target(const char *member, const char *target, bool symbolic)
{
	char dir[PATH_MAX], joined[2 * PATH_MAX];

	if (!symbolic || target[0] == '/')
		return clean_name(target);
	snprintf(dir, sizeof(dir), "%s", member);
	snprintf(joined, sizeof(joined), "%s/%s", strchr(dir, '/') ? dirname(dir) : "", target);
	/* Resolve ".." by name: "a/../b" -> "b". Names outside the archive simply match nothing. */
	for (char *dots; (dots = strstr(joined, "/../"));) {
		char *start = dots;

		while (start > joined && start[-1] != '/')
			start--;
		memmove(start, dots + 4, strlen(dots + 4) + 1);
	}
	return clean_name(joined);
}

static struct member *add_member(struct loader *l, const char *name)
{
	struct member *m;

	if (l->count == l->cap) {
		void *grown = realloc(l->members, (l->cap = l->cap ? 2 * l->cap : 32) * sizeof(*l->members));

		if (!grown)
			return NULL;
		l->members = grown;
	}
	m = &l->members[l->count];
	memset(m, 0, sizeof(*m));
	m->name = clean_name(name);
	if (!m->name)
		return NULL;
	l->count++;
	return m;
}

/* A small document of the layout, read whole. */
static int read_document(struct loader *l, char **text, struct failure *f)
{
	size_t len = 0;
	la_ssize_t n;

	free(*text);
	*text = malloc(METADATA_MAX + 1);
	if (!*text)
		return failed(f, "read %s", l->path);
	while ((n = archive_read_data(l->tar, *text + len, METADATA_MAX - len)) > 0) {
		len += (size_t)n;
		if (len == METADATA_MAX) {
			errno = EFBIG;
			return failed(f, "%s: a document larger than %d bytes", l->path, METADATA_MAX);
		}
	}
	(*text)[len] = '\0';
	return n < 0 ? failed(f, "read %s: %s", l->path, archive_error_string(l->tar)) : 0;
}

/*
 * "blobs/sha256/<hex>" names its content: the bytes must hash to that.
 * (Other names, docker-archive's "<id>/layer.tar", are checked where the
 * documents name their digests.)
 */
static int check_blob_name(const struct member *m, const char *path, struct failure *f)
{
	if (strncmp(m->name, blobs_prefix, strlen(blobs_prefix)) != 0)
		return 0;
	if (strcmp(m->name + strlen(blobs_prefix), m->digest + strlen("sha256:")) == 0)
		return 0;
	errno = EBADMSG;
	return failed(f, "%s: %s does not match its digest (it hashes to %s)", path, m->name, m->digest);
}

/* Any other file: straight into the store, hashed on the way, named by what it is. */
static int read_blob(struct loader *l, struct member *m, struct failure *f)
{
	struct blob_writer w;
	la_ssize_t n;

	if (blob_writer_open(l->store, &w, NULL, -1) < 0)
		return failed(f, "store %s", m->name);
	while ((n = archive_read_data(l->tar, l->block, sizeof(l->block))) > 0) {
		if (blob_writer_write(&w, l->block, (size_t)n) < 0) {
			blob_writer_abort(&w);
			return failed(f, "store %s", m->name);
		}
	}
	if (n < 0) {
		blob_writer_abort(&w);
		errno = EINVAL;
		return failed(f, "read %s: %s", l->path, archive_error_string(l->tar));
	}
	m->size = w.size;
	if (blob_writer_commit(l->store, &w, f) < 0)
		return -1;
	snprintf(m->digest, sizeof(m->digest), "%s", w.digest);
	return check_blob_name(m, l->path, f);
}

static int read_member(struct loader *l, struct archive_entry *e, struct failure *f)
{
	const char *name = archive_entry_pathname(e);
	const char *hardlink = archive_entry_hardlink(e);
	struct member *m;
	char *clean;
	int ret;

	if (!name || archive_entry_filetype(e) == AE_IFDIR)
		return 0;
	clean = clean_name(name);
	if (!clean)
		return failed(f, "read %s", l->path);
	if (strcmp(clean, index_file) == 0 || strcmp(clean, docker_manifest_file) == 0) {
		ret = read_document(l, strcmp(clean, index_file) == 0 ? &l->index : &l->docker_manifest, f);
		free(clean);
		return ret;
	}
	free(clean);
	if (!(m = add_member(l, name)))
		return failed(f, "read %s", l->path);
	if (hardlink || archive_entry_filetype(e) == AE_IFLNK) {
		m->link = link_target(m->name, hardlink ? hardlink : archive_entry_symlink(e), !hardlink);
		return m->link ? 0 : failed(f, "read %s", l->path);
	}
	if (archive_entry_filetype(e) != AE_IFREG)
		return 0;
	return read_blob(l, m, f);
}

/* The whole tar, once: documents kept, every other file stored as a blob. gzip/zstd-compressed tars too. */
static int read_archive(struct loader *l, struct failure *f)
{
	struct archive_entry *e;
	int r, ret = 0;

	l->tar = archive_read_new();
	if (!l->tar)
		return failed(f, "read %s", l->path);
	archive_read_support_filter_gzip(l->tar);
	archive_read_support_filter_zstd(l->tar);
	archive_read_support_format_tar(l->tar);
	if (archive_read_open_filename(l->tar, l->path, BLOCK_SIZE) != ARCHIVE_OK) {
		int err = archive_errno(l->tar);

		/* libarchive says "not a format I know" with EILSEQ (its ARCHIVE_ERRNO_FILE_FORMAT); open(2)'s errors are themselves. */
		errno = err && err != EILSEQ ? err : EINVAL;
		return failed(f, "%s is not a tar archive: %s", l->path, archive_error_string(l->tar));
	}
	while (ret == 0 && (r = archive_read_next_header(l->tar, &e)) == ARCHIVE_OK)
		ret = read_member(l, e, f);
	if (ret == 0 && r != ARCHIVE_EOF) {
		errno = EINVAL;
		ret = failed(f, "%s is not a tar archive: %s", l->path, archive_error_string(l->tar));
	}
	return ret;
}

/* The member by name, links followed (a few times: a loop of links names nothing). */
static const struct member *find_member(const struct loader *l, const char *name)
{
	char *want = clean_name(name);
	const struct member *found = NULL;

	for (int hops = 0; want && hops < 8; hops++) {
		found = NULL;
		for (size_t i = 0; i < l->count && !found; i++) {
			if (strcmp(l->members[i].name, want) == 0)
				found = &l->members[i];
		}
		if (!found || !found->link)
			break;
		free(want);
		want = strdup(found->link);
	}
	free(want);
	return found && !found->link && found->digest[0] ? found : NULL;
}

static const struct member *find_blob(const struct loader *l, const char *digest)
{
	char name[sizeof(blobs_prefix) + DIGEST_HEX_LEN];

	if (!is_digest(digest) || format_into(name, sizeof(name), "%s%s", blobs_prefix, digest + strlen("sha256:")) < 0)
		return NULL;
	return find_member(l, name);
}

/* ---- load: making images of what was read ----------------------------------------------------------- */

static int missing(const struct loader *l, const char *what, const char *digest, struct failure *f)
{
	errno = ENOENT;
	return failed(f, "%s: %s %s is not in the archive", l->path, what, digest);
}

/* Unpack every layer of the image rec->digest names (diffIDs checked against the config, as for a pull). */
static int unpack_image(const struct loader *l, struct image_record *rec, struct failure *f)
{
	struct manifest m;
	struct image_config c;
	char *data;
	size_t len;
	int ret;

	if (store_read_blob(l->store, rec->digest, MANIFEST_MAX, &data, &len, f) < 0)
		return -1;
	ret = parse_manifest(data, len, &m, f);
	free(data);
	if (ret < 0)
		return -1;
	if (!store_has_blob(l->store, m.config.digest) ||
	    store_read_blob(l->store, m.config.digest, CONFIG_MAX, &data, &len, f) < 0) {
		free_manifest(&m);
		return missing(l, "config", m.config.digest, f);
	}
	ret = parse_image_config(data, len, &c, f);
	free(data);
	if (ret == 0 && c.ndiff_ids != m.count) {
		errno = EINVAL;
		ret = failed(f, "%s: image %s lists %zu layers in its config, %zu in its manifest", l->path, rec->digest,
			     c.ndiff_ids, m.count);
	}
	for (size_t i = 0; ret == 0 && i < m.count; i++) {
		if (!store_has_blob(l->store, m.layers[i].digest)) {
			ret = missing(l, "layer", m.layers[i].digest, f);
		} else {
			ret = store_add_layer(l->store, m.layers[i].digest, c.diff_ids[i], NULL, f);
		}
	}
	if (ret == 0) {
		time_t created = 0;
		struct layer_info info;

		snprintf(rec->config, sizeof(rec->config), "%s", m.config.digest);
		if (c.created)
			parse_rfc3339(c.created, &created);
		rec->created = created;
		for (size_t i = 0; i < c.ndiff_ids; i++)
			rec->size += store_read_layer_info(l->store, c.diff_ids[i], &info) == 0 ? info.size : 0;
	}
	free_manifest(&m);
	free_image_config(&c);
	return ret;
}

/* Only now, with all of it in the store, does the image get its names. */
static int name_loaded(const struct loader *l, struct image_record *rec, char *const names[], size_t count, FILE *out,
		       struct failure *f)
{
	for (size_t i = 0; i < count; i++) {
		if (name_image_as(l->store, rec, names[i], f) < 0)
			return -1;
		if (out)
			fprintf(out, "Loaded image: %s%s%s\n", rec->name, rec->tag[0] ? ":" : "", rec->tag);
	}
	return 0;
}

/* The name an OCI layout gives an image: containerd's annotation, else OCI's ref.name; else its ID. */
static void layout_name(json_t *desc, const char *config_digest, char *buf, size_t size)
{
	json_t *annotations = json_object_get(desc, "annotations");
	const char *name = json_string_value(json_object_get(annotations, containerd_name_key));
	struct reference ref;

	if (!name)
		name = json_string_value(json_object_get(annotations, ref_name_key));
	if (name && parse_reference(name, &ref, NULL) == 0 && !ref.digest[0])
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "localhost/%.*s", IMAGE_ID_LEN, config_digest + strlen("sha256:"));
}

/* The platform's manifest, if index.json points to an index (a multi-platform image); this machine's. */
static int choose_from_index(const struct loader *l, const char *data, size_t len, char *out, struct failure *f)
{
	struct image_index index;
	struct descriptor chosen;
	struct platform want;
	int ret;

	if (host_platform(&want) < 0)
		return failed(f, "uname");
	if (parse_index(data, len, &index, f) < 0)
		return -1;
	ret = choose_platform(&index, &want, &chosen, f);
	free_index(&index);
	if (ret < 0)
		return -1;
	snprintf(out, DIGEST_LEN + 1, "%s", chosen.digest);
	return find_blob(l, chosen.digest) ? 0 : missing(l, "manifest", chosen.digest, f);
}

/* The image manifest a descriptor of index.json leads to (out gets its digest). */
static int layout_manifest(const struct loader *l, const char *digest, char *out, struct failure *f)
{
	char media_type[MEDIA_TYPE_MAX];
	char *data;
	size_t len;
	int ret = 0;

	snprintf(out, DIGEST_LEN + 1, "%s", digest);
	if (!find_blob(l, digest))
		return missing(l, "manifest", digest, f);
	if (store_read_blob(l->store, digest, MANIFEST_MAX, &data, &len, f) < 0)
		return -1;
	if (manifest_kind(NULL, data, len, media_type, sizeof(media_type)) == KIND_INDEX)
		ret = choose_from_index(l, data, len, out, f);
	free(data);
	return ret;
}

/* An OCI layout: each manifest of index.json becomes an image. */
static int load_layout(const struct loader *l, FILE *out, struct failure *f)
{
	json_t *doc = json_loads(l->index, 0, NULL), *desc;
	json_t *manifests = json_object_get(doc, "manifests");
	size_t i;
	int ret = 0;

	if (!json_is_array(manifests)) {
		json_decref(doc);
		errno = EINVAL;
		return failed(f, "%s: index.json has no \"manifests\" list", l->path);
	}
	json_array_foreach(manifests, i, desc) {
		const char *digest = json_string_value(json_object_get(desc, "digest"));
		struct image_record rec = { 0 };
		char name[3 * REF_NAME_MAX], *names[] = { name };

		if (ret < 0)
			break;
		if (!digest || !is_digest(digest)) {
			errno = EINVAL;
			ret = failed(f, "%s: index.json names a manifest by \"%s\"", l->path, digest ? digest : "");
			break;
		}
		ret = layout_manifest(l, digest, rec.digest, f);
		if (ret == 0)
			ret = unpack_image(l, &rec, f);
		if (ret == 0) {
			layout_name(desc, rec.config, name, sizeof(name));
			ret = name_loaded(l, &rec, names, 1, out, f);
		}
	}
	json_decref(doc);
	return ret;
}

/* What a layer file of a docker-archive is, by its first bytes: gzip (1f 8b), zstd (28 b5 2f fd), or plain tar. */
static const char *sniff_layer_type(const struct store *s, const char *digest)
{
	static const unsigned char gzip_magic[] = { 0x1f, 0x8b }, zstd_magic[] = { 0x28, 0xb5, 0x2f, 0xfd };
	unsigned char head[4] = { 0 };
	char path[PATH_MAX];
	int fd;

	if (store_blob_path(s, digest, path, sizeof(path)) == 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (read(fd, head, sizeof(head)) < 0)
			head[0] = 0;
		close(fd);
	}
	if (memcmp(head, gzip_magic, sizeof(gzip_magic)) == 0)
		return "application/vnd.oci.image.layer.v1.tar+gzip";
	if (memcmp(head, zstd_magic, sizeof(zstd_magic)) == 0)
		return "application/vnd.oci.image.layer.v1.tar+zstd";
	return "application/vnd.oci.image.layer.v1.tar";
}

static json_t *member_descriptor(const struct loader *l, const struct member *m, const char *media_type)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type ? media_type : sniff_layer_type(l->store, m->digest),
			 "digest", m->digest, "size", (json_int_t)m->size);
}

/*
 * docker's "Config" is named by the config's digest ("<hex>.json", or
 * blobs/sha256/<hex> since docker 25): the name must be what it hashes to.
 */
static int check_config_name(const struct loader *l, const char *name, const struct member *m, struct failure *f)
{
	char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : (char *)name;
	size_t hex = strspn(base, "0123456789abcdef");

	if (hex != DIGEST_HEX_LEN || strncmp(base, m->digest + strlen("sha256:"), DIGEST_HEX_LEN) == 0)
		return 0;
	errno = EBADMSG;
	return failed(f, "%s: config %s does not match its name (it hashes to %s)", l->path, name, m->digest);
}

/* A docker-archive entry: a manifest (OCI) made for it from the config and layer files it names. */
static int docker_entry_manifest(const struct loader *l, json_t *entry, struct image_record *rec, struct failure *f)
{
	const char *config_name = json_string_value(json_object_get(entry, "Config"));
	const struct member *config = config_name ? find_member(l, config_name) : NULL, *layer;
	json_t *layers = json_array(), *item, *doc;
	size_t i;
	char *text;
	int ret;

	if (!config || !layers) {
		json_decref(layers);
		errno = ENOENT;
		return failed(f, "%s: manifest.json names a config \"%s\" that is not there", l->path,
			      config_name ? config_name : "");
	}
	if (check_config_name(l, config_name, config, f) < 0) {
		json_decref(layers);
		return -1;
	}
	json_array_foreach(json_object_get(entry, "Layers"), i, item) {
		layer = json_string_value(item) ? find_member(l, json_string_value(item)) : NULL;
		if (!layer) {
			json_decref(layers);
			errno = ENOENT;
			return failed(f, "%s: manifest.json names a layer \"%s\" that is not there", l->path,
				      json_string_value(item) ? json_string_value(item) : "");
		}
		json_array_append_new(layers, member_descriptor(l, layer, NULL));
	}
	doc = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType", oci_manifest_type, "config",
			member_descriptor(l, config, oci_config_type), "layers", layers);
	text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (!text)
		return failed(f, "%s: make a manifest", l->path);
	digest_of(text, strlen(text), rec->digest);
	ret = store_put_blob(l->store, rec->digest, text, strlen(text), f);
	free(text);
	return ret;
}

/* A docker-archive: manifest.json's entries, each named by its RepoTags. */
static int load_docker_archive(const struct loader *l, FILE *out, struct failure *f)
{
	json_t *doc = json_loads(l->docker_manifest, 0, NULL), *entry, *tag;
	size_t i, k;
	int ret = json_is_array(doc) ? 0 : -1;

	if (ret < 0) {
		errno = EINVAL;
		failed(f, "%s: manifest.json is not a list of images", l->path);
	}
	json_array_foreach(doc, i, entry) {
		struct image_record rec = { 0 };
		char *names[16], id_name[64];
		size_t n = 0;

		if (ret < 0)
			break;
		ret = docker_entry_manifest(l, entry, &rec, f);
		if (ret == 0)
			ret = unpack_image(l, &rec, f);
		json_array_foreach(json_object_get(entry, "RepoTags"), k, tag) {
			if (n < sizeof(names) / sizeof(names[0]) && json_string_value(tag))
				names[n++] = (char *)json_string_value(tag);
		}
		if (ret == 0 && n == 0) {
			snprintf(id_name, sizeof(id_name), "localhost/%.*s", IMAGE_ID_LEN, rec.config + strlen("sha256:"));
			names[n++] = id_name;
		}
		if (ret == 0)
			ret = name_loaded(l, &rec, names, n, out, f);
	}
	json_decref(doc);
	return ret;
}

static void free_loader(struct loader *l)
{
	for (size_t i = 0; i < l->count; i++) {
		free(l->members[i].name);
		free(l->members[i].link);
	}
	free(l->members);
	free(l->index);
	free(l->docker_manifest);
	if (l->tar)
		archive_read_free(l->tar);
}

/*
 * 'box load -i PATH': the images of an OCI layout tar or a docker-archive
 * into the store s (opened STORE_SHARED), named as the file says. A line
 * "Loaded image: NAME" goes to out (if not NULL) for each name.
 */
int load_images(const struct store *s, const char *path, FILE *out, struct failure *f)
{
	struct loader l = { .store = s, .path = path };
	int ret = read_archive(&l, f);

	if (ret == 0 && l.index)
		ret = load_layout(&l, out, f);
	else if (ret == 0 && l.docker_manifest)
		ret = load_docker_archive(&l, out, f);
	else if (ret == 0) {
		errno = EINVAL;
		ret = failed(f, "%s has neither index.json (OCI layout) nor manifest.json (docker-archive)", path);
	}
	free_loader(&l);
	return ret;
}
