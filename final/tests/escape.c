/*
 * escape.c - the classic chroot(2) escape, run inside a container by the tests.
 *
 *     escape FILE    prints FILE as seen from the real root, if it can get there
 *
 * A process that may call chroot(2) makes a directory, chroots into it (its
 * working directory is now outside its root), walks up with chdir("..") past
 * where its old root was, and chroots to what it finds at the top.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	char line[256];
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: escape FILE\n");
		return 2;
	}
	mkdir("/escape-hatch", 0700);
	if (chroot("/escape-hatch") < 0) {
		perror("escape: chroot /escape-hatch");
		return 1;
	}
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			break;
	if (chroot(".") < 0) {
		perror("escape: chroot .");
		return 1;
	}
	f = fopen(argv[1], "r");
	if (!f) {
		perror("escape: open");
		return 1;
	}
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	fclose(f);
	return 0;
}
