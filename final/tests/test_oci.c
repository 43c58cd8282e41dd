/*
 * test_oci.c - box-oci, checked against the OCI runtime specification
 * (runtime.md, config.md, config-linux.md) the way a client would: a
 * bundle whose config.json sets one field, and a check from inside the
 * container (/proc/self/status, /proc/self/mounts, ...) or from the host
 * (the cgroup files). Then the lifecycle, what is refused and how, and the
 * two runc escapes of CVE.md run against box-oci.
 *
 * Every container's cgroup is below /box-test-<pid>/, made in every
 * hierarchy by the group setup, so the clean-host check (testkit/host-state)
 * sees any cgroup a test leaves there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box.h"
#include "boxtest.h"

enum { WAIT_TRIES = 500, CGROUP_MOUNTS_MAX = 32 };

static char oci_bin[600], state_root[600], rootfs[600], cgroup_prefix[64];
static char cgroup_mounts[CGROUP_MOUNTS_MAX][512];
static int n_cgroup_mounts;

/* ---- helpers ---------------------------------------------------------------------------- */

/* snprintf(3), failing the test rather than cutting a path short. */
static void format(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		fail_msg("a test path or command is too long: %.100s...", buf);
}

/* Run box-oci --root <state_root> ARGS... and collect what it printed. */
static struct run ociv(const char *arg, va_list ap)
{
	char *argv[64] = { oci_bin, "--root", state_root };
	int argc = 3;

	for (const char *a = arg; a; a = va_arg(ap, const char *)) {
		assert_true(argc < 63);
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;
	return run_argv(argv);
}

static struct run oci(const char *arg, ...)
{
	struct run r;
	va_list ap;

	va_start(ap, arg);
	r = ociv(arg, ap);
	va_end(ap);
	return r;
}

/* The same, for a step that must succeed. */
static void oci_ok(const char *arg, ...)
{
	struct run r;
	va_list ap;

	va_start(ap, arg);
	r = ociv(arg, ap);
	va_end(ap);
	assert_status(&r, 0);
}

/* A shell command line on the host, with $B for box-oci --root R and $T for the test directory. */
static struct run host(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct run host(const char *fmt, ...)
{
	char cmd[8192], script[9000];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	format(script, sizeof(script), "B='%s --root %s'; T='%s'; %s", oci_bin, state_root, test_dir(), cmd);
	return run_argv(argv);
}

/* The base config of the tests: /bin/sh -c CMD, docker's 14 capabilities, the usual mounts, a read-only root. */
static json_t *base_config(const char *id, const char *cmd)
{
	char cgroups_path[200];
	json_t *caps = json_array(), *cfg;

	for (size_t i = 0; docker_default_caps[i]; i++)
		json_array_append_new(caps, json_string(docker_default_caps[i]));
	snprintf(cgroups_path, sizeof(cgroups_path), "%s/%s", cgroup_prefix, id);
	cfg = json_pack(
		"{s:s, s:{s:s, s:b}, s:{s:b, s:{s:i, s:i}, s:[s,s,s], s:[s], s:s, s:{s:O, s:O, s:O}},"
		" s:[{s:s, s:s, s:s, s:[s,s,s]}, {s:s, s:s, s:s, s:[s,s,s,s]}, {s:s, s:s, s:s, s:[s,s,s,s,s]},"
		"    {s:s, s:s, s:s, s:[s,s,s,s]}, {s:s, s:s, s:s, s:[s,s,s]}, {s:s, s:s, s:s, s:[s,s,s,s]},"
		"    {s:s, s:s, s:s, s:[s,s,s]}],"
		" s:{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}, {s:s}], s:s}}",
		"ociVersion", "1.0.2", "root", "path", rootfs, "readonly", 1,
		"process", "terminal", 0, "user", "uid", 0, "gid", 0, "args", "/bin/sh", "-c", cmd,
		"env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "cwd", "/",
		"capabilities", "bounding", caps, "effective", caps, "permitted", caps,
		"mounts", "destination", "/proc", "type", "proc", "source", "proc", "options", "nosuid", "noexec", "nodev",
		"destination", "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid", "strictatime", "mode=755",
		"size=65536k",
		"destination", "/dev/pts", "type", "devpts", "source", "devpts", "options", "nosuid", "noexec",
		"newinstance", "ptmxmode=0666", "mode=0620",
		"destination", "/dev/shm", "type", "tmpfs", "source", "shm", "options", "nosuid", "noexec", "nodev",
		"mode=1777",
		"destination", "/dev/mqueue", "type", "mqueue", "source", "mqueue", "options", "nosuid", "noexec", "nodev",
		"destination", "/sys", "type", "sysfs", "source", "sysfs", "options", "nosuid", "noexec", "nodev", "ro",
		"destination", "/tmp", "type", "tmpfs", "source", "tmpfs", "options", "nosuid", "nodev", "mode=1777",
		"linux", "namespaces", "type", "pid", "type", "network", "type", "ipc", "type", "uts", "type", "mount",
		"type", "cgroup", "cgroupsPath", cgroups_path);
	json_decref(caps);
	assert_non_null(cfg);
	return cfg;
}

/* Set a value (taken over) at a dotted path of cfg, making objects on the way; NULL deletes it. */
static void set(json_t *cfg, const char *path, json_t *value)
{
	char buf[256], *save = NULL, *key, *next;
	json_t *obj = cfg;

	snprintf(buf, sizeof(buf), "%s", path);
	key = strtok_r(buf, ".", &save);
	while ((next = strtok_r(NULL, ".", &save))) {
		json_t *child = json_object_get(obj, key);

		if (!child) {
			child = json_object();
			json_object_set_new(obj, key, child);
		}
		obj = child;
		key = next;
	}
	if (value)
		json_object_set_new(obj, key, value);
	else
		json_object_del(obj, key);
}

/* Append value (taken over) to the array at path. */
static void add(json_t *cfg, const char *path, json_t *value)
{
	char buf[256], *save = NULL, *key;
	json_t *obj = cfg;

	snprintf(buf, sizeof(buf), "%s", path);
	for (key = strtok_r(buf, ".", &save); key; key = strtok_r(NULL, ".", &save))
		obj = json_object_get(obj, key);
	assert_non_null(obj);
	json_array_append_new(obj, value);
}

/* The bundle <test_dir>/<id>, holding cfg (freed) as config.json; its path. */
static const char *bundle(const char *id, json_t *cfg)
{
	static char dir[700];
	char path[800];

	snprintf(dir, sizeof(dir), "%s/%s", test_dir(), id);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	assert_int_equal(json_dump_file(cfg, path, JSON_INDENT(1)), 0);
	json_decref(cfg);
	return dir;
}

/* Read a file of the test directory, "" if it is not there; name is NAME or NAME.EXT. */
static const char *test_file_ext(const char *name, const char *ext)
{
	static char text[RUN_OUTPUT_MAX];
	char path[700];

	snprintf(path, sizeof(path), "%s/%s%s", test_dir(), name, ext);
	if (!read_text(path, text, sizeof(text)))
		text[0] = '\0';
	return text;
}

static const char *test_file(const char *name)
{
	return test_file_ext(name, "");
}

/*
 * box-oci create: its stdout and stderr, which the init inherits, go to
 * files (<id>.out, <id>.err), as conmon gives it pipes: our pipes would stay
 * open as long as the container runs. extra: more flags, and redirections.
 */
static struct run create(const char *id, json_t *cfg, const char *extra)
{
	static struct run r;
	const char *dir = bundle(id, cfg);
	struct run done;

	done = host("exec $B create --bundle %s %s %s >$T/%s.out 2>$T/%s.err </dev/null", dir, extra, id, id, id);
	memset(&r, 0, sizeof(r));
	r.status = done.status;
	snprintf(r.err, sizeof(r.err), "%s", test_file_ext(id, ".err"));
	return r;
}

static void create_ok(const char *id, json_t *cfg, const char *extra)
{
	struct run r = create(id, cfg, extra);

	assert_status(&r, 0);
}

/* The JSON of box-oci state ID (NULL if it failed), and its status field. */
static json_t *state_of(const char *id)
{
	struct run r = oci("state", id, NULL);

	return r.status == 0 ? json_loads(r.out, 0, NULL) : NULL;
}

static const char *status_of(const char *id)
{
	static char status[32];
	json_t *st = state_of(id);

	snprintf(status, sizeof(status), "%s", st ? json_string_value(json_object_get(st, "status")) : "(none)");
	json_decref(st);
	return status;
}

static pid_t pid_of(const char *id)
{
	json_t *st = state_of(id);
	pid_t pid = st ? (pid_t)json_integer_value(json_object_get(st, "pid")) : 0;

	json_decref(st);
	return pid;
}

/* Wait until the container's status is want (up to 5 s); whether it is. */
static bool wait_status(const char *id, const char *want)
{
	for (int tries = 0; tries < WAIT_TRIES; tries++) {
		if (strcmp(status_of(id), want) == 0)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* box-oci run of cfg: create, start, wait, delete; the container's status and output. */
static struct run run(const char *id, json_t *cfg)
{
	return oci("run", "--bundle", bundle(id, cfg), id, NULL);
}

/* A cgroup file of container id: the v2 name on v2, the v1 one (in its controller's hierarchy) otherwise. */
static char *cgroup_value(const char *id, const char *v1_controller, const char *v1_file, const char *v2_file)
{
	static char value[256];
	char path[1024];

	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s/%s", cgroup_prefix + 1, id, v2_file);
	if (access(path, F_OK) < 0)
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s/%s/%s", v1_controller, cgroup_prefix + 1, id, v1_file);
	if (!read_text(path, value, sizeof(value)))
		format(value, sizeof(value), "(no %s)", path);
	value[strcspn(value, "\n")] = '\0';
	return value;
}

/* Does <mount>/box-test-<pid>/<id> exist in any hierarchy? */
static bool has_cgroup(const char *id)
{
	char path[1024];

	for (int i = 0; i < n_cgroup_mounts; i++) {
		format(path, sizeof(path), "%s%s/%s", cgroup_mounts[i], cgroup_prefix, id);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

static bool has_state(const char *id)
{
	char path[800];

	snprintf(path, sizeof(path), "%s/%s", state_root, id);
	return access(path, F_OK) == 0;
}

/* The capabilities this test process has: a container cannot be given more. */
static uint64_t own_caps(void)
{
	char status[4096], *line;

	assert_non_null(read_text("/proc/self/status", status, sizeof(status)));
	line = strstr(status, "CapEff:\t");
	assert_non_null(line);
	return strtoull(line + 8, NULL, 16);
}

static json_t *cap_names(uint64_t caps)
{
	json_t *list = json_array();
	char name[64];

	for (int cap = 0; cap < 64; cap++) {
		if ((caps & (1ULL << cap)) && oci_capability_name(cap, name, sizeof(name)) == 0)
			json_array_append_new(list, json_string(name));
	}
	return list;
}

/* Give cfg's process these capability sets (NULL: leave the set out). */
static void set_caps(json_t *cfg, uint64_t bounding, uint64_t effective, uint64_t permitted, uint64_t inheritable,
		     uint64_t ambient)
{
	json_t *caps = json_pack("{s:o, s:o, s:o, s:o, s:o}", "bounding", cap_names(bounding), "effective",
				 cap_names(effective), "permitted", cap_names(permitted), "inheritable",
				 cap_names(inheritable), "ambient", cap_names(ambient));

	set(cfg, "process.capabilities", caps);
}

/* ---- setup: the rootfs, the cgroup prefix, and leftovers removed -------------------------------- */

/* Every cgroup mount point (v1 hierarchies, and cgroup2), from /proc/self/mountinfo. */
static void find_cgroup_mounts(void)
{
	char line[4096], point[512], type[64];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	n_cgroup_mounts = 0;
	while (f && fgets(line, sizeof(line), f) && n_cgroup_mounts < CGROUP_MOUNTS_MAX) {
		const char *dash = strstr(line, " - ");

		if (dash && sscanf(line, "%*s %*s %*s %*s %511s", point) == 1 && sscanf(dash + 3, "%63s", type) == 1 &&
		    (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0))
			snprintf(cgroup_mounts[n_cgroup_mounts++], sizeof(cgroup_mounts[0]), "%s", point);
	}
	if (f)
		fclose(f);
}

static int group_setup(void **state)
{
	char path[1024], cmd[2048];

	if (testkit_setup(state) < 0)
		return -1;
	snprintf(oci_bin, sizeof(oci_bin), "%s-oci", box_path());
	snprintf(state_root, sizeof(state_root), "%s/oci-state", test_dir());
	snprintf(rootfs, sizeof(rootfs), "%s/oci-rootfs", test_dir());
	snprintf(cgroup_prefix, sizeof(cgroup_prefix), "/box-test-%d", (int)getpid());
	/* The rootfs of the bundles, with the static helpers and a file to mask. */
	format(cmd, sizeof(cmd), "cp -a %s %s && cp %s/openfds %s/cve-2019-5736 %s/cve-2024-21626 %s/bin/ && "
		 "echo 'top secret' > %s/etc/secret && mkdir -p %s/secret-dir && echo x > %s/secret-dir/file",
		 test_rootfs(), rootfs, HELPER_DIR, HELPER_DIR, HELPER_DIR, rootfs, rootfs, rootfs, rootfs);
	if (!is_root() || system(cmd) != 0)
		return 0;
	find_cgroup_mounts();
	for (int i = 0; i < n_cgroup_mounts; i++) {
		format(path, sizeof(path), "%s%s", cgroup_mounts[i], cgroup_prefix);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* What a failed test left: its containers, deleted with --force (their cgroups with them). */
static void delete_leftovers(void)
{
	struct dirent *d;
	DIR *dir = opendir(state_root);

	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] != '.')
			oci("delete", "--force", d->d_name, NULL);
	}
	if (dir)
		closedir(dir);
}

static int group_teardown(void **state)
{
	char path[1024];

	if (is_root()) {
		delete_leftovers();
		for (int i = 0; i < n_cgroup_mounts; i++) {
			format(path, sizeof(path), "%s%s", cgroup_mounts[i], cgroup_prefix);
			rmdir(path);
		}
	}
	return testkit_cleanup(state);
}

static int test_setup(void **state)
{
	return integration_setup(state);
}

static int test_teardown(void **state)
{
	delete_leftovers();
	return integration_teardown(state);
}

/* ---- the lifecycle (runtime.md "Lifecycle", "Operations") ---------------------------------------- */

static void test_lifecycle_creating_created_running_stopped(void **state)
{
	struct run r;
	json_t *st;
	char bundle_dir[700];

	(void)state;
	skip_unless_root();
	r = create("life", base_config("life", "echo started; trap 'exit 7' TERM; while :; do sleep 0.05; done"), "");
	assert_status(&r, 0);
	assert_string_equal(r.err, "");
	usleep(200 * 1000);
	assert_string_equal(test_file_ext("life", ".out"), "");	/* created: the process waits for start */
	snprintf(bundle_dir, sizeof(bundle_dir), "%s/life", test_dir());
	st = state_of("life");
	assert_non_null(st);
	assert_string_equal(json_string_value(json_object_get(st, "ociVersion")), "1.0.2");
	assert_string_equal(json_string_value(json_object_get(st, "id")), "life");
	assert_string_equal(json_string_value(json_object_get(st, "status")), "created");
	assert_string_equal(json_string_value(json_object_get(st, "bundle")), bundle_dir);
	assert_true(json_integer_value(json_object_get(st, "pid")) > 1);
	json_decref(st);
	r = oci("start", "life", NULL);
	assert_status(&r, 0);
	assert_string_equal(status_of("life"), "running");
	for (int tries = 0; tries < WAIT_TRIES && !test_file_ext("life", ".out")[0]; tries++)
		usleep(10 * 1000);
	assert_string_equal(test_file_ext("life", ".out"), "started\n");
	r = oci("start", "life", NULL);
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: cannot start container life: it is running, not created\n");
	r = oci("kill", "life", "TERM", NULL);
	assert_status(&r, 0);
	assert_true(wait_status("life", "stopped"));
	st = state_of("life");
	assert_null(json_object_get(st, "pid"));	/* runtime.md: pid only while there is a process */
	json_decref(st);
	r = oci("delete", "life", NULL);
	assert_status(&r, 0);
	r = oci("state", "life", NULL);
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: container life does not exist\n");
	assert_false(has_cgroup("life"));
}

/* A hook runs while create works: box-oci state then says "creating" (a state nobody can see otherwise). */
static void test_state_is_creating_while_create_runs_its_hooks(void **state)
{
	char cmd[1024];
	json_t *cfg = base_config("creating", "true");
	struct run r;

	(void)state;
	skip_unless_root();
	format(cmd, sizeof(cmd), "%s --root %s state creating > %s/creating.state", oci_bin, state_root, test_dir());
	set(cfg, "hooks.createRuntime", json_pack("[{s:s, s:[s,s,s]}]", "path", "/bin/sh", "args", "sh", "-c", cmd));
	r = create("creating", cfg, "");
	assert_status(&r, 0);
	assert_non_null(strstr(test_file("creating.state"), "\"status\":\"creating\""));
	r = oci("delete", "creating", NULL);
	assert_status(&r, 0);
}

static void test_kill_takes_names_and_numbers_and_says_when_not_running(void **state)
{
	struct run r;

	(void)state;
	skip_unless_root();
	r = create("k1", base_config("k1", "trap 'exit 3' USR1; while :; do sleep 0.05; done"), "");
	assert_status(&r, 0);
	oci_ok("start", "k1", NULL);
	r = oci("kill", "k1", "SIGUSR1", NULL);
	assert_status(&r, 0);
	assert_true(wait_status("k1", "stopped"));
	/* containerd's shim treats these words as "already gone" (CLIENTS.md). */
	r = oci("kill", "k1", "9", NULL);
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: kill k1: container not running\n");
	r = oci("kill", "k1", "NOSUCHSIGNAL", NULL);
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: kill: NOSUCHSIGNAL: no such signal\n");
	oci_ok("delete", "k1", NULL);
	/* kill --all and a number: every process of the container, by SIGKILL. */
	r = create("k2", base_config("k2", "sleep 60 & sleep 60"), "");
	assert_status(&r, 0);
	oci_ok("start", "k2", NULL);
	r = oci("kill", "--all", "k2", "9", NULL);
	assert_status(&r, 0);
	assert_true(wait_status("k2", "stopped"));
	oci_ok("delete", "k2", NULL);
}

static void test_delete_is_refused_while_running_and_force_kills(void **state)
{
	struct run r;

	(void)state;
	skip_unless_root();
	r = create("busy", base_config("busy", "sleep 60"), "");
	assert_status(&r, 0);
	oci_ok("start", "busy", NULL);
	r = oci("delete", "busy", NULL);
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: cannot delete container busy that is not stopped: it is running (use --force)\n");
	assert_true(has_cgroup("busy"));
	r = oci("delete", "--force", "busy", NULL);
	assert_status(&r, 0);
	assert_false(has_state("busy"));
	assert_false(has_cgroup("busy"));
	/* containerd deletes twice: the second, of a container that is gone, must succeed (CLIENTS.md). */
	r = oci("delete", "--force", "busy", NULL);
	assert_status(&r, 0);
	r = oci("delete", "busy", NULL);
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: container busy does not exist\n");
}

/* A created container (never started) may be deleted without --force, as with runc. */
static void test_a_created_container_can_be_deleted(void **state)
{
	struct run r = create("never", base_config("never", "true"), "");
	pid_t pid;

	(void)state;
	skip_unless_root();
	assert_status(&r, 0);
	pid = pid_of("never");
	r = oci("delete", "never", NULL);
	assert_status(&r, 0);
	assert_false(has_state("never"));
	assert_int_equal(kill(pid, 0) == 0 && waitpid(pid, NULL, WNOHANG) == 0, 0);	/* the init is gone */
}

/* --pid-file: the init's pid, decimal, no newline (containerd reads it with strconv.Atoi). */
static void test_pid_file_holds_the_init_pid_without_a_newline(void **state)
{
	char expected[32];
	struct run r;

	(void)state;
	skip_unless_root();
	r = create("pidf", base_config("pidf", "true"), "--pid-file $T/pidf.pid");
	assert_status(&r, 0);
	snprintf(expected, sizeof(expected), "%d", (int)pid_of("pidf"));
	assert_string_equal(test_file("pidf.pid"), expected);
	oci_ok("delete", "--force", "pidf", NULL);
}

/* box-oci run: create, start, wait; the process's exit status; deleted after. */
static void test_run_passes_the_exit_status_on_and_deletes(void **state)
{
	struct run r;

	(void)state;
	skip_unless_root();
	r = run("exits", base_config("exits", "echo out; echo err >&2; exit 3"));
	assert_status(&r, 3);
	assert_string_equal(r.out, "out\n");
	assert_string_equal(r.err, "err\n");
	assert_false(has_state("exits"));
	assert_false(has_cgroup("exits"));
}

static void test_list_and_ps_show_the_containers_and_their_processes(void **state)
{
	char expected[64];
	struct run r;
	pid_t pid;

	(void)state;
	skip_unless_root();
	create_ok("l1", base_config("l1", "sleep 60"), "");
	create_ok("l2", base_config("l2", "sleep 60"), "");
	oci_ok("start", "l1", NULL);
	r = oci("list", "-q", NULL);
	assert_string_equal(r.out, "l1\nl2\n");
	r = oci("list", "--format", "json", NULL);
	assert_non_null(strstr(r.out, "\"id\":\"l1\""));
	assert_non_null(strstr(r.out, "\"status\":\"running\""));
	assert_non_null(strstr(r.out, "\"status\":\"created\""));
	pid = pid_of("l1");
	snprintf(expected, sizeof(expected), "[%d]\n", (int)pid);
	r = oci("ps", "--format", "json", "l1", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, expected);
	r = oci("ps", "l1", NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "PID"));
	assert_non_null(strstr(r.out, "sleep 60"));
	oci_ok("delete", "--force", "l1", NULL);
	oci_ok("delete", "--force", "l2", NULL);
}

static void test_pause_freezes_and_resume_thaws(void **state)
{
	struct run r;

	(void)state;
	skip_unless_root();
	create_ok("frz", base_config("frz", "while :; do sleep 0.05; done"), "");
	oci_ok("start", "frz", NULL);
	r = oci("pause", "frz", NULL);
	assert_status(&r, 0);
	assert_string_equal(status_of("frz"), "paused");
	r = oci("delete", "frz", NULL);
	assert_status(&r, 1);
	r = oci("resume", "frz", NULL);
	assert_status(&r, 0);
	assert_string_equal(status_of("frz"), "running");
	oci_ok("delete", "--force", "frz", NULL);
}

static void test_update_changes_a_running_containers_limits(void **state)
{
	json_t *cfg = base_config("upd", "sleep 60");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "linux.resources", json_pack("{s:{s:I}, s:{s:I}}", "memory", "limit", (json_int_t)64 << 20, "pids",
					      "limit", (json_int_t)20));
	create_ok("upd", cfg, "");
	assert_string_equal(cgroup_value("upd", "memory", "memory.limit_in_bytes", "memory.max"), "67108864");
	r = oci("update", "--memory", "134217728", "--pids-limit", "30", "upd", NULL);
	assert_status(&r, 0);
	assert_string_equal(cgroup_value("upd", "memory", "memory.limit_in_bytes", "memory.max"), "134217728");
	assert_string_equal(cgroup_value("upd", "pids", "pids.max", "pids.max"), "30");
	r = host("echo '{\"pids\": {\"limit\": 40}}' > $T/res.json && $B update --resources $T/res.json upd");
	assert_status(&r, 0);
	assert_string_equal(cgroup_value("upd", "pids", "pids.max", "pids.max"), "40");
	oci_ok("delete", "--force", "upd", NULL);
}

static void test_spec_writes_runcs_default_and_never_overwrites(void **state)
{
	char path[700];
	json_t *cfg;
	struct run r;

	(void)state;
	r = host("mkdir -p $T/spec && %s spec --bundle $T/spec", oci_bin);
	assert_status(&r, 0);
	snprintf(path, sizeof(path), "%s/spec/config.json", test_dir());
	cfg = json_load_file(path, 0, NULL);
	assert_non_null(cfg);
	assert_string_equal(json_string_value(json_object_get(cfg, "ociVersion")), "1.0.2-dev");
	json_decref(cfg);
	r = host("%s spec --bundle $T/spec", oci_bin);
	assert_status(&r, 1);
	assert_non_null(strstr(r.err, "File exists"));
	r = host("mkdir -p $T/spec-rootless && %s spec --rootless --bundle $T/spec-rootless && "
		 "grep -c uidMappings $T/spec-rootless/config.json", oci_bin);
	assert_status(&r, 0);
	assert_string_equal(r.out, "1\n");
}

static void test_features_says_what_box_oci_supports(void **state)
{
	struct run r = oci("features", NULL);
	json_t *f;

	(void)state;
	assert_status(&r, 0);
	f = json_loads(r.out, 0, NULL);
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "ociVersionMin")), "1.0.0");
	assert_false(json_is_true(json_object_get(json_object_get(json_object_get(f, "linux"), "cgroup"), "systemd")));
	json_decref(f);
}

static void test_systemd_cgroup_is_refused_clearly(void **state)
{
	char *argv[] = { oci_bin, "--systemd-cgroup", "state", "x", NULL };
	struct run r;

	(void)state;
	r = run_argv(argv);
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: --systemd-cgroup: box-oci has no systemd cgroup driver; give the client "
				   "cgroup_manager = \"cgroupfs\" (native.cgroupdriver=cgroupfs)\n");
}

/* Without --log-format json, the log has logrus's text lines (what runc writes). */
static void test_the_log_is_text_unless_json_is_asked(void **state)
{
	struct run r;

	(void)state;
	skip_unless_root();
	r = host("$B --log $T/text.log state nope");
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: container nope does not exist\n");
	assert_non_null(strstr(test_file("text.log"), "level=error msg=\"container nope does not exist\"\n"));
	assert_int_equal(strncmp(test_file("text.log"), "time=\"", 6), 0);
}

/* box run, the other face, goes through the same code with docker's profile (run-config.c, profile.c). */
static void test_box_run_gets_dockers_security_profile(void **state)
{
	const char *check = "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; grep -c ' /proc/keys ' /proc/mounts || :";
	char expected[256];
	struct run r;

	(void)state;
	skip_unless_root();
	r = run_box("run", "--network", "none", test_rootfs(), "/bin/sh", "-c", check, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "CapEff:\t00000000a80425fb\nNoNewPrivs:\t0\nSeccomp:\t2\n1\n");
	r = run_box("run", "--network", "none", "--cap-add", "SYS_ADMIN", "--cap-drop", "NET_RAW",
		    "--security-opt", "no-new-privileges", test_rootfs(), "/bin/sh", "-c", check, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "CapEff:\t00000000a82405fb\nNoNewPrivs:\t1\nSeccomp:\t2\n1\n");
	r = run_box("run", "--network", "none", "--privileged", test_rootfs(), "/bin/sh", "-c", check, NULL);
	assert_status(&r, 0);
	snprintf(expected, sizeof(expected), "CapEff:\t%016llx\nNoNewPrivs:\t0\nSeccomp:\t0\n0\n",
		 (unsigned long long)own_caps());
	assert_string_equal(r.out, expected);
	r = run_box("run", "--network", "none", "--security-opt", "seccomp=unconfined", test_rootfs(), "/bin/sh", "-c",
		    "grep ^Seccomp: /proc/self/status", NULL);
	assert_string_equal(r.out, "Seccomp:\t0\n");
	r = run_box("run", "--cap-add", "FLY", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: run: --cap-add FLY: no such capability\n");
}

/* ---- exec ----------------------------------------------------------------------------------- */

static void test_exec_joins_the_namespaces_cgroup_and_takes_its_flags(void **state)
{
	char procs[4096], path[1024], pid_text[32];
	json_t *cfg = base_config("ex", "sleep 60");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "hostname", json_string("inside"));
	create_ok("ex", cfg, "");
	oci_ok("start", "ex", NULL);
	r = oci("exec", "-e", "FOO=bar", "--cwd", "/tmp", "-u", "1000:1000", "ex", "/bin/sh", "-c",
		"hostname; echo $FOO; pwd; id -u; exit 5", NULL);
	assert_status(&r, 5);
	assert_string_equal(r.out, "inside\nbar\n/tmp\n1000\n");
	r = oci("exec", "ex", "/bin/sh", "-c", "[ $(readlink /proc/self/ns/pid) = $(readlink /proc/1/ns/pid) ] && "
		"[ $(readlink /proc/self/ns/mnt) = $(readlink /proc/1/ns/mnt) ] && echo same namespaces", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "same namespaces\n");
	/* -d and --pid-file: it stays, in the container's cgroup; box-oci exits 0 at once. */
	r = host("$B exec -d --pid-file $T/ex.pid ex /bin/sleep 60 >/dev/null 2>&1");
	assert_status(&r, 0);
	snprintf(pid_text, sizeof(pid_text), "%s\n", test_file("ex.pid"));
	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s/ex/cgroup.procs", access("/sys/fs/cgroup/cgroup.procs", F_OK) == 0 ? "" : "pids", cgroup_prefix);
	assert_non_null(read_text(path, procs, sizeof(procs)));
	assert_non_null(strstr(procs, pid_text));
	r = oci("exec", "ex", "/no/such/program", NULL);
	assert_status(&r, 127);
	assert_string_equal(r.err, "box-oci: exec /no/such/program: No such file or directory\n");
	oci_ok("delete", "--force", "ex", NULL);
}

/* exec --process FILE: podman and containerd give the whole process.json. */
static void test_exec_runs_a_process_json(void **state)
{
	struct run r;

	(void)state;
	skip_unless_root();
	create_ok("exp", base_config("exp", "sleep 60"), "");
	oci_ok("start", "exp", NULL);
	r = host("echo '{\"args\": [\"/bin/sh\", \"-c\", \"echo $A; grep CapEff /proc/self/status\"], "
		 "\"env\": [\"A=from-process-json\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0}, "
		 "\"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"], "
		 "\"permitted\": [\"CAP_KILL\"]}}' > $T/process.json && $B exec --process $T/process.json exp");
	assert_status(&r, 0);
	assert_string_equal(r.out, "from-process-json\nCapEff:\t0000000000000020\n");
	oci_ok("delete", "--force", "exp", NULL);
}

/* ---- the terminal ------------------------------------------------------------------------------ */

/* A session keyring of the container's own (keyrings(7)), named after it, unless --no-new-keyring. */
static void test_the_container_gets_a_session_keyring_of_its_own(void **state)
{
	struct run r;

	(void)state;
	skip_unless_root();
	bundle("keys", base_config("keys", "grep -c ' keyring *keys: ' /proc/keys || :"));
	r = host("$B run --bundle $T/keys keys");
	assert_status(&r, 0);
	assert_string_equal(r.out, "1\n");
	bundle("keys2", base_config("keys2", "grep -c ' keyring *keys2: ' /proc/keys || :"));
	r = host("$B run --no-new-keyring --bundle $T/keys2 keys2");
	assert_status(&r, 0);
	assert_string_equal(r.out, "0\n");
}

/* A listening unix(7) socket at path, as conmon and containerd's shim make one for --console-socket. */
static int listen_at(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	format(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

/* Read from the pty master until the other side is gone (EIO). */
static void read_terminal(int master, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1 && (n = read(master, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

static void test_the_terminal_goes_to_the_console_socket(void **state)
{
	char sock[700], output[4096];
	json_t *cfg = base_config("tty", "tty; stty size");
	int listener, conn, master;
	struct run r;

	(void)state;
	skip_unless_root();
	snprintf(sock, sizeof(sock), "%s/console.sock", test_dir());
	listener = listen_at(sock);
	set(cfg, "process.terminal", json_true());
	set(cfg, "process.consoleSize", json_pack("{s:i, s:i}", "height", 24, "width", 80));
	r = create("tty", cfg, "--console-socket $T/console.sock");
	assert_status(&r, 0);
	conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	assert_true(conn >= 0);
	master = console_receive_master(conn);
	assert_true(master >= 0);
	oci_ok("start", "tty", NULL);
	read_terminal(master, output, sizeof(output));
	assert_string_equal(output, "/dev/pts/0\r\n24 80\r\n");
	close(master);
	close(conn);
	close(listener);
	assert_true(wait_status("tty", "stopped"));
	oci_ok("delete", "tty", NULL);
	/* exec -t: a pty of its own, from the container's devpts, as docker exec -it and podman exec -t ask. */
	create_ok("tty3", base_config("tty3", "sleep 60"), "");
	oci_ok("start", "tty3", NULL);
	listener = listen_at(sock);
	r = host("$B exec -t --console-socket $T/console.sock tty3 /bin/tty");
	assert_status(&r, 0);
	conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	assert_true(conn >= 0);
	master = console_receive_master(conn);
	assert_true(master >= 0);
	read_terminal(master, output, sizeof(output));
	assert_string_equal(output, "/dev/pts/0\r\n");
	close(master);
	close(conn);
	close(listener);
	oci_ok("delete", "--force", "tty3", NULL);
	/* Without a socket there is nowhere to send it: refused, as runc does. */
	cfg = base_config("tty2", "true");
	set(cfg, "process.terminal", json_true());
	r = create("tty2", cfg, "");
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: process.terminal is true: it needs --console-socket, where the terminal goes\n");
}

/* ---- config.json, field by field ------------------------------------------------------------ */

static void test_process_args_env_and_cwd(void **state)
{
	json_t *cfg = base_config("proc", "echo $GREETING from $(pwd)");
	struct run r;

	(void)state;
	skip_unless_root();
	add(cfg, "process.env", json_string("GREETING=hello"));
	set(cfg, "process.cwd", json_string("/etc"));
	r = run("proc", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "hello from /etc\n");
}

static void test_process_user_groups_and_umask(void **state)
{
	json_t *cfg = base_config("user", "grep -E '^(Uid|Gid|Groups)' /proc/self/status; umask");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "process.user", json_pack("{s:i, s:i, s:i, s:[i,i]}", "uid", 1000, "gid", 1001, "umask", 027,
					   "additionalGids", 10, 20));
	r = run("user", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "Uid:\t1000\t1000\t1000\t1000\nGid:\t1001\t1001\t1001\t1001\nGroups:\t10 20 \n0027\n");
}

/* Each of the five sets, as /proc/self/status shows them (capabilities(7)). */
static void test_capability_sets(void **state)
{
	uint64_t chown = 1ULL << CAP_CHOWN, kill_cap = 1ULL << CAP_KILL, bind_cap = 1ULL << CAP_NET_BIND_SERVICE;
	json_t *cfg = base_config("caps", "grep ^Cap /proc/self/status");
	struct run r;

	(void)state;
	skip_unless_root();
	/* Not root: execve(2) keeps only the ambient set, which must be in permitted and inheritable. */
	set(cfg, "process.user", json_pack("{s:i, s:i}", "uid", 1000, "gid", 1000));
	set_caps(cfg, chown | kill_cap | bind_cap, bind_cap, bind_cap, bind_cap, bind_cap);
	r = run("caps", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "CapInh:\t0000000000000400\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\n"
				   "CapBnd:\t0000000000000421\nCapAmb:\t0000000000000400\n");
	/* Root: after execve(2) it has its bounding set, whatever else. */
	cfg = base_config("caps-root", "grep -E '^Cap(Eff|Bnd)' /proc/self/status");
	set_caps(cfg, chown | kill_cap, chown | kill_cap, chown | kill_cap, 0, 0);
	r = run("caps-root", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "CapEff:\t0000000000000021\nCapBnd:\t0000000000000021\n");
}

static void test_rlimits(void **state)
{
	json_t *cfg = base_config("rlim", "awk '/open files/ {print $4, $5}' /proc/self/limits");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "process.rlimits", json_pack("[{s:s, s:i, s:i}]", "type", "RLIMIT_NOFILE", "soft", 100, "hard", 200));
	r = run("rlim", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "100 200\n");
}

static void test_no_new_privileges_and_oom_score_adj(void **state)
{
	json_t *cfg = base_config("nnp", "grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "process.noNewPrivileges", json_true());
	set(cfg, "process.oomScoreAdj", json_integer(100));
	r = run("nnp", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "NoNewPrivs:\t1\n100\n");
	r = run("nnp0", base_config("nnp0", "grep NoNewPrivs /proc/self/status"));
	assert_string_equal(r.out, "NoNewPrivs:\t0\n");
}

static void test_hostname_and_domainname(void **state)
{
	json_t *cfg = base_config("names", "hostname; cat /proc/sys/kernel/domainname");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "hostname", json_string("c1"));
	set(cfg, "domainname", json_string("example.org"));
	r = run("names", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "c1\nexample.org\n");
}

/* Mounts in order, with their options: flags where the kernel shows them, data passed to the file system. */
static void test_mounts_and_their_options(void **state)
{
	json_t *cfg = base_config("mnt", "grep -E ' /(scratch|dev/mqueue) ' /proc/mounts | cut -d' ' -f2-4 | sed s/,inode64//; "
				  "grep ' /data ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1; cat /data/hello; touch /data/x");
	char source[700];
	struct run r;

	(void)state;
	skip_unless_root();
	snprintf(source, sizeof(source), "%s/mnt-data", test_dir());
	host("mkdir -p %s && echo hello > %s/hello", source, source);
	add(cfg, "mounts", json_pack("{s:s, s:s, s:s, s:[s,s,s,s,s]}", "destination", "/scratch", "type", "tmpfs",
				     "source", "tmpfs", "options", "nosuid", "nodev", "noexec", "size=1m", "mode=700"));
	add(cfg, "mounts", json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", "/data", "type", "bind", "source",
				     source, "options", "rbind", "ro", "rprivate"));
	r = run("mnt", cfg);
	assert_status(&r, 1);
	assert_string_equal(r.out, "/dev/mqueue mqueue rw,nosuid,nodev,noexec,relatime\n"
				   "/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700\n"
				   "ro\nhello\n");
	assert_string_equal(r.err, "touch: /data/x: Read-only file system\n");
}

static void test_masked_paths_read_empty_and_read_only_paths_refuse_writes(void **state)
{
	json_t *cfg = base_config("mask", "wc -c < /etc/secret; ls /secret-dir | wc -l; "
				  "echo 1 > /proc/sys/kernel/domainname");
	struct run r;

	(void)state;
	skip_unless_root();
	set_caps(cfg, own_caps(), own_caps(), own_caps(), 0, 0);	/* even with CAP_SYS_ADMIN */
	set(cfg, "linux.maskedPaths", json_pack("[s,s,s]", "/etc/secret", "/secret-dir", "/no/such/path"));
	set(cfg, "linux.readonlyPaths", json_pack("[s]", "/proc/sys"));
	r = run("mask", cfg);
	assert_status(&r, 1);
	assert_string_equal(r.out, "0\n0\n");
	assert_string_equal(r.err, "/bin/sh: can't create /proc/sys/kernel/domainname: Read-only file system\n");
}

/* A call the filter denies fails with the errno the config names; the rest still work. */
static void test_seccomp_denies_with_the_configured_errno(void **state)
{
	json_t *cfg = base_config("scmp", "grep ^Seccomp: /proc/self/status; mkdir /tmp/d; touch /tmp/f; "
				  "chmod 777 /tmp/f; chmod 755 /tmp/f && echo 755 is fine");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "linux.seccomp", json_pack(
		"{s:s, s:[s], s:[{s:[s,s], s:s, s:i}, {s:[s], s:s, s:[{s:i, s:i, s:s}]}, {s:[s], s:s, s:[{s:i, s:i, s:s}]}]}",
		"defaultAction", "SCMP_ACT_ALLOW", "architectures", "SCMP_ARCH_X86_64",
		"syscalls", "names", "mkdir", "mkdirat", "action", "SCMP_ACT_ERRNO", "errnoRet", 38,
		"names", "chmod", "action", "SCMP_ACT_ERRNO", "args", "index", 1, "value", 0777, "op", "SCMP_CMP_EQ",
		"names", "fchmodat", "action", "SCMP_ACT_ERRNO", "args", "index", 2, "value", 0777, "op", "SCMP_CMP_EQ"));
	r = run("scmp", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "Seccomp:\t2\n755 is fine\n");
	assert_string_equal(r.err, "mkdir: can't create directory '/tmp/d': Function not implemented\n"
				   "chmod: /tmp/f: Operation not permitted\n");
}

/* A process of the test in new uts and net namespaces, its hostname set: namespaces to join by path. */
static pid_t namespace_holder(void)
{
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWUTS | CLONE_NEWNET) < 0 || sethostname("joined-uts", 10) < 0)
			_exit(1);
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static void test_namespaces_joined_by_path(void **state)
{
	json_t *cfg = base_config("join", "hostname; readlink /proc/self/ns/uts; cat /sys/class/net/lo/operstate");
	char path[64], expected[256], link[128];
	struct run r;
	ssize_t n;
	pid_t holder;

	(void)state;
	skip_unless_root();
	holder = namespace_holder();
	set(cfg, "linux.namespaces", json_pack("[{s:s}, {s:s}, {s:s}, {s:s, s:s}, {s:s, s:s}]", "type", "pid", "type",
					       "ipc", "type", "mount", "type", "uts", "path", "", "type", "network",
					       "path", ""));
	snprintf(path, sizeof(path), "/proc/%d/ns/uts", (int)holder);
	json_object_set_new(json_array_get(json_object_get(json_object_get(cfg, "linux"), "namespaces"), 3), "path",
			    json_string(path));
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)holder);
	json_object_set_new(json_array_get(json_object_get(json_object_get(cfg, "linux"), "namespaces"), 4), "path",
			    json_string(path));
	snprintf(path, sizeof(path), "/proc/%d/ns/uts", (int)holder);
	n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	r = run("join", cfg);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	assert_status(&r, 0);
	/* A namespace box made would have lo up (box brings it up); the joined one's is as its owner left it. */
	snprintf(expected, sizeof(expected), "joined-uts\n%s\ndown\n", link);
	assert_string_equal(r.out, expected);
}

/* A rootfs owned by 100000, the host id of root inside (user_namespaces(7)). */
static const char *userns_rootfs(void)
{
	static char dir[700];

	snprintf(dir, sizeof(dir), "%s/oci-rootfs-userns", test_dir());
	host_sh("[ -d %s ] || { cp -a %s %s && chown -hR 100000:100000 %s; }", dir, rootfs, dir, dir);
	return dir;
}

static void test_user_namespace_with_uid_and_gid_mappings(void **state)
{
	json_t *cfg = base_config("uns", "cat /proc/self/uid_map /proc/self/gid_map; id -u");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "root.path", json_string(userns_rootfs()));
	add(cfg, "linux.namespaces", json_pack("{s:s}", "type", "user"));
	set(cfg, "linux.uidMappings", json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", 100000, "size", 65536));
	set(cfg, "linux.gidMappings", json_pack("[{s:i, s:i, s:i}, {s:i, s:i, s:i}]", "containerID", 0, "hostID",
						100000, "size", 1000, "containerID", 1000, "hostID", 101000, "size", 1000));
	r = run("uns", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "         0     100000      65536\n         0     100000       1000\n"
				   "      1000     101000       1000\n0\n");
}

/*
 * Hooks, in the order runtime.md gives, each with the state on its stdin:
 * prestart, createRuntime (the runtime's namespaces), createContainer
 * (the container's, before pivot_root), startContainer (inside), poststart
 * (after the process started), poststop (after delete).
 */
static void test_hooks_run_in_order_with_the_state_on_stdin(void **state)
{
	static const char *const kinds[] = { "prestart", "createRuntime", "createContainer", "startContainer",
					     "poststart", "poststop" };
	static const char *const statuses[] = { "creating", "creating", "creating", "created", "running", "stopped" };
	json_t *cfg = base_config("hooked", "true");
	char dir[700], cmd[1024], field[64];
	const char *log, *at;
	struct run r;

	(void)state;
	skip_unless_root();
	snprintf(dir, sizeof(dir), "%s/hooks", test_dir());
	host_sh("mkdir -p %s && : > %s/log", dir, dir);
	add(cfg, "mounts", json_pack("{s:s, s:s, s:s, s:[s]}", "destination", "/hooks", "type", "bind", "source", dir,
				     "options", "rbind"));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		/* startContainer runs inside, after pivot_root: it sees the log at /hooks. */
		snprintf(cmd, sizeof(cmd), "echo %s $(cat) >> %s/log", kinds[i], i == 3 ? "/hooks" : dir);
		snprintf(field, sizeof(field), "hooks.%s", kinds[i]);
		set(cfg, field, json_pack("[{s:s, s:[s,s,s], s:i}]", "path", "/bin/sh", "args", "sh", "-c", cmd,
					  "timeout", 10));
	}
	r = run("hooked", cfg);
	assert_status(&r, 0);
	log = test_file("hooks/log");
	at = log;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char line_start[64], status[64];
		const char *line, *end;

		snprintf(line_start, sizeof(line_start), "%s {", kinds[i]);
		line = strstr(at, line_start);
		if (!line)
			fail_msg("hook %s did not run, or out of order; the log:\n%s", kinds[i], log);
		end = strchr(line, '\n');
		snprintf(status, sizeof(status), "\"status\":\"%s\"", statuses[i]);
		assert_non_null(strstr(line, "\"id\":\"hooked\""));
		assert_true(strstr(line, status) && strstr(line, status) < end);
		at = end;
	}
}

static void test_a_hook_that_times_out_fails_create_and_leaves_nothing(void **state)
{
	json_t *cfg = base_config("slowhook", "true");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "hooks.prestart", json_pack("[{s:s, s:[s,s], s:i}]", "path", "/bin/sleep", "args", "sleep", "10",
					     "timeout", 1));
	r = create("slowhook", cfg, "");
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: hooks.prestart[0] /bin/sleep: timed out after 1 s\n");
	assert_false(has_state("slowhook"));
	assert_false(has_cgroup("slowhook"));
}

/* linux.cgroupsPath as clients give it, and linux.resources written there. */
static void test_cgroups_path_and_resources(void **state)
{
	json_t *cfg = base_config("res", "cat /proc/self/cgroup; sleep 60");
	char expected[128];
	struct run r;

	(void)state;
	skip_unless_root();
	json_array_remove(json_object_get(json_object_get(cfg, "linux"), "namespaces"), 5);	/* no cgroup namespace */
	set(cfg, "linux.resources", json_pack("{s:{s:I, s:I}, s:{s:i, s:I, s:I}, s:{s:i}}", "memory", "limit",
					      (json_int_t)64 << 20, "swap", (json_int_t)64 << 20, "cpu", "shares", 512,
					      "quota", (json_int_t)50000, "period", (json_int_t)100000, "pids", "limit",
					      50));
	r = create("res", cfg, "");
	assert_status(&r, 0);
	assert_string_equal(cgroup_value("res", "memory", "memory.limit_in_bytes", "memory.max"), "67108864");
	assert_string_equal(cgroup_value("res", "pids", "pids.max", "pids.max"), "50");
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {	/* v2 */
		assert_string_equal(cgroup_value("res", "", "", "cpu.max"), "50000 100000");
		assert_string_equal(cgroup_value("res", "", "", "cpu.weight"), "20");
		assert_string_equal(cgroup_value("res", "", "", "memory.swap.max"), "0");
	} else {
		assert_string_equal(cgroup_value("res", "cpu", "cpu.cfs_quota_us", ""), "50000");
		assert_string_equal(cgroup_value("res", "cpu", "cpu.shares", ""), "512");
	}
	oci_ok("start", "res", NULL);
	for (int tries = 0; tries < WAIT_TRIES && !strstr(test_file("res.out"), "res"); tries++)
		usleep(10 * 1000);
	snprintf(expected, sizeof(expected), ":%s/res\n", cgroup_prefix);
	assert_non_null(strstr(test_file("res.out"), expected));
	oci_ok("delete", "--force", "res", NULL);
}

/* linux.devices makes nodes; linux.resources.devices says which may be used (v1 lines, v2 a BPF program). */
static void test_devices_and_device_rules(void **state)
{
	json_t *cfg = base_config("dev", "stat -c '%a %t:%T' /dev/fuse; head -c 1 /dev/fuse; head -c 1 /dev/null; echo done");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "linux.devices", json_pack("[{s:s, s:s, s:i, s:i, s:i}]", "path", "/dev/fuse", "type", "c", "major", 10,
					    "minor", 229, "fileMode", 0640));
	set(cfg, "linux.resources", json_pack("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm"));
	r = run("dev", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "640 a:e5\ndone\n");
	assert_string_equal(r.err, "head: /dev/fuse: Operation not permitted\n");
	cfg = base_config("dev2", "head -c 1 /dev/fuse");
	set(cfg, "linux.devices", json_pack("[{s:s, s:s, s:i, s:i}]", "path", "/dev/fuse", "type", "c", "major", 10,
					    "minor", 229));
	set(cfg, "linux.resources", json_pack("{s:[{s:b, s:s}, {s:b, s:s, s:i, s:i, s:s}]}", "devices", "allow", 0,
					      "access", "rwm", "allow", 1, "type", "c", "major", 10, "minor", 229,
					      "access", "rw"));
	r = run("dev2", cfg);
	assert_null(strstr(r.err, "Operation not permitted"));	/* allowed: the driver answers, not the cgroup */
}

static void test_sysctls_of_the_containers_namespaces_only(void **state)
{
	json_t *cfg = base_config("sysctl", "cat /proc/sys/net/ipv4/ip_unprivileged_port_start");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "linux.sysctl", json_pack("{s:s}", "net.ipv4.ip_unprivileged_port_start", "0"));
	r = run("sysctl", cfg);
	assert_status(&r, 0);
	assert_string_equal(r.out, "0\n");
	cfg = base_config("sysctl2", "true");
	set(cfg, "linux.sysctl", json_pack("{s:s}", "vm.swappiness", "0"));
	r = run("sysctl2", cfg);
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: config.json: linux.sysctl: \"vm.swappiness\" is not in a namespace of the "
				   "container's own: it would change the host\n");
}

static void test_read_only_root_and_rootfs_propagation(void **state)
{
	json_t *cfg = base_config("ro", "touch /x; awk '$5 == \"/\" && / shared:/ {n++} END {print n + 0}' "
				  "/proc/self/mountinfo");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "linux.rootfsPropagation", json_string("rshared"));
	r = run("ro", cfg);
	assert_string_equal(r.err, "touch: /x: Read-only file system\n");
	assert_string_equal(r.out, "1\n");
	r = run("ro2", base_config("ro2", "awk '$5 == \"/\" && / shared:/ {n++} END {print n + 0}' /proc/self/mountinfo"));
	assert_string_equal(r.out, "0\n");	/* private unless asked */
}

/* A mount of type cgroup, as every client asks for /sys/fs/cgroup: the container's own cgroup shows there. */
static void test_cgroup_mount_shows_the_containers_cgroup(void **state)
{
	json_t *cfg = base_config("cgmnt", "cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null; "
				  "touch /sys/fs/cgroup/x");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "linux.resources", json_pack("{s:{s:i}}", "pids", "limit", 77));
	add(cfg, "mounts", json_pack("{s:s, s:s, s:s, s:[s,s,s,s]}", "destination", "/sys/fs/cgroup", "type", "cgroup",
				     "source", "cgroup", "options", "nosuid", "noexec", "nodev", "ro"));
	r = run("cgmnt", cfg);
	assert_status(&r, 1);
	assert_string_equal(r.out, "77\n");
	assert_string_equal(r.err, "touch: /sys/fs/cgroup/x: Read-only file system\n");
}

/* ---- what is refused, and how ------------------------------------------------------------------ */

/* One line on stderr, exit 1, the same line in --log as JSON, and no state or cgroup left. */
static void expect_refused(const char *id, const char *config_text, const char *message)
{
	char cmd[8192], expected[1024];
	json_t *line;
	struct run r;

	snprintf(cmd, sizeof(cmd), "mkdir -p $T/%s && cat > $T/%s/config.json <<'EOF'\n%s\nEOF\n"
		 "$B --log $T/%s.log --log-format json create --bundle $T/%s %s", id, id, config_text, id, id, id);
	r = host("%s", cmd);
	snprintf(expected, sizeof(expected), "box-oci: %s\n", message);
	assert_status(&r, 1);
	assert_string_equal(r.err, expected);
	line = json_loads(test_file_ext(id, ".log"), JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(line);
	assert_string_equal(json_string_value(json_object_get(line, "level")), "error");
	assert_string_equal(json_string_value(json_object_get(line, "msg")), message);
	assert_non_null(json_object_get(line, "time"));
	json_decref(line);
	assert_false(has_state(id));
	assert_false(has_cgroup(id));
}

/* A base config as text, with one change made by a callback. */
static char *config_with(const char *id, void (*change)(json_t *cfg))
{
	static char text[16384];
	json_t *cfg = base_config(id, "true");
	char *dumped;

	change(cfg);
	dumped = json_dumps(cfg, JSON_INDENT(1));
	snprintf(text, sizeof(text), "%s", dumped);
	free(dumped);
	json_decref(cfg);
	return text;
}

static void args_as_string(json_t *cfg)
{
	set(cfg, "process.args", json_string("/bin/true"));
}

static void missing_rootfs(json_t *cfg)
{
	set(cfg, "root.path", json_string("/no/such/rootfs"));
}

static void bad_seccomp_action(json_t *cfg)
{
	set(cfg, "linux.seccomp", json_pack("{s:s}", "defaultAction", "SCMP_ACT_SOMETIMES"));
}

static void unknown_namespace(json_t *cfg)
{
	add(cfg, "linux.namespaces", json_pack("{s:s}", "type", "bogus"));
}

static void test_bad_configs_are_refused_with_one_line_and_leave_nothing(void **state)
{
	(void)state;
	skip_unless_root();
	expect_refused("malformed", "{ \"ociVersion\": \"1.0.2\", ",
		       "config.json: line 2, column 0: string or '}' expected near end of file");
	expect_refused("wrongtype", config_with("wrongtype", args_as_string),
		       "config.json: process.args: expected an array, got a string");
	expect_refused("norootfs", config_with("norootfs", missing_rootfs),
		       "root.path /no/such/rootfs: No such file or directory");
	expect_refused("badaction", config_with("badaction", bad_seccomp_action),
		       "config.json: linux.seccomp.defaultAction: invalid seccomp action \"SCMP_ACT_SOMETIMES\"");
	expect_refused("badns", config_with("badns", unknown_namespace),
		       "config.json: linux.namespaces[6].type: unknown namespace type \"bogus\"");
}

static void test_a_duplicate_id_is_refused(void **state)
{
	struct run r;

	(void)state;
	skip_unless_root();
	r = create("dup", base_config("dup", "true"), "");
	assert_status(&r, 0);
	r = create("dup", base_config("dup", "true"), "");
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: container with id dup already exists\n");
	assert_string_equal(status_of("dup"), "created");	/* the first one is untouched */
	oci_ok("delete", "dup", NULL);
}

/* runc says "no such file or directory" at create, and podman and docker turn that into 127 (CLIENTS.md). */
static void test_a_missing_command_fails_create(void **state)
{
	json_t *cfg = base_config("nocmd", "true");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "process.args", json_pack("[s]", "/no/such/command"));
	r = create("nocmd", cfg, "");
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: exec /no/such/command: No such file or directory\n");
	assert_false(has_state("nocmd"));
	assert_false(has_cgroup("nocmd"));
}

/* ---- descriptors, and the two escapes of CVE.md -------------------------------------------------- */

/* Only stdio and the --preserve-fds ones reach the process; containerd's shim passes an fd 3 of its own. */
static void test_only_stdio_and_preserved_fds_reach_the_process(void **state)
{
	struct run r;

	(void)state;
	skip_unless_root();
	bundle("fds", base_config("fds", "exec /bin/openfds"));
	r = host("$B run --bundle $T/fds fds 3</dev/null 4</ 5</dev/null");
	assert_status(&r, 0);
	assert_string_equal(r.out, "0 1 2\n");
	r = host("$B run --preserve-fds 2 --bundle $T/fds fds 3</dev/null 4</dev/null 5</");
	assert_status(&r, 0);
	assert_string_equal(r.out, "0 1 2 3 4\n");
}

/*
 * CVE-2024-21626: a working directory given as /proc/self/fd/N reaches the
 * host through an fd the runtime leaked (here fd 3, open on the host's /,
 * as the shim's socket is at every create). box-oci refuses it, and the
 * attacker, run as the process, finds no way out.
 */
static void test_cve_2024_21626_a_leaked_fd_leads_nowhere(void **state)
{
	json_t *cfg = base_config("leak", "true");
	struct run r;

	(void)state;
	skip_unless_root();
	set(cfg, "process.cwd", json_string("/proc/self/fd/3"));
	r = create("leak", cfg, "3</");
	assert_status(&r, 1);
	assert_string_equal(r.err, "box-oci: process.cwd /proc/self/fd/3 leads outside the container's root: refused "
				   "(see CVE-2024-21626)\n");
	assert_false(has_state("leak"));
	bundle("leak2", base_config("leak2", "exec /bin/cve-2024-21626"));
	r = host("$B run --bundle $T/leak2 leak2 3</");
	assert_status(&r, 1);
	assert_string_equal(r.out, "no way out: working directory and open fds are inside the container\n");
	/* exec --cwd is the same road in. */
	create_ok("leak3", base_config("leak3", "sleep 60"), "");
	oci_ok("start", "leak3", NULL);
	r = host("$B exec --cwd /proc/self/fd/3 leak3 /bin/cve-2024-21626 3</");
	assert_status(&r, 125);
	assert_string_equal(r.err, "box-oci: process.cwd /proc/self/fd/3 leads outside the container's root: refused "
				   "(see CVE-2024-21626)\n");
	oci_ok("delete", "--force", "leak3", NULL);
}

/*
 * CVE-2019-5736: a root process in the container opens the runtime's
 * binary through /proc/1/exe while box-oci's init waits (created), and
 * tries to overwrite it once the init has exec'd. box-oci runs from a
 * sealed memfd copy of itself: /proc/1/exe is that copy, which cannot be
 * written. Run against a copy of box, so a successful attack harms nothing.
 */
static void test_cve_2019_5736_the_runtime_binary_cannot_be_overwritten(void **state)
{
	json_t *cfg = base_config("exe", "sleep 2");
	char copy[700];
	struct run r;

	(void)state;
	skip_unless_root();
	snprintf(copy, sizeof(copy), "%s/cve-bin", test_dir());
	host_sh("mkdir -p %s && cp %s %s/box && ln -sf box %s/box-oci", copy, box_path(), copy, copy);
	set_caps(cfg, own_caps(), own_caps(), own_caps(), 0, 0);	/* --privileged: what the CVE needed */
	bundle("exe", cfg);
	r = host("B='%s/box-oci --root %s' && $B create --bundle $T/exe exe >/dev/null 2>&1 && "
		 "$B exec -d exe /bin/cve-2019-5736 1 '#!/bin/sh' > $T/attack.out 2>&1 && $B start exe", copy, state_root);
	assert_status(&r, 0);
	for (int tries = 0; tries < WAIT_TRIES * 2 && !strstr(test_file("attack.out"), "attack") &&
			    !strstr(test_file("attack.out"), "overwrote"); tries++)
		usleep(10 * 1000);
	print_message("%s", test_file("attack.out"));
	assert_non_null(strstr(test_file("attack.out"), "attack failed: reopen the binary for writing: Operation not permitted"));
	r = host("cmp %s %s/box", box_path(), copy);
	assert_status(&r, 0);
	oci_ok("delete", "--force", "exe", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle_creating_created_running_stopped, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_state_is_creating_while_create_runs_its_hooks, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_kill_takes_names_and_numbers_and_says_when_not_running, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_delete_is_refused_while_running_and_force_kills, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_a_created_container_can_be_deleted, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_pid_file_holds_the_init_pid_without_a_newline, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_run_passes_the_exit_status_on_and_deletes, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_list_and_ps_show_the_containers_and_their_processes, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_pause_freezes_and_resume_thaws, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_update_changes_a_running_containers_limits, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_spec_writes_runcs_default_and_never_overwrites, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_features_says_what_box_oci_supports, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_systemd_cgroup_is_refused_clearly, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_the_log_is_text_unless_json_is_asked, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_box_run_gets_dockers_security_profile, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_exec_joins_the_namespaces_cgroup_and_takes_its_flags, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_exec_runs_a_process_json, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_the_container_gets_a_session_keyring_of_its_own, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_the_terminal_goes_to_the_console_socket, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_process_args_env_and_cwd, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_process_user_groups_and_umask, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_capability_sets, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_rlimits, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_no_new_privileges_and_oom_score_adj, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_hostname_and_domainname, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_mounts_and_their_options, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_masked_paths_read_empty_and_read_only_paths_refuse_writes, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_seccomp_denies_with_the_configured_errno, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_namespaces_joined_by_path, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_user_namespace_with_uid_and_gid_mappings, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_hooks_run_in_order_with_the_state_on_stdin, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_a_hook_that_times_out_fails_create_and_leaves_nothing, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_cgroups_path_and_resources, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_devices_and_device_rules, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_sysctls_of_the_containers_namespaces_only, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_read_only_root_and_rootfs_propagation, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_mount_shows_the_containers_cgroup, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_bad_configs_are_refused_with_one_line_and_leave_nothing, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_a_duplicate_id_is_refused, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_a_missing_command_fails_create, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_only_stdio_and_preserved_fds_reach_the_process, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_cve_2024_21626_a_leaked_fd_leads_nowhere, test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_cve_2019_5736_the_runtime_binary_cannot_be_overwritten, test_setup, test_teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("step07 oci", tests, group_setup, group_teardown);
}
