/*
 * oci.h - config.json, as plain C structs.
 *
 * The OCI runtime specification (github.com/opencontainers/runtime-spec,
 * config.md and config-linux.md, versions 1.0 to 1.2) describes a container
 * as one JSON file. oci.c reads it into these structs; they are what a run
 * needs, so they become the stage's additions to struct container_spec.
 *
 * Ownership is plain: every pointer in a struct oci_config points to memory
 * that oci_free() frees (strings from strdup, arrays from calloc), and every
 * array comes with its count. A zeroed struct is empty and valid to free.
 */
#ifndef BOX_OCI_H
#define BOX_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* config-linux.md "Namespaces": the types a namespace entry may have. */
enum oci_namespace_type {
	NS_PID, NS_NETWORK, NS_MOUNT, NS_IPC, NS_UTS, NS_USER, NS_CGROUP, NS_TIME,
	NS_TYPES
};

struct oci_namespace {
	enum oci_namespace_type type;
	char *path;			/* join this one (setns(2)); NULL: create a new one */
};

/* config-linux.md "User namespace mappings": one line of /proc/PID/uid_map. */
struct oci_id_mapping {
	uint32_t container_id, host_id, size;
};

/* config.md "process.capabilities": five sets, as bit masks (bit N = capability N, capabilities(7)). */
enum oci_cap_set { CAPS_BOUNDING, CAPS_EFFECTIVE, CAPS_INHERITABLE, CAPS_PERMITTED, CAPS_AMBIENT, CAP_SETS };

/* config.md "POSIX process": process.user. */
struct oci_user {
	uint32_t uid, gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
};

/* config.md "process.rlimits": setrlimit(2) resource, limits as given (RLIM_INFINITY is UINT64_MAX). */
struct oci_rlimit {
	int resource;			/* RLIMIT_NOFILE, ... */
	char *type;			/* "RLIMIT_NOFILE", kept for messages */
	uint64_t soft, hard;
};

/* config.md "process": the command, its user, and what it may do. */
struct oci_process {
	bool terminal;
	bool has_console_size;
	unsigned int console_height, console_width;
	struct oci_user user;
	char **args;
	size_t n_args;
	char **env;
	size_t n_env;
	char *cwd;
	bool has_caps;			/* no process.capabilities at all: box grants none */
	bool cap_set_given[CAP_SETS];
	uint64_t caps[CAP_SETS];
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *apparmor_profile;		/* kept only to refuse or warn: box applies neither */
	char *selinux_label;
};

/* config.md "root". */
struct oci_root {
	char *path;			/* relative paths are relative to the bundle */
	bool readonly;
};

/*
 * A mount's "options", taken apart (mount-options.c): what mount(2) takes
 * as flags and data, what a second mount(2) call sets as propagation
 * (mount_namespaces(7)), and what mount_setattr(2) applies recursively.
 */
struct mount_options {
	unsigned long flags;		/* MS_* to set: MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, ... */
	unsigned long cleared;		/* MS_* an option asked to clear ("rw", "suid", ...) */
	unsigned long propagation;	/* 0, or MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE (| MS_REC) */
	uint64_t attr_set, attr_clr;	/* MOUNT_ATTR_* for "rro", "rnosuid", ... (recursive) */
	char *data;			/* the rest, comma-joined: "mode=755,size=65536k"; NULL if none */
	bool tmpcopyup;			/* runc extension: copy the old directory into the new tmpfs */
};

/* config.md "Mounts". */
struct oci_mount {
	char *destination, *type, *source;
	char **options;
	size_t n_options;
	struct mount_options parsed;
};

/* config.md "POSIX-platform Hooks". */
enum oci_hook_kind {
	HOOK_PRESTART, HOOK_CREATE_RUNTIME, HOOK_CREATE_CONTAINER, HOOK_START_CONTAINER,
	HOOK_POSTSTART, HOOK_POSTSTOP, HOOK_KINDS
};

struct oci_hook {
	char *path;
	char **args;			/* args[0] is argv[0], which need not be path */
	size_t n_args;
	char **env;
	size_t n_env;
	int timeout;			/* seconds; 0: none given */
};

struct oci_hooks {
	struct oci_hook *list[HOOK_KINDS];
	size_t n[HOOK_KINDS];
};

/* config-linux.md "Allowed Device Listing": one rule of the device cgroup. */
struct oci_device_rule {
	bool allow;
	char type;			/* 'a' (all), 'c', 'b' */
	int64_t major, minor;		/* -1: any */
	char access[4];			/* some of "rwm" */
};

/*
 * config-linux.md "Control groups" resources box applies. 0 means "not set"
 * for every number (docker sends "shares": 0 and "weight": 0 meaning so);
 * -1 means "unlimited" where the spec allows it.
 */
struct oci_resources {
	int64_t memory_limit, memory_reservation, memory_swap;
	uint64_t cpu_shares;
	int64_t cpu_quota;
	uint64_t cpu_period;
	char *cpu_cpus, *cpu_mems;	/* cpuset lists like "0-3,7"; NULL if not set */
	int64_t pids_limit;
	uint16_t blkio_weight;
	struct oci_device_rule *devices;
	size_t n_devices;
};

/* config-linux.md "Seccomp": the actions and comparison operators of seccomp(2) filters. */
enum oci_seccomp_action {
	OCI_ACT_KILL, OCI_ACT_KILL_PROCESS, OCI_ACT_KILL_THREAD, OCI_ACT_TRAP, OCI_ACT_ERRNO,
	OCI_ACT_TRACE, OCI_ACT_ALLOW, OCI_ACT_LOG, OCI_ACT_NOTIFY
};
enum oci_seccomp_op {
	OCI_OP_NE, OCI_OP_LT, OCI_OP_LE, OCI_OP_EQ, OCI_OP_GE, OCI_OP_GT, OCI_OP_MASKED_EQ
};

struct oci_seccomp_arg {
	unsigned int index;		/* which argument, 0-5 */
	uint64_t value, value_two;	/* MASKED_EQ: (arg & value) == value_two */
	enum oci_seccomp_op op;
};

struct oci_seccomp_rule {
	char **names;
	size_t n_names;
	enum oci_seccomp_action action;
	bool has_errno;
	unsigned int errno_ret;		/* ERRNO and TRACE: the value; EPERM when not given */
	struct oci_seccomp_arg *args;
	size_t n_args;
};

/* linux.seccomp.flags, as the SECCOMP_FILTER_FLAG_* bits of seccomp(2). */
enum {
	OCI_SECCOMP_FLAG_TSYNC = 1 << 0,
	OCI_SECCOMP_FLAG_LOG = 1 << 1,
	OCI_SECCOMP_FLAG_SPEC_ALLOW = 1 << 2,
};

struct oci_seccomp {
	enum oci_seccomp_action default_action;
	bool has_default_errno;
	unsigned int default_errno;
	char **architectures;		/* "SCMP_ARCH_X86_64", ... (checked by oci.c) */
	size_t n_architectures;
	unsigned int flags;		/* OCI_SECCOMP_FLAG_* */
	struct oci_seccomp_rule *rules;
	size_t n_rules;
};

/* config-linux.md "Devices": a node to create in the container's /dev. */
struct oci_linux_device {
	char type;			/* 'c', 'b', 'u', 'p' */
	char *path;
	int64_t major, minor;
	bool has_file_mode, has_uid, has_gid;
	uint32_t file_mode, uid, gid;
};

struct oci_key_value {
	char *key, *value;
};

/* config-linux.md: the "linux" object. */
struct oci_linux {
	struct oci_namespace *namespaces;
	size_t n_namespaces;
	struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	bool has_resources;
	struct oci_resources resources;
	char *cgroups_path;
	struct oci_key_value *sysctl;
	size_t n_sysctl;
	bool has_seccomp;
	struct oci_seccomp seccomp;
	char **masked_paths, **readonly_paths;
	size_t n_masked_paths, n_readonly_paths;
	unsigned long rootfs_propagation;	/* MS_* like mount options; 0: not given */
	char *mount_label;
	struct oci_linux_device *devices;
	size_t n_devices;
};

/* The whole config.json. */
struct oci_config {
	char *oci_version;
	bool has_process;
	struct oci_process process;
	struct oci_root root;
	char *hostname, *domainname;
	struct oci_mount *mounts;
	size_t n_mounts;
	struct oci_hooks hooks;
	struct oci_key_value *annotations;
	size_t n_annotations;
	struct oci_linux lin;		/* "linux" (a predefined macro in GNU C modes) */
	char **warnings;		/* what box skipped and the caller should print */
	size_t n_warnings;
};

#endif
