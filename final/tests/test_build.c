/*
 * test_build.c - box build, commit, push, save and load, run as a user runs
 * them, and checked by the other tools of the trade (skopeo, umoci, podman,
 * buildah) where they are installed. A local docker-registry behind the
 * testkit's token service (anonymous pull, push with a login) holds the
 * busybox test image for the whole program. As root; every test ends with
 * the clean-host check. Each RUN is one of box run's containers: with the
 * default --network bridge its veth and rules are made in the program's own
 * network namespace (testkit_setup).
 */
#include <signal.h>
#include <sys/stat.h>

#include "imagetest.h"

static char base[256];	/* REGISTRY/box-test/busybox */

static int setup_group(void **state)
{
	char home[PATH_MAX];

	if (start_registry(state, "--token --anonymous-pull", "busybox") < 0)
		return -1;
	if (!registry[0])
		return 0;
	image_ref(base, sizeof(base), registry, "busybox");
	/* box login writes podman's auth.json here, and skopeo reads it there: never the host's. */
	snprintf(home, sizeof(home), "%s/home", test_dir());
	host_sh("mkdir -p %s/run", home);
	setenv("HOME", home, 1);
	snprintf(home, sizeof(home), "%s/home/run", test_dir());
	setenv("XDG_RUNTIME_DIR", home, 1);
	unsetenv("REGISTRY_AUTH_FILE");
	unsetenv("SOURCE_DATE_EPOCH");
	return 0;
}

static int teardown_group(void **state)
{
	return stop_registry(state);
}

static void skip_unless_registry(void)
{
	skip_unless_root();
	assert_true(registry[0]);
}

static bool have(const char *tool)
{
	char cmd[256];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof(cmd), "command -v %s", tool);
	return run_argv(argv).status == 0;
}

/* A build context of its own: test_dir()/NAME, emptied, with a Containerfile of these lines. */
static const char *context(const char *name, const char *containerfile)
{
	static char dir[PATH_MAX];
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/ctx-%s", test_dir(), name);
	host_sh("rm -rf %s && mkdir -p %s", dir, dir);
	snprintf(path, sizeof(path), "%s/Containerfile", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(containerfile, f);
	assert_int_equal(fclose(f), 0);
	return dir;
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The image id box build prints last. */
static const char *last_line(const char *out, char *buf, size_t size)
{
	size_t len = strlen(out);
	const char *start;

	while (len > 0 && out[len - 1] == '\n')
		len--;
	for (start = out + len; start > out && start[-1] != '\n'; start--)
		;
	snprintf(buf, size, "%.*s", (int)(out + len - start), start);
	return buf;
}

static int count_of(const char *text, const char *word)
{
	int n = 0;

	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
		n++;
	return n;
}

static void login(void)
{
	char user[64], password[128];
	struct run r;

	registry_env("REGISTRY_USER", user, sizeof(user));
	registry_env("REGISTRY_PASSWORD", password, sizeof(password));
	r = run_box("login", "-u", user, "-p", password, registry, NULL);
	assert_status(&r, 0);
}

/* ---- every instruction ------------------------------------------------------------------- */

static void test_each_instruction_builds_and_the_image_runs_as_asked(void **state)
{
	char file[4096], tag[320];
	const char *ctx;
	struct run r;

	(void)state;
	skip_unless_registry();
	snprintf(file, sizeof(file),
		 "# a file that uses every instruction\n"
		 "FROM %s AS base\n"
		 "ARG WHO=world\n"
		 "ENV GREETING=\"hello $WHO\" \\\n"
		 "    EMPTY=\n"
		 "LABEL org.example.stage=final\n"
		 "WORKDIR /app\n"
		 "COPY --chown=1000:1000 files/ ./\n"
		 "ADD bundle.tar /opt/\n"
		 "SHELL [\"/bin/sh\", \"-c\"]\n"
		 "RUN echo \"$GREETING\" > /app/greeting && echo app:x:1000:1000::/app:/bin/sh >> /etc/passwd\n"
		 "RUN [\"/bin/sh\", \"-c\", \"pwd > /app/pwd\"]\n"
		 "USER app\n"
		 "RUN id -u > /tmp/uid-at-build\n"
		 "EXPOSE 8080/tcp 53/udp\n"
		 "VOLUME /data\n"
		 "STOPSIGNAL SIGTERM\n"
		 "ENTRYPOINT [\"/bin/sh\", \"-c\"]\n"
		 "CMD [\"cat /app/greeting /app/pwd /app/hello.txt /opt/in-tar.txt; id -u; pwd; ls /app\"]\n",
		 base);
	ctx = context("every", file);
	host_sh("mkdir -p %s/files && echo from-context > %s/files/hello.txt && echo secret > %s/files/x.key && "
		"printf '*.key\\nfiles/*.key\\n' > %s/.dockerignore && "
		"mkdir -p %s/t && echo in-tar > %s/t/in-tar.txt && tar -C %s/t -cf %s/bundle.tar in-tar.txt",
		ctx, ctx, ctx, ctx, ctx, ctx, ctx, ctx);
	snprintf(tag, sizeof(tag), "localhost/every:1");
	r = run_box("build", "-t", tag, "--build-arg", "WHO=box", ctx, NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "STEP 1/17: FROM"));
	r = run_box("run", tag, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "hello box\n/app\nfrom-context\nin-tar\n1000\n/app\ngreeting\nhello.txt\npwd\n");
	r = run_box("inspect", tag, NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "\"8080/tcp\": {}"));
	assert_non_null(strstr(r.out, "\"53/udp\": {}"));
	assert_non_null(strstr(r.out, "\"User\": \"app\""));
	assert_non_null(strstr(r.out, "\"WorkingDir\": \"/app\""));
	assert_non_null(strstr(r.out, "\"GREETING=hello box\""));
	assert_non_null(strstr(r.out, "\"org.example.stage\": \"final\""));
	assert_non_null(strstr(r.out, "\"/data\": {}"));
	assert_non_null(strstr(r.out, "\"StopSignal\": \"SIGTERM\""));
	/* RUN ran as USER app; --chown gave the copied file to 1000:1000. */
	r = run_box("run", tag, "stat -c %u:%g /app/hello.txt; cat /tmp/uid-at-build", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "1000:1000\n1000\n");
}

/* ---- whiteouts, push, pull by other tools -------------------------------------------------- */

/* The tree under DIR on the host, with the test's busybox (the same listing as a container's). */
static const char tree_script[] =
	"cd %s && F='busybox find . -xdev ( -path ./proc -o -path ./dev -o -path ./sys -o -path ./etc/hosts "
	"-o -path ./etc/hostname -o -path ./etc/resolv.conf ) -prune -o'; "
	"$F ! -path . -print | busybox sort | busybox xargs busybox stat -c '%%n %%F %%a %%u:%%g %%N' && "
	"$F -type f -print | busybox sort | busybox xargs busybox sha256sum";

static void test_run_rm_of_a_base_file_is_a_whiteout_that_survives_push_and_pull(void **state)
{
	char file[1024], tag[320], script[PATH_MAX + 1024], oci[PATH_MAX], bundle[PATH_MAX], tree[RUN_OUTPUT_MAX];
	char cmd[8 * PATH_MAX];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct run r;

	(void)state;
	skip_unless_registry();
	if (!have("skopeo") || !have("umoci")) {
		print_message("skipped: needs skopeo and umoci (make deps installs them)\n");
		skip();
	}
	snprintf(file, sizeof(file),
		 "FROM %s\nRUN rm /etc/passwd && rm -rf /root && mkdir -p /root && echo new > /root/only\n", base);
	snprintf(tag, sizeof(tag), "%s/built/whiteout:1", registry);
	r = run_box("build", "-t", tag, context("whiteout", file), NULL);
	assert_status(&r, 0);
	login();
	r = run_box("push", "-q", tag, NULL);
	assert_status(&r, 0);
	/* Another client pulls it (anonymously: the repository is readable by all) and unpacks it. */
	snprintf(oci, sizeof(oci), "%s/oci-whiteout", test_dir());
	snprintf(bundle, sizeof(bundle), "%s/bundle-whiteout", test_dir());
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s && skopeo copy -q --src-tls-verify=false docker://%s oci:%s:app && "
		 "umoci unpack --image %s:app %s", oci, bundle, tag, oci, oci, bundle);
	r = run_argv(argv);
	assert_status(&r, 0);
	snprintf(cmd, sizeof(cmd), "test ! -e %s/rootfs/etc/passwd && test -e %s/rootfs/etc/group && "
		 "test \"$(ls %s/rootfs/root)\" = only", bundle, bundle, bundle);
	r = run_argv(argv);
	assert_status(&r, 0);
	/* umoci's tree is the tree box's containers see. */
	snprintf(script, sizeof(script), "%s/rootfs", bundle);
	snprintf(cmd, sizeof(cmd), tree_script, script);
	r = run_argv(argv);
	assert_status(&r, 0);
	snprintf(tree, sizeof(tree), "%s", r.out);
	snprintf(script, sizeof(script), tree_script, "/");
	r = run_box("run", "--network", "none", tag, "/bin/sh", "-c", script, NULL);
	assert_status(&r, 0);
	/* diff(1) says where they differ (cmocka would cut two long strings short). */
	write_text(test_dir(), "tree-umoci", tree);
	write_text(test_dir(), "tree-box", r.out);
	snprintf(cmd, sizeof(cmd), "diff -u %s/tree-umoci %s/tree-box >&2", test_dir(), test_dir());
	r = run_argv(argv);
	assert_status(&r, 0);
	host_sh("rm -rf %s %s %s/tree-umoci %s/tree-box", oci, bundle, test_dir(), test_dir());
}

/* podman pulls and runs it, if podman can run here (its own storage, in a mount namespace of its own). */
static void test_an_image_pushed_by_box_is_pulled_by_podman_or_skopeo(void **state)
{
	char file[1024], tag[320], cmd[4 * PATH_MAX], digest[128];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct run r;

	(void)state;
	skip_unless_registry();
	if (!have("skopeo") || !have("jq")) {
		print_message("skipped: needs skopeo and jq (make deps installs them)\n");
		skip();
	}
	snprintf(file, sizeof(file), "FROM %s\nRUN echo pushed > /pushed\nCMD [\"cat\", \"/pushed\"]\n", base);
	snprintf(tag, sizeof(tag), "%s/built/pushed:1", registry);
	r = run_box("build", "-t", tag, context("pushed", file), NULL);
	assert_status(&r, 0);
	login();
	r = run_box("push", tag, NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "Pushed"));
	r = run_box("inspect", tag, NULL);
	assert_status(&r, 0);
	sscanf(strstr(r.out, "\"Digest\": \"") + strlen("\"Digest\": \""), "%71[^\"]", digest);
	/* skopeo, with box's login (podman's auth.json), sees the same manifest. */
	snprintf(cmd, sizeof(cmd), "skopeo inspect --tls-verify=false docker://%s | jq -r .Digest", tag);
	r = run_argv(argv);
	assert_status(&r, 0);
	assert_int_equal(strncmp(r.out, digest, strlen(digest)), 0);
	/* A second push sends nothing again. */
	r = run_box("push", tag, NULL);
	assert_status(&r, 0);
	assert_int_equal(count_of(r.out, "Pushed"), 0);
}

/* ---- the cache --------------------------------------------------------------------------- */

static void test_the_cache_is_reused_and_a_changed_line_rebuilds_from_there(void **state)
{
	char file[1024], id1[128], id2[128];
	const char *ctx;
	struct run r;

	(void)state;
	skip_unless_registry();
	snprintf(file, sizeof(file),
		 "FROM %s\nRUN echo ran-first && echo one > /one\nCOPY data.txt /data.txt\nRUN echo ran-second && "
		 "cat /data.txt > /copy\nCMD [\"cat\", \"/copy\"]\n", base);
	ctx = context("cache", file);
	host_sh("echo v1 > %s/data.txt", ctx);
	r = run_box("build", "-t", "localhost/cache:1", ctx, NULL);
	assert_status(&r, 0);
	assert_int_equal(count_of(r.out, "ran-first\n"), 1);
	last_line(r.out, id1, sizeof(id1));
	/* Unchanged: no RUN runs, every step from the cache, the same image id. */
	r = run_box("build", "-t", "localhost/cache:1", ctx, NULL);
	assert_status(&r, 0);
	assert_int_equal(count_of(r.out, "ran-first\n") + count_of(r.out, "ran-second\n"), 0);
	assert_int_equal(count_of(r.out, "--> Using cache"), 4);
	assert_string_equal(last_line(r.out, id2, sizeof(id2)), id1);
	/* The copied file changed: the steps before its COPY come from the cache, the RUN after it runs. */
	host_sh("echo v2 > %s/data.txt", ctx);
	r = run_box("build", "-t", "localhost/cache:2", ctx, NULL);
	assert_status(&r, 0);
	assert_int_equal(count_of(r.out, "ran-first\n"), 0);
	assert_int_equal(count_of(r.out, "ran-second\n"), 1);
	assert_int_equal(count_of(r.out, "--> Using cache"), 1);
	r = run_box("run", "localhost/cache:2", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "v2\n");
	/* The last line changed: only it is made again. */
	snprintf(file, sizeof(file),
		 "FROM %s\nRUN echo ran-first && echo one > /one\nCOPY data.txt /data.txt\nRUN echo ran-second && "
		 "cat /data.txt > /copy\nCMD [\"cat\", \"/one\"]\n", base);
	host_sh("cat > %s/Containerfile << 'EOF'\n%sEOF", ctx, file);
	r = run_box("build", "-t", "localhost/cache:3", ctx, NULL);
	assert_status(&r, 0);
	assert_int_equal(count_of(r.out, "ran-first\n") + count_of(r.out, "ran-second\n"), 0);
	assert_int_equal(count_of(r.out, "--> Using cache"), 3);
	/* --no-cache: every RUN again. */
	r = run_box("build", "--no-cache", "-t", "localhost/cache:4", ctx, NULL);
	assert_status(&r, 0);
	assert_int_equal(count_of(r.out, "--> Using cache"), 0);
	assert_int_equal(count_of(r.out, "ran-first\n"), 1);
	assert_int_equal(count_of(r.out, "ran-second\n"), 1);
}

/*
 * A RUN on an image without /proc, /dev, /sys or /etc/hosts: box run's
 * mounts need those mount points, but they come from an init layer under
 * the step, not from the step's layer (docker's "init layer").
 */
static void test_a_run_on_a_bare_image_adds_only_what_it_wrote(void **state)
{
	char file[1024], layer[PATH_MAX + 128];
	const char *diff_ids;
	struct run r;

	(void)state;
	skip_unless_registry();
	snprintf(file, sizeof(file), "FROM %s AS tools\nFROM scratch\nCOPY --from=tools /bin/busybox /bin/sh\n"
		 "RUN [\"/bin/sh\", \"-c\", \"echo wrote > /wrote\"]\n", base);
	r = run_box("build", "--network", "none", "-t", "localhost/bare:1", context("bare", file), NULL);
	assert_status(&r, 0);
	r = run_box("inspect", "localhost/bare:1", NULL);
	assert_status(&r, 0);
	diff_ids = strstr(r.out, "\"diff_ids\"");
	assert_non_null(diff_ids);
	diff_ids = strstr(strstr(diff_ids, "sha256:") + 1, "sha256:");	/* the second layer: RUN's */
	assert_non_null(diff_ids);
	snprintf(layer, sizeof(layer), "%s/layers/sha256/%.64s/diff", getenv("BOX_ROOT"), diff_ids + strlen("sha256:"));
	host_sh("cd %s && test \"$(find . -mindepth 1)\" = ./wrote || { find . >&2; exit 1; }", layer);
}

/* ---- RUN's network ------------------------------------------------------------------------ */

static void test_run_gets_the_network_it_is_asked_for(void **state)
{
	char file[1024];
	const char *ctx;
	struct run r;

	(void)state;
	skip_unless_registry();
	snprintf(file, sizeof(file), "FROM %s\nRUN ls /sys/class/net | sort | tr '\\n' ' ' > /links\n"
		 "CMD [\"cat\", \"/links\"]\n", base);
	ctx = context("net", file);
	r = run_box("build", "--network", "none", "-t", "localhost/net:none", ctx, NULL);
	assert_status(&r, 0);
	r = run_box("run", "--network", "none", "localhost/net:none", NULL);
	assert_string_equal(r.out, "lo ");
	r = run_box("build", "--no-cache", "-t", "localhost/net:bridge", ctx, NULL);
	assert_status(&r, 0);
	r = run_box("run", "--network", "none", "localhost/net:bridge", NULL);
	assert_string_equal(r.out, "eth0 lo ");
	r = run_box("build", "--network", "bogus", "-t", "localhost/net:x", ctx, NULL);
	assert_status(&r, 125);
}

/* ---- save and load ------------------------------------------------------------------------- */

static void test_save_is_read_by_skopeo_and_load_gives_the_same_image(void **state)
{
	char file[512], tar[PATH_MAX], root[PATH_MAX], cmd[8 * PATH_MAX], id[128];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct run r;

	(void)state;
	skip_unless_registry();
	snprintf(file, sizeof(file), "FROM %s\nRUN echo saved > /saved\nCMD [\"cat\", \"/saved\"]\n", base);
	r = run_box("build", "-t", "localhost/saved:1", context("save", file), NULL);
	assert_status(&r, 0);
	last_line(r.out, id, sizeof(id));
	snprintf(tar, sizeof(tar), "%s/saved.tar", test_dir());
	r = run_box("save", "-o", tar, "localhost/saved:1", NULL);
	assert_status(&r, 0);
	if (have("skopeo") && have("jq")) {
		snprintf(cmd, sizeof(cmd), "skopeo inspect --config --raw oci-archive:%s:localhost/saved:1 | sha256sum", tar);
		r = run_argv(argv);
		assert_status(&r, 0);
		assert_int_equal(strncmp(r.out, id, 64), 0);
	}
	/* box load into another root: the same image id, and it runs. */
	fresh_root(root, sizeof(root), "loaded");
	r = run_box("--root", root, "load", "-i", tar, NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "Loaded image"));
	r = run_box("--root", root, "run", "--network", "none", "localhost/saved:1", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "saved\n");
	host_sh("rm -rf %s %s", tar, root);
}

/* ---- commit, tag, history ------------------------------------------------------------------ */

static void test_commit_makes_an_image_of_a_kept_containers_writes(void **state)
{
	char id[32] = "", tag[320];
	const char *kept;
	struct run r;

	(void)state;
	skip_unless_registry();
	r = run_box("pull", "-q", base, NULL);
	assert_status(&r, 0);
	r = run_box("run", "--keep", "--network", "none", base, "/bin/sh", "-c", "echo committed > /committed; rm /etc/group",
		    NULL);
	assert_status(&r, 0);
	kept = strstr(r.err, "kept container ");
	assert_non_null(kept);
	sscanf(kept, "kept container %12s", id);
	r = run_box("commit", "--change", "CMD [\"cat\", \"/committed\"]", id, "localhost/committed:1", NULL);
	assert_status(&r, 0);
	r = run_box("run", "--network", "none", "localhost/committed:1", NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "committed\n");
	r = run_box("run", "--network", "none", "localhost/committed:1", "ls", "/etc/group", NULL);
	assert_status(&r, 1);
	snprintf(tag, sizeof(tag), "localhost/committed:again");
	r = run_box("tag", "localhost/committed:1", tag, NULL);
	assert_status(&r, 0);
	r = run_box("history", tag, NULL);
	assert_status(&r, 0);
	assert_non_null(strstr(r.out, "box commit"));
	/* Not a container: one line, 125. */
	r = run_box("commit", "0123456789ab", "localhost/none:1", NULL);
	assert_status(&r, 125);
	assert_one_line_saying(&r, "no such container");
	r = run_box("prune", NULL);	/* the kept container goes */
	assert_status(&r, 0);
}

/* ---- an image made by buildah ------------------------------------------------------------ */

static void test_an_image_built_by_buildah_is_pulled_and_run_by_box(void **state)
{
	char cmd[16 * PATH_MAX], user[64], password[128], ref[320];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	const char *ctx;
	char file[512];
	struct run r;

	(void)state;
	skip_unless_registry();
	if (!have("buildah")) {
		print_message("skipped: needs buildah (make deps installs them)\n");
		skip();
	}
	snprintf(file, sizeof(file), "FROM %s\nRUN rm /etc/group && echo by-buildah > /built\n"
		 "CMD [\"cat\", \"/built\"]\n", base);
	ctx = context("buildah", file);
	snprintf(ref, sizeof(ref), "%s/buildah/app:1", registry);
	registry_env("REGISTRY_USER", user, sizeof(user));
	registry_env("REGISTRY_PASSWORD", password, sizeof(password));
	/* buildah with its own storage, in a mount namespace of its own (its mounts die with it). */
	snprintf(cmd, sizeof(cmd),
		 "printf '[storage]\\ndriver = \"vfs\"\\ngraphroot = \"%s/buildah/root\"\\nrunroot = \"%s/buildah/run\"\\n' "
		 "> %s/storage.conf && unshare -m --propagation private sh -c '"
		 "for d in /var/lib/containers /run/containers /var/tmp; do mkdir -p $d; mount -t tmpfs tmpfs $d; done; "
		 "export CONTAINERS_STORAGE_CONF=%s/storage.conf; "
		 "buildah bud -q --isolation chroot --tls-verify=false -t %s %s > /dev/null && "
		 "buildah push -q --tls-verify=false --creds %s:%s %s' && rm -rf %s/buildah",
		 test_dir(), test_dir(), test_dir(), test_dir(), ref, ctx, user, password, ref, test_dir());
	r = run_argv(argv);
	assert_status(&r, 0);
	r = run_box("run", "--network", "none", ref, NULL);
	assert_status(&r, 0);
	assert_string_equal(r.out, "by-buildah\n");
	r = run_box("run", "--network", "none", ref, "ls", "/etc/group", NULL);
	assert_status(&r, 1);
}

/* ---- bad input ----------------------------------------------------------------------------- */

/* One line naming FILE:LINE, status 125, and nothing in the store's tmp/ nor a container left. */
static void assert_refused(const char *name, const char *file, const char *what)
{
	char store_tmp[PATH_MAX];
	const char *ctx = context(name, file);
	struct run r = run_box("build", "-t", "localhost/bad:1", ctx, NULL);

	assert_status(&r, 125);
	assert_one_line_saying(&r, what);
	snprintf(store_tmp, sizeof(store_tmp), "%s/tmp", getenv("BOX_ROOT"));
	assert_int_equal(count_entries(store_tmp), 0);
	r = run_box("inspect", "localhost/bad:1", NULL);
	assert_status(&r, 125);
}

static void test_bad_input_names_file_and_line_and_leaves_nothing(void **state)
{
	char file[1024];
	const char *ctx;
	struct run r;

	(void)state;
	skip_unless_registry();
	snprintf(file, sizeof(file), "FROM %s\nFROBNICATE now\n", base);
	assert_refused("unknown", file, "Containerfile:2: unknown instruction: FROBNICATE");
	snprintf(file, sizeof(file), "FROM %s\nRUN true\nCOPY ../outside /\n", base);
	assert_refused("outside", file, "Containerfile:3: ../outside: the path is outside the build context");
	snprintf(file, sizeof(file), "FROM %s\nCOPY missing.txt /\n", base);
	assert_refused("missing", file, "Containerfile:2: missing.txt");
	snprintf(file, sizeof(file), "FROM %s\nADD http://example.com/x.tgz /\n", base);
	assert_refused("url", file, "Containerfile:2:");
	snprintf(file, sizeof(file), "FROM %s\nENV\n", base);
	assert_refused("syntax", file, "Containerfile:2:");
	/* A symlink in the context that points out of it is not followed out. */
	snprintf(file, sizeof(file), "FROM %s\nCOPY escape/passwd /\n", base);
	ctx = context("symlink", file);
	host_sh("ln -s /etc %s/escape", ctx);
	r = run_box("build", "-t", "localhost/bad:1", ctx, NULL);
	assert_status(&r, 125);
	assert_one_line_saying(&r, "Containerfile:2:");
	/* A RUN that fails: box build exits with its status. */
	snprintf(file, sizeof(file), "FROM %s\nRUN exit 7\n", base);
	r = run_box("build", "-t", "localhost/bad:1", context("exit7", file), NULL);
	assert_status(&r, 7);
	assert_store_sound(getenv("BOX_ROOT"));
}

/* Ctrl-C during a RUN: the step's container dies, the build stops (130), nothing is left. */
static void test_sigint_during_a_run_stops_the_build_and_leaves_nothing(void **state)
{
	char file[512], out[PATH_MAX], pidfile[PATH_MAX], text[RUN_OUTPUT_MAX], store_tmp[PATH_MAX];
	const char *ctx;
	struct run r;
	int status = -1;

	(void)state;
	skip_unless_registry();
	snprintf(file, sizeof(file), "FROM %s\nRUN echo started && sleep 30\nRUN echo never\n", base);
	ctx = context("sigint", file);
	snprintf(out, sizeof(out), "%s/sigint.out", test_dir());
	snprintf(pidfile, sizeof(pidfile), "%s/sigint.pid", test_dir());
	host_sh("rm -f %s %s; setsid %s build --network none -t localhost/sigint:1 %s > %s 2>&1 & echo $! > %s",
		out, pidfile, box_path(), ctx, out, pidfile);
	for (int tries = 0; tries < 1000; tries++) {
		if (read_text(out, text, sizeof(text)) && strstr(text, "started\n"))
			break;
		usleep(10 * 1000);
	}
	assert_non_null(strstr(read_text(out, text, sizeof(text)), "started\n"));
	status = signal_and_reap(pidfile, SIGINT);
	assert_int_equal(status, 130);
	read_text(out, text, sizeof(text));
	assert_null(strstr(text, "STEP 3/3"));
	snprintf(store_tmp, sizeof(store_tmp), "%s/tmp", getenv("BOX_ROOT"));
	assert_int_equal(count_entries(store_tmp), 0);
	r = run_box("inspect", "localhost/sigint:1", NULL);
	assert_status(&r, 125);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_instruction_builds_and_the_image_runs_as_asked, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_run_rm_of_a_base_file_is_a_whiteout_that_survives_push_and_pull, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_an_image_pushed_by_box_is_pulled_by_podman_or_skopeo, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_the_cache_is_reused_and_a_changed_line_rebuilds_from_there, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_run_on_a_bare_image_adds_only_what_it_wrote, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_run_gets_the_network_it_is_asked_for, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_save_is_read_by_skopeo_and_load_gives_the_same_image, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_commit_makes_an_image_of_a_kept_containers_writes, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_an_image_built_by_buildah_is_pulled_and_run_by_box, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_names_file_and_line_and_leaves_nothing, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_sigint_during_a_run_stops_the_build_and_leaves_nothing, integration_setup, integration_teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("final image making", tests, setup_group, teardown_group);
}
