/*
 * test_engine.c - final: the engine, used as a user uses docker or podman:
 * box run -d, ps, logs, stop, kill, rm, inspect, wait, create, start, -it.
 * As root; every test ends with the clean-host check (no container's mount,
 * cgroup, veth, nft rule or process is left), and every test removes the
 * containers it made.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "imagetest.h"	/* boxtest.h, and the local registry with testkit's images */

enum { CONCURRENT_RUNS = 20, MONITOR_RSS_LIMIT_KB = 1024 };

/* Reap what we are the subreaper of (the monitors, once they exit). */
static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* The first line of r.out, as a string of its own. */
static const char *first_line(struct run *r)
{
	r->out[strcspn(r->out, "\n")] = '\0';
	return r->out;
}

/* box run -d ... and the new container's long id (64 hex digits). */
static void run_detached(char id[65], const char *name, const char *cmd)
{
	struct run r = run_box("run", "-d", "--network", "none", "--name", name, test_rootfs(), "/bin/sh", "-c", cmd,
			       NULL);

	assert_status(&r, 0);
	assert_int_equal(strlen(first_line(&r)), 64);
	strcpy(id, r.out);
}

/* A path in the record of a container: $BOX_ROOT/containers/<id>/<file>. */
static const char *record_file(const char *id, const char *file)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/containers/%s/%s", getenv("BOX_ROOT"), id, file);
	return path;
}

/* The monitor's pid, from state.json's "MonitorPid". */
static pid_t monitor_pid(const char *id)
{
	char text[4096], *p;

	assert_non_null(read_text(record_file(id, "state.json"), text, sizeof(text)));
	p = strstr(text, "\"MonitorPid\":");
	assert_non_null(p);
	return (pid_t)atoi(p + strlen("\"MonitorPid\":"));
}

/* box rm -f of every container: what a test leaves must not be on the next one's list. */
static void remove_all(void)
{
	struct run r = run_box("ps", "-aq", NULL);

	assert_status(&r, 0);
	for (char *id = strtok(r.out, "\n"); id; id = strtok(NULL, "\n")) {
		struct run rm = run_box("rm", "-f", id, NULL);

		assert_status(&rm, 0);
	}
	reap();
}

static void assert_one_line_125(const struct run *r, const char *what)
{
	assert_status(r, 125);
	if (!strstr(r->err, what) || strchr(r->err, '\n') != r->err + strlen(r->err) - 1 ||
	    strncmp(r->err, "box: ", 5) != 0)
		fail_msg("expected one line 'box: ...%s...', got: %s", what, r->err);
}

/* The core of the engine: detached, its output in the log, its exit code recorded, removed. */
static void test_detached_run_logs_exit_code_and_rm(void **state)
{
	char id[65];

	(void)state;
	skip_unless_root();
	run_detached(id, "t1", "echo to-stdout; echo to-stderr >&2; exit 3");
	struct run r = run_box("wait", "t1", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "3\n");
	r = run_box("logs", "t1", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "to-stdout\n");
	assert_string_equal(r.err, "to-stderr\n");
	/* -t: RFC 3339 with nine digits, then the line; --tail 1: the last line (stderr's). */
	r = run_box("logs", "-t", "--tail", "1", id, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "");
	assert_int_equal(strlen(r.err), strlen("2026-11-28T21:46:00.123456789Z to-stderr\n"));
	assert_non_null(strstr(r.err, "Z to-stderr\n"));
	r = run_box("ps", "-a", NULL);
	assert_non_null(strstr(r.out, "Exited (3)"));
	assert_non_null(strstr(r.out, "t1"));
	assert_int_equal(strncmp(r.out, "CONTAINER ID   IMAGE", 20), 0);
	r = run_box("ps", "-a", "--format", "json", NULL);
	assert_non_null(strstr(r.out, "\"Names\":\"t1\""));
	assert_non_null(strstr(r.out, "\"State\":\"exited\""));
	r = run_box("inspect", "t1", NULL);
	assert_non_null(strstr(r.out, "\"ExitCode\": 3"));
	assert_non_null(strstr(r.out, "\"Name\": \"/t1\""));
	r = run_box("rm", "t1", NULL);
	assert_status(&r, 0);
	assert_int_equal(access(record_file(id, ""), F_OK), -1);
	r = run_box("ps", "-aq", NULL);
	assert_string_equal(r.out, "");
	reap();
}

/* --rm: the monitor's cleanup removes the record too. */
static void test_rm_flag_removes_the_container_after_its_exit(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "-d", "--rm", "--network", "none", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
	for (int tries = 0; tries < 250; tries++) {
		r = run_box("ps", "-aq", NULL);
		if (!r.out[0])
			break;
		usleep(20000);
	}
	assert_string_equal(r.out, "");
	/* In the foreground, --rm has happened once box returns, and the status passes through. */
	r = run_box("run", "--rm", "--network", "none", test_rootfs(), "/bin/sh", "-c", "echo fg; exit 7", NULL);
	assert_status(&r, 7);
	assert_string_equal(r.out, "fg\n");
	r = run_box("ps", "-aq", NULL);
	assert_string_equal(r.out, "");
	reap();
}

/* The monitor stays small: conmon-rs is about 1.5 MB, containerd-shim 5 to 11 MB. */
static void test_monitor_rss_is_under_1_mib(void **state)
{
	char id[65], path[64], text[8192], *p;

	(void)state;
	skip_unless_root();
	run_detached(id, "small", "sleep 60");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)monitor_pid(id));
	assert_non_null(read_text(path, text, sizeof(text)));
	assert_non_null(strstr(text, "Name:\tbox-monitor"));
	p = strstr(text, "VmRSS:");
	assert_non_null(p);
	long rss = atol(p + strlen("VmRSS:"));
	print_message("box-monitor VmRSS: %ld kB\n", rss);
	assert_true(rss > 0 && rss < MONITOR_RSS_LIMIT_KB);
	remove_all();
}

/* box stop: SIGTERM first (a container that handles it exits at once), SIGKILL after -t. */
static void test_stop_sends_sigterm_then_sigkill(void **state)
{
	char id[65];
	struct timespec t0, t1;

	(void)state;
	skip_unless_root();
	run_detached(id, "polite", "trap 'exit 42' TERM; while :; do sleep 0.1; done");
	usleep(300000);
	struct run r = run_box("stop", "-t", "5", "polite", NULL);
	assert_status(&r, 0);
	r = run_box("inspect", "polite", NULL);
	assert_non_null(strstr(r.out, "\"ExitCode\": 42"));
	/* sleep as PID 1 has no handler: SIGTERM does nothing to it (pid_namespaces(7)), SIGKILL after 1 s. */
	run_detached(id, "stubborn", "exec sleep 60");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = run_box("stop", "-t", "1", "stubborn", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_status(&r, 0);
	assert_true(t1.tv_sec - t0.tv_sec >= 1 || t1.tv_nsec >= t0.tv_nsec);
	r = run_box("ps", "-a", NULL);
	assert_non_null(strstr(r.out, "Exited (137)"));
	remove_all();
}

/* Out of memory: exit 137, and inspect says OOMKilled (read from the cgroup before the cleanup removes it). */
static void test_oom_killed_is_recorded(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "-d", "--name", "hog", "-m", "8m", "--network", "none", test_rootfs(), "/bin/sh",
			       "-c", "x=aaaaaaaa; while :; do x=$x$x; done", NULL);
	assert_status(&r, 0);
	r = run_box("wait", "hog", NULL);
	assert_string_equal(r.out, "137\n");
	r = run_box("inspect", "hog", NULL);
	assert_non_null(strstr(r.out, "\"OOMKilled\": true"));
	remove_all();
}

/* --stop-signal is what box stop sends; --log-opt rotates log.json (no file over the cap), and --tail reads across. */
static void test_stop_signal_and_log_rotation(void **state)
{
	char id[80];

	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "-d", "--name", "sig", "--stop-signal", "USR1", "--network", "none", test_rootfs(),
			       "/bin/sh", "-c", "trap 'exit 11' USR1; while :; do sleep 0.1; done", NULL);
	assert_status(&r, 0);
	usleep(300000);
	r = run_box("stop", "sig", NULL);
	assert_status(&r, 0);
	r = run_box("inspect", "sig", NULL);
	assert_non_null(strstr(r.out, "\"ExitCode\": 11"));
	r = run_box("run", "-d", "--name", "chatty", "--log-opt", "max-size=2k", "--log-opt", "max-file=3", "--network",
		    "none", test_rootfs(), "/bin/sh", "-c", "for i in $(seq 300); do echo line $i; done", NULL);
	assert_status(&r, 0);
	snprintf(id, sizeof(id), "%.64s", first_line(&r));
	r = run_box("wait", "chatty", NULL);
	host_sh("test -f %s.2 && ! test -e %s.3 && test $(stat -c %%s %s.1) -le 2048", record_file(id, "log.json"),
		record_file(id, "log.json"), record_file(id, "log.json"));
	r = run_box("logs", "--tail", "2", "chatty", NULL);
	assert_string_equal(r.out, "line 299\nline 300\n");
	remove_all();
}

/* box kill -s: the signal reaches the container's init. */
static void test_kill_sends_the_signal(void **state)
{
	char id[65];

	(void)state;
	skip_unless_root();
	run_detached(id, "k", "trap 'exit 10' USR1; while :; do sleep 0.1; done");
	usleep(300000);
	struct run r = run_box("kill", "-s", "USR1", "k", NULL);
	assert_status(&r, 0);
	r = run_box("wait", "k", NULL);
	assert_string_equal(r.out, "10\n");
	r = run_box("kill", "k", NULL);
	assert_one_line_125(&r, "not running");
	remove_all();
}

/* box create, then box start -a: the output, the status; start again appends to the log. */
static void test_create_then_start_attached(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("create", "--name", "later", "--network", "none", "-e", "GREETING=hi", test_rootfs(),
			       "/bin/sh", "-c", "echo $GREETING; exit 4", NULL);
	assert_status(&r, 0);
	r = run_box("ps", "-a", NULL);
	assert_non_null(strstr(r.out, "Created"));
	r = run_box("start", "-a", "later", NULL);
	assert_status(&r, 4);
	assert_string_equal(r.out, "hi\n");
	r = run_box("start", "-a", "later", NULL);
	assert_status(&r, 4);
	r = run_box("logs", "later", NULL);
	assert_string_equal(r.out, "hi\nhi\n");
	remove_all();
}

/* Read from the pty master until text shows up (or 5 s pass); what was read goes to buf. */
static bool pty_expect(int master, const char *text, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int tries = 0; tries < 50 && !strstr(buf, text); tries++) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(master, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return strstr(buf, text) != NULL;
}

/* Start box with a pty of its own as its terminal, as a user's shell would. */
static pid_t box_on_a_pty(int *master, char *const argv[])
{
	pid_t pid = forkpty(master, NULL, NULL, NULL);

	if (pid == 0) {
		execv(box_path(), argv);
		_exit(127);
	}
	assert_true(pid > 0);
	return pid;
}

/* -it: a shell on a pty through the monitor; Ctrl-C reaches it, the exit code comes back. */
static void test_run_it_through_a_pty(void **state)
{
	char buf[8192];
	char *argv[] = { "box", "run", "-it", "--rm", "--network", "none", (char *)test_rootfs(), "/bin/sh", NULL };
	int master, status;

	(void)state;
	skip_unless_root();
	pid_t pid = box_on_a_pty(&master, argv);
	assert_true(pty_expect(master, "# ", buf, sizeof(buf)));
	assert_int_equal(write(master, "echo $((6*7))\r", 14), 14);
	assert_true(pty_expect(master, "42", buf, sizeof(buf)));
	assert_int_equal(write(master, "sleep 30\r", 9), 9);
	usleep(300000);
	assert_int_equal(write(master, "\003", 1), 1);	/* Ctrl-C: the sleep ends, the shell stays */
	assert_true(pty_expect(master, "# ", buf, sizeof(buf)));
	assert_int_equal(write(master, "exit 5\r", 7), 7);
	pty_expect(master, "never", buf, sizeof(buf));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 5);
	close(master);
	struct run r = run_box("ps", "-aq", NULL);
	assert_string_equal(r.out, "");
	reap();
}

/* exec -it: a shell on a pty of the container's own devpts; its status back. */
static void test_exec_it_through_a_pty(void **state)
{
	char buf[8192], id[65];
	char *argv[] = { "box", "exec", "-it", "shell", "/bin/sh", NULL };
	int master, status;

	(void)state;
	skip_unless_root();
	run_detached(id, "shell", "exec sleep 60");
	usleep(300000);
	pid_t pid = box_on_a_pty(&master, argv);
	assert_true(pty_expect(master, "# ", buf, sizeof(buf)));
	assert_int_equal(write(master, "tty; echo $((6*7))\r", 19), 19);
	assert_true(pty_expect(master, "42", buf, sizeof(buf)));
	assert_non_null(strstr(buf, "/dev/pts/0"));
	assert_int_equal(write(master, "exit 4\r", 7), 7);
	pty_expect(master, "never", buf, sizeof(buf));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 4);
	close(master);
	remove_all();
}

/* Ctrl-P Ctrl-Q: box returns, the container runs on. */
static void test_ctrl_p_ctrl_q_detaches(void **state)
{
	char buf[8192];
	char *argv[] = { "box", "run", "-it", "--name", "stays", "--network", "none", (char *)test_rootfs(), "/bin/sh",
			 NULL };
	int master, status;

	(void)state;
	skip_unless_root();
	pid_t pid = box_on_a_pty(&master, argv);
	assert_true(pty_expect(master, "# ", buf, sizeof(buf)));
	assert_int_equal(write(master, "\020\021", 2), 2);
	pty_expect(master, "never", buf, sizeof(buf));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	close(master);
	struct run r = run_box("ps", NULL);
	assert_non_null(strstr(r.out, "stays"));
	assert_non_null(strstr(r.out, "Up "));
	remove_all();
}

/*
 * 20 box run -d at once: 20 containers, 20 names, 20 directories, 20 addresses; then all stopped
 * and removed. Each prints its address with ip, not hostname -i: with no nsswitch.conf glibc asks
 * DNS before /etc/hosts, and a lookup that times out on a loaded machine gives "Unknown host".
 */
static void test_twenty_detached_runs_at_once(void **state)
{
	char cmd[8192];

	(void)state;
	skip_unless_root();
	snprintf(cmd, sizeof(cmd),
		 "for i in $(seq %d); do %s run -d --name c$i %s /bin/sh -c 'ip -4 -o addr show eth0 | cut -d\" \" -f7; exec sleep 60' "
		 "> %s/id$i 2>&1 & done; wait", CONCURRENT_RUNS, box_path(), test_rootfs(), test_dir());
	host_sh("%s", cmd);
	struct run r = run_box("ps", "-q", NULL);
	assert_status(&r, 0);
	int n = 0;
	for (char *p = r.out; (p = strchr(p, '\n')); p++)
		n++;
	assert_int_equal(n, CONCURRENT_RUNS);
	/* Each address once: the logs of all, sorted, then uniq -d must print nothing. */
	snprintf(cmd, sizeof(cmd), "sleep 1; for i in $(seq %d); do %s logs c$i; done | sort | uniq -d | grep . && exit 1; "
		 "for i in $(seq %d); do %s logs c$i; done | grep -c '^10\\.' | grep -qx %d", CONCURRENT_RUNS, box_path(),
		 CONCURRENT_RUNS, box_path(), CONCURRENT_RUNS);
	host_sh("%s", cmd);
	host_sh("test $(ls %s/containers | grep -c '^[0-9a-f]\\{64\\}$') -eq %d", getenv("BOX_ROOT"), CONCURRENT_RUNS);
	host_sh("%s stop -t 0 $(%s ps -q) >/dev/null", box_path(), box_path());
	r = run_box("ps", "-q", NULL);
	assert_string_equal(r.out, "");
	host_sh("%s rm $(%s ps -aq) >/dev/null", box_path(), box_path());
	r = run_box("ps", "-aq", NULL);
	assert_string_equal(r.out, "");
	reap();
}

/* The monitor killed with SIGKILL: its container dies with it; ps says Exited; rm cleans up the rest. */
static void test_recovery_after_sigkill_of_the_monitor(void **state)
{
	char id[65];

	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "-d", "--name", "victim", test_rootfs(), "/bin/sleep", "60", NULL);
	assert_status(&r, 0);
	strcpy(id, first_line(&r));
	assert_int_equal(kill(monitor_pid(id), SIGKILL), 0);
	usleep(300000);
	reap();
	r = run_box("ps", "-a", NULL);
	assert_non_null(strstr(r.out, "Exited (137)"));
	r = run_box("rm", "victim", NULL);
	assert_status(&r, 0);
	/* The same, cleaned up by box system prune (the clean-host check looks at cgroups, veths, nft rules). */
	r = run_box("run", "-d", "--name", "victim2", "-p", "8081:80", test_rootfs(), "/bin/sleep", "60", NULL);
	assert_status(&r, 0);
	strcpy(id, first_line(&r));
	assert_int_equal(kill(monitor_pid(id), SIGKILL), 0);
	usleep(300000);
	reap();
	r = run_box("system", "prune", NULL);
	assert_status(&r, 0);
	r = run_box("ps", "-aq", NULL);
	assert_string_equal(r.out, "");
	reap();
}

/* box itself killed with SIGKILL while attached: the container lives on under its monitor; rm -f ends it. */
static void test_recovery_after_sigkill_of_box(void **state)
{
	char pidfile[4096];

	(void)state;
	skip_unless_root();
	snprintf(pidfile, sizeof(pidfile), "%s/box.pid", test_dir());
	host_sh("%s run --name orphan %s /bin/sleep 60 >/dev/null 2>&1 & echo $! > %s", box_path(), test_rootfs(),
		pidfile);
	struct run r;
	for (int tries = 0; tries < 250; tries++) {
		r = run_box("ps", "-q", NULL);
		if (r.out[0])
			break;
		usleep(20000);
	}
	assert_int_equal(signal_and_reap(pidfile, SIGKILL), 128 + SIGKILL);
	r = run_box("ps", NULL);
	assert_non_null(strstr(r.out, "orphan"));
	assert_non_null(strstr(r.out, "Up "));
	r = run_box("rm", "-f", "orphan", NULL);
	assert_status(&r, 0);
	r = run_box("ps", "-aq", NULL);
	assert_string_equal(r.out, "");
	reap();
}

/* Bad input: one line, "box: ...", and 125. */
static void test_bad_input_is_one_line_and_125(void **state)
{
	char id[65];

	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "-d", "--pull", "never", "127.0.0.1:1/no-such-image", NULL);
	assert_one_line_125(&r, "no-such-image");
	r = run_box("ps", "-aq", NULL);
	assert_string_equal(r.out, "");
	run_detached(id, "taken", "sleep 60");
	r = run_box("run", "-d", "--name", "taken", test_rootfs(), "/bin/true", NULL);
	assert_one_line_125(&r, "already in use");
	r = run_box("run", "-d", "--memory", "lots", test_rootfs(), "/bin/true", NULL);
	assert_one_line_125(&r, "--memory lots");
	r = run_box("run", "-d", "--pull", "sometimes", test_rootfs(), "/bin/true", NULL);
	assert_one_line_125(&r, "--pull sometimes");
	r = run_box("stop", "-t", "soon", "taken", NULL);
	assert_one_line_125(&r, "-t soon");
	r = run_box("logs", "--bogus", "taken", NULL);
	assert_one_line_125(&r, "unknown flag --bogus");
	r = run_box("rm", "no-such-container", NULL);
	assert_one_line_125(&r, "no such container");
	/* 17 ids in 16 hex digits: two start with the same digit (pigeonhole), so one digit is ambiguous. */
	for (int i = 0; i < 16; i++) {
		r = run_box("create", "--network", "none", test_rootfs(), "/bin/true", NULL);
		assert_status(&r, 0);
	}
	r = run_box("ps", "-aq", NULL);
	char digit[2] = { 0 };
	for (char *p = r.out; *p && !digit[0]; p = strchr(p, '\n') + 1) {
		for (char *q = strchr(p, '\n') + 1; *q; q = strchr(q, '\n') + 1) {
			if (*q == *p)
				digit[0] = *p;
		}
	}
	assert_true(digit[0]);
	r = run_box("inspect", digit, NULL);
	assert_one_line_125(&r, "more than one container");
	remove_all();
}

/* -e, -w, -u, --entrypoint: what the process gets. */
static void test_env_workdir_user_and_entrypoint(void **state)
{
	char envfile[4096];

	(void)state;
	skip_unless_root();
	snprintf(envfile, sizeof(envfile), "%s/env.list", test_dir());
	host_sh("printf '# a comment\\nFROM_FILE=yes\\n' > %s", envfile);
	struct run r = run_box("run", "--rm", "--network", "none", "-e", "A=1", "--env-file", envfile, "-w", "/tmp",
			       "-u", "65534:65534", test_rootfs(), "/bin/sh", "-c", "echo $A $FROM_FILE $(pwd) $(id -u)",
			       NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "1 yes /tmp 65534\n");
	reap();
}

/* The stage's flags reach a recorded container too: box start parses the recorded words as box run did. */
static void test_stage_flags_pass_through_the_engine(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "-d", "--name", "limited", "--network", "none", "--read-only", "--tmpfs", "/t",
			       "--pids-limit", "10", "--hostname", "h1", "--cap-drop", "ALL", test_rootfs(), "/bin/sh", "-c",
			       "hostname; touch /x 2>/dev/null || echo read-only; touch /t/y && echo tmpfs-ok; "
			       "grep CapEff /proc/self/status",
			       NULL);
	assert_status(&r, 0);
	r = run_box("wait", "limited", NULL);
	assert_string_equal(r.out, "0\n");
	r = run_box("logs", "limited", NULL);
	assert_string_equal(r.out, "h1\nread-only\ntmpfs-ok\nCapEff:\t0000000000000000\n");
	/* box start runs it again, with the same flags. */
	r = run_box("start", "-a", "limited", NULL);
	assert_string_equal(r.out, "h1\nread-only\ntmpfs-ok\nCapEff:\t0000000000000000\n");
	remove_all();
}

/*
 * The caller's fds (7 and 9 of a shell here) reach neither the monitor nor
 * the container's init: the monitor would hold them for the container's
 * life, and the container could use them (CVE-2024-21626's lesson).
 */
static void test_only_stdio_reaches_a_detached_container(void **state)
{
	char marker[4096], idfile[4200], id[80] = "", cmd[9000], *p;

	(void)state;
	skip_unless_root();
	snprintf(marker, sizeof(marker), "%s/caller-fd-marker", test_dir());
	snprintf(idfile, sizeof(idfile), "%s/fds.id", test_dir());
	host_sh("exec 7<%s 9>%s; %s run -d --name fds --network none %s /bin/sleep 60 > %s", "/dev/null", marker,
		box_path(), test_rootfs(), idfile);
	assert_non_null(read_text(idfile, id, sizeof(id)));
	id[strcspn(id, "\n")] = '\0';
	struct run r = run_box("inspect", "fds", NULL);
	p = strstr(r.out, "\"Pid\": ");
	assert_non_null(p);
	snprintf(cmd, sizeof(cmd), "test \"$(ls /proc/%d/fd | tr '\\n' ' ')\" = '0 1 2 ' && "
		 "! ls -l /proc/%d/fd | grep -q caller-fd-marker", atoi(p + 7), (int)monitor_pid(id));
	host_sh("%s", cmd);
	remove_all();
}

/* box exec: in the container's namespaces and cgroup, with -e, -w, -u, -i; its status back. */
static void test_exec_runs_inside_the_running_container(void **state)
{
	char id[65];

	(void)state;
	skip_unless_root();
	run_detached(id, "ex", "echo inside > /tmp/f; exec sleep 60");
	usleep(300000);
	struct run r = run_box("exec", "ex", "cat", "/tmp/f", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "inside\n");
	r = run_box("exec", "-e", "X=5", "-w", "/tmp", "-u", "65534", "ex", "/bin/sh", "-c",
		    "echo $X $(pwd) $(id -u); exit 9", NULL);
	assert_status(&r, 9);
	assert_string_equal(r.out, "5 /tmp 65534\n");
	/* The container's pid namespace: its init is PID 1 there, and ps sees only the container. */
	r = run_box("exec", "ex", "/bin/sh", "-c", "echo $(tr '\\0' ' ' < /proc/1/cmdline); ps -o pid= | wc -l", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "sleep 60\n4\n");	/* sleep, sh, ps, wc */
	char *argv[] = { (char *)box_path(), "exec", "-i", "ex", "cat", NULL };
	r = run_argv_with_input(argv, "through stdin\n");
	assert_string_equal(r.out, "through stdin\n");
	r = run_box("exec", "ex", "no-such-command", NULL);
	assert_status(&r, 127);
	r = run_box("stop", "-t", "0", "ex", NULL);
	r = run_box("exec", "ex", "true", NULL);
	assert_one_line_125(&r, "not running");
	remove_all();
}

/* box cp both ways: a file, and a directory with a link in it (copied as a link). */
static void test_cp_copies_both_ways(void **state)
{
	char id[65], host[4096], target[4200];

	(void)state;
	skip_unless_root();
	run_detached(id, "files", "mkdir -p /data/sub; echo one > /data/sub/a; ln -s a /data/sub/link; exec sleep 60");
	usleep(300000);
	snprintf(host, sizeof(host), "%s/out", test_dir());
	host_sh("rm -rf %s && mkdir %s", host, host);
	snprintf(target, sizeof(target), "%s/", host);
	struct run r = run_box("cp", "files:/data", target, NULL);
	assert_status(&r, 0);
	host_sh("test \"$(cat %s/data/sub/a)\" = one && test \"$(readlink %s/data/sub/link)\" = a", host, host);
	host_sh("echo two > %s/in", host);
	snprintf(target, sizeof(target), "%s/in", host);
	r = run_box("cp", target, "files:/data/sub/", NULL);
	assert_status(&r, 0);
	r = run_box("exec", "files", "cat", "/data/sub/in", NULL);
	assert_string_equal(r.out, "two\n");
	remove_all();
}

/*
 * The attack on docker cp (CVE-2018-15664): the container makes a path
 * component a symlink to "/", which a naive copy follows to the host's
 * root. Static, and racing (a directory and a symlink swapped in a loop
 * while box cp runs, both ways): box never reads or writes the host's file.
 */
static void test_cp_symlink_attack_fails(void **state)
{
	char id[65], secret[4096], src[8300], dest[4200], loop[9000];

	(void)state;
	skip_unless_root();
	snprintf(secret, sizeof(secret), "%s/host-secret", test_dir());
	host_sh("echo HOST > %s && rm -f %s/written", secret, test_dir());
	snprintf(loop, sizeof(loop),
		 "ln -s / /evil; while :; do mkdir -p /race%s; echo CONTAINER > /race%s; "
		 "rm -rf /race; ln -s / /race; rm /race; done", test_dir(), secret);
	run_detached(id, "attacker", loop);
	usleep(300000);
	snprintf(dest, sizeof(dest), "%s/copied", test_dir());
	snprintf(src, sizeof(src), "attacker:/evil%s", secret);
	struct run r = run_box("cp", src, dest, NULL);
	assert_int_not_equal(r.status, 0);	/* inside, /evil is "/": the container has no such file */
	snprintf(src, sizeof(src), "attacker:/race%s", secret);
	for (int i = 0; i < 100; i++) {
		char text[64] = "";

		unlink(dest);
		r = run_box("cp", src, dest, NULL);
		if (r.status == 0)
			assert_string_equal(read_text(dest, text, sizeof(text)), "CONTAINER\n");
	}
	snprintf(src, sizeof(src), "attacker:/race%s/written", test_dir());
	for (int i = 0; i < 100; i++)
		run_box("cp", secret, src, NULL);
	snprintf(dest, sizeof(dest), "%s/written", test_dir());
	assert_int_equal(access(dest, F_OK), -1);	/* nothing written on the host */
	remove_all();
}

/* -v NAME:PATH: made and seeded from the image's PATH, kept across containers, refused removal while used. */
static void test_named_volumes_are_seeded_persist_and_are_guarded(void **state)
{
	(void)state;
	skip_unless_root();
	host_sh("mkdir -p %s/seed && echo from-image > %s/seed/file", test_rootfs(), test_rootfs());
	struct run r = run_box("run", "--rm", "--network", "none", "-v", "data:/seed", test_rootfs(), "/bin/sh", "-c",
			       "cat /seed/file; echo written > /seed/new", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "from-image\n");
	r = run_box("run", "--rm", "--network", "none", "--mount", "type=volume,source=data,target=/other", test_rootfs(),
		    "/bin/cat", "/other/new", NULL);
	assert_string_equal(r.out, "written\n");
	r = run_box("create", "--name", "user", "--network", "none", "-v", "data:/x", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
	r = run_box("volume", "rm", "data", NULL);
	assert_one_line_125(&r, "in use");
	r = run_box("volume", "prune", NULL);
	r = run_box("volume", "ls", NULL);
	assert_non_null(strstr(r.out, "data"));
	remove_all();
	r = run_box("volume", "rm", "data", NULL);
	assert_status(&r, 0);
	r = run_box("volume", "ls", NULL);
	assert_null(strstr(r.out, "data"));
	host_sh("rm -rf %s/seed", test_rootfs());
}

/* The demo: a web server, detached, memory-limited, on a published port; ps, stats, top, port, prune. */
static void test_a_published_web_server_and_its_stats(void **state)
{
	char www[4096], volume[4200];

	(void)state;
	skip_unless_root();
	snprintf(www, sizeof(www), "%s/www", test_dir());
	host_sh("mkdir -p %s && echo page > %s/index.html", www, www);
	snprintf(volume, sizeof(volume), "%s:/www:ro", www);
	struct run r = run_box("run", "-d", "--name", "web", "-m", "64m", "-p", "8080:80", "-v", volume, test_rootfs(),
			       "/bin/httpd", "-f", "-p", "80", "-h", "/www", NULL);
	assert_status(&r, 0);
	host_sh("for i in $(seq 50); do wget -qO- -T 1 http://127.0.0.1:8080/ 2>/dev/null | grep -qx page && exit 0; "
		"sleep 0.1; done; exit 1");
	r = run_box("ps", NULL);
	assert_non_null(strstr(r.out, "0.0.0.0:8080->80/tcp"));
	r = run_box("port", "web", NULL);
	assert_string_equal(r.out, "80/tcp -> 0.0.0.0:8080\n");
	r = run_box("stats", "--no-stream", "web", NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "/ 64MiB"));
	r = run_box("top", "web", NULL);
	assert_non_null(strstr(r.out, "/bin/httpd -f -p 80"));
	r = run_box("inspect", "web", NULL);
	assert_non_null(strstr(r.out, "\"IPAddress\": \"10."));
	r = run_box("stop", "-t", "1", "web", NULL);
	assert_status(&r, 0);
	r = run_box("system", "df", NULL);
	assert_non_null(strstr(r.out, "Containers      1       0"));
	/* system prune: the stopped container, and the bridge and its table now that nothing uses them. */
	r = run_box("system", "prune", NULL);
	assert_status(&r, 0);
	r = run_box("ps", "-aq", NULL);
	assert_string_equal(r.out, "");
	reap();
}

/* An image from the (local) registry, detached: pulled by run, its Entrypoint/Cmd, --pull never then finds it. */
static void test_an_image_runs_detached_and_pull_policies(void **state)
{
	char ref[256];

	(void)state;
	skip_unless_root();
	assert_true(registry[0]);
	image_ref(ref, sizeof(ref), registry, "busybox");
	struct run r = run_box("run", "-d", "--pull", "never", "--name", "img", ref, NULL);
	assert_one_line_125(&r, "--pull never");
	r = run_box("run", "-d", "--name", "img", "--init", "--add-host", "db:10.1.2.3", "--dns", "9.9.9.9", ref,
		    "/bin/sh", "-c", "grep db /etc/hosts; cat /etc/resolv.conf; ps -o pid,args | grep box-init; sleep 60",
		    NULL);
	assert_status(&r, 0);
	r = run_box("run", "--rm", "--pull", "never", "--network", "none", ref, "/bin/echo", "here", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "here\n");
	usleep(500000);
	r = run_box("logs", "img", NULL);
	assert_non_null(strstr(r.out, "10.1.2.3\tdb\n"));
	assert_non_null(strstr(r.out, "nameserver 9.9.9.9\n"));
	assert_non_null(strstr(r.out, "    1 /sbin/box-init /bin/sh -c"));
	/* --init: SIGTERM reaches the command (sleep is not PID 1 now): stop is quick, and says 143. */
	r = run_box("stop", "-t", "10", "img", NULL);
	assert_status(&r, 0);
	r = run_box("wait", "img", NULL);
	assert_string_equal(r.out, "143\n");
	remove_all();
}

static int setup_group(void **state)
{
	return start_registry(state, "", "busybox");
}

/* box logs -f follows until the exit; box attach passes input (-i) and returns the status. */
static void test_logs_follow_and_attach(void **state)
{
	char id[65];

	(void)state;
	skip_unless_root();
	run_detached(id, "ticker", "for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done; exit 2");
	struct run r = run_box("logs", "-f", "ticker", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n");
	r = run_box("run", "-d", "-i", "--name", "echoer", "--network", "none", test_rootfs(), "/bin/sh", "-c",
		    "while read l; do echo got $l; [ $l = quit ] && exit 6; done", NULL);
	assert_status(&r, 0);
	char *argv[] = { (char *)box_path(), "attach", "echoer", NULL };
	r = run_argv_with_input(argv, "hello\nquit\n");
	assert_status(&r, 6);
	assert_string_equal(r.out, "got hello\ngot quit\n");
	remove_all();
}

/* Every command has --help (exit 0, "Usage: box VERB"); box version says what it is. */
static void test_every_command_has_help(void **state)
{
	const char *verbs[] = { "run", "create", "start", "ps", "logs", "stop", "kill", "rm", "inspect", "wait", "exec",
				"attach", "cp", "stats", "top", "port", "volume", "system", "version", "pull", "images",
				"rmi", "info" };

	(void)state;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char usage[64];
		struct run r = run_box(verbs[i], "--help", NULL);

		assert_status(&r, 0);
		snprintf(usage, sizeof(usage), "Usage: box ");
		if (!strstr(r.out, usage) || !strstr(r.out, verbs[i]))
			fail_msg("box %s --help: no usage: %s", verbs[i], r.out);
	}
	struct run r = run_box("version", NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "Version:"));
}

/* After a test that failed half-way: its containers go before the clean-host check looks. */
static int engine_teardown(void **state)
{
	if (is_root()) {
		struct run r = run_box("ps", "-aq", NULL);

		for (char *id = strtok(r.out, "\n"); id; id = strtok(NULL, "\n"))
			run_box("rm", "-f", id, NULL);
		reap();
	}
	return integration_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command_has_help),
		cmocka_unit_test_setup_teardown(test_detached_run_logs_exit_code_and_rm, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_rm_flag_removes_the_container_after_its_exit, integration_setup,
						engine_teardown),
		cmocka_unit_test_setup_teardown(test_monitor_rss_is_under_1_mib, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_stop_sends_sigterm_then_sigkill, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_kill_sends_the_signal, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_oom_killed_is_recorded, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_stop_signal_and_log_rotation, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_create_then_start_attached, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_run_it_through_a_pty, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_p_ctrl_q_detaches, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_exec_it_through_a_pty, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_twenty_detached_runs_at_once, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_recovery_after_sigkill_of_the_monitor, integration_setup,
						engine_teardown),
		cmocka_unit_test_setup_teardown(test_recovery_after_sigkill_of_box, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_is_one_line_and_125, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_env_workdir_user_and_entrypoint, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_stage_flags_pass_through_the_engine, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_only_stdio_reaches_a_detached_container, integration_setup,
						engine_teardown),
		cmocka_unit_test_setup_teardown(test_logs_follow_and_attach, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_cp_copies_both_ways, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_an_image_runs_detached_and_pull_policies, integration_setup,
						engine_teardown),
		cmocka_unit_test_setup_teardown(test_a_published_web_server_and_its_stats, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_named_volumes_are_seeded_persist_and_are_guarded, integration_setup,
						engine_teardown),
		cmocka_unit_test_setup_teardown(test_cp_symlink_attack_fails, integration_setup, engine_teardown),
		cmocka_unit_test_setup_teardown(test_exec_runs_inside_the_running_container, integration_setup,
						engine_teardown),
	};

	select_tests();
	return cmocka_run_group_tests(tests, setup_group, stop_registry);
}
