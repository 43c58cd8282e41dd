/*
 * profile.h - docker's default security profile as data (seccomp-docker.c),
 * read by profile.c.
 */
#ifndef BOX_PROFILE_H
#define BOX_PROFILE_H

#include "oci.h"

/* archMap: the native architecture, and the ones its binaries may also use (x86 on x86_64). */
struct profile_arch_map {
	const char *arch;
	const char *const *sub_arches;	/* NULL-terminated */
};

/*
 * One rule of the profile, with docker's conditions. Every list is
 * NULL-terminated; a NULL list means "no condition".
 */
struct profile_rule {
	const char *const *names;
	enum oci_seccomp_action action;
	unsigned int errno_ret;		/* 0: the action's default (EPERM) */
	struct oci_seccomp_arg args[3];
	size_t n_args;
	const char *const *arches;	/* only on these (Go's names: amd64, arm64, ...) */
	const char *const *not_arches;	/* not on these */
	const char *const *caps;	/* only if all of these are in the bounding set */
	const char *const *not_caps;	/* not if any of these is */
	const char *min_kernel;		/* only on this kernel version or newer: "4.8" */
};

extern const struct profile_arch_map docker_arch_map[];
extern const struct profile_rule docker_rules[];	/* ends with .names == NULL */
extern const unsigned int docker_default_errno;

#endif
