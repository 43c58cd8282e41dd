/*
 * volume.c - named volumes: directories box keeps for data that outlives
 * containers, <root>/volumes/<name>/_data (docker's layout).
 *
 * `-v data:/var/lib/x` names one: made at the first run that names it and,
 * as docker does, seeded then with what the image has at /var/lib/x. A
 * volume is in use while any container record names it (config.json's
 * "Volumes"): box volume rm refuses it then, box volume prune leaves it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"

static const char volumes_dir[] = "volumes";

int volume_path(const char *root, const char *name, char *buf, size_t size)
{
	return format_into(buf, size, "%s/%s/%s/_data", root, volumes_dir, name);
}

/* Make the volume if it is not there; *made says whether this call made it. */
int volume_create(const char *root, const char *name, bool *made)
{
	char path[PATH_MAX], data[PATH_MAX];

	*made = false;
	if (!is_container_name(name)) {
		errno = EINVAL;
		return -1;
	}
	if (format_into(path, sizeof(path), "%s/%s", root, volumes_dir) < 0 || make_path(path) < 0 ||
	    format_into(path, sizeof(path), "%s/%s/%s", root, volumes_dir, name) < 0 ||
	    volume_path(root, name, data, sizeof(data)) < 0)
		return -1;
	if (mkdir(path, 0700) < 0)
		return errno == EEXIST ? 0 : -1;
	if (mkdir(data, 0755) < 0) {
		rmdir(path);
		return -1;
	}
	*made = true;
	return 0;
}

/*
 * Seed a new volume with the image's content at dest: each read-only layer,
 * bottom first, copied over the last (the top one wins, as in the overlay).
 * Layer content is untrusted: paths are resolved inside each layer (cp.c).
 */
static int seed_volume(const struct container_spec *spec, const struct volume *v)
{
	for (int i = spec->nlayers; i >= 0; i--) {
		const char *layer = i == spec->nlayers ? spec->rootfs : spec->layers[i];
		int root = open(layer, O_PATH | O_DIRECTORY | O_CLOEXEC), ret;

		if (root < 0)
			return -1;
		ret = copy_dir_contents(root, v->destination, v->source);
		close(root);
		if (ret < 0 && errno != ENOENT && errno != ENOTDIR)
			return -1;
	}
	return 0;
}

/* Before a run: every named volume of -v exists; a new one is seeded from the image (docker's rule). */
int volumes_prepare(const struct container_spec *spec)
{
	for (int i = 0; i < spec->nvolumes; i++) {
		const struct volume *v = &spec->volumes[i];
		bool made;

		if (!v->volume_name[0])
			continue;
		if (volume_create(spec->box_root, v->volume_name, &made) < 0)
			return fail("create volume %s", v->volume_name);
		if (made && seed_volume(spec, v) < 0)
			return fail("seed volume %s with the image's %s", v->volume_name, v->destination);
	}
	return 0;
}

/* Does any container record name this volume? */
bool volume_in_use(const char *root, const char *name, char user[LONG_ID_LEN + 1])
{
	char (*ids)[LONG_ID_LEN + 1];
	bool used = false;
	size_t n;

	if (container_list(root, &ids, &n) < 0)
		return true;	/* cannot tell: say yes, and remove nothing */
	for (size_t i = 0; i < n && !used; i++) {
		struct container c;
		json_t *v;
		size_t j;

		if (container_load(root, ids[i], &c) < 0)
			continue;
		json_array_foreach(json_object_get(c.config, "Volumes"), j, v) {
			if (json_string_value(v) && strcmp(json_string_value(v), name) == 0) {
				used = true;
				snprintf(user, LONG_ID_LEN + 1, "%s", c.id);
			}
		}
		container_free(&c);
	}
	free(ids);
	return used;
}

int volume_remove(const char *root, const char *name)
{
	char path[PATH_MAX];

	if (!is_container_name(name) || format_into(path, sizeof(path), "%s/%s/%s", root, volumes_dir, name) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (access(path, F_OK) < 0)
		return -1;
	return remove_tree(path);
}

/* The names of all volumes, one callback each. */
int volume_each(const char *root, int (*fn)(const char *root, const char *name, void *arg), void *arg)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	if (format_into(path, sizeof(path), "%s/%s", root, volumes_dir) < 0)
		return -1;
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] != '.' && fn(root, d->d_name, arg) < 0)
			ret = -1;
	}
	closedir(dir);
	return ret;
}

/* ---- box volume create|ls|inspect|rm|prune -------------------------------------------------- */

static int print_volume(const char *root, const char *name, void *arg)
{
	(void)root;
	(void)arg;
	printf("%-10s%s\n", "local", name);
	return 0;
}

static int inspect_volume(const char *root, const char *name, json_t *all)
{
	char path[PATH_MAX];
	struct stat st;
	json_t *v;

	if (volume_path(root, name, path, sizeof(path)) < 0 || stat(path, &st) < 0)
		return fail_msg("volume inspect: no such volume: %s", name);
	v = json_pack("{s:s, s:s, s:s, s:{}, s:s}", "Name", name, "Driver", "local", "Mountpoint", path, "Labels",
		      "Scope", "local");
	json_array_append_new(all, v);
	return 0;
}

static int remove_volume(const char *root, const char *name, bool quiet_if_used)
{
	char user[LONG_ID_LEN + 1] = "";

	if (volume_in_use(root, name, user))
		return quiet_if_used ? 0 : fail_msg("volume rm: volume %s is in use by container %.12s", name, user);
	if (volume_remove(root, name) < 0)
		return errno == ENOENT ? fail_msg("volume rm: no such volume: %s", name) : fail("volume rm %s", name);
	printf("%s\n", name);
	return 0;
}

static int prune_volume(const char *root, const char *name, void *arg)
{
	(void)arg;
	return remove_volume(root, name, true);
}

int cmd_volume(struct command_line *cl)
{
	const char *root = cl->spec.box_root, *verb = cl->argc > 1 ? cl->argv[1] : "";
	int failures = 0;

	if (strcmp(verb, "create") == 0) {
		char name[LONG_ID_LEN + 1];
		bool made;

		if (cl->argc > 3)
			return fail_msg("volume create: takes at most one NAME");
		if (cl->argc == 3)
			snprintf(name, sizeof(name), "%s", cl->argv[2]);
		else
			snprintf(name, sizeof(name), "%016llx%016llx", (unsigned long long)now_ns(),
				 (unsigned long long)getpid() * 2654435761ULL);
		if (volume_create(root, name, &made) < 0)
			return errno == EINVAL ? fail_msg("volume create: %s: expected letters, digits, _ . -", name)
					       : fail("volume create %s", name);
		printf("%s\n", name);
		return 0;
	}
	if (strcmp(verb, "ls") == 0) {
		printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
		return volume_each(root, print_volume, NULL) < 0 ? fail("volume ls") : 0;
	}
	if (strcmp(verb, "inspect") == 0 || strcmp(verb, "rm") == 0) {
		json_t *all = json_array();

		for (int i = 2; i < cl->argc; i++) {
			if ((verb[0] == 'i' ? inspect_volume(root, cl->argv[i], all) : remove_volume(root, cl->argv[i], false)) < 0)
				failures++;
		}
		if (verb[0] == 'i') {
			char *text = json_dumps(all, JSON_INDENT(4));

			if (text)
				printf("%s\n", text);
			free(text);
		}
		json_decref(all);
		if (cl->argc < 3)
			return fail_msg("volume %s: needs at least one volume", verb);
		return failures ? -1 : 0;
	}
	if (strcmp(verb, "prune") == 0)
		return volume_each(root, prune_volume, NULL) < 0 ? fail("volume prune") : 0;
	return fail_msg("volume: expected create, ls, inspect, rm or prune (see 'box volume --help')");
}
