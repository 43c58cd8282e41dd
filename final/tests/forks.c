/*
 * forks.c - fork up to N children that wait, and say how many forks worked.
 *
 *     forks 100    inside --pids-limit 20: "forked 19, then: Resource temporarily unavailable"
 *
 * The children stay until the container ends (they are killed with PID 1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	int want = argc == 2 ? atoi(argv[1]) : 0, n;

	if (want <= 0) {
		fprintf(stderr, "usage: forks N\n");
		return 2;
	}
	for (n = 0; n < want; n++) {
		pid_t pid = fork();

		if (pid < 0) {
			printf("forked %d, then: %s\n", n, strerror(errno));
			return 0;
		}
		if (pid == 0) {
			pause();
			_exit(0);
		}
	}
	printf("forked %d\n", n);
	return 0;
}
