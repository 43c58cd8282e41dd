/*
 * spec.h - everything one container run needs.
 *
 * box.c fills it in from the command line; run.c and child.c only read it.
 * Each later stage adds the fields its mechanism needs.
 */
#ifndef BOX_SPEC_H
#define BOX_SPEC_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "oci.h"	/* step 7: config.json's structs */

enum {
	CONTAINER_ID_LEN = 12,	/* hex digits, like docker's short ids */
	MAX_LAYERS = 127,	/* --layer directories (docker's limit is about as many) */
	OVERLAY_OPTIONS_MAX = 4096,	/* mount(2) copies at most a page of options */
	MAX_VOLUMES = 32,	/* -v */
	MAX_TMPFS = 16,		/* --tmpfs */
	TMPFS_DATA_MAX = 64,	/* "size=64m,mode=1777" */
	MAX_PORTS = 32,		/* -p */
	MAX_VOLUMES_AND_FILES = MAX_VOLUMES + 3,	/* -v, and the network's /etc/hosts, hostname, resolv.conf */
	MAX_CAP_FLAGS = 64,	/* --cap-add, --cap-drop: there are about 41 capabilities */
};

/* --network: docker's default bridge, loopback only, or the host's own network. */
enum network_mode { NETWORK_BRIDGE, NETWORK_NONE, NETWORK_HOST };

/* -p [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]: a host port that leads to the container. */
struct port_map {
	struct in_addr host_ip;	/* INADDR_ANY: every local address of the host */
	unsigned short host_port;
	unsigned short container_port;
	int protocol;		/* IPPROTO_TCP or IPPROTO_UDP */
};

/* Host ids that a user namespace maps to ids 0..count-1 inside (user_namespaces(7)). */
struct id_range {
	unsigned int host;	/* first host id */
	unsigned int count;	/* how many ids */
};

/* -v HOST:CONTAINER[:ro]: a host directory or file, bind-mounted inside. */
struct volume {
	char source[PATH_MAX];	/* absolute path on the host */
	char destination[PATH_MAX];	/* absolute path inside the container */
	bool read_only;
	char volume_name[NAME_MAX + 1];	/* final: -v NAME:PATH, a named volume (volume.c); "" for a host path */
};

/* --tmpfs PATH[:OPTIONS]: a tmpfs of its own at PATH. */
struct tmpfs_mount {
	char destination[PATH_MAX];
	unsigned long flags;	/* MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_RDONLY */
	char data[TMPFS_DATA_MAX];	/* tmpfs(5) options: "size=64m,mode=1777" */
};

/*
 * --cap-add, --cap-drop, --privileged, --security-opt: how box run loosens
 * or tightens docker's default security profile (profile.c).
 */
struct security_flags {
	const char *cap_add[MAX_CAP_FLAGS], *cap_drop[MAX_CAP_FLAGS];	/* CHOWN, CAP_CHOWN, chown or ALL */
	size_t n_cap_add, n_cap_drop;
	bool privileged;	/* every capability, no seccomp filter, no masked paths, every device */
	bool no_new_privileges;	/* --security-opt no-new-privileges */
	bool seccomp_unconfined;	/* --security-opt seccomp=unconfined */
	const char *seccomp_file;	/* --security-opt seccomp=FILE: a linux.seccomp object */
};

struct cgroup;

struct container_spec {
	const char *rootfs;	/* the lowest read-only layer of the container's "/"; never written */
	char **argv;		/* the command to run inside, NULL-terminated */
	char id[CONTAINER_ID_LEN + 1];	/* random; names the container */
	const char *hostname;	/* --hostname; NULL means the id */
	const char *cidfile;	/* --cidfile: where to write the id, or NULL */
	bool userns;		/* --userns: root inside is an unprivileged id outside */
	bool userns_given;	/* --userns=UID:COUNT: ranges given, not looked up */
	struct id_range uids, gids;
	/* Resource limits, enforced by the container's cgroup; 0 means no limit. */
	long long memory_bytes;	/* -m/--memory */
	unsigned int cpu_millis;	/* --cpus, in thousandths of a CPU: 0.5 is 500 */
	long pids_max;		/* --pids-limit */
	/* The root file system: read-only layers under one writable layer (overlay.c). */
	const char *box_root;	/* --root or $BOX_ROOT: where box keeps containers' directories */
	char dir[PATH_MAX];	/* this container's directory: <box_root>/containers/<id> */
	const char *layers[MAX_LAYERS];	/* --layer: more read-only layers above rootfs, top first */
	int nlayers;
	struct volume volumes[MAX_VOLUMES_AND_FILES];	/* -v, then the files network.c writes */
	int nvolumes;
	struct tmpfs_mount tmpfs[MAX_TMPFS];	/* --tmpfs */
	int ntmpfs;
	bool read_only;		/* --read-only: "/" cannot be written */
	bool keep;		/* --keep: leave the container's directory for a look inside */
	/* final (box build): a RUN step's upper and work directories, which outlive the container
	   (the upper becomes a layer); <dir>/upper and <dir>/work are links to them. NULL: made in <dir>. */
	const char *upper_dir, *work_dir;
	/* The network (network.c, netlink.c, ipam.c, nat.c). */
	enum network_mode network;	/* --network */
	const char *box_state;	/* --state or $BOX_STATE: address leases; default /run/box */
	const char *subnet;	/* --subnet; NULL: 10.88.0.0/16 */
	struct port_map ports[MAX_PORTS];	/* -p */
	int nports;
	struct in_addr address;	/* bridge mode: the container's address, leased by run.c */
	struct in_addr gateway;	/* and the bridge's, its default route */
	unsigned int prefix;	/* of the subnet, e.g. 16 */
	/* From an image (image.c); all NULL when ROOTFS is a directory. */
	const char *image;	/* the image 'box run' names; its bottom layer becomes rootfs */
	char **env;		/* the image's Env, "NAME=value", NULL-terminated */
	const char *workdir;	/* the image's WorkingDir (absolute), made if missing */
	const char *user;	/* the image's User: "name", "uid", "uid:gid", "name:group" */
	struct security_flags security;	/* --cap-add, --cap-drop, --privileged, --security-opt */
	/*
	 * Step 7: what an OCI config.json describes (oci.h). oci_to_spec (oci.c)
	 * fills these from a bundle's config.json for box-oci, and box run first
	 * writes its flags above as such a config (run-config.c): one path, two
	 * faces. They point into the struct oci_config, which the caller keeps.
	 */
	const struct oci_config *config;	/* the whole of it: id-independent parts, annotations for hooks */
	const char *oci_id;	/* box-oci: the id the client chose (any length); NULL for box run */
	const char *bundle;	/* box-oci: the bundle directory; NULL for box run */
	char root_path[PATH_MAX];	/* the container's "/": root.path (absolute), or box run's overlay */
	const struct oci_process *process;	/* args, env, cwd, user, capabilities, rlimits, terminal, ... */
	const char *domainname;
	const struct oci_mount *mounts;	/* mounted in this order, inside the root */
	size_t n_mounts;
	int new_namespaces;	/* CLONE_NEW* flags of the namespaces to create */
	const char *join[NS_TYPES];	/* namespaces to join by path with setns(2); NULL: not joined */
	const struct oci_id_mapping *uid_mappings, *gid_mappings;	/* a new user namespace's maps */
	size_t n_uid_mappings, n_gid_mappings;
	char *const *masked_paths, *const *readonly_paths;	/* hidden, or read-only, after pivot_root */
	size_t n_masked_paths, n_readonly_paths;
	unsigned long rootfs_propagation;	/* MS_SHARED, ... for "/" after pivot_root; 0: private */
	const struct oci_linux_device *devices;	/* device nodes to make in /dev */
	size_t n_devices;
	const struct oci_key_value *sysctl;	/* written under /proc/sys inside */
	size_t n_sysctl;
	const struct oci_hooks *hooks;
	const struct oci_seccomp *seccomp;	/* the filter; NULL: none */
	const struct oci_resources *resources;	/* cgroup limits and device rules */
	const char *cgroups_path;	/* box-oci: an absolute cgroup path like /docker/ID; NULL: box/<id> */
	const struct cgroup *cgroup;	/* the container's cgroup, made before the child (for cgroup mounts) */
	/* How the face runs it. */
	bool die_with_parent;	/* box run: the container dies with box; box-oci's outlives create */
	bool no_new_keyring;	/* box-oci --no-new-keyring: keep the caller's session keyring */
	int preserve_fds;	/* box-oci --preserve-fds N: fds 3 .. 3+N-1 are passed on */
	int console_fd;	/* connected --console-socket, where the pty's master goes; -1: none */
	/* final: what the engine adds (engine.c, launch.c). */
	char **extra_env;	/* -e, --env-file: after the image's Env, so they win; NULL-terminated */
	const char *workdir_flag, *user_flag;	/* -w, -u: over the image's WorkingDir and User */
	const char *entrypoint_flag;	/* --entrypoint: replaces the image's (and its Cmd) */
	bool terminal;		/* -t: a pty for the container */
	bool init;		/* --init: box-init runs as PID 1, the command as its child (launch.c) */
	bool publish_all;	/* -P: the image's exposed ports, each on a free host port (image.c) */
	long long log_max_size;	/* --log-opt max-size=10m: the monitor rotates log.json there; 0: the default */
	int log_max_files;	/* --log-opt max-file=N */
	const char *add_hosts[16];	/* --add-host NAME:IP, more lines of /etc/hosts (network.c) */
	int nadd_hosts;
	const char *dns[8];	/* --dns IP: the nameservers of /etc/resolv.conf instead of the host's */
	int ndns;
	const struct launch *launch;	/* detached: a monitor waits, not box (launch.c); NULL: box waits */
	const char *exec_fifo;	/* box-oci: the init waits here for start; NULL: it execs at once */
};

#endif
