/*
 * state.c - what box-oci remembers of each container between two commands.
 *
 * box-oci create exits as soon as the container exists; start, state,
 * kill, exec and delete are separate processes that come later, maybe
 * from another client. What they need is on disk, under --root
 * (default /run/box-oci, a tmpfs: it goes with a reboot, as the
 * containers do):
 *
 *     <root>/<id>/state.json   the init's pid and start time, the bundle, the cgroup path
 *                 config.json  the bundle's config, as it was at create
 *                 exec.fifo    only while "created": the init waits on it for start
 *                 lock         what commands on this container lock, one at a time
 *
 * runtime.md "State": a container is creating, created, running or
 * stopped (and box-oci adds paused, as runc does). Only "creating" is
 * written down; the rest is found out each time, because the init can
 * exit at any moment without telling anyone: stopped if the init is gone,
 * created while exec.fifo exists, paused while its cgroup is frozen,
 * running otherwise. A pid alone does not say the init lives: after it
 * exits, the kernel may give its number to another process, so the start
 * time (proc(5), /proc/PID/stat field 22) is kept and compared.
 *
 * state.json is written whole or not at all (write_file_atomically), and
 * every command that changes a container holds a lock in its directory
 * (lock_state_dir, create.c), so two box-oci at once take turns.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "box.h"

static const char state_file[] = "state.json";
static const char oci_version[] = "1.0.2";

enum { START_TIME_FIELD = 22 };	/* proc(5): /proc/PID/stat field 22, starttime */

static const char *const status_names[] = {
	[STATUS_CREATING] = "creating", [STATUS_CREATED] = "created", [STATUS_RUNNING] = "running",
	[STATUS_PAUSED] = "paused", [STATUS_STOPPED] = "stopped",
};

/*
 * Report a failure of read_state once: "container X does not exist" says
 * it all (ENOENT); a state file that cannot be read gets strerror too.
 */
int fail_state(const struct failure *f)
{
	return errno == ENOENT ? fail_msg("%s", f->what) : fail("%s", f->what);
}

/*
 * Report a failure of reading or checking a config once: oci.c's messages
 * name the field and say what is wrong (EINVAL: malformed, ENOTSUP: not
 * done by box), so strerror would add nothing; others (a config.json that
 * cannot be read) get it.
 */
int fail_config(const struct failure *f)
{
	return errno == EINVAL || errno == ENOTSUP ? fail_msg("%s", f->what) : fail("%s", f->what);
}

const char *status_name(enum container_status status)
{
	return status_names[status];
}

/*
 * An id names a directory under --root: letters, digits and "_+-." (runc's
 * rule), not "." or "..". podman and docker use 64 hex digits, ctr a name.
 */
int check_container_id(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > NAME_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		goto bad;
	for (const char *c = id; *c; c++) {
		if (!isalnum((unsigned char)*c) && !strchr("_+-.", *c))
			goto bad;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int state_dir(const char *root, const char *id, char *buf, size_t size)
{
	return path_join(buf, size, root, id);
}

/* The whole state as JSON: what state.json holds. */
static json_t *state_object(const struct state *st)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:b}", "ociVersion", oci_version, "id", st->id,
			 "pid", (json_int_t)st->pid, "pidStartTime", (json_int_t)st->start_time, "bundle", st->bundle,
			 "cgroupsPath", st->cgroup_path, "created", st->created, "creating", st->creating);
}

/* [exercise] */
/*
 * Write <dir>/state.json so that a reader sees the old state or the new,
 * never half of one: a box-oci state may read it at any moment, and a
 * crash must not leave a file no command can read. state_object gives the
 * JSON (jansson: json_dumps(3)); write_file_atomically (util.c) writes a
 * temporary file beside it and rename(2)s it into place.
 */
int write_state(const struct state *st)
{
	char path[PATH_MAX];
	json_t *obj = state_object(st);
	char *text = obj ? json_dumps(obj, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
	int ret = -1;

	json_decref(obj);
	if (!text) {
		errno = ENOMEM;
		return -1;
	}
	if (path_join(path, sizeof(path), st->dir, state_file) == 0)
		ret = write_file_atomically(path, text);
	free(text);
	return ret;
}

/* Copy one string field of state.json into buf. */
static int copy_field(json_t *obj, const char *key, char *buf, size_t size)
{
	const char *value = json_string_value(json_object_get(obj, key));

	if (!value) {
		errno = EINVAL;
		return -1;
	}
	return format_into(buf, size, "%s", value);
}

/* Read <root>/<id>/state.json; "container ID does not exist" (ENOENT) if there is none. */
int read_state(const char *root, const char *id, struct state *st, struct failure *f)
{
	char path[PATH_MAX];
	json_error_t err;
	json_t *obj;
	int ret;

	memset(st, 0, sizeof(*st));
	if (check_container_id(id) < 0)
		return failed(f, "container id \"%s\": letters, digits and _+-. only", id);
	if (state_dir(root, id, st->dir, sizeof(st->dir)) < 0 || path_join(path, sizeof(path), st->dir, state_file) < 0)
		return failed(f, "state of %s", id);
	obj = json_load_file(path, 0, &err);
	if (!obj) {
		errno = access(path, F_OK) < 0 ? ENOENT : EINVAL;
		return errno == ENOENT ? failed(f, "container %s does not exist", id)
				       : failed(f, "read %s: %s", path, err.text);
	}
	ret = copy_field(obj, "id", st->id, sizeof(st->id)) | copy_field(obj, "bundle", st->bundle, sizeof(st->bundle)) |
	      copy_field(obj, "cgroupsPath", st->cgroup_path, sizeof(st->cgroup_path)) |
	      copy_field(obj, "created", st->created, sizeof(st->created));
	st->pid = (pid_t)json_integer_value(json_object_get(obj, "pid"));
	st->start_time = (unsigned long long)json_integer_value(json_object_get(obj, "pidStartTime"));
	st->creating = json_is_true(json_object_get(obj, "creating"));
	json_decref(obj);
	return ret < 0 ? failed(f, "read %s: a field is missing", path) : 0;
}

/*
 * proc(5): /proc/PID/stat is "pid (comm) state ppid ... starttime ...";
 * comm may hold spaces and parentheses, so count fields after the last
 * ')'. starttime is field 22: when the process started, in clock ticks
 * since boot. Also fails (ESRCH) for a zombie: it has exited already.
 */
int process_start_time(pid_t pid, unsigned long long *start_time)
{
	char path[64], text[1024], *p;
	ssize_t n;
	int fd;

	if (format_into(path, sizeof(path), "/proc/%d/stat", (int)pid) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	p = strrchr(text, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z') {
		errno = ESRCH;
		return -1;
	}
	p += 2;	/* field 3, the state */
	for (int field = 3; field < START_TIME_FIELD; field++) {
		p = strchr(p, ' ');
		if (!p) {
			errno = EINVAL;
			return -1;
		}
		p++;
	}
	*start_time = strtoull(p, NULL, 10);
	return 0;
}

/* Is the container's init still the process we started (not gone, not a zombie, not a reused pid)? */
bool init_is_alive(const struct state *st)
{
	unsigned long long start_time;

	return st->pid > 0 && process_start_time(st->pid, &start_time) == 0 && start_time == st->start_time;
}

/* runtime.md "State": found out, not stored (see the top). cg may be NULL: then never "paused". */
enum container_status container_status(const struct state *st, const struct cgroup *cg)
{
	char fifo[PATH_MAX];

	if (st->creating)
		return STATUS_CREATING;
	if (!init_is_alive(st))
		return STATUS_STOPPED;
	if (path_join(fifo, sizeof(fifo), st->dir, "exec.fifo") == 0 && access(fifo, F_OK) == 0)
		return STATUS_CREATED;
	if (cg && cgroup_frozen(cg))
		return STATUS_PAUSED;
	return STATUS_RUNNING;
}

/*
 * runtime.md "State", what `box-oci state` prints and hooks read on their
 * stdin: ociVersion, id, status, pid (while there is one), bundle,
 * annotations (from the config, if any), and when it was created.
 */
char *state_json(const struct state *st, enum container_status status, const struct oci_config *cfg)
{
	json_t *obj = json_pack("{s:s, s:s, s:s}", "ociVersion", oci_version, "id", st->id, "status",
				status_name(status));
	json_t *annotations = json_object();
	char *text = NULL;

	if (!obj || !annotations)
		goto out;
	if (status != STATUS_STOPPED && st->pid > 0)
		json_object_set_new(obj, "pid", json_integer(st->pid));
	json_object_set_new(obj, "bundle", json_string(st->bundle));
	for (size_t i = 0; cfg && i < cfg->n_annotations; i++)
		json_object_set_new(annotations, cfg->annotations[i].key, json_string(cfg->annotations[i].value));
	json_object_set(obj, "annotations", annotations);
	if (st->created[0])
		json_object_set_new(obj, "created", json_string(st->created));
	text = json_dumps(obj, JSON_PRESERVE_ORDER | JSON_COMPACT);
out:
	json_decref(annotations);
	json_decref(obj);
	return text;
}

/*
 * --pid-file: the init's pid in the caller's pid namespace, in decimal
 * with no newline (containerd reads it with strconv.Atoi), written as
 * runc does: to ".<name>" beside it, then renamed, so a reader never sees
 * an empty file.
 */
int write_pid_file(const char *path, pid_t pid)
{
	const char *slash = strrchr(path, '/');
	char temp[PATH_MAX], text[16];
	ssize_t len;
	int fd, ret;

	if ((slash && format_into(temp, sizeof(temp), "%.*s/.%s", (int)(slash - path), path, slash + 1) < 0) ||
	    (!slash && format_into(temp, sizeof(temp), ".%s", path) < 0) ||
	    format_into(text, sizeof(text), "%d", (int)pid) < 0)
		return -1;
	fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	len = (ssize_t)strlen(text);
	ret = write(fd, text, (size_t)len) == len ? 0 : -1;
	if (close(fd) < 0 || ret < 0 || rename(temp, path) < 0) {
		int err = errno ? errno : EIO;

		unlink(temp);
		errno = err;
		return -1;
	}
	return 0;
}
