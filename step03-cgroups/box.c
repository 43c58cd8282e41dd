/*
 * box.c - the command line: parse it, then hand over to the command.
 *
 *     box run ROOTFS CMD [ARG...]
 *     box info
 *
 * Every box error exits with status 125 (as docker does), so a caller can
 * tell "box failed" from "the command failed" (its own status, passed on).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "box.h"

static const char usage_text[] =
	"Usage: box COMMAND [OPTIONS]\n"
	"\n"
	"box runs a command in a container, built one kernel mechanism at a time.\n"
	"This is step 3: namespaces give the command its own view of the system,\n"
	"and a cgroup limits the memory, CPU and processes it may use.\n"
	"\n"
	"Commands:\n"
	"  run ROOTFS CMD [ARG...]   run CMD with ROOTFS as its root directory\n"
	"  info                      show how this host's cgroups are set up\n"
	"\n"
	"Run 'box COMMAND --help' for more about a command.\n";

static const char run_usage_text[] =
	"Usage: box run [OPTIONS] ROOTFS CMD [ARG...]\n"
	"\n"
	"Run CMD inside ROOTFS, a directory holding a root filesystem, and exit\n"
	"with CMD's exit status (128+N if a signal N killed it).\n"
	"\n"
	"Options:\n"
	"      --hostname NAME       hostname inside (default: the container id)\n"
	"      --cidfile FILE        write the container id to FILE (which must not exist)\n"
	"      --userns[=UID:COUNT]  run in a user namespace: root inside is host\n"
	"                            UID (default: root's range in /etc/subuid and\n"
	"                            /etc/subgid, else 100000:65536)\n"
	"  -m, --memory SIZE         memory limit, like 64m or 1g (units b, k, m, g;\n"
	"                            at least 6m); no swap beyond it\n"
	"      --cpus N              CPU limit, like 0.5 for half a CPU\n"
	"      --pids-limit N        at most N processes at once\n"
	"  -h, --help                show this help\n";

static const char info_usage_text[] =
	"Usage: box info\n"
	"\n"
	"Show how this host's cgroups are set up: v1, v2 or hybrid, and the\n"
	"hierarchies box uses for its limits.\n";

enum { OPT_HOSTNAME = 256, OPT_CIDFILE, OPT_USERNS, OPT_CPUS, OPT_PIDS_LIMIT };

static const struct option run_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "cidfile", required_argument, NULL, OPT_CIDFILE },
	{ "userns", optional_argument, NULL, OPT_USERNS },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
	{ NULL, 0, NULL, 0 },
};

/* Report a flag getopt_long(3) did not accept: unknown, or missing its value. */
static int bad_flag(const char *command, int opt, const char *flag)
{
	if (opt == ':')
		return fail_msg("%s: flag %s needs a value (see 'box %s --help')", command, flag, command);
	return fail_msg("%s: unknown flag %s (see 'box %s --help')", command, flag, command);
}

/* --userns or --userns=UID:COUNT (the same range for uids and gids). */
static int parse_userns(const char *value, struct container_spec *spec)
{
	spec->userns = true;
	if (!value)
		return 0;
	if (parse_id_range(value, &spec->uids) < 0)
		return fail_msg("run: --userns=%s: expected UID:COUNT, like 100000:65536", value);
	spec->gids = spec->uids;
	spec->userns_given = true;
	return 0;
}

/* Report a limit flag whose value parse_memory, parse_cpus or parse_pids_limit refused. */
static int bad_limit(const char *flag, const char *value, const char *expected, const char *range)
{
	if (errno == ERANGE)
		return fail_msg("run: %s %s: out of range (%s)", flag, value, range);
	return fail_msg("run: %s %s: expected %s", flag, value, expected);
}

/* -m, --cpus or --pids-limit: one of the cgroup limits. */
static int parse_limit(int opt, const char *value, struct container_spec *spec)
{
	if (opt == 'm' && parse_memory(value, &spec->memory_bytes) < 0)
		return bad_limit("--memory", value, "a size like 64m or 1g", "at least 6m");
	if (opt == OPT_CPUS && parse_cpus(value, &spec->cpu_millis) < 0)
		return bad_limit("--cpus", value, "a number like 0.5", "from 0.01 to the number of CPUs of this machine");
	if (opt == OPT_PIDS_LIMIT && parse_pids_limit(value, &spec->pids_max) < 0)
		return bad_limit("--pids-limit", value, "a whole number like 32", "from 1 to 4194304");
	return 0;
}

/* box run [OPTIONS] ROOTFS CMD [ARG...]; argv[0] is "run". */
static int parse_run(int argc, char *argv[], struct command_line *cl)
{
	struct id_range range;
	int opt;

	/*
	 * getopt(3): optind = 0 makes glibc start afresh, so parsing can run more than
	 * once (the unit tests do). "+" stops at the first non-flag: flags after ROOTFS
	 * belong to CMD ("box run rootfs ls -l"). ":" reports a missing value as ':'.
	 */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:hm:", run_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			cl->command = CMD_RUN_HELP;
			return 0;
		case OPT_HOSTNAME:
			if (check_hostname(optarg) < 0)
				return fail_msg("run: --hostname '%s': must be 1 to 64 characters", optarg);
			cl->spec.hostname = optarg;
			break;
		case OPT_CIDFILE:
			cl->spec.cidfile = optarg;
			break;
		case OPT_USERNS:
			if (parse_userns(optarg, &cl->spec) < 0)
				return -1;
			break;
		case 'm':
		case OPT_CPUS:
		case OPT_PIDS_LIMIT:
			if (parse_limit(opt, optarg, &cl->spec) < 0)
				return -1;
			break;
		default:
			return bad_flag("run", opt, argv[optind - 1]);
		}
	}
	if (argc - optind < 2)
		return fail_msg("run: needs ROOTFS and CMD (see 'box run --help')");
	/* getopt(3) takes an optional value only after '=': "--userns 1:2" leaves "1:2" as ROOTFS. */
	if (cl->spec.userns && !cl->spec.userns_given && parse_id_range(argv[optind], &range) == 0)
		return fail_msg("run: --userns takes its range with '=': --userns=%s", argv[optind]);
	cl->command = CMD_RUN;
	cl->spec.rootfs = argv[optind];
	cl->spec.argv = &argv[optind + 1];
	return 0;
}

/* box info [--help]; argv[0] is "info". */
static int parse_info(int argc, char *argv[], struct command_line *cl)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		cl->command = CMD_INFO_HELP;
		return 0;
	}
	if (argc > 1)
		return fail_msg("info: takes no arguments (see 'box info --help')");
	cl->command = CMD_INFO;
	return 0;
}

/* Fill cl from the command line; on a bad command line print one line and return -1. */
int parse_command_line(int argc, char *argv[], struct command_line *cl)
{
	memset(cl, 0, sizeof(*cl));
	if (argc < 2)
		return fail_msg("no command given (see 'box --help')");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		cl->command = CMD_HELP;
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return parse_run(argc - 1, argv + 1, cl);
	if (strcmp(argv[1], "info") == 0)
		return parse_info(argc - 1, argv + 1, cl);
	return fail_msg("unknown command '%s' (see 'box --help')", argv[1]);
}

int main(int argc, char *argv[])
{
	struct command_line cl;
	struct failure f;
	int status;

	if (parse_command_line(argc, argv, &cl) < 0)
		return EXIT_BOX_ERROR;
	switch (cl.command) {
	case CMD_HELP:
		fputs(usage_text, stdout);
		return 0;
	case CMD_RUN_HELP:
		fputs(run_usage_text, stdout);
		return 0;
	case CMD_RUN:
		status = run_container(&cl.spec);
		return status < 0 ? EXIT_BOX_ERROR : status;
	case CMD_INFO:
		if (cgroup_info(&f) == 0)
			return 0;
		fail("%s", f.what);
		return EXIT_BOX_ERROR;
	case CMD_INFO_HELP:
		fputs(info_usage_text, stdout);
		return 0;
	}
	return EXIT_BOX_ERROR;
}
