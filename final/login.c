/*
 * login.c - 'box login' and 'box logout': credentials kept where podman,
 * buildah and skopeo keep them, so each tool sees the others' logins.
 *
 * The file (containers-auth.json(5)) is JSON, one entry per registry:
 *
 *     {
 *         "auths": {
 *             "127.0.0.1:5000": { "auth": "Ym94dGVzdDpib3h0ZXN0LXBhc3N3b3Jk" }
 *         }
 *     }
 *
 * "auth" is base64 of "user:password": an encoding, not encryption. So the
 * file is mode 0600 in a directory of mode 0700, and by default it lives
 * under /run (auth_file_path, registry.c), gone after a reboot. Anything
 * else in the file (other registries, credHelpers) is kept as it was.
 *
 * The file is replaced, never edited: the new text goes to a temp file in
 * the same directory, is fsynced, and renamed over the old one (rename(2)
 * is atomic), so a crash or a second login at the same moment leaves one
 * whole file, old or new, never a mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "box.h"

enum {
	AUTH_DIR_MODE = 0700,	/* containers/image makes the directory so */
	AUTH_FILE_MODE = 0600,	/* mkostemp(3) creates files so already */
};

/* base64("user:password"), the value podman and docker both write. */
static char *encode_auth(const char *username, const char *password)
{
	size_t len = strlen(username) + 1 + strlen(password);
	char *plain = malloc(len + 1);
	unsigned char *out = malloc(4 * (len / 3 + 1) + 1);

	if (!plain || !out) {
		free(plain);
		free(out);
		return NULL;
	}
	snprintf(plain, len + 1, "%s:%s", username, password);
	EVP_EncodeBlock(out, (const unsigned char *)plain, (int)len);
	OPENSSL_cleanse(plain, len);	/* the password leaves memory with the buffer */
	free(plain);
	return (char *)out;
}

/* The auth file as it is, or a new {"auths": {}} if there is none. A file that is not JSON is refused, not replaced. */
static json_t *read_auth_file(const char *path, struct failure *f)
{
	json_error_t err;
	json_t *doc;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return json_pack("{s:{}}", "auths");
	doc = json_load_file(path, 0, &err);
	if (!json_is_object(doc)) {
		json_decref(doc);
		errno = EINVAL;
		failed(f, "%s is not an auth file: %s", path, doc ? "not a JSON object" : err.text);
		return NULL;
	}
	if (!json_is_object(json_object_get(doc, "auths")))
		json_object_set_new(doc, "auths", json_object());
	return doc;
}

/* mkdir -p the file's directory; what is made is 0700, as containers/image makes it (MkdirAll(dir, 0700)). */
static int make_auth_dir(const char *path)
{
	char dir[PATH_MAX];

	if (format_into(dir, sizeof(dir), "%s", path) < 0)
		return -1;
	dirname(dir);
	for (char *slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(dir, AUTH_DIR_MODE) < 0 && errno != EEXIST)
			return -1;
		*slash = '/';
	}
	return mkdir(dir, AUTH_DIR_MODE) < 0 && errno != EEXIST ? -1 : 0;
}

/* Temp file, fsync, rename, fsync the directory: the new file whole, or the old one. */
static int replace_auth_file(const char *path, json_t *doc, struct failure *f)
{
	char temp[PATH_MAX], dir[PATH_MAX];
	FILE *out = NULL;
	int fd, dir_fd, ret = -1;

	if (make_auth_dir(path) < 0 || format_into(temp, sizeof(temp), "%s.XXXXXX", path) < 0 ||
	    (fd = mkostemp(temp, O_CLOEXEC)) < 0)
		return failed(f, "write %s", path);
	/* mkostemp makes it 0600 already; fchmod says so where the umask or a reader can see it. */
	if (fchmod(fd, AUTH_FILE_MODE) == 0 && (out = fdopen(fd, "w")) &&
	    json_dumpf(doc, out, JSON_INDENT(1) | JSON_SORT_KEYS) == 0 && fputc('\n', out) != EOF &&
	    fflush(out) == 0 && fsync(fd) == 0 && rename(temp, path) == 0)
		ret = 0;
	if (ret < 0) {
		failed(f, "write %s", temp);
		unlink(temp);
	}
	if (out)
		fclose(out);
	else
		close(fd);
	if (ret == 0 && format_into(dir, sizeof(dir), "%s", path) == 0 &&
	    (dir_fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dir_fd);	/* the rename survives a power cut too */
		close(dir_fd);
	}
	return ret;
}

/*
 * Is the password right? Ask the registry, as 'podman login' does: GET
 * /v2/, answer its challenge with these credentials (a token from the
 * realm for Bearer; the credentials themselves for Basic) and GET /v2/
 * again: 200 means they were accepted.
 */
int login_check(const char *domain, const char *username, const char *password, const struct registry_options *opt,
		struct failure *f)
{
	struct reference ref = { 0 };
	struct response resp = { .max = 64 * 1024 };
	struct registry r;
	char why[256];
	int ret;

	snprintf(ref.domain, sizeof(ref.domain), "%s", domain);	/* no repository: the token asks for no scope */
	if (registry_open(&r, &ref, opt, f) < 0)
		return -1;
	r.have_credentials = true;
	snprintf(r.credentials.username, sizeof(r.credentials.username), "%s", username);
	snprintf(r.credentials.password, sizeof(r.credentials.password), "%s", password);
	snprintf(r.credentials.file, sizeof(r.credentials.file), "the command line");
	ret = registry_ping(&r, f);
	if (ret == 0)
		ret = registry_get(&r, "/v2/", NULL, &resp, f);
	if (ret == 0 && resp.status != 200) {
		describe_status(&resp, why, sizeof(why));
		errno = EACCES;
		ret = failed(f, "%s refused the credentials for %s (%s)", r.base_url, username, why);
	}
	free_response(&resp);
	registry_close(&r);
	return ret;
}

/* "https://index.docker.io/v1/" or "127.0.0.1:5000/": the registry's key in the file. */
static int login_key(const char *registry, char *key, size_t size, struct failure *f)
{
	credential_key(registry, key, size);
	if (!key[0] || strchr(key, '/')) {
		errno = EINVAL;
		return failed(f, "\"%s\" is not a registry (host[:port])", registry);
	}
	return 0;
}

/* Remember username and password for registry in the auth file (path gets its name). */
int login_save(const char *registry, const char *username, const char *password, char *path, size_t size,
	       struct failure *f)
{
	char key[REF_NAME_MAX + 1];
	char *auth;
	json_t *doc;
	int ret;

	if (login_key(registry, key, sizeof(key), f) < 0)
		return -1;
	if (auth_file_path(path, size) < 0)
		return failed(f, "the auth file's path");
	doc = read_auth_file(path, f);
	if (!doc)
		return -1;
	auth = encode_auth(username, password);
	if (!auth) {
		json_decref(doc);
		return failed(f, "encode credentials");
	}
	json_object_set_new(json_object_get(doc, "auths"), key, json_pack("{s:s}", "auth", auth));
	OPENSSL_cleanse(auth, strlen(auth));
	free(auth);
	ret = replace_auth_file(path, doc, f);
	json_decref(doc);
	return ret;
}

/*
 * Forget the credentials for registry (all of them with all): the entry
 * leaves the file, the rest stays. ENOENT if there was none to forget.
 */
int logout_remove(const char *registry, bool all, char *path, size_t size, struct failure *f)
{
	char key[REF_NAME_MAX + 1];
	json_t *doc, *auths;
	int ret;

	if (!all && login_key(registry, key, sizeof(key), f) < 0)
		return -1;
	if (auth_file_path(path, size) < 0)
		return failed(f, "the auth file's path");
	doc = read_auth_file(path, f);
	if (!doc)
		return -1;
	auths = json_object_get(doc, "auths");
	if (all) {
		json_object_clear(auths);
	} else if (json_object_del(auths, key) < 0) {
		json_decref(doc);
		errno = ENOENT;
		return failed(f, "not logged in to %s (in %s)", key, path);
	}
	ret = replace_auth_file(path, doc, f);
	json_decref(doc);
	return ret;
}
