/*
 * container.c - the engine's record of a container, on disk.
 *
 * A daemonless engine keeps nothing in memory between commands: every
 * `box ps`, `box stop`, `box rm` reads what the others wrote. One directory
 * per container, <root>/containers/<64 hex digits>/, holds
 *
 *     config.json   what it was created with (the run's words, name, image); never changes
 *     state.json    created / running (init pid, monitor pid and start time) / exited
 *     exit.json     written by the monitor when the init exits (monitor.c)
 *     log.json      its output, docker's json-file format (logs.c)
 *
 * Every JSON file is written temp + rename (a reader sees old or new,
 * never half). A flock(2) on the directory serialises changes of state.
 * Its running parts (overlay, cgroup, lease) live under the 12-digit short
 * id, <root>/containers/<short id>/, as in step 7 (overlay.c): the two
 * names never collide (is_container_id wants exactly 12 digits).
 *
 * Names are unique: <root>/names/<name> is a symlink to the id, made with
 * symlink(2), which fails with EEXIST if the name is taken: no race.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box.h"
#include "engine.h"

static const char containers_dir[] = "containers";
static const char names_dir[] = "names";

/* docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
bool is_container_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= CONTAINER_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return false;
	}
	return true;
}

/* Is name a long id: 64 lowercase hex digits? */
static bool is_long_id(const char *name)
{
	size_t i;

	for (i = 0; name[i]; i++) {
		if (!isxdigit((unsigned char)name[i]) || isupper((unsigned char)name[i]))
			return false;
	}
	return i == LONG_ID_LEN;
}

/* 32 random bytes as 64 hex digits, like docker's ids (getrandom(2)). */
static int new_long_id(char id[LONG_ID_LEN + 1])
{
	unsigned char bytes[LONG_ID_LEN / 2];

	if (getrandom(bytes, sizeof(bytes), 0) != sizeof(bytes))
		return -1;
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(id + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

/* docker names containers it was not told a name for "adjective_scientist"; ours: "box_" and 8 of the id's digits. */
static void default_name(const char *id, char name[CONTAINER_NAME_MAX])
{
	snprintf(name, CONTAINER_NAME_MAX, "box_%.8s", id + 12);
}

static int container_path(char *buf, size_t size, const char *root, const char *id, const char *file)
{
	if (file)
		return format_into(buf, size, "%s/%s/%s/%s", root, containers_dir, id, file);
	return format_into(buf, size, "%s/%s/%s", root, containers_dir, id);
}

int container_file(const struct container *c, const char *file, char *buf, size_t size)
{
	return format_into(buf, size, "%s/%s", c->dir, file);
}

/* Write obj to path, temp + rename: readers see the old file or the new one. */
static int save_json(const char *path, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	int ret;

	if (!text)
		return -1;
	ret = write_file_atomically(path, text);
	free(text);
	return ret;
}

int container_save_config(struct container *c)
{
	char path[PATH_MAX];

	if (container_file(c, "config.json", path, sizeof(path)) < 0)
		return -1;
	return save_json(path, c->config);
}

int container_save_state(struct container *c)
{
	char path[PATH_MAX];

	if (container_file(c, "state.json", path, sizeof(path)) < 0)
		return -1;
	return save_json(path, c->state);
}

/* Claim name for id: a symlink, made atomically, that fails if the name is in use. */
static int claim_name(const char *root, const char *name, const char *id, struct failure *f)
{
	char dir[PATH_MAX], path[PATH_MAX], other[LONG_ID_LEN + 1] = "";

	if (format_into(dir, sizeof(dir), "%s/%s", root, names_dir) < 0 || make_path(dir) < 0 ||
	    path_join(path, sizeof(path), dir, name) < 0)
		return failed(f, "names in %s", root);
	if (symlink(id, path) == 0)
		return 0;
	if (errno != EEXIST)
		return failed(f, "claim the name %s", name);
	if (readlink(path, other, LONG_ID_LEN) < 0)
		other[0] = '\0';
	errno = 0;
	return failed(f, "the container name \"%s\" is already in use by container \"%.12s\": remove it or give "
		      "another --name", name, other);
}

static void release_name(const char *root, const char *name)
{
	char path[PATH_MAX];

	if (format_into(path, sizeof(path), "%s/%s/%s", root, names_dir, name) == 0)
		unlink(path);
}

/* A short id must be unique too: it names the container's running parts (cgroup, veth, lease). */
static bool short_id_taken(const char *root, const char *id)
{
	char short_id[CONTAINER_ID_LEN + 1];
	struct container c;
	struct failure f;

	snprintf(short_id, sizeof(short_id), "%.*s", CONTAINER_ID_LEN, id);
	if (container_find(root, short_id, &c, &f) == 0) {
		container_free(&c);
		return true;
	}
	return errno != ENOENT;
}

/*
 * Create the record: a new id, the name claimed, config.json and a state
 * "created". words are the run's words after "run", kept so that `box start`
 * parses them again exactly as `box run` did.
 */
int container_create(const char *root, const char *name, const char *image, int nwords, char **words,
		     const struct run_flags *flags, struct container *c, struct failure *f)
{
	char path[PATH_MAX], gen[CONTAINER_NAME_MAX];
	json_t *args;

	memset(c, 0, sizeof(*c));
	do {
		if (new_long_id(c->id) < 0)
			return failed(f, "make a container id");
	} while (short_id_taken(root, c->id));
	if (!name) {
		default_name(c->id, gen);
		name = gen;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (container_path(c->dir, sizeof(c->dir), root, c->id, NULL) < 0 ||
	    format_into(path, sizeof(path), "%s/%s", root, containers_dir) < 0 || make_path(path) < 0)
		return failed(f, "containers in %s", root);
	if (claim_name(root, name, c->id, f) < 0)
		return -1;
	if (mkdir(c->dir, 0700) < 0) {
		failed(f, "create %s", c->dir);
		release_name(root, name);
		return -1;
	}
	args = json_array();
	for (int i = 0; i < nwords; i++)
		json_array_append_new(args, json_string(words[i]));
	c->config = json_pack("{s:s, s:s, s:s, s:I, s:o, s:b, s:b, s:b, s:b}", "Id", c->id, "Name", name, "Image",
			      image, "Created", (json_int_t)now_ns(), "Args", args, "AutoRemove", flags->remove,
			      "Tty", flags->tty, "OpenStdin", flags->interactive, "Init", flags->init);
	c->state = json_pack("{s:s}", "Status", "created");
	if (!c->config || !c->state || container_file(c, "config.json", path, sizeof(path)) < 0 ||
	    save_json(path, c->config) < 0 || container_save_state(c) < 0) {
		failed(f, "write the record of container %s", c->id);
		container_destroy(root, c);
		return -1;
	}
	return 0;
}

/* Read <dir>/<file> as JSON. */
static json_t *load_json(const char *dir, const char *file)
{
	char path[PATH_MAX];

	if (format_into(path, sizeof(path), "%s/%s", dir, file) < 0)
		return NULL;
	return json_load_file(path, 0, NULL);
}

/* Load the record of the container with this long id. */
int container_load(const char *root, const char *id, struct container *c)
{
	const char *name;

	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	if (container_path(c->dir, sizeof(c->dir), root, id, NULL) < 0)
		return -1;
	c->config = load_json(c->dir, "config.json");
	c->state = load_json(c->dir, "state.json");
	if (!c->config || !c->state) {
		container_free(c);
		errno = ENOENT;
		return -1;
	}
	name = json_string_value(json_object_get(c->config, "Name"));
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	return 0;
}

void container_free(struct container *c)
{
	json_decref(c->config);
	json_decref(c->state);
	c->config = c->state = NULL;
}

/* Every container's long id, from the directory. The caller frees. */
int container_list(const char *root, char (**ids)[LONG_ID_LEN + 1], size_t *n)
{
	char path[PATH_MAX];
	struct dirent *d;
	size_t cap = 0;
	DIR *dir;

	*ids = NULL;
	*n = 0;
	if (format_into(path, sizeof(path), "%s/%s", root, containers_dir) < 0)
		return -1;
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : -1;
	while ((d = readdir(dir))) {
		if (!is_long_id(d->d_name))
			continue;
		if (*n == cap) {
			void *more = realloc(*ids, (cap = cap ? 2 * cap : 16) * sizeof(**ids));

			if (!more) {
				closedir(dir);
				return -1;
			}
			*ids = more;
		}
		memcpy((*ids)[(*n)++], d->d_name, LONG_ID_LEN + 1);	/* is_long_id: exactly 64 digits */
	}
	closedir(dir);
	return 0;
}

/*
 * What the user typed: a name, a long id, or a unique prefix of an id (as
 * docker). Fails with ENOENT (no such container) or, for a prefix two
 * ids share, with a message saying so.
 */
int container_find(const char *root, const char *text, struct container *c, struct failure *f)
{
	char path[PATH_MAX], id[LONG_ID_LEN + 1] = "", (*ids)[LONG_ID_LEN + 1];
	size_t n, matches = 0, len = strlen(text);
	ssize_t got;

	if (format_into(path, sizeof(path), "%s/%s/%s", root, names_dir, text) == 0 && is_container_name(text) &&
	    (got = readlink(path, id, LONG_ID_LEN)) == LONG_ID_LEN && container_load(root, id, c) == 0)
		return 0;
	if (container_list(root, &ids, &n) < 0)
		return failed(f, "list the containers in %s", root);
	for (size_t i = 0; i < n && len > 0; i++) {
		if (strncmp(ids[i], text, len) == 0 && matches++ == 0)
			snprintf(id, sizeof(id), "%s", ids[i]);
	}
	free(ids);
	if (matches > 1) {
		errno = 0;
		return failed(f, "%s: more than one container's id starts so: give more of it", text);
	}
	if (matches == 0 || container_load(root, id, c) < 0) {
		errno = ENOENT;
		return failed(f, "no such container: %s", text);
	}
	return 0;
}

/* flock(2) the record: changes of state.json happen one at a time. */
int container_lock(const struct container *c)
{
	int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (lock_fd(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Re-read state.json (under the lock, before changing it). */
int container_reload_state(struct container *c)
{
	json_t *state = load_json(c->dir, "state.json");

	if (!state)
		return -1;
	json_decref(c->state);
	c->state = state;
	return 0;
}

/* Remove the record and its name: the last step of box rm. */
int container_destroy(const char *root, struct container *c)
{
	char cmd_path[PATH_MAX];
	int ret = remove_tree(c->dir);

	if (c->name[0]) {
		char target[LONG_ID_LEN + 1] = "";

		/* Only our own name: after a crash the name may have gone to another container. */
		if (format_into(cmd_path, sizeof(cmd_path), "%s/%s/%s", root, names_dir, c->name) == 0 &&
		    readlink(cmd_path, target, LONG_ID_LEN) == LONG_ID_LEN && strcmp(target, c->id) == 0)
			release_name(root, c->name);
	}
	return ret;
}
