/*
 * engine.h - final: the engine's records (container.c), the launch of a
 * detached container and its monitor (launch.c), the commands (engine.c).
 */
#ifndef BOX_ENGINE_H
#define BOX_ENGINE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "box.h"

enum {
	LONG_ID_LEN = 64,	/* hex digits of a container's id; shown as 12 */
	CONTAINER_NAME_MAX = 128,
	STOP_TIMEOUT_DEFAULT = 10,	/* seconds box stop waits before SIGKILL (docker's) */
	LOG_MAX_SIZE_DEFAULT = 10 * 1024 * 1024,	/* bytes before the log rotates */
	LOG_MAX_FILES_DEFAULT = 3,
};

/* One container's record (container.c). */
struct container {
	char id[LONG_ID_LEN + 1];
	char name[CONTAINER_NAME_MAX];
	char dir[PATH_MAX];	/* <root>/containers/<id> */
	json_t *config;		/* config.json: fixed at create */
	json_t *state;		/* state.json: Status, Pid, MonitorPid, MonitorStart, StartedAt, ... */
};

bool is_container_name(const char *name);
int container_create(const char *root, const char *name, const char *image, int nwords, char **words,
		     const struct run_flags *flags, struct container *c, struct failure *f);
int container_load(const char *root, const char *id, struct container *c);
int container_find(const char *root, const char *text, struct container *c, struct failure *f);
int container_list(const char *root, char (**ids)[LONG_ID_LEN + 1], size_t *n);
int container_file(const struct container *c, const char *file, char *buf, size_t size);
int container_save_state(struct container *c);
int container_reload_state(struct container *c);
int container_lock(const struct container *c);
int container_destroy(const char *root, struct container *c);
void container_free(struct container *c);

/* launch.c: start a container under a monitor; what box run -d and box start do. */
struct launch {
	const struct container *record;
	int report_fd;		/* to the box that waits: errors, then end of file once the monitor runs */
	int stdout_fd, stderr_fd, stdin_fd;	/* the monitor's ends of the pipes; -1: none */
	int attach_fd;		/* a socket box bound and listens on for run -it / start -a; -1: none */
	const char *box_root, *box_state;
};

int launch_container(struct command_line *cl, struct container *c, bool attach, bool print_id);
int launch_monitor(struct container_spec *spec, struct cgroup *cg, struct network *net, int dir_lock);
long long now_ns(void);
long long live_start_time(pid_t pid);

/* cp.c: box cp, every container path resolved inside its root */
int copy_path(int src_root, const char *src, int dest_root, const char *dest);
int copy_dir_contents(int src_root, const char *src, const char *dest_dir);

/* volume.c: named volumes */
int volume_path(const char *root, const char *name, char *buf, size_t size);
int volume_create(const char *root, const char *name, bool *made);
bool volume_in_use(const char *root, const char *name, char user[LONG_ID_LEN + 1]);
int volume_remove(const char *root, const char *name);
int volume_each(const char *root, int (*fn)(const char *root, const char *name, void *arg), void *arg);
int container_save_config(struct container *c);

/* stats.c: box stats, top, system df */
int print_stats(const struct container *cs, const pid_t *pids, size_t n);
int print_top(pid_t init);
char *read_whole(const char *path, char *buf, size_t size);
long long directory_size(const char *path);
int print_disk_usage(const char *root, size_t images, long long image_bytes, size_t containers, size_t running);

/* engine.c: a container's status, read from its record and /proc; helpers of the commands */
/* What a container is doing now: the record read against /proc (see the top of this file). */
struct status {
	const char *status;	/* docker's words: created, running, exited */
	pid_t pid;		/* the init, while running */
	int exit_code;
	long long started_ns, finished_ns;
	bool monitor_alive;	/* the monitor, or the cleanup it became, still runs */
};

void get_status(const struct container *c, struct status *s);
int wait_exited(struct container *c, int timeout, struct status *s);
int wait_monitor_gone(struct container *c, int timeout);
int find_or_fail(const struct command_line *cl, const char *text, struct container *c);
int getopt_start(void);
int bad_option(const char *verb, int argc, char **argv, int opt);
int rm_one(struct command_line *cl, struct container *c, long force);
int cleanup_container(const char *root, const char *state, struct container *c);

/* the commands that live beside their mechanism: enter.c, volume.c, stats.c */
int cmd_exec(struct command_line *cl);
int cmd_cp(struct command_line *cl);
int cmd_attach(struct command_line *cl);
int cmd_volume(struct command_line *cl);
int cmd_stats(struct command_line *cl);
int cmd_top(struct command_line *cl);
int cmd_port(struct command_line *cl);
int cmd_system(struct command_line *cl);

#endif
