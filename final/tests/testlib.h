/*
 * testlib.h - small helpers the test programs share.
 */
#ifndef BOX_TESTLIB_H
#define BOX_TESTLIB_H

/* box.h first: cmocka.h defines a macro fail() that would replace box's. */
#include "box.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A JSON file of tests/data, as a jansson tree to change. */
static inline json_t *load_data(const char *name)
{
	char path[PATH_MAX];
	json_error_t err;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	j = json_load_file(path, 0, &err);
	if (!j)
		fail_msg("load %s: %s", path, err.text);
	return j;
}

/* Parse a tree (consumed) as config.json text; returns what oci_parse_string returns. */
static inline int parse_tree(json_t *tree, struct oci_config *cfg, struct failure *f)
{
	char *text = json_dumps(tree, 0);
	int ret;

	json_decref(tree);
	assert_non_null(text);
	ret = oci_parse_string(text, cfg, f);
	free(text);
	return ret;
}

/* Set a value (consumed) at a dotted path below the top: "process.user.uid". */
static inline void set_at(json_t *top, const char *path, json_t *value)
{
	char buf[256], *save = NULL, *key, *next;
	json_t *obj = top;

	snprintf(buf, sizeof(buf), "%s", path);
	key = strtok_r(buf, ".", &save);
	while ((next = strtok_r(NULL, ".", &save)) != NULL) {
		json_t *child = json_object_get(obj, key);

		if (!child) {
			child = json_object();
			json_object_set_new(obj, key, child);
		}
		obj = child;
		key = next;
	}
	if (value)
		json_object_set_new(obj, key, value);
	else
		json_object_del(obj, key);
}

/* runc spec's config.json with one change, parsed: the failure, or NULL on success. */
static inline int parse_runc_spec_with(const char *path, json_t *value, struct oci_config *cfg,
				       struct failure *f)
{
	json_t *top = load_data("runc-spec.json");

	assert_non_null(top);
	set_at(top, path, value);
	return parse_tree(top, cfg, f);
}

/* Run argv, wait; the wait status. */
static inline int run_wait(char *const argv[])
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return status;
}

static inline bool is_root(void)
{
	return geteuid() == 0;
}

#endif
