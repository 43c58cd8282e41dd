/*
 * box.h - what the files of this stage offer each other.
 *
 * Convention (see util.c): a function that can fail returns 0 or -1 with
 * errno set, and prints nothing; the caller that knows the context reports
 * the failure once, with fail(). Where only the function knows which path
 * failed, it notes that in a struct failure for its caller to report.
 */
#ifndef BOX_H
#define BOX_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "spec.h"

/*
 * What a step was doing when it failed ("mount /proc in /x"): noted with
 * failed() where the path is known, reported once by the caller that knows
 * whether and how to speak (fail("%s", f.what)).
 */
struct failure {
	char what[PATH_MAX + 256];
};

/* Exit statuses, as docker and the shell use them. */
enum {
	EXIT_BOX_ERROR = 125,	/* box itself failed */
	EXIT_CANNOT_EXEC = 126,	/* the command exists but cannot be executed */
	EXIT_NOT_FOUND = 127,	/* the command does not exist */
	EXIT_SIGNAL_BASE = 128,	/* killed by signal N: 128 + N */
};

/* box.c: the command line */
enum command { CMD_HELP, CMD_RUN, CMD_RUN_HELP, CMD_INFO, CMD_INFO_HELP, CMD_PRUNE, CMD_PRUNE_HELP };
struct command_line {
	enum command command;
	struct container_spec spec;
};
int parse_command_line(int argc, char *argv[], struct command_line *cl);

/* run.c: the parent side */
int run_container(struct container_spec *spec);
int exit_status_of(int wait_status);

/* child.c: the child side; sync_fd is the pipe the parent says "go" on */
_Noreturn void child_main(const struct container_spec *spec, int sync_fd);

/* namespaces.c: clone flags, hostname, loopback, user-namespace id maps, cgroup namespace */
pid_t clone_container(const struct container_spec *spec, int cgroup_fd, bool *in_cgroup);
int enter_cgroup_namespace(void);
int check_hostname(const char *hostname);
int parse_id_range(const char *text, struct id_range *range);
int find_subid_range(FILE *file, const char *user, struct id_range *range);
int check_id_range(const struct id_range *range);
int lookup_userns_ranges(struct container_spec *spec, struct failure *f);
int write_id_maps(pid_t pid, const struct container_spec *spec);
int become_userns_root(void);
int set_hostname(const char *hostname);
int bring_up_loopback(void);

/* rootfs.c: the mount namespace: new root, /proc, /dev, /sys */
int setup_rootfs(const struct container_spec *spec, struct failure *f);

/* overlay.c: the container's directory (parent side), its layers and volumes (child side) */
int container_dir_create(struct container_spec *spec, struct failure *f);
int container_dir_remove(const struct container_spec *spec, int lock, struct failure *f);
int remove_stale_containers(const char *box_root, bool also_kept, struct failure *f);
int check_upper_fs(const char *dir, bool userns, struct failure *f);
int setup_layers(const struct container_spec *spec, char *merged, size_t size, struct failure *f);
int make_root_read_only(void);
int parse_volume(const char *text, struct volume *v);
int parse_tmpfs(const char *text, struct tmpfs_mount *t);

/* cgroup.c: the container's control group, on cgroup v1, v2 or hybrid hosts (internals: cgroup.h) */
enum cgroup_mode { CGROUP_V1, CGROUP_V2, CGROUP_HYBRID };
enum { CGROUP_MAX_MOUNTS = 8 };

struct cgroup {
	enum cgroup_mode mode;
	const struct cgroup_driver *driver;	/* what differs between v1 and v2 */
	char id[CONTAINER_ID_LEN + 1];
	int nmounts;
	char mounts[CGROUP_MAX_MOUNTS][PATH_MAX];	/* hierarchies box uses: one on v2, several on v1 */
	char options[CGROUP_MAX_MOUNTS][256];	/* v1: the controllers of each, like "cpu,cpuacct" */
	int lock_fd;		/* our directory in mounts[0], flock(2)ed while we use it */
	int clone_fd;		/* v2: our directory, for clone3(CLONE_INTO_CGROUP); else -1 */
};

int cgroup_detect(enum cgroup_mode *mode);
const char *cgroup_mode_name(enum cgroup_mode mode);
int cgroup_create(struct cgroup *cg, const struct container_spec *spec, struct failure *f);
int cgroup_join(const struct cgroup *cg, pid_t pid);
int cgroup_oom_kills(const struct cgroup *cg, long long *kills);
int cgroup_remove(struct cgroup *cg, struct failure *f);
int cgroup_info(struct failure *f);
int cgroup_prune(struct failure *f);
int parse_memory(const char *text, long long *bytes);
int parse_cpus(const char *text, unsigned int *millis);
int parse_pids_limit(const char *text, long *max);

/* netlink.c: links, addresses and routes, asked of the kernel over rtnetlink (libmnl) */
enum {
	NL_BATCH_MAX = 8,		/* requests in one batch */
	NL_REQUEST_MAX = 512,		/* bytes of one request: names are short, the rest are numbers */
	NL_WHAT_MAX = 96,		/* "create veth vb-3f2a1c9d0e12" and the like */
};

struct mnl_socket;

/* An rtnetlink socket, and the sequence number of the last request sent on it. */
struct nl {
	struct mnl_socket *sock;
	unsigned int portid;	/* our address: the kernel answers to it */
	unsigned int seq;
};

/* One request of a batch: what it does (for errors), and what its answer says. */
struct nl_request {
	char what[NL_WHAT_MAX];
	int *index;		/* request_link_index: where the link's index goes */
	bool answered;		/* its ack has come */
	int error;		/* from the ack: 0, or an errno value */
};

/* Requests sent in one sendto(2) and acknowledged one by one (nl_batch_run). */
struct nl_batch {
	struct nl *nl;
	unsigned int first_seq;	/* request i has sequence number first_seq + i */
	int count;
	size_t len;		/* bytes of buf in use */
	struct nl_request requests[NL_BATCH_MAX];
	/* netlink(7): messages start on 4-byte boundaries (NLMSG_ALIGNTO) */
	alignas(uint32_t) char buf[NL_BATCH_MAX * NL_REQUEST_MAX];
};

int nl_open(struct nl *nl);
void nl_close(struct nl *nl);
void nl_batch_start(struct nl_batch *b, struct nl *nl);
int nl_batch_run(struct nl_batch *b, struct failure *f);
int request_bridge_create(struct nl_batch *b, const char *name);
int request_veth_create(struct nl_batch *b, const char *name, int master, const char *peer, int netns_fd);
int request_link_up(struct nl_batch *b, const char *name);
int request_link_master(struct nl_batch *b, const char *name, int master);
int request_link_delete(struct nl_batch *b, const char *name);
int request_link_index(struct nl_batch *b, const char *name, int *index);
int request_address_add(struct nl_batch *b, const char *name, int index, struct in_addr address, unsigned int prefix);
int request_default_route_add(struct nl_batch *b, int index, struct in_addr gateway);
int link_index(struct nl *nl, const char *name, int *index, struct failure *f);
int bridge_ensure(struct nl *nl, const char *name, struct in_addr address, unsigned int prefix, int *index,
		  struct failure *f);
int veth_name(const char *id, char *name, size_t size);
int veth_create(struct nl *nl, const char *name, int master, int netns_fd, struct failure *f);
int link_delete(struct nl *nl, const char *name, struct failure *f);
int configure_inside(struct in_addr address, unsigned int prefix, struct in_addr gateway, struct failure *f);
extern const char container_link[];

/* ipam.c: the subnet, and which container has which address (lease files, flock(2)) */
enum {
	SUBNET_MIN_PREFIX = 8,	/* 10.0.0.0/8: the largest private network */
	SUBNET_MAX_PREFIX = 30,	/* a /30 has one address left for a container: .1 is the gateway */
	SUBNET_TEXT_MAX = INET_ADDRSTRLEN + 3,	/* "255.255.255.255/32" */
};

/* An IPv4 network: 10.88.0.0/16 is { 10.88.0.0, 16 }; host bits are always zero. */
struct subnet {
	struct in_addr network;
	unsigned int prefix;
};

/* An address held by a container: the lease file stays open and locked while it lives. */
struct lease {
	struct in_addr address;
	int fd;			/* the lease file, flock(LOCK_EX)ed; -1 when none is held */
	char dir[PATH_MAX];	/* the leases directory, to release under its lock */
};

/* A lease file as found in the directory: whose it is, and whether its owner is gone. */
struct lease_info {
	struct in_addr address;
	char id[CONTAINER_ID_LEN + 1];
	bool stale;
};

int parse_subnet(const char *text, struct subnet *net, struct failure *f);
int format_subnet(const struct subnet *net, char *buf, size_t size);
struct in_addr subnet_gateway(const struct subnet *net);
uint32_t subnet_size(const struct subnet *net);
struct in_addr subnet_address(const struct subnet *net, uint32_t n);
int leases_open(const char *dir, int how, struct failure *f);
int lease_take(const char *dir, const struct subnet *net, const char *id, struct lease *lease, struct failure *f);
int lease_release(struct lease *lease, struct failure *f);
int lease_scan(int dir_fd, struct lease_info *out, size_t max, size_t *count);
int lease_list(const char *dir, struct lease_info *out, size_t max, size_t *count, struct failure *f);
int lease_reclaim_stale(const char *dir, size_t *reclaimed, struct failure *f);

/* nat.c: masquerade and published ports, in the nftables table "ip box" (libnftables) */
enum {
	PORT_MAP_TEXT_MAX = 64,		/* longest -p value box reads */
	NAT_COMMANDS_MAX = 16384,	/* nft commands for one container: a few lines per port */
};


/* An element of the map "ports": a published host port, and the container it leads to. */
struct published {
	int protocol;
	unsigned short port;
	char id[CONTAINER_ID_LEN + 1];
};

int parse_port_map(const char *text, struct port_map *map, struct failure *f);
const char *protocol_name(int protocol);
int check_port_maps(const struct port_map *ports, size_t n, struct failure *f);
int nat_table_commands(const char *bridge, const struct subnet *net, char *buf, size_t size);
int nat_publish_commands(const char *id, struct in_addr address, const struct port_map *ports, size_t n,
			 char *buf, size_t size);
int nat_unpublish_commands(const char *id, const struct published *list, size_t n, char *buf, size_t size);
int nat_enable_routing(const char *bridge, struct failure *f);
int nat_ensure(const char *bridge, const struct subnet *net, struct failure *f);
int nat_publish(const char *id, struct in_addr address, const struct port_map *ports, size_t n,
		struct failure *f);
int nat_unpublish(const char *id, struct failure *f);
int nat_list_ids(char ids[][CONTAINER_ID_LEN + 1], size_t max, size_t *count, struct failure *f);
int nat_remove_table(struct failure *f);

/* network.c: the plan of a container's network, and its undo */
struct network {
	struct subnet subnet;	/* box0's */
	struct lease lease;	/* the container's address; fd -1 when none is held */
	bool published;		/* -p ports are in the nftables map */
};

int parse_network_mode(const char *text, enum network_mode *mode);
int network_prepare(struct container_spec *spec, struct network *net, struct failure *f);
int network_attach(const struct container_spec *spec, struct network *net, pid_t pid, struct failure *f);
int network_inside(const struct container_spec *spec, struct failure *f);
int network_remove(const struct container_spec *spec, struct network *net, struct failure *f);
int network_remove_stale(const char *box_state, struct failure *f);
int network_prune(const char *box_state, bool *removed_bridge, struct failure *f);

/* util.c: reporting errors, writing files, locking directories */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int failed(struct failure *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int write_file(const char *path, const char *text);
int format_into(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int path_join(char *buf, size_t size, const char *dir, const char *name);
int make_path(const char *path);
int write_file_atomically(const char *path, const char *text);
int lock_fd(int fd, int how);
int lock_dir(const char *path, int how);
bool dir_in_use(const char *path);
bool is_container_id(const char *name);

#endif
