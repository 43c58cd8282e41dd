/*
 * engine.c - final: the docker-like commands on recorded containers.
 *
 *     box run [-d] [-i] [-t] [--rm] [--name NAME] ... IMAGE [CMD...]
 *     box create ... IMAGE [CMD...]     box start [-a] ID
 *     box ps [-a] [-q] [--format json]  box logs [-f] [--tail N] [-t] [--since T] ID
 *     box stop [-t SECONDS] ID...       box kill [-s SIGNAL] ID...
 *     box rm [-f] [-v] ID...            box inspect ID...      box wait ID...
 *     box version, box cleanup ID (what the monitor runs after the exit)
 *
 * and, beside their mechanisms: box exec, cp, attach (enter.c); box volume
 * (volume.c); box stats, top, port, system prune|df (stats.c).
 *
 * Nothing runs between commands: each reads the records (container.c),
 * and a detached container's monitor (launch.c, monitor.c) writes its exit.
 * What `box ps` says is decided here, from the record and /proc: a
 * container whose monitor is gone (killed with SIGKILL, say) has exited,
 * whatever state.json last said.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "engine.h"
#include "monitor.h"

enum {
	POLL_INTERVAL_NS = 20 * 1000 * 1000,	/* how often box stop, box rm, box wait look again */
	MONITOR_GONE_TIMEOUT_S = 30,	/* the cleanup after an exit takes well under a second */
	KILLED_EXIT_CODE = 137,		/* what docker reports when it finds a container killed: 128 + SIGKILL */
};

static int parse_signal(const char *text);

static const char *state_string(const struct container *c, const char *key)
{
	return json_string_value(json_object_get(c->state, key));
}

static long long state_int(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/* Is the monitor that state.json names still there: same pid, same start time (a pid can be reused)? */
static bool monitor_alive(const struct container *c)
{
	pid_t pid = (pid_t)state_int(c->state, "MonitorPid");

	return pid > 0 && live_start_time(pid) == state_int(c->state, "MonitorStart");
}

/* exit.json, written by the monitor: {"ExitCode":N,"FinishedAt":"..."}. */
static int read_exit_file(const struct container *c, int *code, long long *finished_ns)
{
	char path[PATH_MAX];
	struct timespec t;
	json_t *obj;

	if (container_file(c, "exit.json", path, sizeof(path)) < 0 || !(obj = json_load_file(path, 0, NULL)))
		return -1;
	*code = (int)state_int(obj, "ExitCode");
	*finished_ns = 0;
	if (parse_time(json_string_value(json_object_get(obj, "FinishedAt")) ?: "", &t) == 0)
		*finished_ns = (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
	json_decref(obj);
	return 0;
}

void get_status(const struct container *c, struct status *s)
{
	const char *st = state_string(c, "Status");

	memset(s, 0, sizeof(*s));
	s->status = st ? st : "created";
	s->started_ns = state_int(c->state, "StartedAt");
	s->finished_ns = state_int(c->state, "FinishedAt");
	s->exit_code = (int)state_int(c->state, "ExitCode");
	s->monitor_alive = monitor_alive(c);
	if (strcmp(s->status, "running") != 0)
		return;
	if (read_exit_file(c, &s->exit_code, &s->finished_ns) == 0) {
		s->status = "exited";
	} else if (!s->monitor_alive) {
		/* The monitor died without writing the exit: its container died with it (PR_SET_PDEATHSIG). */
		s->status = "exited";
		s->exit_code = KILLED_EXIT_CODE;
	} else {
		s->pid = (pid_t)state_int(c->state, "Pid");
	}
}

/* ---- small helpers of the commands ---------------------------------------------------------- */

/* --help or -h among the flags, before the first other word: "box exec c ls --help" is ls's. */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
		if (strcmp(argv[i], "--") == 0)
			return false;
	}
	return false;
}

static void sleep_ns(long ns)
{
	struct timespec t = { .tv_sec = 0, .tv_nsec = ns };

	nanosleep(&t, NULL);
}

/* Wait until the monitor and its cleanup are gone (or timeout seconds pass). */
int wait_monitor_gone(struct container *c, int timeout)
{
	long long deadline = now_ns() + (long long)timeout * 1000000000LL;

	if (container_reload_state(c) < 0)
		return 0;	/* removed already (--rm) */
	while (monitor_alive(c)) {
		if (now_ns() > deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		sleep_ns(POLL_INTERVAL_NS);
	}
	return 0;
}

/* Wait until the container has exited, up to timeout seconds (< 0: for ever). 0 once it has. */
int wait_exited(struct container *c, int timeout, struct status *s)
{
	long long deadline = now_ns() + (long long)timeout * 1000000000LL;

	for (;;) {
		get_status(c, s);
		if (strcmp(s->status, "running") != 0)
			return 0;
		if (timeout >= 0 && now_ns() > deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		sleep_ns(POLL_INTERVAL_NS);
	}
}

/* docker's "5 seconds ago", "About a minute ago", "2 hours ago". */
static void human_ago(long long then_ns, char *buf, size_t size)
{
	long long s = (now_ns() - then_ns) / 1000000000LL;

	if (s < 1)
		snprintf(buf, size, "Less than a second");
	else if (s < 60)
		snprintf(buf, size, "%lld second%s", s, s == 1 ? "" : "s");
	else if (s < 120)
		snprintf(buf, size, "About a minute");
	else if (s < 3600)
		snprintf(buf, size, "%lld minutes", s / 60);
	else if (s < 7200)
		snprintf(buf, size, "About an hour");
	else
		snprintf(buf, size, "%lld hours", s / 3600);
}

/* RFC 3339 with nanoseconds, as docker's inspect shows times. */
static void rfc3339(long long ns, char buf[LOG_TIME_MAX])
{
	struct timespec t = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };

	if (ns <= 0 || format_time(&t, false, buf) < 0)
		snprintf(buf, LOG_TIME_MAX, "0001-01-01T00:00:00Z");
}

/* The command as docker's ps shows it: the run's words after the image. */
static void command_text(const struct container *c, char *buf, size_t size)
{
	json_t *args = json_object_get(c->config, "Args"), *word;
	const char *image = json_string_value(json_object_get(c->config, "Image"));
	bool after_image = false;
	size_t i, len = 0;

	buf[0] = '\0';
	json_array_foreach(args, i, word) {
		const char *w = json_string_value(word);

		if (after_image && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " " : "", w);
		if (!after_image && image && strcmp(w, image) == 0)
			after_image = true;
	}
}

/* ---- box run, box create, box start --------------------------------------------------------- */

/* -e NAME=value, -e NAME (the host's value), --env-file FILE (lines NAME=value; # comments). */
static int collect_env(struct command_line *cl)
{
	static char *env[MAX_ENV_FLAGS * 2 + 1];
	static char lines[MAX_ENV_FLAGS][1024];
	size_t n = 0, nlines = 0;

	for (size_t i = 0; i < cl->run.nenv_files; i++) {
		FILE *file = fopen(cl->run.env_files[i], "re");

		if (!file)
			return fail("run: --env-file %s", cl->run.env_files[i]);
		while (nlines < MAX_ENV_FLAGS && fgets(lines[nlines], sizeof(lines[0]), file)) {
			char *line = lines[nlines];

			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] && line[0] != '#' && strchr(line, '=') && line[0] != '=') {
				env[n++] = line;
				nlines++;
			}
		}
		fclose(file);
	}
	for (size_t i = 0; i < cl->run.nenv; i++) {
		char *value = strchr(cl->run.env[i], '=');

		if (value) {
			env[n++] = cl->run.env[i];
		} else if (getenv(cl->run.env[i]) && nlines < MAX_ENV_FLAGS) {
			snprintf(lines[nlines], sizeof(lines[0]), "%s=%s", cl->run.env[i], getenv(cl->run.env[i]));
			env[n++] = lines[nlines++];
		}
	}
	env[n] = NULL;
	cl->spec.extra_env = env;
	return 0;
}

/* The run's words after "run" or "create", without the flags that only concern this one call. */
static const char *image_word(const struct command_line *cl)
{
	return cl->spec.image ? cl->spec.image : cl->spec.rootfs;
}

/* The named volumes the container uses, in its record: box volume rm refuses them while it exists. */
static int record_volumes(const struct command_line *cl, struct container *c)
{
	json_t *names = json_array();

	for (int i = 0; i < cl->spec.nvolumes; i++) {
		if (cl->spec.volumes[i].volume_name[0])
			json_array_append_new(names, json_string(cl->spec.volumes[i].volume_name));
	}
	json_object_set_new(c->config, "Volumes", names);
	return container_save_config(c);
}

/* box run with an engine flag, or box create: a record, then (run) a start. */
static int create_and_maybe_start(struct command_line *cl, bool start)
{
	struct container c;
	struct failure f;
	bool attach = start && !cl->run.detach;
	char stop_signal[32] = "";
	int status;

	if (collect_env(cl) < 0)
		return EXIT_BOX_ERROR;
	if (cl->run.stop_signal && parse_signal(cl->run.stop_signal) < 0)
		return fail_msg("run: --stop-signal %s: not a signal (TERM, SIGUSR1, 10, ...)", cl->run.stop_signal),
		       EXIT_BOX_ERROR;
	if (cl->spec.image &&
	    image_ensure(cl->spec.box_root, cl->spec.image, &cl->pull, stop_signal, sizeof(stop_signal)) < 0)
		return EXIT_BOX_ERROR;
	cl->pull.policy = "missing";	/* pulled, if needed, now: the launcher only finds it */
	if (container_create(cl->spec.box_root, cl->run.name, image_word(cl), cl->argc - 1, cl->argv + 1, &cl->run,
			     &c, &f) < 0)
		return fail("%s", f.what), EXIT_BOX_ERROR;
	json_object_set_new(c.config, "StopSignal", json_string(cl->run.stop_signal ? cl->run.stop_signal : stop_signal));
	if (record_volumes(cl, &c) < 0) {
		container_destroy(cl->spec.box_root, &c);
		container_free(&c);
		return fail("write the record of %.12s", c.id), EXIT_BOX_ERROR;
	}
	if (!start) {
		printf("%s\n", c.id);
		container_free(&c);
		return 0;
	}
	status = launch_container(cl, &c, attach, !attach);
	if (status < 0) {
		container_destroy(cl->spec.box_root, &c);
		container_free(&c);
		return EXIT_BOX_ERROR;
	}
	/* In the foreground (docker run without -d), return once the cleanup (and --rm) is done. */
	if (attach)
		wait_monitor_gone(&c, MONITOR_GONE_TIMEOUT_S);
	container_free(&c);
	return status;
}

int engine_run(struct command_line *cl)
{
	if (cl->run.tty && !isatty(0) && !cl->run.detach)
		return fail_msg("run: -t: the input device is not a TTY"), EXIT_BOX_ERROR;
	return create_and_maybe_start(cl, true);
}

/* box start: parse the recorded words again, as box run parsed them, and launch. */
static int start_one(const struct command_line *outer, struct container *c, bool attach)
{
	json_t *args = json_object_get(c->config, "Args"), *word;
	size_t n = json_array_size(args), i;
	char **argv = calloc(n + 7, sizeof(*argv));	/* and a NULL at the end, as execv(3) wants */
	struct command_line cl;
	struct status s;
	int ret = -1;

	get_status(c, &s);
	if (strcmp(s.status, "running") == 0) {
		free(argv);
		return fail_msg("start: container %.12s is running already", c->id);
	}
	if (!argv)
		return fail("start");
	argv[0] = "box";
	argv[1] = "--root";
	argv[2] = (char *)outer->spec.box_root;
	argv[3] = "--state";
	argv[4] = (char *)outer->spec.box_state;
	argv[5] = "run";
	json_array_foreach(args, i, word)
		argv[6 + i] = (char *)json_string_value(word);
	if (parse_command_line((int)n + 6, argv, &cl) == 0 && collect_env(&cl) == 0) {
		cl.pull.out = stderr;
		if (!attach)
			cl.run.interactive = false;	/* no one to give it input */
		ret = launch_container(&cl, c, attach, false);
	}
	free(argv);
	return ret;
}

/* ---- the commands: each parses its flags, then acts on its containers ------------------------ */

typedef int (*command_fn)(struct command_line *cl);

int find_or_fail(const struct command_line *cl, const char *text, struct container *c)
{
	struct failure f;

	if (container_find(cl->spec.box_root, text, c, &f) < 0)
		return fail_msg("%s", f.what);
	return 0;
}

/* Parse flags with getopt_long; shared by the verbs below. */
struct flags {
	const char *short_opts;
	const struct option *long_opts;
};

int getopt_start(void)
{
	optind = 0;
	opterr = 0;
	return 0;
}

int bad_option(const char *verb, int argc, char **argv, int opt)
{
	const char *word = optind - 1 < argc ? argv[optind - 1] : "?";

	if (opt == ':')
		return fail_msg("%s: flag %s needs a value (see 'box %s --help')", verb, word, verb);
	return fail_msg("%s: unknown flag %s (see 'box %s --help')", verb, word, verb);
}

static int cmd_start(struct command_line *cl)
{
	static const struct option opts[] = { { "attach", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
	bool attach = false;
	int opt, status = 0;

	getopt_start();
	while ((opt = getopt_long(cl->argc, cl->argv, "+:a", opts, NULL)) != -1) {
		if (opt != 'a')
			return bad_option("start", cl->argc, cl->argv, opt);
		attach = true;
	}
	if (optind >= cl->argc)
		return fail_msg("start: needs a container (see 'box start --help')");
	for (int i = optind; i < cl->argc; i++) {
		struct container c;
		int ret;

		if (find_or_fail(cl, cl->argv[i], &c) < 0)
			return -1;
		ret = start_one(cl, &c, attach);
		if (ret >= 0 && !attach)
			printf("%s\n", cl->argv[i]);
		else if (ret >= 0)
			status = ret;
		container_free(&c);
		if (ret < 0)
			return -1;
	}
	return status;
}

/* docker's columns: each as wide as its widest cell, three spaces apart (Go's tabwriter). */
enum { PS_COLUMNS = 7, PS_CELL = 128 };
struct table {
	char (*cells)[PS_COLUMNS][PS_CELL];
	size_t rows, cap;
};

static void table_add(struct table *t, const char *cells[PS_COLUMNS])
{
	if (t->rows == t->cap) {
		void *more = realloc(t->cells, (t->cap = t->cap ? 2 * t->cap : 16) * sizeof(*t->cells));

		if (!more)
			return;
		t->cells = more;
	}
	for (int i = 0; i < PS_COLUMNS; i++)
		snprintf(t->cells[t->rows][i], PS_CELL, "%s", cells[i]);
	t->rows++;
}

/* Characters, not bytes: "…" is three bytes of UTF-8 but one column. */
static size_t columns(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += ((unsigned char)*text & 0xc0) != 0x80;
	return n;
}

static void table_print(struct table *t)
{
	size_t width[PS_COLUMNS] = { 0 };

	for (size_t r = 0; r < t->rows; r++) {
		for (int i = 0; i < PS_COLUMNS; i++) {
			if (columns(t->cells[r][i]) > width[i])
				width[i] = columns(t->cells[r][i]);
		}
	}
	for (size_t r = 0; r < t->rows; r++) {
		for (int i = 0; i < PS_COLUMNS - 1; i++)
			printf("%s%*s", t->cells[r][i], (int)(width[i] - columns(t->cells[r][i]) + 3), "");
		printf("%s\n", t->cells[r][PS_COLUMNS - 1]);
	}
	free(t->cells);
}

/* One ps line: docker's columns. */
static void ps_line(struct table *t, const struct container *c, const struct status *s, bool json)
{
	char cmd[256], created[64], ago[64], state[128], id[16], quoted[260], ports[PS_CELL] = "";
	json_t *port;
	size_t i;
	const char *image = json_string_value(json_object_get(c->config, "Image"));

	command_text(c, cmd, sizeof(cmd));
	human_ago(state_int(c->config, "Created"), created, sizeof(created));
	if (strcmp(s->status, "running") == 0) {
		human_ago(s->started_ns, ago, sizeof(ago));
		snprintf(state, sizeof(state), "Up %s", ago);
	} else if (strcmp(s->status, "exited") == 0) {
		human_ago(s->finished_ns, ago, sizeof(ago));
		snprintf(state, sizeof(state), "Exited (%d) %s ago", s->exit_code, ago);
	} else {
		snprintf(state, sizeof(state), "Created");
	}
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", c->id, "Names", c->name, "Image",
				      image ? image : "", "Command", cmd, "CreatedAt", created, "State", s->status,
				      "Status", state, "Ports", "");
		char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(o);
		return;
	}
	snprintf(id, sizeof(id), "%.12s", c->id);
	if (strcmp(s->status, "running") == 0) {
		json_array_foreach(json_object_get(c->state, "Ports"), i, port) {
			size_t len = strlen(ports);

			snprintf(ports + len, sizeof(ports) - len, "%s%s", len ? ", " : "", json_string_value(port) ?: "");
		}
	}
	snprintf(quoted, sizeof(quoted), "\"%.20s%s\"", cmd, strlen(cmd) > 20 ? "…" : "");
	strcat(created, " ago");
	table_add(t, (const char *[PS_COLUMNS]){ id, image ? image : "", quoted, created, state, ports, c->name });
}

static int cmd_ps(struct command_line *cl)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { "quiet", no_argument, NULL, 'q' },
					       { "format", required_argument, NULL, 'F' }, { NULL, 0, NULL, 0 } };
	bool all = false, quiet = false, json = false;
	struct table table = { 0 };
	char (*ids)[LONG_ID_LEN + 1];
	size_t n;
	int opt;

	getopt_start();
	while ((opt = getopt_long(cl->argc, cl->argv, "+:aq", opts, NULL)) != -1) {
		if (opt == 'a')
			all = true;
		else if (opt == 'q')
			quiet = true;
		else if (opt == 'F' && strcmp(optarg, "json") == 0)
			json = true;
		else if (opt == 'F')
			return fail_msg("ps: --format %s: only json is known", optarg);
		else
			return bad_option("ps", cl->argc, cl->argv, opt);
	}
	if (container_list(cl->spec.box_root, &ids, &n) < 0)
		return fail("ps: list the containers in %s", cl->spec.box_root);
	if (!quiet && !json)
		table_add(&table, (const char *[PS_COLUMNS]){ "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
							     "PORTS", "NAMES" });
	for (size_t i = 0; i < n; i++) {
		struct container c;
		struct status s;

		if (container_load(cl->spec.box_root, ids[i], &c) < 0)
			continue;	/* removed while we looked */
		get_status(&c, &s);
		if (all || strcmp(s.status, "running") == 0) {
			if (quiet)
				printf("%.12s\n", c.id);
			else
				ps_line(&table, &c, &s, json);
		}
		container_free(&c);
	}
	free(ids);
	table_print(&table);
	return 0;
}

static int cmd_logs(struct command_line *cl)
{
	static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
					       { "tail", required_argument, NULL, 'n' },
					       { "timestamps", no_argument, NULL, 't' },
					       { "since", required_argument, NULL, 'S' }, { NULL, 0, NULL, 0 } };
	struct log_query q = { .tail = -1, .want = { true, true }, .out_fd = 1, .err_fd = 2 };
	char path[PATH_MAX], exit_path[PATH_MAX], *end;
	struct timespec now;
	struct container c;
	struct failure f;
	int opt, ret;

	getopt_start();
	while ((opt = getopt_long(cl->argc, cl->argv, "+:fn:t", opts, NULL)) != -1) {
		if (opt == 'f') {
			q.follow = true;
		} else if (opt == 't') {
			q.timestamps = true;
		} else if (opt == 'n') {
			q.tail = strcmp(optarg, "all") == 0 ? -1 : strtol(optarg, &end, 10);
			if (strcmp(optarg, "all") != 0 && (*end || end == optarg || q.tail < 0))
				return fail_msg("logs: --tail %s: expected a number or all", optarg);
		} else if (opt == 'S') {
			clock_gettime(CLOCK_REALTIME, &now);
			if (parse_since(optarg, &now, &q.since) < 0)
				return fail_msg("logs: --since %s: expected a time (RFC 3339, seconds) or a duration (10m)",
						optarg);
			q.since_set = true;
		} else {
			return bad_option("logs", cl->argc, cl->argv, opt);
		}
	}
	if (cl->argc - optind != 1)
		return fail_msg("logs: needs one container (see 'box logs --help')");
	if (find_or_fail(cl, cl->argv[optind], &c) < 0)
		return -1;
	container_file(&c, "log.json", path, sizeof(path));
	container_file(&c, "exit.json", exit_path, sizeof(exit_path));
	q.stop_file = exit_path;
	ret = logs_read(path, &q, &f);
	container_free(&c);
	if (ret < 0 && errno != ENOENT)
		return fail("logs: %s", f.what);
	return 0;
}

/* signal(7) names: KILL, SIGKILL, 9. */
static int parse_signal(const char *text)
{
	static const struct { const char *name; int sig; } names[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "WINCH", SIGWINCH },
	};
	char *end;
	long n = strtol(text, &end, 10);

	if (!*end && end != text)
		return n > 0 && n < NSIG ? (int)n : -1;
	if (strncmp(text, "SIG", 3) == 0)
		text += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(text, names[i].name) == 0)
			return names[i].sig;
	}
	return -1;
}

/* Signal the container's init, if it runs (the monitor watches: then the pid is still the init's). */
static int signal_container(struct container *c, int sig)
{
	struct status s;

	get_status(c, &s);
	if (strcmp(s.status, "running") != 0) {
		errno = ESRCH;
		return -1;
	}
	return kill(s.pid, sig);
}

/* The image's StopSignal, recorded at create; docker's default SIGTERM. */
static int stop_signal_of(const struct container *c)
{
	const char *text = json_string_value(json_object_get(c->config, "StopSignal"));
	int sig = text ? parse_signal(text) : -1;

	return sig > 0 ? sig : SIGTERM;
}

/* box stop: StopSignal, -t seconds, then SIGKILL; then wait for the exit. */
static int stop_container(struct container *c, int timeout)
{
	struct status s;

	if (signal_container(c, stop_signal_of(c)) < 0)
		return errno == ESRCH ? 0 : -1;
	if (wait_exited(c, timeout, &s) == 0)
		return 0;
	if (signal_container(c, SIGKILL) < 0 && errno != ESRCH)
		return -1;
	return wait_exited(c, MONITOR_GONE_TIMEOUT_S, &s);
}

/* For each container named from optind on: fn; the names printed as docker does, errors counted. */
static int each_container(struct command_line *cl, const char *verb, int (*fn)(struct command_line *, struct container *,
										    long), long arg)
{
	int failures = 0;

	if (optind >= cl->argc)
		return fail_msg("%s: needs at least one container (see 'box %s --help')", verb, verb);
	for (int i = optind; i < cl->argc; i++) {
		struct container c;

		if (find_or_fail(cl, cl->argv[i], &c) < 0) {
			failures++;
			continue;
		}
		if (fn(cl, &c, arg) < 0)
			failures++;
		else
			printf("%s\n", cl->argv[i]);
		container_free(&c);
	}
	return failures ? -1 : 0;
}

static int stop_one(struct command_line *cl, struct container *c, long timeout)
{
	(void)cl;
	if (stop_container(c, (int)timeout) < 0)
		return fail("stop %.12s", c->id);
	return 0;
}

static int cmd_stop(struct command_line *cl)
{
	static const struct option opts[] = { { "time", required_argument, NULL, 't' }, { NULL, 0, NULL, 0 } };
	long timeout = STOP_TIMEOUT_DEFAULT;
	char *end;
	int opt;

	getopt_start();
	while ((opt = getopt_long(cl->argc, cl->argv, "+:t:", opts, NULL)) != -1) {
		if (opt != 't')
			return bad_option("stop", cl->argc, cl->argv, opt);
		timeout = strtol(optarg, &end, 10);
		if (*end || end == optarg || timeout < 0 || timeout > 86400)
			return fail_msg("stop: -t %s: expected seconds, from 0 to 86400", optarg);
	}
	return each_container(cl, "stop", stop_one, timeout);
}

static int kill_one(struct command_line *cl, struct container *c, long sig)
{
	(void)cl;
	if (signal_container(c, (int)sig) < 0)
		return errno == ESRCH ? fail_msg("kill: container %.12s is not running", c->id)
				      : fail("kill %.12s", c->id);
	return 0;
}

static int cmd_kill(struct command_line *cl)
{
	static const struct option opts[] = { { "signal", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 } };
	int opt, sig = SIGKILL;

	getopt_start();
	while ((opt = getopt_long(cl->argc, cl->argv, "+:s:", opts, NULL)) != -1) {
		if (opt != 's')
			return bad_option("kill", cl->argc, cl->argv, opt);
		sig = parse_signal(optarg);
		if (sig < 0)
			return fail_msg("kill: -s %s: not a signal (KILL, SIGTERM, 15, ...)", optarg);
	}
	return each_container(cl, "kill", kill_one, sig);
}

/* Did the OOM killer strike in the container's cgroup? Read before the cleanup removes it (run.c's report_oom). */
static bool oom_killed(const struct container *c)
{
	char short_id[CONTAINER_ID_LEN + 1];
	long long kills = 0;
	struct cgroup cg;
	struct failure f;

	snprintf(short_id, sizeof(short_id), "%.*s", CONTAINER_ID_LEN, c->id);
	return cgroup_open_box(&cg, short_id, &f) == 0 && cgroup_oom_kills(&cg, &kills) == 0 && kills > 0;
}

/*
 * What a container's run leaves once its processes are gone: state.json
 * says exited, and its running parts go (overlay dir, cgroup, lease, nft
 * rules: what step 7's box prune removes for a dead box; the monitor held
 * their locks until now). With --rm the record goes too. The monitor execs
 * this as `box cleanup ID`; box rm and box system prune call it after a crash.
 */
int cleanup_container(const char *root, const char *state_dir, struct container *c)
{
	struct failure f;
	struct status s;
	int lock = container_lock(c), ret = 0;

	if (lock < 0)
		return fail("lock %s", c->dir);
	if (container_reload_state(c) == 0) {
		get_status(c, &s);
		if (strcmp(state_string(c, "Status") ?: "", "running") == 0 && strcmp(s.status, "exited") == 0) {
			json_object_set_new(c->state, "Status", json_string("exited"));
			json_object_set_new(c->state, "ExitCode", json_integer(s.exit_code));
			json_object_set_new(c->state, "FinishedAt", json_integer(s.finished_ns ? s.finished_ns : now_ns()));
			json_object_set_new(c->state, "OOMKilled", json_boolean(oom_killed(c)));
			if (container_save_state(c) < 0)
				ret = fail("write the state of %.12s", c->id);
		}
	}
	close(lock);
	if (remove_stale_containers(root, false, &f) < 0 || cgroup_prune(&f) < 0 ||
	    network_remove_stale(state_dir, &f) < 0)
		ret = fail("%s", f.what);
	if (json_is_true(json_object_get(c->config, "AutoRemove")) && container_destroy(root, c) < 0)
		ret = fail("remove %s", c->dir);
	return ret;
}

static int cmd_cleanup(struct command_line *cl)
{
	struct container c;
	int ret;

	if (cl->argc != 2 || container_load(cl->spec.box_root, cl->argv[1], &c) < 0)
		return fail_msg("cleanup: needs the long id of a container");
	ret = cleanup_container(cl->spec.box_root, cl->spec.box_state, &c);
	container_free(&c);
	return ret;
}

int rm_one(struct command_line *cl, struct container *c, long force)
{
	struct status s;

	get_status(c, &s);
	if (strcmp(s.status, "running") == 0 && !force)
		return fail_msg("rm: container %.12s is running: stop it first, or use rm -f", c->id);
	if (strcmp(s.status, "running") == 0 && signal_container(c, SIGKILL) < 0 && errno != ESRCH)
		return fail("rm: kill %.12s", c->id);
	if (wait_exited(c, MONITOR_GONE_TIMEOUT_S, &s) < 0 || wait_monitor_gone(c, MONITOR_GONE_TIMEOUT_S) < 0)
		return fail("rm: wait for %.12s to exit", c->id);
	/* After a crash nobody cleaned up: do it now (a no-op if the monitor's cleanup ran). */
	json_object_set_new(c->config, "AutoRemove", json_true());
	return cleanup_container(cl->spec.box_root, cl->spec.box_state, c);
}

static int cmd_rm(struct command_line *cl)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { "volumes", no_argument, NULL, 'v' },
					       { NULL, 0, NULL, 0 } };
	bool force = false;
	int opt;

	getopt_start();
	while ((opt = getopt_long(cl->argc, cl->argv, "+:fv", opts, NULL)) != -1) {
		if (opt == 'f')
			force = true;
		else if (opt != 'v')	/* -v: anonymous volumes; box makes none yet */
			return bad_option("rm", cl->argc, cl->argv, opt);
	}
	return each_container(cl, "rm", rm_one, force);
}

static int cmd_wait(struct command_line *cl)
{
	int failures = 0;

	if (cl->argc < 2)
		return fail_msg("wait: needs at least one container (see 'box wait --help')");
	for (int i = 1; i < cl->argc; i++) {
		struct container c;
		struct status s;

		if (find_or_fail(cl, cl->argv[i], &c) < 0) {
			failures++;
			continue;
		}
		/* Then for the cleanup too: once box wait returns, inspect shows the last state (OOMKilled). */
		if (wait_exited(&c, -1, &s) == 0) {
			printf("%d\n", s.exit_code);
			wait_monitor_gone(&c, MONITOR_GONE_TIMEOUT_S);
		}
		container_free(&c);
	}
	return failures ? -1 : 0;
}

/* box inspect: docker's key names where they exist. */
static json_t *inspect_json(struct container *c)
{
	char created[LOG_TIME_MAX], started[LOG_TIME_MAX], finished[LOG_TIME_MAX], name[CONTAINER_NAME_MAX + 1],
		log_path[PATH_MAX];
	struct status s;

	get_status(c, &s);
	rfc3339(state_int(c->config, "Created"), created);
	rfc3339(s.started_ns, started);
	rfc3339(s.finished_ns, finished);
	snprintf(name, sizeof(name), "/%s", c->name);
	container_file(c, "log.json", log_path, sizeof(log_path));
	return json_pack("{s:s, s:s, s:s, s:O, s:{s:s, s:b, s:b, s:b, s:i, s:i, s:s, s:s}, s:s, s:s, s:{s:s, s:O, s:O, s:O}, "
			 "s:{s:O, s:s}, s:{s:s, s:o}}",
			 "Id", c->id, "Created", created, "Name", name, "Args", json_object_get(c->config, "Args"),
			 "State", "Status", s.status, "Running", strcmp(s.status, "running") == 0, "Paused", 0, "OOMKilled",
			 json_is_true(json_object_get(c->state, "OOMKilled")), "Pid", (int)s.pid, "ExitCode", s.exit_code, "StartedAt", started, "FinishedAt", finished,
			 "Image", json_string_value(json_object_get(c->config, "Image")) ?: "", "LogPath", log_path,
			 "Config", "Image", json_string_value(json_object_get(c->config, "Image")) ?: "", "Tty",
			 json_object_get(c->config, "Tty"), "OpenStdin", json_object_get(c->config, "OpenStdin"),
			 "Init", json_object_get(c->config, "Init"), "HostConfig", "AutoRemove",
			 json_object_get(c->config, "AutoRemove"), "LogConfig", "json-file", "NetworkSettings", "IPAddress",
			 strcmp(s.status, "running") == 0 ? state_string(c, "IPAddress") ?: "" : "", "Ports",
			 json_deep_copy(json_object_get(c->state, "Ports")) ?: json_array());
}

/* Does text name a container (a name, an id or a unique prefix)? */
static bool names_a_container(const struct command_line *cl, const char *text)
{
	struct container c;
	struct failure f;

	if (container_find(cl->spec.box_root, text, &c, &f) < 0)
		return errno != ENOENT;	/* an ambiguous prefix names containers: say so below */
	container_free(&c);
	return true;
}

static int cmd_inspect(struct command_line *cl)
{
	int failures = 0;
	json_t *all;
	char *text;

	if (cl->argc < 2)
		return fail_msg("inspect: needs at least one container (see 'box inspect --help')");
	/* One name that no container has: docker inspect shows the image of that name then (image-cmds.c). */
	if (cl->argc == 2 && !names_a_container(cl, cl->argv[1]))
		return image_tool_main(cl->argc, cl->argv, &cl->spec);
	all = json_array();
	for (int i = 1; i < cl->argc; i++) {
		struct container c;
		json_t *one;

		if (find_or_fail(cl, cl->argv[i], &c) < 0) {
			failures++;
			continue;
		}
		one = inspect_json(&c);
		if (one)
			json_array_append_new(all, one);
		container_free(&c);
	}
	text = json_dumps(all, JSON_INDENT(4));
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(all);
	return failures ? -1 : 0;
}

static int cmd_create(struct command_line *cl)
{
	struct command_line sub;

	/* create takes box run's flags: parse them as run's, on the same words. */
	cl->argv[0] = "run";
	if (parse_command_line(cl->argc + 1, cl->argv - 1, &sub) < 0)
		return -1;
	if (sub.command == CMD_RUN_HELP)
		return 0;
	sub.pull.out = stderr;
	return create_and_maybe_start(&sub, false) == 0 ? 0 : -1;
}

static int cmd_version(struct command_line *cl)
{
	(void)cl;
	printf("Client: box\n Version: 0.8.0 (final)\n API: docker-like command line, daemonless\n"
	       " Runtime: box-oci (runc's command line)\n Log driver: json-file\n");
	return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static const struct verb {
	const char *name;
	command_fn fn;
	const char *usage;
} verbs[] = {
	{ "create", cmd_create, "Usage: box create [OPTIONS] IMAGE [CMD...]\n\nCreate a container (box run's flags) "
	  "without starting it; print its id.\n" },
	{ "start", cmd_start, "Usage: box start [-a] CONTAINER...\n\nStart created or exited containers.\n"
	  "  -a, --attach   stay, show the output, exit with the container's status\n" },
	{ "ps", cmd_ps, "Usage: box ps [-a] [-q] [--format json]\n\nList running containers.\n"
	  "  -a, --all      also those not running\n  -q, --quiet    only the ids\n"
	  "      --format json  one JSON object per line\n" },
	{ "logs", cmd_logs, "Usage: box logs [OPTIONS] CONTAINER\n\nShow a container's output (json-file log).\n"
	  "  -f, --follow        wait for more until the container exits\n  -n, --tail N        only the last N lines\n"
	  "  -t, --timestamps    each line with its time\n      --since TIME    RFC 3339, seconds, or a duration (10m)\n" },
	{ "stop", cmd_stop, "Usage: box stop [-t SECONDS] CONTAINER...\n\nSend the stop signal (the image's "
	  "StopSignal, else SIGTERM), wait, then SIGKILL.\n  -t, --time SECONDS  how long to wait (default 10)\n" },
	{ "kill", cmd_kill, "Usage: box kill [-s SIGNAL] CONTAINER...\n\nSignal the container's init.\n"
	  "  -s, --signal SIGNAL  which (default KILL)\n" },
	{ "rm", cmd_rm, "Usage: box rm [-f] [-v] CONTAINER...\n\nRemove containers (and what a crash left).\n"
	  "  -f, --force     kill a running one first\n  -v, --volumes   also its anonymous volumes\n" },
	{ "inspect", cmd_inspect, "Usage: box inspect CONTAINER...\n       box inspect IMAGE\n\n"
				   "Show containers as JSON (docker's keys), or an image's id, digest, layers and config.\n" },
	{ "wait", cmd_wait, "Usage: box wait CONTAINER...\n\nWait until containers exit; print their exit codes.\n" },
	{ "exec", cmd_exec, "Usage: box exec [OPTIONS] CONTAINER CMD [ARG...]\n\nRun CMD in a running container.\n"
	  "  -i, --interactive   pass our stdin on\n  -t, --tty           a pty (of the container's devpts)\n"
	  "  -d, --detach        do not wait for it\n"
	  "  -e, --env NAME=VALUE  set a variable\n  -w, --workdir DIR   start in DIR\n"
	  "  -u, --user UID[:GID]  run as this user\n" },
	{ "cp", cmd_cp, "Usage: box cp CONTAINER:SRC DEST\n       box cp SRC CONTAINER:DEST\n\nCopy files or "
	  "directories between a running container and the host. Paths in the container are resolved inside\n"
	  "its root (openat2 RESOLVE_IN_ROOT): no symlink there leads out of it.\n" },
	{ "volume", cmd_volume, "Usage: box volume create [NAME] | ls | inspect NAME... | rm NAME... | prune\n\n"
	  "Named volumes, <root>/volumes/NAME/_data. -v NAME:PATH makes one, seeded with the image's PATH.\n"
	  "rm refuses a volume a container uses; prune removes every one no container uses.\n" },
	{ "stats", cmd_stats, "Usage: box stats --no-stream [CONTAINER...]\n\nCPU %, memory, network I/O and "
	  "processes of running containers, from their cgroups and network namespaces.\n" },
	{ "top", cmd_top, "Usage: box top CONTAINER\n\nThe processes of a running container (host pids).\n" },
	{ "port", cmd_port, "Usage: box port CONTAINER\n\nThe container's published ports.\n" },
	{ "system", cmd_system, "Usage: box system prune | df\n\n  prune   remove stopped containers and what "
	  "crashed boxes left (mounts, cgroups, veths, nft rules, leases)\n  df      what box keeps on disk\n" },
	{ "attach", cmd_attach, "Usage: box attach CONTAINER\n\nAttach to a running container through its "
	  "monitor: its output, our input (if it was started with -i), Ctrl-P Ctrl-Q detaches.\n" },
	{ "version", cmd_version, "Usage: box version\n\nShow box's version.\n" },
	{ "cleanup", cmd_cleanup, "Usage: box cleanup ID\n\nWhat the monitor runs after the exit (internal).\n" },
};

/* box info's last lines (box.c prints the cgroups before them). */
void engine_info(const struct command_line *cl)
{
	char (*ids)[LONG_ID_LEN + 1] = NULL;
	size_t n = 0, running = 0;

	if (container_list(cl->spec.box_root, &ids, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct container c;
			struct status s;

			if (container_load(cl->spec.box_root, ids[i], &c) < 0)
				continue;
			get_status(&c, &s);
			running += strcmp(s.status, "running") == 0;
			container_free(&c);
		}
	}
	free(ids);
	printf("Root: %s\nState: %s\nContainers: %zu\n Running: %zu\n Stopped: %zu\nLogging Driver: json-file\n"
	       "Runtime: box (monitor: box-monitor)\n", cl->spec.box_root, cl->spec.box_state, n, running, n - running);
}

bool is_engine_command(const char *word)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(word, verbs[i].name) == 0)
			return true;
	}
	return false;
}

int engine_main(struct command_line *cl)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(cl->argv[0], verbs[i].name) != 0)
			continue;
		if (wants_help(cl->argc, cl->argv)) {
			fputs(verbs[i].usage, stdout);
			return 0;
		}
		int status = verbs[i].fn(cl);

		return status < 0 ? EXIT_BOX_ERROR : status;
	}
	return EXIT_BOX_ERROR;
}
