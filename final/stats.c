/*
 * stats.c - what a running container uses, and what box keeps on disk:
 * box stats --no-stream, box top, box port, box system df.
 *
 * Nothing here asks the container: the kernel keeps the numbers. The
 * cgroups of the container's init are named in /proc/PID/cgroup
 * (cgroups(7): "hierarchy-ID:controller-list:cgroup-path"); a v1 hierarchy
 * is mounted at /sys/fs/cgroup/<controllers>, v2 at /sys/fs/cgroup (pure)
 * or /sys/fs/cgroup/unified (hybrid). Network bytes are /proc/PID/net/dev,
 * which shows the counters of that process's network namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"

enum { CPU_SAMPLE_MS = 500, CGROUP2_SUPER_MAGIC_VALUE = 0x63677270 };

/* The directory of pid's cgroup for controller (v1), or its v2 cgroup if controller is "" or not on v1. */
static int cgroup_dir_of(pid_t pid, const char *controller, char *buf, size_t size)
{
	char path[64], line[PATH_MAX + 128], v2[PATH_MAX] = "";
	struct statfs fs;
	FILE *file;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	file = fopen(path, "re");
	if (!file)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), file)) {
		char *controllers = strchr(line, ':'), *cgroup;

		if (!controllers || !(cgroup = strchr(controllers + 1, ':')))
			continue;
		*cgroup++ = '\0';
		controllers++;
		cgroup[strcspn(cgroup, "\n")] = '\0';
		if (controllers[0] == '\0') {
			bool pure = statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC_VALUE;

			snprintf(v2, sizeof(v2), "/sys/fs/cgroup%s%s", pure ? "" : "/unified", cgroup);
		} else if (controller[0] && strstr(controllers, controller)) {
			found = format_into(buf, size, "/sys/fs/cgroup/%s%s", controllers, cgroup);
		}
	}
	fclose(file);
	if (found < 0 && v2[0])
		found = format_into(buf, size, "%s", v2);
	return found;
}

/* The first number in dir/file ("max" reads as -1), or -1. */
static long long read_number(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX], line[256];
	long long value = -1;
	FILE *f;

	if (format_into(path, sizeof(path), "%s/%s", dir, file) < 0 || !(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (key && strncmp(line, key, strlen(key)) == 0) {
			value = atoll(line + strlen(key));
			break;
		}
		if (!key) {
			value = strncmp(line, "max", 3) == 0 ? -1 : atoll(line);
			break;
		}
	}
	fclose(f);
	return value;
}

/* Memory in use and its limit, from v1's memory controller or v2's files. */
static void memory_of(pid_t pid, long long *used, long long *limit)
{
	char dir[PATH_MAX];

	*used = *limit = -1;
	if (cgroup_dir_of(pid, "memory", dir, sizeof(dir)) < 0)
		return;
	*used = read_number(dir, "memory.usage_in_bytes", NULL);
	if (*used >= 0) {
		*limit = read_number(dir, "memory.limit_in_bytes", NULL);
		return;
	}
	*used = read_number(dir, "memory.current", NULL);
	*limit = read_number(dir, "memory.max", NULL);
}

/* CPU time used so far, in nanoseconds: v1 cpuacct.usage, v2 cpu.stat usage_usec. */
static long long cpu_ns_of(pid_t pid)
{
	char dir[PATH_MAX];
	long long v;

	if (cgroup_dir_of(pid, "cpuacct", dir, sizeof(dir)) < 0)
		return -1;
	v = read_number(dir, "cpuacct.usage", NULL);
	if (v >= 0)
		return v;
	v = read_number(dir, "cpu.stat", "usage_usec ");
	return v < 0 ? -1 : v * 1000;
}

static long long pids_of(pid_t pid)
{
	char dir[PATH_MAX];

	if (cgroup_dir_of(pid, "pids", dir, sizeof(dir)) < 0)
		return -1;
	return read_number(dir, "pids.current", NULL);
}

/* Bytes received and sent on every interface but lo, in pid's network namespace (proc(5) /proc/net/dev). */
static void net_of(pid_t pid, long long *rx, long long *tx)
{
	char path[64], line[512], name[64];
	long long r, t;
	FILE *f;

	*rx = *tx = 0;
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %63[^:]: %lld %*d %*d %*d %*d %*d %*d %*d %lld", name, &r, &t) == 3 &&
		    strcmp(name, "lo") != 0) {
			*rx += r;
			*tx += t;
		}
	}
	fclose(f);
}

/* docker's sizes: 1.5MiB, 3kB (binary for memory, decimal for I/O, as docker prints them). */
static void human_size(long long bytes, bool binary, char *buf, size_t size)
{
	const char *units_b[] = { "B", "KiB", "MiB", "GiB", "TiB" }, *units_d[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)bytes, base = binary ? 1024.0 : 1000.0;
	int i = 0;

	while (v >= base && i < 4) {
		v /= base;
		i++;
	}
	snprintf(buf, size, i ? "%.3g%s" : "%.0f%s", v, binary ? units_b[i] : units_d[i]);
}

struct sample {
	const struct container *c;
	pid_t pid;
	long long cpu0, cpu1, t0, t1;
};

static long long mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* One stats line: docker's columns. */
static void print_stats_line(const struct sample *s)
{
	char mem[32], lim[32], rxs[32], txs[32], usage[80], io[80];
	long long used, limit, rx, tx, pids = pids_of(s->pid);
	double cpu = s->t1 > s->t0 && s->cpu0 >= 0 ? 100.0 * (double)(s->cpu1 - s->cpu0) / (double)(s->t1 - s->t0) : 0;

	memory_of(s->pid, &used, &limit);
	net_of(s->pid, &rx, &tx);
	human_size(used < 0 ? 0 : used, true, mem, sizeof(mem));
	if (limit < 0 || limit >= (1LL << 62))
		snprintf(lim, sizeof(lim), "unlimited");
	else
		human_size(limit, true, lim, sizeof(lim));
	human_size(rx, false, rxs, sizeof(rxs));
	human_size(tx, false, txs, sizeof(txs));
	snprintf(usage, sizeof(usage), "%s / %s", mem, lim);
	snprintf(io, sizeof(io), "%s / %s", rxs, txs);
	printf("%-14.12s%-20s%-9.2f%-24s%-8.2f%-20s%lld\n", s->c->id, s->c->name, cpu, usage,
	       limit > 0 && limit < (1LL << 62) ? 100.0 * (double)used / (double)limit : 0.0, io, pids < 0 ? 0 : pids);
}

/* box stats --no-stream: CPU % over half a second, then memory, net I/O, pids; for the running containers given. */
int print_stats(const struct container *cs, const pid_t *pids, size_t n)
{
	struct sample *s = calloc(n ? n : 1, sizeof(*s));
	struct timespec wait = { 0, CPU_SAMPLE_MS * 1000000L };

	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++) {
		s[i] = (struct sample){ .c = &cs[i], .pid = pids[i], .cpu0 = cpu_ns_of(pids[i]), .t0 = mono_ns() };
	}
	nanosleep(&wait, NULL);
	printf("%-14s%-20s%-9s%-24s%-8s%-20s%s\n", "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
	       "NET I/O", "PIDS");
	for (size_t i = 0; i < n; i++) {
		s[i].cpu1 = cpu_ns_of(pids[i]);
		s[i].t1 = mono_ns();
		print_stats_line(&s[i]);
	}
	free(s);
	return 0;
}

/* box top: every process in the init's pid namespace (pid_namespaces(7)), as the host numbers it. */
int print_top(pid_t init)
{
	char path[300], ns[64], theirs[64], stat_text[1024], cmd[4096];
	struct dirent *d;
	DIR *proc;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)init);
	n = readlink(path, ns, sizeof(ns) - 1);
	if (n < 0 || !(proc = opendir("/proc")))
		return -1;
	ns[n] = '\0';
	printf("%-10s%-10s%-10s%s\n", "UID", "PID", "PPID", "CMD");
	while ((d = readdir(proc))) {
		struct stat st;
		int ppid;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%s/ns/pid", d->d_name);
		n = readlink(path, theirs, sizeof(theirs) - 1);
		if (n < 0 || (theirs[n] = '\0', strcmp(theirs, ns) != 0))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		if (!read_whole(path, stat_text, sizeof(stat_text)) || !strrchr(stat_text, ')') ||
		    sscanf(strrchr(stat_text, ')') + 1, " %*c %d", &ppid) != 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", d->d_name);
		f = fopen(path, "re");
		n = f ? (ssize_t)fread(cmd, 1, sizeof(cmd) - 1, f) : 0;
		if (f)
			fclose(f);
		for (ssize_t i = 0; i + 1 < n; i++)
			cmd[i] = cmd[i] ? cmd[i] : ' ';
		cmd[n > 0 ? n : 0] = '\0';
		snprintf(path, sizeof(path), "/proc/%s", d->d_name);
		if (stat(path, &st) == 0)
			printf("%-10u%-10s%-10d%s\n", (unsigned)st.st_uid, d->d_name, ppid, cmd);
	}
	closedir(proc);
	return 0;
}

/* A file's first size - 1 bytes, or NULL. */
char *read_whole(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Bytes under a directory tree (nftw(3)), counting each block once. */
static long long tree_bytes;

static int add_size(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)type;
	(void)ftw;
	tree_bytes += (long long)st->st_blocks * 512;
	return 0;
}

long long directory_size(const char *path)
{
	tree_bytes = 0;
	if (nftw(path, add_size, 16, FTW_PHYS | FTW_MOUNT) < 0)
		return 0;
	return tree_bytes;
}

/* box system df: docker's table of what is kept on disk. */
int print_disk_usage(const char *root, size_t images, long long image_bytes, size_t containers, size_t running)
{
	char path[PATH_MAX], size[32];
	long long bytes;
	size_t volumes = 0;
	DIR *dir;
	struct dirent *d;

	printf("%-16s%-8s%-8s%s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE");
	human_size(image_bytes, false, size, sizeof(size));
	printf("%-16s%-8zu%-8zu%s\n", "Images", images, images, size);
	format_into(path, sizeof(path), "%s/containers", root);
	human_size(directory_size(path), false, size, sizeof(size));
	printf("%-16s%-8zu%-8zu%s\n", "Containers", containers, running, size);
	format_into(path, sizeof(path), "%s/volumes", root);
	bytes = directory_size(path);
	if ((dir = opendir(path))) {
		while ((d = readdir(dir)))
			volumes += d->d_name[0] != '.';
		closedir(dir);
	}
	human_size(bytes, false, size, sizeof(size));
	printf("%-16s%-8zu%-8s%s\n", "Local Volumes", volumes, "-", size);
	return 0;
}

/* ---- the commands: box stats, top, port, system ---------------------------------------------- */

/* The running containers named (all running ones if none): records and init pids, for stats. */
static int running_named(struct command_line *cl, int first, struct container **cs, pid_t **pids, size_t *n)
{
	char (*ids)[LONG_ID_LEN + 1] = NULL;
	size_t count = (size_t)(cl->argc - first);

	*n = 0;
	*cs = NULL;
	*pids = NULL;
	if (count == 0 && container_list(cl->spec.box_root, &ids, &count) < 0)
		return fail("list the containers");
	*cs = calloc(count + 1, sizeof(**cs));
	*pids = calloc(count + 1, sizeof(**pids));
	for (size_t i = 0; *cs && *pids && i < count; i++) {
		struct container *c = &(*cs)[*n];
		struct status s;

		if (ids ? container_load(cl->spec.box_root, ids[i], c) < 0 : find_or_fail(cl, cl->argv[first + i], c) < 0)
			continue;
		get_status(c, &s);
		if (strcmp(s.status, "running") == 0)
			(*pids)[(*n)++] = s.pid;
		else if (!ids)
			fail_msg("stats: container %.12s is not running", c->id);
	}
	free(ids);
	return *cs && *pids ? 0 : fail("stats");
}

int cmd_stats(struct command_line *cl)
{
	static const struct option opts[] = { { "no-stream", no_argument, NULL, 'n' }, { NULL, 0, NULL, 0 } };
	struct container *cs = NULL;
	pid_t *pids = NULL;
	size_t n;
	int opt, ret;

	getopt_start();
	while ((opt = getopt_long(cl->argc, cl->argv, "+:", opts, NULL)) != -1) {
		if (opt != 'n')
			return bad_option("stats", cl->argc, cl->argv, opt);
	}
	if (running_named(cl, optind, &cs, &pids, &n) < 0) {
		free(cs);
		free(pids);
		return -1;
	}
	ret = print_stats(cs, pids, n);
	for (size_t i = 0; i < n; i++)
		container_free(&cs[i]);
	free(cs);
	free(pids);
	return ret < 0 ? fail("stats") : 0;
}

int cmd_top(struct command_line *cl)
{
	struct container c;
	struct status s;
	int ret;

	if (cl->argc != 2)
		return fail_msg("top: needs one container (see 'box top --help')");
	if (find_or_fail(cl, cl->argv[1], &c) < 0)
		return -1;
	get_status(&c, &s);
	ret = strcmp(s.status, "running") != 0 ? fail_msg("top: container %.12s is not running", c.id)
					      : print_top(s.pid) < 0 ? fail("top %.12s", c.id) : 0;
	container_free(&c);
	return ret;
}

/* box port: the published ports, docker's "80/tcp -> 0.0.0.0:8080". */
int cmd_port(struct command_line *cl)
{
	struct container c;
	json_t *p;
	size_t i;

	if (cl->argc != 2)
		return fail_msg("port: needs one container (see 'box port --help')");
	if (find_or_fail(cl, cl->argv[1], &c) < 0)
		return -1;
	json_array_foreach(json_object_get(c.state, "Ports"), i, p) {
		char host[64], inside[64];
		const char *text = json_string_value(p);

		if (text && sscanf(text, "%63[^-]->%63s", host, inside) == 2)
			printf("%s -> %s\n", inside, host);
	}
	container_free(&c);
	return 0;
}

/* box system prune: stopped containers, then what crashed boxes left (step 7's prune). box system df. */
int cmd_system(struct command_line *cl)
{
	const char *verb = cl->argc > 1 ? cl->argv[1] : "";
	char (*ids)[LONG_ID_LEN + 1];
	size_t n, running = 0;
	struct failure f;
	bool bridge;

	if (container_list(cl->spec.box_root, &ids, &n) < 0)
		return fail("list the containers");
	for (size_t i = 0; i < n; i++) {
		struct container c;
		struct status s;

		if (container_load(cl->spec.box_root, ids[i], &c) < 0)
			continue;
		get_status(&c, &s);
		if (strcmp(s.status, "running") == 0)
			running++;
		else if (strcmp(verb, "prune") == 0 && rm_one(cl, &c, 0) == 0)
			printf("Deleted container %s\n", c.id);
		container_free(&c);
	}
	free(ids);
	if (strcmp(verb, "prune") == 0) {
		if (remove_stale_containers(cl->spec.box_root, true, &f) < 0 || cgroup_prune(&f) < 0 ||
		    network_prune(cl->spec.box_state, &bridge, &f) < 0)
			return fail("system prune: %s", f.what);
		return 0;
	}
	if (strcmp(verb, "df") == 0) {
		struct image_record *recs = NULL;
		long long bytes = 0;
		size_t count = 0;
		struct store st;

		if (store_open(&st, cl->spec.box_root, STORE_SHARED, &f) == 0) {
			if (store_list_images(&st, &recs, &count) < 0)
				count = 0;
			store_close(&st);
		}
		for (size_t i = 0; i < count; i++)
			bytes += recs[i].size;
		free(recs);
		return print_disk_usage(cl->spec.box_root, count, bytes, n, running);
	}
	return fail_msg("system: expected prune or df (see 'box system --help')");
}
