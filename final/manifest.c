/*
 * manifest.c - the JSON documents that make an image (OCI image-spec,
 * Docker image manifest v2 schema 2); jansson does the JSON.
 *
 *     index (manifest list)  one manifest per platform: linux/amd64, linux/arm64/v8...
 *       manifest             the config blob and the layer blobs, bottom first
 *         config             how to run it (Entrypoint, Cmd, Env...) and rootfs.diff_ids
 *         layers             tar streams, gzip- or zstd-compressed
 *
 * Docker's and OCI's media types differ in name only; both are read the same
 * way. Docker's old schema 1 (signed, v1 history) is refused: registries
 * stopped serving it, and it names layers without digests of their content.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include <jansson.h>

#include "box.h"

static const char oci_index[] = "application/vnd.oci.image.index.v1+json";
static const char docker_list[] = "application/vnd.docker.distribution.manifest.list.v2+json";
static const char oci_manifest[] = "application/vnd.oci.image.manifest.v1+json";
static const char docker_manifest[] = "application/vnd.docker.distribution.manifest.v2+json";
static const char docker_schema1[] = "application/vnd.docker.distribution.manifest.v1+json";
static const char docker_schema1_signed[] = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/* What to ask a registry for, in the Accept header: lists first, so a tag yields every platform. */
const char *const manifest_accept[] = { oci_index, docker_list, oci_manifest, docker_manifest, NULL };

static const char *const config_types[] = {
	"application/vnd.oci.image.config.v1+json",
	"application/vnd.docker.container.image.v1+json",
	NULL,
};

/* The compressions box unpacks (layer.c): plain tar, gzip, zstd. */
static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	NULL,
};

static const char docker_foreign_layer[] = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/* uname(2) machine -> OCI architecture and variant (image-spec config.md, Go's GOARCH names). */
static const struct {
	const char *machine, *architecture, *variant;
} architectures[] = {
	{ "x86_64", "amd64", "" },
	{ "aarch64", "arm64", "" },
	{ "armv7l", "arm", "v7" },
	{ "armv6l", "arm", "v6" },
	{ "i686", "386", "" },
	{ "i386", "386", "" },
	{ "ppc64le", "ppc64le", "" },
	{ "s390x", "s390x", "" },
	{ "riscv64", "riscv64", "" },
	{ "loongarch64", "loong64", "" },
};

static bool in_list(const char *const list[], const char *s)
{
	for (int i = 0; list[i]; i++) {
		if (strcmp(list[i], s) == 0)
			return true;
	}
	return false;
}

static const char *string_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Fields of a document into fixed buffers: anything longer is not a value box could match anyway. */
static void copy_string(char *buf, size_t size, const char *s)
{
	snprintf(buf, size, "%s", s ? s : "");
}

/* The media type named in the body, else in Content-Type, else guessed from the shape. */
static enum manifest_kind kind_of(const char *type, json_t *doc)
{
	if (strcmp(type, oci_index) == 0 || strcmp(type, docker_list) == 0)
		return KIND_INDEX;
	if (strcmp(type, oci_manifest) == 0 || strcmp(type, docker_manifest) == 0)
		return KIND_MANIFEST;
	if (strcmp(type, docker_schema1) == 0 || strcmp(type, docker_schema1_signed) == 0)
		return KIND_SCHEMA1;
	if (type[0] && strcmp(type, "application/json") != 0)
		return KIND_UNKNOWN;
	/* No useful type (OCI lets mediaType be absent): look at what the document holds. */
	if (json_integer_value(json_object_get(doc, "schemaVersion")) == 1)
		return KIND_SCHEMA1;
	if (json_is_array(json_object_get(doc, "manifests")))
		return KIND_INDEX;
	if (json_is_object(json_object_get(doc, "config")) && json_is_array(json_object_get(doc, "layers")))
		return KIND_MANIFEST;
	return KIND_UNKNOWN;
}

/*
 * What kind of document a manifest response is. media_type gets the type
 * that decided it (to name it when it is refused).
 */
enum manifest_kind manifest_kind(const char *content_type, const char *body, size_t len,
				 char *media_type, size_t size)
{
	json_t *doc = json_loadb(body, len, 0, NULL);
	const char *in_body = doc ? string_member(doc, "mediaType") : NULL;
	enum manifest_kind kind;

	if (in_body)
		copy_string(media_type, size, in_body);
	else
		snprintf(media_type, size, "%.*s", (int)strcspn(content_type ? content_type : "", "; "),
			 content_type ? content_type : "");
	kind = doc ? kind_of(media_type, doc) : KIND_UNKNOWN;
	json_decref(doc);
	return kind;
}

static void read_platform(json_t *obj, struct platform *p)
{
	memset(p, 0, sizeof(*p));
	if (!json_is_object(obj))
		return;
	copy_string(p->os, sizeof(p->os), string_member(obj, "os"));
	copy_string(p->architecture, sizeof(p->architecture), string_member(obj, "architecture"));
	copy_string(p->variant, sizeof(p->variant), string_member(obj, "variant"));
}

/* A descriptor whose digest box can check and use as a file name; nothing else gets near the store. */
static int read_descriptor(json_t *obj, struct descriptor *d, struct failure *f)
{
	const char *digest = string_member(obj, "digest");
	json_t *size = json_object_get(obj, "size");

	memset(d, 0, sizeof(*d));
	copy_string(d->media_type, sizeof(d->media_type), string_member(obj, "mediaType"));
	if (!digest || !is_digest(digest)) {
		errno = EINVAL;
		return failed(f, "descriptor with an unsupported digest \"%s\" (box verifies sha256 only)",
			      digest ? digest : "");
	}
	if (!json_is_integer(size) || json_integer_value(size) < 0) {
		errno = EINVAL;
		return failed(f, "descriptor %s has no valid size", digest);
	}
	copy_string(d->digest, sizeof(d->digest), digest);
	d->size = json_integer_value(size);
	read_platform(json_object_get(obj, "platform"), &d->platform);
	return 0;
}

/* Each element of a JSON array of descriptors into a new C array. */
static int read_descriptors(json_t *array, struct descriptor **out, size_t *count, struct failure *f)
{
	size_t n = json_array_size(array);

	*out = calloc(n ? n : 1, sizeof(**out));
	*count = 0;
	if (!*out)
		return failed(f, "read descriptors");
	for (size_t i = 0; i < n; i++) {
		if (read_descriptor(json_array_get(array, i), &(*out)[i], f) < 0)
			return -1;
		(*count)++;
	}
	return 0;
}

static json_t *load(const char *body, size_t len, const char *what, struct failure *f)
{
	json_error_t err;
	json_t *doc = json_loadb(body, len, 0, &err);

	if (!json_is_object(doc)) {
		json_decref(doc);
		errno = EINVAL;
		failed(f, "%s is not valid JSON: %s", what, err.text);
		return NULL;
	}
	return doc;
}

/* An index (OCI) or manifest list (Docker): one descriptor per platform. */
int parse_index(const char *body, size_t len, struct image_index *index, struct failure *f)
{
	json_t *doc = load(body, len, "image index", f);
	json_t *manifests;
	int ret;

	memset(index, 0, sizeof(*index));
	if (!doc)
		return -1;
	manifests = json_object_get(doc, "manifests");
	if (!json_is_array(manifests)) {
		json_decref(doc);
		errno = EINVAL;
		return failed(f, "image index has no \"manifests\" list");
	}
	ret = read_descriptors(manifests, &index->manifests, &index->count, f);
	json_decref(doc);
	if (ret < 0)
		free_index(index);
	return ret;
}

/* Layers box cannot unpack are refused here, before anything is downloaded. */
static int check_layer_types(const struct manifest *m, struct failure *f)
{
	for (size_t i = 0; i < m->count; i++) {
		const char *type = m->layers[i].media_type;

		errno = ENOTSUP;
		if (strcmp(type, docker_foreign_layer) == 0)
			return failed(f, "layer %s is a foreign layer (a Windows base image): not supported",
				      m->layers[i].digest);
		if (!in_list(layer_types, type))
			return failed(f, "layer %s has media type \"%s\", which box cannot unpack",
				      m->layers[i].digest, type);
	}
	return 0;
}

/* An image manifest: a config and layers. Refuses what is not a container image. */
int parse_manifest(const char *body, size_t len, struct manifest *m, struct failure *f)
{
	json_t *doc = load(body, len, "manifest", f);
	int ret = -1;

	memset(m, 0, sizeof(*m));
	if (!doc)
		return -1;
	if (!json_is_object(json_object_get(doc, "config")) || !json_is_array(json_object_get(doc, "layers"))) {
		errno = EINVAL;
		failed(f, "manifest has no config or no layers");
	} else if (read_descriptor(json_object_get(doc, "config"), &m->config, f) == 0 &&
		   read_descriptors(json_object_get(doc, "layers"), &m->layers, &m->count, f) == 0) {
		errno = ENOTSUP;
		if (!in_list(config_types, m->config.media_type))
			failed(f, "not a container image: its config has media type \"%s\"", m->config.media_type);
		else
			ret = check_layer_types(m, f);
	}
	json_decref(doc);
	if (ret < 0)
		free_manifest(m);
	return ret;
}

/* A JSON array of strings as a NULL-terminated C array; NULL for null or absent. */
static char **string_list(json_t *array)
{
	size_t n = json_array_size(array);
	char **list;

	if (!json_is_array(array))
		return NULL;
	list = calloc(n + 1, sizeof(*list));
	for (size_t i = 0; list && i < n; i++) {
		const char *s = json_string_value(json_array_get(array, i));

		list[i] = strdup(s ? s : "");
	}
	return list;
}

/* The keys of a JSON object as a NULL-terminated list: ExposedPorts is {"80/tcp": {}}. */
static char **key_list(json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	const char *key;
	json_t *value;
	char **list;

	if (!json_is_object(obj))
		return NULL;
	list = calloc(n + 1, sizeof(*list));
	json_object_foreach(obj, key, value) {
		if (list && i < n)
			list[i++] = strdup(key);
	}
	(void)value;
	return list;
}

static char *string_copy(json_t *obj, const char *key)
{
	const char *s = string_member(obj, key);

	return s ? strdup(s) : NULL;
}

static void read_labels(json_t *obj, struct image_config *c)
{
	const char *key;
	json_t *value;

	c->labels = calloc(json_object_size(obj) + 1, sizeof(*c->labels));
	if (!c->labels || !json_is_object(obj))
		return;
	json_object_foreach(obj, key, value) {
		c->labels[c->nlabels].key = strdup(key);
		c->labels[c->nlabels].value = strdup(json_is_string(value) ? json_string_value(value) : "");
		c->nlabels++;
	}
}

static int read_diff_ids(json_t *rootfs, struct image_config *c, struct failure *f)
{
	c->diff_ids = string_list(json_object_get(rootfs, "diff_ids"));
	if (!c->diff_ids) {
		errno = EINVAL;
		return failed(f, "image config has no rootfs.diff_ids");
	}
	for (c->ndiff_ids = 0; c->diff_ids[c->ndiff_ids]; c->ndiff_ids++) {
		if (!is_digest(c->diff_ids[c->ndiff_ids])) {
			errno = EINVAL;
			return failed(f, "image config has an unsupported diff_id \"%s\"", c->diff_ids[c->ndiff_ids]);
		}
	}
	return 0;
}

/* The image config (image-spec config.md): what a run needs, and the layers' diffIDs. */
int parse_image_config(const char *body, size_t len, struct image_config *c, struct failure *f)
{
	json_t *doc = load(body, len, "image config", f);
	json_t *run;
	int ret;

	memset(c, 0, sizeof(*c));
	if (!doc)
		return -1;
	run = json_object_get(doc, "config");
	c->created = string_copy(doc, "created");
	read_platform(doc, &c->platform);
	c->entrypoint = string_list(json_object_get(run, "Entrypoint"));
	c->cmd = string_list(json_object_get(run, "Cmd"));
	c->env = string_list(json_object_get(run, "Env"));
	c->working_dir = string_copy(run, "WorkingDir");
	c->user = string_copy(run, "User");
	c->exposed_ports = key_list(json_object_get(run, "ExposedPorts"));
	c->stop_signal = string_copy(run, "StopSignal");
	read_labels(json_object_get(run, "Labels"), c);
	ret = read_diff_ids(json_object_get(doc, "rootfs"), c, f);
	json_decref(doc);
	if (ret < 0)
		free_image_config(c);
	return ret;
}

void free_index(struct image_index *index)
{
	free(index->manifests);
	memset(index, 0, sizeof(*index));
}

void free_manifest(struct manifest *m)
{
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

static void free_list(char **list)
{
	for (size_t i = 0; list && list[i]; i++)
		free(list[i]);
	free(list);
}

void free_image_config(struct image_config *c)
{
	free(c->created);
	free_list(c->entrypoint);
	free_list(c->cmd);
	free_list(c->env);
	free(c->working_dir);
	free(c->user);
	free_list(c->exposed_ports);
	free(c->stop_signal);
	for (size_t i = 0; i < c->nlabels; i++) {
		free(c->labels[i].key);
		free(c->labels[i].value);
	}
	free(c->labels);
	free_list(c->diff_ids);
	memset(c, 0, sizeof(*c));
}

/* This machine's platform, from uname(2): x86_64 -> linux/amd64, armv7l -> linux/arm/v7. */
int host_platform(struct platform *p)
{
	struct utsname u;

	memset(p, 0, sizeof(*p));
	if (uname(&u) < 0)
		return -1;
	copy_string(p->os, sizeof(p->os), "linux");
	for (size_t i = 0; i < sizeof(architectures) / sizeof(architectures[0]); i++) {
		if (strcmp(u.machine, architectures[i].machine) == 0) {
			copy_string(p->architecture, sizeof(p->architecture), architectures[i].architecture);
			copy_string(p->variant, sizeof(p->variant), architectures[i].variant);
			return 0;
		}
	}
	snprintf(p->architecture, sizeof(p->architecture), "%.*s", PLATFORM_PART_MAX - 1, u.machine);
	return 0;
}

static bool is_platform_part(const char *s, size_t n)
{
	if (n == 0 || n >= PLATFORM_PART_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

/* "--platform linux/arm64" or "linux/arm/v7": os/architecture[/variant]. */
int parse_platform(const char *text, struct platform *p, struct failure *f)
{
	char *parts[3] = { p->os, p->architecture, p->variant };
	const char *s = text;
	int n = 0;

	memset(p, 0, sizeof(*p));
	while (n < 3) {
		size_t len = strcspn(s, "/");

		if (!is_platform_part(s, len))
			break;
		snprintf(parts[n++], PLATFORM_PART_MAX, "%.*s", (int)len, s);
		s += len;
		if (*s != '/')
			break;
		s++;
	}
	if (n < 2 || *s) {
		errno = EINVAL;
		return failed(f, "invalid platform \"%s\": it must be os/arch[/variant], like linux/arm64", text);
	}
	return 0;
}

int platform_string(const struct platform *p, char *buf, size_t size)
{
	return format_into(buf, size, "%s/%s%s%s", p->os, p->architecture, p->variant[0] ? "/" : "", p->variant);
}

/* arm64 images say "v8" or nothing for the same thing (containerd's platforms.Normalize). */
static const char *normal_variant(const struct platform *p)
{
	if (strcmp(p->architecture, "arm64") == 0 && strcmp(p->variant, "v8") == 0)
		return "";
	return p->variant;
}

static bool same_os_arch(const struct platform *a, const struct platform *b)
{
	return strcmp(a->os, b->os) == 0 && strcmp(a->architecture, b->architecture) == 0;
}

/* "linux/amd64, linux/arm/v7, ...": what an index offers, for the error message. */
static void list_platforms(const struct image_index *index, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < index->count && used < size; i++) {
		char name[3 * PLATFORM_PART_MAX];
		const struct platform *p = &index->manifests[i].platform;

		/* Build attestations are listed as unknown/unknown: not images. */
		if (!p->os[0] || strcmp(p->os, "unknown") == 0 || platform_string(p, name, sizeof(name)) < 0)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", name);
	}
}

/*
 * The manifest of an index that runs on want: same os, architecture and
 * variant; if want names no variant, the first of its architecture.
 */
int choose_platform(const struct image_index *index, const struct platform *want, struct descriptor *out,
		    struct failure *f)
{
	char wanted[3 * PLATFORM_PART_MAX], offered[1024];

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < index->count; i++) {
			const struct platform *p = &index->manifests[i].platform;

			if (!same_os_arch(p, want))
				continue;
			if (pass == 0 && strcmp(normal_variant(p), normal_variant(want)) != 0)
				continue;
			if (pass == 1 && want->variant[0])
				continue;
			*out = index->manifests[i];
			return 0;
		}
	}
	platform_string(want, wanted, sizeof(wanted));
	list_platforms(index, offered, sizeof(offered));
	errno = ENOENT;
	return failed(f, "no image for %s in this index; it offers: %s", wanted, offered[0] ? offered : "nothing");
}

/* "2024-05-18T22:34:17.453185236Z" or "...+02:00" (RFC 3339) -> seconds since the epoch. */
int parse_rfc3339(const char *text, time_t *t)
{
	struct tm tm = { 0 };
	const char *p = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	int sign, hours, minutes;

	if (!p)
		goto bad;
	if (*p == '.')
		p += 1 + strspn(p + 1, "0123456789");
	*t = timegm(&tm);
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return 0;
	if ((*p != '+' && *p != '-') || sscanf(p + 1, "%2d:%2d", &hours, &minutes) != 2 || strlen(p) != 6)
		goto bad;
	sign = *p == '+' ? 1 : -1;
	*t -= sign * (hours * 3600 + minutes * 60);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
