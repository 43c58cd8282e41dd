/*
 * test_overlay.c - the container's root as an overlay: writes land in its
 * own layer, the layers below stay as they were, volumes and tmpfs mounts
 * go where they are told and nowhere else. As root; every test ends with
 * the clean-host check, which also looks for containers' directories left
 * in the box root (the tests set BOX_ROOT to a scratch directory).
 * testkit/cgroup2-vm runs this program on a stock Debian kernel too.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "boxtest.h"

/* A path in the test's scratch directory (one static buffer per call site is enough here). */
static const char *scratch(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", test_dir(), name);
	return buf;
}

/* Every path, its type, mode, owner, link target and content, as one digest: "nothing changed" made checkable. */
static void tree_digest(const char *dir, char *digest, size_t size)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && { find . -printf '%%p %%y %%m %%U:%%G %%s %%l\\n' | sort; "
		 "find . -type f -print0 | sort -z | xargs -0 -r sha256sum; } | sha256sum", dir);
	char *argv[] = { "sh", "-c", cmd, NULL };
	struct run r = run_argv(argv);

	assert_status(&r, 0);
	assert_true(strlen(r.out) < size);
	memcpy(digest, r.out, strlen(r.out) + 1);
}

/* Run box with --keep; return the path of the kept writable layer (from box's last line on stderr). */
static const char *run_kept(struct run *out, const char *command)
{
	static char upper[1024];
	char *argv[] = { (char *)box_path(), "run", "--keep", (char *)test_rootfs(), "/bin/sh", "-c", (char *)command, NULL };
	const char *said;

	*out = run_argv(argv);
	said = strstr(out->err, "its writable layer is ");
	if (!said)
		fail_msg("box --keep did not say where the writable layer is; stderr:\n%s", out->err);
	snprintf(upper, sizeof(upper), "%s", said + strlen("its writable layer is "));
	upper[strcspn(upper, "\n")] = '\0';
	return upper;
}

/* Remove kept containers again, as a user would: box prune. */
static void prune(void)
{
	struct run r = run_box("prune", NULL);

	assert_status(&r, 0);
}

static void test_writes_land_in_the_upper_layer_and_the_rootfs_is_unchanged(void **state)
{
	char before[128], after[128], path[1200];
	struct run r;
	const char *upper;

	(void)state;
	skip_unless_root();
	tree_digest(test_rootfs(), before, sizeof(before));
	upper = run_kept(&r, "echo written > /etc/new-file && echo more >> /etc/passwd && chmod 600 /etc/group && "
			     "mkdir /srv && rm /bin/ls");
	assert_status(&r, 0);
	tree_digest(test_rootfs(), after, sizeof(after));
	assert_string_equal(after, before);
	snprintf(path, sizeof(path), "%s/etc/new-file", upper);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/etc/passwd", upper);	/* copied up, then changed */
	assert_int_equal(access(path, F_OK), 0);
	prune();
}

static void test_the_writable_layer_is_gone_after_the_run(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/bin/sh", "-c", "echo x > /left-behind", NULL);
	assert_status(&r, 0);
	r = run_box("run", test_rootfs(), "/bin/ls", "/left-behind", NULL);
	assert_status(&r, 1);
	/* And the clean-host check finds no container directory left. */
}

/* Two containers on one lower layer at once: each sees its own writes only. */
static void test_two_containers_on_one_rootfs_see_only_their_own_changes(void **state)
{
	char out_a[512], text[4096];

	(void)state;
	skip_unless_root();
	scratch(out_a, sizeof(out_a), "a.out");
	host_sh("%s run %s /bin/sh -c 'touch /only-in-a; sleep 1; ls /' > %s 2>&1 & echo $! > %s/a.pid",
		box_path(), test_rootfs(), out_a, test_dir());
	usleep(300 * 1000);
	struct run b = run_box("run", test_rootfs(), "/bin/sh", "-c", "touch /only-in-b; ls /", NULL);
	assert_status(&b, 0);
	scratch(text, sizeof(text), "a.pid");
	assert_int_equal(signal_and_reap(text, 0), 0);	/* signal 0: just wait for it */
	assert_non_null(read_text(out_a, text, sizeof(text)));
	assert_non_null(strstr(b.out, "only-in-b\n"));
	assert_null(strstr(b.out, "only-in-a"));
	assert_non_null(strstr(text, "only-in-a\n"));
	assert_null(strstr(text, "only-in-b"));
}

/* overlayfs.rst, "whiteouts and opaque directories": what a delete and a replaced directory leave in upper. */
static void test_deletes_become_whiteouts_and_replaced_directories_opaque(void **state)
{
	char path[1200], value[8] = "";
	struct run r;
	struct stat st;
	const char *upper;

	(void)state;
	skip_unless_root();
	host_sh("mkdir -p %s/srv/old && touch %s/srv/old/a %s/srv/old/b", test_rootfs(), test_rootfs(), test_rootfs());
	upper = run_kept(&r, "rm /etc/group && rm -r /srv/old && mkdir /srv/old && touch /srv/old/new && ls /srv/old");
	assert_status(&r, 0);
	assert_string_equal(r.out, "new\n");
	snprintf(path, sizeof(path), "%s/etc/group", upper);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), 0);
	assert_int_equal(minor(st.st_rdev), 0);
	snprintf(path, sizeof(path), "%s/srv/old", upper);
	assert_int_equal(lgetxattr(path, "trusted.overlay.opaque", value, sizeof(value) - 1), 1);
	assert_string_equal(value, "y");
	host_sh("rm -r %s/srv", test_rootfs());
	prune();
}

/* --layer DIR: read-only layers above ROOTFS, top first; the top one wins, as in an image. */
static void test_stacked_layers_the_top_one_wins(void **state)
{
	char l1[512], l2[512], l3[512];

	(void)state;
	skip_unless_root();
	scratch(l1, sizeof(l1), "layer1");
	scratch(l2, sizeof(l2), "layer2");
	scratch(l3, sizeof(l3), "layer3");
	host_sh("for l in %s %s %s; do mkdir -p $l/etc && echo $(basename $l) > $l/etc/which && echo $l > $l/$(basename $l); done",
		l1, l2, l3);
	struct run r = run_box("run", "--layer", l1, "--layer", l2, "--layer", l3, test_rootfs(), "/bin/sh", "-c",
			       "cat /etc/which; ls / | grep layer", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "layer1\nlayer1\nlayer2\nlayer3\n");
}

/* mount(2) takes one page of options: 60 layers with long paths would not fit in "lowerdir=". */
static void test_sixty_layers_work(void **state)
{
	char *argv[200];
	char dir[512];
	int argc = 0;

	(void)state;
	skip_unless_root();
	scratch(dir, sizeof(dir), "a-rather-long-directory-name-for-the-many-layers-of-this-test");
	host_sh("for i in $(seq 1 60); do mkdir -p %s/layer-number-$i && echo $i > %s/layer-number-$i/from-$i; done", dir, dir);
	argv[argc++] = (char *)box_path();
	argv[argc++] = "run";
	for (int i = 1; i <= 60; i++) {
		char *path = malloc(600);

		snprintf(path, 600, "%s/layer-number-%d", dir, i);
		argv[argc++] = "--layer";
		argv[argc++] = path;
	}
	argv[argc++] = (char *)test_rootfs();
	argv[argc++] = "/bin/sh";
	argv[argc++] = "-c";
	argv[argc++] = "ls / | grep -c from-";
	argv[argc] = NULL;
	struct run r = run_argv(argv);
	for (int i = 0; i < 60; i++)
		free(argv[3 + 2 * i]);
	assert_status(&r, 0);
	assert_string_equal(r.out, "60\n");
}

/* -v: the data outlives the container; :ro cannot be written, even by root inside. */
static void test_volumes_persist_and_read_only_ones_refuse_writes(void **state)
{
	char data[512], volume[600], ro[600], text[64];

	(void)state;
	skip_unless_root();
	scratch(data, sizeof(data), "data");
	host_sh("mkdir -p %s", data);
	snprintf(volume, sizeof(volume), "%s:/var/data", data);
	struct run r = run_box("run", "-v", volume, test_rootfs(), "/bin/sh", "-c", "echo kept > /var/data/file", NULL);
	assert_status(&r, 0);
	r = run_box("run", "-v", volume, test_rootfs(), "/bin/cat", "/var/data/file", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "kept\n");
	snprintf(ro, sizeof(ro), "%s:/var/data:ro", data);
	r = run_box("run", "-v", ro, test_rootfs(), "/bin/sh", "-c", "echo changed > /var/data/file", NULL);
	assert_status(&r, 1);
	assert_non_null(strstr(r.err, "Read-only file system"));
	snprintf(volume, sizeof(volume), "%s/file", data);
	assert_string_equal(read_text(volume, text, sizeof(text)), "kept\n");
}

/* A single file can be a volume too: its mount point is made as an empty file inside. */
static void test_a_file_can_be_a_volume(void **state)
{
	char file[512], volume[600];

	(void)state;
	skip_unless_root();
	scratch(file, sizeof(file), "config.txt");
	host_sh("echo from the host > %s", file);
	snprintf(volume, sizeof(volume), "%s:/etc/app/config.txt:ro", file);
	struct run r = run_box("run", "-v", volume, test_rootfs(), "/bin/cat", "/etc/app/config.txt", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "from the host\n");
}

/* --read-only: "/" refuses writes; --tmpfs /tmp is writable and has the size asked for. */
static void test_read_only_root_with_a_writable_tmpfs(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "--read-only", "--tmpfs", "/tmp:size=2m", test_rootfs(), "/bin/sh", "-c",
			       "touch /tmp/ok && echo tmp writable; touch /etc/no 2>&1; df -k /tmp | tail -n 1", NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "tmp writable\n"));
	assert_non_null(strstr(r.out, "touch: /etc/no: Read-only file system\n"));
	/* df -k: "tmpfs 2048 0 2048 0% /tmp" */
	assert_non_null(strstr(r.out, " 2048 "));
}

static void test_tmpfs_options_are_applied(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", "--tmpfs", "/scratch:mode=1777,exec", test_rootfs(), "/bin/sh", "-c",
			       "stat -c %a /scratch; grep ' /scratch ' /proc/mounts | cut -d' ' -f4", NULL);
	assert_status(&r, 0);
	/* "1777\nrw,nosuid,nodev,relatime..." (kernels add options of their own, like inode64) */
	assert_memory_equal(r.out, "1777\nrw,", 8);
	assert_non_null(strstr(r.out, ",nosuid,"));
	assert_non_null(strstr(r.out, ",nodev,"));
	assert_null(strstr(r.out, "noexec"));
}

/*
 * The rootfs has /data -> /../../..VICTIM, VICTIM a directory of the host.
 * Resolved naively on the host, -v x:/data/sub would make and cover
 * VICTIM/sub on the host; resolved inside the root (openat2(2),
 * RESOLVE_IN_ROOT) it lands on the container's own VICTIM/sub, or, where
 * the container has no such directory, fails. The host is never touched.
 */
static void test_a_symlinked_destination_stays_inside_the_root(void **state)
{
	char src[512], volume[600], victim[512], before[128], after[128];

	(void)state;
	skip_unless_root();
	scratch(src, sizeof(src), "volume-src");
	scratch(victim, sizeof(victim), "victim");
	host_sh("mkdir -p %s %s && echo volume > %s/v && echo host > %s/host-file", src, victim, src, victim);
	host_sh("ln -sfn /../../../../../..%s %s/data", victim, test_rootfs());
	tree_digest(victim, before, sizeof(before));
	snprintf(volume, sizeof(volume), "%s:/data/sub", src);
	/* The container has no VICTIM directory: refused, one line. */
	struct run r = run_box("run", "-v", volume, test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 125);
	assert_non_null(strstr(r.err, " on /data/sub (mounts["));	/* step 7: a volume is a mount of box run's config */
	/* Now it has one (in its own tree): the volume is mounted there. */
	host_sh("mkdir -p %s%s", test_rootfs(), victim);
	r = run_box("run", "-v", volume, test_rootfs(), "/bin/sh", "-c", "cat /data/sub/v; ls /data", NULL);
	host_sh("rm %s/data && rm -r %s%s", test_rootfs(), test_rootfs(), test_dir());
	assert_status(&r, 0);
	assert_string_equal(r.out, "volume\nsub\n");
	tree_digest(victim, after, sizeof(after));
	assert_string_equal(after, before);
}

/* Bad input: one line, exit 125, and nothing made (the clean-host check looks). final: "name:/x"
 * is a named volume now (volume.c), so the relative path is "./relative". */
static void test_bad_file_system_flags_are_refused(void **state)
{
	char file[512], missing[512], bad[8][700];
	const char *cases[][2] = {
		{ "-v", "./relative:/x" }, { "-v", "/etc" }, { "-v", bad[0] }, { "--tmpfs", "/t:size=lots" },
		{ "--tmpfs", "relative" }, { "--tmpfs", "/t:bogus" }, { "--layer", file }, { "--layer", missing },
	};

	(void)state;
	skip_unless_root();
	scratch(file, sizeof(file), "a-file");
	scratch(missing, sizeof(missing), "no-such-layer");
	host_sh("touch %s", file);
	snprintf(bad[0], sizeof(bad[0]), "%s:/x", missing);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = run_box("run", cases[i][0], cases[i][1], test_rootfs(), "/bin/true", NULL);

		assert_status(&r, 125);
		assert_non_null(strchr(r.err, '\n'));
		assert_string_equal(strchr(r.err, '\n'), "\n");	/* one line */
	}
	struct run r = run_box("run", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
	r = run_box("run", "/no/such/rootfs", "/bin/true", NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: rootfs /no/such/rootfs: No such file or directory\n");
}

/* An exec that fails leaves no container directory either (the clean-host check looks). */
static void test_a_failed_command_leaves_nothing(void **state)
{
	(void)state;
	skip_unless_root();
	struct run r = run_box("run", test_rootfs(), "/no/such/program", NULL);
	assert_status(&r, 127);
}

/* box killed with SIGKILL leaves its container's directory; the next run removes it, not a running one's. */
static void test_a_killed_boxs_directory_is_removed_and_a_running_one_kept(void **state)
{
	char killed[512], running[512], started[512];

	(void)state;
	skip_unless_root();
	scratch(killed, sizeof(killed), "killed.pid");
	scratch(running, sizeof(running), "running.pid");
	scratch(started, sizeof(started), "started");
	host_sh("%s run --cidfile %s/killed.cid %s /bin/sleep 60 >/dev/null 2>&1 & echo $! > %s",
		box_path(), test_dir(), test_rootfs(), killed);
	host_sh("%s run --cidfile %s/running.cid -v %s:/shared %s /bin/sh -c 'touch /shared/started; sleep 60' "
		">/dev/null 2>&1 & echo $! > %s", box_path(), test_dir(), test_dir(), test_rootfs(), running);
	assert_int_equal(wait_for_file(started), 0);
	signal_and_reap(killed, SIGKILL);
	host_sh("test -d $BOX_ROOT/containers/$(cat %s/killed.cid)", test_dir());
	struct run r = run_box("run", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
	host_sh("! test -e $BOX_ROOT/containers/$(cat %s/killed.cid)", test_dir());
	host_sh("test -d $BOX_ROOT/containers/$(cat %s/running.cid)", test_dir());
	assert_int_equal(signal_and_reap(running, SIGTERM), 128 + SIGTERM);
	host_sh("rm -f %s/killed.cid %s/running.cid %s", test_dir(), test_dir(), started);
}

/* A kept container survives the next run's cleanup; box prune removes it. */
static void test_kept_containers_stay_until_pruned(void **state)
{
	const char *upper;
	struct run r;

	(void)state;
	skip_unless_root();
	upper = run_kept(&r, "true");
	assert_status(&r, 0);
	r = run_box("run", test_rootfs(), "/bin/true", NULL);
	assert_status(&r, 0);
	assert_int_equal(access(upper, F_OK), 0);
	r = run_box("prune", NULL);
	assert_status(&r, 0);
	assert_memory_equal(r.out, "removed 1 container directory\n", strlen("removed 1 container directory\n"));
}

/* overlayfs cannot put a writable layer on overlayfs: one clear line instead of EINVAL. */
static void test_a_box_root_on_overlayfs_is_refused_clearly(void **state)
{
	char script[2048];

	(void)state;
	skip_unless_root();
	snprintf(script, sizeof(script),
		 "cd %s && mkdir -p ov/l ov/u ov/w ov/m && mount -t overlay x -o lowerdir=ov/l,upperdir=ov/u,workdir=ov/w ov/m && "
		 "%s --root %s/ov/m/root run %s /bin/true", test_dir(), box_path(), test_dir(), test_rootfs());
	char *argv[] = { "unshare", "--mount", "sh", "-c", script, NULL };
	struct run r = run_argv(argv);
	host_sh("rm -rf %s/ov", test_dir());
	assert_status(&r, 125);
	assert_non_null(strstr(r.err, "is on overlayfs, which cannot hold a container's writable layer"));
}

/* Can the test's box root hold user.* extended attributes? (tmpfs only since Linux 6.6.) */
static int box_root_has_user_xattrs(void)
{
	char root[512];

	snprintf(root, sizeof(root), "%s/root", test_dir());
	host_sh("mkdir -p %s", root);
	if (setxattr(root, "user.test", "y", 1, 0) < 0)
		return errno != ENOTSUP;
	removexattr(root, "user.test");
	return 1;
}

/* In a user namespace the writable layer belongs to the mapped root; overlayfs uses user.* xattrs there. */
static void test_overlay_works_in_a_user_namespace(void **state)
{
	char rootfs[512];

	(void)state;
	skip_unless_root();
	scratch(rootfs, sizeof(rootfs), "userns-rootfs");
	host_sh("[ -d %s ] || { cp -a %s %s && chown -hR 100000:100000 %s; }", rootfs, test_rootfs(), rootfs, rootfs);
	/* A whiteout (rm), and an opaque directory (rm -r, mkdir), which needs an xattr: user.overlay.opaque. */
	struct run r = run_box("run", "--userns=100000:65536", rootfs, "/bin/sh", "-c",
			       "touch /new && rm /etc/group && ls /etc/group 2>&1; rm -r /var && mkdir /var && echo replaced; "
			       "stat -c %u /new", NULL);
	if (!box_root_has_user_xattrs()) {
		/* Then box says so before it starts, instead of letting overlayfs fail later with EIO. */
		assert_status(&r, 125);
		assert_non_null(strstr(r.err, "has no user.* extended attributes, which overlayfs needs in a user namespace"));
		return;
	}
	assert_status(&r, 0);
	assert_string_equal(r.out, "ls: /etc/group: No such file or directory\nreplaced\n0\n");
	assert_string_equal(r.err, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writes_land_in_the_upper_layer_and_the_rootfs_is_unchanged, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_writable_layer_is_gone_after_the_run, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_two_containers_on_one_rootfs_see_only_their_own_changes, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_deletes_become_whiteouts_and_replaced_directories_opaque, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_stacked_layers_the_top_one_wins, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_sixty_layers_work, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_volumes_persist_and_read_only_ones_refuse_writes, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_file_can_be_a_volume, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_read_only_root_with_a_writable_tmpfs, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_tmpfs_options_are_applied, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_symlinked_destination_stays_inside_the_root, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_bad_file_system_flags_are_refused, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_failed_command_leaves_nothing, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_killed_boxs_directory_is_removed_and_a_running_one_kept, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_kept_containers_stay_until_pruned, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_box_root_on_overlayfs_is_refused_clearly, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_overlay_works_in_a_user_namespace, integration_setup, integration_teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("step05 overlay", tests, testkit_setup, testkit_cleanup);
}
