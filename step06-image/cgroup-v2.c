/*
 * cgroup-v2.c - the unified hierarchy (cgroup v2): one tree, every controller in it.
 *
 * Files of a v2 cgroup that box uses (Documentation/admin-guide/cgroup-v2.rst):
 *   cgroup.subtree_control  which controllers the children of a cgroup get
 *   memory.max, memory.swap.max, memory.events   the memory limit and its OOM kills
 *   cpu.max                 "QUOTA PERIOD": QUOTA microseconds of CPU per PERIOD
 *   pids.max                how many processes at once
 *   cgroup.kill, cgroup.freeze   kill everything inside; stop everything inside
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
	if (spec->cpu_millis)
		return failed(f, "enable the cpu controller in %s/cgroup.subtree_control for --cpus "
			      "(the kernel refuses while realtime processes run outside a cgroup with it)", dir);
	return 0;
}

/*
 * cgroups(7): in v2 a cgroup gets a controller only if its parent enables it
 * in cgroup.subtree_control, from the root down. So enable memory, pids and
 * cpu in the root and in box/. box/ itself must then hold no processes: v2
 * forbids processes in a cgroup whose subtree_control is non-empty (the "no
 * internal processes" rule; writing its cgroup.procs fails with EBUSY). The
 * root is exempt from that rule.
 */
static int v2_prepare_parent(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	char parent[PATH_MAX];

	if (path_join(parent, sizeof(parent), cg->mounts[0], "box") < 0)
		return failed(f, "cgroup path of %s/box", cg->mounts[0]);
	for (size_t i = 0; i < sizeof(v2_controllers) / sizeof(v2_controllers[0]); i++) {
		if (enable_controller(cg->mounts[0], v2_controllers[i], f) < 0 ||
		    enable_controller(parent, v2_controllers[i], f) < 0)
			return -1;
	}
	if (enable_cpu(cg->mounts[0], spec, f) < 0 || enable_cpu(parent, spec, f) < 0)
		return -1;
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

/* [exercise] */
/*
 * Write the limits: memory.max in bytes; memory.swap.max 0, or the kernel
 * would push the excess out to swap instead of enforcing the limit (the file
 * is absent when swap accounting is off); cpu.max as "QUOTA PERIOD" in
 * microseconds, so 0.5 CPU is "50000 100000"; pids.max. Use v2_set_number
 * and cgroup_set. See cgroups(7) and the kernel's cgroup-v2.rst.
 */
static int v2_set_limits(const struct cgroup *cg, const struct container_spec *spec, struct failure *f)
{
	char cpu_max[64], path[PATH_MAX];

	if (spec->memory_bytes) {
		if (v2_set_number(cg, "memory.max", spec->memory_bytes, f) < 0)
			return -1;
		if (cgroup_file(cg, 0, "memory.swap.max", path, sizeof(path)) == 0 && access(path, F_OK) == 0 &&
		    v2_set_number(cg, "memory.swap.max", 0, f) < 0)
			return -1;
	}
	if (spec->cpu_millis) {
		if (format_into(cpu_max, sizeof(cpu_max), "%ld %d", (long)spec->cpu_millis * CPU_PERIOD_US / 1000,
				CPU_PERIOD_US) < 0)
			return failed(f, "format cpu.max");
		if (cgroup_set(cg, 0, "cpu.max", cpu_max, f) < 0)
			return -1;
	}
	if (spec->pids_max && v2_set_number(cg, "pids.max", spec->pids_max, f) < 0)
		return -1;
	return 0;
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

const struct cgroup_driver cgroup_v2_driver = {
	.name = "v2",
	.find_mounts = v2_find_mounts,
	.prepare_parent = v2_prepare_parent,
	.set_limits = v2_set_limits,
	.oom_kills = v2_oom_kills,
	.kill_all = v2_kill_all,
};
