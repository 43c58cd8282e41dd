/*
 * test_run.c - box run, checked the way a user would check it (as root).
 * Every test ends with the clean-host check (integration_teardown).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "boxtest.h"

static void test_ls_shows_the_rootfs_not_the_host(void **state)
{
	(void)state;
	skip_unless_root();
	host_sh("touch %s/only-in-rootfs", test_rootfs());
	struct run r = run_box("run", test_rootfs(), "/bin/ls", "/", NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "only-in-rootfs\n"));
	/* The host's / has /work and /boot; the busybox root has neither. */
	assert_null(strstr(r.out, "boot"));
}

/* chroot(2) leaves the working directory where it was: box must move it into the new root. */
static void test_the_command_starts_at_the_new_root(void **state)
{
	char here[4096];

	(void)state;
	skip_unless_root();
	host_sh("echo 'the host file system' > %s/host-marker", test_dir());
	/* Run box from the directory that holds the marker, next to the rootfs. */
	assert_non_null(getcwd(here, sizeof(here)));
	assert_int_equal(chdir(test_dir()), 0);
	struct run r = run_box("run", test_rootfs(), "/bin/sh", "-c", "pwd; cat host-marker ../host-marker", NULL);
	assert_int_equal(chdir(here), 0);
	assert_null(strstr(r.out, "the host file system"));
	assert_string_equal(r.out, "/\n");
}

static void test_exit_codes_pass_through(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
	r = run_box("run", test_rootfs(), "/bin/false", NULL);
	assert_status(&r, 1);
	r = run_box("run", test_rootfs(), "/bin/sh", "-c", "exit 42", NULL);
	assert_status(&r, 42);
}

static void test_signal_death_gives_128_plus_n(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/sh", "-c", "kill -TERM $$", NULL);
	assert_status(&r, 128 + 15);
}

static void test_missing_command_gives_127_and_one_line(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/no-such-command", NULL);
	assert_status(&r, 127);
	assert_string_equal(r.err, "box: exec /bin/no-such-command: No such file or directory\n");
}

static void test_not_executable_gives_126(void **state)
{
	(void)state;
	skip_unless_root();
	host_sh("echo data > %s/etc/not-a-program", test_rootfs());
	struct run r = run_box("run", test_rootfs(), "/etc/not-a-program", NULL);
	assert_status(&r, 126);
	assert_string_equal(r.err, "box: exec /etc/not-a-program: Permission denied\n");
}

static void test_missing_rootfs_gives_125(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "/no/such/rootfs", "/bin/sh", NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: rootfs /no/such/rootfs: No such file or directory\n");
}

static void test_rootfs_that_is_a_file_gives_125(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "/etc/passwd", "/bin/sh", NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: rootfs /etc/passwd: not a directory\n");
}

/* As another user, box says it needs root, before it touches anything. */
static void test_not_root_gives_125(void **state)
{
	char box[512];

	(void)state;
	skip_unless_root();
	/* A copy where any user can run it: the checkout may be in a private directory. */
	snprintf(box, sizeof(box), "%s/box-copy", test_dir());
	host_sh("cp %s %s && chmod 755 %s", box_path(), box, box);
	char *argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", box, "run",
			 (char *)test_rootfs(), "/bin/true", NULL };
	struct run r = run_argv(argv);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: run: must be run as root (chroot(2) needs CAP_SYS_CHROOT)\n");
}

static void test_bad_flag_gives_125_and_usage_hint(void **state)
{
	(void)state;
	struct run r = run_box("run", "--bogus", "/tmp", "/bin/sh", NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: run: unknown flag --bogus (see 'box run --help')\n");
}

static void test_the_host_environment_does_not_leak_in(void **state)
{
	char *argv[] = { "env", "SECRET=hunter2", (char *)box_path(), "run", (char *)test_rootfs(), "/bin/env", NULL };

	(void)state;
	skip_unless_root();
	struct run r = run_argv(argv);
	assert_status(&r, 0);
	assert_null(strstr(r.out, "SECRET"));
	assert_non_null(strstr(r.out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
}

/* The lesson of step 1: chroot alone does not contain a root process. */
static void test_chroot_escape_succeeds(void **state)
{
	char marker[512];

	(void)state;
	skip_unless_root();
	snprintf(marker, sizeof(marker), "%s/host-marker", test_dir());
	host_sh("echo 'the host file system' > %s", marker);
	host_sh("cp %s/escape %s/bin/escape", HELPER_DIR, test_rootfs());
	struct run r = run_box("run", test_rootfs(), "/bin/escape", marker, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "the host file system\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ls_shows_the_rootfs_not_the_host, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_command_starts_at_the_new_root, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_exit_codes_pass_through, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_signal_death_gives_128_plus_n, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_missing_command_gives_127_and_one_line, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_not_executable_gives_126, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_missing_rootfs_gives_125, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_that_is_a_file_gives_125, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_not_root_gives_125, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_bad_flag_gives_125_and_usage_hint, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_host_environment_does_not_leak_in, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_chroot_escape_succeeds, integration_setup, integration_teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("step01 run", tests, testkit_setup, testkit_cleanup);
}
