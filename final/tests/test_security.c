/*
 * test_security.c - the security pieces on their own, each in a forked
 * child: capability sets from docker's flags and from a profile, checked
 * in /proc/self/status (proc(5)); seccomp filters that deny with the
 * configured errno; the terminal handed over --console-socket; and the two
 * runc escapes of CVE.md against an unprotected runtime (they work) and
 * against box's defences (they do not).
 */
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "testlib.h"

/* ---- from security ---------------------------------------- */

enum { STATUS_MAX = 8192, CHILD_FAILED = 99 };

static uint64_t cap_bit(const char *name)
{
	return 1ULL << oci_capability_number(name);
}

static uint64_t all_caps(void)
{
	int last = last_cap();

	return (1ULL << (last + 1)) - 1;
}

static void test_docker_default_capabilities_are_podmans_14(void **state)
{
	struct security_flags flags = { 0 };
	uint64_t caps;

	(void)state;
	assert_int_equal(compute_caps(&flags, all_caps(), &caps, NULL), 0);
	assert_int_equal(caps, 0xa80425fb);	/* CapEff that podman and docker containers showed */
}

static void test_cap_add_and_drop_accept_docker_spellings(void **state)
{
	struct security_flags flags = { .cap_add = { "sys_admin" }, .n_cap_add = 1, .cap_drop = { "CAP_NET_RAW" },
					.n_cap_drop = 1 };
	uint64_t caps;

	(void)state;
	assert_int_equal(compute_caps(&flags, all_caps(), &caps, NULL), 0);
	assert_int_equal(caps, 0xa82405fb);	/* podman's CapBnd with --cap-add SYS_ADMIN --cap-drop NET_RAW */
}

static void test_drop_all_then_add_one(void **state)
{
	struct security_flags flags = { .cap_add = { "CHOWN" }, .n_cap_add = 1, .cap_drop = { "ALL" }, .n_cap_drop = 1 };
	uint64_t caps;

	(void)state;
	assert_int_equal(compute_caps(&flags, all_caps(), &caps, NULL), 0);
	assert_int_equal(caps, cap_bit("CAP_CHOWN"));
}

static void test_privileged_gets_every_capability_but_what_is_dropped(void **state)
{
	struct security_flags flags = { .privileged = true, .cap_drop = { "SYS_MODULE" }, .n_cap_drop = 1 };
	uint64_t caps;

	(void)state;
	assert_int_equal(compute_caps(&flags, all_caps(), &caps, NULL), 0);
	assert_int_equal(caps, all_caps() & ~cap_bit("CAP_SYS_MODULE"));
}

static void test_unknown_capability_flag_is_named(void **state)
{
	struct security_flags flags = { .cap_add = { "FLY" }, .n_cap_add = 1 };
	struct failure f = { "" };
	uint64_t caps;

	(void)state;
	assert_int_equal(compute_caps(&flags, all_caps(), &caps, &f), -1);
	assert_string_equal(f.what, "--cap-add FLY: no such capability");
}

static void test_default_profile_fills_caps_seccomp_and_masked_paths(void **state)
{
	struct security_flags flags = { .no_new_privileges = true };
	struct oci_process proc = { 0 };
	struct oci_linux lin = { 0 };
	struct failure f = { "" };

	(void)state;
	assert_int_equal(default_profile(&proc, &lin, &flags, &f), 0);
	assert_int_equal(proc.caps[CAPS_EFFECTIVE], 0xa80425fb);
	assert_int_equal(proc.caps[CAPS_INHERITABLE], 0);
	assert_true(proc.no_new_privileges);
	assert_true(lin.has_seccomp);
	assert_int_equal(lin.n_masked_paths, 12);
	flags.privileged = true;
	assert_int_equal(default_profile(&proc, &lin, &flags, &f), 0);
	assert_false(lin.has_seccomp);
	assert_int_equal(lin.n_masked_paths, 0);
	free(lin.masked_paths);
	free(lin.readonly_paths);
}

/* ---- applied in a child ------------------------------------------------------------ */

struct child_result {
	int exit_status;
	char status[STATUS_MAX];	/* the child's /proc/self/status */
	char message[STATUS_MAX];	/* its struct failure, if it failed */
};

/* Fork; the child runs apply(arg), then sends /proc/self/status (or its failure) back. */
static struct child_result in_child(int (*apply)(const void *arg, struct failure *f), const void *arg)
{
	struct child_result r = { 0 };
	int pipefd[2], wstatus;
	ssize_t n, got = 0;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		struct failure f = { "" };
		char buf[STATUS_MAX];
		int fd;

		close(pipefd[0]);
		if (apply(arg, &f) < 0) {
			dprintf(pipefd[1], "FAILED %s: %s", f.what, strerror(errno));
			_exit(CHILD_FAILED);
		}
		fd = open("/proc/self/status", O_RDONLY);
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0 && write(pipefd[1], buf, (size_t)n) != n)
			_exit(CHILD_FAILED);
		_exit(0);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], r.status + got, sizeof(r.status) - 1 - (size_t)got)) > 0)
		got += n;
	close(pipefd[0]);
	waitpid(pid, &wstatus, 0);
	r.exit_status = WEXITSTATUS(wstatus);
	if (r.exit_status == CHILD_FAILED)
		snprintf(r.message, sizeof(r.message), "%s", r.status);
	return r;
}

/* The value of "Name:\t..." in a /proc/PID/status text. */
static const char *field(const struct child_result *r, const char *name)
{
	static char value[256];
	char key[64];
	const char *at;

	snprintf(key, sizeof(key), "\n%s:\t", name);
	at = strstr(r->status, key);
	if (!at)
		return "";
	at += strlen(key);
	snprintf(value, sizeof(value), "%.*s", (int)strcspn(at, "\n"), at);
	return value;
}

struct profile {
	struct oci_process proc;
	struct oci_seccomp *seccomp;
};

static int apply_profile(const void *arg, struct failure *f)
{
	const struct profile *p = arg;

	return apply_security(&p->proc, p->seccomp, f);
}

static struct oci_seccomp allow_all = { .default_action = OCI_ACT_ALLOW };

static void test_profile_for_a_user_is_applied_in_order(void **state)
{
	uint32_t gids[] = { 10 };
	uint64_t bind = cap_bit("CAP_NET_BIND_SERVICE");
	struct profile p = {
		.proc = {
			.user = { .uid = 1000, .gid = 1000, .has_umask = true, .umask = 027,
				  .additional_gids = gids, .n_additional_gids = 1 },
			.has_caps = true,
			.caps = { [CAPS_BOUNDING] = 0xa80425fb, [CAPS_EFFECTIVE] = bind, [CAPS_PERMITTED] = bind,
				  [CAPS_INHERITABLE] = bind, [CAPS_AMBIENT] = bind },
			.no_new_privileges = true,
		},
		.seccomp = &allow_all,
	};
	struct child_result r;

	(void)state;
	if (!is_root())
		skip();
	r = in_child(apply_profile, &p);
	assert_string_equal(r.message, "");
	assert_string_equal(field(&r, "Uid"), "1000\t1000\t1000\t1000");
	assert_string_equal(field(&r, "Gid"), "1000\t1000\t1000\t1000");
	assert_string_equal(field(&r, "Groups"), "10 ");
	assert_string_equal(field(&r, "Umask"), "0027");
	assert_string_equal(field(&r, "CapBnd"), "00000000a80425fb");
	assert_string_equal(field(&r, "CapEff"), "0000000000000400");
	assert_string_equal(field(&r, "CapPrm"), "0000000000000400");
	assert_string_equal(field(&r, "CapInh"), "0000000000000400");
	assert_string_equal(field(&r, "CapAmb"), "0000000000000400");
	assert_string_equal(field(&r, "NoNewPrivs"), "1");
	assert_string_equal(field(&r, "Seccomp"), "2");
}

/*
 * Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: box loads it
 * before it drops capabilities, so a user with none still gets it.
 */
static void test_seccomp_without_no_new_privs_works_for_a_user_with_no_caps(void **state)
{
	struct profile p = {
		.proc = { .user = { .uid = 1000, .gid = 1000 }, .has_caps = true },
		.seccomp = &allow_all,
	};
	struct child_result r;

	(void)state;
	if (!is_root())
		skip();
	r = in_child(apply_profile, &p);
	assert_string_equal(r.message, "");
	assert_string_equal(field(&r, "CapEff"), "0000000000000000");
	assert_string_equal(field(&r, "CapBnd"), "0000000000000000");
	assert_string_equal(field(&r, "NoNewPrivs"), "0");
	assert_string_equal(field(&r, "Seccomp"), "2");
}

static void test_root_keeps_exactly_the_configured_caps(void **state)
{
	struct profile p = {
		.proc = { .has_caps = true, .caps = { [CAPS_BOUNDING] = 0xa80425fb, [CAPS_EFFECTIVE] = 0x20,
						      [CAPS_PERMITTED] = 0xa80425fb } },
	};
	struct child_result r;

	(void)state;
	if (!is_root())
		skip();
	r = in_child(apply_profile, &p);
	assert_string_equal(r.message, "");
	assert_string_equal(field(&r, "Uid"), "0\t0\t0\t0");
	assert_string_equal(field(&r, "CapEff"), "0000000000000020");	/* before execve(2), as configured */
	assert_string_equal(field(&r, "CapPrm"), "00000000a80425fb");
	assert_string_equal(field(&r, "CapInh"), "0000000000000000");
	assert_string_equal(field(&r, "Seccomp"), "0");
	assert_string_equal(field(&r, "Umask"), "0022");
}

static void test_ambient_without_inheritable_is_not_raised(void **state)
{
	uint64_t kill = cap_bit("CAP_KILL");
	struct profile p = {
		.proc = { .has_caps = true, .caps = { [CAPS_BOUNDING] = kill, [CAPS_EFFECTIVE] = kill,
						      [CAPS_PERMITTED] = kill, [CAPS_AMBIENT] = kill } },
	};
	struct child_result r;

	(void)state;
	if (!is_root())
		skip();
	r = in_child(apply_profile, &p);
	assert_string_equal(r.message, "");
	assert_string_equal(field(&r, "CapAmb"), "0000000000000000");
	assert_string_equal(field(&r, "CapEff"), "0000000000000020");
}

static int apply_limits_and_oom(const void *arg, struct failure *f)
{
	const struct oci_process *proc = arg;

	if (apply_rlimits(0, proc, f) < 0 || apply_oom_score_adj(getpid(), proc, f) < 0)
		return -1;
	return 0;
}

/* In the child: drop CAP_SYS_RESOURCE (as this host's root lacks it), then try to raise a hard limit. */
static int raise_hard_limit_without_cap(const void *arg, struct failure *f)
{
	const struct oci_process *proc = arg;
	cap_t caps = cap_get_proc();
	cap_value_t res = CAP_SYS_RESOURCE;

	if (!caps || cap_set_flag(caps, CAP_EFFECTIVE, 1, &res, CAP_CLEAR) < 0 || cap_set_proc(caps) < 0)
		return failed(f, "drop CAP_SYS_RESOURCE for the test");
	cap_free(caps);
	return apply_rlimits(0, proc, f);
}

static void test_raising_a_hard_limit_without_cap_sys_resource_is_explained(void **state)
{
	struct rlimit now;
	struct oci_rlimit rl = { .resource = RLIMIT_NPROC, .type = "RLIMIT_NPROC" };
	struct oci_process proc = { .rlimits = &rl, .n_rlimits = 1 };
	struct child_result r;
	char want[512];

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NPROC, &now), 0);
	if (now.rlim_max == RLIM_INFINITY)
		skip();
	rl.soft = rl.hard = now.rlim_max + 1;
	r = in_child(raise_hard_limit_without_cap, &proc);
	assert_int_equal(r.exit_status, CHILD_FAILED);
	snprintf(want, sizeof(want), "FAILED process.rlimits[0]: RLIMIT_NPROC hard limit %llu is above the current "
		 "%llu, and raising it needs CAP_SYS_RESOURCE, which box does not have: Operation not permitted",
		 (unsigned long long)rl.hard, (unsigned long long)now.rlim_max);
	assert_string_equal(r.message, want);
}

static void test_lowered_rlimits_and_oom_score_adj_are_visible_in_the_child(void **state)
{
	struct oci_rlimit rl = { .resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .soft = 100, .hard = 200 };
	struct oci_process proc = { .rlimits = &rl, .n_rlimits = 1, .has_oom_score_adj = true, .oom_score_adj = 100 };
	int pipefd[2], wstatus;
	char buf[64] = "";
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		struct failure f = { "" };
		struct rlimit got;
		char oom[16] = "";
		int fd;

		if (apply_limits_and_oom(&proc, &f) < 0 || getrlimit(RLIMIT_NOFILE, &got) < 0)
			_exit(CHILD_FAILED);
		fd = open("/proc/self/oom_score_adj", O_RDONLY);
		if (fd < 0 || read(fd, oom, sizeof(oom) - 1) < 0)
			_exit(CHILD_FAILED);
		dprintf(pipefd[1], "%llu %llu %s", (unsigned long long)got.rlim_cur,
			(unsigned long long)got.rlim_max, oom);
		_exit(0);
	}
	close(pipefd[1]);
	assert_true(read(pipefd[0], buf, sizeof(buf) - 1) > 0);
	close(pipefd[0]);
	waitpid(pid, &wstatus, 0);
	assert_string_equal(buf, "100 200 100\n");
}


/* ---- from seccomp ---------------------------------------- */

enum { CHILD_SETUP_FAILED = 99 };

/* A linux.seccomp object as JSON text, parsed through a runc spec config. */
static void parse_seccomp(const char *json, struct oci_config *cfg)
{
	struct failure f = { "" };
	json_error_t err;
	json_t *sc = json_loads(json, 0, &err);

	if (!sc)
		fail_msg("bad test JSON: %s", err.text);
	if (parse_runc_spec_with("linux.seccomp", sc, cfg, &f) < 0)
		fail_msg("%s", f.what);
}

/* libseccomp's pseudo filter code for sc, as text (seccomp_export_pfc(3)). */
static char *pfc_of(const struct oci_seccomp *sc)
{
	struct failure f = { "" };
	void *ctx;
	int fd = memfd_create("pfc", MFD_CLOEXEC);
	char *text = calloc(1, 65536);

	assert_int_equal(seccomp_build(sc, &ctx, &f), 0);
	assert_int_equal(seccomp_export_pfc(ctx, fd), 0);
	seccomp_free_filter(ctx);
	assert_true(pread(fd, text, 65535, 0) > 0);
	close(fd);
	return text;
}

/*
 * Fork; the child loads the filter (with no_new_privs, as a container
 * would) and makes one raw system call; its errno comes back as the exit
 * status (0 if the call worked). A signal comes back as 128 + N.
 */
static int errno_in_child(const struct oci_seccomp *sc, long nr, long a0, long a1)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct failure f = { "" };

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_apply(sc, &f) < 0)
			_exit(CHILD_SETUP_FAILED);
		/* exit_group(2) itself: AddressSanitizer's _exit would first run its leak
		 * checker, whose system calls a strict filter denies. */
		syscall(SYS_exit_group, syscall(nr, a0, a1) < 0 ? errno : 0);
	}
	assert_true(waitpid(pid, &status, 0) == pid);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static void test_pfc_shows_the_rule_with_its_errno(void **state)
{
	struct oci_config cfg;
	char *pfc;

	(void)state;
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\"],"
		      " \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38}]}",
		      &cfg);
	pfc = pfc_of(&cfg.lin.seccomp);
	assert_non_null(strstr(pfc, "if ($syscall == 83)\n    action ERRNO(38);"));
	assert_non_null(strstr(pfc, "# default action\n  action ALLOW;"));
	free(pfc);
	oci_free(&cfg);
}

static void test_errno_defaults_to_eperm(void **state)
{
	struct oci_config cfg;
	char *pfc;

	(void)state;
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
		      " \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\"}]}", &cfg);
	pfc = pfc_of(&cfg.lin.seccomp);
	assert_non_null(strstr(pfc, "action ERRNO(1);"));
	free(pfc);
	oci_free(&cfg);
}

static void test_denied_call_fails_with_the_configured_errno(void **state)
{
	struct oci_config cfg;

	(void)state;
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
		      " \"syscalls\": [{\"names\": [\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 77}]}",
		      &cfg);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getpriority, PRIO_PROCESS, 0), 77);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getppid, 0, 0), 0);
	oci_free(&cfg);
}

static void test_default_action_applies_to_calls_not_listed(void **state)
{
	struct oci_config cfg;

	(void)state;
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38, \"syscalls\": [{\"names\":"
		      " [\"exit\", \"exit_group\", \"getppid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}", &cfg);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getppid, 0, 0), 0);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getpriority, PRIO_PROCESS, 0), ENOSYS);
	oci_free(&cfg);
}

static void test_argument_condition_decides(void **state)
{
	struct oci_config cfg;

	(void)state;
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getpriority\"],"
		      " \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 78,"
		      " \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}", &cfg);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getpriority, PRIO_PGRP, 0), 78);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getpriority, PRIO_PROCESS, 0), 0);
	oci_free(&cfg);
}

static void test_masked_eq_compares_the_masked_bits(void **state)
{
	struct oci_config cfg;

	(void)state;
	/* (who & 0xf0) == 0x10 is denied: who 0x7fff0013 is, 0x7fff0023 is not (then: no such process) */
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getpriority\"],"
		      " \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 79, \"args\": [{\"index\": 1, \"value\": 240,"
		      " \"valueTwo\": 16, \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}", &cfg);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getpriority, PRIO_PROCESS, 0x7fff0013), 79);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getpriority, PRIO_PROCESS, 0x7fff0023), ESRCH);
	oci_free(&cfg);
}

static void test_two_conditions_on_one_argument_mean_either(void **state)
{
	struct oci_config cfg;

	(void)state;
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getpriority\"],"
		      " \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 80, \"args\": ["
		      "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
		      "{\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]}]}", &cfg);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getpriority, PRIO_PGRP, 0), 80);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getpriority, PRIO_USER, 0), 80);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getpriority, PRIO_PROCESS, 0), 0);
	oci_free(&cfg);
}

static void test_kill_process_ends_the_process_with_sigsys(void **state)
{
	struct oci_config cfg;

	(void)state;
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
		      " \"syscalls\": [{\"names\": [\"getpriority\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}", &cfg);
	assert_int_equal(errno_in_child(&cfg.lin.seccomp, SYS_getpriority, PRIO_PROCESS, 0), 128 + SIGSYS);
	oci_free(&cfg);
}

static void test_unknown_name_is_skipped_when_it_would_only_allow(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	void *ctx;

	(void)state;
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\":"
		      " [\"getppid\", \"no_such_call_yet\"], \"action\": \"SCMP_ACT_ALLOW\"}]}", &cfg);
	assert_int_equal(seccomp_build(&cfg.lin.seccomp, &ctx, &f), 0);
	seccomp_free_filter(ctx);
	oci_free(&cfg);
}

static void test_unknown_name_is_refused_when_skipping_would_allow_it(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	void *ctx;

	(void)state;
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\":"
		      " [\"no_such_call_yet\"], \"action\": \"SCMP_ACT_ERRNO\"}]}", &cfg);
	assert_int_equal(seccomp_build(&cfg.lin.seccomp, &ctx, &f), -1);
	assert_string_equal(f.what, "linux.seccomp.syscalls[0]: unknown system call \"no_such_call_yet\": "
			    "cannot restrict it");
	oci_free(&cfg);
}

static void test_loading_does_not_set_no_new_privs_by_itself(void **state)
{
	struct oci_config cfg;
	int status;
	pid_t pid;

	(void)state;
	if (!is_root())
		skip();	/* without no_new_privs, loading needs CAP_SYS_ADMIN */
	parse_seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"]}", &cfg);
	pid = fork();
	if (pid == 0) {
		struct failure f = { "" };

		if (seccomp_apply(&cfg.lin.seccomp, &f) < 0)
			_exit(CHILD_SETUP_FAILED);
		_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	}
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	oci_free(&cfg);
}

static void test_docker_profile_allows_the_ordinary_and_denies_the_rest(void **state)
{
	uint64_t caps = 0;
	struct oci_seccomp sc;

	(void)state;
	for (size_t i = 0; docker_default_caps[i]; i++)
		caps |= 1ULL << oci_capability_number(docker_default_caps[i]);
	assert_int_equal(docker_seccomp(caps, &sc), 0);
	assert_int_equal(sc.n_architectures, 3);
	assert_int_equal(errno_in_child(&sc, SYS_getppid, 0, 0), 0);
	assert_int_equal(errno_in_child(&sc, SYS_unshare, 0, 0), EPERM);	/* needs CAP_SYS_ADMIN */
	assert_int_equal(errno_in_child(&sc, SYS_clone3, 0, 0), ENOSYS);	/* so glibc falls back to clone */
	assert_int_equal(errno_in_child(&sc, SYS_getpriority, PRIO_PROCESS, 0), 0);
	oci_seccomp_free(&sc);
}

static void test_docker_profile_grows_with_cap_sys_admin(void **state)
{
	uint64_t caps = 0;
	struct oci_seccomp with, without;

	(void)state;
	for (size_t i = 0; docker_default_caps[i]; i++)
		caps |= 1ULL << oci_capability_number(docker_default_caps[i]);
	assert_int_equal(docker_seccomp(caps, &without), 0);
	assert_int_equal(docker_seccomp(caps | (1ULL << oci_capability_number("CAP_SYS_ADMIN")), &with), 0);
	/* + the CAP_SYS_ADMIN rule; - the clone mask rule and the clone3 ENOSYS rule */
	assert_int_equal(with.n_rules, without.n_rules - 1);
	assert_int_equal(errno_in_child(&with, SYS_clone3, 0, 0), EINVAL);	/* allowed: the kernel checks the size */
	oci_seccomp_free(&with);
	oci_seccomp_free(&without);
}


/* ---- from console ---------------------------------------- */

/*
 * Fork a "container": it makes a pty, sets its size, sends the master on
 * sock, takes the slave as its terminal and runs argv. Returns its pid.
 */
static pid_t container_with_tty(int sock, char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int master, slave;

		if (console_create(&master, &slave) < 0 || console_set_size(master, 30, 100) < 0 ||
		    console_send_master(sock, master) < 0 || console_become_stdio(slave) < 0)
			_exit(99);
		close(master);
		close(sock);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Everything the program wrote to its terminal, until it closed (EIO on the master). */
static void read_all(int master, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1 && (n = read(master, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
}

static void test_master_arrives_and_the_slave_is_the_programs_terminal(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "tty; test -t 0 && test -t 1 && test -t 2 && echo all-tty", NULL };
	char out[512];
	int sv[2], master, status;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = container_with_tty(sv[1], argv);
	close(sv[1]);
	master = console_receive_master(sv[0]);
	assert_true(master >= 0);
	read_all(master, out, sizeof(out));
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(strncmp(out, "/dev/pts/", 9), 0);
	assert_non_null(strstr(out, "all-tty"));
	close(master);
	close(sv[0]);
}

static void test_console_size_is_set_before_the_program_starts(void **state)
{
	char *argv[] = { "/bin/stty", "size", NULL };
	char out[64];
	int sv[2], master, status;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = container_with_tty(sv[1], argv);
	close(sv[1]);
	master = console_receive_master(sv[0]);
	read_all(master, out, sizeof(out));
	waitpid(pid, &status, 0);
	assert_string_equal(out, "30 100\r\n");
	close(master);
	close(sv[0]);
}

static void test_the_program_is_a_session_leader_with_a_controlling_tty(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "ps -o sid=,pid=,tty= -p $$", NULL };
	char out[256];
	int sv[2], master, status, sid = 0, pid_seen = -1;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = container_with_tty(sv[1], argv);
	close(sv[1]);
	master = console_receive_master(sv[0]);
	read_all(master, out, sizeof(out));
	waitpid(pid, &status, 0);
	assert_int_equal(sscanf(out, "%d %d", &sid, &pid_seen), 2);
	assert_int_equal(sid, pid_seen);
	assert_non_null(strstr(out, "pts/"));
	close(master);
	close(sv[0]);
}

/* The real way in: a path to a listening socket, as conmon's /tmp/conmon-term.XXXXXX. */
static void test_console_connect_reaches_a_listening_socket(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char *argv[] = { "/bin/true", NULL };
	int listener, conn, master, status, sock;
	pid_t pid;

	(void)state;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/box-console-%d.sock", (int)getpid());
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(listener, 1), 0);
	sock = console_connect(addr.sun_path);
	assert_true(sock >= 0);
	pid = container_with_tty(sock, argv);
	close(sock);
	conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	master = console_receive_master(conn);
	assert_true(master >= 0);
	assert_true(isatty(master));
	waitpid(pid, &status, 0);
	close(master);
	close(conn);
	close(listener);
	unlink(addr.sun_path);
}

static void test_a_message_without_an_fd_is_refused(void **state)
{
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write(sv[1], "/dev/ptmx", 9), 9);
	assert_int_equal(console_receive_master(sv[0]), -1);
	assert_int_equal(errno, EBADMSG);
	close(sv[0]);
	close(sv[1]);
}

static void test_connect_to_a_missing_socket_fails_with_enoent(void **state)
{
	(void)state;
	assert_int_equal(console_connect("/nonexistent/console.sock"), -1);
	assert_int_equal(errno, ENOENT);
}


/* ---- from cve ---------------------------------------- */

static const char marker[] = "#!/bin/sh\necho pwned\n";

enum { REFUSED = 42, SEALED_WAIT_MS = 2000 };

static void copy_file(const char *from, const char *to)
{
	char cmd[2 * PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "cp %s %s", from, to);
	assert_int_equal(system(cmd), 0);
}

static bool same_content(const char *a, const char *b)
{
	char cmd[2 * PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", a, b);
	return system(cmd) == 0;
}

static pid_t spawn(char *const argv[], int out_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Run the CVE-2019-5736 attacker against the victim process; its exit status. */
static int attack_runtime_binary(pid_t victim)
{
	char pid_text[16], attacker[PATH_MAX];
	int null = open("/dev/null", O_WRONLY), status, victim_status;
	pid_t pid;

	snprintf(pid_text, sizeof(pid_text), "%d", (int)victim);
	snprintf(attacker, sizeof(attacker), "%s/cve-2019-5736", HELPER_DIR);
	pid = spawn((char *[]){ attacker, pid_text, (char *)marker, NULL }, null);
	waitpid(victim, &victim_status, 0);	/* the attacker waits for the victim to go */
	waitpid(pid, &status, 0);
	close(null);
	return WEXITSTATUS(status);
}

static void test_cve_2019_5736_overwrites_an_unprotected_runtime(void **state)
{
	char original[PATH_MAX], victim[PATH_MAX], content[64] = "";
	int fd;
	pid_t pid;

	(void)state;
	snprintf(original, sizeof(original), "%s/memfd-cost", HELPER_DIR);
	snprintf(victim, sizeof(victim), "/tmp/box-victim-%d", (int)getpid());
	copy_file(original, victim);
	pid = spawn((char *[]){ victim, "--sleep", "300", NULL }, -1);
	usleep(100 * 1000);	/* let it exec, so /proc/PID/exe is the victim binary */
	assert_int_equal(attack_runtime_binary(pid), 0);
	fd = open(victim, O_RDONLY);
	assert_true(read(fd, content, sizeof(content) - 1) > 0);
	close(fd);
	assert_string_equal(content, marker);
	unlink(victim);
}

static void test_cve_2019_5736_fails_against_a_sealed_copy(void **state)
{
	char original[PATH_MAX], victim[PATH_MAX], line[32] = "";
	int pipefd[2];
	pid_t pid;

	(void)state;
	snprintf(original, sizeof(original), "%s/memfd-cost", HELPER_DIR);
	snprintf(victim, sizeof(victim), "/tmp/box-victim-sealed-%d", (int)getpid());
	copy_file(original, victim);
	assert_int_equal(pipe(pipefd), 0);
	pid = spawn((char *[]){ victim, "--sealed-sleep", "300", NULL }, pipefd[1]);
	close(pipefd[1]);
	assert_true(read(pipefd[0], line, sizeof(line) - 1) > 0);	/* it has re-executed itself */
	close(pipefd[0]);
	assert_string_equal(line, "sealed=1\n");
	assert_int_equal(attack_runtime_binary(pid), 1);
	assert_true(same_content(original, victim));
	unlink(victim);
}

/* ---- CVE-2024-21626 ----------------------------------------------------------- */

/* A tiny root: the attacker, and an /etc/hostname that is not the host's. */
static void make_root(char *root, size_t size)
{
	char cmd[3 * PATH_MAX];

	snprintf(root, size, "/tmp/box-cveroot-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/etc && echo inside > %s/etc/hostname && cp %s/cve-2024-21626 %s/",
		 root, root, HELPER_DIR, root);
	assert_int_equal(system(cmd), 0);
}

static void remove_root(const char *root)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

enum defence { NO_DEFENCE, CHECK_CWD, CLOSE_FDS };

/*
 * A runtime's last steps, as runc 1.1.11 and older took them: a host
 * directory open without O_CLOEXEC, chroot into the container, the working
 * directory from process.cwd (here "/proc/self/fd/N": the leaked fd, or
 * "/"), then exec. Returns the attacker's exit status, or REFUSED.
 */
static int run_leaky_runtime(const char *root, bool cwd_is_leaked_fd, enum defence defence)
{
	int status, null = open("/dev/null", O_WRONLY);
	pid_t pid = fork();

	if (pid == 0) {
		int leaked = open("/", O_RDONLY | O_DIRECTORY);	/* no O_CLOEXEC: the bug */

		dup2(null, 1);
		if (leaked < 0 || chroot(root) < 0 || chdir("/") < 0)
			_exit(98);
		if (cwd_is_leaked_fd && fchdir(leaked) < 0)
			_exit(98);
		if (defence == CHECK_CWD && check_cwd_inside_root() < 0)
			_exit(REFUSED);
		if (defence == CLOSE_FDS && close_fds_from(3) < 0)
			_exit(98);
		execl("/cve-2024-21626", "cve-2024-21626", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	close(null);
	return WEXITSTATUS(status);
}

static void test_cve_2024_21626_leaked_cwd_escapes_without_defence(void **state)
{
	char root[PATH_MAX];

	(void)state;
	if (!is_root())
		skip();	/* chroot(2) */
	make_root(root, sizeof(root));
	assert_int_equal(run_leaky_runtime(root, true, NO_DEFENCE), 0);
	remove_root(root);
}

static void test_cve_2024_21626_leaked_fd_alone_escapes_without_defence(void **state)
{
	char root[PATH_MAX];

	(void)state;
	if (!is_root())
		skip();
	make_root(root, sizeof(root));
	assert_int_equal(run_leaky_runtime(root, false, NO_DEFENCE), 0);
	remove_root(root);
}

static void test_cve_2024_21626_cwd_outside_root_is_refused(void **state)
{
	char root[PATH_MAX];

	(void)state;
	if (!is_root())
		skip();
	make_root(root, sizeof(root));
	assert_int_equal(run_leaky_runtime(root, true, CHECK_CWD), REFUSED);
	remove_root(root);
}

static void test_cve_2024_21626_closed_fds_leave_no_way_out(void **state)
{
	char root[PATH_MAX];

	(void)state;
	if (!is_root())
		skip();
	make_root(root, sizeof(root));
	assert_int_equal(run_leaky_runtime(root, false, CLOSE_FDS), 1);
	remove_root(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_default_capabilities_are_podmans_14),
		cmocka_unit_test(test_cap_add_and_drop_accept_docker_spellings),
		cmocka_unit_test(test_drop_all_then_add_one),
		cmocka_unit_test(test_privileged_gets_every_capability_but_what_is_dropped),
		cmocka_unit_test(test_unknown_capability_flag_is_named),
		cmocka_unit_test(test_default_profile_fills_caps_seccomp_and_masked_paths),
		cmocka_unit_test(test_profile_for_a_user_is_applied_in_order),
		cmocka_unit_test(test_seccomp_without_no_new_privs_works_for_a_user_with_no_caps),
		cmocka_unit_test(test_root_keeps_exactly_the_configured_caps),
		cmocka_unit_test(test_ambient_without_inheritable_is_not_raised),
		cmocka_unit_test(test_raising_a_hard_limit_without_cap_sys_resource_is_explained),
		cmocka_unit_test(test_lowered_rlimits_and_oom_score_adj_are_visible_in_the_child),
		cmocka_unit_test(test_pfc_shows_the_rule_with_its_errno),
		cmocka_unit_test(test_errno_defaults_to_eperm),
		cmocka_unit_test(test_denied_call_fails_with_the_configured_errno),
		cmocka_unit_test(test_default_action_applies_to_calls_not_listed),
		cmocka_unit_test(test_argument_condition_decides),
		cmocka_unit_test(test_masked_eq_compares_the_masked_bits),
		cmocka_unit_test(test_two_conditions_on_one_argument_mean_either),
		cmocka_unit_test(test_kill_process_ends_the_process_with_sigsys),
		cmocka_unit_test(test_unknown_name_is_skipped_when_it_would_only_allow),
		cmocka_unit_test(test_unknown_name_is_refused_when_skipping_would_allow_it),
		cmocka_unit_test(test_loading_does_not_set_no_new_privs_by_itself),
		cmocka_unit_test(test_docker_profile_allows_the_ordinary_and_denies_the_rest),
		cmocka_unit_test(test_docker_profile_grows_with_cap_sys_admin),
		cmocka_unit_test(test_master_arrives_and_the_slave_is_the_programs_terminal),
		cmocka_unit_test(test_console_size_is_set_before_the_program_starts),
		cmocka_unit_test(test_the_program_is_a_session_leader_with_a_controlling_tty),
		cmocka_unit_test(test_console_connect_reaches_a_listening_socket),
		cmocka_unit_test(test_a_message_without_an_fd_is_refused),
		cmocka_unit_test(test_connect_to_a_missing_socket_fails_with_enoent),
		cmocka_unit_test(test_cve_2019_5736_overwrites_an_unprotected_runtime),
		cmocka_unit_test(test_cve_2019_5736_fails_against_a_sealed_copy),
		cmocka_unit_test(test_cve_2024_21626_leaked_cwd_escapes_without_defence),
		cmocka_unit_test(test_cve_2024_21626_leaked_fd_alone_escapes_without_defence),
		cmocka_unit_test(test_cve_2024_21626_cwd_outside_root_is_refused),
		cmocka_unit_test(test_cve_2024_21626_closed_fds_leave_no_way_out),
	};

	if (getenv("TEST") && getenv("TEST")[0])
		cmocka_set_test_filter(getenv("TEST"));
	return cmocka_run_group_tests_name("step07 security unit", tests, NULL, NULL);
}
