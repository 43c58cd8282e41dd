/*
 * image.c - running an image: from a stored image to a container spec
 * (parent side), and the image's user and working directory (child side).
 *
 * The parent finds the image in the store (pulling it if it is missing) and
 * turns it into what step 4's overlay already knows: read-only layers, top
 * first, over a lowest one. The image config says what to run and how,
 * as docker applies it:
 *
 *     Entrypoint + Cmd        the command; a CMD on box's command line replaces Cmd
 *     Env                     the environment (PATH and HOME filled in if it sets none)
 *     WorkingDir              made if missing, then the command starts there
 *     User                    "name", "uid", "uid:gid", "name:group": looked up in the
 *                             image's own /etc/passwd and /etc/group, inside its root
 *
 * The user is looked up by the child, after pivot_root(2): the files that
 * name users are the image's, never the host's. No NSS, no getpwnam(3):
 * that could load libraries from the image into box. fgetpwent(3) and
 * fgetgrent(3) only parse the text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box.h"

static const char passwd_path[] = "/etc/passwd";
static const char group_path[] = "/etc/group";

enum {
	MAX_USER_ID = 2147483647,	/* docker's limit for a numeric uid or gid (2^31 - 1) */
};

/* ---- parent side: the image as a container spec ------------------------------------------ */

/*
 * overlayfs wants lowerdir= top first; an image lists its layers bottom
 * first. The --layer directories stay on top, the image's layers go below
 * them, and its bottom layer becomes ROOTFS. A layer the image lists twice
 * (old docker images repeat the empty layer) is stacked once, where it is
 * highest: overlayfs refuses one directory twice, and the lower copy could
 * not change anything the higher one shows.
 */
int stack_image_layers(char *const layers[], size_t count, struct container_spec *spec, struct failure *f)
{
	const char *unique[MAX_LAYERS + 1];
	size_t n = 0;

	for (size_t i = count; i-- > 0;) {
		bool seen = false;

		for (size_t k = 0; k < n; k++)
			seen |= strcmp(unique[k], layers[i]) == 0;
		if (seen)
			continue;
		if (n + (size_t)spec->nlayers == MAX_LAYERS + 1) {
			errno = E2BIG;
			return failed(f, "the image and --layer make more than %d layers", MAX_LAYERS + 1);
		}
		unique[n++] = layers[i];
	}
	if (n == 0) {
		errno = EINVAL;
		return failed(f, "the image has no layers");
	}
	for (size_t k = 0; k + 1 < n; k++)
		spec->layers[spec->nlayers++] = unique[k];
	spec->rootfs = unique[n - 1];
	return 0;
}

/*
 * The command, as docker builds it from the image config: Entrypoint, then
 * the user's CMD if there is one, else the image's Cmd. *argv gets a new
 * NULL-terminated array (the caller frees it; the strings stay where they
 * are). Neither Entrypoint nor Cmd nor a CMD: nothing to run (EINVAL).
 */
int image_command(const struct image_config *c, char **args, char ***argv, struct failure *f)
{
	char **cmd = args && args[0] ? args : c->cmd;
	size_t n = 0;

	for (size_t i = 0; c->entrypoint && c->entrypoint[i]; i++)
		n++;
	for (size_t i = 0; cmd && cmd[i]; i++)
		n++;
	if (n == 0) {
		errno = EINVAL;
		return failed(f, "run: the image has neither Entrypoint nor Cmd: give a command (box run IMAGE CMD...)");
	}
	*argv = calloc(n + 1, sizeof(**argv));
	if (!*argv)
		return failed(f, "run: the command");
	n = 0;
	for (size_t i = 0; c->entrypoint && c->entrypoint[i]; i++)
		(*argv)[n++] = c->entrypoint[i];
	for (size_t i = 0; cmd && cmd[i]; i++)
		(*argv)[n++] = cmd[i];
	return 0;
}

/* A port no one listens on now, from the kernel (bind(2) to port 0): -P's host side. */
static int free_port(int protocol)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, protocol == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* final: -P: every port the image exposes ("80/tcp"), published on a free host port. */
static int publish_exposed_ports(const struct image_config *c, struct container_spec *spec, struct failure *f)
{
	for (size_t i = 0; c->exposed_ports && c->exposed_ports[i]; i++) {
		struct port_map *p = &spec->ports[spec->nports];
		char proto[8] = "tcp";
		unsigned port;
		int host;

		if (sscanf(c->exposed_ports[i], "%u/%7s", &port, proto) < 1 || port == 0 || port > 65535)
			continue;
		p->protocol = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
		host = free_port(p->protocol);
		if (spec->nports == MAX_PORTS || host < 0) {
			errno = host < 0 ? errno : E2BIG;
			return failed(f, "-P: publish %s", c->exposed_ports[i]);
		}
		p->host_ip.s_addr = INADDR_ANY;
		p->host_port = (unsigned short)host;
		p->container_port = (unsigned short)port;
		spec->nports++;
	}
	return 0;
}

/* Layers, command, environment, working directory and user of the image, into spec. */
static int image_to_spec(const struct image *img, struct container_spec *spec, char ***argv, struct failure *f)
{
	const char *workdir = spec->workdir_flag ? spec->workdir_flag : img->config.working_dir;
	/* final: --entrypoint replaces the image's Entrypoint and drops its Cmd, as docker does. */
	struct image_config config = img->config;
	char *entrypoint[2] = { (char *)spec->entrypoint_flag, NULL };

	if (spec->entrypoint_flag) {
		config.entrypoint = spec->entrypoint_flag[0] ? entrypoint : NULL;
		config.cmd = NULL;
	}
	if (stack_image_layers(img->layers, img->nlayers, spec, f) < 0 ||
	    image_command(&config, spec->argv, argv, f) < 0)
		return -1;
	if (workdir && workdir[0] && workdir[0] != '/') {
		errno = EINVAL;
		return failed(f, "run: the image's WorkingDir \"%s\" is not an absolute path", workdir);
	}
	if (spec->publish_all && publish_exposed_ports(&img->config, spec, f) < 0)	/* final: -P */
		return -1;
	spec->argv = *argv;
	spec->env = img->config.env;
	spec->workdir = workdir && workdir[0] ? workdir : NULL;
	spec->user = img->config.user && img->config.user[0] ? img->config.user : NULL;
	if (spec->user_flag)	/* final: -u */
		spec->user = spec->user_flag;
	return 0;
}

/* The image named text, from the store; pulled first if the store lacks it (docker's --pull missing). */
static int find_or_pull(const struct store *s, const char *text, const struct pull_options *opt, struct image *img,
			struct failure *f)
{
	struct image_record rec;
	struct reference ref;
	char name[2 * REF_NAME_MAX + 2], familiar[2 * REF_NAME_MAX + 2];

	if (parse_reference(text, &ref, f) < 0)
		return -1;
	/* final: --pull never refuses what is not here; --pull always asks the registry in any case. */
	if (opt->policy && strcmp(opt->policy, "always") == 0 && pull_image(s, text, opt, &rec, f) < 0)
		return -1;
	if (store_find_image(s, &ref, &rec) < 0 && opt->policy && strcmp(opt->policy, "never") == 0) {
		errno = ENOENT;
		return failed(f, "no such image here: %s (and --pull never)", text);
	}
	if (store_find_image(s, &ref, &rec) < 0) {
		reference_name(&ref, name, sizeof(name));
		familiar_name(name, familiar, sizeof(familiar));
		fprintf(stderr, "Unable to find image '%s%s%s' locally\n", familiar, ref.tag[0] ? ":" : "@",
			ref.tag[0] ? ref.tag : ref.digest);
		if (pull_image(s, text, opt, &rec, f) < 0)
			return -1;
	}
	return store_open_image(s, &ref, img, f);
}

/*
 * final: the engine pulls (or refuses, with --pull never) before it records
 * a container, in the user's process: its progress and errors go to the
 * user, not into the detached container's log.
 */
int image_ensure(const char *box_root, const char *text, const struct pull_options *opt, char *stop_signal,
		 size_t size)
{
	struct image img = { 0 };
	struct failure f;
	struct store s;
	int ret;

	if (store_open(&s, box_root, STORE_SHARED, &f) < 0)
		return fail("%s", f.what);
	ret = find_or_pull(&s, text, opt, &img, &f);
	if (ret < 0)
		fail("%s", f.what);
	else	/* box stop sends it (engine.c) */
		snprintf(stop_signal, size, "%s", img.config.stop_signal ? img.config.stop_signal : "");
	free_image(&img);
	store_close(&s);
	return ret;
}

/*
 * box run IMAGE: the store stays open (locked shared) while the container
 * runs, so 'box rmi' cannot remove the layers under it. Returns the
 * command's exit status, or -1 if box failed (and said so).
 */
int run_image(struct container_spec *spec, const struct pull_options *opt)
{
	struct image img = { 0 };
	struct failure f;
	struct store s;
	char **argv = NULL;
	int status = -1;

	/* The store is root's alone (0700): the mapped root of a user namespace could not read its layers. */
	if (spec->userns)
		return fail_msg("run: --userns works only with a ROOTFS directory: image layers are private to root");
	if (store_open(&s, spec->box_root, STORE_SHARED, &f) < 0)
		return fail("%s", f.what);
	if (find_or_pull(&s, spec->image, opt, &img, &f) == 0 && image_to_spec(&img, spec, &argv, &f) == 0)
		status = run_container(spec);
	else
		fail("%s", f.what);
	free(argv);
	free_image(&img);
	store_close(&s);
	return status;
}

/* ---- child side: the image's user and working directory ----------------------------------- */

/* A whole decimal number from 0 to MAX_USER_ID, as docker takes uids and gids. */
static bool parse_user_id(const char *text, unsigned int *id)
{
	unsigned long long n = 0;

	if (!text[0] || strspn(text, "0123456789") != strlen(text))
		return false;
	for (const char *p = text; *p; p++) {
		n = n * 10 + (unsigned long long)(*p - '0');
		if (n > MAX_USER_ID)
			return false;
	}
	*id = (unsigned int)n;
	return true;
}

/* The passwd entry for name (or, if numeric, for that uid): the first that matches, as docker takes it. */
static struct passwd *find_passwd(FILE *passwd, const char *name)
{
	unsigned int uid;
	bool numeric = parse_user_id(name, &uid);
	struct passwd *pw;

	if (!passwd)
		return NULL;
	rewind(passwd);
	while ((pw = fgetpwent(passwd))) {
		if (numeric ? pw->pw_uid == uid : strcmp(pw->pw_name, name) == 0)
			return pw;
	}
	return NULL;
}

/* The group of "user:group": by name in the image's /etc/group, or a number (which need not be there). */
static int find_group(FILE *group, const char *name, struct user_ids *ids, struct failure *f)
{
	unsigned int gid;
	bool numeric = parse_user_id(name, &gid);
	struct group *gr;

	if (group)
		rewind(group);
	while (group && (gr = fgetgrent(group))) {
		if (numeric ? gr->gr_gid == gid : strcmp(gr->gr_name, name) == 0) {
			ids->gid = gr->gr_gid;
			return 0;
		}
	}
	if (!numeric) {
		errno = ENOENT;
		return failed(f, "look up group %s in the image's %s", name, group_path);
	}
	ids->gid = gid;
	return 0;
}

/* The supplementary groups of a user found by name: every group of /etc/group that lists it. */
static int member_groups(FILE *group, const char *user, struct user_ids *ids, struct failure *f)
{
	struct group *gr;

	if (group)
		rewind(group);
	while (group && (gr = fgetgrent(group))) {
		for (char **m = gr->gr_mem; *m; m++) {
			if (strcmp(*m, user) != 0)
				continue;
			if (ids->ngroups == USER_GROUPS_MAX) {
				errno = E2BIG;
				return failed(f, "user %s is in more than %d groups", user, USER_GROUPS_MAX);
			}
			ids->groups[ids->ngroups++] = gr->gr_gid;
		}
	}
	return 0;
}

/*
 * The ids the image's User names, as docker (runc's user package) reads
 * it: "name" or "uid", optionally ":group" or ":gid". A name must be in
 * /etc/passwd; a number need not be (then gid 0, home "/"). An explicit
 * group replaces the user's own; otherwise the groups of /etc/group that
 * list the user are its supplementary groups. passwd and group may be
 * NULL (the image has no such file). Unknown names: ENOENT, noted in f.
 * HOME comes from /etc/passwd too; a uid it does not list gets "/".
 */
int find_user(FILE *passwd, FILE *group, const char *user, struct user_ids *ids, struct failure *f)
{
	char name[USER_NAME_MAX], found[USER_NAME_MAX] = "";
	const char *colon = strchr(user, ':');
	struct passwd *pw;

	memset(ids, 0, sizeof(*ids));
	if (format_into(name, sizeof(name), "%.*s", colon ? (int)(colon - user) : (int)strlen(user), user) < 0)
		return failed(f, "user %s", user);
	if (!name[0])
		snprintf(name, sizeof(name), "0");	/* ":group": root, with that group */
	pw = find_passwd(passwd, name);
	if (pw) {
		ids->uid = pw->pw_uid;
		ids->gid = pw->pw_gid;
		if (format_into(found, sizeof(found), "%s", pw->pw_name) < 0 ||
		    format_into(ids->home, sizeof(ids->home), "%s", pw->pw_dir) < 0)
			return failed(f, "user %s in the image's %s", name, passwd_path);
	} else if (parse_user_id(name, &ids->uid)) {
		snprintf(ids->home, sizeof(ids->home), "/");
	} else {
		errno = ENOENT;
		return failed(f, "look up user %s in the image's %s", name, passwd_path);
	}
	if (colon)
		return find_group(group, colon + 1, ids, f);
	return found[0] ? member_groups(group, found, ids, f) : 0;
}

/*
 * The image's /etc/passwd or /etc/group, opened inside its root: only a
 * regular file (open(2) of a FIFO would wait for a writer forever). NULL
 * with ENOENT if the image has none; that is allowed, numeric ids need none.
 */
static FILE *open_account_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	FILE *file;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	file = fdopen(fd, "r");
	if (!file)
		close(fd);
	return file;
}

/* Look the image's User up in its own account files (we are inside its root now). */
static int lookup_image_user(const char *user, struct user_ids *ids, struct failure *f)
{
	FILE *passwd = open_account_file(passwd_path), *group = NULL;
	int ret = -1;

	if (!passwd && errno != ENOENT)
		return failed(f, "open the image's %s", passwd_path);
	group = open_account_file(group_path);
	if (!group && errno != ENOENT)
		failed(f, "open the image's %s", group_path);
	else
		ret = find_user(passwd, group, user, ids, f);
	if (passwd)
		fclose(passwd);
	if (group)
		fclose(group);
	return ret;
}

/*
 * HOME=/root, which box run's config holds unless the image's Env sets
 * HOME (run-config.c), becomes the user's home. The string lives until
 * execve(2), which is soon.
 */
static int set_home(struct oci_process *process, const char *home)
{
	char *entry;

	for (size_t i = 0; i < process->n_env; i++) {
		if (strcmp(process->env[i], "HOME=/root") != 0)
			continue;
		if (asprintf(&entry, "HOME=%s", home) < 0)
			return -1;
		process->env[i] = entry;
	}
	return 0;
}

/*
 * mkdir -p the image's WorkingDir, as root, before "/" may become read-only
 * (rootfs.c). We are inside the container's root already: "..", and
 * symlinks on the way, resolve in it, never on the host.
 */
int make_working_dir(const char *path)
{
	char partial[PATH_MAX];

	if (format_into(partial, sizeof(partial), "%s", path) < 0)
		return -1;
	for (char *p = partial + 1;; p++) {
		char saved = *p;

		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdir(partial, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

/*
 * Step 7: the image's User, in box run's process. A name means something
 * only in the image's own /etc/passwd and /etc/group, which the child can
 * read now, past pivot_root(2): write its ids into the process (security.c
 * becomes that user, last, as for any config), and its home into HOME.
 */
int image_user_to_process(const struct container_spec *spec, struct oci_process *process, struct failure *f)
{
	static struct user_ids ids;	/* process points into it until execve(2) */
	static uint32_t groups[USER_GROUPS_MAX];

	if (lookup_image_user(spec->user, &ids, f) < 0)
		return -1;
	if (set_home(process, ids.home) < 0)
		return failed(f, "set HOME for user %s", spec->user);
	for (size_t i = 0; i < ids.ngroups; i++)
		groups[i] = ids.groups[i];
	process->user.uid = ids.uid;
	process->user.gid = ids.gid;
	process->user.additional_gids = groups;
	process->user.n_additional_gids = ids.ngroups;
	return 0;
}
