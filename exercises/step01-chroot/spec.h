/*
 * spec.h - everything one container run needs.
 *
 * box.c fills it in from the command line; run.c and child.c only read it.
 * Each later stage adds the fields its mechanism needs.
 */
#ifndef BOX_SPEC_H
#define BOX_SPEC_H

struct container_spec {
	const char *rootfs;	/* directory that becomes the container's "/" */
	char **argv;		/* the command to run inside, NULL-terminated */
};

#endif
