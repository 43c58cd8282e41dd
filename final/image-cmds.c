/*
 * image-cmds.c - the commands that make and ship images (issue 15):
 *
 *     box build -t NAME[:TAG] [-f FILE] [--build-arg K=V]... [--no-cache] [--network MODE] [--platform P] CONTEXT
 *     box commit [--change 'CMD ...']... CONTAINER NAME[:TAG]
 *     box tag SOURCE TARGET
 *     box history [--no-trunc] IMAGE
 *     box push [-q] [--chunk-size BYTES] IMAGE [DESTINATION]
 *     box save -o FILE IMAGE...
 *     box load -i FILE
 *     box login [-u USER] [-p PASSWORD | --password-stdin] REGISTRY
 *     box logout REGISTRY | --all
 *     box inspect IMAGE
 *
 * Each body parses its own flags and calls the file that does the work
 * (build.c, commit.c, push.c, archive.c, login.c); box.c only hands over
 * (image_tool_main). Errors: one line, "box: <what>[: <strerror>]", status
 * 125; a RUN whose command fails ends box build with that command's status,
 * as podman's does.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "box.h"

enum { MAX_BUILD_ARGS = 64, MAX_CHANGES = 32, PASSWORD_MAX = 512 };

/* Each command, and what 'box COMMAND --help' says of it. */
static const struct {
	const char *name, *usage;
} image_commands[] = {
	{ "build", "build -t NAME[:TAG] [-f FILE] [--build-arg K=V]... [--no-cache] [--network bridge|none|host]\n"
		   "          [--platform OS/ARCH] CONTEXT\n"
		   "Build an image from CONTEXT's Containerfile (or Dockerfile): each RUN in a container on the\n"
		   "layers so far, each step cached (SOURCE_DATE_EPOCH clamps file times and dates).\n" },
	{ "commit", "commit [--change 'INSTRUCTION']... CONTAINER NAME[:TAG]\n"
		    "The writable layer of a container kept with 'box run --keep', as a new image on its own.\n" },
	{ "tag", "tag SOURCE TARGET\nGive an image another name (nothing is copied).\n" },
	{ "history", "history [--no-trunc] IMAGE\nThe steps that made IMAGE, newest first.\n" },
	{ "push", "push [-q] [--chunk-size BYTES] IMAGE [DESTINATION]\n"
		  "Upload IMAGE to its registry (or to DESTINATION): what the registry has is not sent again.\n" },
	{ "save", "save -o FILE IMAGE...\nImages as one OCI layout tar (podman load and skopeo read it).\n" },
	{ "load", "load -i FILE\nImages from an OCI layout or docker-archive tar, every digest checked.\n" },
	{ "login", "login -u USER (-p PASSWORD | --password-stdin) REGISTRY\n"
		   "Check the credentials with REGISTRY, then keep them in podman's auth.json.\n" },
	{ "logout", "logout REGISTRY | --all\nForget the credentials for REGISTRY (or all).\n" },
	{ "inspect", "inspect IMAGE\nThe image's id, digest, layers and config, as JSON.\n" },
};
enum { IMAGE_COMMANDS = sizeof(image_commands) / sizeof(image_commands[0]) };

bool is_image_command(const char *name)
{
	for (size_t i = 0; i < IMAGE_COMMANDS; i++) {
		if (strcmp(name, image_commands[i].name) == 0)
			return true;
	}
	return false;
}

/* "box: <what>: <strerror>"; no strerror when errno is 0 (a RUN's command failed, not box). */
static int report(const struct failure *f)
{
	if (errno)
		fail("%s", f->what);
	else
		fail_msg("%s", f->what);
	return EXIT_BOX_ERROR;
}

static int usage(const char *command, const char *text)
{
	fail_msg("%s: usage: box %s %s", command, command, text);
	return EXIT_BOX_ERROR;
}

/* ---- box build ---------------------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* SIGINT and SIGTERM stop a build between steps; no SA_RESTART, so a wait returns and the step ends. */
static int catch_interrupts(void)
{
	struct sigaction sa = { .sa_handler = on_interrupt };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -1;
	return 0;
}

static const char build_usage[] =
	"-t NAME[:TAG] [-f FILE] [--build-arg K=V]... [--no-cache] [--network bridge|none|host] [--platform P] CONTEXT";

static int build(const struct store *s, const struct container_spec *spec, int argc, char **argv)
{
	static const struct option options[] = {
		{ "tag", required_argument, NULL, 't' }, { "file", required_argument, NULL, 'f' },
		{ "build-arg", required_argument, NULL, 'a' }, { "no-cache", no_argument, NULL, 'n' },
		{ "network", required_argument, NULL, 'N' }, { "platform", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	char *args[MAX_BUILD_ARGS];
	struct build_options opt = { .build_args = args, .interrupted = &interrupted,
				     .pull = { .progress = PROGRESS_LINES } };
	struct build_result res = { 0 };
	enum network_mode mode;
	struct failure f;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:t:f:", options, NULL)) != -1) {
		if (c == 't')
			opt.tag = optarg;
		else if (c == 'f')
			opt.file = optarg;
		else if (c == 'a' && opt.nbuild_args < MAX_BUILD_ARGS)
			args[opt.nbuild_args++] = optarg;
		else if (c == 'n')
			opt.no_cache = true;
		else if (c == 'N')
			opt.network = optarg;
		else if (c == 'P')
			opt.platform = optarg;
		else
			return usage("build", build_usage);
	}
	if (argc - optind != 1)
		return usage("build", build_usage);
	opt.context = argv[optind];
	/* Checked now, not at the first RUN (which the cache may skip). */
	if (opt.network && parse_network_mode(opt.network, &mode) < 0)
		return fail_msg("build: --network %s: expected bridge, none or host", opt.network);
	if (catch_interrupts() < 0)
		return fail("build: signal handlers");
	build_run_set_state(spec->box_state);
	if (build_image(s, &opt, &res, &f) < 0) {
		report(&f);
		return res.status ? res.status : EXIT_BOX_ERROR;
	}
	return 0;
}

/* ---- box commit ----------------------------------------------------------------------------- */

/*
 * The image a kept container ran: its lower/N links (overlay.c) point at
 * the store's layer directories, top first; the image whose layers are the
 * same, bottom first, is its base. (box run records no image name: the
 * layers are what the container's root was made of.)
 */
static int find_base_image(const struct store *s, const char *dir, struct image_record *base, struct failure *f)
{
	char link[PATH_MAX], lowers[MAX_LAYERS + 1][PATH_MAX];
	struct image_record *recs;
	size_t n = 0, count;
	int found = -1;

	for (; n <= MAX_LAYERS; n++) {
		if (format_into(link, sizeof(link), "%s/lower/%zu", dir, n) < 0 || !realpath(link, lowers[n]))
			break;
	}
	if (store_list_images(s, &recs, &count) < 0)
		return failed(f, "read the image index in %s", s->root);
	for (size_t i = 0; i < count && found < 0; i++) {
		struct reference ref;
		struct image img = { 0 };
		struct failure ignored;
		char text[2 * REF_NAME_MAX + DIGEST_LEN + 2];

		if (format_into(text, sizeof(text), "%s%s%s", recs[i].name, recs[i].tag[0] ? ":" : "@",
				recs[i].tag[0] ? recs[i].tag : recs[i].digest) < 0 ||
		    parse_reference(text, &ref, &ignored) < 0 || store_open_image(s, &ref, &img, &ignored) < 0)
			continue;
		if (img.nlayers == n) {
			found = 0;
			for (size_t k = 0; k < n && found == 0; k++)
				found = strcmp(img.layers[n - 1 - k], lowers[k]) == 0 ? 0 : -1;
		}
		if (found == 0)
			*base = recs[i];
		free_image(&img);
	}
	free(recs);
	if (found < 0) {
		errno = ENOENT;
		return failed(f, "commit: the layers of %s are no image's here (was it run from a directory?)", dir);
	}
	return 0;
}

/* The container's writable layer as a new layer on its image, with --change applied; named NAME. */
static int commit_container(const struct store *s, const char *dir, const char *id, const char *name,
			    char *const changes[], size_t nchanges, struct failure *f)
{
	struct image_record base, rec;
	struct image_draft d;
	struct layer_blob layer;
	long long clamp;
	char upper[PATH_MAX], created[32], created_by[64];
	int ret;

	if (source_date_epoch(&clamp) < 0)
		return failed(f, "SOURCE_DATE_EPOCH: expected a whole number of seconds");
	if (find_base_image(s, dir, &base, f) < 0 || draft_from_image(s, &base, &d, f) < 0)
		return -1;
	ret = path_join(upper, sizeof(upper), dir, "upper") < 0 ? failed(f, "%s/upper", dir)
								 : layer_from_dir(s, upper, clamp, &layer, f);
	format_rfc3339(clamp >= 0 ? (time_t)clamp : time(NULL), created, sizeof(created));
	snprintf(created_by, sizeof(created_by), "box commit %s", id);
	if (ret == 0 && (draft_add_layer(&d, &layer) < 0 || draft_add_history(&d, created, created_by, false, NULL) < 0))
		ret = failed(f, "commit: add the layer to the image");
	for (size_t i = 0; ret == 0 && i < nchanges; i++)
		ret = apply_change(&d, changes[i], f);
	if (ret == 0)
		ret = draft_commit(s, &d, created, &rec, f);
	if (ret == 0)
		ret = name_image_as(s, &rec, name, f);
	draft_free(&d);
	if (ret == 0)
		printf("%s\n", rec.config + strlen("sha256:"));
	return ret;
}

/*
 * box commit CONTAINER NAME: a container kept with box run --keep (its
 * directory stays, with its upper directory). Its lock says whether a box
 * still runs it: an upper directory read while written would be a torn
 * layer, so a running container is refused (docker pauses it instead).
 */
static int commit(const struct store *s, const struct container_spec *spec, int argc, char **argv)
{
	static const struct option options[] = { { "change", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 } };
	char *changes[MAX_CHANGES], dir[PATH_MAX];
	size_t nchanges = 0;
	struct failure f;
	int c, lock, ret;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:", options, NULL)) != -1) {
		if (c != 'c' || nchanges == MAX_CHANGES)
			return usage("commit", "[--change 'INSTRUCTION']... CONTAINER NAME[:TAG]");
		changes[nchanges++] = optarg;
	}
	if (argc - optind != 2)
		return usage("commit", "[--change 'INSTRUCTION']... CONTAINER NAME[:TAG]");
	if (!is_container_id(argv[optind]))
		return fail_msg("commit: %s: expected a container id (box run --keep prints it)", argv[optind]);
	if (format_into(dir, sizeof(dir), "%s/containers/%s", spec->box_root, argv[optind]) < 0)
		return fail_msg("commit: %s: path too long", argv[optind]);
	lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0)
		return fail("commit: no such container: %s", argv[optind]);
	if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
		close(lock);
		return errno == EWOULDBLOCK ? fail_msg("commit: container %s is running: wait until it exits", argv[optind])
					    : fail("commit: lock %s", dir);
	}
	ret = commit_container(s, dir, argv[optind], argv[optind + 1], changes, nchanges, &f);
	close(lock);
	return ret < 0 ? report(&f) : 0;
}

/* ---- box push, save, load ------------------------------------------------------------------- */

static int push(const struct store *s, int argc, char **argv)
{
	static const struct option options[] = { { "quiet", no_argument, NULL, 'q' },
						  { "chunk-size", required_argument, NULL, 'c' },
						  { "insecure", no_argument, NULL, 'i' }, { NULL, 0, NULL, 0 } };
	struct push_options opt = { .progress = PROGRESS_AUTO };
	char digest[DIGEST_LEN + 1], *end;
	struct failure f;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:q", options, NULL)) != -1) {
		if (c == 'q') {
			opt.progress = PROGRESS_QUIET;
		} else if (c == 'i') {
			opt.registry.insecure = true;
		} else if (c == 'c') {
			errno = 0;
			opt.chunk_size = strtoll(optarg, &end, 10);
			if (errno || *end || opt.chunk_size <= 0)
				return fail_msg("push: --chunk-size %s: expected a number of bytes", optarg);
		} else {
			return usage("push", "[-q] [--chunk-size BYTES] IMAGE [DESTINATION]");
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage("push", "[-q] [--chunk-size BYTES] IMAGE [DESTINATION]");
	return push_image(s, argv[optind], argv[optind + 1], &opt, digest, &f) < 0 ? report(&f) : 0;
}

static int save(const struct store *s, int argc, char **argv)
{
	struct failure f;

	if (argc < 4 || (strcmp(argv[1], "-o") != 0 && strcmp(argv[1], "--output") != 0))
		return usage("save", "-o FILE IMAGE...");
	return save_images(s, argv + 3, (size_t)argc - 3, argv[2], &f) < 0 ? report(&f) : 0;
}

static int load(const struct store *s, int argc, char **argv)
{
	struct failure f;

	if (argc != 3 || (strcmp(argv[1], "-i") != 0 && strcmp(argv[1], "--input") != 0))
		return usage("load", "-i FILE");
	return load_images(s, argv[2], stdout, &f) < 0 ? report(&f) : 0;
}

/* ---- box tag, history, inspect ------------------------------------------------------------ */

static int history(const struct store *s, int argc, char **argv)
{
	bool no_trunc = argc == 3 && strcmp(argv[1], "--no-trunc") == 0;
	struct failure f;

	if (argc != 2 + no_trunc || argv[argc - 1][0] == '-')
		return usage("history", "[--no-trunc] IMAGE");
	return print_history(stdout, s, argv[argc - 1], no_trunc, time(NULL), &f) < 0 ? report(&f) : 0;
}

/*
 * box inspect IMAGE: what docker image inspect shows most: the id, the
 * digest, the layers' diffIDs, and the config (Env, Cmd, ExposedPorts...),
 * as one JSON object.
 */
static int inspect(const struct store *s, int argc, char **argv)
{
	struct image_record rec;
	struct reference ref;
	struct failure f;
	json_t *config, *out;
	json_error_t error;
	char *data;
	size_t len;
	int ret;

	if (argc != 2 || argv[1][0] == '-')
		return usage("inspect", "IMAGE");
	if (parse_reference(argv[1], &ref, &f) < 0)
		return report(&f);
	if (store_find_image(s, &ref, &rec) < 0)
		return fail_msg("inspect: no such image: %s", argv[1]);
	if (store_read_blob(s, rec.config, CONFIG_MAX, &data, &len, &f) < 0)
		return report(&f);
	config = json_loadb(data, len, 0, &error);
	free(data);
	if (!config)
		return fail_msg("inspect: the config of %s: %s", argv[1], error.text);
	out = json_pack("{s:s, s:s, s:s, s:O*, s:O*, s:O*, s:O*, s:O*}", "Id", rec.config, "Digest", rec.digest,
			"Name", argv[1], "Created", json_object_get(config, "created"),
			"Architecture", json_object_get(config, "architecture"), "Os", json_object_get(config, "os"),
			"Config", json_object_get(config, "config"),
			"RootFS", json_object_get(config, "rootfs"));
	json_decref(config);
	if (!out)
		return fail_msg("inspect: %s", argv[1]);
	ret = json_dumpf(out, stdout, JSON_INDENT(4));
	json_decref(out);
	if (ret < 0 || putchar('\n') == EOF)
		return fail("inspect: write");
	return 0;
}

/* ---- box login, logout (no store) ----------------------------------------------------------- */

/* --password-stdin: one line. */
static int read_password(char *buf, size_t size)
{
	if (!fgets(buf, (int)size, stdin))
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static int login(int argc, char **argv)
{
	static const struct option options[] = { { "username", required_argument, NULL, 'u' },
						  { "password", required_argument, NULL, 'p' },
						  { "password-stdin", no_argument, NULL, 's' }, { NULL, 0, NULL, 0 } };
	const char *user = NULL;
	char password[PASSWORD_MAX] = "", path[PATH_MAX], key[REF_NAME_MAX + 1];
	struct registry_options opt = { 0 };
	struct failure f;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:u:p:", options, NULL)) != -1) {
		if (c == 'u')
			user = optarg;
		else if (c == 'p')
			snprintf(password, sizeof(password), "%s", optarg);
		else if (c == 's' && read_password(password, sizeof(password)) < 0)
			return fail_msg("login: no password on stdin");
		else if (c != 's')
			return usage("login", "-u USER (-p PASSWORD | --password-stdin) REGISTRY");
	}
	if (!user || argc - optind != 1)
		return usage("login", "-u USER (-p PASSWORD | --password-stdin) REGISTRY");
	credential_key(argv[optind], key, sizeof(key));
	if (login_check(key, user, password, &opt, &f) < 0 ||
	    login_save(argv[optind], user, password, path, sizeof(path), &f) < 0)
		return report(&f);
	printf("Login Succeeded!\n");
	return 0;
}

static int logout(int argc, char **argv)
{
	bool all = argc == 2 && strcmp(argv[1], "--all") == 0;
	char path[PATH_MAX];
	struct failure f;

	if (argc != 2)
		return usage("logout", "REGISTRY | --all");
	if (logout_remove(argv[1], all, path, sizeof(path), &f) < 0)
		return report(&f);
	printf("Removed login credentials for %s\n", all ? "all registries" : argv[1]);
	return 0;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

/* argv[0] is the command ("build"); spec holds --root and --state. Returns box's exit status. */
int image_tool_main(int argc, char **argv, const struct container_spec *spec)
{
	const char *cmd = argv[0];
	struct failure f;
	struct store s;
	int ret;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		for (size_t i = 0; i < IMAGE_COMMANDS; i++) {
			if (strcmp(cmd, image_commands[i].name) == 0)
				printf("Usage: box [--root DIR] %s", image_commands[i].usage);
		}
		return 0;
	}
	/* fail() returns -1: as an exit status that is box's own error, 125. */
	if (strcmp(cmd, "login") == 0)
		return (ret = login(argc, argv)) < 0 ? EXIT_BOX_ERROR : ret;
	if (strcmp(cmd, "logout") == 0)
		return (ret = logout(argc, argv)) < 0 ? EXIT_BOX_ERROR : ret;
	if (store_open(&s, spec->box_root, STORE_SHARED, &f) < 0)
		return report(&f);
	if (strcmp(cmd, "build") == 0)
		ret = build(&s, spec, argc, argv);
	else if (strcmp(cmd, "commit") == 0)
		ret = commit(&s, spec, argc, argv);
	else if (strcmp(cmd, "tag") == 0)
		ret = argc != 3 ? usage("tag", "SOURCE TARGET") : tag_image(&s, argv[1], argv[2], &f) < 0 ? report(&f) : 0;
	else if (strcmp(cmd, "history") == 0)
		ret = history(&s, argc, argv);
	else if (strcmp(cmd, "push") == 0)
		ret = push(&s, argc, argv);
	else if (strcmp(cmd, "save") == 0)
		ret = save(&s, argc, argv);
	else if (strcmp(cmd, "load") == 0)
		ret = load(&s, argc, argv);
	else
		ret = inspect(&s, argc, argv);
	store_close(&s);
	return ret < 0 ? EXIT_BOX_ERROR : ret;
}
