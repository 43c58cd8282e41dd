/*
 * test_cgroup.c - limits, checked as a user would (as root), on whatever
 * cgroup setup the host has. testkit/cgroup2-vm runs this same program in a
 * VM with pure cgroup v2, so both kinds of host are covered.
 *
 * Other boxes may run at the same time (DESIGN.md: that is normal), so a test
 * looks only at the cgroup of its own container, found by the id box writes
 * with --cidfile.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boxtest.h"

/* A fresh --cidfile path for the next box run. */
static const char *cidfile(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/cid", test_dir());
	unlink(path);
	return path;
}

/* The id box wrote to the --cidfile (waiting for it, for a box started in the background). */
static const char *container_id(void)
{
	static char id[64];
	char path[512];

	snprintf(path, sizeof(path), "%s/cid", test_dir());
	if (wait_for_file(path) < 0 || !read_text(path, id, sizeof(id)))
		fail_msg("box wrote no --cidfile %s", path);
	return id;
}

/* How many cgroup directories the container with this id has now, in any hierarchy. */
static int cgroups_of(const char *id)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path '*/box/%s' | wc -l", id);
	char *argv[] = { "sh", "-c", cmd, NULL };
	struct run r = run_argv(argv);

	assert_status(&r, 0);
	return atoi(r.out);
}

/* Copy a static test helper, built by make from tests/NAME.c, into the rootfs. */
static void install_helper(const char *name)
{
	host_sh("cp %s/%s %s/bin/%s", HELPER_DIR, name, test_rootfs(), name);
}

/* Start box in the background with --cidfile; its pid goes to test_dir()/box.pid. */
static const char *start_box(const char *flags, const char *command)
{
	static char pidfile[512];

	snprintf(pidfile, sizeof(pidfile), "%s/box.pid", test_dir());
	host_sh("%s run --cidfile %s %s %s %s >/dev/null 2>&1 & echo $! > %s",
		box_path(), cidfile(), flags, test_rootfs(), command, pidfile);
	return pidfile;
}

/*
 * What /proc/self/mountinfo (proc(5)) says, independently of box's own
 * detection: cgroup2 on /sys/fs/cgroup is v2; cgroup2 only on
 * /sys/fs/cgroup/unified beside v1 hierarchies is hybrid; else v1.
 */
static const char *mode_from_mountinfo(void)
{
	char *argv[] = { "awk", "{ for (i = 7; $i != \"-\"; i++); if ($(i + 1) == \"cgroup2\") print $5 }",
			 "/proc/self/mountinfo", NULL };
	struct run r = run_argv(argv);

	assert_status(&r, 0);
	if (strstr(r.out, "/sys/fs/cgroup\n") && !strstr(r.out, "/sys/fs/cgroup/"))
		return "v2";
	if (strstr(r.out, "/sys/fs/cgroup/unified\n"))
		return "hybrid";
	return "v1";
}

static void test_info_names_the_hosts_cgroup_mode(void **state)
{
	char expected[64], mountinfo[256 * 1024];

	(void)state;
	skip_unless_root();
	snprintf(expected, sizeof(expected), "cgroup mode: %s\n", mode_from_mountinfo());
	struct run r = run_box("info", NULL);
	assert_status(&r, 0);
	assert_memory_equal(r.out, expected, strlen(expected));
	/* Every hierarchy box names is a cgroup mount point in mountinfo. */
	assert_non_null(read_text("/proc/self/mountinfo", mountinfo, sizeof(mountinfo)));
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
		char point[512], pattern[600];

		if (sscanf(line, "cgroup hierarchy: %511s", point) != 1)
			continue;
		snprintf(pattern, sizeof(pattern), " %s ", point);
		assert_non_null(strstr(mountinfo, pattern));
	}
}

static void test_info_help_and_stray_arguments(void **state)
{
	(void)state;
	struct run r = run_box("info", "--help", NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "Usage: box info"));
	r = run_box("info", "x", NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: info: takes no arguments (see 'box info --help')\n");
}

static void test_memory_hog_is_oom_killed(void **state)
{
	(void)state;
	skip_unless_root();
	install_helper("hog");
	struct run r = run_box("run", "--cidfile", cidfile(), "-m", "32m", test_rootfs(), "/bin/hog", "64", NULL);
	assert_status(&r, 137);
	assert_non_null(strstr(r.err, "ran out of memory (limit 33554432 bytes): the OOM killer killed 1 process\n"));
	assert_int_equal(cgroups_of(container_id()), 0);
}

static void test_the_same_program_under_the_limit_completes(void **state)
{
	(void)state;
	skip_unless_root();
	install_helper("hog");
	struct run r = run_box("run", "-m", "32m", test_rootfs(), "/bin/hog", "8", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "hog: used 8 MiB\n");
	assert_string_equal(r.err, "");
}

static void test_fork_bomb_stops_at_the_pids_limit(void **state)
{
	(void)state;
	skip_unless_root();
	install_helper("forks");
	/* The limit counts forks itself: 19 children fit under 20. */
	struct run r = run_box("run", "--cidfile", cidfile(), "--pids-limit", "20", test_rootfs(), "/bin/forks", "100", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "forked 19, then: Resource temporarily unavailable\n");
	/* And the host can still fork: this very check runs a shell. */
	assert_int_equal(cgroups_of(container_id()), 0);
}

/* Run a shell command on the host and return its output as a number. */
static long long host_number(const char *cmd)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	struct run r = run_argv(argv);

	assert_status(&r, 0);
	return atoll(r.out);
}

/* CPU time the container's cgroup has used, in microseconds, read from the host. */
static long long container_cpu_usec(const char *id)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "u=$(awk '/^usage_usec/ {print $2}' /sys/fs/cgroup/box/%s/cpu.stat 2>/dev/null); "
		 "[ -n \"$u\" ] || u=$(( $(cat /sys/fs/cgroup/*cpuacct*/box/%s/cpuacct.usage) / 1000 )); echo $u", id, id);
	return host_number(cmd);
}

/* How many processes are in the container's cgroup. */
static int container_procs(const char *id)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cat /sys/fs/cgroup/box/%s/cgroup.procs 2>/dev/null || "
		 "cat /sys/fs/cgroup/pids/box/%s/cgroup.procs; true", id, id);
	char *argv[] = { "sh", "-c", cmd, NULL };
	struct run r = run_argv(argv);
	int lines = 0;

	for (char *p = r.out; *p; p++)
		lines += *p == '\n';
	return lines;
}

/*
 * --cpus 0.5 with two busy loops on a 2-CPU machine: over 2 s the cgroup may
 * use 1 s of CPU. The quota is enforced per 100 ms period, so the measure is
 * tight; 0.35 to 0.65 CPU allows for a slow or busy test machine.
 */
static void test_busy_loops_get_half_a_cpu(void **state)
{
	long long before, after;
	const char *pidfile, *id;
	double cpus;
	int tries;

	(void)state;
	skip_unless_root();
	pidfile = start_box("--cpus 0.5", "/bin/sh -c 'while :; do :; done & while :; do :; done'");
	id = container_id();
	/* Both loops are running once the cgroup holds two processes: the shell and its child. */
	for (tries = 0; tries < 250 && still_running(pidfile) && container_procs(id) < 2; tries++)
		usleep(20 * 1000);
	assert_true(container_procs(id) >= 2);
	before = container_cpu_usec(id);
	sleep(2);
	after = container_cpu_usec(id);
	signal_and_reap(pidfile, SIGTERM);
	cpus = (double)(after - before) / 2e6;
	print_message("--cpus 0.5: the container used %.2f CPUs\n", cpus);
	assert_true(cpus > 0.35 && cpus < 0.65);
}

/* Told to stop, box stops the container, still removes its cgroup, and exits 128 + the signal. */
static void test_sigterm_to_box_cleans_up(void **state)
{
	const char *pidfile, *id;

	(void)state;
	skip_unless_root();
	pidfile = start_box("-m 64m", "/bin/sleep 60");
	id = container_id();
	/* Until the container runs: a signal before it exists never reaches stop_container's kill. */
	for (int tries = 0; tries < 100 && still_running(pidfile) && container_procs(id) == 0; tries++)
		usleep(20 * 1000);
	assert_true(cgroups_of(id) > 0);
	assert_int_equal(signal_and_reap(pidfile, SIGTERM), 128 + SIGTERM);
	assert_int_equal(cgroups_of(id), 0);
}

/* Ctrl-C: the exit status a shell gives a command it interrupted, 130. */
static void test_ctrl_c_to_box_exits_130(void **state)
{
	const char *pidfile, *id;

	(void)state;
	skip_unless_root();
	pidfile = start_box("", "/bin/sleep 60");
	id = container_id();
	for (int tries = 0; tries < 100 && still_running(pidfile) && container_procs(id) == 0; tries++)
		usleep(20 * 1000);
	assert_int_equal(signal_and_reap(pidfile, SIGINT), 130);
	assert_int_equal(cgroups_of(id), 0);
}

static void test_cgroup_namespace_shows_root(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "-m", "64m", test_rootfs(), "/bin/cat", "/proc/self/cgroup", NULL);
	assert_status(&r, 0);
	assert_true(strlen(r.out) > 0);
	/* Every line, "N:controllers:path", ends in the path "/". */
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n"))
		assert_string_equal(strrchr(line, ':'), ":/");
}

/* box killed by SIGKILL leaves its cgroup; the next box run removes it. */
static void test_cgroup_left_by_a_killed_box_is_removed_by_the_next_run(void **state)
{
	const char *pidfile;
	char id[64];

	(void)state;
	skip_unless_root();
	pidfile = start_box("", "/bin/sleep 60");
	snprintf(id, sizeof(id), "%s", container_id());
	for (int tries = 0; tries < 100 && still_running(pidfile) && cgroups_of(id) == 0; tries++)
		usleep(20 * 1000);
	signal_and_reap(pidfile, SIGKILL);
	assert_true(cgroups_of(id) > 0);
	struct run r = run_box("run", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
	assert_int_equal(cgroups_of(id), 0);
}

/* The next box removes only the cgroups nobody holds: a running container's stays. */
static void test_another_run_leaves_a_running_containers_cgroup_alone(void **state)
{
	const char *pidfile;
	char id[64];
	int mine;

	(void)state;
	skip_unless_root();
	pidfile = start_box("--pids-limit 10", "/bin/sleep 60");
	snprintf(id, sizeof(id), "%s", container_id());
	for (int tries = 0; tries < 100 && still_running(pidfile) && container_procs(id) == 0; tries++)
		usleep(20 * 1000);
	mine = cgroups_of(id);
	assert_true(mine > 0);
	struct run r = run_box("run", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
	assert_int_equal(cgroups_of(id), mine);
	assert_int_equal(signal_and_reap(pidfile, SIGTERM), 128 + SIGTERM);
	assert_int_equal(cgroups_of(id), 0);
}

/* The first hierarchy box uses, where it locks box/ ("cgroup hierarchy: PATH ..." from box info). */
static void first_hierarchy(char *path, size_t size)
{
	char format[32];
	struct run r = run_box("info", NULL);
	char *line = strstr(r.out, "cgroup hierarchy: ");

	assert_status(&r, 0);
	assert_non_null(line);
	snprintf(format, sizeof(format), "cgroup hierarchy: %%%zus", size - 1);
	assert_int_equal(sscanf(line, format, path), 1);
}

/*
 * box waits for the lock on box/ while another box cleans up. A signal
 * while it waits (flock(2) fails with EINTR) must not let it go on
 * without the lock: it must make its cgroup only after the lock is free.
 */
static void test_a_signal_does_not_break_the_wait_for_the_cgroup_lock(void **state)
{
	char hierarchy[256], parent[300], mine[400];
	const char *pidfile, *id;
	int fd;

	(void)state;
	skip_unless_root();
	first_hierarchy(hierarchy, sizeof(hierarchy));
	snprintf(parent, sizeof(parent), "%s/box", hierarchy);
	if (mkdir(parent, 0755) < 0)
		assert_int_equal(errno, EEXIST);
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	pidfile = start_box("", "/bin/true");
	id = container_id();
	snprintf(mine, sizeof(mine), "%s/%s", parent, id);
	/* Time to reach the lock and wait in it: a second, for the cgroup v2 VM's emulated CPU too. */
	usleep(1000 * 1000);
	kill(read_pid(pidfile), SIGTERM);
	usleep(300 * 1000);
	/* Still waiting for the lock: no cgroup made yet. */
	assert_int_equal(access(mine, F_OK), -1);
	flock(fd, LOCK_UN);
	close(fd);
	assert_int_equal(signal_and_reap(pidfile, SIGTERM), 128 + SIGTERM);
	assert_int_equal(cgroups_of(id), 0);
}

/* Values out of range or malformed: one line, exit 125, no cgroup made. */
static void test_bad_limits_are_refused(void **state)
{
	const char *bad[][2] = {
		{ "-m", "1k" }, { "-m", "lots" }, { "--cpus", "0" }, { "--cpus", "9999" },
		{ "--cpus", "half" }, { "--pids-limit", "0" }, { "--pids-limit", "x" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run r = run_box("run", bad[i][0], bad[i][1], "/tmp", "/bin/true", NULL);

		assert_status(&r, 125);
		assert_non_null(strstr(r.err, bad[i][1]));
		assert_non_null(strchr(r.err, '\n'));
		assert_string_equal(strchr(r.err, '\n'), "\n");	/* one line */
	}
	struct run r = run_box("run", "-m", "1k", "/tmp", "/bin/true", NULL);
	assert_string_equal(r.err, "box: run: --memory 1k: out of range (at least 6m)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_info_names_the_hosts_cgroup_mode, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_info_help_and_stray_arguments, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_memory_hog_is_oom_killed, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_same_program_under_the_limit_completes, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_fork_bomb_stops_at_the_pids_limit, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_busy_loops_get_half_a_cpu, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_to_box_cleans_up, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_c_to_box_exits_130, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_namespace_shows_root, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_left_by_a_killed_box_is_removed_by_the_next_run, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_another_run_leaves_a_running_containers_cgroup_alone, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_signal_does_not_break_the_wait_for_the_cgroup_lock, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_bad_limits_are_refused, integration_setup, integration_teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("step05 cgroup", tests, testkit_setup, testkit_cleanup);
}
