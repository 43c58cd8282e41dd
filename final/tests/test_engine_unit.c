/*
 * test_engine_unit.c - final: the engine's pure logic, no root needed:
 * names, the flags box run gained, and records found by name, id or prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* box.h first: cmocka.h (from boxtest.h) defines macros named fail and fail_msg. */
#include "box.h"
#include "engine.h"
#include "boxtest.h"

static int parse(struct command_line *cl, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return parse_command_line(argc, argv, cl);
}

static void test_container_names_follow_dockers_rule(void **state)
{
	(void)state;
	assert_true(is_container_name("web"));
	assert_true(is_container_name("a1_b.c-d"));
	assert_false(is_container_name(""));
	assert_false(is_container_name("-web"));
	assert_false(is_container_name("../x"));
	assert_false(is_container_name("a/b"));
}

static void test_engine_flags_are_parsed(void **state)
{
	static struct command_line cl;
	char *argv[] = { "box", "--root", "/r", "run", "-d", "-i", "-t", "--rm", "--name", "web", "-e", "A=1", "-w",
			 "/w", "-u", "1:2", "--init", "--pull", "never", "-P", "--add-host", "db:10.0.0.9", "--dns",
			 "9.9.9.9", "-v", "data:/var/lib/x:ro", "--mount", "type=tmpfs,target=/t,tmpfs-size=1m", "img",
			 NULL };

	(void)state;
	assert_int_equal(parse(&cl, argv), 0);
	assert_true(cl.run.engine && cl.run.detach && cl.run.interactive && cl.run.tty && cl.run.remove);
	assert_string_equal(cl.run.name, "web");
	assert_int_equal(cl.run.nenv, 1);
	assert_string_equal(cl.spec.workdir_flag, "/w");
	assert_string_equal(cl.spec.user_flag, "1:2");
	assert_true(cl.spec.init && cl.spec.publish_all);
	assert_string_equal(cl.pull.policy, "never");
	assert_string_equal(cl.spec.add_hosts[0], "db:10.0.0.9");
	assert_string_equal(cl.spec.dns[0], "9.9.9.9");
	assert_int_equal(cl.spec.nvolumes, 1);
	assert_string_equal(cl.spec.volumes[0].volume_name, "data");
	assert_string_equal(cl.spec.volumes[0].source, "/r/volumes/data/_data");
	assert_string_equal(cl.spec.volumes[0].destination, "/var/lib/x");
	assert_true(cl.spec.volumes[0].read_only);
	assert_int_equal(cl.spec.ntmpfs, 1);
	assert_string_equal(cl.spec.tmpfs[0].destination, "/t");
	assert_string_equal(cl.spec.image, "img");
}

static void test_bad_engine_flags_are_refused(void **state)
{
	static struct command_line cl;
	char *cases[][3] = { { "--name", "a/b", NULL }, { "--pull", "sometimes", NULL }, { "-w", "relative", NULL },
			     { "--add-host", "db", NULL }, { "--dns", "nine", NULL }, { "--mount", "type=nfs,target=/x", NULL },
			     { "--mount", "type=bind,source=rel,target=/x", NULL }, { "-v", "a/b:/x", NULL } };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "box", "run", cases[i][0], cases[i][1], "img", NULL };

		if (parse(&cl, argv) == 0)
			fail_msg("box run %s %s was accepted", cases[i][0], cases[i][1]);
	}
}

/* Records: created with unique names, found by name, by any unique prefix of the id, never by an ambiguous one. */
static void test_containers_are_found_by_name_and_unique_prefix(void **state)
{
	char root[] = "/tmp/box-engine-unit.XXXXXX", cmd[128];
	struct run_flags flags = { 0 };
	struct container a, b, found;
	struct failure f;
	char *words[] = { "img", NULL };

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(container_create(root, "first", "img", 1, words, &flags, &a, &f), 0);
	assert_int_equal(strlen(a.id), 64);
	assert_int_not_equal(container_create(root, "first", "img", 1, words, &flags, &b, &f), 0);
	assert_non_null(strstr(f.what, "already in use"));
	assert_int_equal(container_create(root, NULL, "img", 1, words, &flags, &b, &f), 0);
	assert_int_equal(container_find(root, "first", &found, &f), 0);
	assert_string_equal(found.id, a.id);
	container_free(&found);
	char prefix[13];
	snprintf(prefix, sizeof(prefix), "%.12s", b.id);
	assert_int_equal(container_find(root, prefix, &found, &f), 0);
	assert_string_equal(found.id, b.id);
	container_free(&found);
	assert_int_not_equal(container_find(root, "zz", &found, &f), 0);
	assert_non_null(strstr(f.what, "no such container"));
	/* The empty prefix matches both: never taken as one of them. */
	assert_int_not_equal(container_find(root, "", &found, &f), 0);
	assert_int_equal(container_destroy(root, &a), 0);
	assert_int_not_equal(container_find(root, "first", &found, &f), 0);
	container_free(&a);
	container_free(&b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

/*
 * make install PREFIX=DIR puts box, the box-oci link, box-monitor and
 * box-init side by side (box finds its helpers beside itself), the man
 * pages and the completion; what it installed works from there; make
 * uninstall takes every file away again.
 */
static void test_make_install_and_uninstall(void **state)
{
	char prefix[] = "/tmp/box-install.XXXXXX", cmd[512];
	static const char *const files[] = { "bin/box", "bin/box-oci", "bin/box-monitor", "bin/box-init",
					     "share/man/man1/box.1", "share/man/man8/box-oci.8",
					     "share/bash-completion/completions/box" };

	(void)state;
	assert_non_null(mkdtemp(prefix));
	host_sh("make -s install PREFIX=%s >/dev/null", prefix);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s/%s", prefix, files[i]);
		if (access(cmd, F_OK) != 0)
			fail_msg("make install did not install %s", cmd);
	}
	host_sh("%s/bin/box-oci --help | grep -q 'box-oci'", prefix);
	host_sh("%s/bin/box version >/dev/null", prefix);
	host_sh("man -l %s/share/man/man1/box.1 2>/dev/null | grep -q 'daemonless' || "
		"grep -q daemonless %s/share/man/man1/box.1", prefix, prefix);
	host_sh("bash -c '. %s/share/bash-completion/completions/box && complete -p box'", prefix);
	host_sh("make -s uninstall PREFIX=%s", prefix);
	host_sh("test -z \"$(find %s -type f -o -type l)\"", prefix);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", prefix);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_names_follow_dockers_rule),
		cmocka_unit_test(test_engine_flags_are_parsed),
		cmocka_unit_test(test_bad_engine_flags_are_refused),
		cmocka_unit_test(test_containers_are_found_by_name_and_unique_prefix),
		cmocka_unit_test(test_make_install_and_uninstall),
	};

	select_tests();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
