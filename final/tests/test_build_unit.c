/*
 * test_build.c - box build: instructions into an image, COPY's rules and
 * safety, the cache (what a change rebuilds), multi-stage, errors that name
 * FILE:LINE. RUN goes to a recording fake of build_run (below) that writes
 * what the command asks into the upper directory, so the driver is tested
 * without containers; tests/test_build.c and prove.sh run real commands.
 * (Root: layers are unpacked with their owners; COPY --from mounts a stage
 * in a private mount namespace.)
 */
#include "imageutil.h"

#include <jansson.h>

/* ---- the fake RUN ---- */

enum { CALLS_MAX = 64 };

struct call {
	char command[1024];	/* argv joined with spaces */
	char env[2048];		/* env joined with spaces */
	char workdir[256], user[64], network[16];
	size_t nlayers;
};

static struct call calls[CALLS_MAX];
static int ncalls;
static volatile sig_atomic_t interrupted;

static void join_into(char *buf, size_t size, char *const list[])
{
	buf[0] = '\0';
	for (size_t i = 0; list[i]; i++) {
		strncat(buf, i ? " " : "", size - strlen(buf) - 1);
		strncat(buf, list[i], size - strlen(buf) - 1);
	}
}

/*
 * The command's last word is a tiny script: "write PATH TEXT" writes a file
 * into the upper directory, "exit N" exits with N, "interrupt" plays a
 * Ctrl-C arriving while the step runs, anything else writes nothing.
 */
/* final: build-run.c's other function, which the fake replaces too (box build's --state). */
void build_run_set_state(const char *box_state)
{
	(void)box_state;
}

int build_run(const struct build_step_run *r, struct failure *f)
{
	const char *script = r->argv[0];
	struct call *c = &calls[ncalls < CALLS_MAX ? ncalls++ : CALLS_MAX - 1];
	char file[256], text[256];

	(void)f;
	for (size_t i = 0; r->argv[i]; i++)
		script = r->argv[i];
	join_into(c->command, sizeof(c->command), r->argv);
	join_into(c->env, sizeof(c->env), r->env);
	snprintf(c->workdir, sizeof(c->workdir), "%s", r->workdir);
	snprintf(c->user, sizeof(c->user), "%s", r->user);
	snprintf(c->network, sizeof(c->network), "%s", r->network);
	c->nlayers = r->nlayers;
	*r->status = 0;
	if (sscanf(script, "write %255s %255[^\n]", file, text) == 2) {
		put_file(r->upper, file, text);
	} else if (sscanf(script, "exit %d", r->status) == 1) {
		return 0;
	} else if (strcmp(script, "interrupt") == 0) {
		interrupted = 1;
	}
	return 0;
}

/* ---- a context, a store, a build ---- */

static char scratch[PATH_MAX], context[PATH_MAX + 16], root[PATH_MAX + 16];
static struct store store;

static int setup(void **state)
{
	struct failure f;

	(void)state;
	make_scratch(scratch, sizeof(scratch), "build");
	snprintf(root, sizeof(root), "%s/root", scratch);
	unsetenv("SOURCE_DATE_EPOCH");
	return store_open(&store, root, STORE_SHARED, &f);
}

static int teardown(void **state)
{
	(void)state;
	store_close(&store);
	remove_scratch(scratch);
	return 0;
}

/* A new, empty context directory for one test, with this Containerfile. */
static void new_context(const char *name, const char *containerfile)
{
	assert_true(snprintf(context, sizeof(context), "%s/%s", scratch, name) < (int)sizeof(context));
	assert_int_equal(sh("rm -rf '%s' && mkdir -p '%s'", context, context), 0);
	put_file(context, "Containerfile", containerfile);
}

struct outcome {
	int ret;
	int err;
	struct failure f;
	struct build_result res;
	char out[16384];
};

static struct outcome build_with(const char *tag, char *const args[], size_t nargs, bool no_cache)
{
	static struct outcome o;
	struct build_options opt = { .context = context, .tag = tag, .build_args = args, .nbuild_args = nargs,
				     .no_cache = no_cache, .network = "none", .interrupted = &interrupted };
	FILE *out;

	memset(&o, 0, sizeof(o));
	out = fmemopen(o.out, sizeof(o.out) - 1, "w");
	opt.out = out;
	ncalls = 0;
	interrupted = 0;
	o.ret = build_image(&store, &opt, &o.res, &o.f);
	o.err = errno;
	fclose(out);
	return o;
}

static struct outcome build(const char *tag)
{
	return build_with(tag, NULL, 0, false);
}

static void assert_built(const struct outcome *o)
{
	if (o->ret < 0)
		fail_msg("build failed: %s (%s)\n%s", o->f.what, strerror(o->err), o->out);
}

/* The image's config document (the caller decrefs). */
static json_t *config_of(const char *tag)
{
	struct reference ref;
	struct image_record rec;
	struct failure f;
	char *data;
	size_t len;
	json_t *doc;

	assert_int_equal(parse_reference(tag, &ref, &f), 0);
	assert_int_equal(store_find_image(&store, &ref, &rec), 0);
	assert_int_equal(store_read_blob(&store, rec.config, CONFIG_MAX, &data, &len, &f), 0);
	doc = json_loadb(data, len, 0, NULL);
	free(data);
	assert_non_null(doc);
	return doc;
}

static char *config_string(const char *tag, const char *path)
{
	static char buf[4096];
	json_t *doc = config_of(tag), *v = json_object_get(doc, "config");
	char *dump;

	v = json_object_get(v, path);
	dump = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("null");
	snprintf(buf, sizeof(buf), "%s", dump);
	free(dump);
	json_decref(doc);
	return buf;
}

/* A file of the image, as 'box run' would see it (the union of its layers); "" if absent. */
static char *image_file(const char *tag, const char *path, struct stat *st)
{
	struct reference ref;
	struct image img;
	struct failure f;
	struct stat ignored;
	char found[PATH_MAX];
	char *text = "";

	assert_int_equal(parse_reference(tag, &ref, &f), 0);
	assert_int_equal(store_open_image(&store, &ref, &img, &f), 0);
	if (layers_lookup(img.layers, img.nlayers, path, st ? st : &ignored, found, sizeof(found)) == 0)
		text = slurp(found);
	free_image(&img);
	return text;
}

static size_t layer_count(const char *tag)
{
	json_t *doc = config_of(tag);
	size_t n = json_array_size(json_object_get(json_object_get(doc, "rootfs"), "diff_ids"));

	json_decref(doc);
	return n;
}

/* ---- the tests ---- */

static void test_config_instructions_make_the_config(void **state)
{
	char *args[] = { "PORT=9090" };
	struct outcome o;
	json_t *doc;

	(void)state;
	new_context("config", "ARG BASE=scratch\n"
			      "FROM $BASE\n"
			      "ARG PORT=8080\n"
			      "ENV HOME_DIR=/srv MSG=\"hello world\"\n"
			      "ENV WHERE=$HOME_DIR/app\n"
			      "WORKDIR $WHERE\n"
			      "WORKDIR sub\n"
			      "USER 1000:1000\n"
			      "LABEL org.example.title=\"a test\" port=$PORT\n"
			      "EXPOSE $PORT 53/udp\n"
			      "VOLUME /data /more\n"
			      "VOLUME [\"/logs\"]\n"
			      "STOPSIGNAL SIGINT\n"
			      "ENTRYPOINT [\"/bin/entry\"]\n"
			      "SHELL [\"/bin/ash\", \"-c\"]\n"
			      "CMD run $MSG\n");
	o = build_with("localhost/config:1", args, 1, false);
	assert_built(&o);
	assert_string_equal(config_string("localhost/config:1", "Env"),
			    "[\"HOME_DIR=/srv\",\"MSG=hello world\",\"WHERE=/srv/app\"]");
	assert_string_equal(config_string("localhost/config:1", "WorkingDir"), "\"/srv/app/sub\"");
	assert_string_equal(config_string("localhost/config:1", "User"), "\"1000:1000\"");
	assert_string_equal(config_string("localhost/config:1", "Labels"), "{\"org.example.title\":\"a test\",\"port\":\"9090\"}");
	assert_string_equal(config_string("localhost/config:1", "ExposedPorts"), "{\"53/udp\":{},\"9090/tcp\":{}}");
	assert_string_equal(config_string("localhost/config:1", "Volumes"), "{\"/data\":{},\"/logs\":{},\"/more\":{}}");
	assert_string_equal(config_string("localhost/config:1", "StopSignal"), "\"SIGINT\"");
	assert_string_equal(config_string("localhost/config:1", "Entrypoint"), "[\"/bin/entry\"]");
	assert_string_equal(config_string("localhost/config:1", "Cmd"), "[\"/bin/ash\",\"-c\",\"run $MSG\"]");
	doc = config_of("localhost/config:1");
	assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "rootfs"), "diff_ids")), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "history"), 0), "created_by")),
			    "ENV HOME_DIR=/srv MSG=\"hello world\"");
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(doc, "history"), 0), "empty_layer")));
	json_decref(doc);
	assert_non_null(strstr(o.out, "STEP 1/16: ARG BASE=scratch\nSTEP 2/16: FROM $BASE\n"));
	assert_non_null(strstr(o.out, "COMMIT localhost/config:1\n"));
}

static void test_entrypoint_clears_an_inherited_cmd(void **state)
{
	struct outcome o;

	(void)state;
	new_context("entry", "FROM scratch\nCMD [\"base\"]\n");
	o = build("localhost/entry-base:1");
	assert_built(&o);
	new_context("entry2", "FROM localhost/entry-base:1\nENTRYPOINT [\"/e\"]\n");
	o = build("localhost/entry:1");
	assert_built(&o);
	assert_string_equal(config_string("localhost/entry:1", "Cmd"), "null");
	new_context("entry3", "FROM localhost/entry-base:1\nCMD [\"mine\"]\nENTRYPOINT [\"/e\"]\n");
	o = build("localhost/entry:2");
	assert_built(&o);
	assert_string_equal(config_string("localhost/entry:2", "Cmd"), "[\"mine\"]");
}

static void test_run_gets_command_env_workdir_user_and_network(void **state)
{
	char *args[] = { "TOKEN=abc", "UNUSED=1" };
	struct outcome o;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("run", "FROM scratch\nARG TOKEN\nENV A=1\nWORKDIR /w\nUSER nobody\n"
			   "RUN write out.txt from shell form\nRUN [\"/bin/tool\", \"write\", \"exec.txt\", \"x\"]\n");
	o = build_with("localhost/run:1", args, 2, false);
	assert_built(&o);
	assert_int_equal(ncalls, 2);
	assert_string_equal(calls[0].command, "/bin/sh -c write out.txt from shell form");
	assert_string_equal(calls[0].env, "A=1 TOKEN=abc");	/* ARG values reach RUN; they are not in the image */
	assert_string_equal(calls[0].workdir, "/w");
	assert_string_equal(calls[0].user, "nobody");
	assert_string_equal(calls[0].network, "none");
	assert_int_equal(calls[0].nlayers, 0);
	assert_string_equal(calls[1].command, "/bin/tool write exec.txt x");
	assert_int_equal(calls[1].nlayers, 1);
	assert_string_equal(image_file("localhost/run:1", "out.txt", NULL), "from shell form");
	assert_string_equal(config_string("localhost/run:1", "Env"), "[\"A=1\"]");
	assert_non_null(strstr(o.out, "[Warning] one or more build-args were not consumed: UNUSED\n"));
}

static void test_a_run_that_changes_nothing_adds_no_layer(void **state)
{
	struct outcome o;
	json_t *doc;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("empty-run", "FROM scratch\nRUN true\nRUN write f x\n");
	o = build("localhost/empty-run:1");
	assert_built(&o);
	assert_int_equal(layer_count("localhost/empty-run:1"), 1);
	doc = config_of("localhost/empty-run:1");
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(doc, "history"), 0), "empty_layer")));
	json_decref(doc);
}

static void test_copy_follows_dockers_rules(void **state)
{
	struct outcome o;
	struct stat st;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("copy", "FROM scratch\n"
			    "WORKDIR /app\n"
			    "COPY one.txt ./\n"
			    "COPY one.txt /renamed.txt\n"
			    "COPY dir /dst\n"
			    "COPY *.md docs/\n"
			    "COPY --chown=7:8 --chmod=600 one.txt two/\n"
			    "COPY [\"with space.txt\", \"/spaced/\"]\n"
			    "COPY --chown=7:8 dir /owned\n");
	put_file(context, "one.txt", "1\n");
	put_file(context, "dir/sub/inner.txt", "inner\n");
	put_file(context, "a.md", "a\n");
	put_file(context, "b.md", "b\n");
	put_file(context, "with space.txt", "s\n");
	assert_int_equal(sh("chmod 750 '%s/dir/sub' && chmod 700 '%s/dir' && touch -d @1234567890 '%s/one.txt'", context,
			    context, context),
			 0);
	o = build("localhost/copy:1");
	assert_built(&o);
	assert_string_equal(image_file("localhost/copy:1", "app/one.txt", &st), "1\n");
	assert_int_equal(st.st_mtime, 1234567890);	/* COPY keeps the file's time */
	assert_int_equal(st.st_uid, 0);
	assert_string_equal(image_file("localhost/copy:1", "renamed.txt", NULL), "1\n");
	assert_string_equal(image_file("localhost/copy:1", "dst/sub/inner.txt", NULL), "inner\n");	/* contents, not dir/ */
	assert_string_equal(image_file("localhost/copy:1", "dst/sub", &st), "");
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_string_equal(image_file("localhost/copy:1", "app/docs/b.md", NULL), "b\n");
	assert_string_equal(image_file("localhost/copy:1", "app/two/one.txt", &st), "1\n");
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(st.st_gid, 8);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_string_equal(image_file("localhost/copy:1", "spaced/with space.txt", NULL), "s\n");
	/* DEST of a directory SRC is made 0755 with the COPY's owner, not given the source directory's mode. */
	image_file("localhost/copy:1", "dst", &st);
	assert_int_equal(st.st_mode & 07777, 0755);
	image_file("localhost/copy:1", "owned", &st);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(st.st_mode & 07777, 0755);
	image_file("localhost/copy:1", "owned/sub/inner.txt", &st);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(layer_count("localhost/copy:1"), 7);
}

static void test_chown_names_come_from_the_images_passwd(void **state)
{
	struct outcome o;
	struct stat st;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("chown", "FROM scratch\nCOPY passwd group /etc/\nCOPY --chown=app:staff f /f\nCOPY --chown=app g /g\n"
			     "COPY --chown=nobody h /h\n");
	put_file(context, "passwd", "root:x:0:0::/root:/bin/sh\napp:x:1234:99::/home/app:/bin/sh\n");
	put_file(context, "group", "root:x:0:\nstaff:x:50:\n");
	put_file(context, "f", "f");
	put_file(context, "g", "g");
	put_file(context, "h", "h");
	o = build("localhost/chown:1");
	assert_int_equal(o.ret, -1);
	assert_non_null(strstr(o.f.what, "Containerfile:5: --chown=nobody: no user \"nobody\" in the image's /etc/passwd"));
	new_context("chown2", "FROM scratch\nCOPY passwd group /etc/\nCOPY --chown=app:staff f /f\nCOPY --chown=app g /g\n");
	put_file(context, "passwd", "app:x:1234:99::/home/app:/bin/sh\n");
	put_file(context, "group", "staff:x:50:\n");
	put_file(context, "f", "f");
	put_file(context, "g", "g");
	o = build("localhost/chown:2");
	assert_built(&o);
	image_file("localhost/chown:2", "f", &st);
	assert_int_equal(st.st_uid, 1234);
	assert_int_equal(st.st_gid, 50);
	image_file("localhost/chown:2", "g", &st);
	assert_int_equal(st.st_gid, 1234);	/* no group: the user's number, as docker does */
}

static void test_add_unpacks_a_local_archive(void **state)
{
	struct outcome o;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("add", "FROM scratch\nADD files.tar.gz /opt/\nADD plain.txt /opt/plain.txt\n"
			   "ADD https://example.com/x.tar /x/\n");
	assert_int_equal(sh("mkdir -p '%s/src/pkg' && echo packed > '%s/src/pkg/a' && tar -czf '%s/files.tar.gz' -C '%s/src' pkg "
			    "&& echo plain > '%s/plain.txt'",
			    context, context, context, context, context),
			 0);
	o = build("localhost/add:1");
	assert_int_equal(o.ret, -1);
	assert_int_equal(o.err, ENOTSUP);
	assert_non_null(strstr(o.f.what, "Containerfile:4: https://example.com/x.tar: box does not download"));
	put_file(context, "Containerfile", "FROM scratch\nADD files.tar.gz /opt/\nADD plain.txt /opt/plain.txt\n");
	o = build("localhost/add:1");
	assert_built(&o);
	assert_string_equal(image_file("localhost/add:1", "opt/pkg/a", NULL), "packed\n");
	assert_string_equal(image_file("localhost/add:1", "opt/plain.txt", NULL), "plain\n");
}

static void test_second_build_is_all_cache_and_the_same_image(void **state)
{
	struct outcome first, second;
	char id[DIGEST_LEN + 1];

	(void)state;
	if (skip_unless_root())
		return;
	new_context("cache", "FROM scratch\nCOPY a.txt /a.txt\nRUN write b.txt made\nENV X=1\nCMD [\"x\"]\n");
	put_file(context, "a.txt", "a\n");
	first = build("localhost/cache:1");
	assert_built(&first);
	assert_int_equal(first.res.runs, 1);
	assert_int_equal(first.res.cache_hits, 0);
	snprintf(id, sizeof(id), "%s", first.res.image.config);
	sleep(1);	/* a second later: only the cache can give the same times, and so the same ID */
	second = build("localhost/cache:1");
	assert_built(&second);
	assert_int_equal(second.res.runs, 0);
	assert_int_equal(second.res.cache_hits, 4);
	assert_string_equal(second.res.image.config, id);
	assert_non_null(strstr(second.out, "STEP 3/5: RUN write b.txt made\n--> Using cache "));
}

static void test_a_changed_copied_file_rebuilds_from_its_copy_on(void **state)
{
	struct outcome first, second, third;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("changed", "FROM scratch\nRUN write first.txt 1\nCOPY app.txt /app.txt\nRUN write after.txt 2\n");
	put_file(context, "app.txt", "version 1\n");
	first = build("localhost/changed:1");
	assert_built(&first);
	assert_int_equal(first.res.runs, 2);
	put_file(context, "app.txt", "version 2\n");
	second = build("localhost/changed:1");
	assert_built(&second);
	assert_int_equal(second.res.cache_hits, 1);	/* the first RUN only */
	assert_int_equal(second.res.runs, 1);		/* the RUN after the COPY runs again */
	assert_string_not_equal(first.res.image.config, second.res.image.config);
	assert_string_equal(image_file("localhost/changed:1", "app.txt", NULL), "version 2\n");
	/* Touching a file without changing it keeps the cache (times are not in the checksum). */
	assert_int_equal(sh("touch -d @1000 '%s/app.txt'", context), 0);
	third = build("localhost/changed:1");
	assert_built(&third);
	assert_int_equal(third.res.runs, 0);
	assert_string_equal(third.res.image.config, second.res.image.config);
}

static void test_a_changed_line_rebuilds_from_that_line_on(void **state)
{
	struct outcome o;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("lines", "FROM scratch\nRUN write 1 one\nRUN write 2 two\nRUN write 3 three\n");
	o = build("localhost/lines:1");
	assert_built(&o);
	assert_int_equal(o.res.runs, 3);
	put_file(context, "Containerfile", "FROM scratch\nRUN write 1 one\nRUN write 2 TWO\nRUN write 3 three\n");
	o = build("localhost/lines:1");
	assert_built(&o);
	assert_int_equal(o.res.cache_hits, 1);
	assert_int_equal(o.res.runs, 2);
	put_file(context, "Containerfile", "FROM scratch\nRUN write 1 one\nRUN write 2 TWO\nRUN write 3 three\nLABEL x=y\n");
	o = build("localhost/lines:1");
	assert_built(&o);
	assert_int_equal(o.res.runs, 0);	/* a line added at the end: only it is new */
	o = build_with("localhost/lines:1", NULL, 0, true);
	assert_built(&o);
	assert_int_equal(o.res.runs, 3);	/* --no-cache */
	assert_int_equal(o.res.cache_hits, 0);
}

static void test_an_env_or_build_arg_change_reaches_run(void **state)
{
	char *one[] = { "V=1" }, *two[] = { "V=2" };
	struct outcome o;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("args", "FROM scratch\nARG V\nRUN write v.txt x\n");
	o = build_with("localhost/args:1", one, 1, false);
	assert_built(&o);
	o = build_with("localhost/args:1", one, 1, false);
	assert_built(&o);
	assert_int_equal(o.res.runs, 0);
	o = build_with("localhost/args:1", two, 1, false);
	assert_built(&o);
	assert_int_equal(o.res.runs, 1);	/* the RUN's environment changed: its key did */
}

static void test_ignored_files_are_not_copied_and_do_not_break_the_cache(void **state)
{
	struct outcome o;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("ignore", "FROM scratch\nCOPY . /src\nRUN write done yes\n");
	put_file(context, "keep.c", "int main;\n");
	put_file(context, "build/out.o", "object\n");
	put_file(context, "notes.tmp", "tmp\n");
	put_file(context, "docs/a.md", "a\n");
	put_file(context, "docs/keep.md", "keep\n");
	put_file(context, ".dockerignore", "build\n*.tmp\ndocs\n!docs/keep.md\n");
	o = build("localhost/ignore:1");
	assert_built(&o);
	assert_string_equal(image_file("localhost/ignore:1", "src/keep.c", NULL), "int main;\n");
	assert_string_equal(image_file("localhost/ignore:1", "src/build/out.o", NULL), "");
	assert_string_equal(image_file("localhost/ignore:1", "src/notes.tmp", NULL), "");
	assert_string_equal(image_file("localhost/ignore:1", "src/docs/a.md", NULL), "");
	assert_string_equal(image_file("localhost/ignore:1", "src/docs/keep.md", NULL), "keep\n");
	put_file(context, "notes.tmp", "changed, but ignored\n");
	o = build("localhost/ignore:1");
	assert_built(&o);
	assert_int_equal(o.res.runs, 0);
}

static void test_multi_stage_copies_only_the_result(void **state)
{
	struct outcome o;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("multi", "FROM scratch AS build\n"
			     "COPY src.c /src/\n"
			     "RUN write bin/app compiled\n"
			     "RUN write bin/junk not-wanted\n"
			     "FROM scratch\n"
			     "COPY --from=build /bin/app /app\n"
			     "COPY --from=0 /src/src.c /src.c\n"
			     "CMD [\"/app\"]\n");
	put_file(context, "src.c", "source\n");
	o = build("localhost/multi:1");
	assert_built(&o);
	assert_int_equal(layer_count("localhost/multi:1"), 2);
	assert_string_equal(image_file("localhost/multi:1", "app", NULL), "compiled");
	assert_string_equal(image_file("localhost/multi:1", "src.c", NULL), "source\n");
	assert_string_equal(image_file("localhost/multi:1", "bin/junk", NULL), "");
	o = build("localhost/multi:1");
	assert_built(&o);
	assert_int_equal(o.res.runs, 0);
}

/* A failed build names FILE:LINE and leaves nothing: no name, nothing in the store's tmp/. */
static void assert_fails_at(const char *tag, const char *what, int err)
{
	struct reference ref;
	struct image_record rec;
	struct failure f;
	struct outcome o = build(tag);

	assert_int_equal(o.ret, -1);
	if (!strstr(o.f.what, what))
		fail_msg("expected \"%s\" in \"%s\"", what, o.f.what);
	assert_int_equal(o.err, err);
	assert_int_equal(parse_reference(tag, &ref, &f), 0);
	assert_int_equal(store_find_image(&store, &ref, &rec), -1);
	assert_int_equal(sh("[ -z \"$(ls -A '%s/tmp')\" ]", root), 0);
}

static void test_bad_input_names_the_line_and_leaves_nothing(void **state)
{
	(void)state;
	if (skip_unless_root())
		return;
	new_context("bad", "FROM scratch\nCOPY missing.txt /\n");
	assert_fails_at("localhost/bad:1", "Containerfile:2: missing.txt: not found in the build context", ENOENT);
	new_context("bad", "FROM scratch\n\nCOPY ../outside /\n");
	assert_fails_at("localhost/bad:1", "Containerfile:3: ../outside: the path is outside the build context", EPERM);
	new_context("bad", "FROM scratch\nCOPY /../../etc/passwd /\n");
	assert_fails_at("localhost/bad:1", "Containerfile:2: /../../etc/passwd: the path is outside the build context", EPERM);
	new_context("bad", "FROM scratch\nCOPY *.nothing /\n");
	assert_fails_at("localhost/bad:1", "Containerfile:2: *.nothing: no source files match", ENOENT);
	new_context("bad", "FROM scratch\nRUN write a b\nRUN exit 3\n");
	assert_fails_at("localhost/bad:1", "Containerfile:3: the command exited with status 3", 0);
	new_context("bad", "FROM scratch\nEXPOSE http\n");
	assert_fails_at("localhost/bad:1", "Containerfile:2: EXPOSE http: a port is NUMBER[/tcp|udp|sctp]", EINVAL);
	new_context("bad", "FROM scratch\nCMD ${NOPE:?must be set}\nENV A=\"${NOPE:?must be set}\"\n");
	assert_fails_at("localhost/bad:1", "Containerfile:3: NOPE: must be set", EINVAL);
	new_context("bad", "FROM scratch\nFROBNICATE\n");
	assert_fails_at("localhost/bad:1", "Containerfile:2: unknown instruction: FROBNICATE", EINVAL);
	new_context("bad", "FROM scratch\nRUN interrupt\nRUN write never x\n");
	assert_fails_at("localhost/bad:1", "Containerfile:3: interrupted", ECANCELED);
}

static void test_a_symlink_in_the_context_is_not_followed_out(void **state)
{
	struct outcome o;
	char target[PATH_MAX];
	struct stat st;

	(void)state;
	if (skip_unless_root())
		return;
	new_context("symlink", "FROM scratch\nCOPY link/passwd /stolen\n");
	assert_int_equal(sh("ln -s /etc '%s/link'", context), 0);
	assert_fails_at("localhost/symlink:1", "link/passwd: not found in the build context", ENOENT);
	/* Inside the context, the same link means the context's own etc/ ... */
	put_file(context, "etc/passwd", "the context's\n");
	o = build("localhost/symlink:1");
	assert_built(&o);
	assert_string_equal(image_file("localhost/symlink:1", "stolen", NULL), "the context's\n");
	/* ... and a directory copied with a link inside keeps it a link, never what it points to. */
	put_file(context, "Containerfile", "FROM scratch\nCOPY dir /dir\n");
	assert_int_equal(sh("mkdir -p '%s/dir' && ln -s /etc/shadow '%s/dir/shadow'", context, context), 0);
	o = build("localhost/symlink:2");
	assert_built(&o);
	image_file("localhost/symlink:2", "dir/shadow", &st);
	assert_true(S_ISLNK(st.st_mode));
	{
		char found[PATH_MAX];
		struct reference ref;
		struct image img;
		struct failure f;
		ssize_t n;

		assert_int_equal(parse_reference("localhost/symlink:2", &ref, &f), 0);
		assert_int_equal(store_open_image(&store, &ref, &img, &f), 0);
		assert_int_equal(layers_lookup(img.layers, img.nlayers, "dir/shadow", &st, found, sizeof(found)), 0);
		n = readlink(found, target, sizeof(target) - 1);
		assert_true(n > 0);
		target[n] = '\0';
		assert_string_equal(target, "/etc/shadow");
		free_image(&img);
	}
}

static void test_commit_changes_apply_config(void **state)
{
	struct image_draft d;
	struct platform p = { .os = "linux", .architecture = "amd64" };
	struct failure f;
	char *dump;

	(void)state;
	assert_int_equal(draft_from_scratch(&d, &p, &f), 0);
	assert_int_equal(apply_change(&d, "ENV A=1", &f), 0);
	assert_int_equal(apply_change(&d, "CMD echo $A", &f), 0);
	assert_int_equal(apply_change(&d, "EXPOSE 80", &f), 0);
	assert_int_equal(apply_change(&d, "RUN rm -rf /", &f), -1);
	assert_non_null(strstr(f.what, "RUN does not change the config"));
	dump = json_dumps(json_object_get(d.config, "config"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(dump, "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo $A\"],\"Env\":[\"A=1\"],\"ExposedPorts\":{\"80/tcp\":{}}}");
	free(dump);
	draft_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_instructions_make_the_config),
		cmocka_unit_test(test_entrypoint_clears_an_inherited_cmd),
		cmocka_unit_test(test_run_gets_command_env_workdir_user_and_network),
		cmocka_unit_test(test_a_run_that_changes_nothing_adds_no_layer),
		cmocka_unit_test(test_copy_follows_dockers_rules),
		cmocka_unit_test(test_chown_names_come_from_the_images_passwd),
		cmocka_unit_test(test_add_unpacks_a_local_archive),
		cmocka_unit_test(test_second_build_is_all_cache_and_the_same_image),
		cmocka_unit_test(test_a_changed_copied_file_rebuilds_from_its_copy_on),
		cmocka_unit_test(test_a_changed_line_rebuilds_from_that_line_on),
		cmocka_unit_test(test_an_env_or_build_arg_change_reaches_run),
		cmocka_unit_test(test_ignored_files_are_not_copied_and_do_not_break_the_cache),
		cmocka_unit_test(test_multi_stage_copies_only_the_result),
		cmocka_unit_test(test_bad_input_names_the_line_and_leaves_nothing),
		cmocka_unit_test(test_a_symlink_in_the_context_is_not_followed_out),
		cmocka_unit_test(test_commit_changes_apply_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
