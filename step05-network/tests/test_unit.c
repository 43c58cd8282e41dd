/*
 * test_unit.c - the parts of box that are pure logic: no root, no kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

/* box.h first: cmocka.h (from boxtest.h) defines macros named fail and fail_msg. */
#include "box.h"
#include "cgroup.h"
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
	char *info[] = { "box", "info", "--help", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, top), 0);
	assert_int_equal(cl.command, CMD_HELP);
	assert_int_equal(parse(&cl, run), 0);
	assert_int_equal(cl.command, CMD_RUN_HELP);
	assert_int_equal(parse(&cl, info), 0);
	assert_int_equal(cl.command, CMD_INFO_HELP);
}

static void test_info_takes_no_arguments(void **state)
{
	char *extra[] = { "box", "info", "x", NULL };
	char *plain[] = { "box", "info", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, extra), -1);
	assert_int_equal(parse(&cl, plain), 0);
	assert_int_equal(cl.command, CMD_INFO);
}

static void test_hostname_flag_is_taken(void **state)
{
	char *argv[] = { "box", "run", "--hostname", "c1", "/tmp/root", "/bin/sh", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, argv), 0);
	assert_string_equal(cl.spec.hostname, "c1");
}

static void test_hostname_longer_than_the_kernel_allows_is_rejected(void **state)
{
	char name[66];
	char *argv[] = { "box", "run", "--hostname", name, "/tmp/root", "/bin/sh", NULL };
	char *empty[] = { "box", "run", "--hostname", "", "/tmp/root", "/bin/sh", NULL };
	struct command_line cl;

	(void)state;
	memset(name, 'a', 64);
	name[64] = '\0';
	assert_int_equal(parse(&cl, argv), 0);	/* 64 is HOST_NAME_MAX: allowed */
	name[64] = 'a';
	name[65] = '\0';
	assert_int_equal(parse(&cl, argv), -1);
	assert_int_equal(parse(&cl, empty), -1);
}

static void test_userns_flag_with_and_without_range(void **state)
{
	char *plain[] = { "box", "run", "--userns", "/tmp/root", "/bin/sh", NULL };
	char *ranged[] = { "box", "run", "--userns=200000:1000", "/tmp/root", "/bin/sh", NULL };
	char *bad[] = { "box", "run", "--userns=200000", "/tmp/root", "/bin/sh", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, plain), 0);
	assert_true(cl.spec.userns);
	assert_false(cl.spec.userns_given);
	assert_int_equal(parse(&cl, ranged), 0);
	assert_true(cl.spec.userns_given);
	assert_int_equal(cl.spec.uids.host, 200000);
	assert_int_equal(cl.spec.gids.count, 1000);
	assert_int_equal(parse(&cl, bad), -1);
}

/* getopt takes an optional value only after '=': "--userns 1:2 ROOTFS" must not run "1:2" as the rootfs. */
static void test_userns_range_after_a_space_is_refused(void **state)
{
	char *argv[] = { "box", "run", "--userns", "100000:65536", "/tmp/root", "/bin/sh", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, argv), -1);
}

static void test_cidfile_flag_is_taken(void **state)
{
	char *argv[] = { "box", "run", "--cidfile", "/tmp/cid", "/tmp/root", "/bin/sh", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, argv), 0);
	assert_string_equal(cl.spec.cidfile, "/tmp/cid");
}

static void test_id_range_parsing(void **state)
{
	struct id_range r;

	(void)state;
	assert_int_equal(parse_id_range("100000:65536", &r), 0);
	assert_int_equal(r.host, 100000);
	assert_int_equal(r.count, 65536);
	assert_int_equal(parse_id_range("100000:", &r), -1);
	assert_int_equal(parse_id_range(":5", &r), -1);
	assert_int_equal(parse_id_range("1:2:3", &r), -1);
	assert_int_equal(parse_id_range("-1:5", &r), -1);
	assert_int_equal(parse_id_range("5:-1", &r), -1);
	assert_int_equal(parse_id_range("99999999999:1", &r), -1);
}

static void test_unusable_id_ranges_are_refused(void **state)
{
	struct id_range empty = { 100000, 0 }, host_root = { 0, 65536 }, past_the_end = { 4294967000u, 65536 };
	struct id_range good = { 100000, 65536 };

	(void)state;
	assert_int_equal(check_id_range(&empty), -1);
	assert_int_equal(check_id_range(&host_root), -1);
	assert_int_equal(check_id_range(&past_the_end), -1);
	assert_int_equal(check_id_range(&good), 0);
}

static void test_subuid_file_lookup(void **state)
{
	const char text[] = "alice:100000:65536\nrootless:1:2\nroot:231072:65536\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct id_range r;

	(void)state;
	assert_non_null(f);
	assert_int_equal(find_subid_range(f, "root", &r), 0);
	assert_int_equal(r.host, 231072);
	assert_int_equal(r.count, 65536);
	rewind(f);
	assert_int_equal(find_subid_range(f, "bob", &r), -1);
	fclose(f);
}

static void test_memory_sizes(void **state)
{
	long long bytes;

	(void)state;
	assert_int_equal(parse_memory("64m", &bytes), 0);
	assert_int_equal(bytes, 64LL << 20);
	assert_int_equal(parse_memory("1G", &bytes), 0);
	assert_int_equal(bytes, 1LL << 30);
	assert_int_equal(parse_memory("512mb", &bytes), 0);
	assert_int_equal(bytes, 512LL << 20);
	assert_int_equal(parse_memory("8388608", &bytes), 0);
	assert_int_equal(bytes, 8388608);
	assert_int_equal(parse_memory("6144k", &bytes), 0);
	assert_int_equal(bytes, 6LL << 20);
}

static void test_bad_memory_sizes_are_refused(void **state)
{
	long long bytes;
	const char *malformed[] = { "", "m", "64x", "64mm", "-64m", "6.5m", " 64m", "64m " };

	(void)state;
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		assert_int_equal(parse_memory(malformed[i], &bytes), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(parse_memory("1k", &bytes), -1);	/* below docker's 6 MiB minimum */
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_memory("99999999999g", &bytes), -1);	/* past 2^63 */
	assert_int_equal(errno, ERANGE);
}

static void test_cpus(void **state)
{
	unsigned int millis;

	(void)state;
	assert_int_equal(parse_cpus("0.5", &millis), 0);
	assert_int_equal(millis, 500);
	assert_int_equal(parse_cpus("1", &millis), 0);
	assert_int_equal(millis, 1000);
	assert_int_equal(parse_cpus(".25", &millis), 0);
	assert_int_equal(millis, 250);
	assert_int_equal(parse_cpus("0.01", &millis), 0);
	assert_int_equal(millis, 10);
	assert_int_equal(parse_cpus("0.5", &millis), 0);
	assert_int_equal(parse_cpus("abc", &millis), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(parse_cpus("1.5x", &millis), -1);
	assert_int_equal(parse_cpus(".", &millis), -1);
	assert_int_equal(parse_cpus("", &millis), -1);
	assert_int_equal(parse_cpus("0", &millis), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_cpus("0.001", &millis), -1);
	assert_int_equal(parse_cpus("9999", &millis), -1);	/* more CPUs than any test machine */
	assert_int_equal(errno, ERANGE);
}

static void test_pids_limit(void **state)
{
	long max;

	(void)state;
	assert_int_equal(parse_pids_limit("32", &max), 0);
	assert_int_equal(max, 32);
	assert_int_equal(parse_pids_limit("0", &max), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_pids_limit("5000000", &max), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_pids_limit("-1", &max), -1);
	assert_int_equal(parse_pids_limit("12a", &max), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_limit_flags_fill_the_spec(void **state)
{
	char *argv[] = { "box", "run", "-m", "64m", "--cpus", "0.5", "--pids-limit", "32", "/r", "/bin/sh", NULL };
	char *bad[] = { "box", "run", "--memory", "lots", "/r", "/bin/sh", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, argv), 0);
	assert_int_equal(cl.spec.memory_bytes, 64LL << 20);
	assert_int_equal(cl.spec.cpu_millis, 500);
	assert_int_equal(cl.spec.pids_max, 32);
	assert_int_equal(parse(&cl, bad), -1);
}

static void test_volumes_are_parsed(void **state)
{
	char plain[] = "/srv/data:/data", ro[] = "/srv/data:/data:ro", rw[] = "/a:/b:rw";
	struct volume v;

	(void)state;
	assert_int_equal(parse_volume(plain, &v), 0);
	assert_string_equal(v.source, "/srv/data");
	assert_string_equal(v.destination, "/data");
	assert_false(v.read_only);
	assert_int_equal(parse_volume(ro, &v), 0);
	assert_true(v.read_only);
	assert_int_equal(parse_volume(rw, &v), 0);
	assert_false(v.read_only);
}

static void test_bad_volumes_are_refused(void **state)
{
	const char *bad[] = { "/srv", "srv:/data", "/srv:data", "/srv:/data:rx", "/srv:/", ":/data", "/srv:" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char copy[64];
		struct volume v;

		snprintf(copy, sizeof(copy), "%s", bad[i]);
		assert_int_equal(parse_volume(copy, &v), -1);
		assert_int_equal(errno, EINVAL);
	}
}

static void test_tmpfs_options_are_parsed(void **state)
{
	char plain[] = "/tmp", sized[] = "/run:size=64m,mode=1777,exec", ro[] = "/x:ro,nosuid";
	struct tmpfs_mount t;

	(void)state;
	assert_int_equal(parse_tmpfs(plain, &t), 0);
	assert_string_equal(t.destination, "/tmp");
	assert_int_equal(t.flags, MS_NOSUID | MS_NODEV | MS_NOEXEC);
	assert_string_equal(t.data, "");
	assert_int_equal(parse_tmpfs(sized, &t), 0);
	assert_string_equal(t.data, "size=64m,mode=1777");
	assert_int_equal(t.flags, MS_NOSUID | MS_NODEV);
	assert_int_equal(parse_tmpfs(ro, &t), 0);
	assert_int_equal(t.flags, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
}

static void test_bad_tmpfs_options_are_refused(void **state)
{
	const char *bad[] = { "tmp", "/tmp:", "/tmp:size=", "/tmp:size=1x", "/tmp:mode=999", "/tmp:bogus", "/tmp:size=1m,,ro" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char copy[64];
		struct tmpfs_mount t;

		snprintf(copy, sizeof(copy), "%s", bad[i]);
		assert_int_equal(parse_tmpfs(copy, &t), -1);
	}
}

static void test_file_system_flags_fill_the_spec(void **state)
{
	char *argv[] = { "box", "run", "--layer", "/l1", "--layer", "/l2", "-v", "/a:/b:ro", "--tmpfs", "/t",
			 "--read-only", "--keep", "/r", "/bin/sh", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, argv), 0);
	assert_int_equal(cl.spec.nlayers, 2);
	assert_string_equal(cl.spec.layers[0], "/l1");	/* top first, as given */
	assert_int_equal(cl.spec.nvolumes, 1);
	assert_true(cl.spec.volumes[0].read_only);
	assert_int_equal(cl.spec.ntmpfs, 1);
	assert_true(cl.spec.read_only);
	assert_true(cl.spec.keep);
}

static void test_root_comes_from_the_flag_the_environment_or_the_default(void **state)
{
	char *flag[] = { "box", "--root", "/srv/box", "run", "/r", "/bin/sh", NULL };
	char *joined[] = { "box", "--root=/srv/box2", "prune", NULL };
	char *relative[] = { "box", "--root", "here", "prune", NULL };
	char *plain[] = { "box", "prune", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, flag), 0);
	assert_string_equal(cl.spec.box_root, "/srv/box");
	assert_int_equal(cl.command, CMD_RUN);
	assert_int_equal(parse(&cl, joined), 0);
	assert_string_equal(cl.spec.box_root, "/srv/box2");
	assert_int_equal(cl.command, CMD_PRUNE);
	assert_int_equal(parse(&cl, relative), -1);
	setenv("BOX_ROOT", "/from/env", 1);
	assert_int_equal(parse(&cl, plain), 0);
	assert_string_equal(cl.spec.box_root, "/from/env");
	unsetenv("BOX_ROOT");
	assert_int_equal(parse(&cl, plain), 0);
	assert_string_equal(cl.spec.box_root, "/var/lib/box");
}

static void test_network_flags_fill_the_spec(void **state)
{
	char *argv[] = { "box", "--state", "/run/x", "run", "--network", "bridge", "-p", "8080:80", "--publish",
			 "127.0.0.1:5353:53/udp", "--subnet", "10.99.0.0/24", "/r", "/bin/sh", NULL };
	char *plain[] = { "box", "run", "/r", "/bin/sh", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, argv), 0);
	assert_string_equal(cl.spec.box_state, "/run/x");
	assert_int_equal(cl.spec.network, NETWORK_BRIDGE);
	assert_int_equal(cl.spec.nports, 2);
	assert_int_equal(cl.spec.ports[0].host_port, 8080);
	assert_int_equal(cl.spec.ports[0].container_port, 80);
	assert_int_equal(cl.spec.ports[1].protocol, IPPROTO_UDP);
	assert_string_equal(cl.spec.subnet, "10.99.0.0/24");
	unsetenv("BOX_STATE");
	assert_int_equal(parse(&cl, plain), 0);
	assert_int_equal(cl.spec.network, NETWORK_BRIDGE);	/* docker's default */
	assert_string_equal(cl.spec.box_state, "/run/box");
}

static void test_network_modes(void **state)
{
	enum network_mode mode;

	(void)state;
	assert_int_equal(parse_network_mode("none", &mode), 0);
	assert_int_equal(mode, NETWORK_NONE);
	assert_int_equal(parse_network_mode("host", &mode), 0);
	assert_int_equal(mode, NETWORK_HOST);
	assert_int_equal(parse_network_mode("bridge", &mode), 0);
	assert_int_equal(mode, NETWORK_BRIDGE);
	assert_int_equal(parse_network_mode("nonsense", &mode), -1);
	assert_int_equal(parse_network_mode("", &mode), -1);
}

static void test_bad_network_flags_are_refused(void **state)
{
	char *none_with_port[] = { "box", "run", "--network", "none", "-p", "80:80", "/r", "/bin/sh", NULL };
	char *bad_mode[] = { "box", "run", "--network", "bridged", "/r", "/bin/sh", NULL };
	char *bad_port[] = { "box", "run", "-p", "80", "/r", "/bin/sh", NULL };
	char *bad_subnet[] = { "box", "run", "--subnet", "10.0.0.0/31", "/r", "/bin/sh", NULL };
	char *relative_state[] = { "box", "--state", "run", "run", "/r", "/bin/sh", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, none_with_port), -1);
	assert_int_equal(parse(&cl, bad_mode), -1);
	assert_int_equal(parse(&cl, bad_port), -1);
	assert_int_equal(parse(&cl, bad_subnet), -1);
	assert_int_equal(parse(&cl, relative_state), -1);
}

static void test_keyed_values_are_found(void **state)
{
	const char text[] = "low 0\nhigh 3\noom 2\noom_kill 1\n";
	int fd = memfd_create("memory.events", 0);
	long long value = -1;
	char path[64];

	(void)state;
	assert_true(fd >= 0);
	assert_true(write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	assert_int_equal(read_keyed_value(path, "oom_kill", &value), 0);
	assert_int_equal(value, 1);
	assert_int_equal(read_keyed_value(path, "oom", &value), 0);
	assert_int_equal(value, 2);
	assert_int_equal(read_keyed_value(path, "max", &value), -1);
	close(fd);
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
		cmocka_unit_test(test_info_takes_no_arguments),
		cmocka_unit_test(test_hostname_flag_is_taken),
		cmocka_unit_test(test_hostname_longer_than_the_kernel_allows_is_rejected),
		cmocka_unit_test(test_userns_flag_with_and_without_range),
		cmocka_unit_test(test_userns_range_after_a_space_is_refused),
		cmocka_unit_test(test_cidfile_flag_is_taken),
		cmocka_unit_test(test_id_range_parsing),
		cmocka_unit_test(test_unusable_id_ranges_are_refused),
		cmocka_unit_test(test_subuid_file_lookup),
		cmocka_unit_test(test_memory_sizes),
		cmocka_unit_test(test_bad_memory_sizes_are_refused),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_pids_limit),
		cmocka_unit_test(test_limit_flags_fill_the_spec),
		cmocka_unit_test(test_volumes_are_parsed),
		cmocka_unit_test(test_bad_volumes_are_refused),
		cmocka_unit_test(test_tmpfs_options_are_parsed),
		cmocka_unit_test(test_bad_tmpfs_options_are_refused),
		cmocka_unit_test(test_file_system_flags_fill_the_spec),
		cmocka_unit_test(test_root_comes_from_the_flag_the_environment_or_the_default),
		cmocka_unit_test(test_network_flags_fill_the_spec),
		cmocka_unit_test(test_network_modes),
		cmocka_unit_test(test_bad_network_flags_are_refused),
		cmocka_unit_test(test_keyed_values_are_found),
		cmocka_unit_test(test_exit_status_passes_through),
		cmocka_unit_test(test_signal_death_is_128_plus_n),
	};

	select_tests();
	return cmocka_run_group_tests_name("step05 unit", tests, NULL, NULL);
}
