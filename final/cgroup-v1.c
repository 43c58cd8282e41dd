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
 *   step 7: cpu.shares, cpuset.cpus/mems, memory.soft_limit_in_bytes,
 *   blkio.weight, devices.allow/deny
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"

static const char mountinfo_path[] = "/proc/self/mountinfo";
/* cpuacct: CPU time used, for 'cpuacct.usage'; freezer: to kill everything at once;
 * devices: which device nodes the container may use (step 7). */
static const char *const v1_controllers[] = { "memory", "cpu", "cpuacct", "pids", "freezer", "devices" };

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
	    sscanf(dash + 3, "%31s %63s %255s", type, source, opts) != 3)
		return -1;
	if (strcmp(type, "cgroup2") == 0)
		opts[0] = '\0';	/* step 7: the v2 tree of a hybrid host, told apart by its empty options */
	else if (strcmp(type, "cgroup") != 0)
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
	/* Step 7: box-oci's containers go in every hierarchy (cgroup.c, cgroup_open_path); box run's only where it limits. */
	if (cg->every_hierarchy) {
		memcpy(cg->mounts[cg->nmounts], mount, sizeof(mount));
		memcpy(cg->options[cg->nmounts], options, sizeof(options));
		cg->nmounts++;
		return;
	}
	for (size_t c = 0; c < sizeof(v1_controllers) / sizeof(v1_controllers[0]); c++) {
		if (options[0] && has_option(options, v1_controllers[c]) && v1_index(cg, v1_controllers[c]) < 0) {
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

/* Copy one cpuset file from the parent directory if this one is empty. */
static int copy_from_parent(const char *dir, const char *file)
{
	char path[PATH_MAX], parent[PATH_MAX], value[256] = "", now[256] = "";
	FILE *in;

	if (path_join(path, sizeof(path), dir, file) < 0 || format_into(parent, sizeof(parent), "%s/../%s", dir, file) < 0)
		return -1;
	in = fopen(path, "re");
	if (in && !fgets(now, sizeof(now), in))
		now[0] = '\0';
	if (in)
		fclose(in);
	if (now[0] && now[0] != '\n')
		return 0;
	in = fopen(parent, "re");
	if (!in)
		return -1;
	if (!fgets(value, sizeof(value), in))
		value[0] = '\0';
	fclose(in);
	value[strcspn(value, "\n")] = '\0';
	return value[0] ? write_file(path, value) : 0;
}

/*
 * Nothing to prepare for box run: v1 hierarchies have no subtree_control.
 * Step 7: but a new cpuset cgroup starts with no CPUs and no memory nodes,
 * and a process cannot join it (ENOSPC): give every empty one on the way
 * to box-oci's cgroup its parent's, as runc does
 * (Documentation/admin-guide/cgroup-v1/cpusets.rst).
 */
static int v1_prepare_parent(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	char dir[PATH_MAX];
	int i = v1_index(cg, "cpuset");
	size_t top;

	(void)spec;
	if (i < 0 || !cg->every_hierarchy)
		return 0;
	if (cgroup_dir(cg, i, dir, sizeof(dir)) < 0)
		return failed(f, "cgroup path of %s", cg->path);
	top = strlen(cg->mounts[i]);
	for (char *slash = strchr(dir + top + 1, '/');; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (copy_from_parent(dir, "cpuset.cpus") < 0 || copy_from_parent(dir, "cpuset.mems") < 0)
			return failed(f, "give cgroup %s its parent's cpuset", dir);
		if (!slash)
			return 0;
		*slash = '/';
	}
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

/* Write text to file in the hierarchy of controller; refuse clearly if the host has no such hierarchy. */
static int v1_set_text(const struct cgroup *cg, const char *controller, const char *file, const char *text,
		       struct failure *f)
{
	int i = v1_index(cg, controller);

	if (i < 0) {
		errno = ENOTSUP;
		return failed(f, "set %s: this host has no cgroup v1 hierarchy with the %s controller", file, controller);
	}
	return cgroup_set(cg, i, file, text, f);
}

/*
 * memsw is memory plus swap; setting it equal to the memory limit means no
 * swap (box run does). memsw may never be below the memory limit: when a
 * limit goes up past it (box-oci update), memsw has to go up first.
 */
static int v1_set_memory(const struct cgroup *cg, const struct oci_resources *r, struct failure *f)
{
	char path[PATH_MAX];
	bool memsw;

	if (cgroup_file(cg, v1_index(cg, "memory"), "memory.memsw.limit_in_bytes", path, sizeof(path)) < 0)
		return failed(f, "cgroup path of memory.memsw.limit_in_bytes");
	/* Absent when the kernel does no swap accounting (swapaccount=0). */
	memsw = r->memory_swap && access(path, F_OK) == 0;
	if (r->memory_limit && v1_set(cg, "memory", "memory.limit_in_bytes", r->memory_limit, f) < 0) {
		if (errno != EINVAL || !memsw || v1_set(cg, "memory", "memory.memsw.limit_in_bytes", r->memory_swap, f) < 0 ||
		    v1_set(cg, "memory", "memory.limit_in_bytes", r->memory_limit, f) < 0)
			return -1;
	}
	if (memsw && v1_set(cg, "memory", "memory.memsw.limit_in_bytes", r->memory_swap, f) < 0)
		return -1;
	if (r->memory_reservation &&
	    v1_set(cg, "memory", "memory.soft_limit_in_bytes", r->memory_reservation, f) < 0)
		return -1;
	return 0;
}

/* cpu.shares (relative weight), and QUOTA microseconds of CPU per PERIOD (-1: no quota). */
static int v1_set_cpu(const struct cgroup *cg, const struct oci_resources *r, struct failure *f)
{
	if (r->cpu_shares && v1_set(cg, "cpu", "cpu.shares", (long long)r->cpu_shares, f) < 0)
		return -1;
	if (r->cpu_quota || r->cpu_period) {
		if (v1_set(cg, "cpu", "cpu.cfs_period_us", r->cpu_period ? (long long)r->cpu_period : CPU_PERIOD_US, f) < 0)
			return -1;
		if (r->cpu_quota && v1_set(cg, "cpu", "cpu.cfs_quota_us", r->cpu_quota, f) < 0)
			return -1;
	}
	if (r->cpu_cpus && v1_set_text(cg, "cpuset", "cpuset.cpus", r->cpu_cpus, f) < 0)
		return -1;
	if (r->cpu_mems && v1_set_text(cg, "cpuset", "cpuset.mems", r->cpu_mems, f) < 0)
		return -1;
	return 0;
}

/* blkio.weight exists only where the I/O scheduler has weights (BFQ): refuse rather than ignore. */
static int v1_set_blkio(const struct cgroup *cg, const struct oci_resources *r, struct failure *f)
{
	char path[PATH_MAX], text[16];
	int i = v1_index(cg, "blkio");

	if (!r->blkio_weight)
		return 0;
	if (i < 0 || cgroup_file(cg, i, "blkio.weight", path, sizeof(path)) < 0 || access(path, F_OK) < 0) {
		errno = ENOTSUP;
		return failed(f, "linux.resources.blockIO.weight: this host's blkio controller has no blkio.weight");
	}
	if (format_into(text, sizeof(text), "%u", r->blkio_weight) < 0)
		return failed(f, "format blkio.weight");
	return cgroup_set(cg, i, "blkio.weight", text, f);
}

/*
 * The devices controller: each rule is one line, "c 1:3 rwm", written to
 * devices.allow or devices.deny in order ("a" denies or allows all first;
 * Documentation/admin-guide/cgroup-v1/devices.rst). The list ends with
 * the devices every container gets (device_rules).
 */
static int v1_set_devices(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	struct oci_device_rule rules[DEVICE_RULES_MAX];
	char line[64];
	size_t n;

	if (device_rules(spec, rules, DEVICE_RULES_MAX, &n) < 0)
		return failed(f, "linux.resources.devices: more than %d rules", DEVICE_RULES_MAX);
	for (size_t i = 0; i < n; i++) {
		if (device_rule_line(&rules[i], line, sizeof(line)) < 0 ||
		    v1_set_text(cg, "devices", rules[i].allow ? "devices.allow" : "devices.deny", line, f) < 0)
			return -1;
	}
	return 0;
}

/* Step 7: the limits of config.json's linux.resources (box run's flags are such a config too). */
static int v1_set_limits(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	const struct oci_resources *r = spec->resources;

	if (!r)
		return 0;
	if (v1_set_memory(cg, r, f) < 0 || v1_set_cpu(cg, r, f) < 0 || v1_set_blkio(cg, r, f) < 0)
		return -1;
	if (r->pids_limit < 0 && v1_set_text(cg, "pids", "pids.max", "max", f) < 0)
		return -1;
	if (r->pids_limit > 0 && v1_set(cg, "pids", "pids.max", r->pids_limit, f) < 0)
		return -1;
	return v1_set_devices(cg, spec, f);
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

/* ---- step 7: what box-oci's cgroups need besides ---------------------------------------- */

/* pause and resume: freezer.state FROZEN (waiting until it is), or THAWED. */
static int v1_freeze(const struct cgroup *cg, bool frozen)
{
	char state[PATH_MAX];

	if (cgroup_file(cg, v1_index(cg, "freezer"), "freezer.state", state, sizeof(state)) < 0)
		return -1;
	return frozen ? freeze(state) : write_file(state, "THAWED");
}

static bool v1_is_frozen(const struct cgroup *cg)
{
	char path[PATH_MAX], state[32] = "";
	FILE *file;

	if (cgroup_file(cg, v1_index(cg, "freezer"), "freezer.state", path, sizeof(path)) < 0 ||
	    !(file = fopen(path, "re")))
		return false;
	if (!fgets(state, sizeof(state), file))
		state[0] = '\0';
	fclose(file);
	return strncmp(state, "FROZEN", 6) == 0;
}

const struct cgroup_driver cgroup_v1_driver = {
	.name = "v1",
	.find_mounts = v1_find_mounts,
	.prepare_parent = v1_prepare_parent,
	.set_limits = v1_set_limits,
	.oom_kills = v1_oom_kills,
	.kill_all = v1_kill_all,
	.freeze = v1_freeze,
	.is_frozen = v1_is_frozen,
};
