/*
 * openfds.c - print the file descriptors this process started with, like
 * "0 1 2": what a runtime left open for the container's process. Probes
 * each number with fcntl(2) F_GETFD, so it needs no /proc. Static, to run
 * in any root.
 */
#include <fcntl.h>
#include <stdio.h>

enum { MAX_PROBE_FD = 1024 };

int main(void)
{
	const char *sep = "";

	for (int fd = 0; fd < MAX_PROBE_FD; fd++) {
		if (fcntl(fd, F_GETFD) >= 0) {
			printf("%s%d", sep, fd);
			sep = " ";
		}
	}
	printf("\n");
	return 0;
}
