/*
 * spec.h - everything one container run needs.
 *
 * box.c fills it in from the command line; run.c and child.c only read it.
 * Each later stage adds the fields its mechanism needs.
 */
#ifndef BOX_SPEC_H
#define BOX_SPEC_H

#include <stdbool.h>

enum {
	CONTAINER_ID_LEN = 12,	/* hex digits, like docker's short ids */
};

/* Host ids that a user namespace maps to ids 0..count-1 inside (user_namespaces(7)). */
struct id_range {
	unsigned int host;	/* first host id */
	unsigned int count;	/* how many ids */
};

struct container_spec {
	const char *rootfs;	/* directory that becomes the container's "/" */
	char **argv;		/* the command to run inside, NULL-terminated */
	char id[CONTAINER_ID_LEN + 1];	/* random; names the container */
	const char *hostname;	/* --hostname; NULL means the id */
	const char *cidfile;	/* --cidfile: where to write the id, or NULL */
	bool userns;		/* --userns: root inside is an unprivileged id outside */
	bool userns_given;	/* --userns=UID:COUNT: ranges given, not looked up */
	struct id_range uids, gids;
};

#endif
