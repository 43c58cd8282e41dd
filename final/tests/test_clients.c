/*
 * test_clients.c - box-oci driven by the programs that drive runc in
 * production: podman 4.3 (through conmon), containerd 1.6 (ctr, through
 * containerd-shim-runc-v2) and dockerd 20.10 (on a containerd of its own).
 *
 * Each test starts one client with testkit/oci-clients: all its state in
 * the test's directory, all its mounts in a mount namespace of its own, and
 * box-oci as its runtime behind runtime-logger, which logs every command
 * line the client sends. The test loads the busybox test image, does what a
 * user does (run, exec, stop, a terminal) and checks what comes back. Then
 * it checks the command lines the client sent (argv-summary): they are what
 * box-oci has to understand, written down where a client upgrade would show.
 * Last, the client's stop, which exits 1 if box-oci left a container, a
 * cgroup or a process behind, and the clean-host check.
 *
 * A client that is not installed skips its tests, saying which program is
 * missing. Every client command runs under timeout(1), so a runtime that
 * hangs fails the test in seconds instead of stalling the run.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "imagetest.h"

#define CLIENTS TESTKIT_DIR "/oci-clients"
#define IMAGE "localhost/busybox:latest"
/* One client command (they take under 1.5 s); a runtime that hangs is killed after this. */
#define STEP_TIMEOUT "15"
enum { STEP_SECONDS = 15 };	/* the same number, for the timing check */
/* start waits for the daemons to answer (dockerd: 20 s at most). */
#define START_TIMEOUT "45"
/*
 * stop limits each call it makes to a client (15 s) and each daemon's exit
 * (20 s), and kills whatever is left: with a hung runtime it can take a
 * minute or two, but it must be let finish, or the daemons stay behind.
 * boxtest's run_argv gives up after 60 s, so stop is run by run_stop().
 */
enum { STOP_SECONDS = 240 };
/* pty-drive's own limit for each expect and for the command's exit. */
#define PTY_TIMEOUT "15"

/* The shell line typed at a container's terminal, and what it must print. */
#define TYPED_LINE "sendline echo typed-$((40+2)); tty\n"
#define CONVERSATION(status) "expect #\n" TYPED_LINE "expect typed-42\nsendline exit " status "\n"

/* A client, as testkit/oci-clients drives it. */
struct client {
	const char *name;	/* the DIR below test_dir() */
	const char *env;	/* its oci-clients script */
	const char *cli;	/* the script's verb that runs the client's command line */
	const char *needs[4];	/* the programs it cannot run without */
	const char *archive;	/* the image archive its load takes */
	int *hung;		/* set when box-oci hung under it: its later tests fail at once */
};

static int podman_hung, containerd_hung, dockerd_hung;

static const struct client podman = {
	"podman", CLIENTS "/podman-env", "podman", { "podman", "conmon", NULL }, "busybox-oci.tar", &podman_hung,
};
static const struct client containerd = {
	"containerd", CLIENTS "/containerd-env", "ctr", { "containerd", "ctr", "containerd-shim-runc-v2", NULL },
	"busybox-oci.tar", &containerd_hung,
};
static const struct client dockerd = {
	"dockerd", CLIENTS "/dockerd-env", "docker", { "dockerd", "docker", "containerd", NULL }, "busybox-docker.tar",
	&dockerd_hung,
};

static char oci_bin[PATH_MAX];		/* box-oci under test, an absolute path that keeps its name */
static char images[PATH_MAX];		/* mkarchives' output */
static const struct client *current;	/* the client a test started and has not stopped yet */
static char env_dir[PATH_MAX];		/* its DIR */
static char runtime[PATH_MAX];		/* what it calls: DIR/bin/box-oci, runtime-logger in front of box-oci */
static double last_seconds;		/* how long the last client command took */

/* ---- helpers ---------------------------------------------------------------------------- */

/* snprintf(3), failing the test rather than cutting a path short. */
static void format(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		fail_msg("a test path or command is too long: %.100s...", buf);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* run_argv_with_input, timed: last_seconds. */
static struct run timed_run(char *const argv[], const char *input)
{
	double start = now();
	struct run r = run_argv_with_input(argv, input);

	last_seconds = now() - start;
	return r;
}

/*
 * assert_status, saying so when timeout(1) or pty-drive gave up on a
 * command that hung (124 after SIGTERM, 137 when it took SIGKILL: podman
 * passes SIGTERM on to its container), and failing the client's later
 * tests at once: one hang is enough to know, and each costs a minute.
 */
static void expect_status(const struct run *r, int status, const char *what)
{
	if (r->status != status && (r->status == 124 || r->status == 137) && last_seconds >= STEP_SECONDS) {
		if (current)
			*current->hung = 1;
		fail_msg("%s did not finish in %d s: box-oci or the client hangs; stderr:\n%s\nstdout:\n%s", what,
			 STEP_SECONDS, r->err, r->out);
	}
	if (r->status != status)
		fail_msg("%s: exit status %d, expected %d; stderr:\n%s\nstdout:\n%s", what, r->status, status, r->err,
			 r->out);
}

/* Run `timeout LIMIT ENV-SCRIPT VERB DIR ARGS...` with the current client (ARGS end with NULL). */
static struct run env_runv(const char *limit, const char *verb, const char *arg, va_list ap)
{
	/* -k: a client that ignores SIGTERM gets SIGKILL 2 s later. */
	char *argv[64] = { "timeout", "-k", "2", (char *)limit, (char *)current->env, (char *)verb, env_dir };
	int argc = 7;

	for (const char *a = arg; a; a = va_arg(ap, const char *)) {
		assert_true(argc < 63);
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;
	return timed_run(argv, NULL);
}

/* The client's own command line: podman ARGS, ctr ARGS or docker ARGS, in its namespace. */
/* The client's script with verb (containerd-env handler, run-handler, ...), under STEP_TIMEOUT. */
static struct run env_verb(const char *verb, const char *arg, ...)
{
	struct run r;
	va_list ap;

	va_start(ap, arg);
	r = env_runv(STEP_TIMEOUT, verb, arg, ap);
	va_end(ap);
	return r;
}

static struct run cli(const char *arg, ...)
{
	struct run r;
	va_list ap;

	va_start(ap, arg);
	r = env_runv(STEP_TIMEOUT, current->cli, arg, ap);
	va_end(ap);
	return r;
}

/* The same, for a step that must succeed and print exactly want (NULL: anything). */
static void cli_ok(const char *want, const char *arg, ...)
{
	struct run r;
	va_list ap;

	va_start(ap, arg);
	r = env_runv(STEP_TIMEOUT, current->cli, arg, ap);
	va_end(ap);
	expect_status(&r, 0, arg);
	if (want)
		assert_string_equal(r.out, want);
}

/* The client's command line on a new terminal, holding the conversation steps with it. */
static struct run cli_on_pty(const char *steps, const char *arg, ...)
{
	char *argv[64] = { CLIENTS "/pty-drive", "--timeout", PTY_TIMEOUT, "--", (char *)current->env,
			   (char *)current->cli, env_dir };
	int argc = 7;
	va_list ap;

	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *)) {
		assert_true(argc < 63);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	return timed_run(argv, steps);
}

/* Is program on PATH? */
static int installed(const char *program)
{
	char cmd[256];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	format(cmd, sizeof(cmd), "command -v '%s' >/dev/null", program);
	return run_argv(argv).status == 0;
}

/*
 * Start client c with box-oci as its runtime, and load the busybox image.
 * Not installed: skip, naming what is missing (a pass would claim a check
 * that never ran).
 */
static void start_client_with(const struct client *c, const char *option, const char *value, const char *flag)
{
	char *start[] = { "timeout", "-k", "2", START_TIMEOUT, (char *)c->env, "start", env_dir, "--runtime", oci_bin,
			  (char *)option, (char *)value, (char *)flag, NULL };
	char archive[PATH_MAX];
	struct run r;

	skip_unless_root();
	for (int i = 0; c->needs[i]; i++) {
		if (!installed(c->needs[i])) {
			print_message("skipped: %s is not installed, so box-oci cannot be driven by %s here\n",
				      c->needs[i], c->name);
			skip();
		}
	}
	if (*c->hung)
		fail_msg("not run: box-oci hung under %s in an earlier test", c->name);
	/* oci-clients: DIR must fit unix socket paths (70 characters). */
	format(env_dir, sizeof(env_dir), "%s/%s", test_dir(), c->name);
	assert_true(strlen(env_dir) <= 70);
	r = timed_run(start, NULL);
	expect_status(&r, 0, "the client's start");
	current = c;
	/* start prints DIR/bin/box-oci: the name the client is given (ctr --runc-binary). */
	r.out[strcspn(r.out, "\n")] = '\0';
	format(runtime, sizeof(runtime), "%s", r.out);
	format(archive, sizeof(archive), "%s/%s", images, c->archive);
	r = timed_run((char *[]){ "timeout", "-k", "2", STEP_TIMEOUT, (char *)c->env, "load", env_dir, archive, NULL },
		      NULL);
	expect_status(&r, 0, "loading the image");
	assert_string_equal(r.out, IMAGE "\n");
}

static void start_client(const struct client *c)
{
	start_client_with(c, NULL, NULL, NULL);
}

/*
 * The client's stop, with its stderr in err (size bytes): its exit status.
 * Not run_argv: that kills what it runs after 60 s, and a stop cut short
 * leaves the daemons running. Past STOP_SECONDS stop itself is broken:
 * its process group gets SIGKILL, and the clean-host check names the rest.
 */
static int run_stop(const struct client *c, char *err, size_t size)
{
	char path[PATH_MAX + 16];
	char *argv[] = { (char *)c->env, "stop", env_dir, NULL };
	int fd, wstatus, status = -1;
	ssize_t n;
	pid_t pid;

	format(path, sizeof(path), "%s/stop.err", test_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		dup2(fd, STDERR_FILENO);
		dup2(open("/dev/null", O_RDWR), STDIN_FILENO);
		dup2(STDIN_FILENO, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	for (int tenths = 0; tenths < STOP_SECONDS * 10; tenths++) {
		if (waitpid(pid, &wstatus, WNOHANG) == pid) {
			status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
			break;
		}
		usleep(100 * 1000);
	}
	if (status < 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	n = pread(fd, err, size - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(fd);
	return status;
}

/* The client's stop: it removes what is left through the client, stops the daemons, and
 * exits 1 naming anything box-oci left: a container it still lists, a cgroup, a process. */
static void stop_client(void)
{
	static char err[RUN_OUTPUT_MAX];
	const struct client *c = current;
	int status;

	current = NULL;
	status = run_stop(c, err, sizeof(err));
	if (status != 0)
		fail_msg("%s stop: exit status %d, expected 0 (1: box-oci left something behind):\n%s", c->name,
			 status, err);
}

/* The command lines the client sent box-oci, one shape a line ($DIR, <ID>, <N> for what varies). */
static const char *argv_summary(void)
{
	static char summary[RUN_OUTPUT_MAX + 2];
	char *argv[] = { CLIENTS "/argv-summary", env_dir, NULL };
	struct run r = run_argv(argv);

	expect_status(&r, 0, "argv-summary");
	/* A newline each side, so that a whole line is found as "\nLINE\n". */
	format(summary, sizeof(summary), "\n%s", r.out);
	return summary;
}

/* The client sent box-oci exactly this command line (as argv-summary writes it). */
static void assert_sent(const char *line)
{
	char needle[2048];
	const char *summary = argv_summary();

	format(needle, sizeof(needle), "\n%s\n", line);
	if (!strstr(summary, needle))
		fail_msg("the client did not send box-oci\n  %s\nwhat it sent:%s", line, summary);
}

/* Is task id STOPPED in this `ctr tasks ls` output (columns TASK PID STATUS)? */
static int task_stopped(char *listing, const char *id)
{
	char *save = NULL, task[128], status[32];

	for (char *line = strtok_r(listing, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%127s %*s %31s", task, status) == 2 && strcmp(task, id) == 0)
			return strcmp(status, "STOPPED") == 0;
	}
	return 0;
}

/* Wait up to 5 s until task id is STOPPED: ctr tasks kill returns before the shim has seen it exit. */
static void wait_task_stopped(const char *id)
{
	struct run r;

	for (int tries = 0; tries < 50; tries++) {
		r = cli("tasks", "ls", NULL);
		expect_status(&r, 0, "ctr tasks ls");
		if (task_stopped(r.out, id))
			return;
		usleep(100 * 1000);
	}
	fail_msg("task %s was not STOPPED 5 s after SIGKILL:\n%s", id, r.out);
}

/* ---- podman ------------------------------------------------------------------------------ */

/* podman calls box-oci by conmon for create and exec, and by itself for the rest. */
#define PODMAN_CREATE "conmon: create --bundle $DIR/podman/root/overlay-containers/<ID>/userdata " \
		      "--pid-file $DIR/podman/runroot/overlay-containers/<ID>/userdata/pidfile"
#define PODMAN_EXEC "conmon: exec --pid-file $DIR/podman/root/overlay-containers/<ID>/userdata/<ID>/exec_pid " \
		    "--process $DIR/podman/root/overlay-containers/<ID>/userdata/<ID>/exec-process-<N> --detach"

static void test_podman_run_rm_gives_the_output_and_exit_status(void **state)
{
	struct run r;

	(void)state;
	start_client(&podman);
	r = cli("run", "--rm", "--network", "none", IMAGE, "sh", "-c", "echo out-$((6*7)); exit 3", NULL);
	expect_status(&r, 3, "podman run --rm");
	assert_string_equal(r.out, "out-42\n");
	cli_ok("", "ps", "-aq", NULL);
	/* podman sends box-oci no --log-format: its runtime_supports_json lists runc and crun by name only. */
	assert_sent(PODMAN_CREATE " <ID>");
	assert_sent("podman: start <ID>");
	assert_sent("podman: delete --force <ID>");
	stop_client();
}

static void test_podman_run_d_exec_stop_rm(void **state)
{
	struct run r;

	(void)state;
	start_client(&podman);
	/* PID 1 ends on SIGTERM: stop's SIGTERM reaches it, no SIGKILL needed (exit code 0, not 137). */
	r = cli("run", "-d", "--name", "c1", "--network", "none", IMAGE, "sh", "-c",
		"trap 'exit 0' TERM; sleep 600 & wait", NULL);
	expect_status(&r, 0, "podman run -d");
	assert_int_equal(strlen(r.out), 65);	/* the 64-hex id and a newline */
	r = cli("exec", "c1", "sh", "-c", "echo exec-ok; exit 5", NULL);
	expect_status(&r, 5, "podman exec");
	assert_string_equal(r.out, "exec-ok\n");
	cli_ok("c1\n", "stop", "-t", "10", "c1", NULL);
	cli_ok("0\n", "inspect", "--format", "{{.State.ExitCode}}", "c1", NULL);
	cli_ok("c1\n", "rm", "c1", NULL);
	cli_ok("", "ps", "-aq", NULL);
	assert_sent(PODMAN_EXEC " <ID>");
	assert_sent("podman: kill <ID> 15");
	assert_sent("podman: delete --force <ID>");
	stop_client();
}

static void test_podman_run_it_takes_typed_input(void **state)
{
	struct run r;

	(void)state;
	start_client(&podman);
	r = cli_on_pty(CONVERSATION("7"), "run", "-it", "--rm", "--network", "none", IMAGE, "sh", NULL);
	expect_status(&r, 7, "podman run -it, exit 7 typed at its shell");
	assert_non_null(strstr(r.out, "typed-42\n"));
	assert_non_null(strstr(r.out, "/dev/pts/0\n"));
	/* With -t, box-oci hands the terminal's master to conmon over a unix socket. */
	assert_sent(PODMAN_CREATE " --console-socket /tmp/conmon-term.<N> <ID>");
	stop_client();
}

/* ---- containerd (ctr) -------------------------------------------------------------------- */

/* Every call from the shim: the namespace's state root, a JSON log the shim reads errors from. */
#define SHIM(id) "containerd-shim: --root /run/containerd/runc/default " \
		 "--log $DIR/containerd/state/io.containerd.runtime.v2.task/default/" id "/log.json --log-format json "
#define SHIM_CREATE(id) SHIM(id) "create --bundle $DIR/containerd/state/io.containerd.runtime.v2.task/default/" id \
			" --pid-file $DIR/containerd/state/io.containerd.runtime.v2.task/default/" id "/init.pid"

static void test_ctr_run_gives_the_output_and_exit_status(void **state)
{
	struct run r;

	(void)state;
	start_client(&containerd);
	r = cli("run", "--rm", "--runc-binary", runtime, IMAGE, "t1", "sh", "-c", "echo out-$((6*7)); exit 3", NULL);
	expect_status(&r, 3, "ctr run --rm");
	assert_string_equal(r.out, "out-42\n");
	cli_ok("", "containers", "ls", "-q", NULL);
	assert_sent(SHIM_CREATE("t1") " t1");
	assert_sent(SHIM("t1") "start t1");
	assert_sent(SHIM("t1") "delete t1");
	stop_client();
}

static void test_ctr_run_d_exec_kill_delete(void **state)
{
	struct run r;

	(void)state;
	start_client(&containerd);
	cli_ok("", "run", "-d", "--runc-binary", runtime, IMAGE, "c1", "sleep", "600", NULL);
	r = cli("tasks", "exec", "--exec-id", "e1", "c1", "sh", "-c", "echo exec-ok; exit 5", NULL);
	expect_status(&r, 5, "ctr tasks exec");
	assert_string_equal(r.out, "exec-ok\n");
	/* sleep as PID 1 ignores SIGTERM (no handler, and the kernel protects PID 1): SIGKILL. */
	cli_ok("", "tasks", "kill", "-s", "SIGKILL", "c1", NULL);
	wait_task_stopped("c1");
	cli_ok(NULL, "tasks", "delete", "c1", NULL);
	cli_ok("", "containers", "delete", "c1", NULL);
	cli_ok("", "containers", "ls", "-q", NULL);
	/* The shim runs exec detached and waits for the process itself; the process spec comes as a file. */
	assert_sent(SHIM("c1") "exec --process $DIR/tmp/runc-process<N> --detach "
		    "--pid-file $DIR/containerd/state/io.containerd.runtime.v2.task/default/c1/e1.pid c1");
	assert_sent(SHIM("c1") "kill c1 9");
	assert_sent(SHIM("c1") "delete c1");
	stop_client();
}

static void test_ctr_run_t_takes_typed_input(void **state)
{
	struct run r;

	(void)state;
	start_client(&containerd);
	r = cli_on_pty(CONVERSATION("7"), "run", "-t", "--rm", "--runc-binary", runtime, IMAGE, "t3", "sh", NULL);
	expect_status(&r, 7, "ctr run -t, exit 7 typed at its shell");
	assert_non_null(strstr(r.out, "typed-42\n"));
	assert_non_null(strstr(r.out, "/dev/pts/0\n"));
	assert_sent(SHIM_CREATE("t3") " --console-socket $DIR/tmp/pty<N>/pty.sock t3");
	stop_client();
}

/* ---- dockerd ----------------------------------------------------------------------------- */

/* dockerd's runtimes all keep their state below exec-root's runtime-runc; ids are docker's 64 hex. */
/*
 * Past one machine: a Kubernetes node's containerd offers box-oci as the
 * RuntimeClass handler "box" with the file k8s-containerd-config writes
 * (the one README shows, with the box-oci under test as BinaryName).
 * containerd's own CRI plugin loads and checks that table; ctr then runs a
 * task with exactly the runtime and options the handler selects
 * (k8s-handler), so it reaches the runc shim and box-oci as a pod of that
 * RuntimeClass would. (No kubelet here: nothing else drives CRI.)
 */
static void test_a_kubernetes_runtimeclass_handler_runs_box_oci(void **state)
{
	char config[PATH_MAX], binary[PATH_MAX];
	struct run r;

	(void)state;
	skip_unless_root();
	format(env_dir, sizeof(env_dir), "%s/%s", test_dir(), containerd.name);
	/* The node's file names the runtime the clients of DIR are given: DIR/bin/box-oci. */
	format(binary, sizeof(binary), "%s/bin/box-oci", env_dir);
	format(config, sizeof(config), "%s/k8s-containerd.toml", test_dir());
	host_sh("%s/k8s-containerd-config %s box > %s", CLIENTS, binary, config);
	start_client_with(&containerd, "--k8s", config, "--cri");
	/* containerd's CRI plugin refuses to start on a table it cannot use; its log shows the one it took. */
	host_sh("grep -q 'Start cri plugin with config.*Runtimes:map.box:{Type:io.containerd.runc.v2 ' %s/log/containerd.log",
		env_dir);
	r = env_verb("handler", "box", NULL);
	expect_status(&r, 0, "containerd-env handler box");
	assert_non_null(strstr(r.out, "--runc-binary\n"));
	assert_non_null(strstr(r.out, binary));
	r = env_verb("run-handler", "box", "--rm", IMAGE, "k1", "sh", "-c", "echo k8s-$((40+2))", NULL);
	expect_status(&r, 0, "ctr run with the handler's flags");
	assert_string_equal(r.out, "k8s-42\n");
	assert_sent(SHIM_CREATE("k1") " k1");
	assert_sent(SHIM("k1") "start k1");
	assert_sent(SHIM("k1") "delete k1");
	stop_client();
}

#define MOBY "containerd-shim: --root $DIR/docker/exec/runtime-runc/moby " \
	     "--log $DIR/containerd/state/io.containerd.runtime.v2.task/moby/<ID>/log.json --log-format json "
#define MOBY_CREATE MOBY "create --bundle $DIR/containerd/state/io.containerd.runtime.v2.task/moby/<ID> " \
		    "--pid-file $DIR/containerd/state/io.containerd.runtime.v2.task/moby/<ID>/init.pid"

static void test_docker_run_runtime_box_gives_the_output_and_exit_status(void **state)
{
	struct run r;

	(void)state;
	start_client(&dockerd);
	/* --add-runtime box=DIR/bin/box-oci: docker lists it beside runc. */
	r = cli("info", "--format", "{{json .Runtimes}}", NULL);
	expect_status(&r, 0, "docker info");
	assert_non_null(strstr(r.out, "\"box\""));
	r = cli("run", "--runtime", "box", "--rm", "--net=none", IMAGE, "sh", "-c", "echo out-$((6*7)); exit 3", NULL);
	expect_status(&r, 3, "docker run --runtime box --rm");
	assert_string_equal(r.out, "out-42\n");
	cli_ok("", "ps", "-aq", NULL);
	assert_sent(MOBY_CREATE " <ID>");
	assert_sent(MOBY "start <ID>");
	assert_sent(MOBY "delete <ID>");
	stop_client();
}

static void test_docker_run_d_exec_stop_rm(void **state)
{
	struct run r;

	(void)state;
	start_client(&dockerd);
	r = cli("run", "--runtime", "box", "-d", "--name", "c1", "--net=none", IMAGE, "sh", "-c",
		"trap 'exit 0' TERM; sleep 600 & wait", NULL);
	expect_status(&r, 0, "docker run -d");
	assert_int_equal(strlen(r.out), 65);
	r = cli("exec", "c1", "sh", "-c", "echo exec-ok; exit 5", NULL);
	expect_status(&r, 5, "docker exec");
	assert_string_equal(r.out, "exec-ok\n");
	cli_ok("c1\n", "stop", "-t", "10", "c1", NULL);
	cli_ok("0\n", "inspect", "--format", "{{.State.ExitCode}}", "c1", NULL);
	cli_ok("c1\n", "rm", "c1", NULL);
	cli_ok("", "ps", "-aq", NULL);
	assert_sent(MOBY "exec --process $DIR/tmp/runc-process<N> --detach "
		    "--pid-file $DIR/containerd/state/io.containerd.runtime.v2.task/moby/<ID>/<ID>.pid <ID>");
	assert_sent(MOBY "kill <ID> 15");
	assert_sent(MOBY "delete <ID>");
	stop_client();
}

static void test_docker_run_it_takes_typed_input(void **state)
{
	struct run r;

	(void)state;
	start_client(&dockerd);
	r = cli_on_pty(CONVERSATION("7"), "run", "--runtime", "box", "-it", "--rm", "--net=none", IMAGE, "sh", NULL);
	expect_status(&r, 7, "docker run -it, exit 7 typed at its shell");
	assert_non_null(strstr(r.out, "typed-42\n"));
	assert_non_null(strstr(r.out, "/dev/pts/0\n"));
	assert_sent(MOBY_CREATE " --console-socket $DIR/tmp/pty<N>/pty.sock <ID>");
	stop_client();
}

/* ---- setup ------------------------------------------------------------------------------- */

/* A client a failed test left running is stopped all the same, so the next test starts clean. */
static int client_teardown(void **state)
{
	if (current) {
		static char err[RUN_OUTPUT_MAX];
		int status = run_stop(current, err, sizeof(err));

		if (status != 0)
			print_error("%s stop %s after a failed test: status %d\n%s", current->name, env_dir, status, err);
		current = NULL;
	}
	return integration_teardown(state);
}

/*
 * The registry with testkit's busybox image, and that image as the two
 * archives the clients load (mkarchives): loading takes a tenth of a
 * second, a pull through each client more. box-oci's path keeps its name
 * (no realpath): box picks its face from argv[0], and the harness names
 * the runtime it gives the clients after it.
 */
static int group_setup(void **state)
{
	char cmd[4 * PATH_MAX], cwd[PATH_MAX];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct run r;

	if (start_registry(state, "", "busybox") < 0)
		return -1;
	if (!registry[0])
		return 0;	/* not root: every test skips itself */
	if (box_path()[0] != '/' && !getcwd(cwd, sizeof(cwd))) {
		print_error("getcwd: %s\n", strerror(errno));
		return -1;
	}
	if (snprintf(oci_bin, sizeof(oci_bin), "%s%s%s-oci", box_path()[0] == '/' ? "" : cwd,
		     box_path()[0] == '/' ? "" : "/", box_path()) >= (int)sizeof(oci_bin)) {
		print_error("the path of box-oci is too long\n");
		return -1;
	}
	snprintf(images, sizeof(images), "%s/images", test_dir());
	snprintf(cmd, sizeof(cmd), "timeout 60 %s/mkarchives %s %s >/dev/null", CLIENTS, images, registry);
	r = run_argv(argv);
	if (r.status != 0) {
		print_error("making the image archives failed (%d): %s\n", r.status, r.err);
		return -1;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_podman_run_rm_gives_the_output_and_exit_status, integration_setup,
						client_teardown),
		cmocka_unit_test_setup_teardown(test_podman_run_d_exec_stop_rm, integration_setup, client_teardown),
		cmocka_unit_test_setup_teardown(test_podman_run_it_takes_typed_input, integration_setup, client_teardown),
		cmocka_unit_test_setup_teardown(test_ctr_run_gives_the_output_and_exit_status, integration_setup,
						client_teardown),
		cmocka_unit_test_setup_teardown(test_ctr_run_d_exec_kill_delete, integration_setup, client_teardown),
		cmocka_unit_test_setup_teardown(test_ctr_run_t_takes_typed_input, integration_setup, client_teardown),
		cmocka_unit_test_setup_teardown(test_a_kubernetes_runtimeclass_handler_runs_box_oci, integration_setup,
						client_teardown),
		cmocka_unit_test_setup_teardown(test_docker_run_runtime_box_gives_the_output_and_exit_status,
						integration_setup, client_teardown),
		cmocka_unit_test_setup_teardown(test_docker_run_d_exec_stop_rm, integration_setup, client_teardown),
		cmocka_unit_test_setup_teardown(test_docker_run_it_takes_typed_input, integration_setup, client_teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("step07 oci clients", tests, group_setup, stop_registry);
}
