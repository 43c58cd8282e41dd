/*
 * push.c - sending a stored image to a registry (distribution-spec, "push").
 *
 * A push is a pull backwards: blobs first, the manifest last.
 *
 *     HEAD  /v2/NAME/blobs/DIGEST                         200: the registry has it already
 *     POST  /v2/NAME/blobs/uploads/?mount=DIGEST&from=OTHER   201: shared from another repository
 *     POST  /v2/NAME/blobs/uploads/                       202, Location: the upload session
 *     PUT   SESSION?digest=DIGEST        the whole blob   201
 *       or PATCH SESSION  Content-Range: 0-8388607        202, Location: the session's next URL,
 *          PATCH SESSION  Content-Range: 8388608-...      Range: 0-8388607 (what it holds)
 *          PUT   SESSION?digest=DIGEST   no body          201
 *     PUT   /v2/NAME/manifests/TAG       the manifest     201, Docker-Content-Digest
 *
 * A registry refuses a manifest that names blobs it does not have, and the
 * manifest is what a tag points to: sending it last means a push that fails
 * half way leaves blobs nobody names (the registry collects them) and never
 * a tag on half an image. Pushing again is the retry: the HEADs skip every
 * blob that arrived the first time.
 *
 * The bytes sent are the store's: the manifest exactly as stored (its
 * digest is its name), layers as compressed blobs. Nothing is recompressed,
 * so the image that arrives has the id and digest it had here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "box.h"

static const char octet_stream[] = "application/octet-stream";

enum {
	SHORT_ID_LEN = 12,	/* a layer is shown by the first 12 hex digits of its digest, as docker does */
	BACKOFF_MS = 1000,	/* before the second try of a blob; doubled before each next */
	REDRAW_MS = 100,	/* progress on a terminal: at most ten redraws a second */
	STATUS_BODY_MAX = 64 * 1024,
};
#define PUSH_WHOLE_MAX (64LL << 20)	/* blobs up to 64 MiB go in one PUT; larger ones in chunks */
#define PUSH_CHUNK_SIZE (16LL << 20)	/* a chunk: what a failure costs at most, since a session resumes */

enum blob_state { BLOB_WAITING, BLOB_PUSHING, BLOB_EXISTS, BLOB_MOUNTED, BLOB_PUSHED };

/* One blob to send: a layer or the config. */
struct push_blob {
	struct descriptor desc;
	bool is_layer;		/* layers are shown; the config goes quietly, as docker does */
	char mount_from[REF_NAME_MAX + 1];	/* a repository of the same registry that has it, or "" */
	enum blob_state state;
	long long sent;
};

struct push {
	const struct store *store;
	struct registry *r;
	FILE *out;
	enum progress_mode progress;
	long long whole_max;	/* blobs up to this size go in one PUT */
	long long chunk_size;	/* larger ones in PATCHes of this size */
	long last_status;	/* the status of the last answer that was not what we wanted; 0: none */
	struct push_blob *blobs;
	size_t nblobs;
	struct push_blob *current;
	double last_draw;
};

/* ---- progress ---------------------------------------------------------------------------- */

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *short_id(const char *digest, char *buf, size_t size)
{
	snprintf(buf, size, "%.*s", SHORT_ID_LEN, digest + strlen("sha256:"));
	return buf;
}

/* A terminal sees the blob being sent counting up on one line, redrawn in place. */
static void draw_sending(struct push *p, bool force)
{
	struct push_blob *b = p->current;
	char id[SHORT_ID_LEN + 1], sent[16], total[16];

	if (p->progress != PROGRESS_TERMINAL || !b || !b->is_layer)
		return;
	if (!force && now_seconds() - p->last_draw < REDRAW_MS / 1000.0)
		return;
	p->last_draw = now_seconds();
	format_size(b->sent, sent, sizeof(sent));
	format_size(b->desc.size, total, sizeof(total));
	fprintf(p->out, "\r\033[K%s: Pushing %s/%s", short_id(b->desc.digest, id, sizeof(id)), sent, total);
	fflush(p->out);
}

/* The line a layer ends with, docker's words: Pushed, Layer already exists, Mounted from REPO. */
static void set_state(struct push *p, struct push_blob *b, enum blob_state state)
{
	char id[SHORT_ID_LEN + 1];

	b->state = state;
	if (p->progress == PROGRESS_QUIET || !b->is_layer || state == BLOB_WAITING)
		return;
	if (state == BLOB_PUSHING) {
		draw_sending(p, true);
		return;
	}
	if (p->progress == PROGRESS_TERMINAL)
		fprintf(p->out, "\r\033[K");
	short_id(b->desc.digest, id, sizeof(id));
	if (state == BLOB_EXISTS)
		fprintf(p->out, "%s: Layer already exists\n", id);
	else if (state == BLOB_MOUNTED)
		fprintf(p->out, "%s: Mounted from %s\n", id, b->mount_from);
	else
		fprintf(p->out, "%s: Pushed\n", id);
	fflush(p->out);
}

/* request.sent: bytes of the body gone out so far. */
static void count_sent(long long bytes, void *user)
{
	struct push *p = user;

	p->current->sent = bytes;
	draw_sending(p, false);
}

/* ---- what to send ------------------------------------------------------------------------- */

/* The image to push: its record, its manifest's bytes (sent as they are) and the manifest parsed. */
static int read_source(const struct store *s, const struct reference *ref, struct image_record *rec,
		       char **bytes, size_t *len, struct manifest *m, struct failure *f)
{
	char text[3 * REF_NAME_MAX];

	reference_string(ref, text, sizeof(text));
	if (store_find_image(s, ref, rec) < 0)
		return failed(f, "no such image: %s", text);
	if (store_read_blob(s, rec->digest, MANIFEST_MAX, bytes, len, f) < 0)
		return -1;
	if (parse_manifest(*bytes, *len, m, f) < 0) {
		free(*bytes);
		*bytes = NULL;
		return -1;
	}
	return 0;
}

/* Layers (each once: old images repeat the empty layer), then the config. */
static int plan_blobs(struct push *p, const struct manifest *m, struct failure *f)
{
	p->blobs = calloc(m->count + 1, sizeof(*p->blobs));
	if (!p->blobs)
		return failed(f, "plan the push");
	for (size_t i = 0; i < m->count; i++) {
		bool seen = false;

		for (size_t k = 0; k < p->nblobs; k++)
			seen |= strcmp(p->blobs[k].desc.digest, m->layers[i].digest) == 0;
		if (seen)
			continue;
		p->blobs[p->nblobs].desc = m->layers[i];
		p->blobs[p->nblobs++].is_layer = true;
	}
	p->blobs[p->nblobs++].desc = m->config;
	return 0;
}

static bool manifest_has_blob(const struct store *s, const char *manifest_digest, const char *digest)
{
	struct manifest m;
	struct failure ignored;
	char *data;
	size_t len;
	bool found = false;

	if (store_read_blob(s, manifest_digest, MANIFEST_MAX, &data, &len, &ignored) < 0)
		return false;
	if (parse_manifest(data, len, &m, &ignored) == 0) {
		found = strcmp(m.config.digest, digest) == 0;
		for (size_t i = 0; i < m.count && !found; i++)
			found = strcmp(m.layers[i].digest, digest) == 0;
		free_manifest(&m);
	}
	free(data);
	return found;
}

/* Ask the token for read access to repo as well, so a mount from it can be allowed; false if full. */
static bool add_mount_source(struct registry *r, const char *repo)
{
	for (int i = 0; i < r->nmount_from; i++) {
		if (strcmp(r->mount_from[i], repo) == 0)
			return true;
	}
	if (r->nmount_from == REGISTRY_MOUNT_MAX)
		return false;
	snprintf(r->mount_from[r->nmount_from++], sizeof(r->mount_from[0]), "%s", repo);
	return true;
}

/*
 * Cross-repository mount (distribution-spec, "Mounting a blob from another
 * repository"): a blob the registry already has in another repository need
 * not travel again. The store knows where each image came from: any image
 * from the same registry, in another repository, holding this blob, is a
 * candidate. If the registry does not have it there after all, it answers
 * the mount with an ordinary upload session, and the blob is sent.
 */
static void find_mount_sources(struct push *p, const struct reference *dest)
{
	struct image_record *recs;
	struct reference ref;
	size_t count;

	if (store_list_images(p->store, &recs, &count) < 0)
		return;	/* no mounts: every blob is sent, which is slower, not wrong */
	for (size_t i = 0; i < p->nblobs; i++) {
		struct push_blob *b = &p->blobs[i];

		for (size_t k = 0; k < count && !b->mount_from[0]; k++) {
			if (parse_reference(recs[k].name, &ref, NULL) < 0 || strcmp(ref.domain, dest->domain) != 0 ||
			    strcmp(ref.path, dest->path) == 0 || !manifest_has_blob(p->store, recs[k].digest, b->desc.digest))
				continue;
			if (add_mount_source(p->r, ref.path))
				snprintf(b->mount_from, sizeof(b->mount_from), "%s", ref.path);
		}
	}
	free(recs);
}

/* ---- the registry's answers ---------------------------------------------------------------- */

/*
 * Failures that may go away if tried again: the network (registry.c has
 * already tried the request itself), a 5xx, or an upload session the
 * registry lost (404 BLOB_UPLOAD_UNKNOWN, 416 after a half-received chunk).
 * A refusal (401, 403, 400 DIGEST_INVALID...) will be the same next time.
 */
static bool worth_retrying(int err, long status)
{
	if (status == 0)
		return err == ECONNABORTED || err == ETIMEDOUT;
	return status >= 500 || status == 404 || status == 416;
}

/* Why a push request did not get what it wanted, named; its status kept for worth_retrying. */
static int answer_failure(struct push *p, const struct response *resp, const char *what, struct failure *f)
{
	struct registry *r = p->r;
	char why[256];

	p->last_status = resp->status;
	describe_status(resp, why, sizeof(why));
	if (resp->status == 401 || resp->status == 403) {
		errno = EACCES;
		return failed(f, "push access denied for %s/%s: log in with credentials that may push there (%s)",
			      r->domain, r->repository, why);
	}
	errno = resp->status == 404 ? ENOENT : EPROTO;
	return failed(f, "%s: %s", what, why);
}

/* "SESSION?_state=..&digest=sha256:..": the URL that ends an upload (a query may be there already). */
static int session_url_with_digest(const char *session, const char *digest, char *buf, size_t size)
{
	char *escaped = curl_escape(digest, 0);
	int ret = escaped ? format_into(buf, size, "%s%sdigest=%s", session, strchr(session, '?') ? "&" : "?", escaped)
			  : -1;

	curl_free(escaped);
	return ret;
}

/* ---- one blob ------------------------------------------------------------------------------- */

/* HEAD: does the registry have this blob already (in this repository)? */
static int blob_exists(struct push *p, const struct push_blob *b, bool *exists, struct failure *f)
{
	char path[2 * REF_NAME_MAX + DIGEST_LEN];
	struct response resp = { .max = STATUS_BODY_MAX };
	struct request req = { .method = "HEAD", .url = path };
	int ret;

	if (format_into(path, sizeof(path), "/v2/%s/blobs/%s", p->r->repository, b->desc.digest) < 0)
		return failed(f, "blob %s", b->desc.digest);
	ret = registry_request(p->r, &req, &resp, f);
	*exists = ret == 0 && resp.status == 200;
	if (ret == 0 && resp.status != 200 && resp.status != 404)
		ret = answer_failure(p, &resp, "check", f);
	free_response(&resp);
	return ret;
}

/*
 * POST: open an upload session (202, its URL in Location), or, with
 * ?mount=, ask for the blob to be shared from another repository (201:
 * done, mounted is set).
 */
static int open_session(struct push *p, const struct push_blob *b, char *session, size_t size, bool *mounted,
			struct failure *f)
{
	char path[4 * REF_NAME_MAX + DIGEST_LEN];
	struct response resp = { .max = STATUS_BODY_MAX };
	struct request req = { .method = "POST", .url = path, .tries = 1 };
	int ret;

	if (b->mount_from[0])
		ret = format_into(path, sizeof(path), "/v2/%s/blobs/uploads/?mount=%s&from=%s", p->r->repository,
				  b->desc.digest, b->mount_from);
	else
		ret = format_into(path, sizeof(path), "/v2/%s/blobs/uploads/", p->r->repository);
	if (ret < 0)
		return failed(f, "blob %s", b->desc.digest);
	ret = registry_request(p->r, &req, &resp, f);
	*mounted = ret == 0 && resp.status == 201;
	if (ret == 0 && !*mounted && resp.status != 202)
		ret = answer_failure(p, &resp, "start an upload", f);
	else if (ret == 0 && !*mounted && format_into(session, size, "%s", resp.location) < 0)
		ret = failed(f, "upload session URL");
	if (ret == 0 && !*mounted && !session[0]) {
		errno = EPROTO;
		ret = failed(f, "start an upload: the registry gave no upload location");
	}
	free_response(&resp);
	return ret;
}

/* The upload's last request succeeded: 201, and the registry agrees about what it got. */
static int check_created(struct push *p, const struct push_blob *b, const struct response *resp, struct failure *f)
{
	if (resp->status != 201)
		return answer_failure(p, resp, "upload", f);
	if (resp->digest[0] && strcmp(resp->digest, b->desc.digest) != 0) {
		errno = EBADMSG;
		return failed(f, "blob %s: the registry stored it as %s", b->desc.digest, resp->digest);
	}
	return 0;
}

/* PUT SESSION?digest=D with bytes offset.. of the blob (all of it, or none after chunks): the upload ends. */
static int finish_upload(struct push *p, const struct push_blob *b, int fd, const char *session, long long offset,
			 struct response *resp, struct failure *f)
{
	char url[URL_MAX + DIGEST_LEN + 16];
	struct request req = { .method = "PUT", .url = url, .content_type = octet_stream, .fd = fd, .offset = offset,
			       .length = b->desc.size - offset, .tries = 1, .sent = count_sent, .user = p };

	if (session_url_with_digest(session, b->desc.digest, url, sizeof(url)) < 0)
		return failed(f, "blob %s: upload URL", b->desc.digest);
	return registry_request(p->r, &req, resp, f);
}

/*
 * "0-1023" (distribution-spec: the bytes the session holds, both ends
 * included): the next byte, 1024. docker-registry says "0-0" for an empty
 * session too (it cannot say "none"), so "0-0" is read as nothing: at
 * worst one byte is sent again, and chunks are never one byte long.
 */
static long long next_offset(const char *range)
{
	const char *dash = strchr(range, '-');
	long long last;

	if (!range[0] || !dash)
		return 0;
	last = strtoll(dash + 1, NULL, 10);
	return last == 0 ? 0 : last + 1;
}

/* GET SESSION: how far did the upload get? (204, Range, and the session's next Location.) */
static int session_status(struct push *p, char *session, size_t size, long long *offset, struct failure *f)
{
	struct response resp = { .max = STATUS_BODY_MAX };
	struct request req = { .method = "GET", .url = session, .tries = 1 };
	int ret = registry_request(p->r, &req, &resp, f);

	if (ret == 0 && resp.status != 204)
		ret = answer_failure(p, &resp, "upload status", f);
	if (ret == 0) {
		*offset = next_offset(resp.range);
		if (resp.location[0])
			snprintf(session, size, "%s", resp.location);
	}
	free_response(&resp);
	return ret;
}

/* PATCH one chunk at offset; the session moves on to the URL in Location. */
static int send_chunk(struct push *p, const struct push_blob *b, int fd, char *session, size_t size,
		      long long *offset, struct failure *f)
{
	long long len = b->desc.size - *offset < p->chunk_size ? b->desc.size - *offset : p->chunk_size;
	char range[64];
	struct response resp = { .max = STATUS_BODY_MAX };
	struct request req = { .method = "PATCH", .url = session, .content_type = octet_stream, .content_range = range,
			       .fd = fd, .offset = *offset, .length = len, .tries = 1, .sent = count_sent, .user = p };
	int ret;

	snprintf(range, sizeof(range), "%lld-%lld", *offset, *offset + len - 1);
	ret = registry_request(p->r, &req, &resp, f);
	if (ret == 0 && resp.status != 202)
		ret = answer_failure(p, &resp, "upload", f);
	if (ret == 0) {
		/* Range says what the session holds now; it, not what we sent, is where to go on. */
		*offset = resp.range[0] ? next_offset(resp.range) : *offset + len;
		if (resp.location[0])
			snprintf(session, size, "%s", resp.location);
	}
	free_response(&resp);
	return ret;
}

/*
 * Chunks (PATCH, Content-Range) then the closing PUT. A chunk that fails is
 * not the end: the session is asked how much it holds (GET, Range) and the
 * upload goes on from there, REGISTRY_TRIES times at most.
 */
static int upload_chunks(struct push *p, const struct push_blob *b, int fd, char *session, size_t size,
			 struct failure *f)
{
	struct response resp = { .max = STATUS_BODY_MAX };
	struct failure ignored;
	long long offset = 0;
	int resumes = 0, ret;

	while (offset < b->desc.size) {
		if (send_chunk(p, b, fd, session, size, &offset, f) == 0)
			continue;
		if (++resumes >= REGISTRY_TRIES || !worth_retrying(errno, p->last_status))
			return -1;
		/* f keeps the chunk's failure; if the session is gone too, push_blob starts over. */
		p->last_status = 0;
		usleep((useconds_t)(BACKOFF_MS << (resumes - 1)) * 1000);
		if (session_status(p, session, size, &offset, &ignored) < 0)
			return -1;
	}
	ret = finish_upload(p, b, fd, session, b->desc.size, &resp, f);
	if (ret == 0)
		ret = check_created(p, b, &resp, f);
	free_response(&resp);
	return ret;
}

/* The bytes of the blob: all in one PUT, or in chunks for a large one. */
static int upload(struct push *p, const struct push_blob *b, char *session, size_t size, struct failure *f)
{
	char path[PATH_MAX];
	struct response resp = { .max = STATUS_BODY_MAX };
	int fd, ret;

	if (store_blob_path(p->store, b->desc.digest, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return failed(f, "blob %s is not in the store", b->desc.digest);
	if (b->desc.size > p->whole_max) {
		ret = upload_chunks(p, b, fd, session, size, f);
	} else {
		ret = finish_upload(p, b, fd, session, 0, &resp, f);
		if (ret == 0)
			ret = check_created(p, b, &resp, f);
	}
	free_response(&resp);
	close(fd);
	return ret;
}

/* One try: skip it if the registry has it, else mount it, else open a session and send it. */
static int try_blob(struct push *p, struct push_blob *b, struct failure *f)
{
	char session[URL_MAX];
	bool exists, mounted;

	p->last_status = 0;
	if (blob_exists(p, b, &exists, f) < 0)
		return -1;
	if (exists) {
		set_state(p, b, BLOB_EXISTS);
		return 0;
	}
	if (open_session(p, b, session, sizeof(session), &mounted, f) < 0)
		return -1;
	if (mounted) {
		set_state(p, b, BLOB_MOUNTED);
		return 0;
	}
	b->mount_from[0] = '\0';	/* the registry said no: a retry uploads without asking again */
	b->sent = 0;
	set_state(p, b, BLOB_PUSHING);
	if (upload(p, b, session, sizeof(session), f) < 0)
		return -1;
	set_state(p, b, BLOB_PUSHED);
	return 0;
}

/*
 * One blob, tried REGISTRY_TRIES times: a try that fails on the network or
 * on a 5xx starts over from the HEAD (which skips the blob if the failed
 * try got it there after all). Refusals (401, 403, 400) are final.
 */
static int push_blob(struct push *p, struct push_blob *b, struct failure *f)
{
	for (int tries = 1;; tries++) {
		struct failure why;
		int err;

		p->current = b;
		if (try_blob(p, b, &why) == 0)
			return 0;
		err = errno;
		if (p->progress == PROGRESS_TERMINAL && b->is_layer && b->state == BLOB_PUSHING)
			fprintf(p->out, "\n");	/* keep the line the failed try drew */
		errno = err;
		if (!worth_retrying(errno, p->last_status))	/* "push access denied" says enough without the blob */
			return errno == EACCES ? failed(f, "%s", why.what) : failed(f, "blob %s: %s", b->desc.digest, why.what);
		if (tries == REGISTRY_TRIES)
			return failed(f, "blob %s: %s (%d tries)", b->desc.digest, why.what, tries);
		usleep((useconds_t)(BACKOFF_MS << (tries - 1)) * 1000);
	}
}

/* ---- the manifest, last ---------------------------------------------------------------------- */

/* PUT the manifest under tag (or digest): now, and only now, the image exists there. */
static int push_manifest(struct push *p, const char *reference, const char *bytes, size_t len, const char *digest,
			 struct failure *f)
{
	char path[2 * REF_NAME_MAX + DIGEST_LEN], media_type[MEDIA_TYPE_MAX];
	struct response resp = { .max = STATUS_BODY_MAX };
	struct request req = { .method = "PUT", .url = path, .content_type = media_type, .data = bytes,
			       .length = (long long)len };
	int ret;

	/* OCI lets a manifest leave out mediaType; it is then an OCI image manifest. */
	manifest_kind(NULL, bytes, len, media_type, sizeof(media_type));
	if (!media_type[0])
		snprintf(media_type, sizeof(media_type), "application/vnd.oci.image.manifest.v1+json");
	if (format_into(path, sizeof(path), "/v2/%s/manifests/%s", p->r->repository, reference) < 0)
		return failed(f, "manifest %s", reference);
	ret = registry_request(p->r, &req, &resp, f);
	if (ret == 0 && resp.status != 201)
		ret = answer_failure(p, &resp, "manifest", f);
	if (ret == 0 && resp.digest[0] && strcmp(resp.digest, digest) != 0) {
		errno = EBADMSG;
		ret = failed(f, "manifest %s: the registry stored it as %s", digest, resp.digest);
	}
	free_response(&resp);
	return ret;
}

/* ---- a push ----------------------------------------------------------------------------------- */

/* Where the image goes: DEST if given, else where its own name says; a pinned digest must be its own. */
static int destination(const char *source, const char *dest, const char *digest, struct reference *ref,
		       struct failure *f)
{
	if (parse_reference(dest ? dest : source, ref, f) < 0)
		return -1;
	if (ref->digest[0] && strcmp(ref->digest, digest) != 0) {
		errno = EINVAL;
		return failed(f, "%s: the image's manifest is %s; it cannot be pushed under another digest", dest, digest);
	}
	return 0;
}

static enum progress_mode progress_mode(enum progress_mode asked, FILE *out)
{
	if (asked != PROGRESS_AUTO)
		return asked;
	return isatty(fileno(out)) ? PROGRESS_TERMINAL : PROGRESS_LINES;
}

/* Every blob, then the manifest. */
static int send_image(struct push *p, const struct reference *dest, const char *bytes, size_t len,
		      const char *digest, struct failure *f)
{
	char text[3 * REF_NAME_MAX];

	reference_name(dest, text, sizeof(text));
	if (p->progress != PROGRESS_QUIET)
		fprintf(p->out, "The push refers to repository [%s]\n", text);
	if (registry_ping(p->r, f) < 0)
		return -1;
	for (size_t i = 0; i < p->nblobs; i++) {
		if (push_blob(p, &p->blobs[i], f) < 0)
			return -1;
	}
	if (push_manifest(p, dest->digest[0] ? dest->digest : dest->tag, bytes, len, digest, f) < 0)
		return -1;
	if (p->progress != PROGRESS_QUIET)
		fprintf(p->out, "%s: digest: %s size: %zu\n", dest->digest[0] ? dest->digest : dest->tag, digest, len);
	return 0;
}

/*
 * Push the stored image named source to dest (another reference: a new
 * registry, repository or tag), or to where source's own name says if dest
 * is NULL. digest gets the manifest's digest. Progress goes to opt->out
 * (stdout if NULL); failures are noted in f, never printed.
 */
int push_image(const struct store *s, const char *source, const char *dest, const struct push_options *opt,
	       char digest[DIGEST_LEN + 1], struct failure *f)
{
	struct reference src, to;
	struct image_record rec;
	struct manifest m = { 0 };
	struct registry r;
	FILE *out = opt->out ? opt->out : stdout;
	struct push p = { .store = s, .r = &r, .out = out, .progress = progress_mode(opt->progress, out),
			  .whole_max = opt->chunk_size > 0 ? opt->chunk_size : PUSH_WHOLE_MAX,
			  .chunk_size = opt->chunk_size > 0 ? opt->chunk_size : PUSH_CHUNK_SIZE };
	char *bytes = NULL;
	size_t len = 0;
	int ret;

	if (parse_reference(source, &src, f) < 0 || read_source(s, &src, &rec, &bytes, &len, &m, f) < 0)
		return -1;
	snprintf(digest, DIGEST_LEN + 1, "%s", rec.digest);
	ret = destination(source, dest, rec.digest, &to, f);
	if (ret == 0)
		ret = registry_open(&r, &to, &opt->registry, f);
	if (ret == 0) {
		/* The token must allow the upload (distribution token.md: scope repository:NAME:pull,push). */
		snprintf(r.actions, sizeof(r.actions), "pull,push");
		ret = plan_blobs(&p, &m, f);
		if (ret == 0)
			find_mount_sources(&p, &to);
		if (ret == 0)
			ret = send_image(&p, &to, bytes, len, rec.digest, f);
		registry_close(&r);
	}
	free(p.blobs);
	free_manifest(&m);
	free(bytes);
	return ret;
}
