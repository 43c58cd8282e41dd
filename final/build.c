/*
 * build.c - 'box build': a Containerfile, one instruction at a time, into
 * an image; and the cache that makes a rebuild take a second.
 *
 * Each instruction changes the image being built (the "draft", commit.c):
 *
 *     FROM busybox                    start from an image (pulled if needed), a stage, or scratch
 *     COPY app.sh /app/               a new layer: files from the context (copy.c, diff.c)
 *     RUN sh /app/app.sh build        a new layer: what the command wrote (its overlay upper directory)
 *     ENV MODE=prod                   config only: no layer, an entry in the history
 *     CMD ["/app/app.sh"]             config only
 *
 * The cache. Every step has a key: the sha256 of the key of the step
 * before it (so, through the chain, of every step since FROM and of the
 * base image's digest), the instruction with its variables expanded, and,
 * for COPY and ADD, the checksum of the files it takes. The store keeps
 * what each step produced under its key (its layer, its history entry).
 * A step whose key is there is not run again: its layer is reused, and so
 * is its time, so an unchanged Containerfile gives the very same image
 * (the same config bytes, the same ID). Change one line, and its key
 * changes, and with it the key of every step after it: everything from
 * that line on is built again. That is why a Containerfile copies the
 * files that change often as late as it can.
 *
 * RUN needs a container: the layers so far, read-only, under an empty
 * upper directory, and the command run inside. That is the engine's job;
 * this file calls build_run() (declared in box.h) and turns the upper
 * directory it filled into the step's layer.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "box.h"

static const char *const default_files[] = { "Containerfile", "Dockerfile", NULL };
static const char *const default_shell[] = { "/bin/sh", "-c", NULL };
static const char cache_version[] = "box build cache v1";

enum {
	CONTAINERFILE_MAX = 1024 * 1024,
	KEY_TEXT_MAX = 256 * 1024,
	SHORT_ID = 12,
	STAGE_NAME_MAX = 128,
};

/* A FROM and what follows it, until the next FROM. */
struct stage {
	char name[STAGE_NAME_MAX];	/* FROM ... AS name; "" without */
	struct image_draft draft;
	char key[DIGEST_LEN + 1];	/* the cache key of its last step: the chain so far */
	struct vars args;	/* ARGs declared in this stage, with their values */
	char **shell;		/* SHELL; /bin/sh -c until changed */
	bool cmd_set;		/* CMD given in this stage (ENTRYPOINT clears an inherited CMD) */
};

struct build {
	const struct store *store;
	const struct build_options *opt;
	FILE *out;
	struct containerfile cf;
	int context_fd;
	struct ignore ignore;
	struct vars build_args;	/* --build-arg NAME=VALUE */
	struct vars used_args;	/* the build args some ARG asked for: the rest draw a warning */
	struct vars global_args;	/* ARGs before the first FROM: for FROM lines */
	struct stage *stages;
	size_t nstages;
	size_t step;
	long long clamp;	/* SOURCE_DATE_EPOCH, or -1 */
	struct build_result *result;
};

/* What a step made: a layer or not, and the history entry the image keeps for it. */
struct step_result {
	bool has_layer;
	struct layer_blob layer;
	char created[32];
	char *created_by;
};

/* ---- small helpers ---------------------------------------------------------------------------- */

static char **copy_list(char *const list[])
{
	size_t n = 0;
	char **copy;

	while (list && list[n])
		n++;
	copy = calloc(n + 1, sizeof(*copy));
	for (size_t i = 0; copy && i < n; i++)
		copy[i] = strdup(list[i]);
	return copy;
}

static struct stage *current(struct build *b)
{
	return &b->stages[b->nstages - 1];
}

/* "Containerfile:12: <why>": a failure while building names its instruction's line. */
static int at_line(struct build *b, const struct instruction *ins, struct failure *f, const struct failure *why)
{
	return failed(f, "%s:%d: %s", b->cf.file, ins->line, why->what);
}

/* The time a step was made: SOURCE_DATE_EPOCH if set (reproducible builds), else now. */
static void step_time(const struct build *b, char *buf, size_t size)
{
	format_rfc3339(b->clamp >= 0 ? (time_t)b->clamp : time(NULL), buf, size);
}

static void hex_of_md(EVP_MD_CTX *ctx, char out[DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_DigestFinal_ex(ctx, md, &len);
	strcpy(out, "sha256:");
	for (unsigned int i = 0; i < len; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

/*
 * A step's cache key: sha256 over its parent's key, the instruction as it
 * will run (expanded, in a fixed form) and, for COPY/ADD, the files'
 * checksum ("" for other steps). Any difference in any of them, or in any
 * step before (through parent), is a different key.
 */
static void step_key(const char *parent, const char *instruction, const char *content, char key[DIGEST_LEN + 1])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, cache_version, strlen(cache_version));
	EVP_DigestUpdate(ctx, "\nparent ", 8);
	EVP_DigestUpdate(ctx, parent, strlen(parent));
	EVP_DigestUpdate(ctx, "\nstep ", 6);
	EVP_DigestUpdate(ctx, instruction, strlen(instruction));
	EVP_DigestUpdate(ctx, "\ncontent ", 9);
	EVP_DigestUpdate(ctx, content, strlen(content));
	hex_of_md(ctx, key);
	EVP_MD_CTX_free(ctx);
}

/* "KEYWORD" + the words as a JSON array: one unambiguous text per instruction, for the key. */
static char *key_text(const char *keyword, const char *flags, char *const words[], size_t count)
{
	json_t *array = json_string_list(words, count);
	char *json = array ? json_dumps(array, JSON_COMPACT) : NULL;
	char *text = NULL;

	if (json && asprintf(&text, "%s %s%s", keyword, flags, json) < 0)
		text = NULL;
	free(json);
	json_decref(array);
	return text;
}

/* "KEYWORD word word": the history's created_by, readable. */
static char *history_text(const char *keyword, char *const words[], size_t count)
{
	size_t len = strlen(keyword) + 1;
	char *text;

	for (size_t i = 0; i < count; i++)
		len += strlen(words[i]) + 1;
	text = malloc(len + 1);
	if (!text)
		return NULL;
	strcpy(text, keyword);
	for (size_t i = 0; i < count; i++)
		strcat(strcat(text, " "), words[i]);
	return text;
}

/* ---- variables: ARG and ENV ---------------------------------------------------------------------- */

/* What $NAME means in this stage: its ARGs, overridden by the image's ENV (docker's rule). */
static int stage_vars(const struct stage *st, struct vars *v)
{
	char **env = draft_env(&st->draft);
	int ret = vars_copy(&st->args, v);

	for (size_t i = 0; ret == 0 && env && env[i]; i++) {
		char *eq = strchr(env[i], '=');

		if (eq) {
			*eq = '\0';
			ret = vars_set(v, env[i], eq + 1);
		}
	}
	free_words(env);
	return env ? ret : -1;
}

/* "NAME=VALUE" of --build-arg (a bare NAME takes box's own environment's value, as docker does). */
static int read_build_args(struct build *b, struct failure *f)
{
	for (size_t i = 0; i < b->opt->nbuild_args; i++) {
		const char *arg = b->opt->build_args[i], *eq = strchr(arg, '=');
		char name[256];

		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
		if (!eq && !getenv(name))
			continue;
		if (vars_set(&b->build_args, name, eq ? eq + 1 : getenv(name)) < 0)
			return failed(f, "--build-arg %s", arg);
	}
	return 0;
}

/* ---- steps: the cache ------------------------------------------------------------------------------ */

/* A string member, or "" (never NULL: it goes straight into a buffer). */
static const char *member(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* A cached step, if its layer is still in the store (gc or rmi may have taken it). */
static bool cache_lookup(struct build *b, const char *key, struct step_result *r)
{
	json_t *entry, *layer;
	char *text;
	bool hit = false;

	if (b->opt->no_cache || store_cache_get(b->store, key, &text) < 0)
		return false;
	entry = json_loads(text, 0, NULL);
	free(text);
	layer = json_object_get(entry, "layer");
	snprintf(r->created, sizeof(r->created), "%s", member(entry, "created"));
	r->has_layer = json_is_object(layer);
	if (r->has_layer) {
		snprintf(r->layer.blob.media_type, sizeof(r->layer.blob.media_type), "%s", member(layer, "mediaType"));
		snprintf(r->layer.blob.digest, sizeof(r->layer.blob.digest), "%s", member(layer, "digest"));
		r->layer.blob.size = json_integer_value(json_object_get(layer, "size"));
		snprintf(r->layer.diff_id, sizeof(r->layer.diff_id), "%s", member(entry, "diff_id"));
	}
	hit = entry && r->created[0] &&
	      (!r->has_layer || (store_has_blob(b->store, r->layer.blob.digest) && store_has_layer(b->store, r->layer.diff_id)));
	json_decref(entry);
	return hit;
}

static int cache_store(struct build *b, const char *key, const struct step_result *r, struct failure *f)
{
	json_t *entry = json_pack("{s:s, s:s}", "created", r->created, "created_by", r->created_by);
	char *text;
	int ret;

	if (entry && r->has_layer) {
		json_object_set_new(entry, "layer", json_pack("{s:s, s:s, s:I}", "mediaType", r->layer.blob.media_type,
							      "digest", r->layer.blob.digest, "size",
							      (json_int_t)r->layer.blob.size));
		json_object_set_new(entry, "diff_id", json_string(r->layer.diff_id));
	}
	text = entry ? json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(entry);
	if (!text)
		return failed(f, "cache entry");
	ret = store_cache_put(b->store, key, text, f);
	free(text);
	return ret;
}

/* The step's result joins the image: a layer on top (if it made one) and a line of history. */
static int apply_result(struct build *b, const struct step_result *r, struct failure *f)
{
	struct stage *st = current(b);

	if (r->has_layer && draft_add_layer(&st->draft, &r->layer) < 0)
		return failed(f, "add layer %s", r->layer.blob.digest);
	if (draft_add_history(&st->draft, r->created, r->created_by, !r->has_layer, NULL) < 0)
		return failed(f, "add history");
	return 0;
}

static void print_step(struct build *b, const struct instruction *ins)
{
	fprintf(b->out, "STEP %zu/%zu: %s\n", ++b->step, b->cf.count, ins->text);
	fflush(b->out);
}

/* ---- steps: making layers ----------------------------------------------------------------------------- */

/* A directory of its own in the store's tmp/ for one step: upper/ (the layer to be), work/, mnt/. */
static int make_step_dir(struct build *b, char *dir, size_t size, struct failure *f)
{
	const char *subdirs[] = { "upper", "work", "mnt" };
	char path[PATH_MAX];

	if (format_into(dir, size, "%s/tmp/step-XXXXXX", b->store->root) < 0 || !mkdtemp(dir))
		return failed(f, "make a directory in %s/tmp", b->store->root);
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		if (path_join(path, sizeof(path), dir, subdirs[i]) < 0 || mkdir(path, 0755) < 0) {
			remove_tree(dir);
			return failed(f, "make %s/%s", dir, subdirs[i]);
		}
	}
	return 0;
}

/* The upper directory becomes the step's layer, unless it is empty (then the step adds none). */
static int take_layer(struct build *b, const char *dir, struct step_result *r, struct failure *f)
{
	char upper[PATH_MAX];

	if (path_join(upper, sizeof(upper), dir, "upper") < 0)
		return failed(f, "%s/upper", dir);
	if (layer_from_dir(b->store, upper, b->clamp, &r->layer, f) < 0)
		return -1;
	r->has_layer = r->layer.entries > 0;
	return 0;
}

/* The layer directories of the stage so far (store paths), bottom first, for lookups and mounts. */
static char **layer_dirs(const struct build *b, const struct image_draft *d, size_t *count)
{
	json_t *ids = json_object_get(json_object_get(d->config, "rootfs"), "diff_ids"), *id;
	char **dirs = calloc(json_array_size(ids) + 1, sizeof(*dirs)), path[PATH_MAX], dir[PATH_MAX];
	size_t i;

	*count = 0;
	json_array_foreach(ids, i, id) {
		if (dirs && store_layer_dir(b->store, json_string_value(id), dir, sizeof(dir)) == 0 &&
		    path_join(path, sizeof(path), dir, "diff") == 0)
			dirs[(*count)++] = strdup(path);
	}
	return dirs;
}

/* The diffIDs of the stage so far, bottom first: what build_run stacks. */
static char **diff_ids(const struct image_draft *d)
{
	json_t *ids = json_object_get(json_object_get(d->config, "rootfs"), "diff_ids"), *id;
	char **list = calloc(json_array_size(ids) + 1, sizeof(*list));
	size_t i, n = 0;

	json_array_foreach(ids, i, id) {
		if (list)
			list[n++] = strdup(json_string_value(id));
	}
	return list;
}

/* ---- RUN ------------------------------------------------------------------------------------------ */

/* The command: exec form as written; shell form as SHELL + the text ("/bin/sh -c 'echo hi'"). */
static char **run_argv(const struct stage *st, const struct instruction *ins)
{
	size_t n = 0;
	char **argv;

	if (ins->json)
		return copy_list(ins->argv);
	while (st->shell[n])
		n++;
	argv = calloc(n + 2, sizeof(*argv));
	for (size_t i = 0; argv && i < n; i++)
		argv[i] = strdup(st->shell[i]);
	if (argv)
		argv[n] = strdup(ins->args);
	return argv;
}

/* The command's environment: the image's Env, then the stage's ARGs that ENV does not set. */
static char **run_env(const struct stage *st)
{
	char **env = draft_env(&st->draft), **grown;
	size_t n = 0;

	while (env && env[n])
		n++;
	for (size_t i = 0; env && i < st->args.count; i++) {
		bool in_env = false;
		char *entry;

		for (size_t k = 0; k < n && !in_env; k++)
			in_env = strncmp(env[k], st->args.names[i], strlen(st->args.names[i])) == 0 &&
				 env[k][strlen(st->args.names[i])] == '=';
		if (in_env || asprintf(&entry, "%s=%s", st->args.names[i], st->args.values[i]) < 0)
			continue;
		grown = realloc(env, (n + 2) * sizeof(*env));
		if (!grown) {
			free(entry);
			break;
		}
		env = grown;
		env[n++] = entry;
		env[n] = NULL;
	}
	return env;
}

/* Run the command in a container on the stage's layers (build_run), and take what it wrote. */
static int run_command(struct build *b, char **argv, char **env, struct step_result *r, struct failure *f)
{
	struct stage *st = current(b);
	char dir[PATH_MAX], upper[PATH_MAX], work[PATH_MAX];
	const char *workdir = draft_get_string(&st->draft, "WorkingDir"), *user = draft_get_string(&st->draft, "User");
	char **ids = diff_ids(&st->draft);
	int status = -1, ret;
	struct build_step_run run = { .store = b->store, .diff_ids = ids, .nlayers = st->draft.nlayers, .argv = argv,
				      .env = env, .workdir = workdir && workdir[0] ? workdir : "/",
				      .user = user ? user : "", .network = b->opt->network ? b->opt->network : "bridge",
				      .upper = upper, .work = work, .status = &status };

	if (!ids || make_step_dir(b, dir, sizeof(dir), f) < 0) {
		free_words(ids);
		return ids ? -1 : failed(f, "list layers");
	}
	if (path_join(upper, sizeof(upper), dir, "upper") < 0 || path_join(work, sizeof(work), dir, "work") < 0) {
		remove_tree(dir);
		free_words(ids);
		return failed(f, "%s/upper", dir);
	}
	fflush(b->out);
	ret = build_run(&run, f);
	b->result->runs++;
	if (ret == 0 && status != 0) {
		b->result->status = status;
		errno = 0;	/* not box's failure: the command's; box exits with its status */
		ret = failed(f, "the command exited with status %d", status);
	}
	if (ret == 0)
		ret = take_layer(b, dir, r, f);
	remove_tree(dir);
	free_words(ids);
	return ret;
}

static int step_run(struct build *b, const struct instruction *ins, const char *key, struct step_result *r,
		    struct failure *f)
{
	struct stage *st = current(b);
	char **argv = run_argv(st, ins), **env = run_env(st);
	size_t argc = 0;
	int ret;

	while (argv && argv[argc])
		argc++;
	r->created_by = history_text("RUN", argv, argc);
	if (!argv || !env || !r->created_by)
		ret = failed(f, "RUN");
	else if (cache_lookup(b, key, r))
		ret = 1;
	else
		ret = run_command(b, argv, env, r, f);
	free_words(argv);
	free_words(env);
	return ret;
}

/* RUN's key: the argv it runs and the ARG values it gets (an ARG changes what RUN does without changing its text). */
static char *run_key_text(struct build *b, const struct instruction *ins)
{
	struct stage *st = current(b);
	char **argv = run_argv(st, ins), **env = run_env(st);
	size_t argc = 0, envc = 0;
	char *cmd, *vars, *text = NULL;

	while (argv && argv[argc])
		argc++;
	while (env && env[envc])
		envc++;
	cmd = key_text("RUN", "", argv, argc);
	vars = key_text("ENV", "", env, envc);
	if (cmd && vars && asprintf(&text, "%s\n%s", cmd, vars) < 0)
		text = NULL;
	free(cmd);
	free(vars);
	free_words(argv);
	free_words(env);
	return text;
}

/* ---- COPY and ADD ------------------------------------------------------------------------------------ */

/* An absolute, clean path in the image: relative ones are under WORKDIR. ("" for the root.) */
static int image_path(const struct stage *st, const char *path, char *buf, size_t size)
{
	const char *workdir = draft_get_string(&st->draft, "WorkingDir");
	char joined[2 * PATH_MAX];
	size_t n = 0;

	snprintf(joined, sizeof(joined), "%s/%s", path[0] == '/' ? "" : (workdir ? workdir : ""), path);
	buf[0] = '\0';
	for (const char *p = joined; *p;) {
		size_t len = strcspn(p, "/");

		if (len == 2 && strncmp(p, "..", 2) == 0) {
			while (n > 0 && buf[n - 1] != '/')
				n--;
			n -= n > 0;
		} else if (len && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > size)
				return -1;
			if (n)
				buf[n++] = '/';
			memcpy(buf + n, p, len);
			n += len;
		}
		buf[n] = '\0';
		p += len;
		p += strspn(p, "/");
	}
	return 0;
}

/* Docker: DEST is a directory if it ends in "/" (or "." ), if there are several SRCs, or if the image has it as one. */
static bool dest_is_dir(const char *written, const char *dest, size_t nsources, char *const layers[], size_t n)
{
	size_t len = strlen(written);
	struct stat st;
	char found[PATH_MAX];

	if (nsources > 1 || (len && written[len - 1] == '/') || strcmp(written, ".") == 0 ||
	    (len >= 2 && strcmp(written + len - 2, "/.") == 0) || !dest[0])
		return true;
	return layers_lookup(layers, n, dest, &st, found, sizeof(found)) == 0 && S_ISDIR(st.st_mode);
}

/* Where COPY --from=NAME reads: a stage (by name or number), else an image (pulled if needed). */
struct copy_source {
	char **layers;		/* its layer directories, bottom first */
	size_t nlayers;
	char stage_key[DIGEST_LEN + 1];	/* an image's manifest digest, a stage's last key: part of the COPY's key */
};

static int source_from_image(struct build *b, const char *name, struct copy_source *src, struct failure *f)
{
	struct reference ref;
	struct image_record rec;
	struct image_draft d;

	if (parse_reference(name, &ref, f) < 0)
		return -1;
	if (store_find_image(b->store, &ref, &rec) < 0 && pull_image(b->store, name, &b->opt->pull, &rec, f) < 0)
		return -1;
	if (draft_from_image(b->store, &rec, &d, f) < 0)
		return -1;
	src->layers = layer_dirs(b, &d, &src->nlayers);
	snprintf(src->stage_key, sizeof(src->stage_key), "%s", rec.digest);
	draft_free(&d);
	return src->layers ? 0 : failed(f, "list layers of %s", name);
}

static int find_copy_source(struct build *b, const char *from, struct copy_source *src, struct failure *f)
{
	char *end;
	long index = strtol(from, &end, 10);

	/* The current stage is the last one: only an earlier one may be copied from. */
	for (size_t i = 0; i + 1 < b->nstages; i++) {
		if ((!*end && index == (long)i) || (b->stages[i].name[0] && strcasecmp(b->stages[i].name, from) == 0)) {
			src->layers = layer_dirs(b, &b->stages[i].draft, &src->nlayers);
			snprintf(src->stage_key, sizeof(src->stage_key), "%s", b->stages[i].key);
			return src->layers ? 0 : failed(f, "list layers of stage %s", from);
		}
	}
	return source_from_image(b, from, src, f);
}

/* What a COPY needs, from its words and flags, expanded. */
struct copy_step {
	struct copy_spec spec;
	char **words;		/* SRC... DEST, expanded */
	size_t nwords;
	char dest[PATH_MAX];
	char **image_layers;	/* the stage so far: for --chown names and DEST lookups */
	size_t nimage_layers;
	struct copy_source from;	/* --from; layers NULL for the context */
	char scratch[PATH_MAX];	/* a step directory: mnt/ to mount a stage on, upper/ to copy into */
};

static void free_copy_step(struct copy_step *cs)
{
	free_words(cs->words);
	free_words(cs->image_layers);
	free_words(cs->from.layers);
	if (cs->scratch[0])
		remove_tree(cs->scratch);
}

static int copy_words(struct build *b, const struct instruction *ins, struct copy_step *cs, struct failure *f)
{
	struct vars v = { 0 };
	int ret = stage_vars(current(b), &v);

	if (ret == 0 && ins->json) {
		cs->words = calloc(ins->argc + 1, sizeof(char *));
		for (size_t i = 0; cs->words && ret == 0 && i < ins->argc; i++)
			ret = expand_word(ins->argv[i], b->cf.escape, &v, &cs->words[cs->nwords++], f);
	} else if (ret == 0) {
		ret = expand_words(ins->args, b->cf.escape, &v, &cs->words, &cs->nwords, f);
	}
	vars_free(&v);
	if (ret == 0 && cs->nwords < 2) {
		errno = EINVAL;
		ret = failed(f, "%s needs a source and a destination", ins->name);
	}
	return ret;
}

/* --chown and --chmod, into the spec. */
static int copy_flags(struct build *b, const struct instruction *ins, struct copy_step *cs, struct failure *f)
{
	const char *chown = instruction_flag(ins, "chown"), *chmod = instruction_flag(ins, "chmod");
	struct vars v = { 0 };
	char *owner = NULL, *end;
	int ret = 0;

	if (chown) {
		ret = stage_vars(current(b), &v);
		if (ret == 0)
			ret = expand_word(chown, b->cf.escape, &v, &owner, f);
		if (ret == 0)
			ret = resolve_owner(cs->image_layers, cs->nimage_layers, owner, &cs->spec.uid, &cs->spec.gid, f);
		cs->spec.chown = true;
		free(owner);
		vars_free(&v);
	}
	if (ret == 0 && chmod) {
		cs->spec.mode = (mode_t)strtoul(chmod, &end, 8);
		cs->spec.chmod = true;
		if (*end || !chmod[0] || cs->spec.mode > 07777) {
			errno = EINVAL;
			ret = failed(f, "--chmod=%s: it must be an octal mode, like 755", chmod);
		}
	}
	return ret;
}

static int prepare_copy(struct build *b, const struct instruction *ins, struct copy_step *cs, struct failure *f)
{
	struct stage *st = current(b);
	const char *from = instruction_flag(ins, "from");

	if (copy_words(b, ins, cs, f) < 0)
		return -1;
	cs->image_layers = layer_dirs(b, &st->draft, &cs->nimage_layers);
	if (!cs->image_layers || image_path(st, cs->words[cs->nwords - 1], cs->dest, sizeof(cs->dest)) < 0)
		return failed(f, "%s", ins->name);
	cs->spec = (struct copy_spec){ .sources = cs->words, .nsources = cs->nwords - 1, .dest = cs->dest,
				       .add = ins->kind == INS_ADD, .ignore = from ? NULL : &b->ignore,
				       .layers = cs->image_layers, .nlayers = cs->nimage_layers };
	cs->spec.dest_is_dir = dest_is_dir(cs->words[cs->nwords - 1], cs->dest, cs->spec.nsources, cs->image_layers,
					   cs->nimage_layers);
	if (copy_flags(b, ins, cs, f) < 0)
		return -1;
	if (from && find_copy_source(b, from, &cs->from, f) < 0)
		return -1;
	return make_step_dir(b, cs->scratch, sizeof(cs->scratch), f);
}

/* What runs with the source root open: the checksum, or the copy. */
struct copy_call {
	const struct copy_spec *spec;
	char *digest;		/* checksum: out */
	const char *upper;	/* copy: into */
};

static int checksum_fn(int root_fd, void *arg, struct failure *f)
{
	struct copy_call *call = arg;
	char digest[DIGEST_LEN + 1];
	int ret = copy_checksum(root_fd, call->spec, digest, f);

	/* Written to a file: with --from this runs in a child, whose memory the parent never sees. */
	if (ret == 0 && write_file(call->digest, digest) < 0)
		ret = failed(f, "write %s", call->digest);
	return ret;
}

static int copy_fn(int root_fd, void *arg, struct failure *f)
{
	struct copy_call *call = arg;

	return copy_files(root_fd, call->spec, call->upper, f);
}

/* fn on the source root: the context directory, or the --from stage's layers (mounted in a child). */
static int on_source(struct build *b, struct copy_step *cs, int (*fn)(int, void *, struct failure *),
		     struct copy_call *call, struct failure *f)
{
	char mnt[PATH_MAX];

	if (!cs->from.layers)
		return fn(b->context_fd, call, f);
	if (path_join(mnt, sizeof(mnt), cs->scratch, "mnt") < 0)
		return failed(f, "%s/mnt", cs->scratch);
	return with_layers(cs->from.layers, cs->from.nlayers, mnt, fn, call, f);
}

/* The files' checksum: what, with the instruction, keys the cache for this COPY. */
static int copy_content(struct build *b, struct copy_step *cs, char content[2 * DIGEST_LEN + 8], struct failure *f)
{
	char path[PATH_MAX], digest[DIGEST_LEN + 1] = "";
	struct copy_call call = { .spec = &cs->spec, .digest = path };
	int fd;

	if (path_join(path, sizeof(path), cs->scratch, "checksum") < 0)
		return failed(f, "%s/checksum", cs->scratch);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) < 0)
		return failed(f, "create %s", path);
	if (on_source(b, cs, checksum_fn, &call, f) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, digest, DIGEST_LEN) != DIGEST_LEN) {
		if (fd >= 0)
			close(fd);
		return failed(f, "read %s", path);
	}
	close(fd);
	digest[DIGEST_LEN] = '\0';
	snprintf(content, 2 * DIGEST_LEN + 8, "%s %s", digest, cs->from.stage_key);
	return 0;
}

static int copy_key_and_history(struct build *b, const struct instruction *ins, struct copy_step *cs,
				const char *content, char *key, struct step_result *r, struct failure *f)
{
	char flags[512];
	char *text;

	snprintf(flags, sizeof(flags), "chown=%u:%u/%d chmod=%o/%d from=%s add=%d ", (unsigned)cs->spec.uid,
		 (unsigned)cs->spec.gid, cs->spec.chown, (unsigned)cs->spec.mode, cs->spec.chmod,
		 instruction_flag(ins, "from") ? instruction_flag(ins, "from") : "", cs->spec.add);
	text = key_text(ins->name, flags, cs->words, cs->nwords);
	r->created_by = history_text(ins->name, cs->words, cs->nwords);
	if (!text || !r->created_by) {
		free(text);
		return failed(f, "%s", ins->name);
	}
	step_key(current(b)->key, text, content, key);
	free(text);
	return 0;
}

/* COPY/ADD: checksum, key, and (on a miss) the copy into an upper directory that becomes the layer. */
static int step_copy(struct build *b, const struct instruction *ins, char *key, struct step_result *r,
		     struct failure *f)
{
	struct copy_step cs = { 0 };
	char content[2 * DIGEST_LEN + 8], upper[PATH_MAX];
	struct copy_call call = { .spec = &cs.spec, .upper = upper };
	int ret = prepare_copy(b, ins, &cs, f);

	if (ret == 0)
		ret = copy_content(b, &cs, content, f);
	if (ret == 0)
		ret = copy_key_and_history(b, ins, &cs, content, key, r, f);
	if (ret == 0 && cache_lookup(b, key, r))
		ret = 1;
	else if (ret == 0) {
		ret = path_join(upper, sizeof(upper), cs.scratch, "upper") < 0 ? failed(f, "%s/upper", cs.scratch) : 0;
		if (ret == 0)
			ret = on_source(b, &cs, copy_fn, &call, f);
		if (ret == 0)
			ret = take_layer(b, cs.scratch, r, f);
	}
	free_copy_step(&cs);
	return ret;
}

/* ---- config instructions: ENV, LABEL, CMD... -------------------------------------------------------- */

/* ENV and LABEL pairs, expanded: "A=1 B=$A" (each pair sees the ones before it); or the old "ENV A value...". */
static int each_pair(const struct instruction *ins, char escape, struct vars *v,
		     int (*apply)(void *, const char *, const char *), void *arg, struct failure *f)
{
	char *word = NULL, *value = NULL;
	int ret = 0;

	if (!strchr(ins->argv[0], '=')) {
		const char *rest = ins->args + strlen(ins->argv[0]);

		ret = expand_word(ins->argv[0], escape, v, &word, f);
		if (ret == 0)
			ret = expand_word(rest + strspn(rest, " \t"), escape, v, &value, f);
		if (ret == 0 && apply(arg, word, value) < 0)
			ret = failed(f, "%s %s", ins->name, word);
		free(word);
		free(value);
		return ret;
	}
	for (size_t i = 0; ret == 0 && i < ins->argc; i++) {
		char *eq;

		ret = expand_word(ins->argv[i], escape, v, &word, f);
		if (ret == 0 && (eq = strchr(word, '='))) {
			*eq = '\0';
			if (apply(arg, word, eq + 1) < 0 || (ins->kind == INS_ENV && vars_set(v, word, eq + 1) < 0))
				ret = failed(f, "%s %s", ins->name, word);
		}
		free(word);
		word = NULL;
	}
	return ret;
}

static int apply_env(void *draft, const char *name, const char *value)
{
	return draft_set_env(draft, name, value);
}

static int apply_label(void *draft, const char *name, const char *value)
{
	return draft_set_member(draft, "Labels", name, json_string(value));
}

/* "80", "80/tcp", "53/udp": ExposedPorts keys are PORT/PROTOCOL. */
static int expose_port(struct image_draft *d, const char *text, struct failure *f)
{
	char key[64], *end;
	long port = strtol(text, &end, 10);
	const char *proto = *end == '/' ? end + 1 : "tcp";

	if (end == text || port < 1 || port > 65535 || (*end && *end != '/') ||
	    (strcasecmp(proto, "tcp") != 0 && strcasecmp(proto, "udp") != 0 && strcasecmp(proto, "sctp") != 0)) {
		errno = EINVAL;
		return failed(f, "EXPOSE %s: a port is NUMBER[/tcp|udp|sctp]", text);
	}
	snprintf(key, sizeof(key), "%ld/%s", port, proto);
	for (char *p = key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return draft_set_member(d, "ExposedPorts", key, json_object()) < 0 ? failed(f, "EXPOSE") : 0;
}

/* Words of an instruction, expanded (and for exec form, each element expanded as one word). */
static int instruction_words(const struct instruction *ins, char escape, const struct vars *v, char ***words,
			     size_t *count, struct failure *f)
{
	if (!ins->json)
		return expand_words(ins->args, escape, v, words, count, f);
	*words = calloc(ins->argc + 1, sizeof(char *));
	*count = 0;
	for (size_t i = 0; *words && i < ins->argc; i++) {
		if (expand_word(ins->argv[i], escape, v, &(*words)[(*count)++], f) < 0)
			return -1;
	}
	return *words ? 0 : -1;
}

/* CMD/ENTRYPOINT: exec form as written; shell form wrapped in the SHELL. */
static json_t *command_json(const struct instruction *ins, char *const shell[])
{
	json_t *array;

	if (ins->json)
		return json_string_list(ins->argv, ins->argc);
	array = json_array();
	for (size_t i = 0; array && shell[i]; i++)
		json_array_append_new(array, json_string(shell[i]));
	json_array_append_new(array, json_string(ins->args));
	return array;
}

/* WORKDIR, USER, STOPSIGNAL: one word, expanded (WORKDIR relative to the one before). */
static int apply_string(struct config_change *c, const char *key, struct failure *f)
{
	char *value = NULL, path[PATH_MAX];
	int ret = expand_word(c->ins->args, c->escape, c->vars, &value, f);

	if (ret == 0 && c->ins->kind == INS_WORKDIR) {
		struct stage st = { .draft = *c->draft };

		if (image_path(&st, value, path + 1, sizeof(path) - 1) < 0)
			ret = failed(f, "WORKDIR %s", value);
		path[0] = '/';
		free(value);
		value = ret == 0 ? strdup(path) : NULL;
	}
	if (ret == 0)
		ret = draft_set(c->draft, key, json_string(value));
	free(value);
	return ret < 0 && !f->what[0] ? failed(f, "%s", c->ins->name) : ret;
}

static int apply_words(struct config_change *c, struct failure *f)
{
	char **words;
	size_t count;
	int ret = instruction_words(c->ins, c->escape, c->vars, &words, &count, f);

	for (size_t i = 0; ret == 0 && i < count; i++) {
		if (c->ins->kind == INS_EXPOSE)
			ret = expose_port(c->draft, words[i], f);
		else
			ret = draft_set_member(c->draft, "Volumes", words[i], json_object()) < 0 ? failed(f, "VOLUME") : 0;
	}
	free_words(words);
	return ret;
}

/*
 * The instructions that change only the config (no layer): ENV, LABEL,
 * WORKDIR, USER, STOPSIGNAL, CMD, ENTRYPOINT, EXPOSE, VOLUME. Shared by
 * 'box build' and 'box commit --change'.
 */
int apply_config(struct config_change *c, struct failure *f)
{
	const struct instruction *ins = c->ins;

	switch (ins->kind) {
	case INS_ENV:
		return each_pair(ins, c->escape, c->vars, apply_env, c->draft, f);
	case INS_LABEL:
		return each_pair(ins, c->escape, c->vars, apply_label, c->draft, f);
	case INS_WORKDIR:
		return apply_string(c, "WorkingDir", f);
	case INS_USER:
		return apply_string(c, "User", f);
	case INS_STOPSIGNAL:
		return apply_string(c, "StopSignal", f);
	case INS_CMD:
		*c->cmd_set = true;
		return draft_set(c->draft, "Cmd", command_json(ins, c->shell));
	case INS_ENTRYPOINT:
		/* Docker: an ENTRYPOINT clears a CMD inherited from the base image. */
		if (!*c->cmd_set)
			draft_set(c->draft, "Cmd", NULL);
		return draft_set(c->draft, "Entrypoint", command_json(ins, c->shell));
	case INS_EXPOSE:
	case INS_VOLUME:
		return apply_words(c, f);
	default:
		errno = EINVAL;
		return failed(f, "%s does not change the config", ins->name);
	}
}

/* A config step, applied to the stage's draft. */
static int step_config(struct build *b, const struct instruction *ins, struct step_result *r, struct failure *f)
{
	struct stage *st = current(b);
	struct vars v = { 0 };
	struct config_change c = { .draft = &st->draft, .ins = ins, .vars = &v, .shell = st->shell,
				   .escape = b->cf.escape, .cmd_set = &st->cmd_set };
	int ret = stage_vars(st, &v);

	if (ret == 0)
		ret = apply_config(&c, f);
	vars_free(&v);
	r->created_by = strdup(ins->text);
	if (ret == 0 && !r->created_by)
		ret = failed(f, "%s", ins->name);
	return ret;
}

/* The config's state after the step, in the key: "ENV A=$B" means what $B was. */
static char *config_key_text(const struct build *b, const struct instruction *ins)
{
	char *config = json_dumps(json_object_get(current((struct build *)b)->draft.config, "config"),
				  JSON_COMPACT | JSON_SORT_KEYS);
	char *text = NULL;

	if (config && asprintf(&text, "%s %s\n%s", ins->name, ins->args, config) < 0)
		text = NULL;
	free(config);
	return text;
}

/* ---- ARG, SHELL -------------------------------------------------------------------------------------- */

/* ARG NAME[=default]: --build-arg's value, else the default, else (for FROM lines) the global one. */
static int declare_arg(struct build *b, struct vars *into, const struct vars *expand_with, const struct instruction *ins,
		       struct failure *f)
{
	char *word = NULL, *eq;
	const char *value;
	int ret = expand_word(ins->argv[0], b->cf.escape, expand_with, &word, f);

	if (ret < 0)
		return -1;
	eq = strchr(word, '=');
	if (eq)
		*eq = '\0';
	value = vars_get(&b->build_args, word);
	if (value)
		vars_set(&b->used_args, word, value);
	else if (eq)
		value = eq + 1;
	else if (into != &b->global_args)
		value = vars_get(&b->global_args, word);
	if (value && vars_set(into, word, value) < 0)
		ret = failed(f, "ARG %s", word);
	free(word);
	return ret;
}

static int step_arg(struct build *b, const struct instruction *ins, struct step_result *r, struct failure *f)
{
	struct stage *st = current(b);
	struct vars v = { 0 };
	int ret = stage_vars(st, &v);

	if (ret == 0)
		ret = declare_arg(b, &st->args, &v, ins, f);
	vars_free(&v);
	r->created_by = NULL;	/* an ARG leaves no history: it is not part of the image */
	return ret;
}

static int step_shell(struct build *b, const struct instruction *ins, struct step_result *r, struct failure *f)
{
	struct stage *st = current(b);

	free_words(st->shell);
	st->shell = copy_list(ins->argv);
	r->created_by = strdup(ins->text);
	if (!st->shell || !r->created_by)
		return failed(f, "SHELL");
	return 0;
}

/* ---- FROM -------------------------------------------------------------------------------------------- */

static int new_stage(struct build *b, const char *name, struct failure *f)
{
	struct stage *grown = realloc(b->stages, (b->nstages + 1) * sizeof(*grown));
	struct stage *st;

	if (!grown)
		return failed(f, "FROM");
	b->stages = grown;
	st = &b->stages[b->nstages++];
	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", name ? name : "");
	st->shell = copy_list((char *const *)default_shell);
	return st->shell ? 0 : failed(f, "FROM");
}

static int platform_for(const struct build *b, struct platform *p, struct failure *f)
{
	if (b->opt->platform)
		return parse_platform(b->opt->platform, p, f);
	return host_platform(p) < 0 ? failed(f, "uname") : 0;
}

/* FROM scratch, FROM <stage>, or FROM <image> (from the store, or pulled): the draft to build on, and key 0. */
static int start_from(struct build *b, struct stage *st, const char *image, struct failure *f)
{
	char base[2 * DIGEST_LEN + 64];
	struct image_record rec;
	struct reference ref;
	struct platform p;

	if (strcasecmp(image, "scratch") == 0) {
		if (platform_for(b, &p, f) < 0 || draft_from_scratch(&st->draft, &p, f) < 0)
			return -1;
		snprintf(base, sizeof(base), "scratch %s/%s%s", p.os, p.architecture, p.variant);
	} else {
		for (size_t i = 0; i + 1 < b->nstages; i++) {
			if (b->stages[i].name[0] && strcasecmp(b->stages[i].name, image) == 0) {
				snprintf(st->key, sizeof(st->key), "%s", b->stages[i].key);
				return draft_copy(&b->stages[i].draft, &st->draft, f);
			}
		}
		if (parse_reference(image, &ref, f) < 0)
			return -1;
		if (store_find_image(b->store, &ref, &rec) < 0 && pull_image(b->store, image, &b->opt->pull, &rec, f) < 0)
			return -1;
		if (draft_from_image(b->store, &rec, &st->draft, f) < 0)
			return -1;
		snprintf(base, sizeof(base), "image %s", rec.digest);
	}
	step_key("", "FROM", base, st->key);
	return 0;
}

static int step_from(struct build *b, const struct instruction *ins, struct failure *f)
{
	char **words = NULL, *image = NULL;
	size_t count = 0;
	int ret = expand_words(ins->args, b->cf.escape, &b->global_args, &words, &count, f);

	if (ret == 0 && count != 1 && count != 3) {
		errno = EINVAL;
		ret = failed(f, "FROM takes an image and optionally AS name");
	}
	if (ret == 0)
		ret = new_stage(b, count == 3 ? words[2] : NULL, f);
	if (ret == 0 && !(image = strdup(words[0])))
		ret = failed(f, "FROM");
	if (ret == 0)
		ret = start_from(b, current(b), image, f);
	free(image);
	free_words(words);
	return ret;
}

/* ---- the loop ----------------------------------------------------------------------------------------- */

/* The key text of a step, before it runs (config steps include the config they lead to: computed after). */
static char *instruction_key_text(struct build *b, const struct instruction *ins)
{
	if (ins->kind == INS_RUN)
		return run_key_text(b, ins);
	return config_key_text(b, ins);
}

/* Run one step other than FROM and ARG: through the cache. 1: cached, 0: made, -1: failed. */
static int cached_step(struct build *b, const struct instruction *ins, struct step_result *r, struct failure *f)
{
	struct stage *st = current(b);
	char key[DIGEST_LEN + 1], *text;
	int ret;

	if (ins->kind == INS_COPY || ins->kind == INS_ADD) {
		ret = step_copy(b, ins, key, r, f);
	} else if (ins->kind == INS_RUN) {
		text = instruction_key_text(b, ins);
		if (!text)
			return failed(f, "RUN");
		step_key(st->key, text, "", key);
		free(text);
		ret = step_run(b, ins, key, r, f);
	} else {
		/* Config steps are keyed by the config they lead to (what "ENV A=$B" made of $B): applied first. */
		ret = ins->kind == INS_SHELL ? step_shell(b, ins, r, f) : step_config(b, ins, r, f);
		text = ret >= 0 ? instruction_key_text(b, ins) : NULL;
		if (ret >= 0 && !text)
			return failed(f, "%s", ins->name);
		if (text)
			step_key(st->key, text, "", key);
		free(text);
		if (ret >= 0)
			ret = cache_lookup(b, key, r) ? 1 : 0;
	}
	if (ret < 0)
		return -1;
	if (ret == 0)
		step_time(b, r->created, sizeof(r->created));
	if (ret == 0 && cache_store(b, key, r, f) < 0)
		return -1;
	snprintf(st->key, sizeof(st->key), "%s", key);
	return ret;
}

/* One instruction: print it, do it (or take it from the cache), and say which. */
static int build_step(struct build *b, const struct instruction *ins, struct failure *f)
{
	struct step_result r = { 0 };
	struct failure why = { "" };
	int ret;

	print_step(b, ins);
	if (ins->kind == INS_FROM)
		return step_from(b, ins, &why) < 0 ? at_line(b, ins, f, &why) : 0;
	if (ins->kind == INS_ARG && b->nstages == 0)
		return declare_arg(b, &b->global_args, &b->global_args, ins, &why) < 0 ? at_line(b, ins, f, &why) : 0;
	if (ins->kind == INS_ARG)
		ret = step_arg(b, ins, &r, &why);
	else
		ret = cached_step(b, ins, &r, &why);
	if (ret >= 0 && r.created_by)
		ret = apply_result(b, &r, &why) < 0 ? -1 : ret;
	if (ret == 1) {
		b->result->cache_hits++;
		fprintf(b->out, "--> Using cache %s\n", current(b)->key + strlen("sha256:"));
	}
	if (ret >= 0 && ins->kind != INS_ARG)
		fprintf(b->out, "--> %.*s\n", SHORT_ID, current(b)->key + strlen("sha256:"));
	free(r.created_by);
	return ret < 0 ? at_line(b, ins, f, &why) : 0;
}

/* The last stage is the image: config and manifest into the store, and its name. */
static int commit_build(struct build *b, struct failure *f)
{
	struct stage *st = current(b);
	struct image_record *rec = &b->result->image;
	char created[32];
	json_t *history = json_object_get(st->draft.config, "history");
	const char *last = json_string_value(json_object_get(json_array_get(history, json_array_size(history) - 1),
							     "created"));

	/* The image is as old as its last step: a cached rebuild gives the same config, the same ID. */
	if (last)
		snprintf(created, sizeof(created), "%s", last);
	else
		step_time(b, created, sizeof(created));
	fprintf(b->out, "COMMIT %s\n", b->opt->tag ? b->opt->tag : "");
	if (draft_commit(b->store, &st->draft, created, rec, f) < 0)
		return -1;
	fprintf(b->out, "--> %.*s\n", SHORT_ID, rec->config + strlen("sha256:"));
	if (b->opt->tag && name_image_as(b->store, rec, b->opt->tag, f) < 0)
		return -1;
	if (b->opt->tag)
		fprintf(b->out, "Successfully tagged %s:%s\n", rec->name, rec->tag);
	fprintf(b->out, "%s\n", rec->config + strlen("sha256:"));
	return 0;
}

/* docker: "[Warning] One or more build-args [X] were not consumed". */
static void warn_unused_args(struct build *b)
{
	for (size_t i = 0; i < b->build_args.count; i++) {
		if (!vars_get(&b->used_args, b->build_args.names[i]))
			fprintf(b->out, "[Warning] one or more build-args were not consumed: %s\n", b->build_args.names[i]);
	}
}

/* ---- reading the inputs -------------------------------------------------------------------------------- */

static char *read_text_file(const char *path, struct failure *f)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text = malloc(CONTAINERFILE_MAX + 1);
	size_t len = 0;
	ssize_t n = 0;

	while (fd >= 0 && text && len < CONTAINERFILE_MAX && (n = read(fd, text + len, CONTAINERFILE_MAX - len)) > 0)
		len += (size_t)n;
	if (fd < 0 || !text || n < 0 || len == CONTAINERFILE_MAX) {
		if (len == CONTAINERFILE_MAX)
			errno = EFBIG;
		failed(f, "read %s", path);
		if (fd >= 0)
			close(fd);
		free(text);
		return NULL;
	}
	close(fd);
	text[len] = '\0';
	return text;
}

/* -f FILE, else CONTEXT/Containerfile, else CONTEXT/Dockerfile (buildah's order). */
static int find_containerfile(const struct build_options *opt, char *path, size_t size, struct failure *f)
{
	if (opt->file)
		return format_into(path, size, "%s", opt->file) < 0 ? failed(f, "%s", opt->file) : 0;
	for (int i = 0; default_files[i]; i++) {
		if (path_join(path, size, opt->context, default_files[i]) == 0 && access(path, F_OK) == 0)
			return 0;
	}
	errno = ENOENT;
	return failed(f, "no Containerfile or Dockerfile in %s", opt->context);
}

static int open_inputs(struct build *b, struct failure *f)
{
	char path[PATH_MAX], used[64], *text;
	int ret;

	if (find_containerfile(b->opt, path, sizeof(path), f) < 0 || !(text = read_text_file(path, f)))
		return -1;
	ret = parse_containerfile(path, text, &b->cf, f);
	free(text);
	if (ret < 0)
		return -1;
	b->context_fd = open(b->opt->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->context_fd < 0)
		return failed(f, "open the build context %s", b->opt->context);
	if (read_ignore_file(b->context_fd, &b->ignore, used, sizeof(used), f) < 0)
		return -1;
	if (source_date_epoch(&b->clamp) < 0)
		return failed(f, "SOURCE_DATE_EPOCH=%s: not a number of seconds", getenv("SOURCE_DATE_EPOCH"));
	return read_build_args(b, f);
}

static void free_build(struct build *b)
{
	for (size_t i = 0; i < b->nstages; i++) {
		draft_free(&b->stages[i].draft);
		vars_free(&b->stages[i].args);
		free_words(b->stages[i].shell);
	}
	free(b->stages);
	free_containerfile(&b->cf);
	free_ignore(&b->ignore);
	vars_free(&b->build_args);
	vars_free(&b->used_args);
	vars_free(&b->global_args);
	if (b->context_fd >= 0)
		close(b->context_fd);
}

/*
 * 'box build': the Containerfile of opt->context (or opt->file) into an
 * image in the store s (opened STORE_SHARED), named opt->tag. Progress
 * and the commands' output go to opt->out (stdout if NULL). A failure
 * names FILE:LINE; if a RUN's command failed, res->status is its exit
 * status (and errno is 0: the failure is the command's, not box's).
 */
int build_image(const struct store *s, const struct build_options *opt, struct build_result *res, struct failure *f)
{
	struct build b = { .store = s, .opt = opt, .out = opt->out ? opt->out : stdout, .context_fd = -1, .result = res };
	int ret;

	memset(res, 0, sizeof(*res));
	ret = open_inputs(&b, f);
	for (size_t i = 0; ret == 0 && i < b.cf.count; i++) {
		if (opt->interrupted && *opt->interrupted) {
			errno = ECANCELED;
			ret = failed(f, "%s:%d: interrupted", b.cf.file, b.cf.instructions[i].line);
		} else {
			ret = build_step(&b, &b.cf.instructions[i], f);
		}
	}
	if (ret == 0)
		ret = commit_build(&b, f);
	if (ret == 0)
		warn_unused_args(&b);
	free_build(&b);
	return ret;
}

/*
 * 'box commit --change "CMD [\"sh\"]"': one config instruction applied to
 * an image being committed, as a Containerfile would (no ARGs; the
 * image's ENV for $VARIABLES; the default shell for shell forms).
 */
int apply_change(struct image_draft *d, const char *text, struct failure *f)
{
	struct instruction ins;
	struct stage st = { .draft = *d };
	struct vars v = { 0 };
	bool cmd_set = true;	/* --change ENTRYPOINT keeps the image's CMD, as docker commit does */
	struct config_change c = { .draft = d, .ins = &ins, .vars = &v, .shell = (char **)default_shell,
				   .escape = '\\', .cmd_set = &cmd_set };
	int ret;

	if (parse_instruction("--change", 1, text, '\\', &ins, f) < 0)
		return -1;
	ret = stage_vars(&st, &v);
	if (ret == 0)
		ret = apply_config(&c, f);
	vars_free(&v);
	free_instruction(&ins);
	return ret;
}
