/*
 * cgroup-v1.c - cgroup v1: a hierarchy per controller, or per group of controllers.
 *
 * Each v1 hierarchy is mounted on its own, wherever the host chose
 * (/sys/fs/cgroup/memory, or /sys/fs/cgroup/cpu,cpuacct with cpu and cpuacct
 * together): find them in /proc/self/mountinfo, never hard-code them. The
 * container gets box/<id> in each, and its PID in each cgroup.procs.
 *
 * Files box uses (Documentation/admin-guide/cgroup-v1/):
 *   memory.limit_in_bytes, memory.memsw.limit_in_bytes, memory.oom_control
 *   cpu.cfs_period_us, cpu.cfs_quota_us   QUOTA microseconds of CPU per PERIOD
 *   pids.max; freezer.state (FROZEN, THAWED)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"

static const char mountinfo_path[] = "/proc/self/mountinfo";
/* cpuacct: CPU time used, for 'cpuacct.usage'; freezer: to kill everything at once. */
static const char *const v1_controllers[] = { "memory", "cpu", "cpuacct", "pids", "freezer" };

enum {
	CPU_PERIOD_US = 100000,	/* the kernel's default period: 100 ms */
	FREEZE_TRIES = 100,
};

/* Is name one of the comma-separated words of options? ("cpu" is not "cpuacct".) */
static bool has_option(const char *options, const char *name)
{
	size_t len = strlen(name);
	const char *p = options;

	for (;;) {
		if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return true;
		p = strchr(p, ',');
		if (!p)
			return false;
		p++;	/* the word after the comma */
	}
}

/* The hierarchy number that holds controller, or -1. */
static int v1_index(const struct cgroup *cg, const char *controller)
{
	for (int i = 0; i < cg->nmounts; i++) {
		if (has_option(cg->options[i], controller))
			return i;
	}
	return -1;
}

/*
 * proc(5), mountinfo: "36 35 98:0 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory":
 * field 5 is the mount point; after " - " come the type, the source and the
 * super options, which name the controllers of a v1 hierarchy.
 */
static int parse_cgroup_mount(const char *line, char *mount, size_t mount_size, char *options, size_t options_size)
{
	char point[PATH_MAX], type[32], source[64], opts[256];
	const char *dash = strstr(line, " - ");

	if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
	    sscanf(dash + 3, "%31s %63s %255s", type, source, opts) != 3 || strcmp(type, "cgroup") != 0)
		return -1;
	if (format_into(mount, mount_size, "%s", point) < 0 || format_into(options, options_size, "%s", opts) < 0)
		return -1;
	return 0;
}

/* Add the hierarchy on this mountinfo line if it holds a controller box uses. */
static void add_if_used(struct cgroup *cg, const char *line)
{
	char mount[PATH_MAX], options[256];

	if (cg->nmounts == CGROUP_MAX_MOUNTS || parse_cgroup_mount(line, mount, sizeof(mount), options, sizeof(options)) < 0)
		return;
	for (size_t c = 0; c < sizeof(v1_controllers) / sizeof(v1_controllers[0]); c++) {
		if (has_option(options, v1_controllers[c]) && v1_index(cg, v1_controllers[c]) < 0) {
			/* Both fit: parse_cgroup_mount read them into buffers of the same sizes. */
			memcpy(cg->mounts[cg->nmounts], mount, sizeof(mount));
			memcpy(cg->options[cg->nmounts], options, sizeof(options));
			cg->nmounts++;
			return;
		}
	}
}

static int v1_find_mounts(struct cgroup *cg, struct failure *f)
{
	char line[4096];
	FILE *file = fopen(mountinfo_path, "re");

	if (!file)
		return failed(f, "read %s", mountinfo_path);
	cg->nmounts = 0;
	while (fgets(line, sizeof(line), file))
		add_if_used(cg, line);
	fclose(file);
	for (size_t c = 0; c < sizeof(v1_controllers) / sizeof(v1_controllers[0]); c++) {
		if (v1_index(cg, v1_controllers[c]) < 0) {
			errno = ENOENT;
			return failed(f, "cgroup v1: find a mounted hierarchy with the %s controller", v1_controllers[c]);
		}
	}
	return 0;
}

/* Nothing to prepare: v1 hierarchies have no subtree_control. */
static int v1_prepare_parent(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	(void)cg;
	(void)spec;
	(void)f;
	return 0;
}

/* cgroup_set, in the hierarchy of controller; value is a number. */
static int v1_set(const struct cgroup *cg, const char *controller, const char *file, long long value,
		  struct failure *f)
{
	char text[32];

	if (format_into(text, sizeof(text), "%lld", value) < 0)
		return failed(f, "format %s", file);
	return cgroup_set(cg, v1_index(cg, controller), file, text, f);
}

/* memsw is memory plus swap; setting it equal to the memory limit means no swap. */
static int v1_set_memory(const struct cgroup *cg, long long bytes, struct failure *f)
{
	char path[PATH_MAX];

	if (v1_set(cg, "memory", "memory.limit_in_bytes", bytes, f) < 0)
		return -1;
	if (cgroup_file(cg, v1_index(cg, "memory"), "memory.memsw.limit_in_bytes", path, sizeof(path)) < 0)
		return failed(f, "cgroup path of memory.memsw.limit_in_bytes");
	/* Absent when the kernel does no swap accounting (swapaccount=0). */
	if (access(path, F_OK) == 0)
		return v1_set(cg, "memory", "memory.memsw.limit_in_bytes", bytes, f);
	return 0;
}

static int v1_set_limits(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	if (spec->memory_bytes && v1_set_memory(cg, spec->memory_bytes, f) < 0)
		return -1;
	if (spec->cpu_millis) {
		if (v1_set(cg, "cpu", "cpu.cfs_period_us", CPU_PERIOD_US, f) < 0 ||
		    v1_set(cg, "cpu", "cpu.cfs_quota_us", (long long)spec->cpu_millis * CPU_PERIOD_US / 1000, f) < 0)
			return -1;
	}
	if (spec->pids_max && v1_set(cg, "pids", "pids.max", spec->pids_max, f) < 0)
		return -1;
	return 0;
}

/* memory.oom_control has an "oom_kill" count (Linux 4.13 and later). */
static int v1_oom_kills(const struct cgroup *cg, long long *count)
{
	char path[PATH_MAX];

	if (cgroup_file(cg, v1_index(cg, "memory"), "memory.oom_control", path, sizeof(path)) < 0)
		return -1;
	return read_keyed_value(path, "oom_kill", count);
}

/* Write FROZEN and wait until the kernel says every task is stopped (it passes through FREEZING). */
static int freeze(const char *state_path)
{
	char state[32];

	if (write_file(state_path, "FROZEN") < 0)
		return -1;
	for (int tries = 0; tries < FREEZE_TRIES; tries++) {
		FILE *f = fopen(state_path, "re");

		if (!f)
			return -1;
		if (!fgets(state, sizeof(state), f))
			state[0] = '\0';
		fclose(f);
		if (strncmp(state, "FROZEN", 6) == 0)
			return 0;
		usleep(10 * 1000);
	}
	errno = ETIMEDOUT;
	return -1;
}

/* v1 has no cgroup.kill: freeze, so nothing can fork meanwhile, kill each process, thaw. */
static int v1_kill_all(const struct cgroup *cg)
{
	char dir[PATH_MAX], state[PATH_MAX];
	int ret;

	if (cgroup_dir(cg, v1_index(cg, "freezer"), dir, sizeof(dir)) < 0 ||
	    path_join(state, sizeof(state), dir, "freezer.state") < 0)
		return -1;
	if (access(dir, F_OK) < 0)
		return 0;	/* never made, or already gone */
	ret = freeze(state);
	kill_procs(dir);
	if (write_file(state, "THAWED") < 0)
		ret = -1;
	return ret;
}

const struct cgroup_driver cgroup_v1_driver = {
	.name = "v1",
	.find_mounts = v1_find_mounts,
	.prepare_parent = v1_prepare_parent,
	.set_limits = v1_set_limits,
	.oom_kills = v1_oom_kills,
	.kill_all = v1_kill_all,
};
