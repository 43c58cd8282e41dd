/*
 * cgroup-v2.c - the unified hierarchy (cgroup v2): one tree, every controller in it.
 *
 * Files of a v2 cgroup that box uses (Documentation/admin-guide/cgroup-v2.rst):
 *   cgroup.subtree_control  which controllers the children of a cgroup get
 *   memory.max, memory.swap.max, memory.events   the memory limit and its OOM kills
 *   cpu.max                 "QUOTA PERIOD": QUOTA microseconds of CPU per PERIOD
 *   pids.max                how many processes at once
 *   cgroup.kill, cgroup.freeze   kill everything inside; stop everything inside
 *   step 7: cpu.weight, cpuset.cpus/mems, memory.low, io.weight, and device
 *   rules as a BPF program attached to the cgroup (devices.c)
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"

static const char v2_mount[] = "/sys/fs/cgroup";
/* cpu is enabled on its own: see enable_cpu. */
static const char *const v2_controllers[] = { "memory", "pids" };

enum {
	CPU_PERIOD_US = 100000,	/* the kernel's default period: 100 ms */
	FREEZE_TRIES = 100,	/* wait up to 1 s for the freezer */
};

static int v2_find_mounts(struct cgroup *cg, struct failure *f)
{
	/* cgroup_detect saw cgroup2 mounted right here. */
	if (format_into(cg->mounts[0], sizeof(cg->mounts[0]), "%s", v2_mount) < 0)
		return failed(f, "cgroup mount %s", v2_mount);
	cg->nmounts = 1;
	return 0;
}

/* Write "+controller" to dir/cgroup.subtree_control. */
static int enable_controller(const char *dir, const char *controller, struct failure *f)
{
	char path[PATH_MAX], word[32];

	if (format_into(word, sizeof(word), "+%s", controller) < 0 ||
	    path_join(path, sizeof(path), dir, "cgroup.subtree_control") < 0)
		return failed(f, "cgroup path of %s", dir);
	if (write_file(path, word) < 0)
		return failed(f, "enable the %s controller in %s", controller, path);
	return 0;
}

/*
 * The cpu controller cannot be enabled while a realtime process (SCHED_FIFO,
 * SCHED_RR) sits in a cgroup that would get it: the write fails with EINVAL
 * (cgroup-v2.rst, "cpu"; some hosts run realtime audio or watchdog daemons).
 * Like crun, go on without it, unless a CPU limit was asked for.
 */
static int enable_cpu(const char *dir, const struct container_spec *spec, struct failure *f)
{
	if (enable_controller(dir, "cpu", f) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	if (spec->resources && (spec->resources->cpu_quota > 0 || spec->resources->cpu_shares))
		return failed(f, "enable the cpu controller in %s/cgroup.subtree_control for a CPU limit "
			      "(the kernel refuses while realtime processes run outside a cgroup with it)", dir);
	return 0;
}

/* Step 7: memory, pids and cpu in dir's cgroup.subtree_control; cpuset and io when the config asks for them. */
static int enable_in(const char *dir, const struct container_spec *spec, struct failure *f)
{
	const struct oci_resources *r = spec->resources;

	for (size_t i = 0; i < sizeof(v2_controllers) / sizeof(v2_controllers[0]); i++) {
		if (enable_controller(dir, v2_controllers[i], f) < 0)
			return -1;
	}
	if (enable_cpu(dir, spec, f) < 0)
		return -1;
	if (r && (r->cpu_cpus || r->cpu_mems) && enable_controller(dir, "cpuset", f) < 0)
		return -1;
	if (r && r->blkio_weight && enable_controller(dir, "io", f) < 0)
		return -1;
	return 0;
}

/*
 * cgroups(7): in v2 a cgroup gets a controller only if its parent enables it
 * in cgroup.subtree_control, from the root down. So enable memory, pids and
 * cpu in the root and in box/ (step 7: in every cgroup above the
 * container's, for box-oci's paths like /docker/<id>). Those must then hold
 * no processes: v2 forbids processes in a cgroup whose subtree_control is
 * non-empty (the "no internal processes" rule; writing its cgroup.procs
 * fails with EBUSY). The root is exempt from that rule.
 */
static int v2_prepare_parent(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	char dir[PATH_MAX];
	char *slash;

	if (enable_in(cg->mounts[0], spec, f) < 0 || cgroup_dir(cg, 0, dir, sizeof(dir)) < 0)
		return -1;
	/* dir is <mount>/a/b/leaf: enable in <mount>/a, then <mount>/a/b. */
	for (slash = strchr(dir + strlen(cg->mounts[0]) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (enable_in(dir, spec, f) < 0)
			return -1;
		*slash = '/';
	}
	return 0;
}

/* cgroup_set with a number. */
static int v2_set_number(const struct cgroup *cg, const char *file, long long value, struct failure *f)
{
	char text[32];

	if (format_into(text, sizeof(text), "%lld", value) < 0)
		return failed(f, "format %s", file);
	return cgroup_set(cg, 0, file, text, f);
}

/* Write text to one of the container's files, refusing clearly if this host lacks it (the io controller, say). */
static int v2_set_text(const struct cgroup *cg, const char *file, const char *text, struct failure *f)
{
	char path[PATH_MAX];

	if (cgroup_file(cg, 0, file, path, sizeof(path)) == 0 && access(path, F_OK) < 0) {
		errno = ENOTSUP;
		return failed(f, "set %s: this host's cgroup v2 has no such file", path);
	}
	return cgroup_set(cg, 0, file, text, f);
}

/* A limit that may be -1, "unlimited": v2 writes that as "max". */
static int v2_set_limit(const struct cgroup *cg, const char *file, long long value, struct failure *f)
{
	return value < 0 ? cgroup_set(cg, 0, file, "max", f) : v2_set_number(cg, file, value, f);
}

/* Step 7: shares as cpu.weight, cpusets, blkio weight as io.weight, device rules (a BPF program). */
static int v2_set_more(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	const struct oci_resources *r = spec->resources;
	char dir[PATH_MAX];

	/* runc's conversions: shares 2..262144 to weight 1..10000, blkio 10..1000 to io 1..10000. */
	if (r->cpu_shares && v2_set_number(cg, "cpu.weight", 1 + ((long long)r->cpu_shares - 2) * 9999 / 262142, f) < 0)
		return -1;
	if (r->memory_reservation && v2_set_limit(cg, "memory.low", r->memory_reservation, f) < 0)
		return -1;
	if ((r->cpu_cpus && v2_set_text(cg, "cpuset.cpus", r->cpu_cpus, f) < 0) ||
	    (r->cpu_mems && v2_set_text(cg, "cpuset.mems", r->cpu_mems, f) < 0))
		return -1;
	if (r->blkio_weight && v2_set_number(cg, "io.weight", 1 + ((long long)r->blkio_weight - 10) * 9999 / 990, f) < 0)
		return -1;
	if (cgroup_dir(cg, 0, dir, sizeof(dir)) < 0)
		return failed(f, "cgroup path of %s", cg->path);
	return load_device_filter(dir, spec, f);
}

/* [exercise] */
/*
 * Write the limits: memory.max in bytes; memory.swap.max, the swap beyond
 * it: 0 for box run, or the kernel would push the excess out to swap
 * instead of enforcing the limit (the file is absent when swap accounting
 * is off; config.json's "swap" is memory plus swap, as in v1); cpu.max as
 * "QUOTA PERIOD" in microseconds, so 0.5 CPU is "50000 100000"; pids.max.
 * Step 7: the values come from config.json's linux.resources (box run's
 * flags are such a config too); -1 means no limit, "max". Use
 * v2_set_number and cgroup_set. See cgroups(7) and the kernel's cgroup-v2.rst.
 */
static int v2_set_limits(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	const struct oci_resources *r = spec->resources;
	char cpu_max[64], path[PATH_MAX];

	if (!r)
		return 0;
	if (r->memory_limit && v2_set_limit(cg, "memory.max", r->memory_limit, f) < 0)
		return -1;
	if (r->memory_swap && cgroup_file(cg, 0, "memory.swap.max", path, sizeof(path)) == 0 && access(path, F_OK) == 0 &&
	    v2_set_limit(cg, "memory.swap.max", r->memory_swap < 0 ? -1 : r->memory_swap - r->memory_limit, f) < 0)
		return -1;
	if (r->cpu_quota || r->cpu_period) {
		unsigned long long period = r->cpu_period ? r->cpu_period : CPU_PERIOD_US;

		if (r->cpu_quota > 0 && format_into(cpu_max, sizeof(cpu_max), "%lld %llu", (long long)r->cpu_quota, period) < 0)
			return failed(f, "format cpu.max");
		if (r->cpu_quota <= 0 && format_into(cpu_max, sizeof(cpu_max), "max %llu", period) < 0)
			return failed(f, "format cpu.max");
		if (cgroup_set(cg, 0, "cpu.max", cpu_max, f) < 0)
			return -1;
	}
	if (r->pids_limit && v2_set_limit(cg, "pids.max", r->pids_limit, f) < 0)
		return -1;
	return v2_set_more(cg, spec, f);
}

/* memory.events counts "oom_kill": processes the OOM killer killed in this cgroup. */
static int v2_oom_kills(const struct cgroup *cg, long long *count)
{
	char path[PATH_MAX];

	if (cgroup_file(cg, 0, "memory.events", path, sizeof(path)) < 0)
		return -1;
	return read_keyed_value(path, "oom_kill", count);
}

/*
 * cgroup.kill (Linux 5.14) kills everything inside at once. Without it:
 * freeze the cgroup, so nothing inside can fork while we go through the
 * list, kill each process, thaw so the kills are delivered.
 */
static int v2_kill_all(const struct cgroup *cg)
{
	char dir[PATH_MAX], path[PATH_MAX];

	if (cgroup_dir(cg, 0, dir, sizeof(dir)) < 0 || path_join(path, sizeof(path), dir, "cgroup.kill") < 0)
		return -1;
	if (access(dir, F_OK) < 0)
		return 0;	/* never made, or already gone */
	if (access(path, F_OK) == 0)
		return write_file(path, "1");
	if (path_join(path, sizeof(path), dir, "cgroup.freeze") < 0 || write_file(path, "1") < 0)
		return -1;
	kill_procs(dir);
	return write_file(path, "0");
}

/* ---- step 7: what box-oci's cgroups need besides ---------------------------------------- */

/* Is "frozen 1" in the container's cgroup.events? */
static bool v2_is_frozen(const struct cgroup *cg)
{
	char path[PATH_MAX];
	long long frozen = 0;

	return cgroup_file(cg, 0, "cgroup.events", path, sizeof(path)) == 0 &&
	       read_keyed_value(path, "frozen", &frozen) == 0 && frozen == 1;
}

/* cgroup.freeze (Linux 5.2): 1 freezes, 0 thaws; freezing is done once cgroup.events says "frozen 1". */
static int v2_freeze(const struct cgroup *cg, bool frozen)
{
	char path[PATH_MAX];

	if (cgroup_file(cg, 0, "cgroup.freeze", path, sizeof(path)) < 0 || write_file(path, frozen ? "1" : "0") < 0)
		return -1;
	for (int tries = 0; tries < FREEZE_TRIES; tries++) {
		if (v2_is_frozen(cg) == frozen)
			return 0;
		usleep(10 * 1000);
	}
	errno = ETIMEDOUT;
	return -1;
}

const struct cgroup_driver cgroup_v2_driver = {
	.name = "v2",
	.find_mounts = v2_find_mounts,
	.prepare_parent = v2_prepare_parent,
	.set_limits = v2_set_limits,
	.oom_kills = v2_oom_kills,
	.kill_all = v2_kill_all,
	.freeze = v2_freeze,
	.is_frozen = v2_is_frozen,
};
