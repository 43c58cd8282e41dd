/*
 * commit.c - an image in the making: its config, its layers, its manifest,
 * its name; and 'box tag' and 'box history', which read what it wrote.
 *
 * 'box build' and 'box commit' end the same way. An image is two small
 * documents and some layer blobs (OCI image-spec):
 *
 *     config (config.md)      {"architecture":"amd64","os":"linux","created":"2026-...Z",
 *                              "config":{"Env":[..],"Cmd":[..],"WorkingDir":..,"User":..,...},
 *                              "rootfs":{"type":"layers","diff_ids":["sha256:..",..]},
 *                              "history":[{"created":..,"created_by":"RUN ..","empty_layer":true},..]}
 *     manifest (manifest.md)  {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 *                              "config":{"mediaType":..,"digest":..,"size":..},"layers":[{..},..]}
 *
 * Both are stored as blobs named by their digest; the index gets a name
 * pointing at the manifest. The config's digest is the image ID, so
 * anything that changes the config (a label, a time) is a new image, and
 * the same config bytes are the same image: the JSON is written with its
 * keys sorted and no spaces, so equal documents are equal bytes.
 *
 * While a build goes on, the image is a "draft": the config as a jansson
 * document that each instruction edits, and the list of layer blobs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "box.h"

static const char oci_manifest_type[] = "application/vnd.oci.image.manifest.v1+json";
static const char oci_config_type[] = "application/vnd.oci.image.config.v1+json";

/* Docker's layer types, and the OCI names of the same bytes (image-spec media-types.md, "compatibility"). */
static const struct {
	const char *docker, *oci;
} layer_type_names[] = {
	{ "application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.oci.image.layer.v1.tar+gzip" },
	{ "application/vnd.docker.image.rootfs.diff.tar", "application/vnd.oci.image.layer.v1.tar" },
};

/* The members of a config box keeps from a base image: OCI's (config.md); Docker's extras are dropped. */
static const char *const config_members[] = { "created", "author", "architecture", "os", "os.version", "os.features",
					      "variant", "config", "rootfs", "history", NULL };
static const char *const run_members[] = { "User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes",
					   "WorkingDir", "Labels", "StopSignal", NULL };

enum { CREATED_BY_SHOWN = 45 };	/* docker history cuts CREATED BY there, without --no-trunc */

/* ---- times ------------------------------------------------------------------------------------ */

/* RFC 3339 in UTC, whole seconds: "2026-11-28T18:34:30Z", as config.md's "created" wants. */
int format_rfc3339(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		errno = EOVERFLOW;
		return -1;
	}
	return 0;
}

/* ---- a draft ---------------------------------------------------------------------------------- */

static json_t *run_config(const struct image_draft *d)
{
	return json_object_get(d->config, "config");
}

/* Keep only what OCI defines, and make sure the parts a draft edits are there. */
static int normalize_config(json_t *config)
{
	const char *key;
	json_t *value, *run, *tmp;

	json_object_foreach_safe(config, tmp, key, value) {
		bool keep = false;

		for (int i = 0; config_members[i] && !keep; i++)
			keep = strcmp(key, config_members[i]) == 0;
		if (!keep)
			json_object_del(config, key);
	}
	if (!json_is_object(json_object_get(config, "config")))
		json_object_set_new(config, "config", json_object());
	run = json_object_get(config, "config");
	json_object_foreach_safe(run, tmp, key, value) {
		bool keep = false;

		for (int i = 0; run_members[i] && !keep; i++)
			keep = strcmp(key, run_members[i]) == 0;
		if (!keep || json_is_null(value))
			json_object_del(run, key);
	}
	if (!json_is_array(json_object_get(config, "history")))
		json_object_set_new(config, "history", json_array());
	return json_is_array(json_object_get(json_object_get(config, "rootfs"), "diff_ids")) ? 0 : -1;
}

/* FROM scratch: no layers, nothing to run yet; the platform is this machine's (or --platform). */
int draft_from_scratch(struct image_draft *d, const struct platform *p, struct failure *f)
{
	memset(d, 0, sizeof(*d));
	d->config = json_pack("{s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture", p->architecture, "os", p->os,
			      "config", "rootfs", "type", "layers", "diff_ids", "history");
	if (!d->config)
		return failed(f, "new image config");
	if (p->variant[0])
		json_object_set_new(d->config, "variant", json_string(p->variant));
	return 0;
}

/* A layer descriptor of the base image, under its OCI media type. */
static void oci_layer(struct descriptor *desc)
{
	for (size_t i = 0; i < sizeof(layer_type_names) / sizeof(layer_type_names[0]); i++) {
		if (strcmp(desc->media_type, layer_type_names[i].docker) == 0)
			snprintf(desc->media_type, sizeof(desc->media_type), "%s", layer_type_names[i].oci);
	}
	memset(&desc->platform, 0, sizeof(desc->platform));
}

/* The base's layers, from its manifest: the new image refers to the same blobs. */
static int read_base_layers(const struct store *s, const char *manifest_digest, struct image_draft *d,
			    struct failure *f)
{
	struct manifest m;
	char *data;
	size_t len;
	int ret;

	if (store_read_blob(s, manifest_digest, MANIFEST_MAX, &data, &len, f) < 0)
		return -1;
	ret = parse_manifest(data, len, &m, f);
	free(data);
	if (ret < 0)
		return -1;
	d->layers = calloc(m.count + 1, sizeof(*d->layers));
	if (!d->layers) {
		free_manifest(&m);
		return failed(f, "base layers");
	}
	for (size_t i = 0; i < m.count; i++) {
		d->layers[i] = m.layers[i];
		oci_layer(&d->layers[i]);
	}
	d->nlayers = m.count;
	free_manifest(&m);
	return 0;
}

/* FROM an image in the store: its config (to edit) and its layers (to build on). */
int draft_from_image(const struct store *s, const struct image_record *rec, struct image_draft *d,
		     struct failure *f)
{
	json_error_t err;
	char *data;
	size_t len;

	memset(d, 0, sizeof(*d));
	if (store_read_blob(s, rec->config, CONFIG_MAX, &data, &len, f) < 0)
		return -1;
	d->config = json_loadb(data, len, 0, &err);
	free(data);
	if (!json_is_object(d->config) || normalize_config(d->config) < 0) {
		draft_free(d);
		errno = EINVAL;
		return failed(f, "image config %s of %s: not one box can build on", rec->config, rec->name);
	}
	if (read_base_layers(s, rec->digest, d, f) < 0) {
		draft_free(d);
		return -1;
	}
	if (json_array_size(json_object_get(json_object_get(d->config, "rootfs"), "diff_ids")) != d->nlayers) {
		draft_free(d);
		errno = EINVAL;
		return failed(f, "image %s: its config and manifest list different numbers of layers", rec->name);
	}
	return 0;
}

/* A second, independent draft (a build stage that starts from another stage). */
int draft_copy(const struct image_draft *src, struct image_draft *dst, struct failure *f)
{
	memset(dst, 0, sizeof(*dst));
	dst->config = json_deep_copy(src->config);
	dst->layers = calloc(src->nlayers + 1, sizeof(*dst->layers));
	if (!dst->config || !dst->layers) {
		draft_free(dst);
		return failed(f, "copy an image");
	}
	memcpy(dst->layers, src->layers, src->nlayers * sizeof(*dst->layers));
	dst->nlayers = src->nlayers;
	return 0;
}

void draft_free(struct image_draft *d)
{
	json_decref(d->config);
	free(d->layers);
	memset(d, 0, sizeof(*d));
}

/* A new layer on top: its blob in the manifest, its diffID in rootfs.diff_ids (the two lists stay in step). */
int draft_add_layer(struct image_draft *d, const struct layer_blob *l)
{
	struct descriptor *grown = realloc(d->layers, (d->nlayers + 1) * sizeof(*grown));
	json_t *diff_ids = json_object_get(json_object_get(d->config, "rootfs"), "diff_ids");

	if (!grown)
		return -1;
	d->layers = grown;
	d->layers[d->nlayers++] = l->blob;
	return json_array_append_new(diff_ids, json_string(l->diff_id));
}

/* One line of 'box history': when, what made it, and whether it added a layer (empty_layer: it did not). */
int draft_add_history(struct image_draft *d, const char *created, const char *created_by, bool empty_layer,
		      const char *comment)
{
	json_t *entry = json_pack("{s:s, s:s}", "created", created, "created_by", created_by);

	if (!entry)
		return -1;
	if (empty_layer)
		json_object_set_new(entry, "empty_layer", json_true());
	if (comment && comment[0])
		json_object_set_new(entry, "comment", json_string(comment));
	return json_array_append_new(json_object_get(d->config, "history"), entry);
}

/* Set a member of the run config ("Cmd", "WorkingDir"...) to value (taken over); NULL removes it. */
int draft_set(struct image_draft *d, const char *key, json_t *value)
{
	if (!value) {
		json_object_del(run_config(d), key);	/* -1 only if it was not there: removed either way */
		return 0;
	}
	return json_object_set_new(run_config(d), key, value);
}

/* A string member of the run config, or NULL. */
const char *draft_get_string(const struct image_draft *d, const char *key)
{
	return json_string_value(json_object_get(run_config(d), key));
}

/* A list of strings as a JSON array (Cmd, Entrypoint). */
json_t *json_string_list(char *const list[], size_t count)
{
	json_t *array = json_array();

	for (size_t i = 0; array && i < count; i++)
		json_array_append_new(array, json_string(list[i]));
	return array;
}

/* ENV NAME=value: replaces NAME's entry in Env, or adds one at the end. */
int draft_set_env(struct image_draft *d, const char *name, const char *value)
{
	json_t *env = json_object_get(run_config(d), "Env"), *entry;
	size_t len = strlen(name), i;
	char *text;
	int ret;

	if (!json_is_array(env)) {
		env = json_array();
		if (!env || json_object_set_new(run_config(d), "Env", env) < 0)
			return -1;
	}
	if (asprintf(&text, "%s=%s", name, value) < 0)
		return -1;
	json_array_foreach(env, i, entry) {
		const char *old = json_string_value(entry);

		if (old && strncmp(old, name, len) == 0 && old[len] == '=') {
			ret = json_array_set_new(env, i, json_string(text));
			free(text);
			return ret;
		}
	}
	ret = json_array_append_new(env, json_string(text));
	free(text);
	return ret;
}

/* The image's Env as "NAME=value" strings, NULL-terminated: what a RUN step's process gets. */
char **draft_env(const struct image_draft *d)
{
	json_t *env = json_object_get(run_config(d), "Env"), *entry;
	char **list = calloc(json_array_size(env) + 1, sizeof(*list));
	size_t i, n = 0;

	json_array_foreach(env, i, entry) {
		if (list && json_is_string(entry))
			list[n++] = strdup(json_string_value(entry));
	}
	return list;
}

/* A member of an object-valued key: Labels {"k": "v"}; ExposedPorts and Volumes {"80/tcp": {}}. */
int draft_set_member(struct image_draft *d, const char *key, const char *name, json_t *value)
{
	json_t *obj = json_object_get(run_config(d), key);

	if (!json_is_object(obj)) {
		obj = json_object();
		if (!obj || json_object_set_new(run_config(d), key, obj) < 0) {
			json_decref(value);
			return -1;
		}
	}
	return json_object_set_new(obj, name, value);
}

/* ---- storing it --------------------------------------------------------------------------------- */

/* A document as bytes: keys sorted, no spaces, so the same document is always the same bytes (and digest). */
static char *canonical_json(json_t *doc, size_t *len)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);

	*len = text ? strlen(text) : 0;
	return text;
}

/* "sha256:<hex>" of some bytes: the name of a document box writes. */
void digest_of(const void *data, size_t len, char out[DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

static json_t *descriptor_json(const struct descriptor *desc)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", desc->media_type, "digest", desc->digest, "size",
			 (json_int_t)desc->size);
}

/* A document into the store as a blob; desc describes it. */
static int put_document(const struct store *s, json_t *doc, const char *media_type, struct descriptor *desc,
			struct failure *f)
{
	size_t len;
	char *text = canonical_json(doc, &len);
	int ret;

	if (!text)
		return failed(f, "write %s", media_type);
	memset(desc, 0, sizeof(*desc));
	snprintf(desc->media_type, sizeof(desc->media_type), "%s", media_type);
	digest_of(text, len, desc->digest);
	desc->size = (long long)len;
	ret = store_put_blob(s, desc->digest, text, len, f);
	free(text);
	return ret;
}

/* The manifest (manifest.md): the config's descriptor and the layers', bottom first. */
static json_t *manifest_json(const struct image_draft *d, const struct descriptor *config)
{
	json_t *layers = json_array();
	json_t *doc;

	for (size_t i = 0; layers && i < d->nlayers; i++)
		json_array_append_new(layers, descriptor_json(&d->layers[i]));
	doc = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType", oci_manifest_type, "config",
			descriptor_json(config), "layers", layers);
	return doc;
}

/* The unpacked size of the image's layers: what 'box images' shows. */
static long long layers_size(const struct store *s, const struct image_draft *d)
{
	json_t *diff_ids = json_object_get(json_object_get(d->config, "rootfs"), "diff_ids"), *id;
	struct layer_info info;
	long long size = 0;
	size_t i;

	json_array_foreach(diff_ids, i, id) {
		if (store_read_layer_info(s, json_string_value(id), &info) == 0)
			size += info.size;
	}
	return size;
}

/*
 * Write the draft as an image: config and manifest into the store as blobs
 * (created: the config's "created", RFC 3339). rec gets the manifest's and
 * config's digests; the image has no name yet (name_image_as gives one).
 */
int draft_commit(const struct store *s, struct image_draft *d, const char *created, struct image_record *rec,
		 struct failure *f)
{
	struct descriptor config, manifest;
	json_t *doc;
	time_t when = 0;
	int ret;

	memset(rec, 0, sizeof(*rec));
	json_object_set_new(d->config, "created", json_string(created));
	if (put_document(s, d->config, oci_config_type, &config, f) < 0)
		return -1;
	doc = manifest_json(d, &config);
	if (!doc)
		return failed(f, "write the manifest");
	ret = put_document(s, doc, oci_manifest_type, &manifest, f);
	json_decref(doc);
	if (ret < 0)
		return -1;
	snprintf(rec->digest, sizeof(rec->digest), "%s", manifest.digest);
	snprintf(rec->config, sizeof(rec->config), "%s", config.digest);
	parse_rfc3339(created, &when);
	rec->created = when;
	rec->size = layers_size(s, d);
	return 0;
}

/* Give the image rec describes a name (NAME[:TAG]; a digest is what it is, not a name to give). */
int name_image_as(const struct store *s, struct image_record *rec, const char *text, struct failure *f)
{
	struct reference ref;

	if (parse_reference(text, &ref, f) < 0)
		return -1;
	if (ref.digest[0]) {
		errno = EINVAL;
		return failed(f, "%s: a name to give cannot hold a digest", text);
	}
	reference_name(&ref, rec->name, sizeof(rec->name));
	snprintf(rec->tag, sizeof(rec->tag), "%s", ref.tag);
	rec->index_digest[0] = '\0';
	return store_add_image(s, rec, f);
}

/* 'box tag SRC DST': a second name for the same manifest. Nothing is copied. */
int tag_image(const struct store *s, const char *source, const char *target, struct failure *f)
{
	struct reference ref;
	struct image_record rec;

	if (parse_reference(source, &ref, f) < 0)
		return -1;
	if (store_find_image(s, &ref, &rec) < 0)
		return failed(f, "no such image: %s", source);
	return name_image_as(s, &rec, target, f);
}

/* ---- 'box history' ------------------------------------------------------------------------------- */

enum { HISTORY_COLUMNS = 5, HISTORY_CELL_MAX = 1024 };

/* CREATED BY as docker shows it: cut at 45 characters with "..." unless no_trunc. */
static void created_by_cell(const char *text, bool no_trunc, char *cell)
{
	if (no_trunc || strlen(text) <= CREATED_BY_SHOWN)
		snprintf(cell, HISTORY_CELL_MAX, "%s", text);
	else
		snprintf(cell, HISTORY_CELL_MAX, "%.*s...", CREATED_BY_SHOWN - 3, text);
}

/* One row per history entry, newest first; a layer's size next to the entry that made it. */
static size_t history_rows(const struct store *s, json_t *config, const struct image_record *rec, time_t now,
			   bool no_trunc, char (*rows)[HISTORY_COLUMNS][HISTORY_CELL_MAX])
{
	json_t *history = json_object_get(config, "history");
	json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	size_t n = json_array_size(history), layer = json_array_size(diff_ids), row = 1;

	for (size_t i = n; i-- > 0; row++) {
		json_t *h = json_array_get(history, i);
		const char *by = json_string_value(json_object_get(h, "created_by"));
		const char *comment = json_string_value(json_object_get(h, "comment"));
		const char *created = json_string_value(json_object_get(h, "created"));
		time_t when = 0;
		struct layer_info info = { 0 };

		if (!json_is_true(json_object_get(h, "empty_layer")) && layer > 0)
			store_read_layer_info(s, json_string_value(json_array_get(diff_ids, --layer)), &info);
		if (created)
			parse_rfc3339(created, &when);
		if (i == n - 1)
			snprintf(rows[row][0], HISTORY_CELL_MAX, "%.*s", IMAGE_ID_LEN, rec->config + strlen("sha256:"));
		else
			snprintf(rows[row][0], HISTORY_CELL_MAX, "<missing>");
		format_ago(when, now, rows[row][1], HISTORY_CELL_MAX);
		created_by_cell(by ? by : "", no_trunc, rows[row][2]);
		format_size(info.size, rows[row][3], HISTORY_CELL_MAX);
		snprintf(rows[row][4], HISTORY_CELL_MAX, "%s", comment ? comment : "");
	}
	return row;
}

static void print_table(FILE *out, char (*rows)[HISTORY_COLUMNS][HISTORY_CELL_MAX], size_t count)
{
	int width[HISTORY_COLUMNS] = { 0 };

	for (size_t r = 0; r < count; r++) {
		for (int c = 0; c < HISTORY_COLUMNS; c++) {
			if ((int)strlen(rows[r][c]) + 3 > width[c])
				width[c] = (int)strlen(rows[r][c]) + 3;
		}
	}
	for (size_t r = 0; r < count; r++) {
		for (int c = 0; c + 1 < HISTORY_COLUMNS; c++)
			fprintf(out, "%-*s", width[c], rows[r][c]);
		fprintf(out, "%s\n", rows[r][HISTORY_COLUMNS - 1]);
	}
}

/* 'box history IMAGE': what made each layer, newest first, as docker prints it. */
int print_history(FILE *out, const struct store *s, const char *text, bool no_trunc, time_t now, struct failure *f)
{
	static const char *const header[HISTORY_COLUMNS] = { "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" };
	struct reference ref;
	struct image_record rec;
	char (*rows)[HISTORY_COLUMNS][HISTORY_CELL_MAX];
	json_t *config;
	char *data;
	size_t len, count;

	if (parse_reference(text, &ref, f) < 0)
		return -1;
	if (store_find_image(s, &ref, &rec) < 0)
		return failed(f, "no such image: %s", text);
	if (store_read_blob(s, rec.config, CONFIG_MAX, &data, &len, f) < 0)
		return -1;
	config = json_loadb(data, len, 0, NULL);
	free(data);
	rows = calloc(json_array_size(json_object_get(config, "history")) + 1, sizeof(*rows));
	if (!config || !rows) {
		json_decref(config);
		free(rows);
		errno = EINVAL;
		return failed(f, "image config %s", rec.config);
	}
	for (int c = 0; c < HISTORY_COLUMNS; c++)
		snprintf(rows[0][c], HISTORY_CELL_MAX, "%s", header[c]);
	count = history_rows(s, config, &rec, now, no_trunc, rows);
	print_table(out, rows, count);
	free(rows);
	json_decref(config);
	return ferror(out) ? -1 : 0;
}
