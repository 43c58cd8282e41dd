/*
 * box.h - what the files of this stage offer each other.
 *
 * Convention (see util.c): a function that can fail returns 0 or -1 with
 * errno set, and prints nothing; the caller that knows the context reports
 * the failure once, with fail().
 */
#ifndef BOX_H
#define BOX_H

#include <sys/types.h>

#include "spec.h"

/* Exit statuses, as docker and the shell use them. */
enum {
	EXIT_BOX_ERROR = 125,	/* box itself failed */
	EXIT_CANNOT_EXEC = 126,	/* the command exists but cannot be executed */
	EXIT_NOT_FOUND = 127,	/* the command does not exist */
	EXIT_SIGNAL_BASE = 128,	/* killed by signal N: 128 + N */
};

/* box.c: the command line */
enum command { CMD_HELP, CMD_RUN, CMD_RUN_HELP };
struct command_line {
	enum command command;
	struct container_spec spec;
};
int parse_command_line(int argc, char *argv[], struct command_line *cl);

/* run.c: the parent side */
int run_container(const struct container_spec *spec);
int exit_status_of(int wait_status);

/* child.c: the child side */
_Noreturn void child_main(const struct container_spec *spec);

/* util.c: reporting errors */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
