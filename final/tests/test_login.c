/*
 * test_login.c - box login and logout keep credentials where podman does,
 * in its format, privately, and never half-written.
 */
#include "imageutil.h"

#include <jansson.h>

static char dir[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	make_scratch(dir, sizeof(dir), "login");
	unsetenv("REGISTRY_AUTH_FILE");
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("DOCKER_CONFIG");
	setenv("HOME", dir, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_scratch(dir);
	return 0;
}

static void test_the_auth_file_is_podmans(void **state)
{
	char path[PATH_MAX], want[PATH_MAX];

	(void)state;
	setenv("REGISTRY_AUTH_FILE", "/x/auth.json", 1);
	assert_int_equal(auth_file_path(path, sizeof(path)), 0);
	assert_string_equal(path, "/x/auth.json");
	unsetenv("REGISTRY_AUTH_FILE");
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_int_equal(auth_file_path(path, sizeof(path)), 0);
	assert_string_equal(path, "/run/user/1000/containers/auth.json");
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(auth_file_path(path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "/run/containers/%u/auth.json", (unsigned)getuid());
	assert_string_equal(path, want);
}

static void test_login_writes_an_entry_podman_and_box_read(void **state)
{
	char path[PATH_MAX], file[PATH_MAX];
	struct credentials cred;
	struct failure f;
	struct stat st;

	(void)state;
	assert_int_equal(format_into(file, sizeof(file), "%s/runtime", dir), 0);
	setenv("XDG_RUNTIME_DIR", file, 1);
	assert_int_equal(login_save("127.0.0.1:5000", "boxtest", "pass:with:colons", path, sizeof(path), &f), 0);
	assert_int_equal(format_into(file, sizeof(file), "%s/runtime/containers/auth.json", dir), 0);
	assert_string_equal(path, file);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* base64("boxtest:pass:with:colons") */
	assert_non_null(strstr(slurp(path), "\"auth\": \"Ym94dGVzdDpwYXNzOndpdGg6Y29sb25z\""));
	assert_int_equal(find_credentials("127.0.0.1:5000", &cred), 0);
	assert_string_equal(cred.username, "boxtest");
	assert_string_equal(cred.password, "pass:with:colons");
	unsetenv("XDG_RUNTIME_DIR");
}

static void test_other_entries_and_members_are_kept(void **state)
{
	char path[PATH_MAX], file[PATH_MAX];
	struct failure f;
	json_t *doc;

	(void)state;
	assert_int_equal(format_into(file, sizeof(file), "%s/keep.json", dir), 0);
	put_file(dir, "keep.json", "{\"auths\": {\"quay.io\": {\"auth\": \"YTpi\"}}, \"credHelpers\": {\"gcr.io\": \"gcloud\"}}");
	setenv("REGISTRY_AUTH_FILE", file, 1);
	assert_int_equal(login_save("https://index.docker.io/v1/", "me", "pw", path, sizeof(path), &f), 0);
	doc = json_load_file(file, 0, NULL);
	assert_non_null(json_object_get(json_object_get(doc, "auths"), "quay.io"));
	assert_non_null(json_object_get(json_object_get(doc, "auths"), "docker.io"));	/* podman's key for Docker Hub */
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "credHelpers"), "gcr.io")), "gcloud");
	json_decref(doc);
	unsetenv("REGISTRY_AUTH_FILE");
}

static void test_a_file_that_is_not_json_is_not_replaced(void **state)
{
	char path[PATH_MAX], file[PATH_MAX];
	struct failure f;

	(void)state;
	assert_int_equal(format_into(file, sizeof(file), "%s/broken.json", dir), 0);
	put_file(dir, "broken.json", "{not json");
	setenv("REGISTRY_AUTH_FILE", file, 1);
	assert_int_equal(login_save("127.0.0.1:5000", "u", "p", path, sizeof(path), &f), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(slurp(file), "{not json");
	unsetenv("REGISTRY_AUTH_FILE");
}

static void test_logout_removes_only_that_registry(void **state)
{
	char path[PATH_MAX], file[PATH_MAX];
	struct credentials cred;
	struct failure f;

	(void)state;
	assert_int_equal(format_into(file, sizeof(file), "%s/two.json", dir), 0);
	setenv("REGISTRY_AUTH_FILE", file, 1);
	assert_int_equal(login_save("a.example:5000", "u1", "p1", path, sizeof(path), &f), 0);
	assert_int_equal(login_save("b.example", "u2", "p2", path, sizeof(path), &f), 0);
	assert_int_equal(logout_remove("a.example:5000", false, path, sizeof(path), &f), 0);
	assert_int_equal(find_credentials("a.example:5000", &cred), -1);
	assert_int_equal(find_credentials("b.example", &cred), 0);
	assert_int_equal(logout_remove("a.example:5000", false, path, sizeof(path), &f), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(f.what, "not logged in to a.example:5000"));
	assert_int_equal(logout_remove(NULL, true, path, sizeof(path), &f), 0);
	assert_int_equal(find_credentials("b.example", &cred), -1);
	unsetenv("REGISTRY_AUTH_FILE");
}

static void test_no_temp_file_is_left_behind(void **state)
{
	char path[PATH_MAX], file[PATH_MAX], out[64];
	struct failure f;

	(void)state;
	assert_int_equal(format_into(file, sizeof(file), "%s/tidy/auth.json", dir), 0);
	setenv("REGISTRY_AUTH_FILE", file, 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(login_save("127.0.0.1:5000", "u", "p", path, sizeof(path), &f), 0);
	assert_string_equal(sh_out(out, sizeof(out), "ls -A '%s/tidy' | wc -l", dir), "1");
	assert_string_equal(sh_out(out, sizeof(out), "stat -c %%a '%s/tidy'", dir), "700");
	unsetenv("REGISTRY_AUTH_FILE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_auth_file_is_podmans),
		cmocka_unit_test(test_login_writes_an_entry_podman_and_box_read),
		cmocka_unit_test(test_other_entries_and_members_are_kept),
		cmocka_unit_test(test_a_file_that_is_not_json_is_not_replaced),
		cmocka_unit_test(test_logout_removes_only_that_registry),
		cmocka_unit_test(test_no_temp_file_is_left_behind),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
