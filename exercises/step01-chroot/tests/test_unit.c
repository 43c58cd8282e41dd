/*
 * test_unit.c - the parts of box that are pure logic: no root, no kernel.
 */
#include <sys/wait.h>

/* box.h first: cmocka.h (from boxtest.h) defines macros named fail and fail_msg. */
#include "box.h"
#include "boxtest.h"

/* Parse a command line given as a NULL-terminated list of words. */
static int parse(struct command_line *cl, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return parse_command_line(argc, argv, cl);
}

static void test_run_takes_rootfs_and_command(void **state)
{
	char *argv[] = { "box", "run", "/tmp/root", "/bin/ls", "-l", "/", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, argv), 0);
	assert_int_equal(cl.command, CMD_RUN);
	assert_string_equal(cl.spec.rootfs, "/tmp/root");
	assert_string_equal(cl.spec.argv[0], "/bin/ls");
	/* Flags after ROOTFS belong to the command, not to box. */
	assert_string_equal(cl.spec.argv[1], "-l");
	assert_string_equal(cl.spec.argv[2], "/");
	assert_null(cl.spec.argv[3]);
}

static void test_run_needs_rootfs_and_command(void **state)
{
	char *no_command[] = { "box", "run", "/tmp/root", NULL };
	char *nothing[] = { "box", "run", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, no_command), -1);
	assert_int_equal(parse(&cl, nothing), -1);
}

static void test_unknown_flag_is_rejected(void **state)
{
	char *argv[] = { "box", "run", "--frobnicate", "/tmp/root", "/bin/sh", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, argv), -1);
}

static void test_unknown_command_is_rejected(void **state)
{
	char *argv[] = { "box", "fly", NULL };
	char *none[] = { "box", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, argv), -1);
	assert_int_equal(parse(&cl, none), -1);
}

static void test_help_is_understood(void **state)
{
	char *top[] = { "box", "--help", NULL };
	char *run[] = { "box", "run", "--help", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, top), 0);
	assert_int_equal(cl.command, CMD_HELP);
	assert_int_equal(parse(&cl, run), 0);
	assert_int_equal(cl.command, CMD_RUN_HELP);
}

static void test_exit_status_passes_through(void **state)
{
	(void)state;
	assert_int_equal(exit_status_of(W_EXITCODE(0, 0)), 0);
	assert_int_equal(exit_status_of(W_EXITCODE(42, 0)), 42);
}

static void test_signal_death_is_128_plus_n(void **state)
{
	(void)state;
	assert_int_equal(exit_status_of(W_EXITCODE(0, SIGKILL)), 137);
	assert_int_equal(exit_status_of(W_EXITCODE(0, SIGTERM)), 143);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_takes_rootfs_and_command),
		cmocka_unit_test(test_run_needs_rootfs_and_command),
		cmocka_unit_test(test_unknown_flag_is_rejected),
		cmocka_unit_test(test_unknown_command_is_rejected),
		cmocka_unit_test(test_help_is_understood),
		cmocka_unit_test(test_exit_status_passes_through),
		cmocka_unit_test(test_signal_death_is_128_plus_n),
	};

	select_tests();
	return cmocka_run_group_tests_name("step01 unit", tests, NULL, NULL);
}
