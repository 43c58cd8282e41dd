/*
 * test_run.c - box run, checked the way a user would check it (as root).
 * Every test ends with the clean-host check (integration_teardown).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

/* Killed from outside, as docker kill does: 128 + 9. */
static void test_signal_death_gives_128_plus_n(void **state)
{
	char status[64], path[512];

	(void)state;
	skip_unless_root();
	host_sh("cd %s && { %s run %s /bin/sleep 7272 & } && "
		"for i in $(seq 100); do pkill -KILL -f '^/bin/sleep 7272' && break; kill -0 $! || break; sleep 0.05; done; "
		"wait $!; echo $? > status", test_dir(), box_path(), test_rootfs());
	snprintf(path, sizeof(path), "%s/status", test_dir());
	assert_non_null(read_text(path, status, sizeof(status)));
	assert_string_equal(status, "137\n");
}

/* pid_namespaces(7): PID 1 gets only the signals it has a handler for, even from itself. */
static void test_pid_1_ignores_signals_without_a_handler(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/sh", "-c", "kill -TERM $$; echo still here", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "still here\n");
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
	assert_string_equal(r.err, "box: run: must be run as root (clone(2) with new namespaces needs CAP_SYS_ADMIN)\n");
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

/* The lesson of step 2: after pivot_root the host's tree is gone, and so is the way out. */
static void test_chroot_escape_fails(void **state)
{
	char marker[512];

	(void)state;
	skip_unless_root();
	snprintf(marker, sizeof(marker), "%s/host-marker", test_dir());
	host_sh("echo 'the host file system' > %s", marker);
	host_sh("cp %s/escape %s/bin/escape", HELPER_DIR, test_rootfs());
	struct run r = run_box("run", test_rootfs(), "/bin/escape", marker, NULL);
	assert_status(&r, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "escape: open: No such file or directory\n");
}

static void test_the_command_is_pid_1(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/sh", "-c", "echo $$", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "1\n");
}

static void test_proc_shows_only_the_container(void **state)
{
	(void)state;
	skip_unless_root();
	/* ls is PID 1 and alone, so the only process directory in /proc is "1". */
	struct run r = run_box("run", test_rootfs(), "/bin/ls", "-1", "/proc", NULL);
	char pids[256] = "";

	assert_status(&r, 0);
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[strspn(line, "0123456789")] == '\0' && strlen(pids) + strlen(line) + 2 < sizeof(pids)) {
			strcat(pids, line);
			strcat(pids, " ");
		}
	}
	assert_string_equal(pids, "1 ");
}

static void test_hostname_is_set(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "--hostname", "c1", test_rootfs(), "/bin/hostname", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "c1\n");
}

static void test_default_hostname_is_a_container_id(void **state)
{
	char host[256];

	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/hostname", NULL);
	assert_status(&r, 0);
	assert_int_equal(strlen(r.out), 13);	/* 12 hex digits and a newline */
	assert_int_equal(strspn(r.out, "0123456789abcdef"), 12);
	gethostname(host, sizeof(host));
	assert_null(strstr(r.out, host));
}

/*
 * After pivot_root the host's mounts are gone from the container's table: only its own remain.
 * (Step 7: in the order of box run's config, run-config.c: chapter 2's mounts, the volumes, the
 * devices every container gets; then the masked and read-only paths of docker's profile, those
 * this kernel has.)
 */
static void test_the_mount_table_holds_only_the_containers_mounts(void **state)
{
	static const char own[] = "/\n/proc\n/dev\n/dev/pts\n/dev/shm\n/sys\n/etc/hosts\n/etc/hostname\n/etc/resolv.conf\n"
				  "/dev/null\n/dev/zero\n/dev/full\n/dev/random\n/dev/urandom\n/dev/tty\n";
	static const char protected[] = " /proc/acpi /proc/asound /proc/interrupts /proc/kcore /proc/keys "
					"/proc/latency_stats /proc/sched_debug /proc/scsi /proc/timer_list /proc/timer_stats "
					"/sys/devices/virtual/powercap /sys/firmware /proc/bus /proc/fs /proc/irq /proc/sys "
					"/proc/sysrq-trigger ";
	char word[300];

	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/cut", "-d ", "-f2", "/proc/self/mounts", NULL);
	assert_status(&r, 0);
	assert_memory_equal(r.out, own, strlen(own));
	for (char *line = strtok(r.out + strlen(own), "\n"); line; line = strtok(NULL, "\n")) {
		snprintf(word, sizeof(word), " %s ", line);
		if (!strstr(protected, word))
			fail_msg("%s is mounted in the container, and is neither its own nor a masked path", line);
	}
}

/* /dev is a small tmpfs of our own: the harmless devices, a new devpts, /dev/shm. */
static void test_dev_holds_only_what_a_container_needs(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/ls", "/dev", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "fd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n");
	r = run_box("run", test_rootfs(), "/bin/sh", "-c",
		    "echo gone > /dev/null && head -c 4 /dev/zero | wc -c && "
		    "grep -E ' /dev(/pts|/shm)? ' /proc/mounts | cut -d' ' -f2,3", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "4\n/dev tmpfs\n/dev/pts devpts\n/dev/shm tmpfs\n");
}

/* sysfs is the container's own (its network devices) and read-only. */
static void test_sys_is_read_only(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/sh", "-c", "grep ' /sys ' /proc/mounts | cut -d' ' -f3,4 | cut -d, -f1", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "sysfs ro\n");
}

/* --cidfile writes the id (the default hostname), and never replaces a file that exists. */
static void test_cidfile_holds_the_id_and_is_never_overwritten(void **state)
{
	char path[512], id[64], err[700];

	(void)state;
	skip_unless_root();
	snprintf(path, sizeof(path), "%s/cid", test_dir());
	unlink(path);
	struct run r = run_box("run", "--cidfile", path, test_rootfs(), "/bin/hostname", NULL);
	assert_status(&r, 0);
	assert_non_null(read_text(path, id, sizeof(id)));
	strcat(id, "\n");
	assert_string_equal(r.out, id);
	r = run_box("run", "--cidfile", path, test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 125);
	snprintf(err, sizeof(err), "box: write the container id to --cidfile %s: File exists\n", path);
	assert_string_equal(r.err, err);
	unlink(path);
}

static void test_network_has_only_loopback_and_it_is_up(void **state)
{
	char ours[64] = "";

	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "--network", "none", test_rootfs(), "/bin/ls", "/sys/class/net", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "lo\n");
	r = run_box("run", "--network", "none", test_rootfs(), "/bin/ping", "-c", "1", "-W", "2", "127.0.0.1", NULL);
	assert_status(&r, 0);
	/* The tests' own namespace has only lo too (testkit_setup): the container's must be another one. */
	assert_true(readlink("/proc/self/ns/net", ours, sizeof(ours) - 1) > 0);
	r = run_box("run", "--network", "none", test_rootfs(), "/bin/readlink", "/proc/self/ns/net", NULL);
	assert_status(&r, 0);
	assert_memory_equal(r.out, "net:[", 5);
	assert_null(strstr(r.out, ours));
}

static void test_mounts_inside_stay_inside(void **state)
{
	char path[512];

	(void)state;
	skip_unless_root();
	/* Step 7: mount(2) needs CAP_SYS_ADMIN, which docker's profile gives only when asked. */
	struct run r = run_box("run", "--cap-add", "SYS_ADMIN", test_rootfs(), "/bin/sh", "-c",
			       "mount -t tmpfs inside /tmp && touch /tmp/on-the-tmpfs && grep -c ' /tmp ' /proc/mounts", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "1\n");
	/* The file went to the tmpfs, which vanished with the container, not to the rootfs. */
	snprintf(path, sizeof(path), "%s/tmp/on-the-tmpfs", test_rootfs());
	assert_int_equal(access(path, F_OK), -1);
}

/*
 * On a systemd host "/" is a shared mount, and mounts made in a copy of it
 * propagate back (mount_namespaces(7)); this test machine's "/" is private.
 * So run box in a mount namespace of our own whose tree is made shared, as
 * systemd's is, and count the mounts below the test's directory (where the
 * rootfs is) there while and after it runs.
 */
static void test_mounts_do_not_propagate_to_a_shared_host(void **state)
{
	char script[2048];

	(void)state;
	skip_unless_root();
	snprintf(script, sizeof(script),
		 "mount --make-rshared / && %s run %s /bin/sh -c 'sleep 0.2' & "
		 "sleep 0.1; grep -c ' %s[/ ]' /proc/self/mountinfo; wait $!; echo box: $?; "
		 "grep -c ' %s[/ ]' /proc/self/mountinfo",
		 box_path(), test_rootfs(), test_dir(), test_dir());
	char *argv[] = { "unshare", "--mount", "--propagation", "unchanged", "sh", "-c", script, NULL };
	struct run r = run_argv(argv);
	assert_string_equal(r.out, "0\nbox: 0\n0\n");
}

static void test_ipc_objects_of_the_host_are_not_visible(void **state)
{
	(void)state;
	skip_unless_root();
	host_sh("ipcmk -Q | sed -n 's/.*: //p' > %s/queue-id", test_dir());
	struct run r = run_box("run", test_rootfs(), "/bin/cat", "/proc/sysvipc/msg", NULL);
	host_sh("ipcrm -q $(cat %s/queue-id)", test_dir());
	assert_status(&r, 0);
	/* Only the header line: the host's queue is in another IPC namespace. */
	assert_null(strchr(r.out, '\n') ? strchr(strchr(r.out, '\n') + 1, '\n') : NULL);
}

/* A rootfs owned by the ids that root inside a user namespace maps to. */
static const char *userns_rootfs(void)
{
	static char dir[512];

	snprintf(dir, sizeof(dir), "%s/userns-rootfs", test_dir());
	host_sh("[ -d %s ] || { cp -a %s %s && chown -hR 100000:100000 %s; }", dir, test_rootfs(), dir, dir);
	return dir;
}

static void test_userns_root_inside_is_unprivileged_outside(void **state)
{
	char path[600];
	struct stat st;

	(void)state;
	skip_unless_root();
	char volume[600];

	/* A volume owned by the mapped root: what root inside writes there stays, and shows its host owner. */
	snprintf(volume, sizeof(volume), "%s/userns-volume:/shared", test_dir());
	host_sh("mkdir -p %s/userns-volume && chown 100000:100000 %s/userns-volume", test_dir(), test_dir());
	struct run r = run_box("run", "--userns=100000:65536", "-v", volume, userns_rootfs(), "/bin/sh", "-c",
			       "id -u && touch /shared/made-inside", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "0\n");
	snprintf(path, sizeof(path), "%s/userns-volume/made-inside", test_dir());
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 100000);
	assert_int_equal(st.st_gid, 100000);
}

static void test_userns_without_usable_range_is_refused(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "--userns=0:65536", userns_rootfs(), "/bin/true", NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: --userns: no usable id range (uids 0:65536, gids 0:65536): "
			   "need a non-empty range of host ids that does not include 0\n");
	r = run_box("run", "--userns=100000:0", userns_rootfs(), "/bin/true", NULL);
	assert_status(&r, 125);
}

static void test_too_long_hostname_is_refused(void **state)
{
	char name[80];

	(void)state;
	memset(name, 'h', 65);
	name[65] = '\0';
	struct run r = run_box("run", "--hostname", name, "/tmp", "/bin/true", NULL);
	assert_status(&r, 125);
	assert_non_null(strstr(r.err, "must be 1 to 64 characters"));
}

/* If box dies, even by SIGKILL, its container dies with it. */
static void test_killing_box_kills_the_container(void **state)
{
	char started[512], pidfile[512];
	int tries;

	(void)state;
	skip_unless_root();
	/* The container's own writes go to its writable layer: tell through a volume that it started. */
	snprintf(started, sizeof(started), "%s/started", test_dir());
	snprintf(pidfile, sizeof(pidfile), "%s/box.pid", test_dir());
	unlink(started);
	host_sh("%s run -v %s:/shared %s /bin/sh -c 'touch /shared/started; exec sleep 7171' >/dev/null 2>&1 & echo $! > %s",
		box_path(), test_dir(), test_rootfs(), pidfile);
	for (tries = 0; tries < 100 && access(started, F_OK) < 0 && still_running(pidfile); tries++)
		usleep(50 * 1000);
	assert_int_equal(access(started, F_OK), 0);
	host_sh("kill -9 $(cat %s)", pidfile);
	for (tries = 0; tries < 100 && run_argv((char *[]){ "pgrep", "-f", "sleep 7171", NULL }).status == 0; tries++)
		usleep(20 * 1000);
	assert_int_equal(run_argv((char *[]){ "pgrep", "-f", "sleep 7171", NULL }).status, 1);
	/* The dead box could not remove its cgroup; the next run does (chapter 3). */
	struct run r = run_box("run", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ls_shows_the_rootfs_not_the_host, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_command_starts_at_the_new_root, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_exit_codes_pass_through, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_signal_death_gives_128_plus_n, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_pid_1_ignores_signals_without_a_handler, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_missing_command_gives_127_and_one_line, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_not_executable_gives_126, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_missing_rootfs_gives_125, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_that_is_a_file_gives_125, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_not_root_gives_125, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_bad_flag_gives_125_and_usage_hint, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_host_environment_does_not_leak_in, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_chroot_escape_fails, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_command_is_pid_1, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_proc_shows_only_the_container, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_hostname_is_set, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_default_hostname_is_a_container_id, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_mount_table_holds_only_the_containers_mounts, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_dev_holds_only_what_a_container_needs, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_sys_is_read_only, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_cidfile_holds_the_id_and_is_never_overwritten, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_network_has_only_loopback_and_it_is_up, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_mounts_inside_stay_inside, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_mounts_do_not_propagate_to_a_shared_host, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_ipc_objects_of_the_host_are_not_visible, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_userns_root_inside_is_unprivileged_outside, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_userns_without_usable_range_is_refused, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_too_long_hostname_is_refused, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_killing_box_kills_the_container, integration_setup, integration_teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("step05 run", tests, testkit_setup, testkit_cleanup);
}
