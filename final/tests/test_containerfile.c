/*
 * test_containerfile.c - reading a Containerfile: every instruction, the
 * line rules (continuations, comments, the escape directive), errors that
 * name FILE:LINE, and the expansion of $VARIABLES in words.
 */
#include "imageutil.h"

static struct containerfile parse_ok(const char *text)
{
	struct containerfile cf;
	struct failure f = { "" };

	if (parse_containerfile("Containerfile", text, &cf, &f) < 0)
		fail_msg("parse failed: %s", f.what);
	return cf;
}

/* The error a bad file gives: one line, naming the file and line. */
static const char *parse_error(const char *text)
{
	static struct failure f;
	struct containerfile cf;

	f.what[0] = '\0';
	assert_int_equal(parse_containerfile("ctx/Containerfile", text, &cf, &f), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(strchr(f.what, '\n'));
	return f.what;
}

static void test_every_instruction_is_read(void **state)
{
	struct containerfile cf = parse_ok(
		"FROM busybox AS build\n"
		"ARG VERSION=1.0\n"
		"RUN echo hi\n"
		"COPY --from=build --chown=1000:1000 --chmod=755 a b /dst/\n"
		"ADD --chown=app app.tar /opt/\n"
		"ENV A=1 B=\"two words\"\n"
		"WORKDIR /app\n"
		"USER app:staff\n"
		"CMD [\"sh\", \"-c\", \"echo $A\"]\n"
		"ENTRYPOINT /bin/entry\n"
		"EXPOSE 80 53/udp\n"
		"LABEL a=b \"c d\"=e\n"
		"VOLUME [\"/data\", \"/logs\"]\n"
		"STOPSIGNAL SIGKILL\n"
		"SHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\n");
	static const enum instruction_kind kinds[] = { INS_FROM, INS_ARG, INS_RUN, INS_COPY, INS_ADD, INS_ENV, INS_WORKDIR,
						       INS_USER, INS_CMD, INS_ENTRYPOINT, INS_EXPOSE, INS_LABEL, INS_VOLUME,
						       INS_STOPSIGNAL, INS_SHELL };

	(void)state;
	assert_int_equal(cf.count, 15);
	for (size_t i = 0; i < cf.count; i++) {
		assert_int_equal(cf.instructions[i].kind, kinds[i]);
		assert_int_equal(cf.instructions[i].line, (int)i + 1);
	}
	assert_string_equal(cf.instructions[0].argv[2], "build");
	assert_string_equal(instruction_flag(&cf.instructions[3], "from"), "build");
	assert_string_equal(instruction_flag(&cf.instructions[3], "chown"), "1000:1000");
	assert_string_equal(instruction_flag(&cf.instructions[3], "chmod"), "755");
	assert_int_equal(cf.instructions[3].argc, 3);
	assert_string_equal(cf.instructions[5].argv[1], "B=\"two words\"");	/* quotes kept until expansion */
	assert_true(cf.instructions[8].json);
	assert_int_equal(cf.instructions[8].argc, 3);
	assert_false(cf.instructions[9].json);
	assert_string_equal(cf.instructions[9].args, "/bin/entry");
	assert_string_equal(cf.instructions[11].argv[1], "\"c d\"=e");
	assert_true(cf.instructions[12].json);
	assert_string_equal(cf.instructions[14].argv[3], "-c");
	free_containerfile(&cf);
}

static void test_keywords_in_any_case_and_text_kept_for_progress(void **state)
{
	struct containerfile cf = parse_ok("from busybox\n  run   echo   hi  \n");

	(void)state;
	assert_int_equal(cf.instructions[1].kind, INS_RUN);
	assert_string_equal(cf.instructions[1].name, "RUN");
	assert_string_equal(cf.instructions[1].text, "run   echo   hi  ");
	assert_string_equal(cf.instructions[1].args, "echo   hi");
	free_containerfile(&cf);
}

static void test_continuations_join_lines_and_skip_comments_between(void **state)
{
	struct containerfile cf = parse_ok("FROM busybox\n"
					   "# a comment\n"
					   "\n"
					   "RUN echo one && \\\n"
					   "# not part of the command\n"
					   "    echo two \\  \n"
					   "\n"
					   "    && echo three\n"
					   "CMD x\n");

	(void)state;
	assert_int_equal(cf.count, 3);
	assert_string_equal(cf.instructions[1].args, "echo one &&     echo two     && echo three");
	assert_int_equal(cf.instructions[1].line, 4);
	assert_int_equal(cf.instructions[2].line, 9);
	free_containerfile(&cf);
}

static void test_escape_directive_makes_backtick_the_escape(void **state)
{
	struct containerfile cf = parse_ok("# escape=`\n"
					   "FROM busybox\n"
					   "COPY c:\\dir\\file `\n"
					   "     /dst\n");
	struct vars v = { 0 };
	char **words;
	size_t n;
	struct failure f;

	(void)state;
	assert_int_equal(cf.escape, '`');
	assert_string_equal(cf.instructions[1].args, "c:\\dir\\file      /dst");
	assert_int_equal(expand_words(cf.instructions[1].args, cf.escape, &v, &words, &n, &f), 0);
	assert_int_equal(n, 2);
	assert_string_equal(words[0], "c:\\dir\\file");	/* backslashes are plain characters now */
	free_words(words);
	free_containerfile(&cf);
}

static void test_directives_only_at_the_top(void **state)
{
	struct containerfile cf = parse_ok("# syntax=docker/dockerfile:1\n"
					   "# a comment ends the directives\n"
					   "# escape=`\n"
					   "FROM busybox\n");

	(void)state;
	assert_int_equal(cf.escape, '\\');
	free_containerfile(&cf);
}

static void test_a_bracket_that_is_not_a_json_list_is_shell_form(void **state)
{
	struct containerfile cf = parse_ok("FROM busybox\nRUN [ -f /etc/passwd ] && echo yes\nCMD [\"a\", 1]\n");

	(void)state;
	assert_false(cf.instructions[1].json);
	assert_false(cf.instructions[2].json);	/* a number in the list: docker runs it through the shell too */
	free_containerfile(&cf);
}

static void test_errors_name_file_and_line(void **state)
{
	(void)state;
	assert_string_equal(parse_error("FROM busybox\n\nFROBNICATE x\n"), "ctx/Containerfile:3: unknown instruction: FROBNICATE");
	assert_string_equal(parse_error("FROM busybox\nCOPY onlyone\n"),
			    "ctx/Containerfile:2: COPY needs a source and a destination");
	assert_string_equal(parse_error("RUN echo\nFROM busybox\n"),
			    "ctx/Containerfile:1: RUN before any FROM: a build starts with FROM");
	assert_string_equal(parse_error("FROM busybox\nENV A=\"open\n"), "ctx/Containerfile:2: ENV: a quote is not closed");
	assert_string_equal(parse_error("FROM busybox\nCOPY --link a b\n"),
			    "ctx/Containerfile:2: COPY does not take the flag --link");
	assert_string_equal(parse_error("FROM busybox\nCOPY --from a b\n"),
			    "ctx/Containerfile:2: COPY: --from needs a value (--from=VALUE)");
	assert_string_equal(parse_error("FROM busybox\nSHELL /bin/sh -c\n"),
			    "ctx/Containerfile:2: SHELL needs a JSON array, like [\"/bin/sh\", \"-c\"]");
	assert_string_equal(parse_error("FROM busybox as\n"), "ctx/Containerfile:1: FROM takes an image and optionally AS name");
	assert_string_equal(parse_error("FROM busybox\nENV A\n"), "ctx/Containerfile:2: ENV A: it must be ENV name=value");
	assert_string_equal(parse_error("FROM busybox\nLABEL a=b c\n"),
			    "ctx/Containerfile:2: LABEL: \"c\" must be of the form name=value");
	assert_string_equal(parse_error("FROM busybox\nHEALTHCHECK CMD true\n"),
			    "ctx/Containerfile:2: HEALTHCHECK is not supported by box");
	assert_string_equal(parse_error("FROM busybox\nWORKDIR\n"), "ctx/Containerfile:2: WORKDIR needs an argument");
	assert_string_equal(parse_error("# escape=x\nFROM busybox\n"),
			    "ctx/Containerfile:1: invalid escape token 'x': it must be ` or \\");
	assert_string_equal(parse_error("# only a comment\n"), "ctx/Containerfile: no FROM instruction: nothing to build");
}

static void test_arg_before_from_is_allowed(void **state)
{
	struct containerfile cf = parse_ok("ARG BASE=busybox\nFROM $BASE\n");

	(void)state;
	assert_int_equal(cf.instructions[0].kind, INS_ARG);
	free_containerfile(&cf);
}

static void test_a_change_line_is_one_instruction(void **state)
{
	struct instruction ins;
	struct failure f;

	(void)state;
	assert_int_equal(parse_instruction("--change", 1, "CMD [\"sh\"]", '\\', &ins, &f), 0);
	assert_int_equal(ins.kind, INS_CMD);
	assert_true(ins.json);
	free_instruction(&ins);
	assert_int_equal(parse_instruction("--change", 1, "NOPE x", '\\', &ins, &f), -1);
	assert_string_equal(f.what, "--change:1: unknown instruction: NOPE");
	free_instruction(&ins);
}

/* ---- expansion ---- */

static char *expand(const char *text, struct vars *v)
{
	static char buf[1024];
	struct failure f;
	char *out;

	if (expand_word(text, '\\', v, &out, &f) < 0)
		fail_msg("expand %s: %s", text, f.what);
	snprintf(buf, sizeof(buf), "%s", out);
	free(out);
	return buf;
}

static void test_variables_expand_in_their_forms(void **state)
{
	struct vars v = { 0 };

	(void)state;
	vars_set(&v, "A", "apple");
	vars_set(&v, "EMPTY", "");
	assert_string_equal(expand("$A ${A}s", &v), "apple apples");
	assert_string_equal(expand("${UNSET:-dflt} ${EMPTY:-dflt} ${EMPTY-dflt}|", &v), "dflt dflt |");
	assert_string_equal(expand("${A:+set} ${UNSET:+set}|", &v), "set |");
	assert_string_equal(expand("${UNSET:-$A}", &v), "apple");
	assert_string_equal(expand("cost: $5 and $", &v), "cost: $5 and $");
	assert_string_equal(expand("$UNSET|", &v), "|");
	vars_set(&v, "A", "banana");	/* a later set wins */
	assert_string_equal(expand("$A", &v), "banana");
	vars_free(&v);
}

static void test_quotes_and_escapes(void **state)
{
	struct vars v = { 0 };

	(void)state;
	vars_set(&v, "A", "x");
	assert_string_equal(expand("'$A' \"$A\" \\$A", &v), "$A x $A");
	assert_string_equal(expand("\"a \\\"quoted\\\" \\n\"", &v), "a \"quoted\" \\n");
	assert_string_equal(expand("it\\'s", &v), "it's");
	vars_free(&v);
}

static void test_required_variable_missing_is_an_error(void **state)
{
	struct vars v = { 0 };
	struct failure f;
	char *out;

	(void)state;
	assert_int_equal(expand_word("${NAME:?set NAME please}", '\\', &v, &out, &f), -1);
	assert_string_equal(f.what, "NAME: set NAME please");
	assert_int_equal(expand_word("${A:-unclosed", '\\', &v, &out, &f), -1);
	assert_int_equal(expand_word("'unclosed", '\\', &v, &out, &f), -1);
	assert_int_equal(expand_word("${A:=x}", '\\', &v, &out, &f), -1);
}

static void test_words_split_at_unquoted_blanks_also_from_values(void **state)
{
	struct vars v = { 0 };
	struct failure f;
	char **words;
	size_t n;

	(void)state;
	vars_set(&v, "FILES", "a.txt  b.txt");
	vars_set(&v, "EMPTY", "");
	assert_int_equal(expand_words("$FILES \"c d.txt\" $EMPTY \"\" /dst/", '\\', &v, &words, &n, &f), 0);
	assert_int_equal(n, 5);
	assert_string_equal(words[0], "a.txt");
	assert_string_equal(words[1], "b.txt");
	assert_string_equal(words[2], "c d.txt");
	assert_string_equal(words[3], "");	/* "" is a word; an empty $EMPTY is not */
	assert_string_equal(words[4], "/dst/");
	free_words(words);
	assert_int_equal(expand_words("\"$FILES\"", '\\', &v, &words, &n, &f), 0);
	assert_int_equal(n, 1);
	assert_string_equal(words[0], "a.txt  b.txt");
	free_words(words);
	vars_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_instruction_is_read),
		cmocka_unit_test(test_keywords_in_any_case_and_text_kept_for_progress),
		cmocka_unit_test(test_continuations_join_lines_and_skip_comments_between),
		cmocka_unit_test(test_escape_directive_makes_backtick_the_escape),
		cmocka_unit_test(test_directives_only_at_the_top),
		cmocka_unit_test(test_a_bracket_that_is_not_a_json_list_is_shell_form),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_arg_before_from_is_allowed),
		cmocka_unit_test(test_a_change_line_is_one_instruction),
		cmocka_unit_test(test_variables_expand_in_their_forms),
		cmocka_unit_test(test_quotes_and_escapes),
		cmocka_unit_test(test_required_variable_missing_is_an_error),
		cmocka_unit_test(test_words_split_at_unquoted_blanks_also_from_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
