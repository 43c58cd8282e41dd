/*
 * test_registry.c - the registry conversation: first credentials in
 * podman's and docker's auth files, the timeout, https or not (the
 * WWW-Authenticate parser is in test_unit.c), then a registry behind a
 * Docker-Hub-like token service
 * (testkit/registry start --token), pulled from by box as a user would:
 * no token -> 401 -> token -> success, tokens that run out mid-pull,
 * wrong credentials, and blobs redirected to a host that must not get the
 * token. The registry runs for the whole program (group setup).
 */
#include <signal.h>
#include <sys/wait.h>

#include "testutil.h"
#include "imagetest.h"

struct auth_fixture {
	char dir[PATH_MAX];
};

static int auth_setup(void **state)
{
	struct auth_fixture *fx = calloc(1, sizeof(*fx));
	char path[PATH_MAX + 32];

	make_scratch(fx->dir, sizeof(fx->dir), "auth");
	/* HOME and the XDG directories all point into the scratch directory */
	setenv("HOME", fx->dir, 1);
	assert_int_equal(format_into(path, sizeof(path), "%s/run", fx->dir), 0);
	mkdir(path, 0700);
	setenv("XDG_RUNTIME_DIR", path, 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("DOCKER_CONFIG");
	unsetenv("REGISTRY_AUTH_FILE");
	*state = fx;
	return 0;
}

static int auth_teardown(void **state)
{
	struct auth_fixture *fx = *state;

	remove_scratch(fx->dir);
	free(fx);
	return 0;
}

/* base64("alice:s3cret:with:colons") */
static const char alice[] = "YWxpY2U6czNjcmV0OndpdGg6Y29sb25z";
/* base64("bob:pw") */
static const char bob[] = "Ym9iOnB3";

static void put_auth(const char *dir, const char *sub, const char *json)
{
	char path[PATH_MAX];

	assert_int_equal(format_into(path, sizeof(path), "%s/%s", dir, sub), 0);
	mkdir(path, 0700);
	put_file(path, strcmp(sub, ".docker") == 0 ? "config.json" : "auth.json", json);
}

static void test_docker_config_names_docker_hub_by_its_v1_url(void **state)
{
	struct auth_fixture *fx = *state;
	struct credentials cred;
	char json[512];

	snprintf(json, sizeof(json), "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"%s\"},"
				     "\"localhost:5000\":{\"auth\":\"%s\"}}}", alice, bob);
	put_auth(fx->dir, ".docker", json);
	assert_int_equal(find_credentials("docker.io", &cred), 0);
	assert_string_equal(cred.username, "alice");
	assert_string_equal(cred.password, "s3cret:with:colons");
	assert_non_null(strstr(cred.file, ".docker/config.json"));
	assert_int_equal(find_credentials("localhost:5000", &cred), 0);
	assert_string_equal(cred.username, "bob");
	assert_int_equal(find_credentials("quay.io", &cred), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_podman_auth_file_comes_before_docker_config(void **state)
{
	struct auth_fixture *fx = *state;
	struct credentials cred;
	char json[512];

	assert_int_equal(format_into(json, sizeof(json), "{\"auths\":{\"docker.io\":{\"auth\":\"%s\"}}}", bob), 0);
	put_auth(fx->dir, "run/containers", json);
	assert_int_equal(format_into(json, sizeof(json), "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"%s\"}}}", alice), 0);
	put_auth(fx->dir, ".docker", json);
	assert_int_equal(find_credentials("docker.io", &cred), 0);
	assert_string_equal(cred.username, "bob");
	assert_non_null(strstr(cred.file, "run/containers/auth.json"));
}

static void test_registry_auth_file_replaces_the_runtime_dir_file(void **state)
{
	struct auth_fixture *fx = *state;
	struct credentials cred;
	char json[512], path[PATH_MAX + 32];

	assert_int_equal(format_into(json, sizeof(json), "{\"auths\":{\"docker.io\":{\"auth\":\"%s\"}}}", bob), 0);
	put_auth(fx->dir, "run/containers", json);
	assert_int_equal(format_into(json, sizeof(json), "{\"auths\":{\"docker.io\":{\"auth\":\"%s\"}}}", alice), 0);
	put_file(fx->dir, "mine.json", json);
	assert_int_equal(format_into(path, sizeof(path), "%s/mine.json", fx->dir), 0);
	setenv("REGISTRY_AUTH_FILE", path, 1);
	assert_int_equal(find_credentials("docker.io", &cred), 0);
	assert_string_equal(cred.username, "alice");
	unsetenv("REGISTRY_AUTH_FILE");
}

static void test_entries_without_auth_or_broken_files_give_nothing(void **state)
{
	struct auth_fixture *fx = *state;
	struct credentials cred;

	put_auth(fx->dir, ".docker", "{\"auths\":{\"docker.io\":{}},\"credsStore\":\"desktop\"}");
	assert_int_equal(find_credentials("docker.io", &cred), -1);
	put_auth(fx->dir, ".docker", "{not json");
	assert_int_equal(find_credentials("docker.io", &cred), -1);
	put_auth(fx->dir, ".docker", "{\"auths\":{\"docker.io\":{\"auth\":\"bm9jb2xvbg==\"}}}");	/* "nocolon" */
	assert_int_equal(find_credentials("docker.io", &cred), -1);
}

static void test_timeout_comes_from_the_environment(void **state)
{
	(void)state;
	unsetenv("BOX_REGISTRY_TIMEOUT");
	assert_int_equal(registry_timeout(), REGISTRY_TIMEOUT);
	setenv("BOX_REGISTRY_TIMEOUT", "3", 1);
	assert_int_equal(registry_timeout(), 3);
	setenv("BOX_REGISTRY_TIMEOUT", "3s", 1);
	assert_int_equal(registry_timeout(), REGISTRY_TIMEOUT);
	setenv("BOX_REGISTRY_TIMEOUT", "0", 1);
	assert_int_equal(registry_timeout(), REGISTRY_TIMEOUT);
	unsetenv("BOX_REGISTRY_TIMEOUT");
}

static void test_https_unless_loopback_or_insecure(void **state)
{
	struct registry_options secure = { 0 }, insecure = { .insecure = true };
	struct reference ref;
	struct registry r;
	struct failure f;

	(void)state;
	assert_int_equal(parse_reference("busybox", &ref, NULL), 0);
	assert_int_equal(registry_open(&r, &ref, &secure, &f), 0);
	assert_string_equal(r.base_url, "https://registry-1.docker.io");
	assert_string_equal(r.repository, "library/busybox");
	registry_close(&r);
	assert_int_equal(parse_reference("registry.example.com:5000/a/b", &ref, NULL), 0);
	assert_int_equal(registry_open(&r, &ref, &secure, &f), 0);
	assert_string_equal(r.base_url, "https://registry.example.com:5000");
	registry_close(&r);
	assert_int_equal(registry_open(&r, &ref, &insecure, &f), 0);
	assert_string_equal(r.base_url, "http://registry.example.com:5000");
	registry_close(&r);
	assert_int_equal(parse_reference("localhost:5000/a", &ref, NULL), 0);
	assert_int_equal(registry_open(&r, &ref, &secure, &f), 0);
	assert_string_equal(r.base_url, "http://localhost:5000");
	registry_close(&r);
}

/* ---- a registry behind a token service ---------------------------------------------------- */

enum { TOKEN_EXPIRY = 2 };	/* seconds: a pull slowed down by two 500s (1 s + 2 s of backoff) outlasts it */

static char busybox_layer[80];

static int setup_token_registry(void **state)
{
	char cmd[4 * PATH_MAX];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct run r;

	if (start_registry(state, "--token --token-expiry 2", "busybox,layers") < 0)
		return -1;
	if (!registry[0])
		return 0;
	/* The busybox layer's digest, asked for with a token of our own (testkit/registry token). */
	snprintf(cmd, sizeof(cmd),
		 "t=$(%s/registry token %s repository:box-test/busybox:pull) && "
		 "curl -sf -H \"Authorization: Bearer $t\" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "
		 "http://%s/v2/box-test/busybox/manifests/latest | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"layers\"][0][\"digest\"])'",
		 TESTKIT_DIR, services, registry);
	r = run_argv(argv);
	if (r.status != 0 || sscanf(r.out, "%79s", busybox_layer) != 1) {
		print_error("reading the busybox manifest failed: %s\n", r.err);
		return -1;
	}
	return 0;
}

/* No credentials anywhere box looks, unless a test puts them there: HOME is an empty directory of ours. */
static void no_credentials(void)
{
	char home[PATH_MAX];

	skip_unless_root();
	assert_true(registry[0]);
	snprintf(home, sizeof(home), "%s/home", test_dir());
	host_sh("rm -rf %s && mkdir -p %s", home, home);
	setenv("HOME", home, 1);
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("DOCKER_CONFIG");
	unsetenv("REGISTRY_AUTH_FILE");
}

/* An auth file (podman's auth.json, docker's config.json: the same shape) with user:password for the hosts. */
static const char *write_auth(const char *path, const char *user_password, const char *host, const char *other_host)
{
	host_sh("b=$(printf %%s '%s' | base64 -w0) && printf '{\"auths\": {\"%s\": {\"auth\": \"%%s\"}, \"%s\": {\"auth\": \"%%s\"}}}' "
		"$b $b > %s", user_password, host, other_host ? other_host : "unused.example", path);
	return path;
}

static const char *user_password(void)
{
	static char text[256];
	char user[100], password[100];

	snprintf(text, sizeof(text), "%s:%s", registry_env("REGISTRY_USER", user, sizeof(user)),
		 registry_env("REGISTRY_PASSWORD", password, sizeof(password)));
	return text;
}

static const char *token_log(void)
{
	static char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/token-requests.log", services);
	return path;
}

static void test_a_private_repository_needs_credentials(void **state)
{
	char root[PATH_MAX], ref[256], what[512];

	(void)state;
	no_credentials();
	struct run r = run_box("--root", fresh_root(root, sizeof(root), "anonymous"), "pull", "-q",
			       image_ref(ref, sizeof(ref), registry, "busybox"), NULL);
	assert_status(&r, 125);
	snprintf(what, sizeof(what), "box: pull access denied for %s/box-test/busybox: the repository does not exist or "
		 "needs credentials (HTTP 401 UNAUTHORIZED: authentication required): Permission denied\n", registry);
	assert_string_equal(r.err, what);
}

static void test_wrong_credentials_are_refused_naming_their_file(void **state)
{
	char root[PATH_MAX], ref[256], auth[PATH_MAX], realm[256], what[2 * PATH_MAX];

	(void)state;
	no_credentials();
	snprintf(auth, sizeof(auth), "%s/wrong.json", test_dir());
	setenv("REGISTRY_AUTH_FILE", write_auth(auth, "boxtest:not-the-password", registry, NULL), 1);
	struct run r = run_box("--root", fresh_root(root, sizeof(root), "wrong"), "pull", "-q",
			       image_ref(ref, sizeof(ref), registry, "busybox"), NULL);
	unsetenv("REGISTRY_AUTH_FILE");
	assert_status(&r, 125);
	snprintf(what, sizeof(what), "box: %s refused the credentials for %s from %s: HTTP 401: incorrect username or "
		 "password: Permission denied\n", registry_env("TOKEN_REALM", realm, sizeof(realm)), registry, auth);
	assert_string_equal(r.err, what);
}

/* Docker Hub's dance: GET /v2/ -> 401 Bearer realm=...; GET realm?scope=... with Basic credentials -> token. */
static void test_a_401_is_answered_with_a_token_from_the_realm(void **state)
{
	char root[PATH_MAX], ref[256], auth[PATH_MAX], secret[256];
	int tokens = count_lines(token_log(), "auth=basic user=boxtest status=200", NULL);

	(void)state;
	no_credentials();
	snprintf(auth, sizeof(auth), "%s/good.json", test_dir());
	setenv("REGISTRY_AUTH_FILE", write_auth(auth, user_password(), registry, NULL), 1);
	setenv("BOX_REGISTRY_DEBUG", "1", 1);
	struct run r = run_box("--root", fresh_root(root, sizeof(root), "token"), "pull", "-q",
			       image_ref(ref, sizeof(ref), registry, "busybox"), NULL);
	unsetenv("BOX_REGISTRY_DEBUG");
	unsetenv("REGISTRY_AUTH_FILE");
	assert_status(&r, 0);
	assert_non_null(strstr(r.err, "> GET /v2/ HTTP/1.1\n"));
	assert_non_null(strstr(r.err, "< HTTP/1.1 401 Unauthorized\n"));
	assert_non_null(strstr(r.err, "< Www-Authenticate: Bearer realm=\"http://127.0.0.1:"));
	assert_non_null(strstr(r.err, "> GET /token?service=box-testkit-registry&scope=repository%3Abox-test%2Fbusybox%3Apull HTTP/1.1\n"));
	assert_non_null(strstr(r.err, "> Authorization: Basic [redacted]\n"));
	assert_non_null(strstr(r.err, "> Authorization: Bearer [redacted]\n"));
	assert_int_equal(count_lines(token_log(), "auth=basic user=boxtest status=200", NULL), tokens + 1);
	/* Never a secret on the screen: neither the password nor its base64. */
	assert_null(strstr(r.err, strchr(user_password(), ':') + 1));
	host_sh("printf %%s '%s' | base64 -w0 > %s/secret", user_password(), test_dir());
	snprintf(secret, sizeof(secret), "%s/secret", test_dir());
	assert_null(strstr(r.err, read_text(secret, secret, sizeof(secret))));
}

/* docker's ~/.docker/config.json and podman's $XDG_RUNTIME_DIR/containers/auth.json. */
static void test_credentials_come_from_dockers_and_podmans_files(void **state)
{
	char root[PATH_MAX], ref[256], path[PATH_MAX];
	struct run r;

	(void)state;
	no_credentials();
	fresh_root(root, sizeof(root), "docker-config");
	image_ref(ref, sizeof(ref), registry, "busybox");
	host_sh("mkdir -p %s/.docker", getenv("HOME"));
	snprintf(path, sizeof(path), "%s/.docker/config.json", getenv("HOME"));
	write_auth(path, user_password(), registry, NULL);
	r = run_box("--root", root, "pull", "-q", ref, NULL);
	assert_status(&r, 0);
	host_sh("rm %s && mkdir -p %s/run/containers", path, getenv("HOME"));
	snprintf(path, sizeof(path), "%s/run/containers/auth.json", getenv("HOME"));
	write_auth(path, user_password(), registry, NULL);
	snprintf(path, sizeof(path), "%s/run", getenv("HOME"));
	setenv("XDG_RUNTIME_DIR", path, 1);
	r = run_box("--root", root, "rmi", ref, NULL);
	assert_status(&r, 0);
	r = run_box("--root", root, "pull", "-q", ref, NULL);
	unsetenv("XDG_RUNTIME_DIR");
	assert_status(&r, 0);
}

/* Two 500s on the bottom layer (1 s + 2 s of backoff): the pull outlasts its token, which box renews before it runs out. */
static void test_a_token_that_runs_out_mid_pull_is_renewed(void **state)
{
	char root[PATH_MAX], proxy[64], ref[256], auth[PATH_MAX], extra[128], log[PATH_MAX + 64];
	int tokens = count_lines(token_log(), "status=200", NULL);

	(void)state;
	no_credentials();
	snprintf(extra, sizeof(extra), "--times 2 --digest %s", busybox_layer);
	start_proxy("error500-once", "renew", extra, proxy, sizeof(proxy));
	snprintf(auth, sizeof(auth), "%s/renew.json", test_dir());
	setenv("REGISTRY_AUTH_FILE", write_auth(auth, user_password(), proxy, NULL), 1);
	struct run r = run_box("--root", fresh_root(root, sizeof(root), "renew"), "pull", "-q",
			       image_ref(ref, sizeof(ref), proxy, "layers"), NULL);
	unsetenv("REGISTRY_AUTH_FILE");
	assert_status(&r, 0);
	/* At least one renewal; more when a slow machine makes the pull outlast a second token. */
	assert_in_range(count_lines(token_log(), "status=200", NULL), tokens + 2, tokens + 4);
	snprintf(log, sizeof(log), "%s/proxy-renew.log", services);
	assert_int_equal(count_lines(log, "/blobs/", "status=401", NULL), 0);
	assert_int_equal(count_lines(log, "/blobs/", "status=500", NULL), 2);
}

/* libcurl sends box's credentials only to the host it was given; a CDN that sees them answers 400. */
static void test_a_redirected_blob_gets_no_token(void **state)
{
	char root[PATH_MAX], proxy[64], ref[256], auth[PATH_MAX], log[PATH_MAX + 64];

	(void)state;
	no_credentials();
	start_proxy("redirect", "redirect", "", proxy, sizeof(proxy));
	snprintf(auth, sizeof(auth), "%s/redirect.json", test_dir());
	setenv("REGISTRY_AUTH_FILE", write_auth(auth, user_password(), proxy, NULL), 1);
	struct run r = run_box("--root", fresh_root(root, sizeof(root), "redirect"), "pull", "-q",
			       image_ref(ref, sizeof(ref), proxy, "busybox"), NULL);
	unsetenv("REGISTRY_AUTH_FILE");
	assert_status(&r, 0);
	snprintf(log, sizeof(log), "%s/proxy-redirect.log", services);
	assert_int_equal(count_lines(log, "proxy GET", "/blobs/", "auth=yes action=redirect status=307", NULL), 2);
	assert_int_equal(count_lines(log, "cdn GET", "auth=no", "status=200", NULL), 2);
	assert_int_equal(count_lines(log, "cdn GET", "auth=yes", NULL), 0);
}

/*
 * A token service that says its tokens last 300 s while the registry
 * refuses them after 2 s (testkit's tokenserver.py, restarted with a
 * larger --registry-leeway): the blob GET gets a 401 in the middle of the
 * pull; box asks for a new token, once, and goes on. Last in the program:
 * the token service stays like that.
 */
static void test_a_token_refused_mid_pull_is_renewed_once(void **state)
{
	char root[PATH_MAX], proxy[64], ref[256], auth[PATH_MAX], extra[128], log[PATH_MAX + 64], pidfile[PATH_MAX + 32];
	char realm[256], user[100], password[100];
	int tokens;

	(void)state;
	no_credentials();
	snprintf(pidfile, sizeof(pidfile), "%s/tokenserver.pid", services);
	signal_and_reap(pidfile, SIGTERM);	/* it exits 0 on SIGTERM */
	registry_env("TOKEN_REALM", realm, sizeof(realm));
	host_sh("/usr/bin/python3 %s/tokenserver.py --daemon %s/tokenserver.out --port %d --key %s/token.key "
		"--cert %s/token.crt --issuer box-testkit-token --service box-testkit-registry --user %s --password %s "
		"--expiry 300 --registry-leeway %d --log %s --pid-file %s", TESTKIT_DIR, services,
		atoi(strrchr(realm, ':') + 1), services, services, registry_env("REGISTRY_USER", user, sizeof(user)),
		registry_env("REGISTRY_PASSWORD", password, sizeof(password)), 300 + 60 - TOKEN_EXPIRY, token_log(), pidfile);
	tokens = count_lines(token_log(), "status=200", NULL);
	snprintf(extra, sizeof(extra), "--times 2 --digest %s", busybox_layer);
	start_proxy("error500-once", "lying", extra, proxy, sizeof(proxy));
	snprintf(auth, sizeof(auth), "%s/lying.json", test_dir());
	setenv("REGISTRY_AUTH_FILE", write_auth(auth, user_password(), proxy, NULL), 1);
	struct run r = run_box("--root", fresh_root(root, sizeof(root), "lying"), "pull", "-q",
			       image_ref(ref, sizeof(ref), proxy, "layers"), NULL);
	unsetenv("REGISTRY_AUTH_FILE");
	assert_status(&r, 0);
	snprintf(log, sizeof(log), "%s/proxy-lying.log", services);
	assert_int_equal(count_lines(log, "/blobs/", "status=401", NULL), 1);
	assert_int_equal(count_lines(token_log(), "status=200", NULL), tokens + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_docker_config_names_docker_hub_by_its_v1_url, auth_setup, auth_teardown),
		cmocka_unit_test_setup_teardown(test_podman_auth_file_comes_before_docker_config, auth_setup, auth_teardown),
		cmocka_unit_test_setup_teardown(test_registry_auth_file_replaces_the_runtime_dir_file, auth_setup,
						auth_teardown),
		cmocka_unit_test_setup_teardown(test_entries_without_auth_or_broken_files_give_nothing, auth_setup,
						auth_teardown),
		cmocka_unit_test(test_timeout_comes_from_the_environment),
		cmocka_unit_test(test_https_unless_loopback_or_insecure),
		cmocka_unit_test_setup_teardown(test_a_private_repository_needs_credentials, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_credentials_are_refused_naming_their_file, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_401_is_answered_with_a_token_from_the_realm, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_credentials_come_from_dockers_and_podmans_files, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_token_that_runs_out_mid_pull_is_renewed, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_redirected_blob_gets_no_token, integration_setup, integration_teardown),
		cmocka_unit_test_setup_teardown(test_a_token_refused_mid_pull_is_renewed_once, integration_setup, integration_teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("step06 registry", tests, setup_token_registry, stop_registry);
}
