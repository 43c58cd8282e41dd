/*
 * build-run.c - a RUN step of box build, run by box run's own code.
 *
 * build.c asks for one thing (build_run, box.h): run a command on the
 * layers so far, with every write landing in an empty directory that then
 * becomes the step's layer. That is box run with two twists, both spec
 * fields run.c and overlay.c already honour:
 *
 *     the layers        the stage's layers (store_layer_dir/diff), top first,
 *                       as an image's are stacked (stack_image_layers)
 *     upper_dir, work   build.c's step directory: the container's upper and
 *                       work are links to them, so the writes outlive the
 *                       container (overlay.c, make_container_dir)
 *
 * Everything else is box run's: namespaces, the cgroup, --network
 * bridge|none|host, docker's security profile, the image's user and
 * working directory, the die-with-box rules, and the undo of all of it.
 *
 * One thing box run does that a build must not: make mount points. A root
 * without /proc, or without /etc/hosts, gets them made in its writable
 * layer, and they would end up in the image. docker puts them in an "init
 * layer" between the image and the container's writes; so does this file:
 * a directory with just the mount points the layers lack, stacked on top,
 * read-only. The mounts then cover them, and the upper directory holds
 * only what the command did.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box.h"

/* Mount points box run's config uses (run-config.c, network.c): directories, then files. */
static const char *const mount_dirs[] = { "proc", "sys", "dev" };
static const char *const mount_files[] = { "etc/hosts", "etc/hostname", "etc/resolv.conf" };

static const char *box_state_dir = "/run/box";

/* --state / $BOX_STATE of the box build command: where bridge leases live (network.c). */
void build_run_set_state(const char *box_state)
{
	box_state_dir = box_state;
}

/*
 * The parent directory of a mount point, in the init layer: absent from
 * the layers, made 0755; present there as a directory, made with its mode,
 * owner and times, since overlayfs copies a directory up from the highest
 * layer that holds it and the init layer is the highest. Anything else (a
 * symlink /etc) is left alone: 1 means "skip this mount point".
 */
static int make_init_parent(char *const layers[], size_t n, const char *init, const char *name)
{
	char path[PATH_MAX], found[PATH_MAX];
	struct stat st;
	struct timespec times[2];

	if (path_join(path, sizeof(path), init, name) < 0)
		return -1;
	if (layers_lookup(layers, n, name, &st, found, sizeof(found)) < 0) {
		if (errno != ENOENT)
			return -1;
		return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 1;
	if (mkdir(path, st.st_mode & 07777) < 0 && errno != EEXIST)
		return -1;
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	if (chown(path, st.st_uid, st.st_gid) < 0 || chmod(path, st.st_mode & 07777) < 0 ||
	    utimensat(AT_FDCWD, path, times, 0) < 0)
		return -1;
	return 0;
}

/* One mount point the layers lack, in the init layer (an empty directory or file). */
static int make_init_entry(char *const layers[], size_t n, const char *init, const char *name, bool dir)
{
	char path[PATH_MAX], parent[PATH_MAX], found[PATH_MAX];
	struct stat st;
	int fd, ret;

	if (layers_lookup(layers, n, name, &st, found, sizeof(found)) == 0)
		return 0;	/* the layers have it: the mount covers it, nothing is written */
	if (errno != ENOENT || format_into(parent, sizeof(parent), "%s", name) < 0)
		return -1;
	if (strchr(parent, '/')) {
		ret = make_init_parent(layers, n, init, dirname(parent));
		if (ret != 0)
			return ret < 0 ? -1 : 0;
	}
	if (path_join(path, sizeof(path), init, name) < 0)
		return -1;
	if (dir)
		return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	return close(fd);
}

/* The init layer: <step>/init, with the mount points the layers (bottom first) lack. */
static int make_init_layer(char *const layers[], size_t n, const char *init)
{
	if (mkdir(init, 0755) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(mount_dirs) / sizeof(mount_dirs[0]); i++) {
		if (make_init_entry(layers, n, init, mount_dirs[i], true) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(mount_files) / sizeof(mount_files[0]); i++) {
		if (make_init_entry(layers, n, init, mount_files[i], false) < 0)
			return -1;
	}
	return 0;
}

/* The layers' directories, bottom first (ROOT/layers/sha256/<hex>/diff); FROM scratch: one empty directory. */
static char **layer_dirs(const struct build_step_run *r, const char *empty)
{
	char **dirs = calloc(r->nlayers + 2, sizeof(*dirs));
	char dir[PATH_MAX], path[PATH_MAX];

	if (!dirs)
		return NULL;
	for (size_t i = 0; i < r->nlayers; i++) {
		if (store_layer_dir(r->store, r->diff_ids[i], dir, sizeof(dir)) < 0 ||
		    path_join(path, sizeof(path), dir, "diff") < 0 || !(dirs[i] = strdup(path))) {
			free_words(dirs);
			return NULL;
		}
	}
	if (r->nlayers == 0 && (mkdir(empty, 0755) < 0 || !(dirs[0] = strdup(empty)))) {
		free_words(dirs);
		return NULL;
	}
	return dirs;
}

/* The container: box run's spec, as box run IMAGE would fill it, plus the step's upper directory. */
static int fill_spec(const struct build_step_run *r, char **layers, size_t n, const char *init,
		     struct container_spec *spec, struct failure *f)
{
	char *stack[MAX_LAYERS + 2];

	if (n > MAX_LAYERS) {
		errno = E2BIG;
		return failed(f, "RUN: more than %d layers", MAX_LAYERS);
	}
	memcpy(stack, layers, n * sizeof(*layers));
	stack[n] = (char *)init;	/* on top of them all */
	spec->box_root = r->store->root;
	spec->box_state = box_state_dir;
	if (stack_image_layers(stack, n + 1, spec, f) < 0)
		return -1;
	if (parse_network_mode(r->network, &spec->network) < 0) {
		errno = EINVAL;
		return failed(f, "--network %s: expected bridge, none or host", r->network);
	}
	spec->argv = (char **)r->argv;
	spec->env = (char **)r->env;
	spec->workdir = r->workdir;
	spec->user = r->user[0] ? r->user : NULL;
	spec->upper_dir = r->upper;
	spec->work_dir = r->work;
	return 0;
}

/*
 * run_container catches SIGINT and SIGTERM while the step runs (it kills
 * the container, then cleans up); the build's own handlers, which stop the
 * build between steps, come back afterwards. A signal that came during the
 * step reaches the build through the step's status (130 for Ctrl-C).
 */
static int run_step(struct container_spec *spec, int *status)
{
	const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction saved[4];

	for (size_t i = 0; i < 4; i++) {
		if (sigaction(signals[i], NULL, &saved[i]) < 0)
			return -1;
	}
	fflush(stdout);
	fflush(stderr);
	*status = run_container(spec);
	for (size_t i = 0; i < 4; i++)
		sigaction(signals[i], &saved[i], NULL);
	return 0;
}

int build_run(const struct build_step_run *r, struct failure *f)
{
	char step[PATH_MAX], init[PATH_MAX], empty[PATH_MAX];
	struct container_spec *spec = calloc(1, sizeof(*spec));
	size_t n = r->nlayers ? r->nlayers : 1;
	char **layers = NULL;
	int ret = -1;

	if (!spec)
		return failed(f, "RUN: memory");
	if (format_into(step, sizeof(step), "%s", r->upper) < 0 || path_join(init, sizeof(init), dirname(step), "init") < 0 ||
	    path_join(empty, sizeof(empty), step, "empty") < 0 || !(layers = layer_dirs(r, empty))) {
		failed(f, "RUN: the layers beside %s", r->upper);
		goto out;
	}
	if (make_init_layer(layers, n, init) < 0) {
		failed(f, "RUN: make the mount points in %s", init);
		goto out;
	}
	if (fill_spec(r, layers, n, init, spec, f) < 0)
		goto out;
	if (run_step(spec, r->status) < 0) {
		failed(f, "RUN: signal handlers");
		goto out;
	}
	/* run_container said what went wrong already; 125 would be read as the command's status. */
	if (*r->status < 0) {
		errno = EIO;
		failed(f, "RUN: the step's container could not be run (see above)");
		goto out;
	}
	ret = 0;
out:
	free_words(layers);
	free(spec);
	return ret;
}
