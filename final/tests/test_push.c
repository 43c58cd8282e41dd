/*
 * test_push.c - box push against a real registry (docker-registry 2.8,
 * testkit/registry), plain and behind the token service, through
 * testkit/regproxy.py to see the requests and to make uploads fail.
 * (Root: the base image is pulled and unpacked.)
 */
#include "imageutil.h"

#include <jansson.h>

static char scratch[PATH_MAX], plain_dir[PATH_MAX + 16], token_dir[PATH_MAX + 16];
static char plain[64], token[64];	/* 127.0.0.1:PORT of each registry */
static char testkit[PATH_MAX];
static struct store store;

/* A value of DIR/env (testkit/registry writes it). */
static char *env_of(const char *dir, const char *name, char *buf, size_t size)
{
	return sh_out(buf, size, ". '%s/env' && printf %%s \"$%s\"", dir, name);
}

static int start_registry(const char *dir, const char *flags, char *addr, size_t size)
{
	char user[64], password[64];

	if (sh("'%s/registry' start '%s' %s > /dev/null", testkit, dir, flags) != 0)
		return -1;
	env_of(dir, "REGISTRY", addr, size);
	env_of(dir, "REGISTRY_USER", user, sizeof(user));
	env_of(dir, "REGISTRY_PASSWORD", password, sizeof(password));
	return sh("'%s/mkimages.sh' %s%s%s%s --only busybox %s > /dev/null",
		  testkit, user[0] ? "--creds " : "", user, user[0] ? ":" : "", password, addr);
}

static int setup(void **state)
{
	struct failure f;
	char root[PATH_MAX + 16];

	(void)state;
	if (geteuid() != 0)
		return 0;	/* every test skips itself */
	assert_non_null(realpath(TESTKIT_DIR, testkit));	/* final: the testkit of the Makefile (TESTKIT=) */
	make_scratch(scratch, sizeof(scratch), "push");
	snprintf(plain_dir, sizeof(plain_dir), "%s/plain", scratch);
	snprintf(token_dir, sizeof(token_dir), "%s/token", scratch);
	snprintf(root, sizeof(root), "%s/root", scratch);
	setenv("BOX_REGISTRY_TIMEOUT", "5", 1);
	unsetenv("REGISTRY_AUTH_FILE");
	setenv("XDG_RUNTIME_DIR", scratch, 1);	/* no login anyone else made applies */
	setenv("HOME", scratch, 1);
	if (start_registry(plain_dir, "", plain, sizeof(plain)) < 0 ||
	    start_registry(token_dir, "--token --token-expiry 60", token, sizeof(token)) < 0)
		return -1;
	return store_open(&store, root, STORE_SHARED, &f);
}

static int teardown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	store_close(&store);
	sh("'%s/registry' stop '%s'; '%s/registry' stop '%s'", testkit, plain_dir, testkit, token_dir);
	remove_scratch(scratch);
	return 0;
}

/* A proxy in front of a registry dir; its address. */
static char *proxy(const char *dir, const char *mode, const char *name, const char *extra)
{
	static char addr[64];

	sh_out(addr, sizeof(addr), "'%s/registry' proxy '%s' %s --name %s %s", testkit, dir, mode, name, extra);
	assert_true(addr[0]);
	return addr;
}

static char *proxy_log(const char *dir, const char *name)
{
	static char path[2 * PATH_MAX];

	snprintf(path, sizeof(path), "%s/proxy-%s.log", dir, name);
	return path;
}

/* How many lines of the proxy's log hold all of these words. */
static int log_count(const char *dir, const char *name, const char *a, const char *b)
{
	char out[32];

	sh_out(out, sizeof(out), "grep -F -- '%s' '%s' | grep -c -F -- '%s'", a, proxy_log(dir, name), b ? b : a);
	return atoi(out);
}

/* REG/box-test/busybox pulled, and a new image on it: one layer with a file of size bytes. */
static void make_app(const char *base, const char *name, long long size)
{
	char upper[PATH_MAX + 64];
	struct image_record rec, base_rec;
	struct pull_options popt = { .progress = PROGRESS_QUIET };
	struct image_draft d;
	struct layer_blob l;
	struct failure f;

	if (pull_image(&store, base, &popt, &base_rec, &f) < 0)
		fail_msg("pull %s: %s", base, f.what);
	snprintf(upper, sizeof(upper), "%s/upper-%lld", scratch, size);
	assert_int_equal(sh("rm -rf '%s' && mkdir -p '%s/app' && head -c %lld /dev/urandom > '%s/app/data'", upper, upper,
			    size, upper),
			 0);
	assert_int_equal(draft_from_image(&store, &base_rec, &d, &f), 0);
	assert_int_equal(layer_from_dir(&store, upper, -1, &l, &f), 0);
	assert_int_equal(draft_add_layer(&d, &l), 0);
	assert_int_equal(draft_add_history(&d, "2026-01-01T00:00:00Z", "COPY data /app/", false, NULL), 0);
	assert_int_equal(draft_commit(&store, &d, "2026-01-01T00:00:00Z", &rec, &f), 0);
	assert_int_equal(name_image_as(&store, &rec, name, &f), 0);
	draft_free(&d);
}

struct pushed {
	int ret, err;
	struct failure f;
	char digest[DIGEST_LEN + 1];
	char out[8192];
};

static struct pushed push(const char *source, const char *dest, long long chunk)
{
	static struct pushed p;
	FILE *out;
	struct push_options opt = { .progress = PROGRESS_LINES, .chunk_size = chunk };

	memset(&p, 0, sizeof(p));
	out = fmemopen(p.out, sizeof(p.out) - 1, "w");
	opt.out = out;
	p.ret = push_image(&store, source, dest, &opt, p.digest, &p.f);
	p.err = errno;
	fclose(out);
	return p;
}

static void assert_pushed(const struct pushed *p)
{
	if (p->ret < 0)
		fail_msg("push failed: %s: %s\n%s", p->f.what, strerror(p->err), p->out);
}

/* The manifest digest the registry has under REG/REPO:TAG ("" if none): what any client would pull. */
static char *registry_manifest(const char *reg, const char *repo_tag)
{
	static char out[128];

	return sh_out(out, sizeof(out), "skopeo inspect --tls-verify=false docker://%s/%s 2>/dev/null | jq -r .Digest", reg,
		      repo_tag);
}

static void test_blobs_go_first_and_the_manifest_last(void **state)
{
	char base[128], app[128], dest[128], log[2 * PATH_MAX], last[256];
	const char *p;
	struct pushed r;
	int posts;

	(void)state;
	if (skip_unless_root())
		return;
	snprintf(base, sizeof(base), "%s/box-test/busybox", plain);
	snprintf(app, sizeof(app), "%s/app:1", plain);
	make_app(base, app, 1000);
	p = proxy(plain_dir, "pass", "order", "");
	snprintf(dest, sizeof(dest), "%s/app:1", p);
	r = push(app, dest, 0);
	assert_pushed(&r);
	snprintf(log, sizeof(log), "%s", proxy_log(plain_dir, "order"));
	assert_string_equal(sh_out(last, sizeof(last), "tail -1 '%s' | cut -d' ' -f3,4,7", log), "PUT /v2/app/manifests/1 status=201");
	assert_int_equal(log_count(plain_dir, "order", "HEAD /v2/app/blobs/", NULL), 3);
	assert_string_equal(registry_manifest(plain, "app:1"), r.digest);
	assert_non_null(strstr(r.out, "The push refers to repository ["));
	assert_non_null(strstr(r.out, ": Pushed\n"));
	assert_non_null(strstr(r.out, "1: digest: sha256:"));
	/* Again: the registry has every blob, so only the manifest is sent. */
	posts = log_count(plain_dir, "order", "POST", NULL);
	r = push(app, dest, 0);
	assert_pushed(&r);
	assert_int_equal(log_count(plain_dir, "order", "POST", NULL), posts);
	assert_non_null(strstr(r.out, ": Layer already exists\n"));
}

static void test_a_blob_in_another_repository_is_mounted(void **state)
{
	char base[128], app[128];
	const char *p;
	struct pushed r;

	(void)state;
	if (skip_unless_root())
		return;
	/* The store knows where blobs came from by the registry's name: pull and push through the same address. */
	p = proxy(plain_dir, "pass", "mount", "");
	snprintf(base, sizeof(base), "%s/box-test/busybox", p);
	snprintf(app, sizeof(app), "%s/mounted:1", p);
	make_app(base, app, 2000);
	r = push(app, NULL, 0);
	assert_pushed(&r);
	assert_int_equal(log_count(plain_dir, "mount", "?mount=sha256:ba101775e6ef", "&from=box-test/busybox"), 1);
	assert_int_equal(log_count(plain_dir, "mount", "&from=box-test/busybox", "status=201"), 1);
	assert_non_null(strstr(r.out, "ba101775e6ef: Mounted from box-test/busybox\n"));
}

static void test_a_large_blob_goes_in_chunks(void **state)
{
	char base[128], app[128], dest[128];
	const char *p;
	struct pushed r;

	(void)state;
	if (skip_unless_root())
		return;
	snprintf(base, sizeof(base), "%s/box-test/busybox", plain);
	snprintf(app, sizeof(app), "%s/chunked:1", plain);
	make_app(base, app, 300000);
	p = proxy(plain_dir, "pass", "chunks", "");
	snprintf(dest, sizeof(dest), "%s/chunked:1", p);
	r = push(app, dest, 65536);
	assert_pushed(&r);
	assert_true(log_count(plain_dir, "chunks", "PATCH /v2/chunked/blobs/uploads/", "status=202") >= 5);
	/* the base layer (1 MB) and the new one in chunks, the config whole: each upload ends with a PUT ?digest= */
	assert_int_equal(log_count(plain_dir, "chunks", "PUT /v2/chunked/blobs/uploads/", "digest=sha256"), 3);
	assert_string_equal(registry_manifest(plain, "chunked:1"), r.digest);
}

static void test_a_failed_chunk_resumes_where_the_session_stands(void **state)
{
	char base[128], app[128], dest[128];
	const char *p;
	struct pushed r;

	(void)state;
	if (skip_unless_root())
		return;
	snprintf(base, sizeof(base), "%s/box-test/busybox", plain);
	snprintf(app, sizeof(app), "%s/resumed:1", plain);
	make_app(base, app, 300000);
	p = proxy(plain_dir, "upload-error500", "resume", "--times 2");
	snprintf(dest, sizeof(dest), "%s/resumed:1", p);
	r = push(app, dest, 65536);
	assert_pushed(&r);
	assert_int_equal(log_count(plain_dir, "resume", "action=upload-error500", NULL), 2);
	assert_int_equal(log_count(plain_dir, "resume", "GET /v2/resumed/blobs/uploads/", "status=204"), 2);
	assert_string_equal(registry_manifest(plain, "resumed:1"), r.digest);
}

static void test_a_failure_in_the_middle_leaves_no_manifest_and_a_retry_finishes(void **state)
{
	char base[128], app[128], dest[128], digest[DIGEST_LEN + 1], extra[128];
	struct image_record rec;
	struct reference ref;
	struct failure f;
	const char *p;
	struct pushed r;

	(void)state;
	if (skip_unless_root())
		return;
	snprintf(base, sizeof(base), "%s/box-test/busybox", plain);
	snprintf(app, sizeof(app), "%s/halfway:1", plain);
	make_app(base, app, 5000);
	assert_int_equal(parse_reference(app, &ref, &f), 0);
	assert_int_equal(store_find_image(&store, &ref, &rec), 0);
	snprintf(digest, sizeof(digest), "%s", rec.config);
	/* The layer goes through; the config never does: the registry answers its upload with 500, every time. */
	snprintf(extra, sizeof(extra), "--digest %s --times 100", digest);
	p = proxy(plain_dir, "upload-error500", "halfway", extra);
	snprintf(dest, sizeof(dest), "%s/halfway:1", p);
	r = push(app, dest, 0);
	assert_int_equal(r.ret, -1);
	assert_int_equal(r.err, EPROTO);
	assert_non_null(strstr(r.f.what, "HTTP 500 UNKNOWN: injected upload failure (regproxy) (3 tries)"));
	assert_string_equal(registry_manifest(plain, "halfway:1"), "");	/* no tag points to half an image */
	assert_int_equal(log_count(plain_dir, "halfway", "PUT /v2/halfway/manifests", NULL), 0);
	/* Push again, straight to the registry: the layer is skipped, the rest goes, the tag appears. */
	snprintf(dest, sizeof(dest), "%s/halfway:1", plain);
	r = push(app, dest, 0);
	assert_pushed(&r);
	assert_non_null(strstr(r.out, ": Layer already exists\n"));
	assert_string_equal(registry_manifest(plain, "halfway:1"), r.digest);
}

static void test_a_dropped_upload_is_tried_again(void **state)
{
	char base[128], app[128], dest[128];
	const char *p;
	struct pushed r;

	(void)state;
	if (skip_unless_root())
		return;
	snprintf(base, sizeof(base), "%s/box-test/busybox", plain);
	snprintf(app, sizeof(app), "%s/dropped:1", plain);
	make_app(base, app, 50000);
	p = proxy(plain_dir, "upload-drop", "drop", "--times 1");
	snprintf(dest, sizeof(dest), "%s/dropped:1", p);
	r = push(app, dest, 0);
	assert_pushed(&r);
	assert_int_equal(log_count(plain_dir, "drop", "action=upload-drop", NULL), 1);
	assert_string_equal(registry_manifest(plain, "dropped:1"), r.digest);
}

static void test_a_relative_location_is_resolved(void **state)
{
	char base[128], app[128], dest[128];
	const char *p;
	struct pushed r;

	(void)state;
	if (skip_unless_root())
		return;
	snprintf(base, sizeof(base), "%s/box-test/busybox", plain);
	snprintf(app, sizeof(app), "%s/relative:1", plain);
	make_app(base, app, 200000);
	p = proxy(plain_dir, "relative-location", "relative", "");
	snprintf(dest, sizeof(dest), "%s/relative:1", p);
	r = push(app, dest, 65536);	/* in chunks: every PATCH's answer moves the session by a relative Location */
	assert_pushed(&r);
	assert_true(log_count(plain_dir, "relative", "PATCH /v2/relative/blobs/uploads/", "status=202") >= 4);
	assert_string_equal(registry_manifest(plain, "relative:1"), r.digest);
}

/* An auth file with the token registry's credentials (or wrong ones). */
static void use_credentials(const char *password)
{
	char user[64], right[64], path[PATH_MAX + 32], key[REF_NAME_MAX + 1];
	struct failure f;

	env_of(token_dir, "REGISTRY_USER", user, sizeof(user));
	env_of(token_dir, "REGISTRY_PASSWORD", right, sizeof(right));
	snprintf(path, sizeof(path), "%s/auth.json", scratch);
	setenv("REGISTRY_AUTH_FILE", path, 1);
	unlink(path);
	credential_key(token, key, sizeof(key));
	if (password)
		assert_int_equal(login_save(key, user, strcmp(password, "right") == 0 ? right : password, path, sizeof(path), &f), 0);
}

static void test_push_with_a_token_asks_for_push_and_pull(void **state)
{
	char base[128], app[128], log[2 * PATH_MAX], out[64];
	struct pushed r;

	(void)state;
	if (skip_unless_root())
		return;
	use_credentials("right");
	snprintf(base, sizeof(base), "%s/box-test/busybox", token);
	snprintf(app, sizeof(app), "%s/private/app:1", token);
	make_app(base, app, 3000);
	r = push(app, NULL, 0);
	assert_pushed(&r);
	snprintf(log, sizeof(log), "%s/token-requests.log", token_dir);
	assert_string_equal(sh_out(out, sizeof(out), "grep -c 'auth=basic user=boxtest status=200 scope=repository:private/app:pull,push "
							     "repository:box-test/busybox:pull' '%s'",
				   log),
			    "1");
	assert_non_null(strstr(r.out, ": Mounted from box-test/busybox\n"));
	unsetenv("REGISTRY_AUTH_FILE");
}

static void test_push_without_the_right_to_is_refused(void **state)
{
	char app[128], dest[128];
	struct pushed r;

	(void)state;
	if (skip_unless_root())
		return;
	use_credentials("right");
	snprintf(app, sizeof(app), "%s/private/app:1", token);
	use_credentials(NULL);	/* anonymous: the token service grants nothing */
	snprintf(dest, sizeof(dest), "%s/private/anon:1", token);
	r = push(app, dest, 0);
	assert_int_equal(r.ret, -1);
	assert_int_equal(r.err, EACCES);
	assert_non_null(strstr(r.f.what, "push access denied for"));
	use_credentials("wrong-password");
	r = push(app, dest, 0);
	assert_int_equal(r.ret, -1);
	assert_int_equal(r.err, EACCES);
	assert_non_null(strstr(r.f.what, "refused the credentials"));
	unsetenv("REGISTRY_AUTH_FILE");
}

static void test_login_checks_the_password_with_the_registry(void **state)
{
	char user[64], password[64];
	struct registry_options opt = { 0 };
	struct failure f;

	(void)state;
	if (skip_unless_root())
		return;
	env_of(token_dir, "REGISTRY_USER", user, sizeof(user));
	env_of(token_dir, "REGISTRY_PASSWORD", password, sizeof(password));
	assert_int_equal(login_check(token, user, password, &opt, &f), 0);
	assert_int_equal(login_check(token, user, "nope", &opt, &f), -1);
	assert_int_equal(errno, EACCES);
	assert_non_null(strstr(f.what, "incorrect username or password"));
	assert_int_equal(login_check(plain, "anyone", "anything", &opt, &f), 0);	/* no auth there: docker says yes too */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blobs_go_first_and_the_manifest_last),
		cmocka_unit_test(test_a_blob_in_another_repository_is_mounted),
		cmocka_unit_test(test_a_large_blob_goes_in_chunks),
		cmocka_unit_test(test_a_failed_chunk_resumes_where_the_session_stands),
		cmocka_unit_test(test_a_failure_in_the_middle_leaves_no_manifest_and_a_retry_finishes),
		cmocka_unit_test(test_a_dropped_upload_is_tried_again),
		cmocka_unit_test(test_a_relative_location_is_resolved),
		cmocka_unit_test(test_push_with_a_token_asks_for_push_and_pull),
		cmocka_unit_test(test_push_without_the_right_to_is_refused),
		cmocka_unit_test(test_login_checks_the_password_with_the_registry),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
