/*
 * test_ignore.c - .containerignore / .dockerignore patterns, docker's rules.
 */
#include "imageutil.h"

static bool excluded(const char *patterns, const char *path)
{
	struct ignore ig;
	bool result;

	assert_int_equal(parse_ignore(patterns, &ig), 0);
	result = ignore_matches(&ig, path);
	free_ignore(&ig);
	return result;
}

static void test_star_matches_within_one_component(void **state)
{
	(void)state;
	assert_true(excluded("*.o\n", "main.o"));
	assert_false(excluded("*.o\n", "src/main.o"));
	assert_true(excluded("src/*.o\n", "src/main.o"));
	assert_true(excluded("*\n", ".hidden"));	/* Go's filepath.Match: * matches a leading dot */
	assert_true(excluded("file?.txt\n", "file1.txt"));
	assert_false(excluded("file?.txt\n", "file10.txt"));
	assert_true(excluded("[ab].txt\n", "b.txt"));
}

static void test_double_star_matches_any_depth_even_none(void **state)
{
	(void)state;
	assert_true(excluded("**/*.tmp\n", "a.tmp"));
	assert_true(excluded("**/*.tmp\n", "x/y/z/a.tmp"));
	assert_true(excluded("docs/**/draft\n", "docs/draft"));
	assert_true(excluded("docs/**/draft\n", "docs/a/b/draft"));
	assert_false(excluded("docs/**/draft\n", "other/draft"));
	assert_true(excluded("**\n", "anything/at/all"));
}

static void test_a_directory_excludes_what_it_holds(void **state)
{
	(void)state;
	assert_true(excluded("node_modules\n", "node_modules/x/y.js"));
	assert_true(excluded("build/\n", "build/out.bin"));
	assert_false(excluded("build\n", "builder/x"));
}

static void test_the_last_matching_rule_wins_and_bang_takes_back(void **state)
{
	(void)state;
	assert_false(excluded("docs\n!docs/README.md\n", "docs/README.md"));
	assert_true(excluded("docs\n!docs/README.md\n", "docs/other.md"));
	assert_true(excluded("!docs/README.md\ndocs\n", "docs/README.md"));
	assert_false(excluded("*.md\n!README.md\n", "README.md"));
	assert_true(excluded("*.md\n!README.md\n", "CHANGES.md"));
}

static void test_lines_are_trimmed_and_cleaned(void **state)
{
	(void)state;
	assert_true(excluded("  # a comment\n\n   /secret.txt  \n", "secret.txt"));
	assert_false(excluded("# secret.txt\n", "secret.txt"));
	assert_true(excluded("./a//b/\n", "a/b"));
	assert_true(excluded("a/../b\n", "b"));
	assert_true(excluded("x\r\n", "x"));	/* a file written on Windows */
	assert_false(excluded(".\n", "anything"));
}

static void test_the_ignore_file_is_found_in_the_context(void **state)
{
	char dir[PATH_MAX], used[64];
	struct ignore ig;
	struct failure f;
	int fd;

	(void)state;
	make_scratch(dir, sizeof(dir), "ignore");
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(read_ignore_file(fd, &ig, used, sizeof(used), &f), 0);
	assert_int_equal(ig.count, 0);
	assert_string_equal(used, "");
	put_file(dir, ".dockerignore", "a\n");
	assert_int_equal(read_ignore_file(fd, &ig, used, sizeof(used), &f), 0);
	assert_string_equal(used, ".dockerignore");
	free_ignore(&ig);
	put_file(dir, ".containerignore", "b\nc\n");	/* buildah reads this one first */
	assert_int_equal(read_ignore_file(fd, &ig, used, sizeof(used), &f), 0);
	assert_string_equal(used, ".containerignore");
	assert_int_equal(ig.count, 2);
	assert_true(ignore_matches(&ig, "b"));
	assert_false(ignore_matches(&ig, "a"));
	free_ignore(&ig);
	close(fd);
	remove_scratch(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_star_matches_within_one_component),
		cmocka_unit_test(test_double_star_matches_any_depth_even_none),
		cmocka_unit_test(test_a_directory_excludes_what_it_holds),
		cmocka_unit_test(test_the_last_matching_rule_wins_and_bang_takes_back),
		cmocka_unit_test(test_lines_are_trimmed_and_cleaned),
		cmocka_unit_test(test_the_ignore_file_is_found_in_the_context),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
