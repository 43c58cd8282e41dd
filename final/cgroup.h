/*
 * cgroup.h - what cgroup.c, cgroup-v1.c and cgroup-v2.c share, and nobody else.
 *
 * The rest of box sees only struct cgroup and the cgroup_* calls in box.h.
 */
#ifndef BOX_CGROUP_H
#define BOX_CGROUP_H

#include "box.h"

/* What differs between cgroup v1 and v2 (cgroup-v1.c, cgroup-v2.c). They print nothing:
 * a failure is noted in f, for cgroup_create's caller to report. */
struct cgroup_driver {
	const char *name;
	int (*find_mounts)(struct cgroup *cg, struct failure *f);
	int (*prepare_parent)(const struct cgroup *cg, const struct container_spec *spec, struct failure *f);
	int (*set_limits)(const struct cgroup *cg, const struct container_spec *spec, struct failure *f);
	int (*oom_kills)(const struct cgroup *cg, long long *count);
	int (*kill_all)(const struct cgroup *cg);
	/* step 7, for box-oci */
	int (*freeze)(const struct cgroup *cg, bool frozen);
	bool (*is_frozen)(const struct cgroup *cg);
};
extern const struct cgroup_driver cgroup_v1_driver, cgroup_v2_driver;

int cgroup_dir(const struct cgroup *cg, int mount, char *buf, size_t size);
int cgroup_file(const struct cgroup *cg, int mount, const char *file, char *buf, size_t size);
int cgroup_set(const struct cgroup *cg, int mount, const char *file, const char *value, struct failure *f);
int read_keyed_value(const char *path, const char *key, long long *value);
int kill_procs(const char *dir);

#endif
