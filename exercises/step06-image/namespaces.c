/*
 * namespaces.c - give the child its own view of the system (namespaces(7)).
 *
 * clone(2) with CLONE_NEW* flags creates the child in new namespaces: its
 * own process IDs, mount table, hostname, System V IPC and network stack,
 * and with --userns its own user and group IDs. Some things must be done
 * from outside (the id maps); the rest the child does to itself.
 */
#include <errno.h>
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
};

static const char subuid_path[] = "/etc/subuid";
static const char subgid_path[] = "/etc/subgid";

/*
 * The namespaces every container gets; CLONE_NEWUSER is added for --userns,
 * and CLONE_NEWNET unless --network host.
 * Only namespace flags: unlike step 2's, these carry no SIGCHLD, because
 * clone3(2) takes the exit signal in a field of its own (exit_signal).
 * clone_plain adds SIGCHLD itself; without it, waitpid(2) would not see the
 * child ("No child processes").
 */
static int clone_flags(const struct container_spec *spec)
{
	int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;

	if (spec->network != NETWORK_HOST)
		flags |= CLONE_NEWNET;	/* --network host: the host's own network stack */
	if (spec->userns)
		flags |= CLONE_NEWUSER;
	return flags;
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

/* [exercise] */
/*
 * user_namespaces(7): a new user namespace starts with no ids mapped; the
 * parent, outside it, writes /proc/PID/uid_map and gid_map once each, as
 * "inside outside count". Root inside (0) becomes spec->uids.host outside.
 * An unprivileged writer must first write "deny" to /proc/PID/setgroups
 * before gid_map; box is root outside (CAP_SETGID), so it may leave
 * setgroups allowed and root inside can still use setgroups(2).
 */
int write_id_maps(pid_t pid, const struct container_spec *spec)
{
	char path[64], map[64];

	if (format_into(path, sizeof(path), "/proc/%d/uid_map", (int)pid) < 0 ||
	    format_into(map, sizeof(map), "0 %u %u\n", spec->uids.host, spec->uids.count) < 0 ||
	    write_file(path, map) < 0)
		return -1;
	if (format_into(path, sizeof(path), "/proc/%d/gid_map", (int)pid) < 0 ||
	    format_into(map, sizeof(map), "0 %u %u\n", spec->gids.host, spec->gids.count) < 0)
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
