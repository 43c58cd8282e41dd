/*
 * security.c - the last steps in the container before execve(2): who the
 * process is, and what it may still do.
 *
 * Each step closes a door, and some doors are needed to close the next
 * ones, so the order is the lesson (the same as runc's
 * libcontainer/standard_init_linux.go + init_linux.go finalizeNamespace,
 * and crun's container.c apply_security_settings + linux.c set_required_caps):
 *
 *   early, by the runtime while the child waits (apply_rlimits, apply_oom_score_adj):
 *     rlimits          raising a hard limit needs CAP_SYS_RESOURCE in the
 *                      host's user namespace, which a child in a new user
 *                      namespace no longer has: the runtime sets them on it
 *                      with prlimit(2), as runc does
 *     oom_score_adj    lowering it needs CAP_SYS_RESOURCE too
 *   then apply_security():
 *  1. umask            process.user.umask, else 0022
 *  2. seccomp, if no_new_privs is off: loading a filter without
 *                      no_new_privs needs CAP_SYS_ADMIN (seccomp(2)), which
 *                      step 6 may take away. The filter must then allow
 *                      what steps 3-7 do (docker's does).
 *  3. bounding set     PR_CAPBSET_DROP needs CAP_SETPCAP, also about to go
 *  4. keep caps        PR_SET_KEEPCAPS: else setresuid(2) from uid 0 to
 *                      another clears the permitted set (capabilities(7))
 *  5. groups, gid, uid setgroups(2) first (it needs CAP_SETGID), then
 *                      setresgid(2) (needs CAP_SETGID), setresuid(2) last
 *                      (after it we may have no CAP_SETGID left)
 *  6. capabilities     keep caps off again; capset(2) effective, permitted,
 *                      inheritable; then ambient (PR_CAP_AMBIENT), which
 *                      must be in permitted and inheritable
 *  7. no_new_privs     prctl(PR_SET_NO_NEW_PRIVS): execve can no longer
 *                      grant anything (setuid bits, file capabilities)
 *  8. seccomp, if no_new_privs is on: as late as possible, so that box's
 *                      own last system calls need not be in the profile;
 *                      execve(2) itself must be allowed by it.
 *
 * Functions here print nothing: they return -1 with errno set and, where
 * the caller could not tell what failed, say so in struct failure.
 */
#include <errno.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "box.h"

enum {
	DEFAULT_UMASK = 022,		/* what runc and crun use when process.user.umask is absent */
	CAP_BITS = 64,
};

static const char cap_last_cap_path[] = "/proc/sys/kernel/cap_last_cap";

/* The highest capability this kernel knows (capabilities(7): /proc/sys/kernel/cap_last_cap). */
int last_cap(void)
{
	FILE *file = fopen(cap_last_cap_path, "re");
	int last = -1;

	if (!file)
		return -1;
	if (fscanf(file, "%d", &last) != 1 || last < 0 || last >= CAP_BITS) {
		last = -1;
		errno = EINVAL;
	}
	fclose(file);
	return last;
}

/* Bits 0..last set: the capabilities that exist here. */
static uint64_t known_caps(int last)
{
	return last >= CAP_BITS - 1 ? UINT64_MAX : (1ULL << (last + 1)) - 1;
}

/* Whether this process has capability cap in its effective set right now. */
static bool have_cap(cap_value_t cap)
{
	cap_t now = cap_get_proc();
	cap_flag_value_t value = CAP_CLEAR;

	if (now) {
		cap_get_flag(now, cap, CAP_EFFECTIVE, &value);
		cap_free(now);
	}
	return value == CAP_SET;
}

static void format_limit(char *buf, size_t size, uint64_t value)
{
	if (value == UINT64_MAX)
		snprintf(buf, size, "unlimited");
	else
		snprintf(buf, size, "%llu", (unsigned long long)value);
}

/*
 * setrlimit(2): "A privileged process (under Linux: one with the
 * CAP_SYS_RESOURCE capability in the initial user namespace) may make
 * arbitrary changes to either limit value." Others may only lower the
 * hard limit. On this host root's bounding set lacks CAP_SYS_RESOURCE, so
 * podman's default RLIMIT_NPROC 1048576 cannot be had: say exactly that.
 */
static int explain_rlimit(const struct oci_rlimit *rl, size_t i, struct failure *f)
{
	char want[32], have[32];
	struct rlimit now;

	if (getrlimit(rl->resource, &now) < 0)
		return failed(f, "process.rlimits[%zu]: getrlimit %s", i, rl->type);
	format_limit(want, sizeof(want), rl->hard);
	format_limit(have, sizeof(have), now.rlim_max == RLIM_INFINITY ? UINT64_MAX : now.rlim_max);
	errno = EPERM;
	if (rl->hard > now.rlim_max && !have_cap(CAP_SYS_RESOURCE))
		return failed(f, "process.rlimits[%zu]: %s hard limit %s is above the current %s, and raising "
			      "it needs CAP_SYS_RESOURCE, which box does not have", i, rl->type, want, have);
	return failed(f, "process.rlimits[%zu]: setrlimit %s to %s", i, rl->type, want);
}

/* Check before forking that the rlimits can be set here: the same message, earlier. */
int check_rlimits(const struct oci_process *proc, struct failure *f)
{
	for (size_t i = 0; i < proc->n_rlimits; i++) {
		struct rlimit now;

		if (getrlimit(proc->rlimits[i].resource, &now) < 0)
			return failed(f, "getrlimit %s", proc->rlimits[i].type);
		if (proc->rlimits[i].hard > now.rlim_max && !have_cap(CAP_SYS_RESOURCE))
			return explain_rlimit(&proc->rlimits[i], i, f);
	}
	return 0;
}

/* process.rlimits of process pid (0: ourselves), with prlimit(2) (see the top). */
int apply_rlimits(pid_t pid, const struct oci_process *proc, struct failure *f)
{
	for (size_t i = 0; i < proc->n_rlimits; i++) {
		const struct oci_rlimit *rl = &proc->rlimits[i];
		struct rlimit limit = {
			.rlim_cur = rl->soft == UINT64_MAX ? RLIM_INFINITY : rl->soft,
			.rlim_max = rl->hard == UINT64_MAX ? RLIM_INFINITY : rl->hard,
		};

		if (prlimit(pid, rl->resource, &limit, NULL) < 0)
			return errno == EPERM ? explain_rlimit(rl, i, f)
					      : failed(f, "process.rlimits[%zu]: setrlimit %s", i, rl->type);
	}
	return 0;
}

/* proc(5): /proc/PID/oom_score_adj, inherited by every child; lowering it needs CAP_SYS_RESOURCE. */
int apply_oom_score_adj(pid_t pid, const struct oci_process *proc, struct failure *f)
{
	char value[16], path[64];

	if (!proc->has_oom_score_adj)
		return 0;
	snprintf(value, sizeof(value), "%d", proc->oom_score_adj);
	if (format_into(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid) < 0 || write_file(path, value) < 0)
		return failed(f, "write %s to /proc/%d/oom_score_adj", value, (int)pid);
	return 0;
}

/*
 * A session keyring of the container's own (keyrings(7)), as runc makes
 * one: otherwise the container shares the caller's, and keys one
 * container adds (keyctl(2)) another could read. KEYCTL_JOIN_SESSION_KEYRING
 * with a new name makes and joins a new keyring.
 */
int join_new_keyring(const char *name)
{
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) < 0)
		return errno == ENOSYS ? 0 : -1;	/* a kernel without keys: nothing to share */
	return 0;
}

/* (3) prctl(2) PR_CAPBSET_DROP every capability not in keep; needs CAP_SETPCAP. */
int drop_bounding_set(uint64_t keep)
{
	int last = last_cap();

	if (last < 0)
		return -1;
	for (int cap = 0; cap <= last; cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -1;
	}
	return 0;
}

/* (4) prctl(2) PR_SET_KEEPCAPS: keep the permitted set across a change from uid 0. */
int keep_caps_across_setuid(bool keep)
{
	return prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0);
}

/*
 * A user namespace made by an unprivileged user (rootless) has "deny" in
 * /proc/self/setgroups; then the process keeps the groups it has, as runc
 * does, unless the config asks for additional groups (then setgroups fails
 * and says so).
 */
static bool setgroups_allowed(void)
{
	char text[8] = "";
	FILE *file = fopen("/proc/self/setgroups", "re");

	if (!file)
		return true;	/* no such file: not in a user namespace made that way */
	if (!fgets(text, sizeof(text), file))
		text[0] = '\0';
	fclose(file);
	return strncmp(text, "deny", 4) != 0;
}

/* setresgid(2) then setresuid(2): real, effective and saved ids, so nothing can switch back. */
static int set_ids(const struct oci_user *user)
{
	if (setresgid(user->gid, user->gid, user->gid) < 0)
		return -1;
	return setresuid(user->uid, user->uid, user->uid);
}

/*
 * (5) setgroups(2) before setresgid(2) and setresuid(2): each needs a
 * capability (CAP_SETGID, CAP_SETUID) the next may take away. All three
 * ids (real, effective, saved) are set, so nothing can switch back.
 */
int set_user_and_groups(const struct oci_user *user)
{
	gid_t *gids = NULL;
	int ret;

	/* user_namespaces(7): where /proc/self/setgroups says "deny", setgroups(2) always fails. */
	if (user->n_additional_gids == 0 && !setgroups_allowed())
		return set_ids(user);
	if (user->n_additional_gids) {
		gids = calloc(user->n_additional_gids, sizeof(gid_t));
		if (!gids)
			return -1;
		for (size_t i = 0; i < user->n_additional_gids; i++)
			gids[i] = user->additional_gids[i];
	}
	ret = setgroups(user->n_additional_gids, gids);
	free(gids);
	if (ret < 0)
		return -1;
	return set_ids(user);
}

/* Put the bits of mask into one flag (CAP_EFFECTIVE, ...) of caps, with libcap. */
static int set_flag_bits(cap_t caps, cap_flag_t flag, uint64_t mask)
{
	for (int cap = 0; cap < CAP_BITS; cap++) {
		cap_value_t value = cap;

		if ((mask & (1ULL << cap)) && cap_set_flag(caps, flag, 1, &value, CAP_SET) < 0)
			return -1;
	}
	return 0;
}

/* [exercise] */
/*
 * (6) capset(2) through libcap: a cap_t from cap_init(3), each of the
 * three sets put in with cap_set_flag(3) (set_flag_bits: CAP_EFFECTIVE,
 * CAP_PERMITTED, CAP_INHERITABLE), only what this kernel knows
 * (known_caps), then cap_set_proc(3); cap_free(3) it. capabilities(7): the
 * new effective set must be within the new permitted set, and the
 * permitted set can only shrink; inheritable may only take what is in
 * permitted or bounding.
 */
int set_process_caps(const uint64_t sets[CAP_SETS])
{
	int last = last_cap();
	uint64_t known = known_caps(last);
	cap_t caps = cap_init();
	int ret = -1;

	if (last < 0 || !caps)
		goto out;
	if (set_flag_bits(caps, CAP_EFFECTIVE, sets[CAPS_EFFECTIVE] & known) < 0 ||
	    set_flag_bits(caps, CAP_PERMITTED, sets[CAPS_PERMITTED] & known) < 0 ||
	    set_flag_bits(caps, CAP_INHERITABLE, sets[CAPS_INHERITABLE] & known) < 0)
		goto out;
	ret = cap_set_proc(caps);
out:
	if (caps)
		cap_free(caps);
	return ret;
}

/*
 * capabilities(7) "Ambient capability set": a capability can only be
 * ambient if it is both permitted and inheritable. runc's own `runc spec`
 * asks for ambient capabilities without inheritable ones; like runc, box
 * raises what can be raised (oci.c warns about the rest at parse time).
 */
int set_ambient_caps(uint64_t ambient)
{
	int last = last_cap();

	if (last < 0)
		return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -1;
	for (int cap = 0; cap <= last; cap++) {
		if ((ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return -1;
	}
	return 0;
}

/* (7) prctl(2) PR_SET_NO_NEW_PRIVS; cannot be undone, and children inherit it. */
int set_no_new_privs(void)
{
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* What ambient can really hold: the ones also in permitted and inheritable. */
static uint64_t raisable_ambient(const struct oci_process *proc)
{
	return proc->caps[CAPS_AMBIENT] & proc->caps[CAPS_PERMITTED] & proc->caps[CAPS_INHERITABLE];
}

/* (3) to (6) of the list at the top: bounding set, user and groups, then the process's own sets. */
static int apply_user_and_caps(const struct oci_process *proc, struct failure *f)
{
	if (drop_bounding_set(proc->caps[CAPS_BOUNDING]) < 0)
		return failed(f, "drop capabilities from the bounding set (PR_CAPBSET_DROP)");
	if (keep_caps_across_setuid(true) < 0)
		return failed(f, "prctl PR_SET_KEEPCAPS");
	if (set_user_and_groups(&proc->user) < 0)
		return failed(f, "become uid %u, gid %u with %zu additional groups", proc->user.uid,
			      proc->user.gid, proc->user.n_additional_gids);
	if (keep_caps_across_setuid(false) < 0)
		return failed(f, "prctl PR_SET_KEEPCAPS");
	if (set_process_caps(proc->caps) < 0)
		return failed(f, "set capabilities (capset)");
	if (set_ambient_caps(raisable_ambient(proc)) < 0)
		return failed(f, "raise ambient capabilities (PR_CAP_AMBIENT)");
	return 0;
}

/*
 * (1) to (8) of the list at the top, in the container's init right before execve.
 * seccomp may be NULL (no linux.seccomp). A process without
 * process.capabilities gets none: config.md leaves it open, and granting
 * all of root's (runc's choice) is not a default box will take silently.
 */
int apply_security(const struct oci_process *proc, const struct oci_seccomp *seccomp, struct failure *f)
{
	umask(proc->user.has_umask ? proc->user.umask : DEFAULT_UMASK);
	if (seccomp && !proc->no_new_privileges && seccomp_apply(seccomp, f) < 0)
		return -1;
	if (apply_user_and_caps(proc, f) < 0)
		return -1;
	if (proc->no_new_privileges && set_no_new_privs() < 0)
		return failed(f, "prctl PR_SET_NO_NEW_PRIVS");
	if (seccomp && proc->no_new_privileges && seccomp_apply(seccomp, f) < 0)
		return -1;
	return 0;
}
