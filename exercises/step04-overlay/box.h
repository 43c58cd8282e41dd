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

/* util.c: reporting errors, writing files, locking directories */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int failed(struct failure *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int write_file(const char *path, const char *text);
int format_into(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int path_join(char *buf, size_t size, const char *dir, const char *name);
int make_path(const char *path);
int lock_fd(int fd, int how);
int lock_dir(const char *path, int how);
bool dir_in_use(const char *path);
bool is_container_id(const char *name);

#endif
