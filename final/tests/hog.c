/*
 * hog.c - use N MiB of memory, touching every page, then exit 0.
 *
 *     hog 64     run inside a container with -m 32m: the OOM killer stops it
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char *argv[])
{
	long mib = argc == 2 ? atol(argv[1]) : 0;

	if (mib <= 0) {
		fprintf(stderr, "usage: hog MIB\n");
		return 2;
	}
	for (long i = 0; i < mib; i++) {
		/* volatile: a compiler may drop memory that is written and never read */
		volatile char *chunk = malloc(1 << 20);

		if (!chunk) {
			fprintf(stderr, "hog: malloc failed after %ld MiB\n", i);
			return 1;
		}
		for (long page = 0; page < (1 << 20); page += 4096)
			chunk[page] = 1;	/* touch it: untouched pages cost nothing */
	}
	printf("hog: used %ld MiB\n", mib);
	return 0;
}
