/*
 * test_image.c - images from a registry: pulled, verified, stored once,
 * and run as overlay layers with their config applied. A local
 * docker-registry holding testkit's test images runs for the whole program
 * (group setup), with misbehaving proxies in front of it where a test needs
 * one. As root; every test ends with the clean-host check.
 */
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "imagetest.h"

static const char images[] = "busybox,layers,config,multi,docker,dockerlist,zstd,uncompressed,"
			     "evil-abs,evil-dotdot,evil-symlink,evil-layer-symlink,evil-hardlink,evil-whiteout";

/* The busybox image's layer and config blobs, as the registry names them. */
static char busybox_layer[80], busybox_config[80];

/*
 * Every entry of the tree in DIR but the mount points box adds inside (type,
 * mode, owner, link target), then every file's sha256. busybox makes both
 * lists, on the host and in the container, so the tools cannot differ. The
 * network's /etc/hosts, /etc/hostname and /etc/resolv.conf are the
 * container's own (chapter 5), bound over the image's: left out too.
 */
static const char tree_script[] =
	"cd %s && F='busybox find . -xdev ( -path ./proc -o -path ./dev -o -path ./sys -o -path ./etc/hosts "
	"-o -path ./etc/hostname -o -path ./etc/resolv.conf ) -prune -o'; "
	"$F ! -path . -print | busybox sort | busybox xargs busybox stat -c '%%n %%F %%a %%u:%%g %%N' && "
	"$F -type f -print | busybox sort | busybox xargs busybox sha256sum";

static int setup_group(void **state)
{
	char cmd[1024];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct run r;

	if (start_registry(state, "", images) < 0)
		return -1;
	if (!registry[0])
		return 0;
	snprintf(cmd, sizeof(cmd),
		 "curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://%s/v2/box-test/busybox/manifests/latest"
		 " | python3 -c 'import json, sys; m = json.load(sys.stdin); print(m[\"layers\"][0][\"digest\"], m[\"config\"][\"digest\"])'",
		 registry);
	r = run_argv(argv);
	if (r.status != 0 || sscanf(r.out, "%79s %79s", busybox_layer, busybox_config) != 2) {
		print_error("reading the busybox manifest failed: %s\n", r.err);
		return -1;
	}
	return 0;
}

/* The registry goes, and the hostile images' target, also after a test that failed half-way. */
static int teardown_group(void **state)
{
	char *argv[] = { "rm", "-rf", (char *)marker_dir, NULL };

	if (is_root())
		run_argv(argv);
	return stop_registry(state);
}

static void skip_unless_registry(void)
{
	skip_unless_root();
	assert_true(registry[0]);
}

/* The tree the test's busybox rootfs has: what every busybox image must show. */
static const char *host_tree(void)
{
	static char tree[RUN_OUTPUT_MAX];
	char cmd[1024];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct run r;

	snprintf(cmd, sizeof(cmd), tree_script, test_rootfs());
	r = run_argv(argv);
	assert_status(&r, 0);
	snprintf(tree, sizeof(tree), "%s", r.out);
	return tree;
}

/* The tree a container of image ref sees, without the lines that hold any of the words. */
static const char *container_tree(const char *root, const char *ref, const char *const drop[])
{
	static char tree[RUN_OUTPUT_MAX];
	char script[1024];
	struct run r;
	size_t len = 0;

	snprintf(script, sizeof(script), tree_script, "/");
	r = run_box("--root", root, "run", ref, "/bin/sh", "-c", script, NULL);
	assert_status(&r, 0);
	tree[0] = '\0';
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
		bool keep = true;

		for (int i = 0; drop && drop[i]; i++)
			keep = keep && !strstr(line, drop[i]);
		if (keep)
			len += (size_t)snprintf(tree + len, sizeof(tree) - len, "%s\n", line);
	}
	return tree;
}

static const char *default_root(void)
{
	return getenv("BOX_ROOT");
}

static void pull_quietly(const char *root, const char *ref)
{
	struct run r = run_box("--root", root, "pull", "-q", ref, NULL);

	assert_status(&r, 0);
	assert_string_equal(r.out, "");
}

/* OCI and Docker media types, an index, a Docker list, gzip, zstd, plain tar: the same tree each time. */
static void test_each_image_runs_with_the_tree_it_defines(void **state)
{
	const char *repos[] = { "busybox", "docker", "zstd", "uncompressed", "multi", "dockerlist" };
	const char *const drop_platform[] = { "box-test-platform", NULL };
	char ref[256];
	const char *expected;

	(void)state;
	skip_unless_registry();
	expected = host_tree();
	for (size_t i = 0; i < sizeof(repos) / sizeof(repos[0]); i++) {
		print_message("%s\n", repos[i]);
		image_ref(ref, sizeof(ref), registry, repos[i]);
		pull_quietly(default_root(), ref);
		assert_string_equal(container_tree(default_root(), ref, drop_platform), expected);
	}
	/* From an index or a list: this machine's platform (amd64 is not the index's first entry). */
	struct run r = run_box("run", image_ref(ref, sizeof(ref), registry, "multi"), "/bin/cat", "/etc/box-test-platform", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "linux/amd64\n");
}

/* Layer 3 deletes a file of layer 2 (.wh.NAME), layer 4 replaces a directory (.wh..wh..opq). */
static void test_whiteouts_and_opaque_directories_are_applied(void **state)
{
	const char *const drop[] = { "./opt", "./special", "./etc/kept", NULL };
	char ref[256];

	(void)state;
	skip_unless_registry();
	image_ref(ref, sizeof(ref), registry, "layers");
	pull_quietly(default_root(), ref);
	assert_string_equal(container_tree(default_root(), ref, drop), host_tree());
	struct run r = run_box("run", ref, "/bin/sh", "-c", "ls -a /opt/replaced; cat /etc/kept; ls /etc/removed-by-layer3", NULL);
	assert_status(&r, 1);
	assert_string_equal(r.out, ".\n..\nnew\nkept\n");
	assert_string_equal(r.err, "ls: /etc/removed-by-layer3: No such file or directory\n");
}

/* What a layer keeps: modes with setuid, setgid and sticky bits, owners, hard and symbolic links, devices, fifos, times. */
static void test_a_layer_keeps_modes_owners_links_devices_and_times(void **state)
{
	char ref[256], path[PATH_MAX], value[16] = "";
	struct run r;

	(void)state;
	skip_unless_registry();
	image_ref(ref, sizeof(ref), registry, "layers");
	pull_quietly(default_root(), ref);
	r = run_box("run", ref, "/bin/sh", "-c", "cd /special && stat -c '%n %F %a %u:%g %h %t:%T %Y %N' * && "
		    "[ $(stat -c %i hardlink) = $(stat -c %i target) ] && stat -c %Y . && cat setuid", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out,
			    "abs-symlink symbolic link 777 0:0 1 0:0 1700000000 'abs-symlink' -> '/etc/passwd'\n"
			    "fifo fifo 644 0:0 1 0:0 1700000000 fifo\n"
			    "hardlink regular file 644 0:0 2 0:0 1700000000 hardlink\n"
			    "mtime-new regular file 644 0:0 1 0:0 1600000000 mtime-new\n"
			    "mtime-old regular file 644 0:0 1 0:0 1000000000 mtime-old\n"
			    "null character special file 666 0:0 1 1:3 1700000000 null\n"
			    "owned regular file 644 1000:1000 1 0:0 1700000000 owned\n"
			    "readonly regular file 400 0:0 1 0:0 1700000000 readonly\n"
			    "setgid regular file 2755 0:0 1 0:0 1700000000 setgid\n"
			    "setuid regular file 4755 0:0 1 0:0 1700000000 setuid\n"
			    "sticky directory 1777 0:0 2 0:0 1700000000 sticky\n"
			    "symlink symbolic link 777 0:0 1 0:0 1700000000 'symlink' -> 'target'\n"
			    "target regular file 644 0:0 2 0:0 1700000000 target\n"
			    "xattr regular file 644 0:0 1 0:0 1700000000 xattr\n"
			    "1500000000\n"
			    "#!/bin/sh\necho setuid\n");
	/* busybox has no getfattr: read the xattr in the store, where the layer is unpacked. */
	host_sh("ls -d %s/layers/sha256/*/diff/special/xattr > %s/xattr-path", default_root(), test_dir());
	snprintf(path, sizeof(path), "%s/xattr-path", test_dir());
	assert_non_null(read_text(path, path, sizeof(path)));
	path[strcspn(path, "\n")] = '\0';
	assert_int_equal(lgetxattr(path, "user.box.test", value, sizeof(value) - 1), 5);
	assert_string_equal(value, "hello");
}

/* --platform picks another entry of an index; arm64 matches the index's arm64/v8. */
static void test_a_platform_is_chosen_from_an_index(void **state)
{
	const char *platforms[][2] = { { "linux/arm/v7", "linux/arm/v7\n" }, { "linux/arm64", "linux/arm64/v8\n" },
				       { NULL, "linux/amd64\n" } };
	char root[PATH_MAX], ref[256];

	(void)state;
	skip_unless_registry();
	fresh_root(root, sizeof(root), "platform");
	image_ref(ref, sizeof(ref), registry, "multi");
	for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
		struct run r = platforms[i][0] ? run_box("--root", root, "pull", "-q", "--platform", platforms[i][0], ref, NULL)
					       : run_box("--root", root, "pull", "-q", ref, NULL);

		assert_status(&r, 0);
		r = run_box("--root", root, "run", ref, "/bin/cat", "/etc/box-test-platform", NULL);
		assert_status(&r, 0);
		assert_string_equal(r.out, platforms[i][1]);
	}
}

static void test_a_missing_platform_is_refused_listing_what_the_index_offers(void **state)
{
	char root[PATH_MAX], ref[256];

	(void)state;
	skip_unless_registry();
	fresh_root(root, sizeof(root), "no-platform");
	struct run r = run_box("--root", root, "pull", "--platform", "linux/s390x",
			       image_ref(ref, sizeof(ref), registry, "multi"), NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: no image for linux/s390x in this index; it offers: "
				   "linux/arm64/v8, linux/arm/v7, linux/amd64: No such file or directory\n");
	r = run_box("--root", root, "images", NULL);
	assert_status(&r, 0);
	assert_int_equal(strchr(r.out, '\n')[1], '\0');	/* the header alone */
}

/* A failed pull names nothing, leaves no part of the failed blob, and nothing half-made. */
static void assert_pull_left_nothing(const char *root, const char *digest)
{
	struct run r = run_box("--root", root, "images", NULL);

	assert_status(&r, 0);
	assert_int_equal(strchr(r.out, '\n')[1], '\0');
	assert_false(has_blob(root, digest));
	assert_int_equal(count_in_store(root, "layers/sha256"), 0);
	assert_store_sound(root);
}

/* box pull into root, giving up a stalled transfer after timeout seconds. */
static struct run pull_with_timeout(const char *timeout, const char *root, const char *ref)
{
	char setting[64];
	char *argv[] = { "env", setting, (char *)box_path(), "--root", (char *)root, "pull", "-q", (char *)ref, NULL };

	snprintf(setting, sizeof(setting), "BOX_REGISTRY_TIMEOUT=%s", timeout);
	return run_argv(argv);
}

/* Pull through a proxy in mode (for the busybox layer only); the pull must fail saying what. */
static void assert_pull_through_fails(const char *mode, const char *what)
{
	char root[PATH_MAX], proxy[64], ref[256], digest[100];

	fresh_root(root, sizeof(root), mode);
	snprintf(digest, sizeof(digest), "--digest %s", busybox_layer);
	start_proxy(mode, mode, digest, proxy, sizeof(proxy));
	struct run r = pull_with_timeout("1", root, image_ref(ref, sizeof(ref), proxy, "busybox"));
	assert_status(&r, 125);
	assert_one_line_saying(&r, what);
	assert_pull_left_nothing(root, busybox_layer);
}

static void test_a_tampered_blob_fails_naming_its_digest_and_leaves_nothing(void **state)
{
	char what[256];

	(void)state;
	skip_unless_registry();
	snprintf(what, sizeof(what), "box: blob %s: content does not match its digest (it hashes to sha256:", busybox_layer);
	assert_pull_through_fails("tamper", what);
}

static void test_a_truncated_body_fails_naming_its_digest_and_leaves_nothing(void **state)
{
	char what[256];

	(void)state;
	skip_unless_registry();
	snprintf(what, sizeof(what), "box: blob %s: Transferred a partial file (3 tries)", busybox_layer);
	assert_pull_through_fails("truncate", what);
}

/* Half a blob, then silence; or no answer at all: the timeout ends it, never a hang. */
static void test_a_stalled_registry_ends_with_the_timeout_and_leaves_nothing(void **state)
{
	char what[256], root[PATH_MAX], proxy[64], ref[256];

	(void)state;
	skip_unless_registry();
	snprintf(what, sizeof(what), "box: blob %s: stalled, no progress for 1 s (the timeout; BOX_REGISTRY_TIMEOUT changes it)",
		 busybox_layer);
	time_t started = time(NULL);
	assert_pull_through_fails("stall", what);
	/* after the timeout, not seconds later (libcurl's low-speed check alone averages over 5 s) */
	assert_true(time(NULL) - started <= 3);
	start_proxy("hang", "hang", "", proxy, sizeof(proxy));
	fresh_root(root, sizeof(root), "hang");
	struct run r = pull_with_timeout("1", root, image_ref(ref, sizeof(ref), proxy, "busybox"));
	assert_status(&r, 125);
	snprintf(what, sizeof(what), "box: http://%s: stalled, no progress for 1 s", proxy);
	assert_one_line_saying(&r, what);
	assert_store_sound(root);
}

/*
 * mkimages.sh's hostile images aim at MARKER (/tmp/box-test-marker), which
 * holds one file, victim: absolute names, "..", a symlink and a write
 * through it, a symlink in one layer and a write through it in the next, hard
 * links to host files, whiteouts of "..". Each is refused (one line naming
 * the layer) or contained in the store; the host does not change.
 */
static void test_hostile_layers_are_refused_or_contained(void **state)
{
	const char *refused[] = { "evil-abs", "evil-dotdot", "evil-symlink", "evil-hardlink", "evil-whiteout" };
	char root[PATH_MAX], ref[256], text[64];
	struct stat passwd_before, passwd_after;
	struct run r;

	(void)state;
	skip_unless_registry();
	fresh_root(root, sizeof(root), "hostile");
	host_sh("rm -rf %s && mkdir -p %s && echo victim > %s/victim", marker_dir, marker_dir, marker_dir);
	assert_int_equal(stat("/etc/passwd", &passwd_before), 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		r = run_box("--root", root, "pull", "-q", image_ref(ref, sizeof(ref), registry, refused[i]), NULL);
		print_message("%s: %s", refused[i], r.err);
		assert_status(&r, 125);
		assert_one_line_saying(&r, "box: layer sha256:");
	}
	/* Contained: etc2 -> /MARKER in one layer, etc2/evil-layer-symlink in the next: each layer has its own directory. */
	image_ref(ref, sizeof(ref), registry, "evil-layer-symlink");
	pull_quietly(root, ref);
	r = run_box("--root", root, "run", "--layer", test_rootfs(), ref, "/bin/cat", "/etc2/evil-layer-symlink", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "pwned\n");
	snprintf(text, sizeof(text), "%s/victim", marker_dir);
	assert_string_equal(read_text(text, text, sizeof(text)), "victim\n");
	assert_int_equal(count_entries(marker_dir), 1);
	assert_int_equal(stat("/etc/passwd", &passwd_after), 0);
	assert_int_equal(passwd_after.st_nlink, passwd_before.st_nlink);
	assert_int_equal(passwd_after.st_size, passwd_before.st_size);
	assert_int_equal(passwd_after.st_mtime, passwd_before.st_mtime);
	host_sh("! find %s -name 'escaped' | grep .", test_dir());
	assert_store_sound(root);
	host_sh("rm -rf %s", marker_dir);
}

/* kill -9 in the middle of a download leaves nothing half-visible; the next pull cleans up and completes. */
static void test_kill_9_during_a_pull_then_pull_again_succeeds(void **state)
{
	char root[PATH_MAX], proxy[64], ref[256], extra[128], pidfile[PATH_MAX + 16], tmp[PATH_MAX + 8];
	int tries;

	(void)state;
	skip_unless_registry();
	fresh_root(root, sizeof(root), "killed");
	snprintf(extra, sizeof(extra), "--digest %s --rate 524288", busybox_layer);	/* the 1 MiB layer in 2 s */
	start_proxy("slow", "slow", extra, proxy, sizeof(proxy));
	image_ref(ref, sizeof(ref), proxy, "busybox");
	snprintf(pidfile, sizeof(pidfile), "%s/pull.pid", test_dir());
	host_sh("%s --root %s pull -q %s >/dev/null 2>&1 & echo $! > %s", box_path(), root, ref, pidfile);
	/* Until the layer's temp file has bytes in it; stop waiting if box is gone already. */
	snprintf(tmp, sizeof(tmp), "%s/tmp", root);
	for (tries = 0; tries < 500 && still_running(pidfile); tries++) {
		char cmd[PATH_MAX + 64];
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };

		snprintf(cmd, sizeof(cmd), "find %s -name 'blob-*' -size +8k | grep -q .", tmp);
		if (run_argv(argv).status == 0)
			break;
		usleep(10 * 1000);
	}
	assert_true(still_running(pidfile));
	assert_int_equal(signal_and_reap(pidfile, SIGKILL), 128 + SIGKILL);
	assert_false(has_blob(root, busybox_layer));
	struct run r = run_box("--root", root, "images", NULL);
	assert_int_equal(strchr(r.out, '\n')[1], '\0');
	/* Again: tmp/ is swept (nobody else uses the store), the blob downloaded whole. */
	pull_quietly(root, ref);
	assert_true(has_blob(root, busybox_layer));
	assert_store_sound(root);
	r = run_box("--root", root, "run", ref, "/bin/echo", "whole", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "whole\n");
}

/* busybox and layers share the busybox layer: removing one image keeps it, removing both removes it. */
static void test_rmi_keeps_a_layer_another_image_uses(void **state)
{
	char root[PATH_MAX], busybox[256], layers[256], expected[512];
	struct run r;

	(void)state;
	skip_unless_registry();
	fresh_root(root, sizeof(root), "rmi");
	pull_quietly(root, image_ref(busybox, sizeof(busybox), registry, "busybox"));
	pull_quietly(root, image_ref(layers, sizeof(layers), registry, "layers"));
	assert_int_equal(count_in_store(root, "layers/sha256"), 5);
	assert_int_equal(count_in_store(root, "blobs/sha256"), 9);	/* 2 manifests, 2 configs, 5 layer blobs */
	r = run_box("--root", root, "rmi", layers, NULL);
	assert_status(&r, 0);
	snprintf(expected, sizeof(expected), "Untagged: %s:latest\nDeleted: 6 blobs, 4 layers\n", layers);
	assert_string_equal(r.out, expected);
	assert_int_equal(count_in_store(root, "layers/sha256"), 1);
	assert_true(has_blob(root, busybox_layer));
	r = run_box("--root", root, "run", busybox, "/bin/echo", "still here", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "still here\n");
	r = run_box("--root", root, "rmi", busybox, NULL);
	assert_status(&r, 0);
	assert_int_equal(count_in_store(root, "layers/sha256"), 0);
	assert_int_equal(count_in_store(root, "blobs/sha256"), 0);
	r = run_box("--root", root, "rmi", busybox, NULL);
	assert_status(&r, 125);
	snprintf(expected, sizeof(expected), "box: no such image: %s:latest: No such file or directory\n", busybox);
	assert_string_equal(r.err, expected);
}

/* A container holds the store: its layers cannot be removed under it. rmi says so at once. */
static void test_rmi_is_refused_while_a_container_runs_from_the_store(void **state)
{
	char root[PATH_MAX], ref[256], pidfile[PATH_MAX], started[PATH_MAX];

	(void)state;
	skip_unless_registry();
	fresh_root(root, sizeof(root), "busy");
	pull_quietly(root, image_ref(ref, sizeof(ref), registry, "busybox"));
	snprintf(pidfile, sizeof(pidfile), "%s/busy.pid", test_dir());
	snprintf(started, sizeof(started), "%s/busy-started", test_dir());
	host_sh("%s --root %s run -v %s:/shared %s /bin/sh -c 'touch /shared/busy-started; sleep 30' >/dev/null 2>&1 & "
		"echo $! > %s", box_path(), root, test_dir(), ref, pidfile);
	for (int tries = 0; tries < 500 && access(started, F_OK) < 0 && still_running(pidfile); tries++)
		usleep(10 * 1000);
	assert_int_equal(access(started, F_OK), 0);
	struct run r = run_box("--root", root, "rmi", ref, NULL);
	assert_status(&r, 125);
	assert_one_line_saying(&r, "is in use (a pull, or a container run from an image)");
	assert_int_equal(signal_and_reap(pidfile, SIGTERM), 128 + SIGTERM);
	r = run_box("--root", root, "rmi", ref, NULL);
	assert_status(&r, 0);
	host_sh("rm %s", started);
}

/* What the store has is not fetched again; a pull by digest of an image the store has asks nothing. */
static void test_a_second_pull_fetches_nothing(void **state)
{
	char root[PATH_MAX], proxy[64], ref[256], log[PATH_MAX + 64], digest[100], pinned[400];
	struct run r;

	(void)state;
	skip_unless_registry();
	fresh_root(root, sizeof(root), "second");
	start_proxy("pass", "count", "", proxy, sizeof(proxy));
	snprintf(log, sizeof(log), "%s/proxy-count.log", services);
	image_ref(ref, sizeof(ref), proxy, "busybox");
	r = run_box("--root", root, "pull", ref, NULL);
	assert_status(&r, 0);
	assert_int_equal(count_lines(log, "GET", "/blobs/", NULL), 2);	/* config and layer */
	r = run_box("--root", root, "pull", ref, NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "Status: Image is up to date for "));
	assert_int_equal(count_lines(log, "GET", "/blobs/", NULL), 2);
	assert_int_equal(count_lines(log, "GET", "/manifests/latest", NULL), 2);
	/* "Digest: sha256:..." names the manifest: pinned by it, the pull needs no registry at all. */
	assert_int_equal(sscanf(strstr(r.out, "Digest: "), "Digest: %99s", digest), 1);
	snprintf(pinned, sizeof(pinned), "%s@%s", ref, digest);
	int before = count_lines(log, "GET", NULL);
	r = run_box("--root", root, "pull", "-q", pinned, NULL);
	assert_status(&r, 0);
	assert_int_equal(count_lines(log, "GET", NULL), before);
}

/* box run of an image the store lacks pulls it first, and says so on stderr: stdout is the command's. */
static void test_run_pulls_a_missing_image_first(void **state)
{
	char root[PATH_MAX], ref[256], said[400];

	(void)state;
	skip_unless_registry();
	fresh_root(root, sizeof(root), "run-pulls");
	struct run r = run_box("--root", root, "run", image_ref(ref, sizeof(ref), registry, "busybox"), "/bin/echo", "hello", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "hello\n");
	snprintf(said, sizeof(said), "Unable to find image '%s:latest' locally\n", ref);
	assert_memory_equal(r.err, said, strlen(said));
	assert_non_null(strstr(r.err, "Status: Downloaded newer image for "));
}

static void test_images_lists_name_tag_id_age_and_size(void **state)
{
	char root[PATH_MAX], ref[256], row[400];

	(void)state;
	skip_unless_registry();
	fresh_root(root, sizeof(root), "images");
	pull_quietly(root, image_ref(ref, sizeof(ref), registry, "busybox"));
	struct run r = run_box("--root", root, "images", NULL);
	assert_status(&r, 0);
	/* docker's columns: each as wide as its widest cell + 3 */
	snprintf(row, sizeof(row), "%-*s%-10s%-15.12s", (int)strlen(ref) + 3, ref, "latest", busybox_config + 7);
	assert_non_null(strstr(r.out, "REPOSITORY"));
	assert_non_null(strstr(r.out, "   TAG       IMAGE ID       CREATED"));
	assert_non_null(strstr(r.out, row));
	assert_non_null(strstr(r.out, " ago   "));
	assert_string_equal(r.out + strlen(r.out) - 3, "MB\n");
}

/* A layer directory above the config images: its /bin/echo says where and as whom it runs. */
static const char *reporting_layer(void)
{
	static char layer[PATH_MAX];

	snprintf(layer, sizeof(layer), "%s/reporting-layer", test_dir());
	host_sh("mkdir -p %s/bin && printf '%%s\\n' '#!/bin/sh' "
		"'printf \"%%s\\n\" \"$(pwd)\" \"$(id -u):$(id -g)\" \"FOO=$FOO\" \"HOME=$HOME\" \"$*\"' > %s/bin/echo && "
		"chmod 755 %s/bin/echo", layer, layer, layer);
	return layer;
}

/* config:latest: Entrypoint [/bin/echo entry], Cmd [cmd], Env FOO=bar, WorkingDir /work (not in the layer), User 65534:65534. */
static void test_entrypoint_cmd_env_workdir_and_user_are_applied(void **state)
{
	char ref[256];
	struct run r;

	(void)state;
	skip_unless_registry();
	image_ref(ref, sizeof(ref), registry, "config");
	pull_quietly(default_root(), ref);
	r = run_box("run", "--layer", reporting_layer(), ref, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "/work\n65534:65534\nFOO=bar\nHOME=/nonexistent\nentry cmd\n");
	/* The user's CMD replaces Cmd, not Entrypoint. */
	r = run_box("run", "--layer", reporting_layer(), ref, "one", "two", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "/work\n65534:65534\nFOO=bar\nHOME=/nonexistent\nentry one two\n");
	/* The working directory is made before "/" becomes read-only. */
	r = run_box("run", "--read-only", "--layer", reporting_layer(), ref, NULL);
	assert_status(&r, 0);
	assert_memory_equal(r.out, "/work\n", 6);
}

static void test_a_user_name_is_looked_up_in_the_images_passwd(void **state)
{
	char ref[256], layer[PATH_MAX];
	struct run r;

	(void)state;
	skip_unless_registry();
	image_ref(ref, sizeof(ref), registry, "config:user-name");
	pull_quietly(default_root(), ref);
	r = run_box("run", ref, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "uid=65534(nobody) gid=65534(nogroup)\n");
	/* Its supplementary groups are the image's groups that list it, and no others (box's own are root's). */
	snprintf(layer, sizeof(layer), "%s/nobody-in-video", test_dir());
	host_sh("mkdir -p %s/etc && printf 'root:x:0:\\nvideo:x:44:nobody\\nnogroup:x:65534:\\n' > %s/etc/group", layer, layer);
	r = run_box("run", "--layer", layer, ref, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "uid=65534(nobody) gid=65534(nogroup) groups=44(video)\n");
	/* An image whose /etc/passwd lacks the user: one line, and nothing left (the clean-host check). */
	snprintf(layer, sizeof(layer), "%s/no-nobody", test_dir());
	host_sh("mkdir -p %s/etc && echo 'root:x:0:0:root:/root:/bin/sh' > %s/etc/passwd", layer, layer);
	r = run_box("run", "--layer", layer, ref, NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: look up user nobody in the image's /etc/passwd: No such file or directory\n");
}

static void test_entrypoint_and_cmd_alone_and_neither(void **state)
{
	char only[256], none[256];
	struct run r;

	(void)state;
	skip_unless_registry();
	pull_quietly(default_root(), image_ref(only, sizeof(only), registry, "config:entrypoint-only"));
	pull_quietly(default_root(), image_ref(none, sizeof(none), registry, "config:no-cmd"));
	r = run_box("run", only, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "only\n");
	r = run_box("run", only, "a", "b", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "only a b\n");
	r = run_box("run", none, NULL);
	assert_status(&r, 125);
	assert_one_line_saying(&r, "the image has neither Entrypoint nor Cmd");
	r = run_box("run", none, "/bin/echo", "given", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "given\n");
}

/* The image's Env replaces the default PATH; values may be empty or hold '='. */
static void test_the_images_env_comes_first(void **state)
{
	char ref[256];
	struct run r;

	(void)state;
	skip_unless_registry();
	pull_quietly(default_root(), image_ref(ref, sizeof(ref), registry, "config:path"));
	r = run_box("run", ref, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "/custom/bin:/bin\n");
	r = run_box("run", ref, "/bin/sh", "-c", "echo \"[$EMPTY] [$WITH_EQUALS] [$HOME]\"", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "[] [a=b] [/root]\n");
}

/* How many live processes whose parent is this program are called comm. Dead ones are reaped first. */
static int children_named(const char *comm)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	int n = 0;

	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	while (proc && (d = readdir(proc))) {
		char path[300], stat[1024], name[64], state;
		int ppid;

		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		if (d->d_name[0] < '1' || d->d_name[0] > '9' || !read_text(path, stat, sizeof(stat)))
			continue;
		/* proc(5): "pid (comm) state ppid ..." */
		if (sscanf(stat, "%*d (%63[^)]) %c %d", name, &state, &ppid) == 3 && ppid == getpid() && state != 'Z' &&
		    strcmp(name, comm) == 0)
			n++;
	}
	if (proc)
		closedir(proc);
	return n;
}

/* Switching to the image's user clears the parent-death signal: killing box must still kill the container. */
static void test_killing_box_kills_a_container_running_as_the_images_user(void **state)
{
	char ref[256], shared[PATH_MAX], pidfile[PATH_MAX], started[PATH_MAX + 16];

	(void)state;
	skip_unless_registry();
	pull_quietly(default_root(), image_ref(ref, sizeof(ref), registry, "config:user-name"));
	snprintf(shared, sizeof(shared), "%s/shared-for-nobody", test_dir());
	snprintf(pidfile, sizeof(pidfile), "%s/nobody.pid", test_dir());
	snprintf(started, sizeof(started), "%s/started", shared);
	host_sh("mkdir -p %s && chmod 777 %s", shared, shared);
	host_sh("%s run -v %s:/shared %s /bin/sh -c 'touch /shared/started; exec sleep 30' >/dev/null 2>&1 & echo $! > %s",
		box_path(), shared, ref, pidfile);
	for (int tries = 0; tries < 500 && access(started, F_OK) < 0 && still_running(pidfile); tries++)
		usleep(10 * 1000);
	assert_int_equal(access(started, F_OK), 0);
	assert_int_equal(signal_and_reap(pidfile, SIGKILL), 128 + SIGKILL);
	/* The container (its PID 1 is the sleep) is ours now, as subreaper: it must die with box. */
	for (int tries = 0; tries < 200 && children_named("sleep") > 0; tries++)
		usleep(10 * 1000);
	assert_int_equal(children_named("sleep"), 0);
	/* What box could not clean up, its cgroup and the container's directory, goes with prune. */
	struct run r = run_box("prune", NULL);
	assert_status(&r, 0);
}

static void test_bad_image_runs_are_refused_in_one_line(void **state)
{
	char ref[256];
	struct run r;

	(void)state;
	skip_unless_registry();
	r = run_box("pull", "Busybox", NULL);
	assert_status(&r, 125);
	assert_string_equal(r.err, "box: invalid reference \"Busybox\": repository name must be lowercase: Invalid argument\n");
	r = run_box("run", "--userns", image_ref(ref, sizeof(ref), registry, "busybox"), "/bin/true", NULL);
	assert_status(&r, 125);
	assert_one_line_saying(&r, "--userns works only with a ROOTFS directory");
	r = run_box("pull", "-q", image_ref(ref, sizeof(ref), registry, "no-such-image"), NULL);
	assert_status(&r, 125);
	assert_one_line_saying(&r, "MANIFEST_UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_image_runs_with_the_tree_it_defines, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_whiteouts_and_opaque_directories_are_applied, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_layer_keeps_modes_owners_links_devices_and_times, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_platform_is_chosen_from_an_index, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_missing_platform_is_refused_listing_what_the_index_offers, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_tampered_blob_fails_naming_its_digest_and_leaves_nothing, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_truncated_body_fails_naming_its_digest_and_leaves_nothing, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_stalled_registry_ends_with_the_timeout_and_leaves_nothing, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_layers_are_refused_or_contained, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_kill_9_during_a_pull_then_pull_again_succeeds, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_rmi_keeps_a_layer_another_image_uses, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_rmi_is_refused_while_a_container_runs_from_the_store, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_second_pull_fetches_nothing, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_run_pulls_a_missing_image_first, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_images_lists_name_tag_id_age_and_size, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_entrypoint_cmd_env_workdir_and_user_are_applied, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_user_name_is_looked_up_in_the_images_passwd, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_entrypoint_and_cmd_alone_and_neither, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_images_env_comes_first, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_killing_box_kills_a_container_running_as_the_images_user, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_bad_image_runs_are_refused_in_one_line, integration_setup, integration_teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("step06 image", tests, setup_group, teardown_group);
}
