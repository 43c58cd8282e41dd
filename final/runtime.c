/*
 * runtime.c - box-oci: the same binary, answering as an OCI runtime.
 *
 * podman (--runtime PATH), containerd (ctr run --runc-binary PATH) and
 * dockerd (--add-runtime NAME=PATH) each take a path to a program that
 * speaks runc's command line. box answers it when it is called box-oci (a
 * link to box, made by the Makefile): main looks at argv[0].
 *
 *     box-oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND ...
 *
 * The argv each client sends is in CLIENTS.md; every flag seen there is
 * taken. Errors go to stderr as one line (podman shows it) and, with
 * --log, to that file too (containerd's shim reads the last
 * {"level":"error","msg":...} line of it). box-oci exits 1 on an error, as
 * runc does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box.h"

extern char **environ;

static const char runtime_name[] = "box-oci";
static const char default_root[] = "/run/box-oci";
static const char version_text[] = "box-oci version 0.7 (box step 7)\nspec: 1.0.2\n";

enum {
	EXIT_RUNTIME_ERROR = 1,	/* runc's */
	PIDS_MAX = 4096,
	PS_OUTPUT_MAX = 1 << 20,
};

static const char usage_text[] =
	"Usage: box-oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND [OPTIONS] ID\n"
	"\n"
	"box-oci runs containers from OCI bundles (a config.json and a root file\n"
	"system), with runc's command line: podman, containerd and dockerd can use it.\n"
	"\n"
	"Commands:\n"
	"  create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID\n"
	"  start ID                    let a created container run its process\n"
	"  run [-d] [create's options] ID   create and start (and, without -d, wait and delete)\n"
	"  state ID                    print the container's state as JSON\n"
	"  kill [--all] ID [SIGNAL]    send SIGNAL (name or number, default TERM)\n"
	"  delete [--force] ID         remove a stopped (or, with --force, any) container\n"
	"  exec [OPTIONS] ID [CMD...]  run one more process in it (--process FILE, -t,\n"
	"                              --console-socket S, --cwd D, -e K=V, -u UID[:GID],\n"
	"                              -d, --pid-file F, --preserve-fds N)\n"
	"  list [-q] [--format table|json]      the containers under --root\n"
	"  ps [--format table|json] ID [PS ARGS] the processes of a container\n"
	"  pause ID, resume ID         freeze and thaw all its processes\n"
	"  update [--resources FILE|-] [--memory N] [--cpu-quota N] ... ID\n"
	"  spec [--rootless] [--bundle DIR]     write a default config.json\n"
	"  features                    what this runtime supports, as JSON\n"
	"\n"
	"Options:\n"
	"      --root DIR      where containers' state is kept (default /run/box-oci)\n"
	"      --log FILE      also append errors to FILE\n"
	"      --log-format F  text (default) or json: {\"level\":...,\"msg\":...,\"time\":...}\n"
	"      --debug         also log each command\n";

/* The global flags. */
struct globals {
	const char *root;
	const char *log;
	bool json_log;
	bool debug;
};

static int log_fd = -1;
static bool log_json;

/* Called as box-oci (or any name ending in it, like a copy named my-box-oci)? */
bool is_runtime_name(const char *argv0)
{
	const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	size_t len = strlen(base), want = strlen(runtime_name);

	return len >= want && strcmp(base + len - want, runtime_name) == 0;
}

/* ---- the log: what containerd's shim reads ------------------------------------------------ */

/* Now in RFC 3339 ("2026-11-28T18:06:06Z"), as runc's logrus writes it. */
static void log_time(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* logrus's text format quotes the message: "..." with \" and \\ escaped. */
static void write_text_line(const char *level, const char *message, const char *time_text)
{
	char line[PATH_MAX + 2048];
	size_t len;

	len = (size_t)snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"", time_text, level);
	for (const char *c = message; *c && len < sizeof(line) - 4; c++) {
		if (*c == '"' || *c == '\\')
			line[len++] = '\\';
		line[len++] = *c;
	}
	line[len++] = '"';
	line[len++] = '\n';
	if (write(log_fd, line, len) < 0)
		return;	/* nowhere left to report it */
}

/* One line per message, appended (O_APPEND: the init writes here too). util.c calls it for every error. */
static void log_line(const char *level, const char *message)
{
	char time_text[40];
	json_t *obj;
	char *text;

	log_time(time_text, sizeof(time_text));
	if (!log_json) {
		write_text_line(level, message, time_text);
		return;
	}
	obj = json_pack("{s:s, s:s, s:s}", "level", level, "msg", message, "time", time_text);
	text = obj ? json_dumps(obj, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
	if (text && (write(log_fd, text, strlen(text)) < 0 || write(log_fd, "\n", 1) < 0))
		text[0] = '\0';	/* nowhere left to report it */
	free(text);
	json_decref(obj);
}

static int open_log(const struct globals *g)
{
	log_json = g->json_log;
	if (!g->log)
		return 0;
	log_fd = open(g->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (log_fd < 0)
		return fail("open --log %s", g->log);
	set_log_sink(log_line);
	return 0;
}

/* --debug: a line per command in the log, nothing on stderr. */
static void debug_line(const struct globals *g, int argc, char *argv[])
{
	char text[1024] = "";
	size_t len = 0;

	if (!g->debug || log_fd < 0)
		return;
	for (int i = 0; i < argc && len < sizeof(text) - 2; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", i ? " " : "", argv[i]);
	log_line("debug", text);
}

/* ---- the global flags ----------------------------------------------------------------------- */

/* box-oci [GLOBALS] COMMAND ...: the globals; the index of COMMAND, or -1 (reported). */
static int parse_globals(int argc, char *argv[], struct globals *g)
{
	static const struct option options[] = {
		{ "root", required_argument, NULL, 'r' }, { "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'f' }, { "debug", no_argument, NULL, 'd' },
		{ "systemd-cgroup", no_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' }, { "rootless", required_argument, NULL, 'R' },
		{ "criu", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 },
	};
	int opt;

	g->root = default_root;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:hv", options, NULL)) != -1) {
		switch (opt) {
		case 'r': g->root = optarg; break;
		case 'l': g->log = optarg; break;
		case 'd': g->debug = true; break;
		case 'R': case 'c': break;	/* runc's; box-oci has no use for them */
		case 'f':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				return fail_msg("--log-format %s: expected text or json", optarg);
			g->json_log = strcmp(optarg, "json") == 0;
			break;
		case 's':
			return fail_msg("--systemd-cgroup: box-oci has no systemd cgroup driver; "
					"give the client cgroup_manager = \"cgroupfs\" (native.cgroupdriver=cgroupfs)");
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'v': fputs(version_text, stdout); exit(0);
		default:
			return fail_msg("unknown or incomplete global flag %s (see 'box-oci --help')", argv[optind - 1]);
		}
	}
	if (g->root[0] != '/')
		return fail_msg("--root %s: must be an absolute path", g->root);
	return optind;
}

/* ---- create, start, run, delete -------------------------------------------------------------- */

/* A number for --preserve-fds. */
static int parse_count(const char *flag, const char *text, int *n)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || end == text || v < 0 || v > 1024)
		return fail_msg("%s %s: expected a number from 0 to 1024", flag, text);
	*n = (int)v;
	return 0;
}

/* The ID: exactly one word left after the flags (with what, if given, may follow it). */
static const char *one_id(const char *command, int argc, char *argv[], bool more_allowed)
{
	if (optind >= argc) {
		fail_msg("%s: needs a container ID (see 'box-oci --help')", command);
		return NULL;
	}
	if (!more_allowed && optind + 1 < argc) {
		fail_msg("%s: unexpected %s after the ID", command, argv[optind + 1]);
		return NULL;
	}
	return argv[optind];
}

static int bad_flag(const char *command, int opt, char *argv[])
{
	if (opt == ':')
		return fail_msg("%s: flag %s needs a value", command, argv[optind - 1]);
	return fail_msg("%s: unknown flag %s (see 'box-oci --help')", command, argv[optind - 1]);
}

/* create's flags (run adds -d, --detach and --keep). */
static int parse_create(int argc, char *argv[], struct create_options *o, bool *detach, bool *keep)
{
	static const struct option options[] = {
		{ "bundle", required_argument, NULL, 'b' }, { "pid-file", required_argument, NULL, 'p' },
		{ "console-socket", required_argument, NULL, 'c' }, { "preserve-fds", required_argument, NULL, 'P' },
		{ "no-pivot", no_argument, NULL, 'n' }, { "no-new-keyring", no_argument, NULL, 'k' },
		{ "detach", no_argument, NULL, 'd' }, { "keep", no_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	o->bundle = ".";
	optind = 1;
	while ((opt = getopt_long(argc, argv, detach ? "+:b:d" : "+:b:", options, NULL)) != -1) {
		switch (opt) {
		case 'b': o->bundle = optarg; break;
		case 'p': o->pid_file = optarg; break;
		case 'c': o->console_socket = optarg; break;
		case 'P':
			if (parse_count("--preserve-fds", optarg, &o->preserve_fds) < 0)
				return -1;
			break;
		case 'n': break;	/* box always pivots: a root on ramfs is not supported */
		case 'k': o->no_new_keyring = true; break;
		case 'd':
		case 'K':
			if (!detach)
				return bad_flag(argv[0], '?', argv);
			*(opt == 'd' ? detach : keep) = true;
			break;
		default:
			return bad_flag(argv[0], opt, argv);
		}
	}
	o->id = one_id(argv[0], argc, argv, false);
	return o->id ? 0 : -1;
}

static int cmd_create(const struct globals *g, int argc, char *argv[])
{
	struct create_options o = { .root = g->root };
	pid_t pid;

	if (parse_create(argc, argv, &o, NULL, NULL) < 0)
		return -1;
	return create_container(&o, &pid);
}

static int cmd_start(const struct globals *g, int argc, char *argv[])
{
	const char *id;

	optind = 1;
	id = one_id("start", argc, argv, false);
	return id ? start_container(g->root, id) : -1;
}

/* Delete a container: refused while it runs unless force. A missing one is fine with force (containerd's cleanup). */
static int delete_container(const char *root, const char *id, bool force)
{
	struct oci_config cfg;
	struct cgroup cg;
	struct state st;
	struct failure f;
	enum container_status status;
	int lock, ret;

	if (read_state(root, id, &st, &f) < 0)
		return force && errno == ENOENT ? 0 : fail_state(&f);
	lock = lock_state_dir(st.dir);
	if (lock < 0)
		return force && errno == ENOENT ? 0 : fail("lock %s", st.dir);
	if (read_state(root, id, &st, &f) < 0) {	/* again, under the lock: another delete may have won */
		close(lock);
		return force && errno == ENOENT ? 0 : fail_state(&f);
	}
	status = container_status(&st, cgroup_open_path(&cg, st.cgroup_path, NULL) == 0 ? &cg : NULL);
	if (!force && status != STATUS_STOPPED && status != STATUS_CREATED) {
		close(lock);
		return fail_msg("cannot delete container %s that is not stopped: it is %s (use --force)", id,
				status_name(status));
	}
	ret = load_config(st.dir, &cfg, &f);
	if (destroy_container(&st, ret == 0 ? &cfg : NULL, &f) < 0)
		ret = fail("%s", f.what);
	else
		ret = 0;
	oci_free(&cfg);
	close(lock);
	return ret;
}

/* The init of an attached run, for the signal handler to pass signals on to. */
static volatile sig_atomic_t run_pid;

static void pass_on(int sig)
{
	if (run_pid > 0)
		kill(run_pid, sig);
}

/* An attached run passes SIGINT, SIGTERM, SIGHUP and SIGQUIT on to the container, as runc does. */
static void pass_signals_on(pid_t pid)
{
	struct sigaction sa = { .sa_handler = pass_on };
	const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

	run_pid = pid;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &sa, NULL);
}

/* run: create, start, and without -d wait for the init, pass on its exit status and delete it. */
static int cmd_run(const struct globals *g, int argc, char *argv[])
{
	struct create_options o = { .root = g->root, .stay_parent = true };
	bool detach = false, keep = false;
	int wait_status;
	pid_t pid;

	if (parse_create(argc, argv, &o, &detach, &keep) < 0 || create_container(&o, &pid) < 0)
		return -1;
	if (start_container(g->root, o.id) < 0) {
		delete_container(g->root, o.id, true);
		return -1;
	}
	if (detach)
		return 0;
	pass_signals_on(pid);
	if (wait_for(pid, &wait_status) < 0)
		return fail("wait for the container's init %d", (int)pid);
	if (!keep && delete_container(g->root, o.id, false) < 0)
		return -1;
	return exit_status_of(wait_status);
}

static int cmd_delete(const struct globals *g, int argc, char *argv[])
{
	static const struct option options[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
	bool force = false;
	const char *id;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:f", options, NULL)) != -1) {
		if (opt != 'f')
			return bad_flag("delete", opt, argv);
		force = true;
	}
	id = one_id("delete", argc, argv, false);
	return id ? delete_container(g->root, id, force) : -1;
}

/* ---- state, kill, list, ps ----------------------------------------------------------------- */

/* A container's state and its live status; with cg filled in when its cgroup is there. */
static int load_status(const char *root, const char *id, struct state *st, struct cgroup *cg,
		       enum container_status *status)
{
	struct failure f;
	bool have_cg;

	if (read_state(root, id, st, &f) < 0)
		return fail_state(&f);
	have_cg = cgroup_open_path(cg, st->cgroup_path, NULL) == 0;
	*status = container_status(st, have_cg ? cg : NULL);
	return 0;
}

static int cmd_state(const struct globals *g, int argc, char *argv[])
{
	enum container_status status;
	struct oci_config cfg;
	struct cgroup cg;
	struct state st;
	struct failure f;
	char path[PATH_MAX], *text;
	bool have_cfg;
	const char *id;

	optind = 1;
	id = one_id("state", argc, argv, false);
	if (!id || load_status(g->root, id, &st, &cg, &status) < 0)
		return -1;
	/* The config only for its annotations: a state without them is still a state. */
	have_cfg = path_join(path, sizeof(path), st.dir, "config.json") == 0 && oci_load(path, &cfg, &f) == 0;
	text = state_json(&st, status, have_cfg ? &cfg : NULL);
	if (have_cfg)
		oci_free(&cfg);
	if (!text)
		return fail("write the state of %s", id);
	printf("%s\n", text);
	free(text);
	return 0;
}

/* "9", "KILL", "SIGKILL", "sigkill": a signal number, or -1. */
static int parse_signal(const char *text)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (end != text && !*end)
		return n > 0 && n < NSIG ? (int)n : -1;
	if (strncasecmp(text, "SIG", 3) == 0)
		text += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *name = sigabbrev_np(sig);

		if (name && strcasecmp(name, text) == 0)
			return sig;
	}
	return -1;
}

/* kill --all: every process in the container's cgroup. */
static int kill_all(const struct cgroup *cg, int sig)
{
	static pid_t pids[PIDS_MAX];
	size_t n;

	if (cgroup_pids(cg, pids, PIDS_MAX, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		kill(pids[i], sig);
	return 0;
}

/*
 * kill: the signal to the init, through a pidfd (pidfd_send_signal(2)):
 * checked to be our init once opened, it cannot reach another process that
 * got its number since. containerd matches "container not running" and
 * "no such process" in our error, to treat it as "already gone".
 */
static int signal_init(const struct state *st, int sig)
{
	int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0), ret;

	if (pidfd < 0 && errno != ENOSYS)
		return -1;	/* ESRCH: gone */
	if (!init_is_alive(st)) {
		if (pidfd >= 0)
			close(pidfd);
		errno = ESRCH;
		return -1;
	}
	if (pidfd < 0)
		return kill(st->pid, sig);	/* a kernel before 5.3 */
	ret = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	close(pidfd);
	return ret;
}

static int cmd_kill(const struct globals *g, int argc, char *argv[])
{
	static const struct option options[] = { { "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
	enum container_status status;
	int opt, sig = SIGTERM;
	struct cgroup cg;
	struct state st;
	bool all = false;
	const char *id;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:a", options, NULL)) != -1) {
		if (opt != 'a')
			return bad_flag("kill", opt, argv);
		all = true;
	}
	id = one_id("kill", argc, argv, true);
	if (!id)
		return -1;
	if (optind + 2 < argc)
		return fail_msg("kill: unexpected %s after the signal", argv[optind + 2]);
	if (optind + 1 < argc && (sig = parse_signal(argv[optind + 1])) < 0)
		return fail_msg("kill: %s: no such signal", argv[optind + 1]);
	if (load_status(g->root, id, &st, &cg, &status) < 0)
		return -1;
	if (status == STATUS_STOPPED || status == STATUS_CREATING)
		return fail_msg("kill %s: container not running", id);
	if (all ? kill_all(&cg, sig) < 0 : signal_init(&st, sig) < 0)
		return errno == ESRCH ? fail_msg("kill %s: no such process", id) : fail("kill %s", id);
	return 0;
}

/* One container of list: a line, or an object added to json. */
static void list_one(const char *root, const char *id, bool quiet, json_t *json)
{
	enum container_status status;
	struct cgroup cg;
	struct state st;
	struct failure f;
	int pid;

	if (id[0] == '.' || read_state(root, id, &st, &f) < 0)
		return;
	status = container_status(&st, cgroup_open_path(&cg, st.cgroup_path, NULL) == 0 ? &cg : NULL);
	pid = status == STATUS_STOPPED ? 0 : (int)st.pid;
	if (quiet)
		printf("%s\n", st.id);
	else if (json)
		json_array_append_new(json, json_pack("{s:s, s:i, s:s, s:s, s:s}", "id", st.id, "pid", pid, "status",
						      status_name(status), "bundle", st.bundle, "created", st.created));
	else
		printf("%-20s %-8d %-10s %-40s %s\n", st.id, pid, status_name(status), st.bundle, st.created);
}

/* list: one line, or one JSON object, per container under --root. */
static int cmd_list(const struct globals *g, int argc, char *argv[])
{
	static const struct option options[] = { { "quiet", no_argument, NULL, 'q' },
						 { "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
	bool quiet = false, json = false;
	struct dirent **names = NULL;
	json_t *list;
	int opt, n;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:qf:", options, NULL)) != -1) {
		if (opt == 'q')
			quiet = true;
		else if (opt == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
			json = strcmp(optarg, "json") == 0;
		else
			return bad_flag("list", opt, argv);
	}
	n = scandir(g->root, &names, NULL, alphasort);
	if (n < 0 && errno != ENOENT)
		return fail("read --root %s", g->root);
	if (!quiet && !json)
		printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
	list = json ? json_array() : NULL;
	for (int i = 0; i < n; i++) {
		list_one(g->root, names[i]->d_name, quiet, list);
		free(names[i]);
	}
	free(names);
	if (list) {
		json_dumpf(list, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(list);
	}
	return 0;
}

/* ---- ps, pause, resume, update --------------------------------------------------------------- */

/* The running container's state and cgroup; refuses a container that is not there or not running. */
static int open_running(const char *root, const char *id, struct state *st, struct cgroup *cg)
{
	enum container_status status;

	if (load_status(root, id, st, cg, &status) < 0)
		return -1;
	if (status == STATUS_STOPPED || status == STATUS_CREATING)
		return fail_msg("container %s is not running", id);
	return 0;
}

/* ps --format json: the pids as the caller sees them, [610, 612] (containerd's "task ps"). */
static int print_pids_json(const pid_t *pids, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
	printf("]\n");
	return 0;
}

static bool in_list(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++) {
		if (pids[i] == pid)
			return true;
	}
	return false;
}

/* Which column of ps's header says PID (runc finds it the same way). */
static int pid_column(const char *header)
{
	char copy[4096], *rest = copy, *word;
	int column = 0;

	snprintf(copy, sizeof(copy), "%s", header);
	while ((word = strsep(&rest, " \t\n"))) {
		if (!word[0])
			continue;
		if (strcmp(word, "PID") == 0)
			return column;
		column++;
	}
	return -1;
}

/* Print the header of ps's output and the lines of the container's processes. */
static int filter_ps(FILE *ps, const pid_t *pids, size_t n)
{
	char line[4096], copy[4096], *rest, *word;
	int column = -1;

	if (!fgets(line, sizeof(line), ps) || (column = pid_column(line)) < 0)
		return fail_msg("ps: its output has no PID column");
	fputs(line, stdout);
	while (fgets(line, sizeof(line), ps)) {
		snprintf(copy, sizeof(copy), "%s", line);
		rest = copy;
		for (int c = 0; (word = strsep(&rest, " \t")); ) {
			if (!word[0])
				continue;
			if (c++ == column) {
				if (in_list(pids, n, (pid_t)atoi(word)))
					fputs(line, stdout);
				break;
			}
		}
	}
	return 0;
}

/* ps [ps's options, default -ef]: run ps(1) and keep the header and the container's processes. */
static int run_ps(char *const ps_args[], const pid_t *pids, size_t n)
{
	char *default_args[] = { "ps", "-ef", NULL };
	int pipefd[2], wait_status, ret;
	FILE *out;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return fail("create a pipe for ps");
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		execvp("ps", ps_args[0] ? ps_args : default_args);
		_exit(EXIT_NOT_FOUND);
	}
	close(pipefd[1]);
	out = pid < 0 ? NULL : fdopen(pipefd[0], "r");
	if (!out) {
		close(pipefd[0]);
		return fail("run ps");
	}
	ret = filter_ps(out, pids, n);
	fclose(out);
	if (wait_for(pid, &wait_status) < 0 || exit_status_of(wait_status) != 0)
		return ret < 0 ? -1 : fail_msg("ps failed");
	return ret;
}

static int cmd_ps(const struct globals *g, int argc, char *argv[])
{
	static const struct option options[] = { { "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
	static pid_t pids[PIDS_MAX];
	struct cgroup cg;
	struct state st;
	bool json = false;
	const char *id;
	char *ps_args[64] = { "ps" };
	size_t n;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:f:", options, NULL)) != -1) {
		if (opt != 'f' || (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0))
			return bad_flag("ps", opt, argv);
		json = strcmp(optarg, "json") == 0;
	}
	id = one_id("ps", argc, argv, true);
	if (!id || open_running(g->root, id, &st, &cg) < 0)
		return -1;
	if (cgroup_pids(&cg, pids, PIDS_MAX, &n) < 0)
		return fail("read the processes of container %s", id);
	if (json)
		return print_pids_json(pids, n);
	if (optind + 1 == argc)
		ps_args[0] = NULL;	/* no options given: run_ps uses -ef */
	for (int i = optind + 1, k = 1; i < argc && k < 63; i++, k++)
		ps_args[k] = argv[i];
	return run_ps(ps_args, pids, n);
}

/* pause and resume: the freezer (cgroup.c). */
static int cmd_freeze(const struct globals *g, int argc, char *argv[], bool frozen)
{
	struct cgroup cg;
	struct state st;
	const char *id;
	int lock, ret;

	optind = 1;
	id = one_id(argv[0], argc, argv, false);
	if (!id || open_running(g->root, id, &st, &cg) < 0)
		return -1;
	lock = lock_state_dir(st.dir);
	if (lock < 0)
		return fail("lock %s", st.dir);
	ret = cgroup_freeze(&cg, frozen) < 0 ? fail("%s container %s", frozen ? "pause" : "resume", id) : 0;
	close(lock);
	return ret;
}

/* update's flags: runc's names for the fields of linux.resources. */
static int update_flag(int opt, const char *value, struct oci_resources *r)
{
	char *end;
	long long n;

	if (opt == 'C' || opt == 'M') {
		char **field = opt == 'C' ? &r->cpu_cpus : &r->cpu_mems;

		free(*field);
		*field = strdup(value);
		return *field ? 0 : -1;
	}
	errno = 0;
	n = strtoll(value, &end, 10);
	if (errno || *end || end == value || n < -1) {
		errno = EINVAL;
		return -1;
	}
	switch (opt) {
	case 'm': r->memory_limit = n; break;
	case 's': r->memory_swap = n; break;
	case 'R': r->memory_reservation = n; break;
	case 'S': r->cpu_shares = (uint64_t)n; break;
	case 'q': r->cpu_quota = n; break;
	case 'p': r->cpu_period = (uint64_t)n; break;
	case 'P': r->pids_limit = n; break;
	case 'w': r->blkio_weight = (uint16_t)n; break;
	}
	return 0;
}

/* --resources FILE (or - for stdin): a linux.resources object. */
static int read_resources(const char *path, struct oci_resources *r, struct failure *f)
{
	json_t *top = strcmp(path, "-") == 0 ? json_loadf(stdin, 0, NULL) : json_load_file(path, 0, NULL);
	char *text = top ? json_dumps(top, 0) : NULL;
	int ret;

	json_decref(top);
	if (!text) {
		errno = EINVAL;
		return failed(f, "update: --resources %s: not a JSON object", path);
	}
	ret = oci_parse_resources(text, r, f);
	free(text);
	return ret;
}

static int cmd_update(const struct globals *g, int argc, char *argv[])
{
	static const struct option options[] = {
		{ "resources", required_argument, NULL, 'r' }, { "memory", required_argument, NULL, 'm' },
		{ "memory-swap", required_argument, NULL, 's' }, { "memory-reservation", required_argument, NULL, 'R' },
		{ "cpu-shares", required_argument, NULL, 'S' }, { "cpu-quota", required_argument, NULL, 'q' },
		{ "cpu-period", required_argument, NULL, 'p' }, { "cpuset-cpus", required_argument, NULL, 'C' },
		{ "cpuset-mems", required_argument, NULL, 'M' }, { "pids-limit", required_argument, NULL, 'P' },
		{ "blkio-weight", required_argument, NULL, 'w' }, { NULL, 0, NULL, 0 },
	};
	struct container_spec spec = { 0 };
	struct oci_resources r = { 0 };
	const char *resources = NULL;
	struct cgroup cg;
	struct state st;
	struct failure f;
	const char *id;
	int opt, ret = -1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:r:", options, NULL)) != -1) {
		if (opt == 'r')
			resources = optarg;
		else if (opt == '?' || opt == ':')
			return bad_flag("update", opt, argv);
	}
	id = one_id("update", argc, argv, false);
	if (!id)
		return -1;
	if (resources && read_resources(resources, &r, &f) < 0) {
		fail_config(&f);
		goto out;
	}
	/* The flags come after --resources, whatever their order: read them again. */
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:r:", options, NULL)) != -1) {
		if (opt != 'r' && update_flag(opt, optarg, &r) < 0) {
			fail_msg("update: %s: expected a number (or -1 for no limit)", optarg);
			goto out;
		}
	}
	spec.resources = &r;
	if (open_running(g->root, id, &st, &cg) == 0) {
		ret = cgroup_update(&cg, &spec, &f);
		if (ret < 0)
			fail("%s", f.what);
	}
out:
	oci_resources_free(&r);
	return ret;
}

/* ---- spec, features, exec ---------------------------------------------------------------- */

/* spec: runc spec's config.json (or --rootless's) into the bundle; an existing one is not replaced. */
static int cmd_spec(int argc, char *argv[])
{
	static const struct option options[] = { { "rootless", no_argument, NULL, 'R' },
						 { "bundle", required_argument, NULL, 'b' }, { NULL, 0, NULL, 0 } };
	const char *bundle = ".";
	struct oci_config cfg;
	struct failure f;
	char path[PATH_MAX];
	bool rootless = false;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:b:", options, NULL)) != -1) {
		if (opt == 'R')
			rootless = true;
		else if (opt == 'b')
			bundle = optarg;
		else
			return bad_flag("spec", opt, argv);
	}
	if (optind < argc)
		return fail_msg("spec: takes no arguments (see 'box-oci --help')");
	if (path_join(path, sizeof(path), bundle, "config.json") < 0)
		return fail("spec: --bundle %s", bundle);
	if (oci_default_config(&cfg, rootless) < 0)
		return fail("spec: make the default config");
	ret = oci_write(path, &cfg, &f);
	oci_free(&cfg);
	return ret < 0 ? fail("%s", f.what) : 0;
}

/* features (runtime-spec features.md): what config.json may ask of box-oci. */
static int cmd_features(void)
{
	json_t *obj = json_pack(
		"{s:s, s:s, s:[s,s,s,s,s,s], s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s],"
		" s:{s:[s,s,s,s,s,s,s], s:[], s:{s:b, s:b, s:b}, s:{s:b, s:[s,s,s,s,s,s,s,s], s:[s,s,s,s,s,s,s]},"
		" s:{s:b}, s:{s:b}}}",
		"ociVersionMin", "1.0.0", "ociVersionMax", "1.2.0",
		"hooks", "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
		"mountOptions", "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "bind", "rbind",
		"private", "rprivate", "shared", "rshared", "slave", "rslave", "rro", "rnosuid", "tmpcopyup", "relatime",
		"linux", "namespaces", "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "capabilities",
		"cgroup", "v1", true, "v2", true, "systemd", false,
		"seccomp", "enabled", true, "actions", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
		"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
		"operators", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
		"SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
		"apparmor", "enabled", false, "selinux", "enabled", false);

	if (!obj)
		return fail_msg("features: out of memory");
	json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(obj);
	return 0;
}

/* exec's flags, then the ID and the command. */
static int parse_exec(int argc, char *argv[], struct exec_options *o)
{
	static const struct option options[] = {
		{ "process", required_argument, NULL, 'p' }, { "tty", no_argument, NULL, 't' },
		{ "console-socket", required_argument, NULL, 'c' }, { "cwd", required_argument, NULL, 'w' },
		{ "env", required_argument, NULL, 'e' }, { "user", required_argument, NULL, 'u' },
		{ "detach", no_argument, NULL, 'd' }, { "pid-file", required_argument, NULL, 'P' },
		{ "preserve-fds", required_argument, NULL, 'F' }, { NULL, 0, NULL, 0 },
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:p:tc:e:u:d", options, NULL)) != -1) {
		switch (opt) {
		case 'p': o->process_file = optarg; break;
		case 't': o->tty = true; break;
		case 'c': o->console_socket = optarg; break;
		case 'w': o->cwd = optarg; break;
		case 'u': o->user = optarg; break;
		case 'd': o->detach = true; break;
		case 'P': o->pid_file = optarg; break;
		case 'e':
			if (o->n_env == sizeof(o->env) / sizeof(o->env[0]) || !strchr(optarg, '='))
				return fail_msg("exec: -e %s: expected KEY=VALUE (at most 64)", optarg);
			o->env[o->n_env++] = optarg;
			break;
		case 'F':
			if (parse_count("--preserve-fds", optarg, &o->preserve_fds) < 0)
				return -1;
			break;
		default:
			return bad_flag("exec", opt, argv);
		}
	}
	o->id = one_id("exec", argc, argv, true);
	if (!o->id)
		return -1;
	o->args = argv + optind + 1;
	if (!o->process_file && !o->args[0])
		return fail_msg("exec: needs a command, or --process FILE");
	return 0;
}

static int cmd_exec(const struct globals *g, int argc, char *argv[])
{
	struct exec_options o = { .root = g->root };

	if (parse_exec(argc, argv, &o) < 0)
		return -1;
	return exec_in_container(&o);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

/* The verbs that put a process of ours into a container: they run from a sealed copy (exe-seal.c). */
static bool enters_a_container(const char *command)
{
	return strcmp(command, "create") == 0 || strcmp(command, "run") == 0 || strcmp(command, "exec") == 0;
}

/* A verb's status as box-oci's exit status: 0, 1 for our error, or (run, exec) the process's own. */
static int dispatch(const struct globals *g, int argc, char *argv[])
{
	const char *c = argv[0];
	int ret;

	if (strcmp(c, "create") == 0) ret = cmd_create(g, argc, argv);
	else if (strcmp(c, "start") == 0) ret = cmd_start(g, argc, argv);
	else if (strcmp(c, "run") == 0) ret = cmd_run(g, argc, argv);
	else if (strcmp(c, "state") == 0) ret = cmd_state(g, argc, argv);
	else if (strcmp(c, "kill") == 0) ret = cmd_kill(g, argc, argv);
	else if (strcmp(c, "delete") == 0) ret = cmd_delete(g, argc, argv);
	else if (strcmp(c, "exec") == 0) ret = cmd_exec(g, argc, argv);
	else if (strcmp(c, "list") == 0) ret = cmd_list(g, argc, argv);
	else if (strcmp(c, "ps") == 0) ret = cmd_ps(g, argc, argv);
	else if (strcmp(c, "pause") == 0) ret = cmd_freeze(g, argc, argv, true);
	else if (strcmp(c, "resume") == 0) ret = cmd_freeze(g, argc, argv, false);
	else if (strcmp(c, "update") == 0) ret = cmd_update(g, argc, argv);
	else if (strcmp(c, "spec") == 0) ret = cmd_spec(argc, argv);
	else if (strcmp(c, "features") == 0) ret = cmd_features();
	else if (strcmp(c, "version") == 0) ret = fputs(version_text, stdout) < 0 ? -1 : 0;
	else ret = fail_msg("unknown command '%s' (see 'box-oci --help')", c);
	return ret < 0 ? EXIT_RUNTIME_ERROR : ret;
}

/* box-oci's main: globals, the log, the sealed copy for the verbs that need it, then the verb. */
int runtime_main(int argc, char *argv[])
{
	struct globals g = { 0 };
	int first;

	program_name = runtime_name;
	first = parse_globals(argc, argv, &g);
	if (first < 0)
		return EXIT_RUNTIME_ERROR;
	if (first >= argc) {
		fail_msg("no command given (see 'box-oci --help')");
		return EXIT_RUNTIME_ERROR;
	}
	/* CVE-2019-5736: become a sealed memfd copy of ourselves before going near a container. */
	if (enters_a_container(argv[first]) && run_from_sealed_copy(argv, environ) < 0) {
		fail("re-execute from a sealed copy of %s", argv[0]);
		return EXIT_RUNTIME_ERROR;
	}
	if (open_log(&g) < 0)
		return EXIT_RUNTIME_ERROR;
	debug_line(&g, argc, argv);
	if (geteuid() != 0 && strcmp(argv[first], "spec") != 0 && strcmp(argv[first], "features") != 0) {
		fail_msg("%s: must be run as root", argv[first]);
		return EXIT_RUNTIME_ERROR;
	}
	return dispatch(&g, argc - first, argv + first);
}
