/*
 * namespaces.c - give the child its own view of the system (namespaces(7)).
 *
 * clone(2) with CLONE_NEW* flags creates the child in new namespaces: its
 * own process IDs, mount table, hostname, System V IPC and network stack,
 * and with --userns its own user and group IDs. Some things must be done
 * from outside (the id maps); the rest the child does to itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "box.h"

enum {
	/* Used when /etc/subuid has no range for root (what podman suggests adding). */
	DEFAULT_SUBID_START = 100000,
	DEFAULT_SUBID_COUNT = 65536,
	ID_MAP_MAX = 4096,	/* user_namespaces(7): a map is written in one write(2) of at most a page */
};

static const char subuid_path[] = "/etc/subuid";
static const char subgid_path[] = "/etc/subgid";

/*
 * The namespaces the config asks for (step 7: box run's flags become a
 * config too, run-config.c). All but the cgroup namespace are made by
 * clone: the child enters that one itself, once it is in its cgroup
 * (enter_cgroup_namespace).
 * Only namespace flags: unlike step 2's, these carry no SIGCHLD, because
 * clone3(2) takes the exit signal in a field of its own (exit_signal).
 * clone_plain adds SIGCHLD itself; without it, waitpid(2) would not see the
 * child ("No child processes").
 */
static int clone_flags(const struct container_spec *spec)
{
	return spec->new_namespaces & ~CLONE_NEWCGROUP;
}

/*
 * clone(2) the child into new namespaces. Called through syscall(2) with no
 * new stack, clone works like fork(2): it returns twice, 0 in the child,
 * which goes on with a copy of our memory, stack included. (The glibc
 * wrapper clone(3) instead starts the child in a function, on a stack you
 * provide.) SIGCHLD, as with fork, so that waitpid(2) works as usual.
 */
static pid_t clone_plain(const struct container_spec *spec)
{
	return (pid_t)syscall(SYS_clone, clone_flags(spec) | SIGCHLD, NULL, NULL, NULL, NULL);
}

/*
 * clone3(2) with CLONE_INTO_CGROUP (Linux 5.7, cgroup v2 only) starts the
 * child inside its cgroup: no moment where it runs, or allocates memory,
 * outside its limits. Like clone above, with no stack it returns twice.
 */
static pid_t clone_into_cgroup(const struct container_spec *spec, int cgroup_fd)
{
	struct clone_args args = {
		.flags = (unsigned long long)clone_flags(spec) | CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
		.cgroup = (unsigned long long)cgroup_fd,
	};

	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

/*
 * Create the child; into its cgroup right away when the host allows
 * (cgroup_fd >= 0). *in_cgroup says whether it is there, or whether the
 * parent must still move it (cgroup_join).
 */
pid_t clone_container(const struct container_spec *spec, int cgroup_fd, bool *in_cgroup)
{
	*in_cgroup = false;
	if (cgroup_fd >= 0) {
		pid_t pid = clone_into_cgroup(spec, cgroup_fd);

		if (pid >= 0) {
			*in_cgroup = true;
			return pid;
		}
		/* Older kernels lack clone3 (ENOSYS) or its cgroup field (E2BIG): the parent moves the child. */
		if (errno != ENOSYS && errno != E2BIG)
			return -1;
	}
	return clone_plain(spec);
}

/*
 * cgroup_namespaces(7): a new cgroup namespace makes the cgroup we are in at
 * that moment look like the root, "/", in /proc/self/cgroup and in cgroup
 * mounts. So the child enters one only after the parent has moved it into
 * box/<id>: not with clone, when it was still in box's own cgroup.
 */
int enter_cgroup_namespace(void)
{
	return unshare(CLONE_NEWCGROUP);
}

/* sethostname(2) accepts at most HOST_NAME_MAX (64) bytes; refuse more before starting. */
int check_hostname(const char *hostname)
{
	if (hostname[0] == '\0' || strlen(hostname) > HOST_NAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* The hostname lives in the UTS namespace: changing it here leaves the host's alone. */
int set_hostname(const char *hostname)
{
	return sethostname(hostname, strlen(hostname));
}

/* Step 7: config.json's domainname (the NIS domain), in the UTS namespace too. */
int set_domainname(const char *domainname)
{
	return setdomainname(domainname, strlen(domainname));
}

/* ---- step 7: namespaces of a config.json: new, or joined by path --------------------------- */

/* namespaces(7): the clone(2) and setns(2) flag of each type of config.json. */
static const int namespace_flags[NS_TYPES] = {
	[NS_PID] = CLONE_NEWPID, [NS_NETWORK] = CLONE_NEWNET, [NS_MOUNT] = CLONE_NEWNS,
	[NS_IPC] = CLONE_NEWIPC, [NS_UTS] = CLONE_NEWUTS, [NS_USER] = CLONE_NEWUSER,
	[NS_CGROUP] = CLONE_NEWCGROUP, [NS_TIME] = CLONE_NEWTIME,
};

int namespace_flag(enum oci_namespace_type type)
{
	return namespace_flags[type];
}

/*
 * setns(2) into the namespace at path (a /proc/PID/ns/ file, or a bind
 * mount of one such as /run/netns/NAME), checking it is of the type asked:
 * the flag makes setns refuse a file of another type (EINVAL).
 */
static int join_one(const char *path, int flag)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = setns(fd, flag);
	close(fd);
	return ret;
}

/*
 * In the child, before it sets anything up: join the namespaces the config
 * names by path. The pid namespace is not here: setns(2) with CLONE_NEWPID
 * moves only the caller's future children, so the runtime joins it before
 * clone (join_pid_namespace). A user namespace is not joined by path at all
 * (oci_to_spec refuses it): the namespaces made by clone would belong to
 * the host's user namespace, not to it.
 */
int join_namespaces(const struct container_spec *spec, struct failure *f)
{
	for (int type = 0; type < NS_TYPES; type++) {
		if (!spec->join[type] || type == NS_PID)
			continue;
		if (join_one(spec->join[type], namespace_flags[type]) < 0)
			return failed(f, "join the %s namespace %s (linux.namespaces)", oci_namespace_name(type),
				      spec->join[type]);
	}
	return 0;
}

/* In the runtime, right before clone: the child will be born in this pid namespace. */
int join_pid_namespace(const struct container_spec *spec, struct failure *f)
{
	if (spec->join[NS_PID] && join_one(spec->join[NS_PID], CLONE_NEWPID) < 0)
		return failed(f, "join the pid namespace %s (linux.namespaces)", spec->join[NS_PID]);
	return 0;
}

/*
 * And right after: our later children (hooks, ps, a leak checker's thread)
 * are born in our own pid namespace again: /proc/self/ns/pid is the one
 * we are in, which setns(2) may always take back.
 */
int leave_pid_namespace(void)
{
	return join_one("/proc/self/ns/pid", CLONE_NEWPID);
}

/*
 * A new network namespace has one interface, lo, and it is down. Bring it
 * up with the SIOCSIFFLAGS ioctl of netdevice(7), so that 127.0.0.1 works.
 */
int bring_up_loopback(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = -1;

	if (fd < 0)
		return -1;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return ret;
}

/* "100000:65536" -> { 100000, 65536 }; nothing else may follow. */
int parse_id_range(const char *text, struct id_range *range)
{
	unsigned long host, count;
	char *end;

	errno = 0;
	host = strtoul(text, &end, 10);
	if (errno || end == text || *end != ':' || host > UINT_MAX)
		goto bad;
	text = end + 1;
	count = strtoul(text, &end, 10);
	if (errno || end == text || *end != '\0' || count > UINT_MAX || text[0] == '-')
		goto bad;
	range->host = (unsigned int)host;
	range->count = (unsigned int)count;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/*
 * A range is usable if it is not empty, does not include host root (then
 * root inside would be root outside, which is what --userns is to avoid)
 * and does not run past the largest id.
 */
int check_id_range(const struct id_range *range)
{
	if (range->count == 0 || range->host == 0 ||
	    (unsigned long long)range->host + range->count - 1 > UINT_MAX - 1) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* subuid(5): lines "user:start:count"; find user's first range. ENOENT if none. */
int find_subid_range(FILE *file, const char *user, struct id_range *range)
{
	char line[256];
	size_t len = strlen(user);

	while (fgets(line, sizeof(line), file)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, user, len) == 0 && line[len] == ':')
			return parse_id_range(line + len + 1, range);
	}
	errno = ENOENT;
	return -1;
}

/* Root's range from /etc/subuid (or subgid), or the default if the file has none. */
static int lookup_range(const char *path, struct id_range *range)
{
	FILE *file = fopen(path, "re");
	int ret;

	*range = (struct id_range){ DEFAULT_SUBID_START, DEFAULT_SUBID_COUNT };
	if (!file)
		return errno == ENOENT ? 0 : -1;
	ret = find_subid_range(file, "root", range);
	fclose(file);
	if (ret < 0 && errno == ENOENT)
		return 0;	/* no line for root: the default stands */
	return ret;
}

/* Fill in the ranges --userns did not give from /etc/subuid and /etc/subgid. */
int lookup_userns_ranges(struct container_spec *spec, struct failure *f)
{
	if (spec->userns_given)
		return 0;
	if (lookup_range(subuid_path, &spec->uids) < 0)
		return failed(f, "--userns: read %s", subuid_path);
	if (lookup_range(subgid_path, &spec->gids) < 0)
		return failed(f, "--userns: read %s", subgid_path);
	return 0;
}

/* Step 7: the lines of one map, "inside outside count" each, from config.json's list. */
static int format_id_map(const struct oci_id_mapping *m, size_t n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (format_into(buf + len, size - len, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size) < 0)
			return -1;
		len += strlen(buf + len);
	}
	return 0;
}

/* [exercise] */
/*
 * user_namespaces(7): a new user namespace starts with no ids mapped; the
 * parent, outside it, writes /proc/PID/uid_map and gid_map once each, as
 * "inside outside count" lines (format_id_map). box run's --userns gives one
 * line, root inside (0) is spec->uids.host outside; a config.json may give
 * several. An unprivileged writer must first write "deny" to
 * /proc/PID/setgroups before gid_map; box is root outside (CAP_SETGID), so
 * it may leave setgroups allowed and root inside can still use setgroups(2).
 */
int write_id_maps(pid_t pid, const struct container_spec *spec)
{
	char path[64], map[ID_MAP_MAX];

	if (format_into(path, sizeof(path), "/proc/%d/uid_map", (int)pid) < 0 ||
	    format_id_map(spec->uid_mappings, spec->n_uid_mappings, map, sizeof(map)) < 0 ||
	    write_file(path, map) < 0)
		return -1;
	if (format_into(path, sizeof(path), "/proc/%d/gid_map", (int)pid) < 0 ||
	    format_id_map(spec->gid_mappings, spec->n_gid_mappings, map, sizeof(map)) < 0)
		return -1;
	return write_file(path, map);
}

/*
 * After clone(CLONE_NEWUSER) we still run with box's host ids, which mean
 * nothing inside (they show as 65534, the overflow id). Switch to the ids
 * that map to root inside, and drop the host's supplementary groups.
 */
int become_userns_root(void)
{
	if (setgroups(0, NULL) < 0)
		return -1;
	if (setresgid(0, 0, 0) < 0)
		return -1;
	return setresuid(0, 0, 0);
}

/*
 * linux.sysctl: kernel settings of the container's own namespaces
 * ("net.ipv4.ip_unprivileged_port_start" is per network namespace),
 * written under /proc/sys after pivot_root, where /proc is the
 * container's. oci.c refused those that are not per namespace.
 */
int write_sysctls(const struct container_spec *spec, struct failure *f)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < spec->n_sysctl; i++) {
		const struct oci_key_value *kv = &spec->sysctl[i];

		if (format_into(path, sizeof(path), "/proc/sys/%s", kv->key) < 0)
			return failed(f, "linux.sysctl %s", kv->key);
		for (char *p = path + strlen("/proc/sys/"); *p; p++) {
			if (*p == '.')
				*p = '/';	/* sysctl(8): net.ipv4.x is net/ipv4/x */
		}
		if (write_file(path, kv->value) < 0)
			return failed(f, "set linux.sysctl %s to \"%s\"", kv->key, kv->value);
	}
	return 0;
}
