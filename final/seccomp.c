/*
 * seccomp.c - linux.seccomp as a BPF filter, with libseccomp.
 *
 * seccomp(2) filters are small BPF programs the kernel runs at every
 * system call: they look at the architecture, the call's number and its
 * six arguments, and return an action (allow, fail with an errno, kill,
 * log, ...). Writing BPF by hand is a lesson of its own; libseccomp
 * (seccomp_init(3), seccomp_rule_add(3)) turns names and conditions into
 * the program for every architecture we ask for, and config-linux.md
 * "Seccomp" is written in its vocabulary (SCMP_ACT_*, SCMP_CMP_*).
 *
 * What box adds (as runc's libcontainer/seccomp does):
 *  - libseccomp sets no_new_privs when it loads a filter, unless told not
 *    to (SCMP_FLTATR_CTL_NNP): box turns that off, so that only
 *    process.noNewPrivileges decides it;
 *  - several conditions on the same argument cannot be one libseccomp rule
 *    (it means AND, and libseccomp refuses it): they become one rule each;
 *  - a system call name libseccomp does not know is skipped in a rule that
 *    allows (the call cannot be allowed by a filter that cannot name it),
 *    but refused in a rule that restricts while the default allows: then
 *    skipping it would let the call through.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "box.h"

enum {
	MAX_ARGS = 6,
	DEFAULT_ERRNO = EPERM,		/* config-linux.md: errnoRet defaults to EPERM */
};

/* config-linux.md's architecture names to libseccomp's tokens. */
static const struct {
	const char *name;
	uint32_t arch;
} arches[] = {
	{ "SCMP_ARCH_X86", SCMP_ARCH_X86 }, { "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 },
	{ "SCMP_ARCH_X32", SCMP_ARCH_X32 }, { "SCMP_ARCH_ARM", SCMP_ARCH_ARM },
	{ "SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64 }, { "SCMP_ARCH_MIPS", SCMP_ARCH_MIPS },
	{ "SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64 }, { "SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32 },
	{ "SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL }, { "SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64 },
	{ "SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32 }, { "SCMP_ARCH_PPC", SCMP_ARCH_PPC },
	{ "SCMP_ARCH_PPC64", SCMP_ARCH_PPC64 }, { "SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE },
	{ "SCMP_ARCH_S390", SCMP_ARCH_S390 }, { "SCMP_ARCH_S390X", SCMP_ARCH_S390X },
	{ "SCMP_ARCH_PARISC", SCMP_ARCH_PARISC }, { "SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64 },
	{ "SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64 },
};

/* In enum oci_seccomp_op order. */
static const enum scmp_compare compare_ops[] = {
	SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ,
};

/* An OCI action (with its errno, if any) as libseccomp's action value. */
static uint32_t scmp_action(enum oci_seccomp_action action, bool has_errno, unsigned int errno_ret)
{
	unsigned int err = has_errno ? errno_ret : DEFAULT_ERRNO;

	switch (action) {
	case OCI_ACT_KILL:
	case OCI_ACT_KILL_THREAD:
		return SCMP_ACT_KILL_THREAD;	/* config-linux.md: SCMP_ACT_KILL kills the thread */
	case OCI_ACT_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case OCI_ACT_TRAP:
		return SCMP_ACT_TRAP;
	case OCI_ACT_ERRNO:
		return SCMP_ACT_ERRNO(err);
	case OCI_ACT_TRACE:
		return SCMP_ACT_TRACE(err);
	case OCI_ACT_LOG:
		return SCMP_ACT_LOG;
	case OCI_ACT_ALLOW:
	case OCI_ACT_NOTIFY:	/* refused by oci.c */
		break;
	}
	return SCMP_ACT_ALLOW;
}

static bool restricts(enum oci_seccomp_action action)
{
	return action != OCI_ACT_ALLOW && action != OCI_ACT_LOG;
}

static int add_arches(scmp_filter_ctx ctx, const struct oci_seccomp *sc, struct failure *f)
{
	for (size_t i = 0; i < sc->n_architectures; i++) {
		size_t k;
		int ret;

		for (k = 0; k < sizeof(arches) / sizeof(arches[0]); k++) {
			if (strcmp(arches[k].name, sc->architectures[i]) == 0)
				break;
		}
		if (k == sizeof(arches) / sizeof(arches[0])) {
			errno = EINVAL;
			return failed(f, "linux.seccomp.architectures[%zu]: unknown \"%s\"", i, sc->architectures[i]);
		}
		ret = seccomp_arch_add(ctx, arches[k].arch);
		if (ret < 0 && ret != -EEXIST) {	/* the native one is there already */
			errno = -ret;
			return failed(f, "linux.seccomp.architectures[%zu]: add %s", i, sc->architectures[i]);
		}
	}
	return 0;
}

/* linux.seccomp.flags as filter attributes (seccomp(2) SECCOMP_FILTER_FLAG_*). */
static int set_attributes(scmp_filter_ctx ctx, const struct oci_seccomp *sc, struct failure *f)
{
	int ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);

	/* Without this, libseccomp reports every refused load as ECANCELED, whatever the kernel said. */
	if (ret == 0)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);

	if (ret == 0 && (sc->flags & OCI_SECCOMP_FLAG_TSYNC))
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret == 0 && (sc->flags & OCI_SECCOMP_FLAG_LOG))
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (ret == 0 && (sc->flags & OCI_SECCOMP_FLAG_SPEC_ALLOW))
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
	if (ret < 0) {
		errno = -ret;
		return failed(f, "linux.seccomp.flags: set filter attributes");
	}
	return 0;
}

static struct scmp_arg_cmp arg_compare(const struct oci_seccomp_arg *a)
{
	struct scmp_arg_cmp cmp = {
		.arg = a->index,
		.op = compare_ops[a->op],
		.datum_a = a->value,
		.datum_b = a->value_two,	/* MASKED_EQ: (arg & datum_a) == datum_b */
	};

	return cmp;
}

/* Whether some argument index is compared more than once in this rule. */
static bool repeats_an_argument(const struct oci_seccomp_rule *rule)
{
	int seen[MAX_ARGS] = { 0 };

	for (size_t i = 0; i < rule->n_args; i++) {
		if (rule->args[i].index < MAX_ARGS && seen[rule->args[i].index]++)
			return true;
	}
	return false;
}

/* One system call of one rule: all conditions ANDed, or each on its own (see the top). */
static int add_call(scmp_filter_ctx ctx, int nr, uint32_t action, const struct oci_seccomp_rule *rule)
{
	struct scmp_arg_cmp cmps[MAX_ARGS];
	int ret = 0;

	if (rule->n_args > MAX_ARGS || repeats_an_argument(rule)) {
		for (size_t i = 0; i < rule->n_args && ret == 0; i++) {
			cmps[0] = arg_compare(&rule->args[i]);
			ret = seccomp_rule_add_array(ctx, action, nr, 1, cmps);
		}
		return ret;
	}
	for (size_t i = 0; i < rule->n_args; i++)
		cmps[i] = arg_compare(&rule->args[i]);
	return seccomp_rule_add_array(ctx, action, nr, (unsigned int)rule->n_args, cmps);
}

static int add_rule(scmp_filter_ctx ctx, const struct oci_seccomp *sc, size_t r, struct failure *f)
{
	const struct oci_seccomp_rule *rule = &sc->rules[r];
	uint32_t action = scmp_action(rule->action, rule->has_errno, rule->errno_ret);
	uint32_t default_action = scmp_action(sc->default_action, sc->has_default_errno, sc->default_errno);

	/* libseccomp refuses a rule whose action is the default one: it would change nothing. */
	if (action == default_action)
		return 0;
	for (size_t i = 0; i < rule->n_names; i++) {
		int nr = seccomp_syscall_resolve_name(rule->names[i]);
		int ret;

		if (nr == __NR_SCMP_ERROR) {
			if (!restricts(rule->action) || restricts(sc->default_action))
				continue;
			errno = EINVAL;
			return failed(f, "linux.seccomp.syscalls[%zu]: unknown system call \"%s\": "
				      "cannot restrict it", r, rule->names[i]);
		}
		ret = add_call(ctx, nr, action, rule);
		if (ret < 0) {
			errno = -ret;
			return failed(f, "linux.seccomp.syscalls[%zu]: add a rule for %s", r, rule->names[i]);
		}
	}
	return 0;
}

/* Build the filter; *out is a scmp_filter_ctx to load or export, freed with seccomp_free_filter. */
int seccomp_build(const struct oci_seccomp *sc, void **out, struct failure *f)
{
	scmp_filter_ctx ctx = seccomp_init(scmp_action(sc->default_action, sc->has_default_errno,
						       sc->default_errno));

	if (!ctx) {
		errno = ENOMEM;
		return failed(f, "linux.seccomp: create a filter");
	}
	if (add_arches(ctx, sc, f) < 0 || set_attributes(ctx, sc, f) < 0)
		goto fail;
	for (size_t r = 0; r < sc->n_rules; r++) {
		if (add_rule(ctx, sc, r, f) < 0)
			goto fail;
	}
	*out = ctx;
	return 0;
fail:
	seccomp_release(ctx);
	return -1;
}

/* seccomp_load(3): from now on the filter applies to this thread and every child. */
int seccomp_load_filter(void *ctx)
{
	int ret = seccomp_load(ctx);

	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return 0;
}

void seccomp_free_filter(void *ctx)
{
	seccomp_release(ctx);
}

/* Build without loading: to find a mistake in linux.seccomp before the container starts. */
int seccomp_check(const struct oci_seccomp *sc, struct failure *f)
{
	void *ctx;

	if (seccomp_build(sc, &ctx, f) < 0)
		return -1;
	seccomp_free_filter(ctx);
	return 0;
}

/* Build and load, in the container's init (security.c step 2 or 8). */
int seccomp_apply(const struct oci_seccomp *sc, struct failure *f)
{
	void *ctx;
	int ret;

	if (seccomp_build(sc, &ctx, f) < 0)
		return -1;
	ret = seccomp_load_filter(ctx);
	if (ret < 0)
		failed(f, "linux.seccomp: load the filter");
	seccomp_free_filter(ctx);
	return ret;
}
