/*
 * oci-spec.c - the reverse of oci.c: a default config.json, and struct ->
 * JSON.
 *
 * `box-oci spec` writes what `runc spec` writes (runc 1.1's
 * libcontainer/specconv/example.go): a small, locked-down container that
 * runs "sh" with three capabilities, no_new_privs, a read-only root, the
 * usual /proc /dev /sys mounts, and the paths of /proc that would tell the
 * container about the host masked or made read-only. `--rootless` changes
 * what an unprivileged user cannot do: no network namespace of its own
 * (that needs slirp or similar), a user namespace mapping their uid to 0,
 * /sys bound from the host (mounting sysfs needs a network namespace it
 * owns), no device cgroup, no gid=5 for /dev/pts.
 */
#include <errno.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include "box.h"

enum {
	DEFAULT_NOFILE = 1024,
	CAP_NAME_MAX = 64,
};

static const char *const default_caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" };
static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
};

/* The /proc and /sys files that would show or change the host (runc's list). */
static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* runc spec's mounts; NULL ends each options list. */
static const struct {
	const char *destination, *type, *source;
	const char *options[7];
} default_mounts[] = {
	{ "/proc", "proc", "proc", { NULL } },
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k", NULL } },
	{ "/dev/pts", "devpts", "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL } },
	{ "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL } },
	{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev", NULL } },
	{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro", NULL } },
	{ "/sys/fs/cgroup", "cgroup", "cgroup", { "nosuid", "noexec", "nodev", "relatime", "ro", NULL } },
};

/* What --rootless puts in place of /sys: the host's, bound (see the top of this file). */
static const char *const rootless_sys_options[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };

/* ---- building the default ------------------------------------------------ */

static int dup_list(const char *const *src, size_t n, char ***out, size_t *n_out)
{
	*out = calloc(n ? n : 1, sizeof(char *));
	if (!*out)
		return -1;
	for (size_t i = 0; i < n; i++) {
		(*out)[i] = strdup(src[i]);
		if (!(*out)[i])
			return -1;
		*n_out = i + 1;
	}
	return 0;
}

/* How many entries before the NULL. */
static size_t count(const char *const *list)
{
	size_t n = 0;

	while (list[n])
		n++;
	return n;
}

static int default_process(struct oci_process *proc)
{
	static const char *const args[] = { "sh" };

	proc->terminal = true;
	proc->no_new_privileges = true;
	if (dup_list(args, 1, &proc->args, &proc->n_args) < 0 ||
	    dup_list(default_env, 2, &proc->env, &proc->n_env) < 0 || !(proc->cwd = strdup("/")))
		return -1;
	proc->has_caps = true;
	for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++) {
		uint64_t bit = 1ULL << oci_capability_number(default_caps[i]);

		proc->caps[CAPS_BOUNDING] |= bit;
		proc->caps[CAPS_EFFECTIVE] |= bit;
		proc->caps[CAPS_PERMITTED] |= bit;
		proc->caps[CAPS_AMBIENT] |= bit;
	}
	proc->cap_set_given[CAPS_BOUNDING] = proc->cap_set_given[CAPS_EFFECTIVE] = true;
	proc->cap_set_given[CAPS_PERMITTED] = proc->cap_set_given[CAPS_AMBIENT] = true;
	proc->rlimits = calloc(1, sizeof(*proc->rlimits));
	if (!proc->rlimits || !(proc->rlimits[0].type = strdup("RLIMIT_NOFILE")))
		return -1;
	proc->n_rlimits = 1;
	proc->rlimits[0].resource = RLIMIT_NOFILE;
	proc->rlimits[0].soft = proc->rlimits[0].hard = DEFAULT_NOFILE;
	return 0;
}

static int default_mount(struct oci_mount *m, size_t i, bool rootless)
{
	const char *const *opts = default_mounts[i].options;
	size_t n = count(opts);

	if (rootless && strcmp(default_mounts[i].destination, "/sys") == 0) {
		opts = rootless_sys_options;
		n = count(opts);
	}
	if (rootless && strcmp(default_mounts[i].destination, "/dev/pts") == 0)
		n--;	/* no "gid=5": an unprivileged user has no gid 5 mapped */
	m->destination = strdup(default_mounts[i].destination);
	m->type = strdup(rootless && opts == rootless_sys_options ? "none" : default_mounts[i].type);
	m->source = strdup(rootless && opts == rootless_sys_options ? "/sys" : default_mounts[i].source);
	if (!m->destination || !m->type || !m->source)
		return -1;
	if (n && dup_list(opts, n, &m->options, &m->n_options) < 0)
		return -1;
	return parse_mount_options(m->options, m->n_options, &m->parsed, "mounts", NULL);
}

static int default_namespaces(struct oci_linux *lin, bool rootless)
{
	static const enum oci_namespace_type root_ns[] = { NS_PID, NS_NETWORK, NS_IPC, NS_UTS, NS_MOUNT };
	static const enum oci_namespace_type rootless_ns[] = { NS_PID, NS_IPC, NS_UTS, NS_MOUNT, NS_USER };
	const enum oci_namespace_type *types = rootless ? rootless_ns : root_ns;
	size_t n = rootless ? sizeof(rootless_ns) / sizeof(rootless_ns[0]) : sizeof(root_ns) / sizeof(root_ns[0]);

	lin->namespaces = calloc(n, sizeof(*lin->namespaces));
	if (!lin->namespaces)
		return -1;
	for (size_t i = 0; i < n; i++)
		lin->namespaces[i].type = types[i];
	lin->n_namespaces = n;
	return 0;
}

/* --rootless: map the calling user (and group) to root inside, one id each. */
static int rootless_mappings(struct oci_linux *lin)
{
	lin->uid_mappings = calloc(1, sizeof(*lin->uid_mappings));
	lin->gid_mappings = calloc(1, sizeof(*lin->gid_mappings));
	if (!lin->uid_mappings || !lin->gid_mappings)
		return -1;
	*lin->uid_mappings = (struct oci_id_mapping){ 0, (uint32_t)getuid(), 1 };
	*lin->gid_mappings = (struct oci_id_mapping){ 0, (uint32_t)getgid(), 1 };
	lin->n_uid_mappings = lin->n_gid_mappings = 1;
	return 0;
}

/* The device cgroup starts by denying everything ("a *:* rwm"); the runtime adds /dev/null & co. */
static int deny_all_devices(struct oci_linux *lin)
{
	lin->has_resources = true;
	lin->resources.devices = calloc(1, sizeof(*lin->resources.devices));
	if (!lin->resources.devices)
		return -1;
	lin->resources.devices[0] = (struct oci_device_rule){ false, 'a', -1, -1, "rwm" };
	lin->resources.n_devices = 1;
	return 0;
}

static int default_linux(struct oci_linux *lin, bool rootless)
{
	if (default_namespaces(lin, rootless) < 0 ||
	    dup_list(masked_paths, sizeof(masked_paths) / sizeof(masked_paths[0]), &lin->masked_paths,
		     &lin->n_masked_paths) < 0 ||
	    dup_list(readonly_paths, sizeof(readonly_paths) / sizeof(readonly_paths[0]), &lin->readonly_paths,
		     &lin->n_readonly_paths) < 0)
		return -1;
	return rootless ? rootless_mappings(lin) : deny_all_devices(lin);
}

/* Fill cfg like `runc spec` (or `runc spec --rootless`); oci_free() frees it. */
int oci_default_config(struct oci_config *cfg, bool rootless)
{
	size_t n = sizeof(default_mounts) / sizeof(default_mounts[0]);

	memset(cfg, 0, sizeof(*cfg));
	cfg->has_process = true;
	cfg->root.readonly = true;
	if (!(cfg->oci_version = strdup("1.0.2-dev")) || !(cfg->root.path = strdup("rootfs")) ||
	    !(cfg->hostname = strdup("box")) || default_process(&cfg->process) < 0)
		goto fail;
	cfg->mounts = calloc(n, sizeof(*cfg->mounts));
	if (!cfg->mounts)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		cfg->n_mounts = i + 1;
		if (default_mount(&cfg->mounts[i], i, rootless) < 0)
			goto fail;
	}
	if (default_linux(&cfg->lin, rootless) < 0)
		goto fail;
	return 0;
fail:
	oci_free(cfg);
	errno = ENOMEM;
	return -1;
}

/* ---- struct -> JSON ---------------------------------------------------------- */

/*
 * Every json_object_set_new / json_array_append_new below takes ownership
 * of the new value even when it fails, so one check at the end suffices:
 * a failure leaves a NULL somewhere, and the caller tests the result.
 */
static json_t *string_array(char *const *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(list[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A capability set as names, in alphabetical order as runc and podman write them. */
static json_t *cap_array(uint64_t set)
{
	char names[64][CAP_NAME_MAX];
	const char *sorted[64];
	size_t n = 0;

	for (int cap = 0; cap < 64; cap++) {
		if (!(set & (1ULL << cap)))
			continue;
		if (oci_capability_name(cap, names[n], CAP_NAME_MAX) < 0)
			return NULL;
		sorted[n] = names[n];
		n++;
	}
	qsort(sorted, n, sizeof(sorted[0]), by_name);
	return string_array((char *const *)sorted, n);
}

static const char *const cap_set_keys[CAP_SETS] = {
	"bounding", "effective", "inheritable", "permitted", "ambient",
};

static json_t *capabilities_json(const struct oci_process *proc)
{
	json_t *caps = json_object();

	for (int set = 0; caps && set < CAP_SETS; set++) {
		if (proc->cap_set_given[set])
			json_object_set_new(caps, cap_set_keys[set], cap_array(proc->caps[set]));
	}
	return caps;
}

static json_t *user_json(const struct oci_user *user)
{
	json_t *u = json_pack("{s:I, s:I}", "uid", (json_int_t)user->uid, "gid", (json_int_t)user->gid);
	json_t *gids;

	if (u && user->has_umask)
		json_object_set_new(u, "umask", json_integer(user->umask));
	if (u && user->n_additional_gids) {
		gids = json_array();
		for (size_t i = 0; gids && i < user->n_additional_gids; i++)
			json_array_append_new(gids, json_integer(user->additional_gids[i]));
		json_object_set_new(u, "additionalGids", gids);
	}
	return u;
}

/*
 * jansson's integers are signed 64-bit: a larger value (RLIM_INFINITY is
 * 2^64 - 1) is written as a real, 1.8446744073709552e+19, which oci.c
 * reads back as UINT64_MAX.
 */
static json_t *u64_json(uint64_t value)
{
	return value > INT64_MAX ? json_real((double)value) : json_integer((json_int_t)value);
}

static json_t *rlimits_json(const struct oci_process *proc)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < proc->n_rlimits; i++) {
		const struct oci_rlimit *rl = &proc->rlimits[i];

		json_array_append_new(a, json_pack("{s:s, s:o, s:o}", "type", rl->type,
						   "hard", u64_json(rl->hard), "soft", u64_json(rl->soft)));
	}
	return a;
}

static json_t *process_json(const struct oci_process *proc)
{
	json_t *p = json_object();

	if (!p)
		return NULL;
	if (proc->terminal)
		json_object_set_new(p, "terminal", json_true());
	if (proc->has_console_size)
		json_object_set_new(p, "consoleSize", json_pack("{s:i, s:i}", "height", proc->console_height,
								"width", proc->console_width));
	json_object_set_new(p, "user", user_json(&proc->user));
	json_object_set_new(p, "args", string_array(proc->args, proc->n_args));
	if (proc->n_env)
		json_object_set_new(p, "env", string_array(proc->env, proc->n_env));
	json_object_set_new(p, "cwd", json_string(proc->cwd));
	if (proc->has_caps)
		json_object_set_new(p, "capabilities", capabilities_json(proc));
	if (proc->n_rlimits)
		json_object_set_new(p, "rlimits", rlimits_json(proc));
	if (proc->no_new_privileges)
		json_object_set_new(p, "noNewPrivileges", json_true());
	if (proc->has_oom_score_adj)
		json_object_set_new(p, "oomScoreAdj", json_integer(proc->oom_score_adj));
	if (proc->apparmor_profile)
		json_object_set_new(p, "apparmorProfile", json_string(proc->apparmor_profile));
	if (proc->selinux_label)
		json_object_set_new(p, "selinuxLabel", json_string(proc->selinux_label));
	return p;
}

static json_t *mounts_json(const struct oci_config *cfg)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < cfg->n_mounts; i++) {
		const struct oci_mount *m = &cfg->mounts[i];
		json_t *o = json_pack("{s:s}", "destination", m->destination);

		if (o && m->type)
			json_object_set_new(o, "type", json_string(m->type));
		if (o && m->source)
			json_object_set_new(o, "source", json_string(m->source));
		if (o && m->n_options)
			json_object_set_new(o, "options", string_array(m->options, m->n_options));
		json_array_append_new(a, o);
	}
	return a;
}

static const char *const hook_keys[HOOK_KINDS] = {
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

static json_t *hooks_json(const struct oci_hooks *hooks)
{
	json_t *h = json_object();

	for (int kind = 0; h && kind < HOOK_KINDS; kind++) {
		json_t *list = hooks->n[kind] ? json_array() : NULL;

		for (size_t i = 0; list && i < hooks->n[kind]; i++) {
			const struct oci_hook *hook = &hooks->list[kind][i];
			json_t *o = json_pack("{s:s}", "path", hook->path);

			if (o && hook->n_args)
				json_object_set_new(o, "args", string_array(hook->args, hook->n_args));
			if (o && hook->n_env)
				json_object_set_new(o, "env", string_array(hook->env, hook->n_env));
			if (o && hook->timeout)
				json_object_set_new(o, "timeout", json_integer(hook->timeout));
			json_array_append_new(list, o);
		}
		if (list)
			json_object_set_new(h, hook_keys[kind], list);
	}
	return h;
}

static json_t *map_json(const struct oci_key_value *kv, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++)
		json_object_set_new(o, kv[i].key, json_string(kv[i].value));
	return o;
}

static json_t *mappings_json(const struct oci_id_mapping *m, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:I, s:I, s:I}", "containerID", (json_int_t)m[i].container_id,
						   "hostID", (json_int_t)m[i].host_id, "size", (json_int_t)m[i].size));
	return a;
}

static json_t *device_rules_json(const struct oci_resources *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->n_devices; i++) {
		const struct oci_device_rule *d = &r->devices[i];
		json_t *o = json_pack("{s:b}", "allow", d->allow);

		if (o && d->type != 'a')
			json_object_set_new(o, "type", json_stringn(&d->type, 1));
		if (o && d->major >= 0)
			json_object_set_new(o, "major", json_integer(d->major));
		if (o && d->minor >= 0)
			json_object_set_new(o, "minor", json_integer(d->minor));
		if (o)
			json_object_set_new(o, "access", json_string(d->access));
		json_array_append_new(a, o);
	}
	return a;
}

/* Set key to an integer only when it means something (0 means "not set", see oci.h). */
static void set_if(json_t *o, const char *key, long long value)
{
	if (value)
		json_object_set_new(o, key, json_integer(value));
}

/* Add obj under key if it has anything in it; else drop it. */
static void set_nonempty(json_t *parent, const char *key, json_t *obj)
{
	if (obj && json_object_size(obj) == 0) {
		json_decref(obj);
		return;
	}
	json_object_set_new(parent, key, obj);
}

static json_t *resources_json(const struct oci_resources *r)
{
	json_t *res = json_object(), *mem = json_object(), *cpu = json_object(), *pids = json_object();
	json_t *blkio = json_object();

	if (!res || !mem || !cpu || !pids || !blkio)
		return NULL;
	json_object_set_new(res, "devices", device_rules_json(r));
	set_if(mem, "limit", r->memory_limit);
	set_if(mem, "reservation", r->memory_reservation);
	set_if(mem, "swap", r->memory_swap);
	set_nonempty(res, "memory", mem);
	set_if(cpu, "shares", (long long)r->cpu_shares);
	set_if(cpu, "quota", r->cpu_quota);
	set_if(cpu, "period", (long long)r->cpu_period);
	if (r->cpu_cpus)
		json_object_set_new(cpu, "cpus", json_string(r->cpu_cpus));
	if (r->cpu_mems)
		json_object_set_new(cpu, "mems", json_string(r->cpu_mems));
	set_nonempty(res, "cpu", cpu);
	set_if(pids, "limit", r->pids_limit);
	set_nonempty(res, "pids", pids);
	set_if(blkio, "weight", r->blkio_weight);
	set_nonempty(res, "blockIO", blkio);
	return res;
}

static json_t *namespaces_json(const struct oci_linux *lin)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < lin->n_namespaces; i++) {
		json_t *o = json_pack("{s:s}", "type", oci_namespace_name(lin->namespaces[i].type));

		if (o && lin->namespaces[i].path)
			json_object_set_new(o, "path", json_string(lin->namespaces[i].path));
		json_array_append_new(a, o);
	}
	return a;
}

static const char *const action_names[] = {
	"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
	"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
};
static const char *const op_names[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
	"SCMP_CMP_MASKED_EQ",
};

static json_t *seccomp_rule_json(const struct oci_seccomp_rule *rule)
{
	json_t *o = json_pack("{s:o, s:s}", "names", string_array(rule->names, rule->n_names),
			      "action", action_names[rule->action]);
	json_t *args = rule->n_args ? json_array() : NULL;

	if (o && rule->has_errno)
		json_object_set_new(o, "errnoRet", json_integer(rule->errno_ret));
	for (size_t i = 0; args && i < rule->n_args; i++) {
		const struct oci_seccomp_arg *a = &rule->args[i];

		json_array_append_new(args, json_pack("{s:i, s:o, s:o, s:s}", "index", a->index,
						      "value", u64_json(a->value), "valueTwo",
						      u64_json(a->value_two), "op", op_names[a->op]));
	}
	if (o && args)
		json_object_set_new(o, "args", args);
	return o;
}

static json_t *seccomp_json(const struct oci_seccomp *sc)
{
	static const char *const flag_names[] = {
		"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	};
	json_t *o = json_pack("{s:s}", "defaultAction", action_names[sc->default_action]);
	json_t *rules = json_array(), *flags = json_array();

	if (!o || !rules || !flags)
		return NULL;
	if (sc->has_default_errno)
		json_object_set_new(o, "defaultErrnoRet", json_integer(sc->default_errno));
	if (sc->n_architectures)
		json_object_set_new(o, "architectures", string_array(sc->architectures, sc->n_architectures));
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (sc->flags & (1U << i))
			json_array_append_new(flags, json_string(flag_names[i]));
	}
	for (size_t i = 0; i < sc->n_rules; i++)
		json_array_append_new(rules, seccomp_rule_json(&sc->rules[i]));
	json_object_set_new(o, "flags", flags);
	json_object_set_new(o, "syscalls", rules);
	return o;
}

static json_t *devices_json(const struct oci_linux *lin)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < lin->n_devices; i++) {
		const struct oci_linux_device *d = &lin->devices[i];
		json_t *o = json_pack("{s:s%, s:s}", "type", &d->type, (size_t)1, "path", d->path);

		if (o && d->type != 'p') {
			json_object_set_new(o, "major", json_integer(d->major));
			json_object_set_new(o, "minor", json_integer(d->minor));
		}
		if (o && d->has_file_mode)
			json_object_set_new(o, "fileMode", json_integer(d->file_mode));
		if (o && d->has_uid)
			json_object_set_new(o, "uid", json_integer(d->uid));
		if (o && d->has_gid)
			json_object_set_new(o, "gid", json_integer(d->gid));
		json_array_append_new(a, o);
	}
	return a;
}

static const char *propagation_name(unsigned long flags)
{
	static const struct {
		unsigned long flags;
		const char *name;
	} names[] = {
		{ MS_PRIVATE, "private" }, { MS_PRIVATE | MS_REC, "rprivate" },
		{ MS_SHARED, "shared" }, { MS_SHARED | MS_REC, "rshared" },
		{ MS_SLAVE, "slave" }, { MS_SLAVE | MS_REC, "rslave" },
		{ MS_UNBINDABLE, "unbindable" }, { MS_UNBINDABLE | MS_REC, "runbindable" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].flags == flags)
			return names[i].name;
	}
	return NULL;
}

static json_t *linux_json(const struct oci_linux *lin)
{
	json_t *l = json_object();

	if (!l)
		return NULL;
	if (lin->n_uid_mappings)
		json_object_set_new(l, "uidMappings", mappings_json(lin->uid_mappings, lin->n_uid_mappings));
	if (lin->n_gid_mappings)
		json_object_set_new(l, "gidMappings", mappings_json(lin->gid_mappings, lin->n_gid_mappings));
	if (lin->has_resources)
		json_object_set_new(l, "resources", resources_json(&lin->resources));
	if (lin->cgroups_path)
		json_object_set_new(l, "cgroupsPath", json_string(lin->cgroups_path));
	if (lin->n_sysctl)
		json_object_set_new(l, "sysctl", map_json(lin->sysctl, lin->n_sysctl));
	json_object_set_new(l, "namespaces", namespaces_json(lin));
	if (lin->has_seccomp)
		json_object_set_new(l, "seccomp", seccomp_json(&lin->seccomp));
	if (lin->n_masked_paths)
		json_object_set_new(l, "maskedPaths", string_array(lin->masked_paths, lin->n_masked_paths));
	if (lin->n_readonly_paths)
		json_object_set_new(l, "readonlyPaths", string_array(lin->readonly_paths, lin->n_readonly_paths));
	if (lin->rootfs_propagation)
		json_object_set_new(l, "rootfsPropagation", json_string(propagation_name(lin->rootfs_propagation)));
	if (lin->mount_label)
		json_object_set_new(l, "mountLabel", json_string(lin->mount_label));
	if (lin->n_devices)
		json_object_set_new(l, "devices", devices_json(lin));
	return l;
}

/* The whole config as a jansson tree; NULL if memory ran out. */
static json_t *config_json(const struct oci_config *cfg)
{
	json_t *top = json_pack("{s:s}", "ociVersion", cfg->oci_version);
	json_t *root;

	if (!top)
		return NULL;
	if (cfg->has_process)
		json_object_set_new(top, "process", process_json(&cfg->process));
	root = json_pack("{s:s}", "path", cfg->root.path);
	if (root && cfg->root.readonly)
		json_object_set_new(root, "readonly", json_true());
	json_object_set_new(top, "root", root);
	if (cfg->hostname)
		json_object_set_new(top, "hostname", json_string(cfg->hostname));
	if (cfg->domainname)
		json_object_set_new(top, "domainname", json_string(cfg->domainname));
	json_object_set_new(top, "mounts", mounts_json(cfg));
	set_nonempty(top, "hooks", hooks_json(&cfg->hooks));
	if (cfg->n_annotations)
		json_object_set_new(top, "annotations", map_json(cfg->annotations, cfg->n_annotations));
	json_object_set_new(top, "linux", linux_json(&cfg->lin));
	return top;
}

/* config.json text, indented; the caller frees it. NULL with errno ENOMEM on failure. */
char *oci_to_string(const struct oci_config *cfg)
{
	json_t *top = config_json(cfg);
	char *text = top ? json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

	json_decref(top);
	if (!text)
		errno = ENOMEM;
	return text;
}

/* Write cfg to path, as `runc spec` writes BUNDLE/config.json; refuses to overwrite. */
int oci_write(const char *path, const struct oci_config *cfg, struct failure *f)
{
	char *text = oci_to_string(cfg);
	FILE *file;
	int ret = 0;

	if (!text)
		return failed(f, "format %s", path);
	file = fopen(path, "wxe");
	if (!file) {
		free(text);
		return failed(f, "create %s", path);
	}
	if (fputs(text, file) == EOF || fputc('\n', file) == EOF)
		ret = failed(f, "write %s", path);
	if (fclose(file) == EOF && ret == 0)
		ret = failed(f, "write %s", path);
	free(text);
	return ret;
}
