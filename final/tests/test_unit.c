/*
 * test_unit.c - the parts of box that are pure logic: no root, no kernel.
 * Step 6 adds the image commands' flags, image names (as docker reads
 * them), the image as a container spec, the user an image names, the
 * JSON documents of an image, and the registry's WWW-Authenticate header.
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

/* ---- step 6: images ---------------------------------------------------------------------- */

static void test_run_takes_an_image_and_an_optional_command(void **state)
{
	char *bare[] = { "box", "run", "no-such-directory-here/busybox:1.36", NULL };
	char *with_command[] = { "box", "run", "--read-only", "busybox", "ls", "-l", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, bare), 0);
	assert_int_equal(cl.command, CMD_RUN);
	assert_string_equal(cl.spec.image, "no-such-directory-here/busybox:1.36");
	assert_null(cl.spec.argv[0]);
	assert_int_equal(parse(&cl, with_command), 0);
	assert_string_equal(cl.spec.image, "busybox");
	assert_true(cl.spec.read_only);
	assert_string_equal(cl.spec.argv[0], "ls");
	assert_string_equal(cl.spec.argv[1], "-l");
	assert_null(cl.spec.argv[2]);
}

/* A directory that exists, or a word written as a path, is a ROOTFS (which needs a CMD); anything else an image. */
static void test_run_of_a_directory_or_a_path_is_a_rootfs(void **state)
{
	char *relative_dir[] = { "box", "run", "tmp", "/bin/true", NULL };
	char *dot_path[] = { "box", "run", "./no-such-dir", "/bin/true", NULL };
	char *no_dir[] = { "box", "run", "tmp2-is-no-directory", NULL };
	char *dir_without_command[] = { "box", "run", "tmp", NULL };
	char cwd[4096];
	struct command_line cl;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(parse(&cl, relative_dir), 0);
	assert_null(cl.spec.image);
	assert_string_equal(cl.spec.rootfs, "tmp");
	assert_int_equal(parse(&cl, dot_path), 0);
	assert_null(cl.spec.image);
	assert_int_equal(parse(&cl, no_dir), 0);
	assert_string_equal(cl.spec.image, "tmp2-is-no-directory");
	assert_int_equal(parse(&cl, dir_without_command), -1);
	assert_int_equal(chdir(cwd), 0);
}

static void test_pull_takes_its_flags_and_one_image(void **state)
{
	char *argv[] = { "box", "--root", "/tmp/r", "pull", "--platform", "linux/arm/v7", "-q", "--insecure",
			 "registry:5000/app:1.2", NULL };
	char *plain[] = { "box", "pull", "busybox", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, argv), 0);
	assert_int_equal(cl.command, CMD_PULL);
	assert_string_equal(cl.image, "registry:5000/app:1.2");
	assert_string_equal(cl.pull.platform, "linux/arm/v7");
	assert_int_equal(cl.pull.progress, PROGRESS_QUIET);
	assert_true(cl.pull.registry.insecure);
	assert_string_equal(cl.spec.box_root, "/tmp/r");
	assert_int_equal(parse(&cl, plain), 0);
	assert_null(cl.pull.platform);
	assert_int_equal(cl.pull.progress, PROGRESS_AUTO);
	assert_false(cl.pull.registry.insecure);
}

static void test_bad_pull_lines_are_refused(void **state)
{
	char *no_image[] = { "box", "pull", NULL };
	char *two_images[] = { "box", "pull", "a", "b", NULL };
	char *bad_platform[] = { "box", "pull", "--platform", "linux", "busybox", NULL };
	char *no_platform[] = { "box", "pull", "busybox", "--platform", NULL };
	char *unknown[] = { "box", "pull", "--all-tags", "busybox", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, no_image), -1);
	assert_int_equal(parse(&cl, two_images), -1);
	assert_int_equal(parse(&cl, bad_platform), -1);
	assert_int_equal(parse(&cl, no_platform), -1);
	assert_int_equal(parse(&cl, unknown), -1);
}

static void test_images_and_rmi_take_what_they_need(void **state)
{
	char *images[] = { "box", "images", NULL };
	char *images_extra[] = { "box", "images", "busybox", NULL };
	char *rmi[] = { "box", "rmi", "busybox:1.36", NULL };
	char *rmi_none[] = { "box", "rmi", NULL };
	char *rmi_two[] = { "box", "rmi", "a", "b", NULL };
	char *rmi_help[] = { "box", "rmi", "--help", NULL };
	char *pull_help[] = { "box", "pull", "-h", NULL };
	struct command_line cl;

	(void)state;
	assert_int_equal(parse(&cl, images), 0);
	assert_int_equal(cl.command, CMD_IMAGES);
	assert_int_equal(parse(&cl, images_extra), -1);
	assert_int_equal(parse(&cl, rmi), 0);
	assert_int_equal(cl.command, CMD_RMI);
	assert_string_equal(cl.image, "busybox:1.36");
	assert_int_equal(parse(&cl, rmi_none), -1);
	assert_int_equal(parse(&cl, rmi_two), -1);
	assert_int_equal(parse(&cl, rmi_help), 0);
	assert_int_equal(cl.command, CMD_RMI_HELP);
	assert_int_equal(parse(&cl, pull_help), 0);
	assert_int_equal(cl.command, CMD_PULL_HELP);
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct valid_reference {
	const char *text, *domain, *path, *tag, *digest, *canonical, *familiar;
};

static const struct valid_reference valid_references[] = {
	{ "busybox", "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest", "busybox" },
	{ "user/app:1.2", "docker.io", "user/app", "1.2", "", "docker.io/user/app:1.2", "user/app" },
	{ "host:5000/app", "host:5000", "app", "latest", "", "host:5000/app:latest", "host:5000/app" },
	{ "localhost/app", "localhost", "app", "latest", "", "localhost/app:latest", "localhost/app" },
	{ "localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", "", "localhost:5000/a/b/c:v1",
	  "localhost:5000/a/b/c" },
	{ "127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", "", "127.0.0.1:5000/app:latest",
	  "127.0.0.1:5000/app" },
	{ "busybox@sha256:" HEX64, "docker.io", "library/busybox", "", "sha256:" HEX64,
	  "docker.io/library/busybox@sha256:" HEX64, "busybox" },
	{ "busybox:1.36@sha256:" HEX64, "docker.io", "library/busybox", "1.36", "sha256:" HEX64,
	  "docker.io/library/busybox:1.36@sha256:" HEX64, "busybox" },
	{ "docker.io/busybox", "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest",
	  "busybox" },
	{ "index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", "",
	  "docker.io/library/busybox:latest", "busybox" },
	{ "registry.example.com/team/app:tag_1.0-RC", "registry.example.com", "team/app", "tag_1.0-RC", "",
	  "registry.example.com/team/app:tag_1.0-RC", "registry.example.com/team/app" },
	{ "team/a.b__c-d--e_f", "docker.io", "team/a.b__c-d--e_f", "latest", "", "docker.io/team/a.b__c-d--e_f:latest",
	  "team/a.b__c-d--e_f" },
	/* docker: a first component with upper case can only be a host name */
	{ "Foo/bar", "Foo", "bar", "latest", "", "Foo/bar:latest", "Foo/bar" },
	{ "busybox:_", "docker.io", "library/busybox", "_", "", "docker.io/library/busybox:_", "busybox" },
};

struct invalid_reference {
	const char *text, *reason;
};

static const struct invalid_reference invalid_references[] = {
	{ "Busybox", "repository name must be lowercase" },
	{ "user/App", "repository name must be lowercase" },
	{ "", "empty name" },
	{ ":tag", "empty repository name" },
	{ "busybox:", "invalid tag" },
	{ "busybox:-x", "invalid tag" },
	{ "busybox:a/b", "invalid registry host" },
	{ "busybox@sha256:abc", "invalid digest: sha256 takes 64 lowercase hex digits" },
	{ "busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "64 lowercase hex" },
	{ "busybox@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm" },
	{ "busybox@", "invalid digest" },
	{ "a//b", "empty component" },
	{ "a/b/", "empty component" },
	{ "-busybox", "may hold only" },
	{ "busy_-box", "may hold only" },
	{ "busybox___x", "may hold only" },
	{ "busybox.", "may hold only" },
	{ HEX64, "cannot specify 64-byte hexadecimal strings" },
	{ "host:port/app", "invalid registry host" },
	{ "-host.com/app", "invalid registry host" },
	{ "host..com/app", "invalid registry host" },
};

static void test_valid_references_parse_like_docker(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid_references) / sizeof(valid_references[0]); i++) {
		const struct valid_reference *v = &valid_references[i];
		struct reference ref;
		struct failure f;
		char buf[1024], name[1024];

		print_message("%s\n", v->text);
		assert_int_equal(parse_reference(v->text, &ref, &f), 0);
		assert_string_equal(ref.domain, v->domain);
		assert_string_equal(ref.path, v->path);
		assert_string_equal(ref.tag, v->tag);
		assert_string_equal(ref.digest, v->digest);
		assert_int_equal(reference_string(&ref, buf, sizeof(buf)), 0);
		assert_string_equal(buf, v->canonical);
		assert_int_equal(reference_name(&ref, name, sizeof(name)), 0);
		assert_int_equal(familiar_name(name, buf, sizeof(buf)), 0);
		assert_string_equal(buf, v->familiar);
	}
}

static void test_invalid_references_fail_with_a_reason(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid_references) / sizeof(invalid_references[0]); i++) {
		struct reference ref;
		struct failure f;

		print_message("\"%s\"\n", invalid_references[i].text);
		errno = 0;
		assert_int_equal(parse_reference(invalid_references[i].text, &ref, &f), -1);
		assert_int_equal(errno, EINVAL);
		print_message("  -> %s\n", f.what);
		assert_non_null(strstr(f.what, invalid_references[i].reason));
		assert_null(strchr(f.what, '\n'));
	}
}

static void test_uppercase_message_is_docker_like(void **state)
{
	struct reference ref;
	struct failure f;

	(void)state;
	assert_int_equal(parse_reference("Busybox", &ref, &f), -1);
	assert_string_equal(f.what, "invalid reference \"Busybox\": repository name must be lowercase");
}

static void test_too_long_names_and_tags_fail(void **state)
{
	char text[600];
	struct reference ref;
	struct failure f;

	(void)state;
	memset(text, 'a', 256);
	text[256] = '\0';
	assert_int_equal(parse_reference(text, &ref, &f), -1);
	assert_non_null(strstr(f.what, "must not be more than 255 characters"));
	/* 250 characters would fit as written, but not once "library/" is added */
	text[250] = '\0';
	assert_int_equal(parse_reference(text, &ref, &f), -1);
	text[240] = '\0';
	assert_int_equal(parse_reference(text, &ref, &f), 0);

	strcpy(text, "busybox:");
	memset(text + 8, 't', 128);
	text[8 + 128] = '\0';
	assert_int_equal(parse_reference(text, &ref, &f), 0);
	strcat(text, "t");
	assert_int_equal(parse_reference(text, &ref, &f), -1);
	assert_non_null(strstr(f.what, "invalid tag"));
}

static void test_docker_hub_api_lives_at_registry_1(void **state)
{
	struct reference ref;

	(void)state;
	assert_int_equal(parse_reference("busybox", &ref, NULL), 0);
	assert_string_equal(reference_api_host(&ref), "registry-1.docker.io");
	assert_int_equal(parse_reference("quay.io/a/b", &ref, NULL), 0);
	assert_string_equal(reference_api_host(&ref), "quay.io");
}

static void test_loopback_hosts_are_insecure_by_default(void **state)
{
	(void)state;
	assert_true(is_loopback_domain("localhost"));
	assert_true(is_loopback_domain("localhost:5000"));
	assert_true(is_loopback_domain("127.0.0.1:5000"));
	assert_true(is_loopback_domain("127.1.2.3"));
	assert_false(is_loopback_domain("docker.io"));
	assert_false(is_loopback_domain("localhost.example.com"));
	assert_false(is_loopback_domain("1127.0.0.1"));
}

static void test_familiar_name_keeps_other_registries(void **state)
{
	char buf[300];

	(void)state;
	assert_int_equal(familiar_name("docker.io/library/busybox", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "busybox");
	assert_int_equal(familiar_name("docker.io/library/a/b", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "library/a/b");
	assert_int_equal(familiar_name("docker.io/user/app", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "user/app");
	assert_int_equal(familiar_name("docker.iox/app", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "docker.iox/app");
}

static void test_is_digest_wants_sha256_and_64_lower_hex(void **state)
{
	(void)state;
	assert_true(is_digest("sha256:" HEX64));
	assert_false(is_digest("sha256:" HEX64 "0"));
	assert_false(is_digest("sha512:" HEX64));
	assert_false(is_digest("sha256:../../../../etc/passwd0123456789abcdef0123456789abcdef01234"));
}

static void test_platform_flag_must_be_os_slash_arch(void **state)
{
	struct platform p;
	struct failure f;

	(void)state;
	assert_int_equal(parse_platform("linux/arm/v7", &p, &f), 0);
	assert_string_equal(p.os, "linux");
	assert_string_equal(p.architecture, "arm");
	assert_string_equal(p.variant, "v7");
	assert_int_equal(parse_platform("linux", &p, &f), -1);
	assert_non_null(strstr(f.what, "os/arch[/variant]"));
	assert_int_equal(parse_platform("linux/", &p, &f), -1);
	assert_int_equal(parse_platform("linux/amd64/v1/x", &p, &f), -1);
	assert_int_equal(parse_platform("Linux/AMD64", &p, &f), -1);
}

/* An image lists its layers bottom first; overlayfs wants them top first, under the --layer directories. */
static void test_image_layers_are_stacked_top_first_below_layer_flags(void **state)
{
	char *layers[] = { "/s/bottom", "/s/middle", "/s/top" };
	struct container_spec spec = { .nlayers = 1, .layers = { "/my/layer" } };
	struct failure f;

	(void)state;
	assert_int_equal(stack_image_layers(layers, 3, &spec, &f), 0);
	assert_int_equal(spec.nlayers, 3);
	assert_string_equal(spec.layers[0], "/my/layer");
	assert_string_equal(spec.layers[1], "/s/top");
	assert_string_equal(spec.layers[2], "/s/middle");
	assert_string_equal(spec.rootfs, "/s/bottom");
}

/* overlayfs refuses one directory twice: a repeated layer is stacked once, where it is highest. */
static void test_a_layer_listed_twice_is_stacked_once(void **state)
{
	char *layers[] = { "/s/a", "/s/empty", "/s/b", "/s/empty", "/s/a" };
	char *one[] = { "/s/only" };
	struct container_spec spec = { 0 };
	struct failure f;

	(void)state;
	assert_int_equal(stack_image_layers(layers, 5, &spec, &f), 0);
	assert_int_equal(spec.nlayers, 2);
	assert_string_equal(spec.layers[0], "/s/a");
	assert_string_equal(spec.layers[1], "/s/empty");
	assert_string_equal(spec.rootfs, "/s/b");
	memset(&spec, 0, sizeof(spec));
	assert_int_equal(stack_image_layers(one, 1, &spec, &f), 0);
	assert_int_equal(spec.nlayers, 0);
	assert_string_equal(spec.rootfs, "/s/only");
	assert_int_equal(stack_image_layers(one, 0, &spec, &f), -1);
}

static void test_too_many_layers_are_refused(void **state)
{
	char *layers[MAX_LAYERS + 1];
	char names[MAX_LAYERS + 1][16];
	struct container_spec spec = { .nlayers = 1, .layers = { "/my/layer" } };
	struct failure f;

	(void)state;
	for (int i = 0; i <= MAX_LAYERS; i++) {
		snprintf(names[i], sizeof(names[i]), "/s/%d", i);
		layers[i] = names[i];
	}
	assert_int_equal(stack_image_layers(layers, MAX_LAYERS, &spec, &f), 0);
	assert_int_equal(spec.nlayers, MAX_LAYERS);
	spec.nlayers = 1;
	assert_int_equal(stack_image_layers(layers, MAX_LAYERS + 1, &spec, &f), -1);
	assert_int_equal(errno, E2BIG);
}

/* docker: Entrypoint, then the user's CMD, else the image's Cmd. */
static void test_command_is_entrypoint_then_cmd_or_the_users(void **state)
{
	char *entrypoint[] = { "/bin/echo", "entry", NULL }, *cmd[] = { "cmd", NULL };
	char *users[] = { "mine", "too", NULL }, *none[] = { NULL };
	struct image_config c = { .entrypoint = entrypoint, .cmd = cmd };
	struct failure f;
	char **argv;

	(void)state;
	assert_int_equal(image_command(&c, none, &argv, &f), 0);
	assert_string_equal(argv[0], "/bin/echo");
	assert_string_equal(argv[1], "entry");
	assert_string_equal(argv[2], "cmd");
	assert_null(argv[3]);
	free(argv);
	assert_int_equal(image_command(&c, users, &argv, &f), 0);
	assert_string_equal(argv[2], "mine");
	assert_string_equal(argv[3], "too");
	assert_null(argv[4]);
	free(argv);
	c.entrypoint = NULL;
	assert_int_equal(image_command(&c, users, &argv, &f), 0);
	assert_string_equal(argv[0], "mine");
	free(argv);
}

static void test_an_image_without_a_command_needs_one(void **state)
{
	char *none[] = { NULL }, *users[] = { "sh", NULL };
	struct image_config c = { 0 };
	struct failure f;
	char **argv;

	(void)state;
	assert_int_equal(image_command(&c, none, &argv, &f), -1);
	assert_non_null(strstr(f.what, "neither Entrypoint nor Cmd"));
	assert_int_equal(image_command(&c, users, &argv, &f), 0);
	assert_string_equal(argv[0], "sh");
	free(argv);
}

static const char passwd_text[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	"app:x:1000:1001:app:/home/app:/bin/sh\n";
static const char group_text[] =
	"root:x:0:\n"
	"staff:x:50:app,other\n"
	"app:x:1001:\n"
	"video:x:44:app\n"
	"nogroup:x:65534:\n";

/* find_user on the text of a passwd and a group file (NULL: the image has none). */
static int lookup(const char *passwd, const char *group, const char *user, struct user_ids *ids, struct failure *f)
{
	FILE *p = passwd ? fmemopen((void *)passwd, strlen(passwd), "r") : NULL;
	FILE *g = group ? fmemopen((void *)group, strlen(group), "r") : NULL;
	int ret = find_user(p, g, user, ids, f);

	if (p)
		fclose(p);
	if (g)
		fclose(g);
	return ret;
}

static void test_user_by_name_gets_its_ids_home_and_groups(void **state)
{
	struct user_ids ids;
	struct failure f;

	(void)state;
	assert_int_equal(lookup(passwd_text, group_text, "app", &ids, &f), 0);
	assert_int_equal(ids.uid, 1000);
	assert_int_equal(ids.gid, 1001);
	assert_string_equal(ids.home, "/home/app");
	assert_int_equal(ids.ngroups, 2);
	assert_int_equal(ids.groups[0], 50);
	assert_int_equal(ids.groups[1], 44);
	assert_int_equal(lookup(passwd_text, group_text, "nobody", &ids, &f), 0);
	assert_int_equal(ids.uid, 65534);
	assert_int_equal(ids.gid, 65534);
	assert_int_equal(ids.ngroups, 0);
}

static void test_numeric_user_need_not_be_in_passwd(void **state)
{
	struct user_ids ids;
	struct failure f;

	(void)state;
	assert_int_equal(lookup(passwd_text, group_text, "1000", &ids, &f), 0);
	assert_int_equal(ids.uid, 1000);
	assert_int_equal(ids.gid, 1001);
	assert_string_equal(ids.home, "/home/app");
	assert_int_equal(lookup(passwd_text, group_text, "4242", &ids, &f), 0);
	assert_int_equal(ids.uid, 4242);
	assert_int_equal(ids.gid, 0);
	assert_string_equal(ids.home, "/");
	assert_int_equal(lookup(NULL, NULL, "65534:65534", &ids, &f), 0);
	assert_int_equal(ids.uid, 65534);
	assert_int_equal(ids.gid, 65534);
	assert_int_equal(lookup(passwd_text, group_text, "2147483648", &ids, &f), -1);
}

/* user:group replaces the user's own group, and gives no supplementary groups. */
static void test_explicit_group_by_name_or_number(void **state)
{
	struct user_ids ids;
	struct failure f;

	(void)state;
	assert_int_equal(lookup(passwd_text, group_text, "app:staff", &ids, &f), 0);
	assert_int_equal(ids.uid, 1000);
	assert_int_equal(ids.gid, 50);
	assert_int_equal(ids.ngroups, 0);
	assert_int_equal(lookup(passwd_text, group_text, "nobody:4321", &ids, &f), 0);
	assert_int_equal(ids.uid, 65534);
	assert_int_equal(ids.gid, 4321);
	assert_int_equal(lookup(passwd_text, group_text, "0:video", &ids, &f), 0);
	assert_int_equal(ids.uid, 0);
	assert_int_equal(ids.gid, 44);
	assert_string_equal(ids.home, "/root");
}

static void test_unknown_user_or_group_names_are_refused(void **state)
{
	struct user_ids ids;
	struct failure f;

	(void)state;
	assert_int_equal(lookup(passwd_text, group_text, "postgres", &ids, &f), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(f.what, "look up user postgres in the image's /etc/passwd");
	assert_int_equal(lookup(NULL, group_text, "app", &ids, &f), -1);
	assert_int_equal(lookup(passwd_text, group_text, "app:wheel", &ids, &f), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(f.what, "look up group wheel in the image's /etc/group");
	assert_int_equal(lookup(passwd_text, NULL, "app:staff", &ids, &f), -1);
}

/* ---- step 6: the documents of an image (manifest.c) and the registry's challenge (registry.c) -- */

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char oci_index[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\",\"size\":10,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D2 "\",\"size\":10,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D3 "\",\"size\":10,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D3 "\",\"size\":10,"
	"\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}";

static const char arm_index[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\",\"size\":10,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D2 "\",\"size\":10,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}}]}";

static const char docker_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	"\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"" D1 "\",\"size\":5},"
	"\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"" D2 "\",\"size\":7},"
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D3 "\",\"size\":9}]}";

static enum manifest_kind kind(const char *content_type, const char *body)
{
	char media_type[MEDIA_TYPE_MAX];

	return manifest_kind(content_type, body, strlen(body), media_type, sizeof(media_type));
}

static void test_media_types_decide_the_kind(void **state)
{
	(void)state;
	assert_int_equal(kind("application/vnd.oci.image.index.v1+json", "{}"), KIND_INDEX);
	assert_int_equal(kind("application/vnd.docker.distribution.manifest.list.v2+json", "{}"), KIND_INDEX);
	assert_int_equal(kind("application/vnd.oci.image.manifest.v1+json", "{}"), KIND_MANIFEST);
	assert_int_equal(kind("application/vnd.docker.distribution.manifest.v2+json", "{}"), KIND_MANIFEST);
	assert_int_equal(kind("application/vnd.docker.distribution.manifest.v1+prettyjws", "{}"), KIND_SCHEMA1);
	assert_int_equal(kind("application/vnd.docker.distribution.manifest.v1+json", "{}"), KIND_SCHEMA1);
	assert_int_equal(kind("application/vnd.example.thing+json", "{}"), KIND_UNKNOWN);
	/* the body's mediaType wins over the header */
	assert_int_equal(kind("application/json", docker_manifest), KIND_MANIFEST);
	assert_int_equal(kind("text/plain", oci_index), KIND_INDEX);
}

static void test_shape_decides_when_no_type_is_given(void **state)
{
	(void)state;
	assert_int_equal(kind("application/json", "{\"schemaVersion\":1,\"fsLayers\":[]}"), KIND_SCHEMA1);
	assert_int_equal(kind("", "{\"schemaVersion\":2,\"manifests\":[]}"), KIND_INDEX);
	assert_int_equal(kind(NULL, "{\"schemaVersion\":2,\"config\":{},\"layers\":[]}"), KIND_MANIFEST);
	assert_int_equal(kind("application/json", "{\"hello\":1}"), KIND_UNKNOWN);
	assert_int_equal(kind("application/json", "not json"), KIND_UNKNOWN);
}

static void test_content_type_parameters_are_ignored(void **state)
{
	char media_type[MEDIA_TYPE_MAX];

	(void)state;
	assert_int_equal(manifest_kind("application/vnd.oci.image.manifest.v1+json; charset=utf-8", "{}", 2,
				       media_type, sizeof(media_type)), KIND_MANIFEST);
	assert_string_equal(media_type, "application/vnd.oci.image.manifest.v1+json");
}

static void test_manifest_gives_config_and_layers_bottom_first(void **state)
{
	struct manifest m;
	struct failure f;

	(void)state;
	assert_int_equal(parse_manifest(docker_manifest, strlen(docker_manifest), &m, &f), 0);
	assert_string_equal(m.config.digest, D1);
	assert_int_equal(m.config.size, 5);
	assert_int_equal(m.count, 2);
	assert_string_equal(m.layers[0].digest, D2);
	assert_string_equal(m.layers[1].media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
	free_manifest(&m);
}

static int parse_with(const char *config_type, const char *layer_type, const char *digest, struct failure *f)
{
	char body[2048];
	struct manifest m;
	int ret;

	snprintf(body, sizeof(body),
		 "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"%s\",\"digest\":\"" D1 "\",\"size\":5},"
		 "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":7}]}",
		 config_type, layer_type, digest);
	ret = parse_manifest(body, strlen(body), &m, f);
	if (ret == 0)
		free_manifest(&m);
	return ret;
}

static void test_unknown_layers_and_configs_are_refused_by_name(void **state)
{
	const char *config = "application/vnd.oci.image.config.v1+json";
	struct failure f;

	(void)state;
	assert_int_equal(parse_with(config, "application/vnd.oci.image.layer.v1.tar+gzip", D2, &f), 0);
	assert_int_equal(parse_with(config, "application/vnd.oci.image.layer.v1.tar", D2, &f), 0);
	assert_int_equal(parse_with(config, "application/x-lrzip", D2, &f), -1);
	assert_non_null(strstr(f.what, "\"application/x-lrzip\", which box cannot unpack"));
	assert_int_equal(parse_with(config, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", D2, &f), -1);
	assert_non_null(strstr(f.what, "foreign layer"));
	assert_int_equal(parse_with("application/vnd.cncf.helm.config.v1+json",
				    "application/vnd.oci.image.layer.v1.tar", D2, &f), -1);
	assert_non_null(strstr(f.what, "not a container image"));
	/* a digest that could be a path is refused before it gets near the store */
	assert_int_equal(parse_with(config, "application/vnd.oci.image.layer.v1.tar", "sha256:../../etc/passwd", &f), -1);
	assert_int_equal(parse_with(config, "application/vnd.oci.image.layer.v1.tar",
				    "sha512:" "1111111111111111111111111111111111111111111111111111111111111111", &f), -1);
	assert_non_null(strstr(f.what, "sha256 only"));
}

static struct image_index index_of(const char *body)
{
	struct image_index index;
	struct failure f;

	assert_int_equal(parse_index(body, strlen(body), &index, &f), 0);
	return index;
}

static void test_platform_choice_matches_os_arch_and_variant(void **state)
{
	struct image_index index = index_of(oci_index);
	struct platform want;
	struct descriptor d;
	struct failure f;

	(void)state;
	assert_int_equal(parse_platform("linux/amd64", &want, &f), 0);
	assert_int_equal(choose_platform(&index, &want, &d, &f), 0);
	assert_string_equal(d.digest, D1);
	/* arm64 with and without "v8" is the same platform */
	assert_int_equal(parse_platform("linux/arm64", &want, &f), 0);
	assert_int_equal(choose_platform(&index, &want, &d, &f), 0);
	assert_string_equal(d.digest, D2);
	assert_int_equal(parse_platform("linux/arm64/v8", &want, &f), 0);
	assert_int_equal(choose_platform(&index, &want, &d, &f), 0);
	assert_string_equal(d.digest, D2);
	assert_int_equal(parse_platform("linux/arm/v7", &want, &f), 0);
	assert_int_equal(choose_platform(&index, &want, &d, &f), 0);
	assert_string_equal(d.digest, D3);
	free_index(&index);
	/* Two variants of one architecture: the one asked for, wherever it is; without one, the first. */
	index = index_of(arm_index);
	assert_int_equal(choose_platform(&index, &want, &d, &f), 0);
	assert_string_equal(d.digest, D2);
	assert_int_equal(parse_platform("linux/arm", &want, &f), 0);
	assert_int_equal(choose_platform(&index, &want, &d, &f), 0);
	assert_string_equal(d.digest, D1);
	free_index(&index);
}

static void test_missing_platform_lists_what_the_index_offers(void **state)
{
	struct image_index index = index_of(oci_index);
	struct platform want;
	struct descriptor d;
	struct failure f;

	(void)state;
	assert_int_equal(parse_platform("linux/s390x", &want, &f), 0);
	assert_int_equal(choose_platform(&index, &want, &d, &f), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(f.what, "no image for linux/s390x in this index; it offers: "
				    "linux/amd64, linux/arm64/v8, linux/arm/v7");
	assert_int_equal(parse_platform("linux/arm/v6", &want, &f), 0);
	assert_int_equal(choose_platform(&index, &want, &d, &f), -1);
	free_index(&index);
}

static void test_host_platform_comes_from_uname(void **state)
{
	struct platform p;
	char text[100];

	(void)state;
	assert_int_equal(host_platform(&p), 0);
	assert_int_equal(platform_string(&p, text, sizeof(text)), 0);
	print_message("this host: %s\n", text);
	assert_string_equal(p.os, "linux");
#if defined(__x86_64__)
	assert_string_equal(text, "linux/amd64");
#elif defined(__aarch64__)
	assert_string_equal(text, "linux/arm64");
#endif
}

static void test_config_gives_what_a_run_needs(void **state)
{
	static const char config[] =
		"{\"created\":\"2024-05-18T22:34:17.453185236Z\",\"os\":\"linux\",\"architecture\":\"amd64\","
		"\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],\"Env\":[\"PATH=/bin\",\"A=b\"],"
		"\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\",\"ExposedPorts\":{\"80/tcp\":{}},"
		"\"StopSignal\":\"SIGQUIT\",\"Labels\":{\"org.example\":\"yes\"}},"
		"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}";
	struct image_config c;
	struct failure f;
	time_t t;

	(void)state;
	assert_int_equal(parse_image_config(config, strlen(config), &c, &f), 0);
	assert_string_equal(c.entrypoint[0], "/bin/sh");
	assert_string_equal(c.entrypoint[1], "-c");
	assert_null(c.entrypoint[2]);
	assert_string_equal(c.cmd[0], "echo hi");
	assert_string_equal(c.env[1], "A=b");
	assert_string_equal(c.working_dir, "/srv");
	assert_string_equal(c.user, "1000:1000");
	assert_string_equal(c.exposed_ports[0], "80/tcp");
	assert_string_equal(c.stop_signal, "SIGQUIT");
	assert_int_equal(c.nlabels, 1);
	assert_string_equal(c.labels[0].key, "org.example");
	assert_string_equal(c.labels[0].value, "yes");
	assert_int_equal(c.ndiff_ids, 2);
	assert_string_equal(c.diff_ids[1], D2);
	assert_string_equal(c.platform.architecture, "amd64");
	assert_int_equal(parse_rfc3339(c.created, &t), 0);
	assert_int_equal(t, 1716071657);
	free_image_config(&c);
}

static void test_config_without_diff_ids_is_refused(void **state)
{
	static const char config[] = "{\"config\":{},\"rootfs\":{\"type\":\"layers\"}}";
	struct image_config c;
	struct failure f;

	(void)state;
	assert_int_equal(parse_image_config(config, strlen(config), &c, &f), -1);
	assert_non_null(strstr(f.what, "diff_ids"));
}

static void test_rfc3339_times_with_offsets(void **state)
{
	time_t t;

	(void)state;
	assert_int_equal(parse_rfc3339("1970-01-01T00:00:10Z", &t), 0);
	assert_int_equal(t, 10);
	assert_int_equal(parse_rfc3339("1970-01-01T02:00:10+02:00", &t), 0);
	assert_int_equal(t, 10);
	assert_int_equal(parse_rfc3339("1970-01-01T00:00:10.5-01:00", &t), 0);
	assert_int_equal(t, 3610);
	assert_int_equal(parse_rfc3339("yesterday", &t), -1);
	assert_int_equal(parse_rfc3339("1970-01-01T00:00:10Zjunk", &t), -1);
}

static void test_bearer_challenge_from_docker_hub(void **state)
{
	struct challenge c;

	(void)state;
	assert_int_equal(parse_challenge("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
					 "scope=\"repository:library/busybox:pull\"", &c), 0);
	assert_int_equal(c.scheme, AUTH_BEARER);
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/busybox:pull");
}

static void test_commas_and_escapes_inside_quotes_are_text(void **state)
{
	struct challenge c;

	(void)state;
	assert_int_equal(parse_challenge("bearer  realm = \"https://a/token?x=1,2\" , scope=\"repository:a:pull,push\","
					 "service=\"say \\\"hi\\\"\"", &c), 0);
	assert_string_equal(c.realm, "https://a/token?x=1,2");
	assert_string_equal(c.scope, "repository:a:pull,push");
	assert_string_equal(c.service, "say \"hi\"");
}

static void test_unquoted_values_and_basic_challenges(void **state)
{
	struct challenge c;

	(void)state;
	assert_int_equal(parse_challenge("Bearer realm=https://a/token,service=reg", &c), 0);
	assert_string_equal(c.realm, "https://a/token");
	assert_string_equal(c.service, "reg");
	assert_int_equal(parse_challenge("Basic realm=\"Registry Realm\"", &c), 0);
	assert_int_equal(c.scheme, AUTH_BASIC);
	assert_string_equal(c.realm, "Registry Realm");
	/* a second challenge after the first is left alone */
	assert_int_equal(parse_challenge("Basic realm=\"r\", Bearer realm=\"x\"", &c), 0);
	assert_int_equal(c.scheme, AUTH_BASIC);
	assert_string_equal(c.realm, "r");
}

static void test_malformed_challenges_are_refused(void **state)
{
	struct challenge c;

	(void)state;
	assert_int_equal(parse_challenge("Bearer service=\"x\"", &c), -1);	/* no realm */
	assert_int_equal(parse_challenge("Bearer realm=\"unterminated", &c), -1);
	assert_int_equal(parse_challenge("Negotiate abc", &c), -1);
	assert_int_equal(parse_challenge("", &c), -1);
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
		cmocka_unit_test(test_run_takes_an_image_and_an_optional_command),
		cmocka_unit_test(test_run_of_a_directory_or_a_path_is_a_rootfs),
		cmocka_unit_test(test_pull_takes_its_flags_and_one_image),
		cmocka_unit_test(test_bad_pull_lines_are_refused),
		cmocka_unit_test(test_images_and_rmi_take_what_they_need),
		cmocka_unit_test(test_valid_references_parse_like_docker),
		cmocka_unit_test(test_invalid_references_fail_with_a_reason),
		cmocka_unit_test(test_uppercase_message_is_docker_like),
		cmocka_unit_test(test_too_long_names_and_tags_fail),
		cmocka_unit_test(test_docker_hub_api_lives_at_registry_1),
		cmocka_unit_test(test_loopback_hosts_are_insecure_by_default),
		cmocka_unit_test(test_familiar_name_keeps_other_registries),
		cmocka_unit_test(test_is_digest_wants_sha256_and_64_lower_hex),
		cmocka_unit_test(test_platform_flag_must_be_os_slash_arch),
		cmocka_unit_test(test_image_layers_are_stacked_top_first_below_layer_flags),
		cmocka_unit_test(test_a_layer_listed_twice_is_stacked_once),
		cmocka_unit_test(test_too_many_layers_are_refused),
		cmocka_unit_test(test_command_is_entrypoint_then_cmd_or_the_users),
		cmocka_unit_test(test_an_image_without_a_command_needs_one),
		cmocka_unit_test(test_user_by_name_gets_its_ids_home_and_groups),
		cmocka_unit_test(test_numeric_user_need_not_be_in_passwd),
		cmocka_unit_test(test_explicit_group_by_name_or_number),
		cmocka_unit_test(test_unknown_user_or_group_names_are_refused),
		cmocka_unit_test(test_media_types_decide_the_kind),
		cmocka_unit_test(test_shape_decides_when_no_type_is_given),
		cmocka_unit_test(test_content_type_parameters_are_ignored),
		cmocka_unit_test(test_manifest_gives_config_and_layers_bottom_first),
		cmocka_unit_test(test_unknown_layers_and_configs_are_refused_by_name),
		cmocka_unit_test(test_platform_choice_matches_os_arch_and_variant),
		cmocka_unit_test(test_missing_platform_lists_what_the_index_offers),
		cmocka_unit_test(test_host_platform_comes_from_uname),
		cmocka_unit_test(test_config_gives_what_a_run_needs),
		cmocka_unit_test(test_config_without_diff_ids_is_refused),
		cmocka_unit_test(test_rfc3339_times_with_offsets),
		cmocka_unit_test(test_bearer_challenge_from_docker_hub),
		cmocka_unit_test(test_commas_and_escapes_inside_quotes_are_text),
		cmocka_unit_test(test_unquoted_values_and_basic_challenges),
		cmocka_unit_test(test_malformed_challenges_are_refused),
	};

	select_tests();
	return cmocka_run_group_tests_name("step05 unit", tests, NULL, NULL);
}
