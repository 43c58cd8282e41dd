/*
 * memfd-cost.c - what the CVE-2019-5736 defence costs (exe-seal.c).
 *
 *     memfd-cost [N]          time N sealed copies of this binary, and N
 *                             starts with and without re-executing from one
 *     memfd-cost --sealed-sleep MS   re-exec from a sealed copy, then sleep (a victim for the tests)
 *     memfd-cost --sleep MS          just sleep (an unprotected victim)
 *     memfd-cost --exit              exit at once (what a start costs)
 *     memfd-cost --copy FILE [N]     time N sealed copies of FILE (e.g. a 1 MiB file, or runc)
 *
 * Built static, so that the binary copied is about 1 MB like a small runtime.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "box.h"

extern char **environ;

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* Run this binary with args N times; the mean milliseconds per run. */
static double time_runs(int n, char *const args[])
{
	double start = now_ms();

	for (int i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			execve("/proc/self/exe", args, environ);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "memfd-cost: run failed\n");
			exit(1);
		}
	}
	return (now_ms() - start) / n;
}

static double time_copies(const char *path, int n)
{
	double start = now_ms();

	for (int i = 0; i < n; i++) {
		int fd = sealed_copy(path);

		if (fd < 0) {
			perror("memfd-cost: sealed copy");
			exit(1);
		}
		close(fd);
	}
	return (now_ms() - start) / n;
}

int main(int argc, char *argv[])
{
	int n = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 200;
	struct stat st;

	if (argc > 1 && strcmp(argv[1], "--exit") == 0)
		return 0;
	if (argc > 1 && strcmp(argv[1], "--sealed-exit") == 0)
		return run_from_sealed_copy(argv, environ) < 0 ? 1 : 0;
	if (argc > 2 && strcmp(argv[1], "--sleep") == 0) {
		sleep_ms(atol(argv[2]));
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "--sealed-sleep") == 0) {
		if (run_from_sealed_copy(argv, environ) < 0) {
			perror("memfd-cost: run from a sealed copy");
			return 1;
		}
		printf("sealed=%d\n", is_sealed_copy());
		fflush(stdout);
		sleep_ms(atol(argv[2]));
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "--copy") == 0) {
		n = argc > 3 ? atoi(argv[3]) : 100;
		if (stat(argv[2], &st) < 0 || n <= 0)
			return 1;
		printf("%s: %lld bytes: sealed memfd copy %.3f ms\n", argv[2], (long long)st.st_size,
		       time_copies(argv[2], n));
		return 0;
	}
	if (stat("/proc/self/exe", &st) < 0 || n <= 0)
		return 1;
	printf("binary: %lld bytes\n", (long long)st.st_size);
	printf("sealed memfd copy:              %.3f ms\n", time_copies("/proc/self/exe", n));
	printf("start, plain:                   %.3f ms\n", time_runs(n, (char *[]){ argv[0], "--exit", NULL }));
	printf("start, via a sealed copy:       %.3f ms\n",
	       time_runs(n, (char *[]){ argv[0], "--sealed-exit", NULL }));
	return 0;
}
