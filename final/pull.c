/*
 * pull.c - a pull, from a name to an image in the store.
 *
 *   1. the name: busybox -> docker.io/library/busybox:latest (reference.c)
 *   2. the manifest: GET by tag; an index picks this machine's platform (registry.c, manifest.c)
 *   3. the config: its rootfs.diff_ids name each layer as it will be unpacked
 *   4. the layers: the missing ones download in parallel; each is unpacked
 *      (in a thread of its own, layer.c) as soon as it is complete and verified
 *   5. the name is written into the index (store.c): only now is the image there
 *
 * What the store has already is not fetched again, so a second pull of the
 * same image costs one manifest GET, and a pull by digest of an image the
 * store has costs nothing at all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "box.h"

enum {
	PROGRESS_REDRAW_MS = 100,	/* a terminal is redrawn at most ten times a second */
	SHORT_ID_LEN = 12,		/* docker shows a layer by the first 12 hex digits of its digest */
};

enum layer_state { LAYER_WAITING, LAYER_DOWNLOADING, LAYER_UNPACKING, LAYER_DONE, LAYER_EXISTS };

static const char *const state_names[] = {
	[LAYER_WAITING] = "Waiting",
	[LAYER_DOWNLOADING] = "Downloading",
	[LAYER_UNPACKING] = "Unpacking",
	[LAYER_DONE] = "Pull complete",
	[LAYER_EXISTS] = "Already exists",
};

/* One distinct layer of the image: its blob, its diffID, and how far it has come. */
struct layer_job {
	struct pull *pull;
	struct descriptor blob;
	const char *diff_id;
	enum layer_state state;
	long long received;
	pthread_t thread;
	bool has_thread;
	atomic_bool finished;	/* set by the unpacking thread as its last act */
	int result;
	int error;		/* errno is per thread: the thread's is carried back here */
	struct failure failure;
};

struct pull {
	const struct store *store;
	enum progress_mode progress;
	FILE *out;		/* where progress goes */
	struct layer_job *jobs;
	size_t njobs;
	int lines_drawn;
	double last_draw;
	volatile bool cancel;	/* tells unpacking threads to stop between entries */
};

/* ---- progress ------------------------------------------------------------------------------ */

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void short_id(const char *digest, char *buf, size_t size)
{
	snprintf(buf, size, "%.*s", SHORT_ID_LEN, digest + strlen("sha256:"));
}

/* A terminal gets one line per layer, redrawn in place (ANSI: cursor up, erase line). */
static void draw_terminal(struct pull *p, bool force)
{
	char id[SHORT_ID_LEN + 1], got[16], total[16];

	if (!force && now_seconds() - p->last_draw < PROGRESS_REDRAW_MS / 1000.0)
		return;
	p->last_draw = now_seconds();
	if (p->lines_drawn)
		fprintf(p->out, "\033[%dA", p->lines_drawn);
	for (size_t i = 0; i < p->njobs; i++) {
		struct layer_job *j = &p->jobs[i];

		short_id(j->blob.digest, id, sizeof(id));
		format_size(j->received, got, sizeof(got));
		format_size(j->blob.size, total, sizeof(total));
		if (j->state == LAYER_DOWNLOADING)
			fprintf(p->out, "\r\033[K%s: %s %s/%s\n", id, state_names[j->state], got, total);
		else
			fprintf(p->out, "\r\033[K%s: %s\n", id, state_names[j->state]);
	}
	p->lines_drawn = (int)p->njobs;
	fflush(p->out);
}

/* Not a terminal (a log, a pipe): a line when a layer starts and one when it is done, nothing between. */
static void set_state(struct pull *p, struct layer_job *j, enum layer_state state)
{
	char id[SHORT_ID_LEN + 1], size[16];

	j->state = state;
	if (p->progress == PROGRESS_TERMINAL) {
		draw_terminal(p, true);
		return;
	}
	if (p->progress != PROGRESS_LINES)
		return;
	short_id(j->blob.digest, id, sizeof(id));
	format_size(j->blob.size, size, sizeof(size));
	if (state == LAYER_DOWNLOADING)
		fprintf(p->out, "Pulling sha256:%s... %s\n", id, size);
	else if (state == LAYER_DONE || state == LAYER_EXISTS)
		fprintf(p->out, "sha256:%s... %s\n", id, state == LAYER_DONE ? "done" : "already exists");
	fflush(p->out);
}

/* ---- unpacking, one thread per layer -------------------------------------------------------- */

static void *unpack_thread(void *arg)
{
	struct layer_job *j = arg;

	j->result = store_add_layer(j->pull->store, j->blob.digest, j->diff_id, &j->pull->cancel, &j->failure);
	j->error = errno;
	atomic_store(&j->finished, true);
	return NULL;
}

static int start_unpacking(struct pull *p, struct layer_job *j, struct failure *f)
{
	int err;

	set_state(p, j, LAYER_UNPACKING);
	err = pthread_create(&j->thread, NULL, unpack_thread, j);
	if (err) {
		errno = err;
		return failed(f, "start unpacking layer %s", j->blob.digest);
	}
	j->has_thread = true;
	return 0;
}

/* Join the threads that are done (all of them, if wait); report the first failure. */
static int join_finished(struct pull *p, bool wait, struct failure *f)
{
	int ret = 0;

	for (size_t i = 0; i < p->njobs; i++) {
		struct layer_job *j = &p->jobs[i];

		if (!j->has_thread || (!wait && !atomic_load(&j->finished)))
			continue;
		pthread_join(j->thread, NULL);
		j->has_thread = false;
		if (j->result < 0 && ret == 0) {
			*f = j->failure;
			errno = j->error;
			ret = -1;
		}
		if (j->result == 0)
			set_state(p, j, LAYER_DONE);
	}
	return ret;
}

/* ---- what registry_fetch_blobs tells us ------------------------------------------------------ */

static void fetch_started(struct blob_fetch *b, void *user)
{
	struct layer_job *j = b->user;

	if (j->state != LAYER_DOWNLOADING)
		set_state(user, j, LAYER_DOWNLOADING);
}

static int fetch_done(struct blob_fetch *b, void *user, struct failure *f)
{
	struct layer_job *j = b->user;

	j->received = b->desc.size;
	return start_unpacking(user, j, f);
}

static int fetch_tick(struct blob_fetch *fetches, size_t count, void *user, struct failure *f)
{
	struct pull *p = user;

	for (size_t i = 0; i < count; i++) {
		struct layer_job *j = fetches[i].user;

		if (fetches[i].state == FETCH_RUNNING)
			j->received = fetches[i].writer.size;
	}
	if (p->progress == PROGRESS_TERMINAL)
		draw_terminal(p, false);
	return join_finished(p, false, f);
}

static const struct fetch_events fetch_events = {
	.started = fetch_started,
	.done = fetch_done,
	.tick = fetch_tick,
};

/* ---- the steps of a pull ----------------------------------------------------------------------- */

/* A pull by digest of an image the store has whole: no need to ask the registry anything. */
static bool have_pinned(const struct store *s, const struct reference *ref, struct image_record *rec)
{
	struct failure ignored;
	struct image img;

	if (!ref->digest[0] || store_find_image(s, ref, rec) < 0)
		return false;
	if (store_open_image(s, ref, &img, &ignored) < 0)
		return false;
	free_image(&img);
	return true;
}

/* The platform to pull: --platform, or this machine's. */
static int wanted_platform(const struct pull_options *opt, struct platform *want, struct failure *f)
{
	if (opt->platform)
		return parse_platform(opt->platform, want, f);
	if (host_platform(want) < 0)
		return failed(f, "uname");
	return 0;
}

/* From an index, the manifest for the platform; from the store if it has it, else from the registry. */
static int follow_index(struct registry *r, const struct store *s, struct response *resp, const struct platform *want,
			char *digest, struct failure *f)
{
	struct image_index index;
	struct descriptor chosen;
	int ret;

	if (parse_index(resp->body, resp->len, &index, f) < 0)
		return -1;
	ret = choose_platform(&index, want, &chosen, f);
	free_index(&index);
	if (ret < 0)
		return -1;
	free_response(resp);
	snprintf(digest, DIGEST_LEN + 1, "%s", chosen.digest);
	if (store_has_blob(s, chosen.digest)) {
		char *data;

		if (store_read_blob(s, chosen.digest, MANIFEST_MAX, &data, &resp->len, f) < 0)
			return -1;
		resp->body = data;
		/* The index's headers do not describe this document: its own bytes must. */
		resp->content_type[0] = '\0';
		resp->digest[0] = '\0';
		return 0;
	}
	return registry_get_manifest(r, chosen.digest, resp, digest, f);
}

/* Refuse what box cannot pull, naming it. */
static int check_kind(enum manifest_kind kind, const char *media_type, const char *what, struct failure *f)
{
	errno = ENOTSUP;
	if (kind == KIND_SCHEMA1)
		return failed(f, "%s is a Docker schema 1 manifest, which box does not support: push it again with a current client",
			      what);
	if (kind == KIND_UNKNOWN)
		return failed(f, "%s has media type \"%s\", which is not an image manifest or index", what, media_type);
	return 0;
}

/*
 * The image manifest for ref: resp gets its bytes, rec its digest and (if
 * the tag named an index) the index's digest. Both are stored as blobs.
 */
static int resolve_manifest(struct registry *r, const struct store *s, const struct reference *ref,
			    const struct platform *want, struct response *resp, struct image_record *rec,
			    struct failure *f)
{
	char media_type[MEDIA_TYPE_MAX], what[3 * REF_NAME_MAX], digest[DIGEST_LEN + 1];
	enum manifest_kind kind;

	reference_string(ref, what, sizeof(what));
	if (registry_get_manifest(r, ref->digest[0] ? ref->digest : ref->tag, resp, digest, f) < 0)
		return -1;
	kind = manifest_kind(resp->content_type, resp->body, resp->len, media_type, sizeof(media_type));
	if (check_kind(kind, media_type, what, f) < 0)
		return -1;
	if (kind == KIND_INDEX) {
		snprintf(rec->index_digest, sizeof(rec->index_digest), "%s", digest);
		if (store_put_blob(s, digest, resp->body, resp->len, f) < 0 ||
		    follow_index(r, s, resp, want, digest, f) < 0)
			return -1;
		kind = manifest_kind(resp->content_type, resp->body, resp->len, media_type, sizeof(media_type));
		if (kind != KIND_MANIFEST) {
			errno = ENOTSUP;
			return failed(f, "%s: the index points to a %s, not an image manifest", what, media_type);
		}
	}
	snprintf(rec->digest, sizeof(rec->digest), "%s", digest);
	return store_put_blob(s, digest, resp->body, resp->len, f);
}

/* The image config: from the store if it has it, else from the registry (and then stored). */
static int get_config(struct registry *r, const struct store *s, const struct descriptor *d,
		      struct image_config *config, struct failure *f)
{
	struct response resp = { 0 };
	char *data = NULL;
	size_t len;
	int ret;

	if (d->size > CONFIG_MAX) {
		errno = EFBIG;
		return failed(f, "image config %s is %lld bytes; box reads %d at most", d->digest, d->size, CONFIG_MAX);
	}
	if (store_has_blob(s, d->digest))
		ret = store_read_blob(s, d->digest, CONFIG_MAX, &data, &len, f);
	else if ((ret = registry_get_blob(r, d, &resp, f)) == 0 &&
		 (ret = store_put_blob(s, d->digest, resp.body, resp.len, f)) == 0) {
		data = resp.body;
		len = resp.len;
		resp.body = NULL;
	}
	free_response(&resp);
	if (ret == 0)
		ret = parse_image_config(data, len, config, f);
	free(data);
	return ret;
}

/* The platform asked for with --platform must be the one the image is for. */
static int check_platform(const struct pull_options *opt, const struct platform *want,
			  const struct image_config *config, struct failure *f)
{
	char got[3 * PLATFORM_PART_MAX];

	if (!opt->platform || (strcmp(config->platform.os, want->os) == 0 &&
			       strcmp(config->platform.architecture, want->architecture) == 0))
		return 0;
	platform_string(&config->platform, got, sizeof(got));
	errno = ENOENT;
	return failed(f, "the image is for %s, not %s", got, opt->platform);
}

/* One job per distinct layer blob (old images repeat the empty layer). */
static int plan_layers(struct pull *p, const struct manifest *m, const struct image_config *config,
		       struct failure *f)
{
	if (config->ndiff_ids != m->count) {
		errno = EINVAL;
		return failed(f, "the image config lists %zu layers, the manifest %zu", config->ndiff_ids, m->count);
	}
	p->jobs = calloc(m->count + 1, sizeof(*p->jobs));
	if (!p->jobs)
		return failed(f, "plan layers");
	for (size_t i = 0; i < m->count; i++) {
		bool seen = false;

		for (size_t k = 0; k < p->njobs; k++)
			seen |= strcmp(p->jobs[k].blob.digest, m->layers[i].digest) == 0;
		if (seen)
			continue;
		p->jobs[p->njobs].pull = p;
		p->jobs[p->njobs].blob = m->layers[i];
		p->jobs[p->njobs].diff_id = config->diff_ids[i];
		p->njobs++;
	}
	return 0;
}

/* Unpack what is downloaded but not unpacked; list the blobs still missing. */
static int start_local_work(struct pull *p, struct blob_fetch *fetches, size_t *nfetches, struct failure *f)
{
	*nfetches = 0;
	for (size_t i = 0; i < p->njobs; i++) {
		struct layer_job *j = &p->jobs[i];
		bool have_blob = store_has_blob(p->store, j->blob.digest);

		if (have_blob && store_has_layer(p->store, j->diff_id)) {
			set_state(p, j, LAYER_EXISTS);
		} else if (have_blob) {
			if (start_unpacking(p, j, f) < 0)
				return -1;
		} else {
			memset(&fetches[*nfetches], 0, sizeof(fetches[*nfetches]));
			fetches[*nfetches].desc = j->blob;
			fetches[*nfetches].user = j;
			(*nfetches)++;
		}
	}
	return 0;
}

/* Download and unpack every layer the store lacks; wait for all of it. */
static int get_layers(struct registry *r, struct pull *p, struct failure *f)
{
	struct blob_fetch *fetches = calloc(p->njobs + 1, sizeof(*fetches));
	struct failure later;	/* a thread's failure after the first one: not reported */
	size_t nfetches;
	int ret;

	if (!fetches)
		return failed(f, "plan downloads");
	ret = start_local_work(p, fetches, &nfetches, f);
	if (ret == 0 && nfetches)
		ret = registry_fetch_blobs(r, p->store, fetches, nfetches, &fetch_events, p, f);
	if (ret < 0)
		p->cancel = true;
	/* Every thread is joined, also after a failure: none may outlive the pull. */
	if (join_finished(p, true, ret < 0 ? &later : f) < 0)
		ret = -1;
	if (p->progress == PROGRESS_TERMINAL)
		draw_terminal(p, true);
	free(fetches);
	return ret;
}

/* The unpacked size of the image: what 'box images' shows. */
static long long image_size(const struct store *s, const struct image_config *config)
{
	struct layer_info info;
	long long size = 0;

	for (size_t i = 0; i < config->ndiff_ids; i++) {
		if (store_read_layer_info(s, config->diff_ids[i], &info) == 0)
			size += info.size;
	}
	return size;
}

static int name_image(const struct store *s, const struct reference *ref, const struct image_config *config,
		      const struct descriptor *config_desc, struct image_record *rec, struct failure *f)
{
	time_t created = 0;

	reference_name(ref, rec->name, sizeof(rec->name));
	snprintf(rec->tag, sizeof(rec->tag), "%s", ref->digest[0] ? "" : ref->tag);
	snprintf(rec->config, sizeof(rec->config), "%s", config_desc->digest);
	if (config->created)
		parse_rfc3339(config->created, &created);
	rec->created = created;
	rec->size = image_size(s, config);
	return store_add_image(s, rec, f);
}

/* After the manifest: config, layers, name. */
static int pull_manifest(struct registry *r, struct pull *p, const struct reference *ref, const struct response *resp,
			 const struct pull_options *opt, const struct platform *want, struct image_record *rec,
			 struct failure *f)
{
	struct manifest m;
	struct image_config config;
	int ret;

	if (parse_manifest(resp->body, resp->len, &m, f) < 0)
		return -1;
	ret = get_config(r, p->store, &m.config, &config, f);
	if (ret == 0) {
		ret = check_platform(opt, want, &config, f);
		if (ret == 0)
			ret = plan_layers(p, &m, &config, f);
		if (ret == 0)
			ret = get_layers(r, p, f);
		if (ret == 0)
			ret = name_image(p->store, ref, &config, &m.config, rec, f);
		free_image_config(&config);
	}
	free_manifest(&m);
	free(p->jobs);
	p->jobs = NULL;
	return ret;
}

static enum progress_mode progress_mode(enum progress_mode asked, FILE *out)
{
	if (asked != PROGRESS_AUTO)
		return asked;
	return isatty(fileno(out)) ? PROGRESS_TERMINAL : PROGRESS_LINES;
}

/*
 * Pull the image text names into the store s (opened STORE_SHARED) and
 * name it there; rec gets its index record. Progress goes to opt->out
 * (stdout if NULL) as opt->progress says; failures are noted in f, never printed.
 */
int pull_image(const struct store *s, const char *text, const struct pull_options *opt,
	       struct image_record *rec, struct failure *f)
{
	struct reference ref;
	struct platform want;
	struct image_record before;
	struct registry r;
	struct response resp = { 0 };
	FILE *out = opt->out ? opt->out : stdout;
	struct pull p = { .store = s, .progress = progress_mode(opt->progress, out), .out = out };
	char name[3 * REF_NAME_MAX];
	int ret;

	memset(rec, 0, sizeof(*rec));
	if (parse_reference(text, &ref, f) < 0 || wanted_platform(opt, &want, f) < 0)
		return -1;
	reference_string(&ref, name, sizeof(name));
	if (have_pinned(s, &ref, rec)) {
		if (p.progress != PROGRESS_QUIET)
			fprintf(out, "Status: Image is up to date for %s\n", name);
		return 0;
	}
	if (store_find_image(s, &ref, &before) < 0)
		before.digest[0] = '\0';
	if (registry_open(&r, &ref, &opt->registry, f) < 0)
		return -1;
	ret = registry_ping(&r, f);
	if (ret == 0)
		ret = resolve_manifest(&r, s, &ref, &want, &resp, rec, f);
	if (ret == 0)
		ret = pull_manifest(&r, &p, &ref, &resp, opt, &want, rec, f);
	free_response(&resp);
	registry_close(&r);
	if (ret == 0 && p.progress != PROGRESS_QUIET)
		fprintf(out, "Digest: %s\nStatus: %s %s\n", rec->index_digest[0] ? rec->index_digest : rec->digest,
		       strcmp(before.digest, rec->digest) == 0 ? "Image is up to date for" : "Downloaded newer image for",
		       name);
	return ret;
}
