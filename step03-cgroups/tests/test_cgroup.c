/*
 * test_cgroup.c - limits, checked as a user would (as root), on whatever
 * cgroup setup the host has. testkit/cgroup2-vm runs this same program in a
 * VM with pure cgroup v2, so both kinds of host are covered.
 */
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "boxtest.h"

/* How many container cgroups (box/<id>) exist right now, in any hierarchy. */
static int box_cgroups(void)
{
	char *argv[] = { "sh", "-c", "find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path '*/box/*' | wc -l", NULL };
	struct run r = run_argv(argv);

	assert_int_equal(r.status, 0);
	return atoi(r.out);
}

/* Copy a static test helper, built by make from tests/NAME.c, into the rootfs. */
static void install_helper(const char *name)
{
	host_sh("cp %s/%s %s/bin/%s", HELPER_DIR, name, test_rootfs(), name);
}

static void test_info_names_the_hosts_cgroup_mode(void **state)
{
	struct statfs root, unified;
	const char *expected = "cgroup mode: v1\n";

	(void)state;
	skip_unless_root();
	assert_int_equal(statfs("/sys/fs/cgroup", &root), 0);
	if (root.f_type == CGROUP2_SUPER_MAGIC)
		expected = "cgroup mode: v2\n";
	else if (statfs("/sys/fs/cgroup/unified", &unified) == 0 && unified.f_type == CGROUP2_SUPER_MAGIC)
		expected = "cgroup mode: hybrid\n";
	struct run r = run_box("info", NULL);
	assert_status(&r, 0);
	assert_memory_equal(r.out, expected, strlen(expected));
}

static void test_memory_hog_is_oom_killed(void **state)
{
	(void)state;
	skip_unless_root();
	install_helper("hog");
	struct run r = run_box("run", "-m", "32m", test_rootfs(), "/bin/hog", "64", NULL);
	assert_int_equal(r.status, 137);
	assert_non_null(strstr(r.err, "ran out of memory (limit 33554432 bytes): the OOM killer killed 1 process\n"));
	assert_int_equal(box_cgroups(), 0);
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
	struct run r = run_box("run", "--pids-limit", "20", test_rootfs(), "/bin/forks", "100", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "forked 19, then: Resource temporarily unavailable\n");
	/* And the host can still fork: this very check runs a shell. */
	assert_int_equal(box_cgroups(), 0);
}

/* CPU time the container's cgroup has used, in microseconds, read from the host. */
static long long container_cpu_usec(void)
{
	char *argv[] = { "sh", "-c",
		"u=$(awk '/^usage_usec/ {print $2}' /sys/fs/cgroup/box/*/cpu.stat 2>/dev/null); "
		"[ -n \"$u\" ] || u=$(( $(cat /sys/fs/cgroup/*cpuacct*/box/*/cpuacct.usage) / 1000 )); echo $u", NULL };
	struct run r = run_argv(argv);

	assert_int_equal(r.status, 0);
	return atoll(r.out);
}

/*
 * --cpus 0.5 with two busy loops on a 2-CPU machine: over 2 s the cgroup may
 * use 1 s of CPU. The quota is enforced per 100 ms period, so the measure is
 * tight; 0.35 to 0.65 CPU allows for a slow or busy test machine.
 */
static void test_busy_loops_get_half_a_cpu(void **state)
{
	char pidfile[512];
	long long before, after;
	double cpus;

	(void)state;
	skip_unless_root();
	snprintf(pidfile, sizeof(pidfile), "%s/box.pid", test_dir());
	host_sh("%s run --cpus 0.5 %s /bin/sh -c 'while :; do :; done & while :; do :; done' "
		">/dev/null 2>&1 & echo $! > %s", box_path(), test_rootfs(), pidfile);
	usleep(500 * 1000);
	before = container_cpu_usec();
	sleep(2);
	after = container_cpu_usec();
	signal_and_reap(pidfile, SIGTERM);
	cpus = (double)(after - before) / 2e6;
	print_message("--cpus 0.5: the container used %.2f CPUs\n", cpus);
	assert_true(cpus > 0.35 && cpus < 0.65);
}

/* Told to stop, box stops the container and still removes its cgroup. */
static void test_sigterm_to_box_cleans_up(void **state)
{
	char pidfile[512];

	(void)state;
	skip_unless_root();
	snprintf(pidfile, sizeof(pidfile), "%s/box.pid", test_dir());
	host_sh("%s run -m 64m %s /bin/sleep 60 >/dev/null 2>&1 & echo $! > %s", box_path(), test_rootfs(), pidfile);
	for (int tries = 0; tries < 100 && box_cgroups() == 0; tries++)
		usleep(20 * 1000);
	assert_true(box_cgroups() > 0);
	signal_and_reap(pidfile, SIGTERM);
	assert_int_equal(box_cgroups(), 0);
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
	char pidfile[512];

	(void)state;
	skip_unless_root();
	snprintf(pidfile, sizeof(pidfile), "%s/box.pid", test_dir());
	host_sh("%s run %s /bin/sleep 60 >/dev/null 2>&1 & echo $! > %s", box_path(), test_rootfs(), pidfile);
	for (int tries = 0; tries < 100 && box_cgroups() == 0; tries++)
		usleep(20 * 1000);
	signal_and_reap(pidfile, SIGKILL);
	assert_true(box_cgroups() > 0);
	struct run r = run_box("run", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
	assert_int_equal(box_cgroups(), 0);
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

		assert_int_equal(r.status, 125);
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
		cmocka_unit_test_setup_teardown(test_memory_hog_is_oom_killed, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_same_program_under_the_limit_completes, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_fork_bomb_stops_at_the_pids_limit, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_busy_loops_get_half_a_cpu, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_to_box_cleans_up, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_namespace_shows_root, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_left_by_a_killed_box_is_removed_by_the_next_run, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_bad_limits_are_refused, integration_setup, integration_teardown),
	};

	return cmocka_run_group_tests_name("step03 cgroup", tests, testkit_setup, testkit_cleanup);
}
