/*
 * run-config.c - box run's flags, written as a config.json.
 *
 * docker turns the flags of `docker run` into a config.json and hands it
 * to runc. box run does the same, in memory: this file writes the JSON
 * from what chapters 2 to 5 put in the spec (rootfs layers, hostname,
 * --userns, limits, volumes, --tmpfs), oci.c reads it back with the very
 * parser box-oci uses for bundles, profile.c adds docker's default
 * security profile, and oci_to_spec turns it into the fields child.c
 * reads. From there on a container takes one path, whichever face
 * started it. (With --keep, the config is left in the container's
 * directory, to read.)
 */
#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "box.h"

static const char oci_version[] = "1.0.2";
/* docker's PATH, for images that set none (and directories, which have no config). */
static const char default_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

enum { CPU_PERIOD_US = 100000 };	/* --cpus 0.5 is 50000 us of every 100000 */

/* The mounts of chapter 2, as config.md entries (docker's list has the same ones). */
static json_t *standard_mounts(const struct container_spec *spec)
{
	const char *sys_mode = spec->security.privileged ? "rw" : "ro";

	return json_pack("[{s:s, s:s, s:s, s:[s,s,s]}, {s:s, s:s, s:s, s:[s,s,s,s]},"
			 " {s:s, s:s, s:s, s:[s,s,s,s,s]}, {s:s, s:s, s:s, s:[s,s,s,s]},"
			 " {s:s, s:s, s:s, s:[s,s,s,s]}]",
			 "destination", "/proc", "type", "proc", "source", "proc", "options", "nosuid", "noexec", "nodev",
			 "destination", "/dev", "type", "tmpfs", "source", "tmpfs",
			 "options", "nosuid", "noexec", "mode=755", "size=64k",
			 "destination", "/dev/pts", "type", "devpts", "source", "devpts",
			 "options", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
			 "destination", "/dev/shm", "type", "tmpfs", "source", "shm",
			 "options", "nosuid", "nodev", "noexec", "mode=1777",
			 "destination", "/sys", "type", "sysfs", "source", "sysfs",
			 "options", sys_mode, "nosuid", "nodev", "noexec");
}

/* -v HOST:PATH[:ro], and the network's /etc files: a recursive bind. */
static json_t *volume_mount(const struct volume *v)
{
	json_t *options = v->read_only ? json_pack("[s,s]", "rbind", "ro") : json_pack("[s]", "rbind");

	return json_pack("{s:s, s:s, s:s, s:o}", "destination", v->destination, "type", "bind", "source", v->source,
			 "options", options);
}

/* --tmpfs PATH[:OPTIONS]: its flags as option words, its data words as they are. */
static json_t *tmpfs_mount(const struct tmpfs_mount *t)
{
	static const struct {
		unsigned long flag;
		const char *word;
	} words[] = { { MS_RDONLY, "ro" }, { MS_NOSUID, "nosuid" }, { MS_NODEV, "nodev" }, { MS_NOEXEC, "noexec" } };
	json_t *options = json_array();
	char data[TMPFS_DATA_MAX], *rest = data, *word;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (t->flags & words[i].flag)
			json_array_append_new(options, json_string(words[i].word));
	}
	snprintf(data, sizeof(data), "%s", t->data);
	while ((word = strsep(&rest, ",")) && word[0])
		json_array_append_new(options, json_string(word));
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", t->destination, "type", "tmpfs", "source", "tmpfs",
			 "options", options);
}

static json_t *mounts_json(const struct container_spec *spec)
{
	json_t *mounts = standard_mounts(spec);

	for (int i = 0; mounts && i < spec->nvolumes; i++)
		json_array_append_new(mounts, volume_mount(&spec->volumes[i]));
	for (int i = 0; mounts && i < spec->ntmpfs; i++)
		json_array_append_new(mounts, tmpfs_mount(&spec->tmpfs[i]));
	return mounts;
}

/* Does the image's Env set name? */
static bool image_sets(char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; env && env[i]; i++) {
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			return true;
	}
	return false;
}

/*
 * The environment: an image's Env ("NAME=value"; anything else is
 * skipped), then chapter 2's PATH and HOME where the image sets none, and
 * TERM passed on so programs inside can still drive the terminal. HOME is
 * /root until the child learns the image user's home (image.c).
 */
static json_t *env_json(const struct container_spec *spec)
{
	json_t *env = json_array();
	const char *term = getenv("TERM");
	char text[256];

	for (size_t i = 0; spec->env && spec->env[i]; i++) {
		char *equals = strchr(spec->env[i], '=');

		if (equals && equals > spec->env[i])
			json_array_append_new(env, json_string(spec->env[i]));
	}
	/* final: -e and --env-file come after the image's: putenv(3) in the child lets the last one win. */
	for (size_t i = 0; spec->extra_env && spec->extra_env[i]; i++)
		json_array_append_new(env, json_string(spec->extra_env[i]));
	if (!image_sets(spec->env, "PATH"))
		json_array_append_new(env, json_string(default_path));
	if (!image_sets(spec->env, "HOME"))
		json_array_append_new(env, json_string("HOME=/root"));
	if (term && !image_sets(spec->env, "TERM") && format_into(text, sizeof(text), "TERM=%s", term) == 0)
		json_array_append_new(env, json_string(text));
	return env;
}

/*
 * The command, as root (an image's User is looked up inside its root, by
 * the child: image.c), in the image's WorkingDir or "/".
 */
static json_t *process_json(const struct container_spec *spec)
{
	json_t *args = json_array();

	for (char **a = spec->argv; *a; a++)
		json_array_append_new(args, json_string(*a));
	return json_pack("{s:b, s:{s:i, s:i}, s:o, s:o, s:s}", "terminal", spec->terminal, "user", "uid", 0, "gid", 0,
			 "args", args, "env", env_json(spec), "cwd", spec->workdir ? spec->workdir : "/");
}

/* Chapter 2's namespaces: no network namespace with --network host, a user namespace with --userns. */
static json_t *namespaces_json(const struct container_spec *spec)
{
	json_t *list = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid", "type", "mount", "type", "uts",
				 "type", "ipc", "type", "cgroup");

	if (list && spec->network != NETWORK_HOST)
		json_array_append_new(list, json_pack("{s:s}", "type", "network"));
	if (list && spec->userns)
		json_array_append_new(list, json_pack("{s:s}", "type", "user"));
	return list;
}

/* Chapter 3's limits, and docker's device rule: deny every device but those every container gets (devices.c). */
static json_t *resources_json(const struct container_spec *spec)
{
	json_t *r = json_pack("{s:[{s:b, s:s}]}", "devices", "allow", spec->security.privileged, "access", "rwm");

	if (r && spec->memory_bytes)	/* swap = memory: no swap beyond the limit (chapter 3) */
		json_object_set_new(r, "memory", json_pack("{s:I, s:I}", "limit", (json_int_t)spec->memory_bytes,
							   "swap", (json_int_t)spec->memory_bytes));
	if (r && spec->cpu_millis)
		json_object_set_new(r, "cpu", json_pack("{s:I, s:I}", "quota",
							(json_int_t)spec->cpu_millis * CPU_PERIOD_US / 1000,
							"period", (json_int_t)CPU_PERIOD_US));
	if (r && spec->pids_max)
		json_object_set_new(r, "pids", json_pack("{s:I}", "limit", (json_int_t)spec->pids_max));
	return r;
}

static json_t *linux_json(const struct container_spec *spec)
{
	json_t *lin = json_pack("{s:o, s:o}", "namespaces", namespaces_json(spec), "resources", resources_json(spec));

	if (lin && spec->userns) {
		json_object_set_new(lin, "uidMappings", json_pack("[{s:i, s:I, s:I}]", "containerID", 0,
								  "hostID", (json_int_t)spec->uids.host,
								  "size", (json_int_t)spec->uids.count));
		json_object_set_new(lin, "gidMappings", json_pack("[{s:i, s:I, s:I}]", "containerID", 0,
								  "hostID", (json_int_t)spec->gids.host,
								  "size", (json_int_t)spec->gids.count));
	}
	return lin;
}

/* The config as text: the root is the overlay box mounts on <dir>/merged (overlay.c). */
static char *config_text(const struct container_spec *spec)
{
	char merged[PATH_MAX];
	json_t *top;
	char *text;

	if (path_join(merged, sizeof(merged), spec->dir, "merged") < 0)
		return NULL;
	top = json_pack("{s:s, s:{s:s, s:b}, s:s, s:o, s:o, s:o}", "ociVersion", oci_version, "root", "path", merged,
			"readonly", spec->read_only, "hostname", spec->hostname, "process", process_json(spec),
			"mounts", mounts_json(spec), "linux", linux_json(spec));
	if (!top)
		return NULL;
	text = json_dumps(top, JSON_COMPACT);
	json_decref(top);
	return text;
}

/* --keep: leave the config beside the writable layer, as it was run. final: also for a
 * detached container, whose processes box exec starts from it (engine.c, exec.c). */
static int keep_config(const struct container_spec *spec, const struct oci_config *cfg, struct failure *f)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), spec->dir, "config.json") < 0)
		return failed(f, "path of %s/config.json", spec->dir);
	return oci_write(path, cfg, f);
}

/*
 * box run's flags as a config (cfg, which the caller frees with oci_free
 * after the run), read back and turned into the spec's step-7 fields. Runs
 * once the container's directory and network are prepared: the overlay's
 * path and the network's /etc files are part of it.
 */
int box_run_config(struct container_spec *spec, struct oci_config *cfg, struct failure *f)
{
	char *text = config_text(spec);
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (!text) {
		errno = ENOMEM;
		return failed(f, "write the config of box run");
	}
	ret = oci_parse_string(text, cfg, f);
	free(text);
	if (ret < 0 || default_profile(&cfg->process, &cfg->lin, &spec->security, f) < 0 ||
	    oci_to_spec(cfg, NULL, spec, f) < 0 || ((spec->keep || spec->launch) && keep_config(spec, cfg, f) < 0)) {
		oci_free(cfg);
		return -1;
	}
	spec->die_with_parent = true;
	spec->console_fd = -1;
	return 0;
}
