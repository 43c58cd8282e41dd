/*
 * boxtest.h - helpers shared by every stage's cmocka tests.
 *
 * A test runs the stage's box as a child, the way a user would, and checks
 * its exit status and output. Every integration test ends with a clean-host
 * check: nothing box created (mounts, cgroups, links, namespaces, nftables
 * tables, processes) may outlive the test.
 */
#ifndef BOXTEST_H
#define BOXTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include <setjmp.h>
#include <cmocka.h>

enum {
	RUN_OUTPUT_MAX = 64 * 1024,
	RUN_TIMEOUT_SECONDS = 60,
};

/* What one run of a command produced. */
struct run {
	int status;		/* exit status as a shell reports it (128+N for signal N), -1 on timeout */
	char out[RUN_OUTPUT_MAX];	/* standard output, NUL-terminated */
	char err[RUN_OUTPUT_MAX];	/* standard error, NUL-terminated */
};

/* Host state saved before a test, compared after it. */
struct host_state {
	char *lines;		/* sorted output of testkit/host-state, one item per line */
};

/* The box binary under test ($BOX, or ./box) and a busybox root built once per test binary. */
const char *box_path(void);
const char *test_rootfs(void);
/* A scratch directory for this test binary, removed by testkit_cleanup(). */
const char *test_dir(void);

/* Run box with the given arguments (NULL-terminated), or any command (argv). */
struct run run_box(const char *arg, ...);
struct run run_argv(char *const argv[]);
struct run run_argv_with_input(char *const argv[], const char *input);
/* Fail, showing stderr, unless the run exited with status. */
void assert_status(const struct run *r, int status);
/* Run a shell command line on the host (setup steps), failing the test if it fails. */
void host_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Skip the current test unless we are root (integration tests need root). */
void skip_unless_root(void);
int is_root(void);

/* Clean-host check: save, then assert nothing new is left. */
void host_state_save(struct host_state *before);
void assert_host_clean(struct host_state *before);

/* cmocka setup/teardown pair for integration tests: root check + clean-host check. */
int integration_setup(void **state);
int integration_teardown(void **state);

/* Group setup/teardown: scratch dir and rootfs; become subreaper of what tests start;
 * BOX_ROOT and BOX_STATE point into the scratch dir, so box never uses /var/lib/box;
 * and a network namespace of the test's own, with lo up, is the "host" of its boxes.
 * The scratch dir is removed also when the run is stopped with Ctrl-C or SIGTERM. */
int testkit_setup(void **state);
int testkit_cleanup(void **state);

/* Call first in main: with TEST=PATTERN in the environment, run only the tests whose
 * names match PATTERN (cmocka's wildcards * and ?), e.g. make check TEST=test_hostname_is_set */
void select_tests(void);

/* For a box started in the background with its pid written to pidfile:
 * send it sig and wait until it has exited (reaping it: we are its subreaper).
 * Returns its exit status as a shell reports it, or -1 if it was not our child. */
int signal_and_reap(const char *pidfile, int sig);
pid_t read_pid(const char *path);
/* Wait up to 5 s for path to exist; returns 0 if it does. */
int wait_for_file(const char *path);
/* Is the process with the pid in pidfile still running (not gone, not a zombie)?
 * A wait loop stops at once when the box it waits for has already failed. */
int still_running(const char *pidfile);

/* Read a whole (small) file into buf; returns buf, or NULL on error. */
char *read_text(const char *path, char *buf, size_t size);

#endif
