/*
 * profile.c - the security profile `box run` gives a container from an
 * image, and the flags that change it, as docker does:
 *
 *     --cap-add NAME / --cap-drop NAME     NAME or CAP_NAME, or ALL
 *     --privileged                         every capability, no seccomp, no masked paths
 *     --security-opt no-new-privileges
 *     --security-opt seccomp=unconfined    no filter
 *     --security-opt seccomp=FILE          a linux.seccomp object from FILE
 *
 * The defaults are docker's (moby daemon/pkg/oci/caps/defaults.go,
 * daemon/pkg/oci/defaults.go, profiles/seccomp/default.json): 14
 * capabilities, the allow-list seccomp profile in seccomp-docker.c, and the
 * masked and read-only paths of /proc and /sys. `box-oci` never uses this:
 * there the client's config.json says everything.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/utsname.h>

#include "box.h"
#include "profile.h"

enum { CAP_NAME_MAX = 64 };

/* docker's default capabilities (moby daemon/pkg/oci/caps/defaults.go), in its order. */
const char *const docker_default_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
};

static const char *const docker_masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
	"/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware", NULL,
};
static const char *const docker_readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* uname(2) machine names to Go's GOARCH names (the profile's "arches") and the seccomp arch. */
static const struct {
	const char *machine, *go_arch, *seccomp_arch;
} machines[] = {
	{ "x86_64", "amd64", "SCMP_ARCH_X86_64" }, { "aarch64", "arm64", "SCMP_ARCH_AARCH64" },
	{ "i686", "x86", "SCMP_ARCH_X86" }, { "armv7l", "arm", "SCMP_ARCH_ARM" },
	{ "s390x", "s390x", "SCMP_ARCH_S390X" }, { "ppc64le", "ppc64le", "SCMP_ARCH_PPC64LE" },
	{ "riscv64", "riscv64", "SCMP_ARCH_RISCV64" },
};

static int native_machine(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++) {
		if (strcmp(machines[i].machine, u.machine) == 0)
			return (int)i;
	}
	errno = ENOTSUP;
	return -1;
}

/* Whether the running kernel is at least "major.minor" (uname(2) release). */
static bool kernel_at_least(const char *version)
{
	struct utsname u;
	int want_major = 0, want_minor = 0, major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2 ||
	    sscanf(version, "%d.%d", &want_major, &want_minor) != 2)
		return false;
	return major > want_major || (major == want_major && minor >= want_minor);
}

static bool in_list(const char *const *list, const char *name)
{
	for (size_t i = 0; list && list[i]; i++) {
		if (strcmp(list[i], name) == 0)
			return true;
	}
	return false;
}

static bool has_cap(uint64_t caps, const char *name)
{
	int cap = oci_capability_number(name);

	return cap >= 0 && (caps & (1ULL << cap));
}

/* docker's conditions (profiles/seccomp/seccomp_linux.go setupSeccomp), for one rule. */
static bool rule_applies(const struct profile_rule *rule, const char *go_arch, uint64_t bounding)
{
	if (rule->not_arches && in_list(rule->not_arches, go_arch))
		return false;
	for (size_t i = 0; rule->not_caps && rule->not_caps[i]; i++) {
		if (has_cap(bounding, rule->not_caps[i]))
			return false;
	}
	if (rule->arches && !in_list(rule->arches, go_arch))
		return false;
	for (size_t i = 0; rule->caps && rule->caps[i]; i++) {
		if (!has_cap(bounding, rule->caps[i]))
			return false;
	}
	return !rule->min_kernel || kernel_at_least(rule->min_kernel);
}

static int dup_names(const char *const *src, char ***out, size_t *n)
{
	size_t count = 0;

	while (src && src[count])
		count++;
	*out = calloc(count ? count : 1, sizeof(char *));
	if (!*out)
		return -1;
	for (size_t i = 0; i < count; i++) {
		(*out)[i] = strdup(src[i]);
		if (!(*out)[i])
			return -1;
		*n = i + 1;
	}
	return 0;
}

static int copy_rule(const struct profile_rule *from, struct oci_seccomp_rule *to)
{
	to->action = from->action;
	to->has_errno = from->errno_ret != 0;
	to->errno_ret = from->errno_ret;
	if (dup_names(from->names, &to->names, &to->n_names) < 0)
		return -1;
	if (from->n_args) {
		to->args = calloc(from->n_args, sizeof(*to->args));
		if (!to->args)
			return -1;
		memcpy(to->args, from->args, from->n_args * sizeof(*to->args));
		to->n_args = from->n_args;
	}
	return 0;
}

/* The native arch and its sub-architectures, from docker's archMap. */
static int profile_arches(const char *seccomp_arch, struct oci_seccomp *sc)
{
	for (size_t i = 0; docker_arch_map[i].arch; i++) {
		const char *one[] = { seccomp_arch, NULL };

		if (strcmp(docker_arch_map[i].arch, seccomp_arch) != 0)
			continue;
		if (dup_names(one, &sc->architectures, &sc->n_architectures) < 0)
			return -1;
		for (size_t k = 0; docker_arch_map[i].sub_arches[k]; k++) {
			char **grown = realloc(sc->architectures, (sc->n_architectures + 1) * sizeof(char *));

			if (!grown)
				return -1;
			sc->architectures = grown;
			sc->architectures[sc->n_architectures] = strdup(docker_arch_map[i].sub_arches[k]);
			if (!sc->architectures[sc->n_architectures])
				return -1;
			sc->n_architectures++;
		}
	}
	return 0;
}

/*
 * docker's default profile for a container whose bounding set is
 * bounding: an allow list, EPERM for the rest. sc is filled with
 * allocated data, as oci.c would from config.json.
 */
int docker_seccomp(uint64_t bounding, struct oci_seccomp *sc)
{
	size_t n = 0;
	int m = native_machine();

	memset(sc, 0, sizeof(*sc));
	if (m < 0)
		return -1;
	sc->default_action = OCI_ACT_ERRNO;
	sc->has_default_errno = true;
	sc->default_errno = docker_default_errno;
	if (profile_arches(machines[m].seccomp_arch, sc) < 0)
		return -1;
	while (docker_rules[n].names)
		n++;
	sc->rules = calloc(n, sizeof(*sc->rules));
	if (!sc->rules)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!rule_applies(&docker_rules[i], machines[m].go_arch, bounding))
			continue;
		if (copy_rule(&docker_rules[i], &sc->rules[sc->n_rules]) < 0)
			return -1;
		sc->n_rules++;
	}
	return 0;
}

/* docker accepts "NET_ADMIN", "net_admin" and "CAP_NET_ADMIN"; -1 if no such capability. */
static int flag_cap(const char *name)
{
	char full[CAP_NAME_MAX];

	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	if (format_into(full, sizeof(full), "CAP_%s", name) < 0)
		return -1;
	for (size_t i = 4; full[i]; i++)
		full[i] = (char)toupper((unsigned char)full[i]);
	return oci_capability_number(full);
}

static bool has_all(const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(list[i], "ALL") == 0)
			return true;
	}
	return false;
}

/* A set of --cap-add / --cap-drop names as a mask; ALL is skipped here (see compute_caps). */
static int flag_mask(const char *const *names, size_t n, const char *flag, uint64_t *mask, struct failure *f)
{
	*mask = 0;
	for (size_t i = 0; i < n; i++) {
		int cap;

		if (strcasecmp(names[i], "ALL") == 0)
			continue;
		cap = flag_cap(names[i]);
		if (cap < 0) {
			errno = EINVAL;
			return failed(f, "%s %s: no such capability", flag, names[i]);
		}
		*mask |= 1ULL << cap;
	}
	return 0;
}

/*
 * docker's caps.TweakCapabilities: --cap-add ALL starts from every
 * capability, --cap-drop ALL from none; otherwise from the defaults. Then
 * drops are taken away and adds put in (an add of ALL wins over drops
 * only for what is not dropped by name).
 */
int compute_caps(const struct security_flags *flags, uint64_t all, uint64_t *caps, struct failure *f)
{
	uint64_t add, drop, defaults = 0;

	if (flag_mask(flags->cap_add, flags->n_cap_add, "--cap-add", &add, f) < 0 ||
	    flag_mask(flags->cap_drop, flags->n_cap_drop, "--cap-drop", &drop, f) < 0)
		return -1;
	for (size_t i = 0; docker_default_caps[i]; i++)
		defaults |= 1ULL << oci_capability_number(docker_default_caps[i]);
	if (flags->privileged || has_all(flags->cap_add, flags->n_cap_add))
		*caps = all & ~drop;
	else if (has_all(flags->cap_drop, flags->n_cap_drop))
		*caps = add & all;
	else
		*caps = ((defaults & ~drop) | add) & all;
	return 0;
}

static int set_paths(const char *const *src, char ***out, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*out)[i]);
	free(*out);
	*out = NULL;
	*n = 0;
	return dup_names(src, out, n);
}

/* The seccomp part: docker's profile for these caps, a file, or none. */
static int profile_seccomp(struct oci_linux *lin, const struct security_flags *flags, uint64_t caps,
			   struct failure *f)
{
	oci_seccomp_free(&lin->seccomp);
	lin->has_seccomp = false;
	if (flags->privileged || flags->seccomp_unconfined)
		return 0;
	if (flags->seccomp_file) {
		if (oci_load_seccomp(flags->seccomp_file, &lin->seccomp, f) < 0)
			return -1;
	} else if (docker_seccomp(caps, &lin->seccomp) < 0) {
		return failed(f, "make the default seccomp profile");
	}
	lin->has_seccomp = true;
	return 0;
}

/*
 * Fill the security fields of proc and lin for `box run`: capabilities
 * (bounding = effective = permitted; no inheritable, no ambient, as
 * docker), no_new_privs, seccomp, masked and read-only paths. proc and lin
 * are otherwise left as they are (the image decides user, args, env).
 */
/*
 * "Every capability" is every one box itself may still pass on: those in
 * its bounding set (prctl(2) PR_CAPBSET_READ), as podman does. (Root on
 * some hosts lacks one; asking capset(2) for it would fail.)
 */
static uint64_t bounding_caps(int last)
{
	uint64_t all = 0;

	for (int cap = 0; cap <= last; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			all |= 1ULL << cap;
	}
	return all;
}

int default_profile(struct oci_process *proc, struct oci_linux *lin, const struct security_flags *flags,
		    struct failure *f)
{
	int last = last_cap();
	uint64_t all, caps;

	if (last < 0)
		return failed(f, "read /proc/sys/kernel/cap_last_cap");
	all = bounding_caps(last);
	if (compute_caps(flags, all, &caps, f) < 0)
		return -1;
	proc->has_caps = true;
	memset(proc->caps, 0, sizeof(proc->caps));
	proc->caps[CAPS_BOUNDING] = proc->caps[CAPS_EFFECTIVE] = proc->caps[CAPS_PERMITTED] = caps;
	proc->cap_set_given[CAPS_BOUNDING] = proc->cap_set_given[CAPS_EFFECTIVE] = true;
	proc->cap_set_given[CAPS_PERMITTED] = true;
	proc->no_new_privileges = flags->no_new_privileges;
	if (profile_seccomp(lin, flags, caps, f) < 0)
		return -1;
	if (flags->privileged) {
		const char *none[] = { NULL };

		return set_paths(none, &lin->masked_paths, &lin->n_masked_paths) < 0 ||
		       set_paths(none, &lin->readonly_paths, &lin->n_readonly_paths) < 0
			       ? failed(f, "set masked paths") : 0;
	}
	if (set_paths(docker_masked_paths, &lin->masked_paths, &lin->n_masked_paths) < 0 ||
	    set_paths(docker_readonly_paths, &lin->readonly_paths, &lin->n_readonly_paths) < 0)
		return failed(f, "set masked paths");
	return 0;
}
