/*
 * imagetest.h - what the registry tests share: a local registry (testkit/
 * registry) with the test images (testkit/mkimages.sh), misbehaving
 * proxies in front of it (testkit/regproxy.py), and checks of a store.
 *
 * The registry, its token service and the proxies keep their pid files in
 * services/ of the test program's scratch directory: the clean-host check
 * knows them as services, not leftovers. Group setup starts them, group
 * teardown stops them (testkit/registry stop kills exactly those pids).
 */
#ifndef IMAGETEST_H
#define IMAGETEST_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boxtest.h"

/* The host directory the hostile images aim at (mkimages.sh's default --marker). */
static const char marker_dir[] = "/tmp/box-test-marker";

static char registry[64];		/* 127.0.0.1:PORT */
static char services[PATH_MAX];	/* where its files and pid files are */

/* The value of NAME in services/env (shell syntax, written by testkit/registry). */
static inline const char *registry_env(const char *name, char *buf, size_t size)
{
	char path[PATH_MAX + 8], text[4096];
	size_t len = strlen(name);

	snprintf(path, sizeof(path), "%s/env", services);
	buf[0] = '\0';
	if (!read_text(path, text, sizeof(text)))
		return buf;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, name, len) == 0 && line[len] == '=')
			snprintf(buf, size, "%s", line + len + 1);
	}
	return buf;
}

/* Group setup: the scratch dir (testkit_setup), then the registry with flags, and repos pushed to it. */
static inline int start_registry(void **state, const char *flags, const char *repos)
{
	char cmd[4 * PATH_MAX];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct run r;

	if (testkit_setup(state) < 0 || !is_root())
		return 0;	/* not root: every test skips itself */
	snprintf(services, sizeof(services), "%s/services", test_dir());
	snprintf(cmd, sizeof(cmd), "%s/registry start %s %s && . %s/env && "
		 "%s/mkimages.sh ${REGISTRY_USER:+--creds \"$REGISTRY_USER:$REGISTRY_PASSWORD\"} --only %s $REGISTRY >/dev/null",
		 TESTKIT_DIR, services, flags, services, TESTKIT_DIR, repos);
	r = run_argv(argv);
	if (r.status != 0) {
		print_error("starting the registry failed (%d): %s\n%s", r.status, r.out, r.err);
		return -1;
	}
	registry_env("REGISTRY", registry, sizeof(registry));
	return 0;
}

static inline int stop_registry(void **state)
{
	char *argv[] = { TESTKIT_DIR "/registry", "stop", services, NULL };

	if (services[0] && run_argv(argv).status != 0)
		print_error("testkit/registry stop %s failed\n", services);
	return testkit_cleanup(state);
}

/* A proxy in MODE in front of the registry (extra: "--digest D", "--rate N"...); its host:port goes to buf. */
static inline const char *start_proxy(const char *mode, const char *name, const char *extra, char *buf, size_t size)
{
	char cmd[4 * PATH_MAX];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct run r;

	snprintf(cmd, sizeof(cmd), "%s/registry proxy %s %s --name %s %s", TESTKIT_DIR, services, mode, name, extra);
	r = run_argv(argv);
	assert_status(&r, 0);
	snprintf(buf, size, "%.*s", (int)strcspn(r.out, "\n"), r.out);
	return buf;
}

/* "HOST/box-test/REPO": one of mkimages.sh's images, through host (the registry or a proxy). */
static inline const char *image_ref(char *buf, size_t size, const char *host, const char *repo)
{
	snprintf(buf, size, "%s/box-test/%s", host, repo);
	return buf;
}

/* A box root of its own for one test: a store nobody else has filled. */
static inline const char *fresh_root(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/roots/%s", test_dir(), name);
	return buf;
}

/* How many entries dir has (0 if it does not exist). */
static inline int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

static inline int count_in_store(const char *root, const char *sub)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", root, sub);
	return count_entries(path);
}

/*
 * Nothing half-made is visible in the store: every blob hashes to its
 * name, every layer directory is whole (diff/ and layer.json), tmp/ is empty.
 */
static inline void assert_store_sound(const char *root)
{
	host_sh("cd %s/blobs/sha256 && for f in *; do [ -e \"$f\" ] || continue; "
		"[ \"$(sha256sum < \"$f\" | cut -d' ' -f1)\" = \"$f\" ] || { echo \"blob $f: wrong content\" >&2; exit 1; }; done; "
		"for d in %s/layers/sha256/*; do [ -e \"$d\" ] || continue; "
		"[ -d \"$d/diff\" ] && [ -f \"$d/layer.json\" ] || { echo \"layer $d: not whole\" >&2; exit 1; }; done; "
		"[ -z \"$(ls -A %s/tmp)\" ] || { echo 'tmp/ is not empty' >&2; exit 1; }", root, root, root);
}

/* Is digest's blob in the store? */
static inline int has_blob(const char *root, const char *digest)
{
	char path[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", root, digest + strlen("sha256:"));
	return access(path, F_OK) == 0;
}

/* How many lines of a log hold every one of the words (NULL-terminated). */
static inline int count_lines(const char *path, const char *word, ...)
{
	char line[4096];
	const char *words[8];
	int n = 0, nwords = 0;
	FILE *f = fopen(path, "r");
	va_list ap;

	va_start(ap, word);
	for (const char *w = word; w && nwords < 8; w = va_arg(ap, const char *))
		words[nwords++] = w;
	va_end(ap);
	while (f && fgets(line, sizeof(line), f)) {
		bool all = true;

		for (int i = 0; i < nwords; i++)
			all = all && strstr(line, words[i]);
		n += all;
	}
	if (f)
		fclose(f);
	return n;
}

/* The error box printed is one line, and says what. */
static inline void assert_one_line_saying(const struct run *r, const char *what)
{
	const char *nl = strchr(r->err, '\n');

	if (!nl || nl[1] != '\0' || !strstr(r->err, what))
		fail_msg("expected one line of stderr saying \"%s\"; got:\n%s", what, r->err);
}

#endif
