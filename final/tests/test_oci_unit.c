/*
 * test_oci_unit.c - config.json, read and written: what runc spec and the
 * three clients write is accepted and read right, each kind of mistake is
 * refused with one line that names the field; mount options sorted into
 * flags, data and propagation; `box-oci spec` equal to `runc spec`; and
 * the pure parts of the runtime (oci_to_spec, state.c).
 */
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <sched.h>
#include "testlib.h"

/* ---- from oci ---------------------------------------- */

static uint64_t cap_bit(const char *name)
{
	return 1ULL << oci_capability_number(name);
}

/* Expect a parse failure with errno err and exactly this message. */
static void expect_failure(int ret, const struct failure *f, int err, const char *message)
{
	assert_int_equal(ret, -1);
	assert_int_equal(errno, err);
	assert_string_equal(f->what, message);
}

static void test_runc_spec_is_read_field_by_field(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/runc-spec.json", DATA_DIR);
	assert_int_equal(oci_load(path, &cfg, &f), 0);
	assert_string_equal(cfg.oci_version, "1.0.2-dev");
	assert_true(cfg.process.terminal);
	assert_int_equal(cfg.process.n_args, 1);
	assert_string_equal(cfg.process.args[0], "sh");
	assert_string_equal(cfg.process.cwd, "/");
	assert_int_equal(cfg.process.user.uid, 0);
	assert_true(cfg.process.no_new_privileges);
	assert_int_equal(cfg.process.caps[CAPS_BOUNDING],
			 cap_bit("CAP_AUDIT_WRITE") | cap_bit("CAP_KILL") | cap_bit("CAP_NET_BIND_SERVICE"));
	assert_false(cfg.process.cap_set_given[CAPS_INHERITABLE]);
	assert_int_equal(cfg.process.n_rlimits, 1);
	assert_int_equal(cfg.process.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(cfg.process.rlimits[0].hard, 1024);
	assert_string_equal(cfg.root.path, "rootfs");
	assert_true(cfg.root.readonly);
	assert_string_equal(cfg.hostname, "runc");
	assert_int_equal(cfg.n_mounts, 7);
	assert_string_equal(cfg.mounts[1].destination, "/dev");
	assert_int_equal(cfg.lin.n_namespaces, 5);
	assert_int_equal(cfg.lin.namespaces[1].type, NS_NETWORK);
	assert_int_equal(cfg.lin.n_masked_paths, 10);
	assert_int_equal(cfg.lin.n_readonly_paths, 5);
	assert_int_equal(cfg.lin.resources.n_devices, 1);
	assert_false(cfg.lin.resources.devices[0].allow);
	assert_int_equal(cfg.lin.resources.devices[0].type, 'a');
	oci_free(&cfg);
}

static void test_runc_spec_ambient_without_inheritable_is_a_warning(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	assert_int_equal(parse_runc_spec_with("hostname", json_string("x"), &cfg, &f), 0);
	assert_int_equal(cfg.n_warnings, 1);
	assert_non_null(strstr(cfg.warnings[0], "process.capabilities.ambient"));
	oci_free(&cfg);
}

static void test_podman_config_with_flags_is_read(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	char path[PATH_MAX];
	bool tmpcopyup = false;

	(void)state;
	snprintf(path, sizeof(path), "%s/podman-run-flags.config.json", DATA_DIR);
	assert_int_equal(oci_load(path, &cfg, &f), 0);
	assert_int_equal(cfg.process.user.uid, 1000);
	assert_int_equal(cfg.process.user.n_additional_gids, 2);
	assert_int_equal(cfg.process.user.additional_gids[1], 10);
	assert_true(cfg.process.user.has_umask);
	assert_int_equal(cfg.process.user.umask, 022);
	assert_int_equal(cfg.process.caps[CAPS_AMBIENT], cap_bit("CAP_SYS_ADMIN"));
	assert_int_equal(cfg.process.rlimits[0].soft, 100);
	assert_int_equal(cfg.process.rlimits[0].hard, 200);
	assert_true(cfg.process.has_oom_score_adj);
	assert_int_equal(cfg.process.oom_score_adj, 100);
	assert_int_equal(cfg.lin.resources.memory_limit, 67108864);
	assert_int_equal(cfg.lin.resources.cpu_quota, 50000);
	assert_int_equal(cfg.lin.resources.pids_limit, 50);
	assert_int_equal(cfg.lin.n_sysctl, 1);
	assert_string_equal(cfg.lin.sysctl[0].key, "net.ipv4.ip_forward");
	assert_int_equal(strncmp(cfg.lin.cgroups_path, "/libpod_parent/libpod-", 22), 0);
	assert_int_equal(cfg.lin.seccomp.default_errno, 38);
	for (size_t i = 0; i < cfg.n_mounts; i++)
		tmpcopyup |= strcmp(cfg.mounts[i].destination, "/scratch") == 0 && cfg.mounts[i].parsed.tmpcopyup;
	assert_true(tmpcopyup);
	assert_int_equal(cfg.n_warnings, 0);
	oci_free(&cfg);
}

static void test_docker_config_with_zero_values_and_a_hook_is_read(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	char path[PATH_MAX];
	const struct oci_seccomp_rule *clone = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/docker-run-d.config.json", DATA_DIR);
	assert_int_equal(oci_load(path, &cfg, &f), 0);
	assert_int_equal(cfg.lin.resources.cpu_shares, 0);
	assert_int_equal(cfg.lin.resources.blkio_weight, 0);
	assert_int_equal(cfg.hooks.n[HOOK_PRESTART], 1);
	assert_string_equal(cfg.hooks.list[HOOK_PRESTART][0].args[0], "libnetwork-setkey");
	assert_int_equal(strncmp(cfg.hooks.list[HOOK_PRESTART][0].path, "/proc/", 6), 0);
	assert_true(cfg.process.has_oom_score_adj);
	assert_int_equal(cfg.lin.seccomp.default_action, OCI_ACT_ERRNO);
	assert_false(cfg.lin.seccomp.has_default_errno);
	for (size_t i = 0; i < cfg.lin.seccomp.n_rules; i++) {
		if (strcmp(cfg.lin.seccomp.rules[i].names[0], "clone") == 0)
			clone = &cfg.lin.seccomp.rules[i];
	}
	assert_non_null(clone);
	assert_int_equal(clone->args[0].op, OCI_OP_MASKED_EQ);
	assert_int_equal(clone->args[0].value, 2114060288);
	assert_int_equal(cfg.lin.resources.devices[7].major, 10);
	assert_false(cfg.lin.resources.devices[7].allow);
	oci_free(&cfg);
}

static void test_containerd_relative_root_is_kept_relative(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/containerd-ctr-run-d.config.json", DATA_DIR);
	assert_int_equal(oci_load(path, &cfg, &f), 0);
	assert_string_equal(cfg.root.path, "rootfs");
	assert_string_equal(cfg.lin.cgroups_path, "/default/c1");
	assert_int_equal(cfg.lin.resources.devices[8].major, 136);
	assert_int_equal(cfg.lin.resources.devices[8].minor, -1);
	oci_free(&cfg);
}

static void test_process_json_of_each_client_is_read(void **state)
{
	static const char *const files[] = {
		"podman-exec-it.process.json", "containerd-exec-t.process.json", "docker-exec-it.process.json",
	};
	char path[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct oci_process proc;
		struct failure f = { "" };

		snprintf(path, sizeof(path), "%s/%s", DATA_DIR, files[i]);
		assert_int_equal(oci_load_process(path, &proc, &f), 0);
		assert_true(proc.terminal);
		assert_true(proc.n_args > 0);
		oci_process_free(&proc);
	}
}

static void test_malformed_json_names_line_and_column(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	assert_int_equal(oci_parse_string("{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": }\n", &cfg, &f), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(strncmp(f.what, "config.json: line 3, column 11: ", 32), 0);
}

static void test_wrong_type_names_the_field(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	expect_failure(parse_runc_spec_with("process.args", json_pack("[s, i]", "sh", 5), &cfg, &f), &f, EINVAL,
		       "config.json: process.args[1]: expected a string, got a number");
	expect_failure(parse_runc_spec_with("process.terminal", json_string("yes"), &cfg, &f), &f, EINVAL,
		       "config.json: process.terminal: expected a boolean, got a string");
}

static void test_unknown_namespace_type_is_refused(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	json_t *ns = json_pack("[{s:s}, {s:s}, {s:s}]", "type", "pid", "type", "mount", "type", "foo");

	(void)state;
	expect_failure(parse_runc_spec_with("linux.namespaces", ns, &cfg, &f), &f, EINVAL,
		       "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"");
}

static void test_namespace_given_twice_is_refused(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	json_t *ns = json_pack("[{s:s}, {s:s}]", "type", "pid", "type", "pid");

	(void)state;
	expect_failure(parse_runc_spec_with("linux.namespaces", ns, &cfg, &f), &f, EINVAL,
		       "config.json: linux.namespaces[1].type: namespace type \"pid\" given twice");
}

static void test_invalid_seccomp_action_is_refused(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	json_t *sc = json_pack("{s:s, s:[{s:[s], s:s}]}", "defaultAction", "SCMP_ACT_ALLOW", "syscalls",
			       "names", "mkdir", "action", "SCMP_ACT_FOO");

	(void)state;
	expect_failure(parse_runc_spec_with("linux.seccomp", sc, &cfg, &f), &f, EINVAL,
		       "config.json: linux.seccomp.syscalls[0].action: invalid seccomp action \"SCMP_ACT_FOO\"");
}

static void test_seccomp_notify_is_refused_as_unsupported(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	json_t *sc = json_pack("{s:s, s:[{s:[s], s:s}]}", "defaultAction", "SCMP_ACT_ALLOW", "syscalls",
			       "names", "mkdir", "action", "SCMP_ACT_NOTIFY");

	(void)state;
	expect_failure(parse_runc_spec_with("linux.seccomp", sc, &cfg, &f), &f, ENOTSUP,
		       "config.json: linux.seccomp.syscalls[0].action: \"SCMP_ACT_NOTIFY\" is not supported by box");
}

static void test_missing_required_fields_are_named(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	expect_failure(parse_runc_spec_with("root", NULL, &cfg, &f), &f, EINVAL, "config.json: root: missing (required)");
	expect_failure(parse_runc_spec_with("process.cwd", NULL, &cfg, &f), &f, EINVAL,
		       "config.json: process.cwd: missing (required)");
	expect_failure(parse_runc_spec_with("process.user.uid", NULL, &cfg, &f), &f, EINVAL,
		       "config.json: process.user.uid: missing (required)");
	expect_failure(parse_runc_spec_with("ociVersion", NULL, &cfg, &f), &f, EINVAL,
		       "config.json: ociVersion: missing (required)");
}

static void test_unsupported_fields_are_refused_by_name(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	expect_failure(parse_runc_spec_with("linux.intelRdt", json_pack("{s:s}", "closID", "x"), &cfg, &f), &f,
		       ENOTSUP, "config.json: linux.intelRdt: not supported by box");
	expect_failure(parse_runc_spec_with("linux.resources.memory", json_pack("{s:b}", "disableOOMKiller", 1),
					    &cfg, &f), &f, ENOTSUP,
		       "config.json: linux.resources.memory.disableOOMKiller: not supported by box");
	expect_failure(parse_runc_spec_with("process.scheduler", json_pack("{s:s}", "policy", "SCHED_FIFO"), &cfg, &f),
		       &f, ENOTSUP, "config.json: process.scheduler: not supported by box");
	expect_failure(parse_runc_spec_with("ociVersion", json_string("2.0.0"), &cfg, &f), &f, ENOTSUP,
		       "config.json: ociVersion: \"2.0.0\": box implements version 1.x");
}

static void test_fields_that_ask_for_nothing_are_accepted(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	assert_int_equal(parse_runc_spec_with("linux.resources.memory", json_pack("{s:b}", "disableOOMKiller", 0),
					      &cfg, &f), 0);
	oci_free(&cfg);
}

static void test_unknown_properties_are_ignored(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	assert_int_equal(parse_runc_spec_with("process.someFutureField", json_string("x"), &cfg, &f), 0);
	oci_free(&cfg);
}

static void test_apparmor_profile_is_a_warning_on_a_host_without_apparmor(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	if (access("/sys/module/apparmor", F_OK) == 0)
		skip();
	assert_int_equal(parse_runc_spec_with("process.apparmorProfile", json_string("docker-default"), &cfg, &f), 0);
	assert_int_equal(cfg.n_warnings, 2);
	assert_non_null(strstr(cfg.warnings[1], "process.apparmorProfile: ignored"));
	oci_free(&cfg);
}

static void test_rlim_infinity_as_go_writes_it_is_read(void **state)
{
	const char *text = "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"r\"}, \"process\": {"
			   "\"user\": {\"uid\": 0, \"gid\": 0}, \"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": "
			   "[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 18446744073709551615, \"hard\": 18446744073709551615}]}}";
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	assert_int_equal(oci_parse_string(text, &cfg, &f), 0);
	assert_true(cfg.process.rlimits[0].hard == UINT64_MAX);
	oci_free(&cfg);
}

static void test_rlimit_soft_above_hard_is_refused(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	json_t *rl = json_pack("[{s:s, s:i, s:i}]", "type", "RLIMIT_NOFILE", "soft", 200, "hard", 100);

	(void)state;
	expect_failure(parse_runc_spec_with("process.rlimits", rl, &cfg, &f), &f, EINVAL,
		       "config.json: process.rlimits[0]: soft limit 200 is above hard limit 100");
}

static void test_duplicate_keys_are_refused(void **state)
{
	const char *text = "{\"ociVersion\": \"1.0.2\", \"ociVersion\": \"1.0.2\"}";
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	assert_int_equal(oci_parse_string(text, &cfg, &f), -1);
	assert_non_null(strstr(f.what, "duplicate object key"));
}

static void test_effective_capability_not_permitted_is_refused(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	expect_failure(parse_runc_spec_with("process.capabilities.effective", json_pack("[s]", "CAP_SYS_ADMIN"),
					    &cfg, &f), &f, EINVAL,
		       "config.json: process.capabilities.effective: CAP_SYS_ADMIN is not in permitted");
}

static void test_capability_names_unknown_or_malformed(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	expect_failure(parse_runc_spec_with("process.capabilities.bounding", json_pack("[s]", "chown"), &cfg, &f),
		       &f, EINVAL,
		       "config.json: process.capabilities.bounding[0]: \"chown\" is not a capability name (CAP_...)");
	assert_int_equal(parse_runc_spec_with("process.capabilities.bounding",
					      json_pack("[s, s]", "CAP_KILL", "CAP_FROM_THE_FUTURE"), &cfg, &f), 0);
	assert_int_equal(cfg.process.caps[CAPS_BOUNDING], cap_bit("CAP_KILL"));
	assert_non_null(strstr(cfg.warnings[0], "bounding[1]: unknown capability, not granted"));
	oci_free(&cfg);
}

static void test_environment_entry_without_equals_is_refused(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	expect_failure(parse_runc_spec_with("process.env", json_pack("[s, s]", "A=1", "B"), &cfg, &f), &f, EINVAL,
		       "config.json: process.env[1]: \"B\" is not KEY=VALUE");
}

static void test_mount_option_box_does_not_do_is_refused(void **state)
{
	struct oci_config cfg;
	struct failure f = { "" };
	json_t *mounts = json_pack("[{s:s, s:s, s:s, s:[s, s]}]", "destination", "/data", "type", "bind",
				   "source", "/srv", "options", "rbind", "idmap");

	(void)state;
	expect_failure(parse_runc_spec_with("mounts", mounts, &cfg, &f), &f, ENOTSUP,
		       "config.json: mounts[0].options[1]: \"idmap\" is not supported by box");
}


/* ---- from mount_options ---------------------------------------- */

static struct mount_options parse(const char *const *words, size_t n)
{
	struct mount_options mo;
	struct failure f = { "" };

	assert_int_equal(parse_mount_options((char *const *)words, n, &mo, "mounts[0].options", &f), 0);
	return mo;
}

static void test_tmpfs_dev_options_split_into_flags_and_data(void **state)
{
	const char *words[] = { "nosuid", "strictatime", "mode=755", "size=65536k" };
	struct mount_options mo = parse(words, 4);

	(void)state;
	assert_int_equal(mo.flags, MS_NOSUID | MS_STRICTATIME);
	assert_string_equal(mo.data, "mode=755,size=65536k");
	assert_int_equal(mo.propagation, 0);
	mount_options_free(&mo);
}

static void test_devpts_words_the_kernel_parses_go_to_data_in_order(void **state)
{
	const char *words[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" };
	struct mount_options mo = parse(words, 6);

	(void)state;
	assert_int_equal(mo.flags, MS_NOSUID | MS_NOEXEC);
	assert_string_equal(mo.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	mount_options_free(&mo);
}

static void test_bind_with_rprivate_is_a_bind_plus_propagation(void **state)
{
	const char *words[] = { "bind", "rprivate", "nosuid", "noexec", "nodev" };
	struct mount_options mo = parse(words, 5);

	(void)state;
	assert_int_equal(mo.flags, MS_BIND | MS_NOSUID | MS_NOEXEC | MS_NODEV);
	assert_int_equal(mo.propagation, MS_PRIVATE | MS_REC);
	assert_null(mo.data);
}

static void test_rbind_is_recursive(void **state)
{
	const char *words[] = { "rbind", "ro" };
	struct mount_options mo = parse(words, 2);

	(void)state;
	assert_int_equal(mo.flags, MS_BIND | MS_REC | MS_RDONLY);
}

static void test_the_last_of_ro_and_rw_wins(void **state)
{
	const char *ro_rw[] = { "ro", "rw" };
	const char *rw_ro[] = { "rw", "ro" };
	struct mount_options a = parse(ro_rw, 2), b = parse(rw_ro, 2);

	(void)state;
	assert_int_equal(a.flags & MS_RDONLY, 0);
	assert_int_equal(a.cleared, MS_RDONLY);
	assert_int_equal(b.flags, MS_RDONLY);
	assert_int_equal(b.cleared, 0);
}

static void test_each_propagation_word(void **state)
{
	static const struct {
		const char *word;
		unsigned long flags;
	} cases[] = {
		{ "private", MS_PRIVATE }, { "rshared", MS_SHARED | MS_REC }, { "slave", MS_SLAVE },
		{ "rslave", MS_SLAVE | MS_REC }, { "runbindable", MS_UNBINDABLE | MS_REC },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mount_options mo = parse(&cases[i].word, 1);

		assert_int_equal(mo.propagation, cases[i].flags);
	}
}

static void test_recursive_read_only_is_a_mount_attribute(void **state)
{
	const char *words[] = { "rbind", "rro", "rnosuid", "rnoatime" };
	struct mount_options mo = parse(words, 4);

	(void)state;
	assert_int_equal(mo.attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
	assert_int_equal(mo.attr_clr, MOUNT_ATTR__ATIME);
	assert_int_equal(mo.flags & MS_RDONLY, 0);
}

static void test_tmpcopyup_is_noted_not_passed_to_the_kernel(void **state)
{
	const char *words[] = { "size=1m", "mode=1777", "rw", "rprivate", "nosuid", "nodev", "tmpcopyup" };
	struct mount_options mo = parse(words, 7);

	(void)state;
	assert_true(mo.tmpcopyup);
	assert_string_equal(mo.data, "size=1m,mode=1777");
	assert_int_equal(mo.flags, MS_NOSUID | MS_NODEV);
	mount_options_free(&mo);
}

static void test_idmap_is_refused(void **state)
{
	const char *words[] = { "rbind", "idmap" };
	struct mount_options mo;
	struct failure f = { "" };

	(void)state;
	assert_int_equal(parse_mount_options((char *const *)words, 2, &mo, "mounts[4].options", &f), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_string_equal(f.what, "config.json: mounts[4].options[1]: \"idmap\" is not supported by box");
}

static void test_no_options_means_no_flags_and_no_data(void **state)
{
	struct mount_options mo = parse(NULL, 0);

	(void)state;
	assert_int_equal(mo.flags, 0);
	assert_null(mo.data);
	assert_false(mo.tmpcopyup);
}


/* ---- from spec ---------------------------------------- */

/* Our default as a jansson tree, with runc's hostname for comparing. */
static json_t *default_tree(bool rootless)
{
	struct oci_config cfg;
	json_error_t err;
	json_t *tree;
	char *text;

	assert_int_equal(oci_default_config(&cfg, rootless), 0);
	free(cfg.hostname);
	cfg.hostname = strdup("runc");
	text = oci_to_string(&cfg);
	assert_non_null(text);
	tree = json_loads(text, 0, &err);
	assert_non_null(tree);
	free(text);
	oci_free(&cfg);
	return tree;
}

static void test_default_config_is_what_runc_spec_writes(void **state)
{
	json_t *ours = default_tree(false), *runc = load_data("runc-spec.json");

	(void)state;
	assert_true(json_equal(ours, runc));
	json_decref(ours);
	json_decref(runc);
}

static void test_rootless_default_is_what_runc_spec_rootless_writes(void **state)
{
	json_t *ours = default_tree(true), *runc = load_data("runc-spec-rootless.json");

	(void)state;
	if (getuid() != 0)
		skip();	/* runc-spec-rootless.json was made by root: hostID 0 */
	assert_true(json_equal(ours, runc));
	json_decref(ours);
	json_decref(runc);
}

static void test_runc_spec_reads_and_writes_back_unchanged(void **state)
{
	json_t *runc = load_data("runc-spec.json"), *back;
	struct oci_config cfg;
	struct failure f = { "" };
	char *text;

	(void)state;
	assert_int_equal(parse_tree(json_incref(runc), &cfg, &f), 0);
	text = oci_to_string(&cfg);
	back = json_loads(text, 0, NULL);
	assert_true(json_equal(back, runc));
	free(text);
	json_decref(back);
	json_decref(runc);
	oci_free(&cfg);
}

/* Parse, write, parse, write: the second text is the first (nothing lost or made up). */
static void test_each_client_config_survives_a_round_trip(void **state)
{
	static const char *const files[] = {
		"podman-run-d.config.json", "podman-run-flags.config.json", "podman-run-it.config.json",
		"containerd-ctr-run-d.config.json", "docker-run-d.config.json",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct oci_config a, b;
		struct failure f = { "" };
		char *first, *second;

		assert_int_equal(parse_tree(load_data(files[i]), &a, &f), 0);
		first = oci_to_string(&a);
		assert_int_equal(oci_parse_string(first, &b, &f), 0);
		second = oci_to_string(&b);
		assert_string_equal(first, second);
		free(first);
		free(second);
		oci_free(&a);
		oci_free(&b);
	}
}

static void test_infinite_rlimit_survives_a_round_trip(void **state)
{
	json_t *rl = json_pack("[{s:s, s:f, s:f}]", "type", "RLIMIT_NOFILE", "soft", 18446744073709551616.0,
			       "hard", 18446744073709551616.0);
	struct oci_config a, b;
	struct failure f = { "" };
	char *text;

	(void)state;
	assert_int_equal(parse_runc_spec_with("process.rlimits", rl, &a, &f), 0);
	assert_true(a.process.rlimits[0].soft == UINT64_MAX);
	text = oci_to_string(&a);
	assert_int_equal(oci_parse_string(text, &b, &f), 0);
	assert_true(b.process.rlimits[0].hard == UINT64_MAX);
	free(text);
	oci_free(&a);
	oci_free(&b);
}

static void test_write_refuses_to_overwrite(void **state)
{
	char path[PATH_MAX];
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	snprintf(path, sizeof(path), "%s/tmp-spec-%d.json", HELPER_DIR, (int)getpid());
	assert_int_equal(oci_default_config(&cfg, false), 0);
	assert_int_equal(oci_write(path, &cfg, &f), 0);
	assert_int_equal(oci_write(path, &cfg, &f), -1);
	assert_int_equal(errno, EEXIST);
	unlink(path);
	oci_free(&cfg);
}

/* ---- the spec, the state: oci_to_spec, run-config.c, state.c, devices.c ------------------------ */

/* A scratch directory, removed by the caller with remove_scratch. */
static char *scratch_dir(void)
{
	static char dir[] = "/tmp/box-unit.XXXXXX";

	strcpy(dir, "/tmp/box-unit.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_scratch(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_namespaces_become_clone_flags_and_paths_to_join(void **state)
{
	struct container_spec spec = { 0 };
	struct oci_config cfg;
	struct failure f = { "" };
	json_t *top = load_data("runc-spec.json");

	(void)state;
	set_at(top, "root.path", json_string("/"));
	set_at(top, "linux.namespaces", json_pack("[{s:s}, {s:s}, {s:s, s:s}]", "type", "pid", "type", "mount",
						  "type", "network", "path", "/run/netns/x"));
	assert_int_equal(parse_tree(top, &cfg, &f), 0);
	assert_int_equal(oci_to_spec(&cfg, "/", &spec, &f), 0);
	assert_int_equal(spec.new_namespaces, CLONE_NEWPID | CLONE_NEWNS);
	assert_string_equal(spec.join[NS_NETWORK], "/run/netns/x");
	assert_null(spec.join[NS_PID]);
	assert_false(spec.userns);
	oci_free(&cfg);
}

static void test_a_user_namespace_joined_by_path_is_refused(void **state)
{
	struct container_spec spec = { 0 };
	struct oci_config cfg;
	struct failure f = { "" };
	json_t *top = load_data("runc-spec.json");

	(void)state;
	set_at(top, "root.path", json_string("/"));
	set_at(top, "linux.namespaces", json_pack("[{s:s}, {s:s, s:s}]", "type", "mount", "type", "user", "path",
						  "/proc/1/ns/user"));
	assert_int_equal(parse_tree(top, &cfg, &f), 0);
	assert_int_equal(oci_to_spec(&cfg, "/", &spec, &f), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_string_equal(f.what, "config.json: linux.namespaces[1]: joining a user namespace is not supported by box");
	oci_free(&cfg);
}

static void test_a_relative_root_is_below_the_bundle_and_must_exist(void **state)
{
	struct container_spec spec = { 0 };
	struct oci_config cfg;
	struct failure f = { "" };
	char *dir = scratch_dir(), expected[PATH_MAX];

	(void)state;
	assert_int_equal(parse_tree(load_data("runc-spec.json"), &cfg, &f), 0);	/* root.path "rootfs" */
	assert_int_equal(oci_to_spec(&cfg, dir, &spec, &f), -1);
	assert_int_equal(errno, ENOENT);
	snprintf(expected, sizeof(expected), "root.path %s/rootfs", dir);
	assert_string_equal(f.what, expected);
	snprintf(expected, sizeof(expected), "%s/rootfs", dir);
	assert_int_equal(mkdir(expected, 0755), 0);
	assert_int_equal(oci_to_spec(&cfg, dir, &spec, &f), 0);
	assert_string_equal(spec.root_path, expected);
	assert_true(spec.read_only);
	oci_free(&cfg);
	remove_scratch(dir);
}

/* box run's flags, as run-config.c writes them: the same structs a bundle gives. */
static void test_box_run_flags_become_a_config(void **state)
{
	static struct container_spec spec;
	char *argv[] = { "/bin/sh", NULL }, merged[PATH_MAX];
	struct oci_config cfg;
	struct failure f = { "" };

	(void)state;
	memset(&spec, 0, sizeof(spec));
	snprintf(spec.dir, sizeof(spec.dir), "%s", scratch_dir());
	assert_int_equal(path_join(merged, sizeof(merged), spec.dir, "merged"), 0);
	assert_int_equal(mkdir(merged, 0755), 0);
	spec.argv = argv;
	spec.hostname = "c1";
	spec.memory_bytes = 64 << 20;
	spec.cpu_millis = 500;
	spec.pids_max = 32;
	spec.network = NETWORK_HOST;
	spec.nvolumes = 1;
	snprintf(spec.volumes[0].source, sizeof(spec.volumes[0].source), "/srv");
	snprintf(spec.volumes[0].destination, sizeof(spec.volumes[0].destination), "/data");
	spec.volumes[0].read_only = true;
	assert_int_equal(box_run_config(&spec, &cfg, &f), 0);
	assert_string_equal(spec.root_path, merged);
	assert_string_equal(spec.hostname, "c1");
	assert_int_equal(spec.new_namespaces, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP);
	assert_int_equal(spec.resources->memory_limit, 64 << 20);
	assert_int_equal(spec.resources->memory_swap, 64 << 20);
	assert_int_equal(spec.resources->cpu_quota, 50000);
	assert_int_equal(spec.resources->cpu_period, 100000);
	assert_int_equal(spec.resources->pids_limit, 32);
	assert_int_equal(spec.n_mounts, 6);
	assert_string_equal(spec.mounts[5].destination, "/data");
	assert_true(spec.mounts[5].parsed.flags & MS_RDONLY);
	assert_int_equal(spec.process->caps[CAPS_EFFECTIVE], 0xa80425fb);	/* docker's 14 */
	assert_non_null(spec.seccomp);
	assert_true(spec.n_masked_paths > 0);
	assert_true(spec.die_with_parent);
	oci_free(&cfg);
	remove_scratch(spec.dir);
}

/* A state with our own pid: alive only with our start time; a pid given to another process is "stopped". */
static void test_a_reused_pid_is_not_the_init(void **state)
{
	struct state st = { 0 };
	char fifo[PATH_MAX + 16];
	char *dir = scratch_dir();

	(void)state;
	snprintf(st.dir, sizeof(st.dir), "%s", dir);
	st.pid = getpid();
	assert_int_equal(process_start_time(st.pid, &st.start_time), 0);
	assert_int_equal(container_status(&st, NULL), STATUS_RUNNING);
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(container_status(&st, NULL), STATUS_CREATED);
	st.start_time++;	/* the same number, another process */
	assert_int_equal(container_status(&st, NULL), STATUS_STOPPED);
	st.creating = true;
	assert_int_equal(container_status(&st, NULL), STATUS_CREATING);
	remove_scratch(dir);
}

/* state.json written whole, read back field by field, no temporary file left beside it. */
static void test_state_is_written_whole_and_read_back(void **state)
{
	struct state st = { 0 }, back;
	struct failure f = { "" };
	char *dir = scratch_dir(), path[PATH_MAX], root[PATH_MAX];
	struct dirent *d;
	DIR *listing;
	int files = 0;

	(void)state;
	snprintf(root, sizeof(root), "%s", dir);
	snprintf(st.id, sizeof(st.id), "c1");
	assert_int_equal(path_join(st.dir, sizeof(st.dir), root, "c1"), 0);
	assert_int_equal(mkdir(st.dir, 0700), 0);
	snprintf(st.bundle, sizeof(st.bundle), "/bundle");
	snprintf(st.cgroup_path, sizeof(st.cgroup_path), "/docker/c1");
	snprintf(st.created, sizeof(st.created), "2026-11-28T18:00:00Z");
	st.pid = 1234;
	st.start_time = 5678;
	assert_int_equal(write_state(&st), 0);
	assert_int_equal(read_state(root, "c1", &back, &f), 0);
	assert_string_equal(back.bundle, "/bundle");
	assert_string_equal(back.cgroup_path, "/docker/c1");
	assert_int_equal(back.pid, 1234);
	assert_int_equal(back.start_time, 5678);
	assert_false(back.creating);
	listing = opendir(st.dir);
	while ((d = readdir(listing)))
		files += d->d_name[0] != '.';
	closedir(listing);
	assert_int_equal(files, 1);
	assert_int_equal(read_state(root, "c2", &back, &f), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(f.what, "container c2 does not exist");
	assert_int_equal(read_state(root, "../etc", &back, &f), -1);
	snprintf(path, sizeof(path), "%s", f.what);
	assert_string_equal(path, "container id \"../etc\": letters, digits and _+-. only");
	remove_scratch(dir);
}

static void test_pid_file_is_decimal_without_a_newline(void **state)
{
	char *dir = scratch_dir(), path[PATH_MAX], text[32] = "";
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/init.pid", dir);
	assert_int_equal(write_pid_file(path, 4242), 0);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, text, sizeof(text) - 1), 4);
	close(fd);
	assert_string_equal(text, "4242");
	remove_scratch(dir);
}

/* The config's device rules first, then the ones every container needs; as v1 writes them. */
static void test_device_rules_end_with_the_defaults(void **state)
{
	struct oci_device_rule given[] = { { false, 'a', -1, -1, "rwm" }, { true, 'c', 10, 229, "rw" } };
	struct oci_resources r = { .devices = given, .n_devices = 2 };
	struct container_spec spec = { .resources = &r };
	struct oci_device_rule rules[DEVICE_RULES_MAX];
	char line[64];
	size_t n;

	(void)state;
	assert_int_equal(device_rules(&spec, rules, DEVICE_RULES_MAX, &n), 0);
	assert_true(n > 2);
	assert_int_equal(device_rule_line(&rules[0], line, sizeof(line)), 0);
	assert_string_equal(line, "a *:* rwm");
	assert_int_equal(device_rule_line(&rules[1], line, sizeof(line)), 0);
	assert_string_equal(line, "c 10:229 rw");
	assert_int_equal(device_rule_line(&rules[n - 1], line, sizeof(line)), 0);
	assert_string_equal(line, "c 136:* rwm");	/* the container's ptys */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespaces_become_clone_flags_and_paths_to_join),
		cmocka_unit_test(test_a_user_namespace_joined_by_path_is_refused),
		cmocka_unit_test(test_a_relative_root_is_below_the_bundle_and_must_exist),
		cmocka_unit_test(test_box_run_flags_become_a_config),
		cmocka_unit_test(test_a_reused_pid_is_not_the_init),
		cmocka_unit_test(test_state_is_written_whole_and_read_back),
		cmocka_unit_test(test_pid_file_is_decimal_without_a_newline),
		cmocka_unit_test(test_device_rules_end_with_the_defaults),
		cmocka_unit_test(test_runc_spec_is_read_field_by_field),
		cmocka_unit_test(test_runc_spec_ambient_without_inheritable_is_a_warning),
		cmocka_unit_test(test_podman_config_with_flags_is_read),
		cmocka_unit_test(test_docker_config_with_zero_values_and_a_hook_is_read),
		cmocka_unit_test(test_containerd_relative_root_is_kept_relative),
		cmocka_unit_test(test_process_json_of_each_client_is_read),
		cmocka_unit_test(test_malformed_json_names_line_and_column),
		cmocka_unit_test(test_wrong_type_names_the_field),
		cmocka_unit_test(test_unknown_namespace_type_is_refused),
		cmocka_unit_test(test_namespace_given_twice_is_refused),
		cmocka_unit_test(test_invalid_seccomp_action_is_refused),
		cmocka_unit_test(test_seccomp_notify_is_refused_as_unsupported),
		cmocka_unit_test(test_missing_required_fields_are_named),
		cmocka_unit_test(test_unsupported_fields_are_refused_by_name),
		cmocka_unit_test(test_fields_that_ask_for_nothing_are_accepted),
		cmocka_unit_test(test_unknown_properties_are_ignored),
		cmocka_unit_test(test_apparmor_profile_is_a_warning_on_a_host_without_apparmor),
		cmocka_unit_test(test_rlim_infinity_as_go_writes_it_is_read),
		cmocka_unit_test(test_rlimit_soft_above_hard_is_refused),
		cmocka_unit_test(test_duplicate_keys_are_refused),
		cmocka_unit_test(test_effective_capability_not_permitted_is_refused),
		cmocka_unit_test(test_capability_names_unknown_or_malformed),
		cmocka_unit_test(test_environment_entry_without_equals_is_refused),
		cmocka_unit_test(test_mount_option_box_does_not_do_is_refused),
		cmocka_unit_test(test_tmpfs_dev_options_split_into_flags_and_data),
		cmocka_unit_test(test_devpts_words_the_kernel_parses_go_to_data_in_order),
		cmocka_unit_test(test_bind_with_rprivate_is_a_bind_plus_propagation),
		cmocka_unit_test(test_rbind_is_recursive),
		cmocka_unit_test(test_the_last_of_ro_and_rw_wins),
		cmocka_unit_test(test_each_propagation_word),
		cmocka_unit_test(test_recursive_read_only_is_a_mount_attribute),
		cmocka_unit_test(test_tmpcopyup_is_noted_not_passed_to_the_kernel),
		cmocka_unit_test(test_idmap_is_refused),
		cmocka_unit_test(test_no_options_means_no_flags_and_no_data),
		cmocka_unit_test(test_default_config_is_what_runc_spec_writes),
		cmocka_unit_test(test_rootless_default_is_what_runc_spec_rootless_writes),
		cmocka_unit_test(test_runc_spec_reads_and_writes_back_unchanged),
		cmocka_unit_test(test_each_client_config_survives_a_round_trip),
		cmocka_unit_test(test_infinite_rlimit_survives_a_round_trip),
		cmocka_unit_test(test_write_refuses_to_overwrite),
	};

	if (getenv("TEST") && getenv("TEST")[0])
		cmocka_set_test_filter(getenv("TEST"));
	return cmocka_run_group_tests_name("step07 oci unit", tests, NULL, NULL);
}
