/*
 * oci.c - read config.json into struct oci_config, and check it.
 *
 * The OCI runtime specification (runtime-spec, config.md and
 * config-linux.md) describes a container as one JSON document. podman,
 * containerd and dockerd write it into the bundle directory and call
 * `box-oci create`; everything box does comes from here.
 *
 * jansson parses the text; the code below walks the tree, copies what box
 * uses into plain structs, and checks each field as it goes, so that a
 * mistake is reported once, with the field's path:
 *
 *     config.json: linux.namespaces[2].type: unknown namespace type "foo"
 *
 * Three rules shape it:
 *  - config.md: "MUST NOT generate an error if they encounter an unknown
 *    property. Instead they MUST ignore unknown properties." Unknown keys
 *    are skipped.
 *  - A field box knows but does not implement is refused by name, never
 *    silently ignored: a container that asked for a restriction must not
 *    run without it. (AppArmor and SELinux labels are the one exception,
 *    and only on a host that has neither: then they are warned about.)
 *  - Parsing prints nothing. Failures go to struct failure, with errno
 *    EINVAL (malformed) or ENOTSUP (not supported by box); things skipped
 *    go to cfg->warnings for the caller to print.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box.h"

enum {
	WHERE_MAX = 512,		/* longest field path we name in a message */
	MAX_UID = 4294967294U,		/* (uid_t)-1 means "unchanged" to setresuid(2) */
	OOM_SCORE_ADJ_MIN = -1000,	/* proc(5): /proc/PID/oom_score_adj */
	OOM_SCORE_ADJ_MAX = 1000,
	SECCOMP_MAX_ARG = 5,		/* seccomp(2): a system call has six arguments */
	MAX_ERRNO = 4095,
	MAX_FILE_MODE = 07777,
};

/*
 * jansson stores integers as long long, and refuses 18446744073709551615
 * (RLIM_INFINITY as Go clients write it). Then we parse again with every
 * number as a double: whole numbers up to 2^53 stay exact, and 2^64 - 1
 * becomes exactly 2^64, which we turn back into UINT64_MAX.
 */
static const double exact_double_max = 9007199254740992.0;	/* 2^53 */
static const double two_to_64 = 18446744073709551616.0;

/* One parse: the file name for messages, where failures and warnings go. */
struct parse {
	const char *file;
	struct failure *f;
	struct oci_config *cfg;		/* for warnings; NULL for a process.json */
};

static const char *const namespace_names[NS_TYPES] = {
	[NS_PID] = "pid", [NS_NETWORK] = "network", [NS_MOUNT] = "mount", [NS_IPC] = "ipc",
	[NS_UTS] = "uts", [NS_USER] = "user", [NS_CGROUP] = "cgroup", [NS_TIME] = "time",
};

static const char *const cap_set_names[CAP_SETS] = {
	[CAPS_BOUNDING] = "bounding", [CAPS_EFFECTIVE] = "effective",
	[CAPS_INHERITABLE] = "inheritable", [CAPS_PERMITTED] = "permitted", [CAPS_AMBIENT] = "ambient",
};

static const char *const hook_names[HOOK_KINDS] = {
	[HOOK_PRESTART] = "prestart", [HOOK_CREATE_RUNTIME] = "createRuntime",
	[HOOK_CREATE_CONTAINER] = "createContainer", [HOOK_START_CONTAINER] = "startContainer",
	[HOOK_POSTSTART] = "poststart", [HOOK_POSTSTOP] = "poststop",
};

/* getrlimit(2): the resources config.md allows ("RLIMIT_" + the man page's names). */
static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA }, { "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS }, { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE }, { "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS }, { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME }, { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

/* config-linux.md "Seccomp": action names, in enum oci_seccomp_action order. */
static const char *const seccomp_actions[] = {
	"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
	"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
};

static const char *const seccomp_ops[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
	"SCMP_CMP_MASKED_EQ",
};

/* The architectures config-linux.md lists; seccomp.c maps them to libseccomp's. */
static const char *const seccomp_arches[] = {
	"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
	"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
	"SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
	"SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
	"SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
};

/* seccomp(2) filter flags the spec names; the last two box does not do. */
static const struct {
	const char *name;
	unsigned int flag;		/* 0: refused */
} seccomp_flags[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", OCI_SECCOMP_FLAG_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", OCI_SECCOMP_FLAG_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", OCI_SECCOMP_FLAG_SPEC_ALLOW },
	{ "SECCOMP_FILTER_FLAG_NEW_LISTENER", 0 },
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 0 },
};

/* config-linux.md "rootfsPropagation", as mount(2) flags. */
static const struct {
	const char *name;
	unsigned long flags;
} propagations[] = {
	{ "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED }, { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE }, { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

/* ---- reporting ---------------------------------------------------------- */

/* "config.json: WHERE: message", errno = err; returns -1. */
static int report(struct parse *p, int err, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int report(struct parse *p, int err, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errno = err;
	return failed(p->f, "%s: %s: %s", p->file, where, msg);
}

/* Something box skips: kept for the caller to print, the run goes on. */
static int note_warning(struct parse *p, const char *where, const char *what)
{
	struct oci_config *cfg = p->cfg;
	char **grown;
	char text[WHERE_MAX + 128];

	if (!cfg)
		return 0;
	grown = realloc(cfg->warnings, (cfg->n_warnings + 1) * sizeof(*grown));
	if (!grown)
		return report(p, ENOMEM, where, "out of memory");
	cfg->warnings = grown;
	snprintf(text, sizeof(text), "%s: %s: %s", p->file, where, what);
	cfg->warnings[cfg->n_warnings] = strdup(text);
	if (!cfg->warnings[cfg->n_warnings])
		return report(p, ENOMEM, where, "out of memory");
	cfg->n_warnings++;
	return 0;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int wrong_type(struct parse *p, const json_t *v, const char *where, const char *want)
{
	return report(p, EINVAL, where, "expected %s, got %s", want, type_name(v));
}

static int missing(struct parse *p, const char *where)
{
	return report(p, EINVAL, where, "missing (required)");
}

static int unsupported(struct parse *p, const char *where)
{
	return report(p, ENOTSUP, where, "not supported by box");
}

/* "parent.key", or "key" at the top. */
static int child(struct parse *p, char *buf, const char *where, const char *key)
{
	int ret = where[0] ? format_into(buf, WHERE_MAX, "%s.%s", where, key)
			   : format_into(buf, WHERE_MAX, "%s", key);

	return ret < 0 ? report(p, ENAMETOOLONG, where, "field path too long") : 0;
}

/* "parent[i]". */
static int element(struct parse *p, char *buf, const char *where, size_t i)
{
	if (format_into(buf, WHERE_MAX, "%s[%zu]", where, i) < 0)
		return report(p, ENAMETOOLONG, where, "field path too long");
	return 0;
}

/* ---- typed reads ------------------------------------------------------- */

static int copy_string(struct parse *p, const json_t *v, const char *where, char **out)
{
	if (!json_is_string(v))
		return wrong_type(p, v, where, "a string");
	*out = strdup(json_string_value(v));
	if (!*out)
		return report(p, ENOMEM, where, "out of memory");
	return 0;
}

/* obj.key as a new string; NULL and no error if absent and not required. */
static int get_string(struct parse *p, json_t *obj, const char *where, const char *key,
		      bool required, char **out)
{
	char here[WHERE_MAX];
	json_t *v = json_object_get(obj, key);

	if (child(p, here, where, key) < 0)
		return -1;
	if (!v || json_is_null(v))
		return required ? missing(p, here) : 0;
	return copy_string(p, v, here, out);
}

static int get_bool(struct parse *p, json_t *obj, const char *where, const char *key, bool *out)
{
	char here[WHERE_MAX];
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (child(p, here, where, key) < 0)
		return -1;
	if (!json_is_boolean(v))
		return wrong_type(p, v, here, "a boolean");
	*out = json_is_true(v);
	return 0;
}

/* A number parsed as a double (the retry for huge integers): whole, and exactly representable. */
static int real_to_u64(struct parse *p, const json_t *v, const char *where, uint64_t max, uint64_t *out)
{
	double d = json_real_value(v);

	if (d == two_to_64 && max == UINT64_MAX) {
		*out = UINT64_MAX;
		return 0;
	}
	if (d < 0 || d > exact_double_max || (double)(uint64_t)d != d)
		return report(p, EINVAL, where, "%.17g is not a whole number box can read exactly", d);
	if ((uint64_t)d > max)
		return report(p, EINVAL, where, "%.17g is out of range (at most %llu)", d,
			      (unsigned long long)max);
	*out = (uint64_t)d;
	return 0;
}

static int read_u64(struct parse *p, const json_t *v, const char *where, uint64_t max, uint64_t *out)
{
	json_int_t i;

	if (json_is_real(v))
		return real_to_u64(p, v, where, max, out);
	if (!json_is_integer(v))
		return wrong_type(p, v, where, "an integer");
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return report(p, EINVAL, where, "%lld is out of range (0 to %llu)", (long long)i,
			      (unsigned long long)max);
	*out = (uint64_t)i;
	return 0;
}

static int read_i64(struct parse *p, const json_t *v, const char *where, int64_t min, int64_t max,
		    int64_t *out)
{
	double d;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
	} else if (json_is_real(v)) {
		d = json_real_value(v);
		if (d < -exact_double_max || d > exact_double_max || (double)(int64_t)d != d)
			return report(p, EINVAL, where, "%.17g is not a whole number box can read exactly", d);
		*out = (int64_t)d;
	} else {
		return wrong_type(p, v, where, "an integer");
	}
	if (*out < min || *out > max)
		return report(p, EINVAL, where, "%lld is out of range (%lld to %lld)", (long long)*out,
			      (long long)min, (long long)max);
	return 0;
}

/* obj.key as an unsigned number up to max; *given says whether it was there. */
static int get_u64(struct parse *p, json_t *obj, const char *where, const char *key, uint64_t max,
		   uint64_t *out, bool *given)
{
	char here[WHERE_MAX];
	json_t *v = json_object_get(obj, key);

	if (given)
		*given = v && !json_is_null(v);
	if (!v || json_is_null(v))
		return 0;
	if (child(p, here, where, key) < 0)
		return -1;
	return read_u64(p, v, here, max, out);
}

static int get_i64(struct parse *p, json_t *obj, const char *where, const char *key, int64_t min,
		   int64_t max, int64_t *out, bool *given)
{
	char here[WHERE_MAX];
	json_t *v = json_object_get(obj, key);

	if (given)
		*given = v && !json_is_null(v);
	if (!v || json_is_null(v))
		return 0;
	if (child(p, here, where, key) < 0)
		return -1;
	return read_i64(p, v, here, min, max, out);
}

/* A required unsigned 32-bit field, such as a uid. */
static int get_u32_required(struct parse *p, json_t *obj, const char *where, const char *key,
			    uint32_t max, uint32_t *out)
{
	char here[WHERE_MAX];
	uint64_t value = 0;
	bool given;

	if (get_u64(p, obj, where, key, max, &value, &given) < 0)
		return -1;
	if (!given)
		return child(p, here, where, key) < 0 ? -1 : missing(p, here);
	*out = (uint32_t)value;
	return 0;
}

/* obj.key as an object; NULL and no error if absent. */
static int get_object(struct parse *p, json_t *obj, const char *where, const char *key, json_t **out)
{
	char here[WHERE_MAX];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (child(p, here, where, key) < 0)
		return -1;
	if (!json_is_object(v))
		return wrong_type(p, v, here, "an object");
	*out = v;
	return 0;
}

/* obj.key as an array; NULL and no error if absent. */
static int get_array(struct parse *p, json_t *obj, const char *where, const char *key, json_t **out)
{
	char here[WHERE_MAX];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (child(p, here, where, key) < 0)
		return -1;
	if (!json_is_array(v))
		return wrong_type(p, v, here, "an array");
	*out = v;
	return 0;
}

/* calloc(3) for n items, with a message; n == 0 gives NULL and no error. */
static void *new_array(struct parse *p, const char *where, size_t n, size_t size, int *ret)
{
	void *a;

	*ret = 0;
	if (n == 0)
		return NULL;
	a = calloc(n, size);
	if (!a)
		*ret = report(p, ENOMEM, where, "out of memory");
	return a;
}

/* obj.key, an array of strings, as a new char *[] and its count. */
static int get_strings(struct parse *p, json_t *obj, const char *where, const char *key,
		       char ***out, size_t *n)
{
	char here[WHERE_MAX], item[WHERE_MAX];
	json_t *array, *v;
	size_t i;
	int ret;

	if (get_array(p, obj, where, key, &array) < 0)
		return -1;
	if (!array)
		return 0;
	if (child(p, here, where, key) < 0)
		return -1;
	/* One more, left NULL: execve(2) and the other users of argv-style lists need the end marked. */
	*out = new_array(p, here, json_array_size(array) + 1, sizeof(char *), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(array, i, v) {
		if (element(p, item, here, i) < 0 || copy_string(p, v, item, &(*out)[i]) < 0)
			return -1;
		*n = i + 1;
	}
	return 0;
}

/* Refuse obj.key unless it is absent or asks for nothing (null, false, 0, "", [], {}). */
static int refuse_if_set(struct parse *p, json_t *obj, const char *where, const char *key)
{
	char here[WHERE_MAX];
	json_t *v = json_object_get(obj, key);
	bool empty;

	if (!v)
		return 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT: empty = json_object_size(v) == 0; break;
	case JSON_ARRAY: empty = json_array_size(v) == 0; break;
	case JSON_STRING: empty = json_string_length(v) == 0; break;
	case JSON_INTEGER: empty = json_integer_value(v) == 0; break;
	case JSON_REAL: empty = json_real_value(v) == 0; break;
	case JSON_TRUE: empty = false; break;
	default: empty = true; break;
	}
	if (empty)
		return 0;
	if (child(p, here, where, key) < 0)
		return -1;
	return unsupported(p, here);
}

/* Look a name up in a table of strings; -1 if it is not there. */
static int lookup(const char *const *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (table[i] && strcmp(table[i], name) == 0)
			return (int)i;
	}
	return -1;
}

static bool is_absolute(const char *path)
{
	return path && path[0] == '/';
}

/* ---- process ------------------------------------------------------------ */

/*
 * capabilities(7) names, as config.md writes them ("CAP_CHOWN"), to numbers,
 * with libcap's table. cap_from_name(3) would also take "12" or "chown":
 * insist on the spelling the spec uses.
 */
int oci_capability_number(const char *name)
{
	cap_value_t cap;

	if (strncmp(name, "CAP_", 4) != 0 || !name[4] || (name[4] >= '0' && name[4] <= '9'))
		return -1;
	if (cap_from_name(name, &cap) < 0 || cap < 0 || cap > 63)
		return -1;
	return cap;
}

/* "CAP_CHOWN" for 0: libcap's name (cap_to_name(3) gives "cap_chown"), upper-cased. */
int oci_capability_name(int cap, char *buf, size_t size)
{
	char *name = cap_to_name(cap);
	int ret;

	if (!name)
		return -1;
	ret = format_into(buf, size, "%s", name);
	cap_free(name);
	for (size_t i = 0; ret == 0 && buf[i]; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
	return ret;
}

/* The lowest capability in a mask, by name, for a message. */
static const char *first_cap_name(uint64_t mask, char *buf, size_t size)
{
	for (int cap = 0; cap < 64; cap++) {
		if ((mask & (1ULL << cap)) && oci_capability_name(cap, buf, size) == 0)
			return buf;
	}
	return "?";
}

/* One set, such as process.capabilities.bounding, into a bit mask. */
static int parse_cap_set(struct parse *p, json_t *caps, const char *where, enum oci_cap_set set,
			 struct oci_process *proc)
{
	char here[WHERE_MAX], item[WHERE_MAX];
	json_t *array, *v;
	size_t i;

	if (get_array(p, caps, where, cap_set_names[set], &array) < 0)
		return -1;
	if (!array)
		return 0;
	if (child(p, here, where, cap_set_names[set]) < 0)
		return -1;
	proc->cap_set_given[set] = true;
	json_array_foreach(array, i, v) {
		int cap;

		if (element(p, item, here, i) < 0)
			return -1;
		if (!json_is_string(v))
			return wrong_type(p, v, item, "a string");
		if (strncmp(json_string_value(v), "CAP_", 4) != 0)
			return report(p, EINVAL, item, "\"%s\" is not a capability name (CAP_...)",
				      json_string_value(v));
		cap = oci_capability_number(json_string_value(v));
		/* A capability this host does not know can only be left out: the process gets less. */
		if (cap < 0 && note_warning(p, item, "unknown capability, not granted") < 0)
			return -1;
		if (cap >= 0)
			proc->caps[set] |= 1ULL << cap;
	}
	return 0;
}

/*
 * capabilities(7): capset(2) refuses an effective set that is not within
 * the permitted one, so say which capability is wrong now. An ambient
 * capability must also be permitted and inheritable; runc's own default
 * config asks for ambient ones without inheritable, and runc warns and goes
 * on: so does box (the process gets less, never more).
 */
static int check_cap_sets(struct parse *p, const char *where, const struct oci_process *proc)
{
	uint64_t extra = proc->caps[CAPS_EFFECTIVE] & ~proc->caps[CAPS_PERMITTED];
	uint64_t lost = proc->caps[CAPS_AMBIENT] & ~(proc->caps[CAPS_PERMITTED] & proc->caps[CAPS_INHERITABLE]);
	char here[WHERE_MAX], name[64];

	if (extra) {
		if (child(p, here, where, "effective") < 0)
			return -1;
		return report(p, EINVAL, here, "%s is not in permitted", first_cap_name(extra, name, sizeof(name)));
	}
	if (lost) {
		if (child(p, here, where, "ambient") < 0)
			return -1;
		return note_warning(p, here, "capabilities not in both permitted and inheritable cannot be ambient "
			    "(capabilities(7)); they are not raised");
	}
	return 0;
}

static int parse_capabilities(struct parse *p, json_t *process, const char *where, struct oci_process *proc)
{
	char here[WHERE_MAX];
	json_t *caps;

	if (get_object(p, process, where, "capabilities", &caps) < 0)
		return -1;
	if (!caps)
		return 0;
	if (child(p, here, where, "capabilities") < 0)
		return -1;
	proc->has_caps = true;
	for (int set = 0; set < CAP_SETS; set++) {
		if (parse_cap_set(p, caps, here, set, proc) < 0)
			return -1;
	}
	return check_cap_sets(p, here, proc);
}

/* process.user: uid and gid are required on POSIX platforms (config.md "User"). */
static int parse_user(struct parse *p, json_t *process, const char *where, struct oci_user *user)
{
	char here[WHERE_MAX], item[WHERE_MAX], list[WHERE_MAX];
	json_t *obj, *gids, *v;
	uint64_t umask = 0;
	size_t i;
	int ret;

	if (get_object(p, process, where, "user", &obj) < 0 || child(p, here, where, "user") < 0)
		return -1;
	if (!obj)
		return missing(p, here);
	if (get_u32_required(p, obj, here, "uid", MAX_UID, &user->uid) < 0 ||
	    get_u32_required(p, obj, here, "gid", MAX_UID, &user->gid) < 0 ||
	    get_u64(p, obj, here, "umask", 0777, &umask, &user->has_umask) < 0)
		return -1;
	user->umask = (uint32_t)umask;
	if (get_array(p, obj, here, "additionalGids", &gids) < 0)
		return -1;
	if (!gids)
		return 0;
	if (child(p, list, here, "additionalGids") < 0)
		return -1;
	user->additional_gids = new_array(p, list, json_array_size(gids), sizeof(uint32_t), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(gids, i, v) {
		uint64_t gid;

		if (element(p, item, list, i) < 0 || read_u64(p, v, item, MAX_UID, &gid) < 0)
			return -1;
		user->additional_gids[i] = (uint32_t)gid;
		user->n_additional_gids = i + 1;
	}
	return 0;
}

static int parse_rlimit(struct parse *p, json_t *v, const char *where, struct oci_process *proc, size_t i)
{
	struct oci_rlimit *rl = &proc->rlimits[i];
	bool soft_given, hard_given;
	char here[WHERE_MAX];
	size_t k;

	if (!json_is_object(v))
		return wrong_type(p, v, where, "an object");
	if (get_string(p, v, where, "type", true, &rl->type) < 0 ||
	    get_u64(p, v, where, "soft", UINT64_MAX, &rl->soft, &soft_given) < 0 ||
	    get_u64(p, v, where, "hard", UINT64_MAX, &rl->hard, &hard_given) < 0)
		return -1;
	if (!soft_given || !hard_given)
		return child(p, here, where, soft_given ? "hard" : "soft") < 0 ? -1 : missing(p, here);
	for (k = 0; k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++) {
		if (strcmp(rlimit_names[k].name, rl->type) == 0)
			break;
	}
	if (k == sizeof(rlimit_names) / sizeof(rlimit_names[0]))
		return report(p, EINVAL, where, "unknown rlimit type \"%s\"", rl->type);
	rl->resource = rlimit_names[k].resource;
	/* setrlimit(2) fails with EINVAL if soft > hard: say so now, with the field. */
	if (rl->soft > rl->hard)
		return report(p, EINVAL, where, "soft limit %llu is above hard limit %llu",
			      (unsigned long long)rl->soft, (unsigned long long)rl->hard);
	for (k = 0; k < i; k++) {
		if (proc->rlimits[k].resource == rl->resource)	/* config.md: MUST generate an error */
			return report(p, EINVAL, where, "%s given twice", rl->type);
	}
	return 0;
}

static int parse_rlimits(struct parse *p, json_t *process, const char *where, struct oci_process *proc)
{
	char here[WHERE_MAX], item[WHERE_MAX];
	json_t *array, *v;
	size_t i;
	int ret;

	if (get_array(p, process, where, "rlimits", &array) < 0)
		return -1;
	if (!array)
		return 0;
	if (child(p, here, where, "rlimits") < 0)
		return -1;
	proc->rlimits = new_array(p, here, json_array_size(array), sizeof(*proc->rlimits), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(array, i, v) {
		proc->n_rlimits = i + 1;
		if (element(p, item, here, i) < 0 || parse_rlimit(p, v, item, proc, i) < 0)
			return -1;
	}
	return 0;
}

static bool host_has_apparmor(void)
{
	char enabled = 'N';
	FILE *file = fopen("/sys/module/apparmor/parameters/enabled", "re");

	if (!file)
		return false;
	if (fread(&enabled, 1, 1, file) != 1)
		enabled = 'N';
	fclose(file);
	return enabled == 'Y';
}

static bool host_has_selinux(void)
{
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

/*
 * An AppArmor profile or SELinux label is a restriction box cannot apply.
 * On a host that enforces that LSM, running without it would be silently
 * weaker: refuse. On a host without it, the label means nothing (runc
 * would skip it too): warn and go on.
 */
static int check_lsm_label(struct parse *p, const char *where, const char *key, const char *value,
			   bool host_has_lsm)
{
	char here[WHERE_MAX];

	if (!value || !value[0])
		return 0;
	if (child(p, here, where, key) < 0)
		return -1;
	if (host_has_lsm)
		return report(p, ENOTSUP, here, "\"%s\": box cannot apply it, and this host enforces it",
			      value);
	return note_warning(p, here, "ignored: this host has no such security module");
}

static int check_env(struct parse *p, const char *where, char **env, size_t n)
{
	char item[WHERE_MAX];

	for (size_t i = 0; i < n; i++) {
		if (strchr(env[i], '=') == NULL || env[i][0] == '=') {
			if (element(p, item, where, i) < 0)
				return -1;
			return report(p, EINVAL, item, "\"%s\" is not KEY=VALUE", env[i]);
		}
	}
	return 0;
}

static int parse_console_size(struct parse *p, json_t *process, const char *where, struct oci_process *proc)
{
	char here[WHERE_MAX];
	uint64_t height = 0, width = 0;
	json_t *size;

	if (get_object(p, process, where, "consoleSize", &size) < 0)
		return -1;
	if (!size)
		return 0;
	if (child(p, here, where, "consoleSize") < 0 ||
	    get_u64(p, size, here, "height", USHRT_MAX, &height, NULL) < 0 ||
	    get_u64(p, size, here, "width", USHRT_MAX, &width, NULL) < 0)
		return -1;
	proc->has_console_size = true;
	proc->console_height = (unsigned int)height;
	proc->console_width = (unsigned int)width;
	return 0;
}

/* The fields of "process" box does not implement, refused when they ask for something. */
static int refuse_process_extras(struct parse *p, json_t *process, const char *where)
{
	static const char *const keys[] = { "ioPriority", "scheduler", "execCPUAffinity" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (refuse_if_set(p, process, where, keys[i]) < 0)
			return -1;
	}
	return 0;
}

static int parse_process_security(struct parse *p, json_t *obj, const char *where, struct oci_process *proc)
{
	int64_t oom = 0;
	char args[WHERE_MAX];

	if (parse_capabilities(p, obj, where, proc) < 0 || parse_rlimits(p, obj, where, proc) < 0 ||
	    get_bool(p, obj, where, "noNewPrivileges", &proc->no_new_privileges) < 0 ||
	    get_i64(p, obj, where, "oomScoreAdj", OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX, &oom,
		    &proc->has_oom_score_adj) < 0)
		return -1;
	proc->oom_score_adj = (int)oom;
	if (get_string(p, obj, where, "apparmorProfile", false, &proc->apparmor_profile) < 0 ||
	    get_string(p, obj, where, "selinuxLabel", false, &proc->selinux_label) < 0 ||
	    check_lsm_label(p, where, "apparmorProfile", proc->apparmor_profile, host_has_apparmor()) < 0 ||
	    check_lsm_label(p, where, "selinuxLabel", proc->selinux_label, host_has_selinux()) < 0)
		return -1;
	if (proc->n_args == 0)
		return child(p, args, where, "args") < 0 ? -1 : report(p, EINVAL, args, "needs at least one entry");
	return refuse_process_extras(p, obj, where);
}

/* "process" of config.json, or the whole of a process.json (`exec --process`). */
static int parse_process_object(struct parse *p, json_t *obj, const char *where, struct oci_process *proc)
{
	char here[WHERE_MAX];

	if (!json_is_object(obj))
		return wrong_type(p, obj, where[0] ? where : "process", "an object");
	if (get_bool(p, obj, where, "terminal", &proc->terminal) < 0 ||
	    parse_console_size(p, obj, where, proc) < 0 || parse_user(p, obj, where, &proc->user) < 0 ||
	    get_strings(p, obj, where, "args", &proc->args, &proc->n_args) < 0 ||
	    get_strings(p, obj, where, "env", &proc->env, &proc->n_env) < 0 ||
	    get_string(p, obj, where, "cwd", true, &proc->cwd) < 0)
		return -1;
	if (child(p, here, where, "env") < 0 || check_env(p, here, proc->env, proc->n_env) < 0)
		return -1;
	if (!is_absolute(proc->cwd))	/* config.md: cwd "MUST be an absolute path" */
		return child(p, here, where, "cwd") < 0 ? -1 : report(p, EINVAL, here, "\"%s\" is not absolute", proc->cwd);
	return parse_process_security(p, obj, where, proc);
}

/* ---- root, hostname, mounts, hooks ---------------------------------------- */

static int parse_root(struct parse *p, json_t *top, struct oci_root *root)
{
	json_t *obj;

	if (get_object(p, top, "", "root", &obj) < 0)
		return -1;
	if (!obj)	/* config.md: REQUIRED on every platform but Windows */
		return missing(p, "root");
	if (get_string(p, obj, "root", "path", true, &root->path) < 0 ||
	    get_bool(p, obj, "root", "readonly", &root->readonly) < 0)
		return -1;
	if (!root->path[0])
		return report(p, EINVAL, "root.path", "empty");
	return 0;
}

static int parse_mount(struct parse *p, json_t *v, const char *where, struct oci_mount *m)
{
	char here[WHERE_MAX];

	if (!json_is_object(v))
		return wrong_type(p, v, where, "an object");
	if (get_string(p, v, where, "destination", true, &m->destination) < 0 ||
	    get_string(p, v, where, "type", false, &m->type) < 0 ||
	    get_string(p, v, where, "source", false, &m->source) < 0 ||
	    get_strings(p, v, where, "options", &m->options, &m->n_options) < 0)
		return -1;
	if (!m->destination[0])
		return child(p, here, where, "destination") < 0 ? -1 : report(p, EINVAL, here, "empty");
	if (refuse_if_set(p, v, where, "uidMappings") < 0 || refuse_if_set(p, v, where, "gidMappings") < 0)
		return -1;
	if (child(p, here, where, "options") < 0)
		return -1;
	return parse_mount_options(m->options, m->n_options, &m->parsed, here, p->f);
}

static int parse_mounts(struct parse *p, json_t *top, struct oci_config *cfg)
{
	char item[WHERE_MAX];
	json_t *array, *v;
	size_t i;
	int ret;

	if (get_array(p, top, "", "mounts", &array) < 0)
		return -1;
	if (!array)
		return 0;
	cfg->mounts = new_array(p, "mounts", json_array_size(array), sizeof(*cfg->mounts), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(array, i, v) {
		cfg->n_mounts = i + 1;
		if (element(p, item, "mounts", i) < 0 || parse_mount(p, v, item, &cfg->mounts[i]) < 0)
			return -1;
	}
	return 0;
}

static int parse_hook(struct parse *p, json_t *v, const char *where, struct oci_hook *hook)
{
	char here[WHERE_MAX];
	int64_t timeout = 0;
	bool given;

	if (!json_is_object(v))
		return wrong_type(p, v, where, "an object");
	if (get_string(p, v, where, "path", true, &hook->path) < 0 ||
	    get_strings(p, v, where, "args", &hook->args, &hook->n_args) < 0 ||
	    get_strings(p, v, where, "env", &hook->env, &hook->n_env) < 0 ||
	    get_i64(p, v, where, "timeout", INT32_MIN, INT32_MAX, &timeout, &given) < 0)
		return -1;
	if (!is_absolute(hook->path))	/* config.md: "path ... MUST be absolute" */
		return child(p, here, where, "path") < 0 ? -1 : report(p, EINVAL, here, "\"%s\" is not absolute", hook->path);
	if (given && timeout <= 0)	/* config.md: "timeout ... MUST be greater than zero" */
		return child(p, here, where, "timeout") < 0 ? -1 : report(p, EINVAL, here, "must be greater than zero");
	hook->timeout = (int)timeout;
	if (child(p, here, where, "env") < 0)
		return -1;
	return check_env(p, here, hook->env, hook->n_env);
}

static int parse_hook_list(struct parse *p, json_t *hooks, enum oci_hook_kind kind, struct oci_hooks *out)
{
	char here[WHERE_MAX], item[WHERE_MAX];
	json_t *array, *v;
	size_t i;
	int ret;

	if (get_array(p, hooks, "hooks", hook_names[kind], &array) < 0)
		return -1;
	if (!array)
		return 0;
	if (child(p, here, "hooks", hook_names[kind]) < 0)
		return -1;
	out->list[kind] = new_array(p, here, json_array_size(array), sizeof(struct oci_hook), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(array, i, v) {
		out->n[kind] = i + 1;
		if (element(p, item, here, i) < 0 || parse_hook(p, v, item, &out->list[kind][i]) < 0)
			return -1;
	}
	return 0;
}

static int parse_hooks(struct parse *p, json_t *top, struct oci_hooks *hooks)
{
	json_t *obj;

	if (get_object(p, top, "", "hooks", &obj) < 0)
		return -1;
	if (!obj)
		return 0;
	for (int kind = 0; kind < HOOK_KINDS; kind++) {
		if (parse_hook_list(p, obj, kind, hooks) < 0)
			return -1;
	}
	return 0;
}

/* An object of strings (linux.sysctl, annotations) into key/value pairs. */
static int parse_string_map(struct parse *p, json_t *obj, const char *where, const char *key,
			    struct oci_key_value **out, size_t *n)
{
	char here[WHERE_MAX], item[WHERE_MAX];
	const char *k;
	json_t *map, *v;
	int ret;

	if (get_object(p, obj, where, key, &map) < 0)
		return -1;
	if (!map)
		return 0;
	if (child(p, here, where, key) < 0)
		return -1;
	*out = new_array(p, here, json_object_size(map), sizeof(**out), &ret);
	if (ret < 0)
		return -1;
	json_object_foreach(map, k, v) {
		struct oci_key_value *kv = &(*out)[(*n)++];

		if (child(p, item, here, k) < 0 || copy_string(p, v, item, &kv->value) < 0)
			return -1;
		kv->key = strdup(k);
		if (!kv->key)
			return report(p, ENOMEM, item, "out of memory");
	}
	return 0;
}

/* ---- linux: namespaces, id mappings ----------------------------------------- */

const char *oci_namespace_name(enum oci_namespace_type type)
{
	return type < NS_TYPES ? namespace_names[type] : "?";
}

static int parse_namespace(struct parse *p, json_t *v, const char *where, struct oci_linux *lin, size_t i)
{
	struct oci_namespace *ns = &lin->namespaces[i];
	char *type = NULL;
	char here[WHERE_MAX];
	int t;

	if (!json_is_object(v))
		return wrong_type(p, v, where, "an object");
	if (get_string(p, v, where, "type", true, &type) < 0 || child(p, here, where, "type") < 0) {
		free(type);
		return -1;
	}
	t = lookup(namespace_names, NS_TYPES, type);
	if (t < 0) {
		report(p, EINVAL, here, "unknown namespace type \"%s\"", type);
		free(type);
		return -1;
	}
	free(type);
	ns->type = t;
	if (get_string(p, v, where, "path", false, &ns->path) < 0)
		return -1;
	for (size_t k = 0; k < i; k++) {
		if (lin->namespaces[k].type == ns->type)	/* config-linux.md: MUST generate an error */
			return report(p, EINVAL, here, "namespace type \"%s\" given twice", namespace_names[t]);
	}
	return 0;
}

static int parse_namespaces(struct parse *p, json_t *lobj, struct oci_linux *lin)
{
	char item[WHERE_MAX];
	json_t *array, *v;
	size_t i;
	int ret;

	if (get_array(p, lobj, "linux", "namespaces", &array) < 0)
		return -1;
	if (!array)
		return 0;
	lin->namespaces = new_array(p, "linux.namespaces", json_array_size(array), sizeof(*lin->namespaces), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(array, i, v) {
		lin->n_namespaces = i + 1;
		if (element(p, item, "linux.namespaces", i) < 0 || parse_namespace(p, v, item, lin, i) < 0)
			return -1;
	}
	return 0;
}

static int parse_id_mappings(struct parse *p, json_t *lobj, const char *key,
			     struct oci_id_mapping **out, size_t *n)
{
	char here[WHERE_MAX], item[WHERE_MAX];
	json_t *array, *v;
	size_t i;
	int ret;

	if (get_array(p, lobj, "linux", key, &array) < 0)
		return -1;
	if (!array)
		return 0;
	if (child(p, here, "linux", key) < 0)
		return -1;
	*out = new_array(p, here, json_array_size(array), sizeof(**out), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(array, i, v) {
		struct oci_id_mapping *m = &(*out)[i];

		if (element(p, item, here, i) < 0)
			return -1;
		if (!json_is_object(v))
			return wrong_type(p, v, item, "an object");
		if (get_u32_required(p, v, item, "containerID", UINT32_MAX, &m->container_id) < 0 ||
		    get_u32_required(p, v, item, "hostID", UINT32_MAX, &m->host_id) < 0 ||
		    get_u32_required(p, v, item, "size", UINT32_MAX, &m->size) < 0)
			return -1;
		*n = i + 1;
	}
	return 0;
}

/* ---- linux.resources ----------------------------------------------------- */

/* Fields of one resources object box refuses unless they ask for nothing. */
static int refuse_keys(struct parse *p, json_t *obj, const char *where, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (refuse_if_set(p, obj, where, keys[i]) < 0)
			return -1;
	}
	return 0;
}

static int parse_memory_limits(struct parse *p, json_t *res, struct oci_resources *r)
{
	static const char *const refused[] = {
		"kernel", "kernelTCP", "swappiness", "disableOOMKiller", "useHierarchy",
	};
	const char *where = "linux.resources.memory";
	json_t *mem;

	if (get_object(p, res, "linux.resources", "memory", &mem) < 0)
		return -1;
	if (!mem)
		return 0;
	if (get_i64(p, mem, where, "limit", -1, INT64_MAX, &r->memory_limit, NULL) < 0 ||
	    get_i64(p, mem, where, "reservation", -1, INT64_MAX, &r->memory_reservation, NULL) < 0 ||
	    get_i64(p, mem, where, "swap", -1, INT64_MAX, &r->memory_swap, NULL) < 0)
		return -1;
	/* swappiness 0 is a real request, so "given at all" is what counts for it */
	if (json_object_get(mem, "swappiness") && !json_is_null(json_object_get(mem, "swappiness")))
		return unsupported(p, "linux.resources.memory.swappiness");
	return refuse_keys(p, mem, where, refused, sizeof(refused) / sizeof(refused[0]));
}

static int parse_cpu(struct parse *p, json_t *res, struct oci_resources *r)
{
	static const char *const refused[] = {
		"realtimeRuntime", "realtimePeriod", "burst", "idle",
	};
	const char *where = "linux.resources.cpu";
	json_t *cpu;

	if (get_object(p, res, "linux.resources", "cpu", &cpu) < 0)
		return -1;
	if (!cpu)
		return 0;
	if (get_u64(p, cpu, where, "shares", UINT64_MAX, &r->cpu_shares, NULL) < 0 ||
	    get_i64(p, cpu, where, "quota", -1, INT64_MAX, &r->cpu_quota, NULL) < 0 ||
	    get_u64(p, cpu, where, "period", UINT64_MAX, &r->cpu_period, NULL) < 0 ||
	    get_string(p, cpu, where, "cpus", false, &r->cpu_cpus) < 0 ||
	    get_string(p, cpu, where, "mems", false, &r->cpu_mems) < 0)
		return -1;
	return refuse_keys(p, cpu, where, refused, sizeof(refused) / sizeof(refused[0]));
}

static int parse_pids_and_blkio(struct parse *p, json_t *res, struct oci_resources *r)
{
	static const char *const refused[] = {
		"leafWeight", "weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice",
		"throttleReadIOPSDevice", "throttleWriteIOPSDevice",
	};
	const char *where = "linux.resources.blockIO";
	json_t *pids, *blkio;
	uint64_t weight = 0;

	if (get_object(p, res, "linux.resources", "pids", &pids) < 0 ||
	    (pids && get_i64(p, pids, "linux.resources.pids", "limit", -1, INT64_MAX, &r->pids_limit, NULL) < 0))
		return -1;
	if (get_object(p, res, "linux.resources", "blockIO", &blkio) < 0)
		return -1;
	if (!blkio)
		return 0;
	/* config-linux.md: weight 10-1000; 0 is docker's "not set" */
	if (get_u64(p, blkio, where, "weight", 1000, &weight, NULL) < 0)
		return -1;
	if (weight != 0 && weight < 10)
		return report(p, EINVAL, "linux.resources.blockIO.weight", "%llu is out of range (10 to 1000)",
			      (unsigned long long)weight);
	r->blkio_weight = (uint16_t)weight;
	return refuse_keys(p, blkio, where, refused, sizeof(refused) / sizeof(refused[0]));
}

static int parse_device_rule(struct parse *p, json_t *v, const char *where, struct oci_device_rule *d)
{
	char *type = NULL, *access = NULL;
	char here[WHERE_MAX];
	bool given;
	int ret = -1;

	if (!json_is_object(v))
		return wrong_type(p, v, where, "an object");
	if (get_bool(p, v, where, "allow", &d->allow) < 0)
		return -1;
	if (!json_object_get(v, "allow"))
		return child(p, here, where, "allow") < 0 ? -1 : missing(p, here);
	d->major = d->minor = -1;
	if (get_string(p, v, where, "type", false, &type) < 0 || get_string(p, v, where, "access", false, &access) < 0 ||
	    get_i64(p, v, where, "major", -1, INT64_MAX, &d->major, &given) < 0 ||
	    get_i64(p, v, where, "minor", -1, INT64_MAX, &d->minor, &given) < 0)
		goto out;
	d->type = type ? type[0] : 'a';
	if (type && (strlen(type) != 1 || !strchr("acb", type[0]))) {
		report(p, EINVAL, where, "type \"%s\" is not a, c or b", type);
		goto out;
	}
	snprintf(d->access, sizeof(d->access), "%s", access ? access : "rwm");
	if (strlen(access ? access : "") > 3 || strspn(d->access, "rwm") != strlen(d->access)) {
		report(p, EINVAL, where, "access \"%s\" is not made of r, w and m", access);
		goto out;
	}
	ret = 0;
out:
	free(type);
	free(access);
	return ret;
}

static int parse_device_rules(struct parse *p, json_t *res, struct oci_resources *r)
{
	const char *where = "linux.resources.devices";
	char item[WHERE_MAX];
	json_t *array, *v;
	size_t i;
	int ret;

	if (get_array(p, res, "linux.resources", "devices", &array) < 0)
		return -1;
	if (!array)
		return 0;
	r->devices = new_array(p, where, json_array_size(array), sizeof(*r->devices), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(array, i, v) {
		r->n_devices = i + 1;
		if (element(p, item, where, i) < 0 || parse_device_rule(p, v, item, &r->devices[i]) < 0)
			return -1;
	}
	return 0;
}

static int parse_resources(struct parse *p, json_t *lobj, struct oci_linux *lin)
{
	static const char *const refused[] = { "hugepageLimits", "network", "rdma", "unified" };
	json_t *res;

	if (get_object(p, lobj, "linux", "resources", &res) < 0)
		return -1;
	if (!res)
		return 0;
	lin->has_resources = true;
	if (parse_memory_limits(p, res, &lin->resources) < 0 || parse_cpu(p, res, &lin->resources) < 0 ||
	    parse_pids_and_blkio(p, res, &lin->resources) < 0 || parse_device_rules(p, res, &lin->resources) < 0)
		return -1;
	return refuse_keys(p, res, "linux.resources", refused, sizeof(refused) / sizeof(refused[0]));
}

/* ---- linux.seccomp ------------------------------------------------------- */

static int parse_action(struct parse *p, json_t *obj, const char *where, const char *key,
			enum oci_seccomp_action *action)
{
	char here[WHERE_MAX];
	char *name = NULL;
	int a;

	if (get_string(p, obj, where, key, true, &name) < 0 || child(p, here, where, key) < 0) {
		free(name);
		return -1;
	}
	a = lookup(seccomp_actions, sizeof(seccomp_actions) / sizeof(seccomp_actions[0]), name);
	if (a < 0)
		report(p, EINVAL, here, "invalid seccomp action \"%s\"", name);
	else if (a == OCI_ACT_NOTIFY)	/* needs a listener process: box has none */
		report(p, ENOTSUP, here, "\"%s\" is not supported by box", name);
	free(name);
	if (a < 0 || a == OCI_ACT_NOTIFY)
		return -1;
	*action = a;
	return 0;
}

static int parse_seccomp_arg(struct parse *p, json_t *v, const char *where, struct oci_seccomp_arg *arg)
{
	char *op = NULL;
	uint64_t index = 0;
	bool given;
	int o;

	if (!json_is_object(v))
		return wrong_type(p, v, where, "an object");
	if (get_u64(p, v, where, "index", SECCOMP_MAX_ARG, &index, &given) < 0)
		return -1;
	if (!given)
		return report(p, EINVAL, where, "index: missing (required)");
	arg->index = (unsigned int)index;
	if (get_u64(p, v, where, "value", UINT64_MAX, &arg->value, &given) < 0)
		return -1;
	if (!given)
		return report(p, EINVAL, where, "value: missing (required)");
	if (get_u64(p, v, where, "valueTwo", UINT64_MAX, &arg->value_two, NULL) < 0 ||
	    get_string(p, v, where, "op", true, &op) < 0)
		return -1;
	o = lookup(seccomp_ops, sizeof(seccomp_ops) / sizeof(seccomp_ops[0]), op);
	if (o < 0)
		report(p, EINVAL, where, "invalid seccomp operator \"%s\"", op);
	free(op);
	arg->op = o;
	return o < 0 ? -1 : 0;
}

static int parse_seccomp_rule(struct parse *p, json_t *v, const char *where, struct oci_seccomp_rule *rule)
{
	char here[WHERE_MAX], item[WHERE_MAX];
	json_t *args, *a;
	uint64_t err = 0;
	size_t i;
	int ret;

	if (!json_is_object(v))
		return wrong_type(p, v, where, "an object");
	if (get_strings(p, v, where, "names", &rule->names, &rule->n_names) < 0 ||
	    parse_action(p, v, where, "action", &rule->action) < 0 ||
	    get_u64(p, v, where, "errnoRet", MAX_ERRNO, &err, &rule->has_errno) < 0)
		return -1;
	rule->errno_ret = (unsigned int)err;
	if (rule->n_names == 0)	/* config-linux.md: names is REQUIRED */
		return child(p, here, where, "names") < 0 ? -1 : report(p, EINVAL, here, "needs at least one name");
	if (rule->has_errno && rule->action != OCI_ACT_ERRNO && rule->action != OCI_ACT_TRACE)
		return report(p, EINVAL, where, "errnoRet is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE");
	if (get_array(p, v, where, "args", &args) < 0)
		return -1;
	if (!args)
		return 0;
	if (child(p, here, where, "args") < 0)
		return -1;
	rule->args = new_array(p, here, json_array_size(args), sizeof(*rule->args), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(args, i, a) {
		rule->n_args = i + 1;
		if (element(p, item, here, i) < 0 || parse_seccomp_arg(p, a, item, &rule->args[i]) < 0)
			return -1;
	}
	return 0;
}

static int check_seccomp_names(struct parse *p, const char *where, struct oci_seccomp *sc)
{
	char item[WHERE_MAX];

	for (size_t i = 0; i < sc->n_architectures; i++) {
		if (lookup(seccomp_arches, sizeof(seccomp_arches) / sizeof(seccomp_arches[0]),
			   sc->architectures[i]) >= 0)
			continue;
		if (format_into(item, sizeof(item), "%s.architectures[%zu]", where, i) < 0)
			return report(p, ENAMETOOLONG, where, "field path too long");
		return report(p, EINVAL, item, "unknown architecture \"%s\"", sc->architectures[i]);
	}
	return 0;
}

static int parse_seccomp_flags(struct parse *p, json_t *seccomp, const char *where, struct oci_seccomp *sc)
{
	char **names = NULL;
	size_t n = 0, i, k;
	int ret = 0;

	if (get_strings(p, seccomp, where, "flags", &names, &n) < 0)
		ret = -1;
	for (i = 0; i < n && ret == 0; i++) {
		for (k = 0; k < sizeof(seccomp_flags) / sizeof(seccomp_flags[0]); k++) {
			if (strcmp(seccomp_flags[k].name, names[i]) == 0)
				break;
		}
		if (k == sizeof(seccomp_flags) / sizeof(seccomp_flags[0]))
			ret = report(p, EINVAL, "linux.seccomp.flags", "unknown flag \"%s\"", names[i]);
		else if (seccomp_flags[k].flag == 0)
			ret = report(p, ENOTSUP, "linux.seccomp.flags", "\"%s\" is not supported by box", names[i]);
		else
			sc->flags |= seccomp_flags[k].flag;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

static int parse_seccomp(struct parse *p, json_t *lobj, struct oci_linux *lin)
{
	const char *where = "linux.seccomp";
	struct oci_seccomp *sc = &lin->seccomp;
	char item[WHERE_MAX];
	json_t *obj, *rules, *v;
	uint64_t err = 0;
	size_t i;
	int ret;

	if (get_object(p, lobj, "linux", "seccomp", &obj) < 0)
		return -1;
	if (!obj)
		return 0;
	lin->has_seccomp = true;
	if (parse_action(p, obj, where, "defaultAction", &sc->default_action) < 0 ||
	    get_u64(p, obj, where, "defaultErrnoRet", MAX_ERRNO, &err, &sc->has_default_errno) < 0 ||
	    get_strings(p, obj, where, "architectures", &sc->architectures, &sc->n_architectures) < 0 ||
	    check_seccomp_names(p, where, sc) < 0 || parse_seccomp_flags(p, obj, where, sc) < 0 ||
	    refuse_if_set(p, obj, where, "listenerPath") < 0 || get_array(p, obj, where, "syscalls", &rules) < 0)
		return -1;
	sc->default_errno = (unsigned int)err;
	if (!rules)
		return 0;
	sc->rules = new_array(p, "linux.seccomp.syscalls", json_array_size(rules), sizeof(*sc->rules), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(rules, i, v) {
		sc->n_rules = i + 1;
		if (element(p, item, "linux.seccomp.syscalls", i) < 0 ||
		    parse_seccomp_rule(p, v, item, &sc->rules[i]) < 0)
			return -1;
	}
	return 0;
}

/* ---- linux: devices, paths, the rest ---------------------------------------- */

static int parse_device(struct parse *p, json_t *v, const char *where, struct oci_linux_device *d)
{
	uint64_t mode = 0, uid = 0, gid = 0;
	bool major_given, minor_given;
	char *type = NULL;
	bool valid;

	if (!json_is_object(v))
		return wrong_type(p, v, where, "an object");
	if (get_string(p, v, where, "type", true, &type) < 0)
		return -1;
	valid = strlen(type) == 1 && strchr("cbup", type[0]);
	d->type = type[0];
	if (!valid)
		report(p, EINVAL, where, "type \"%s\" is not c, b, u or p", type);
	free(type);
	if (!valid)
		return -1;
	if (get_string(p, v, where, "path", true, &d->path) < 0 ||
	    get_i64(p, v, where, "major", 0, INT64_MAX, &d->major, &major_given) < 0 ||
	    get_i64(p, v, where, "minor", 0, INT64_MAX, &d->minor, &minor_given) < 0 ||
	    get_u64(p, v, where, "fileMode", MAX_FILE_MODE, &mode, &d->has_file_mode) < 0 ||
	    get_u64(p, v, where, "uid", MAX_UID, &uid, &d->has_uid) < 0 ||
	    get_u64(p, v, where, "gid", MAX_UID, &gid, &d->has_gid) < 0)
		return -1;
	d->file_mode = (uint32_t)mode;
	d->uid = (uint32_t)uid;
	d->gid = (uint32_t)gid;
	if (!is_absolute(d->path))
		return report(p, EINVAL, where, "path \"%s\" is not absolute", d->path);
	if (d->type != 'p' && (!major_given || !minor_given))	/* config-linux.md: REQUIRED for c, b, u */
		return report(p, EINVAL, where, "major and minor are required for type %c", d->type);
	return 0;
}

static int parse_devices(struct parse *p, json_t *lobj, struct oci_linux *lin)
{
	char item[WHERE_MAX];
	json_t *array, *v;
	size_t i;
	int ret;

	if (get_array(p, lobj, "linux", "devices", &array) < 0)
		return -1;
	if (!array)
		return 0;
	lin->devices = new_array(p, "linux.devices", json_array_size(array), sizeof(*lin->devices), &ret);
	if (ret < 0)
		return -1;
	json_array_foreach(array, i, v) {
		lin->n_devices = i + 1;
		if (element(p, item, "linux.devices", i) < 0 || parse_device(p, v, item, &lin->devices[i]) < 0)
			return -1;
	}
	return 0;
}

/* maskedPaths, readonlyPaths: absolute paths inside the container. */
static int parse_paths(struct parse *p, json_t *lobj, const char *key, char ***out, size_t *n)
{
	char here[WHERE_MAX], item[WHERE_MAX];

	if (get_strings(p, lobj, "linux", key, out, n) < 0 || child(p, here, "linux", key) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		if (!is_absolute((*out)[i]))
			return element(p, item, here, i) < 0 ? -1 :
			       report(p, EINVAL, item, "\"%s\" is not absolute", (*out)[i]);
	}
	return 0;
}

static int parse_rootfs_propagation(struct parse *p, json_t *lobj, struct oci_linux *lin)
{
	char *name = NULL;
	size_t i;

	if (get_string(p, lobj, "linux", "rootfsPropagation", false, &name) < 0)
		return -1;
	if (!name)
		return 0;
	for (i = 0; i < sizeof(propagations) / sizeof(propagations[0]); i++) {
		if (strcmp(propagations[i].name, name) == 0)
			lin->rootfs_propagation = propagations[i].flags;
	}
	if (!lin->rootfs_propagation)
		report(p, EINVAL, "linux.rootfsPropagation", "unknown propagation \"%s\"", name);
	free(name);
	return lin->rootfs_propagation ? 0 : -1;
}

/* The fields of "linux" box does not implement: refused if they ask for anything. */
static int refuse_linux_extras(struct parse *p, json_t *lobj)
{
	static const char *const keys[] = {
		"intelRdt", "personality", "timeOffsets", "memoryPolicy", "netDevices",
	};

	return refuse_keys(p, lobj, "linux", keys, sizeof(keys) / sizeof(keys[0]));
}

static int parse_linux(struct parse *p, json_t *top, struct oci_linux *lin)
{
	json_t *lobj;

	if (get_object(p, top, "", "linux", &lobj) < 0)
		return -1;
	if (!lobj)
		return 0;
	if (parse_namespaces(p, lobj, lin) < 0 ||
	    parse_id_mappings(p, lobj, "uidMappings", &lin->uid_mappings, &lin->n_uid_mappings) < 0 ||
	    parse_id_mappings(p, lobj, "gidMappings", &lin->gid_mappings, &lin->n_gid_mappings) < 0 ||
	    parse_resources(p, lobj, lin) < 0 ||
	    get_string(p, lobj, "linux", "cgroupsPath", false, &lin->cgroups_path) < 0 ||
	    parse_string_map(p, lobj, "linux", "sysctl", &lin->sysctl, &lin->n_sysctl) < 0 ||
	    parse_seccomp(p, lobj, lin) < 0 ||
	    parse_paths(p, lobj, "maskedPaths", &lin->masked_paths, &lin->n_masked_paths) < 0 ||
	    parse_paths(p, lobj, "readonlyPaths", &lin->readonly_paths, &lin->n_readonly_paths) < 0 ||
	    parse_rootfs_propagation(p, lobj, lin) < 0 || parse_devices(p, lobj, lin) < 0 ||
	    get_string(p, lobj, "linux", "mountLabel", false, &lin->mount_label) < 0 ||
	    check_lsm_label(p, "linux", "mountLabel", lin->mount_label, host_has_selinux()) < 0)
		return -1;
	return refuse_linux_extras(p, lobj);
}

/* ---- the whole document ---------------------------------------------------- */

/* config.md "Specification version": box implements 1.x. */
static int check_version(struct parse *p, const char *version)
{
	if (strncmp(version, "1.", 2) != 0)
		return report(p, ENOTSUP, "ociVersion", "\"%s\": box implements version 1.x", version);
	return 0;
}

/* Users of a user namespace need both maps; without one, the maps mean nothing. */
static int check_user_namespace(struct parse *p, const struct oci_linux *lin)
{
	bool userns = false;

	for (size_t i = 0; i < lin->n_namespaces; i++)
		userns |= lin->namespaces[i].type == NS_USER && !lin->namespaces[i].path;
	if ((lin->n_uid_mappings || lin->n_gid_mappings) && !userns)
		return report(p, EINVAL, "linux.uidMappings", "given without a new user namespace");
	return 0;
}

static int parse_top(struct parse *p, json_t *top, struct oci_config *cfg)
{
	json_t *process;

	if (!json_is_object(top))
		return report(p, EINVAL, "(top)", "expected an object, got %s", type_name(top));
	if (get_string(p, top, "", "ociVersion", true, &cfg->oci_version) < 0 ||
	    check_version(p, cfg->oci_version) < 0 || parse_root(p, top, &cfg->root) < 0 ||
	    get_string(p, top, "", "hostname", false, &cfg->hostname) < 0 ||
	    get_string(p, top, "", "domainname", false, &cfg->domainname) < 0 ||
	    parse_mounts(p, top, cfg) < 0 || parse_hooks(p, top, &cfg->hooks) < 0 ||
	    parse_string_map(p, top, "", "annotations", &cfg->annotations, &cfg->n_annotations) < 0 ||
	    parse_linux(p, top, &cfg->lin) < 0 || check_user_namespace(p, &cfg->lin) < 0 ||
	    refuse_if_set(p, top, "", "vm") < 0 || get_object(p, top, "", "process", &process) < 0)
		return -1;
	if (!process)	/* config.md: REQUIRED when start is called; box needs it at create */
		return missing(p, "process");
	cfg->has_process = true;
	return parse_process_object(p, process, "process", &cfg->process);
}

/*
 * Parse JSON text. jansson refuses integers beyond long long, which Go
 * writes for RLIM_INFINITY: then parse again with numbers as doubles (see
 * real_to_u64). Duplicate keys are refused: which of two "noNewPrivileges"
 * would win is not something to guess.
 */
static json_t *parse_json(struct parse *p, const char *text)
{
	json_error_t err;
	json_t *top = json_loads(text, JSON_REJECT_DUPLICATES, &err);

	if (!top && json_error_code(&err) == json_error_numeric_overflow)
		top = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &err);
	if (!top) {
		errno = EINVAL;
		failed(p->f, "%s: line %d, column %d: %s", p->file, err.line, err.column, err.text);
	}
	return top;
}

static int parse_config(const char *file, const char *text, struct oci_config *cfg, struct failure *f)
{
	struct parse p = { .file = file, .f = f, .cfg = cfg };
	json_t *top;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	top = parse_json(&p, text);
	if (!top)
		return -1;
	ret = parse_top(&p, top, cfg);
	json_decref(top);
	if (ret < 0) {
		int err = errno;

		oci_free(cfg);
		errno = err;
	}
	return ret;
}

int oci_parse_string(const char *text, struct oci_config *cfg, struct failure *f)
{
	return parse_config("config.json", text, cfg, f);
}

/* Read a whole file into a new string (config.json is small: a few tens of KiB). */
static char *read_text(const char *path)
{
	FILE *file = fopen(path, "re");
	char *text = NULL;
	size_t size = 0;
	ssize_t n;

	if (!file)
		return NULL;
	n = getdelim(&text, &size, '\0', file);
	if (n < 0 && !ferror(file) && !text)
		text = strdup("");
	else if (n < 0 && ferror(file)) {
		free(text);
		text = NULL;
	}
	fclose(file);
	return text;
}

/* Load BUNDLE/config.json (or any path); messages name the file by its base name. */
int oci_load(const char *path, struct oci_config *cfg, struct failure *f)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *text = read_text(path);
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (!text)
		return failed(f, "read %s", path);
	ret = parse_config(name, text, cfg, f);
	free(text);
	return ret;
}

/* docker's profile format has these; box reads the OCI linux.seccomp format only. */
static int refuse_docker_format(struct parse *p, json_t *top)
{
	json_t *rules = json_object_get(top, "syscalls"), *rule;
	size_t i;

	if (json_object_get(top, "archMap"))
		return report(p, ENOTSUP, "archMap", "docker's profile format is not supported: "
			      "give a linux.seccomp object (\"architectures\", not \"archMap\")");
	json_array_foreach(rules, i, rule) {
		if (json_object_get(rule, "includes") || json_object_get(rule, "excludes") ||
		    json_object_get(rule, "name"))
			return report(p, ENOTSUP, "syscalls", "docker's profile format is not supported: "
				      "rule %zu has includes/excludes/name", i);
	}
	return 0;
}

/* --security-opt seccomp=FILE: a linux.seccomp object alone. */
int oci_load_seccomp(const char *path, struct oci_seccomp *sc, struct failure *f)
{
	struct parse p = { .file = path, .f = f, .cfg = NULL };
	struct oci_linux lin = { 0 };
	char *text = read_text(path);
	json_t *top, *wrapper;
	int ret = -1;

	memset(sc, 0, sizeof(*sc));
	if (!text)
		return failed(f, "read %s", path);
	top = parse_json(&p, text);
	free(text);
	if (!top)
		return -1;
	wrapper = json_pack("{s:O}", "seccomp", top);
	if (wrapper && refuse_docker_format(&p, top) == 0)
		ret = parse_seccomp(&p, wrapper, &lin);
	json_decref(wrapper);
	json_decref(top);
	if (ret == 0)
		*sc = lin.seccomp;
	else
		oci_seccomp_free(&lin.seccomp);
	return ret;
}

/* A process.json as text: the "process" object alone (box-oci exec builds one too). */
int oci_parse_process(const char *text, struct oci_process *proc, struct failure *f)
{
	struct parse p = { .file = "process.json", .f = f, .cfg = NULL };
	json_t *top;
	int ret;

	memset(proc, 0, sizeof(*proc));
	top = parse_json(&p, text);
	if (!top)
		return -1;
	ret = parse_process_object(&p, top, "", proc);
	json_decref(top);
	if (ret < 0) {
		int err = errno;

		oci_process_free(proc);
		errno = err;
	}
	return ret;
}

/* `exec --process FILE`. */
int oci_load_process(const char *path, struct oci_process *proc, struct failure *f)
{
	char *text = read_text(path);
	int ret;

	memset(proc, 0, sizeof(*proc));
	if (!text)
		return failed(f, "read %s", path);
	ret = oci_parse_process(text, proc, f);
	free(text);
	return ret;
}

/* `box-oci update --resources FILE`: a linux.resources object alone, checked as in a config. */
int oci_parse_resources(const char *text, struct oci_resources *r, struct failure *f)
{
	struct parse p = { .file = "resources", .f = f, .cfg = NULL };
	struct oci_linux lin = { 0 };
	json_t *top, *wrapper;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	top = parse_json(&p, text);
	if (!top)
		return -1;
	wrapper = json_pack("{s:O}", "resources", top);
	if (wrapper)
		ret = parse_resources(&p, wrapper, &lin);
	json_decref(wrapper);
	json_decref(top);
	*r = lin.resources;
	return ret;
}

/* ---- freeing ------------------------------------------------------------------- */

static void free_strings(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void free_map(struct oci_key_value *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void oci_process_free(struct oci_process *proc)
{
	free(proc->user.additional_gids);
	free_strings(proc->args, proc->n_args);
	free_strings(proc->env, proc->n_env);
	free(proc->cwd);
	for (size_t i = 0; i < proc->n_rlimits; i++)
		free(proc->rlimits[i].type);
	free(proc->rlimits);
	free(proc->apparmor_profile);
	free(proc->selinux_label);
	memset(proc, 0, sizeof(*proc));
}

void oci_seccomp_free(struct oci_seccomp *sc)
{
	free_strings(sc->architectures, sc->n_architectures);
	for (size_t i = 0; i < sc->n_rules; i++) {
		free_strings(sc->rules[i].names, sc->rules[i].n_names);
		free(sc->rules[i].args);
	}
	free(sc->rules);
	memset(sc, 0, sizeof(*sc));
}

void oci_resources_free(struct oci_resources *r)
{
	free(r->cpu_cpus);
	free(r->cpu_mems);
	free(r->devices);
	memset(r, 0, sizeof(*r));
}

static void free_linux(struct oci_linux *lin)
{
	for (size_t i = 0; i < lin->n_namespaces; i++)
		free(lin->namespaces[i].path);
	free(lin->namespaces);
	free(lin->uid_mappings);
	free(lin->gid_mappings);
	oci_resources_free(&lin->resources);
	free(lin->cgroups_path);
	free_map(lin->sysctl, lin->n_sysctl);
	oci_seccomp_free(&lin->seccomp);
	free_strings(lin->masked_paths, lin->n_masked_paths);
	free_strings(lin->readonly_paths, lin->n_readonly_paths);
	free(lin->mount_label);
	for (size_t i = 0; i < lin->n_devices; i++)
		free(lin->devices[i].path);
	free(lin->devices);
}

static void free_hooks(struct oci_hooks *hooks)
{
	for (int kind = 0; kind < HOOK_KINDS; kind++) {
		for (size_t i = 0; i < hooks->n[kind]; i++) {
			free(hooks->list[kind][i].path);
			free_strings(hooks->list[kind][i].args, hooks->list[kind][i].n_args);
			free_strings(hooks->list[kind][i].env, hooks->list[kind][i].n_env);
		}
		free(hooks->list[kind]);
	}
}

void oci_free(struct oci_config *cfg)
{
	free(cfg->oci_version);
	oci_process_free(&cfg->process);
	free(cfg->root.path);
	free(cfg->hostname);
	free(cfg->domainname);
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		free(cfg->mounts[i].destination);
		free(cfg->mounts[i].type);
		free(cfg->mounts[i].source);
		free_strings(cfg->mounts[i].options, cfg->mounts[i].n_options);
		mount_options_free(&cfg->mounts[i].parsed);
	}
	free(cfg->mounts);
	free_hooks(&cfg->hooks);
	free_map(cfg->annotations, cfg->n_annotations);
	free_linux(&cfg->lin);
	free_strings(cfg->warnings, cfg->n_warnings);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- the container spec: what run.c and child.c read (spec.h) ------------------------------ */

/*
 * Sysctls a container may set: those the kernel keeps per namespace
 * (runc's validation, sysctl(8) names). Any other would change the host
 * for everyone: vm.overcommit_memory, kernel.core_pattern, ...
 */
static bool namespaced_sysctl(const char *key, int new_namespaces)
{
	static const char *const ipc_keys[] = {
		"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
		"kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
	};

	for (size_t i = 0; i < sizeof(ipc_keys) / sizeof(ipc_keys[0]); i++) {
		if (strcmp(key, ipc_keys[i]) == 0)
			return new_namespaces & CLONE_NEWIPC;
	}
	if (strncmp(key, "fs.mqueue.", 10) == 0)
		return new_namespaces & CLONE_NEWIPC;
	if (strncmp(key, "net.", 4) == 0)
		return new_namespaces & CLONE_NEWNET;
	if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
		return new_namespaces & CLONE_NEWUTS;
	return false;
}

static int check_sysctls(const struct oci_config *cfg, int new_namespaces, struct failure *f)
{
	for (size_t i = 0; i < cfg->lin.n_sysctl; i++) {
		if (!namespaced_sysctl(cfg->lin.sysctl[i].key, new_namespaces)) {
			errno = EINVAL;
			return failed(f, "config.json: linux.sysctl: \"%s\" is not in a namespace of the container's own: "
				      "it would change the host", cfg->lin.sysctl[i].key);
		}
	}
	return 0;
}

/*
 * linux.namespaces: each one new (a clone(2) flag) or joined by path
 * (setns(2), namespaces.c). A user namespace joined by path is refused:
 * the namespaces clone makes would belong to the host's user namespace,
 * not to it. A new time namespace takes a second fork: not done by box.
 */
static int spec_namespaces(const struct oci_config *cfg, struct container_spec *spec, struct failure *f)
{
	spec->new_namespaces = 0;
	for (size_t i = 0; i < cfg->lin.n_namespaces; i++) {
		const struct oci_namespace *ns = &cfg->lin.namespaces[i];

		if ((ns->type == NS_USER && ns->path) || (ns->type == NS_TIME && !ns->path)) {
			errno = ENOTSUP;
			return failed(f, "config.json: linux.namespaces[%zu]: %s a %s namespace is not supported by box", i,
				      ns->path ? "joining" : "a new", oci_namespace_name(ns->type));
		}
		if (ns->path)
			spec->join[ns->type] = ns->path;
		else
			spec->new_namespaces |= namespace_flag(ns->type);
	}
	spec->userns = spec->new_namespaces & CLONE_NEWUSER;
	if (spec->userns && (!cfg->lin.n_uid_mappings || !cfg->lin.n_gid_mappings)) {
		errno = EINVAL;
		return failed(f, "config.json: linux.uidMappings, gidMappings: a new user namespace needs both");
	}
	return 0;
}

/* root.path: relative paths are relative to the bundle (ctr gives "rootfs"); it must be a directory. */
static int spec_root(const struct oci_config *cfg, const char *bundle, struct container_spec *spec,
		     struct failure *f)
{
	struct stat st;
	int ret;

	if (cfg->root.path[0] == '/' || !bundle)
		ret = format_into(spec->root_path, sizeof(spec->root_path), "%s", cfg->root.path);
	else
		ret = path_join(spec->root_path, sizeof(spec->root_path), bundle, cfg->root.path);
	if (ret < 0)
		return failed(f, "root.path %s", cfg->root.path);
	if (stat(spec->root_path, &st) < 0)
		return failed(f, "root.path %s", spec->root_path);
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return failed(f, "root.path %s", spec->root_path);
	}
	spec->read_only = cfg->root.readonly;
	return 0;
}

/*
 * Fill the spec from a config, for box-oci create (bundle: its directory)
 * and box run (bundle NULL: its config was written from its flags,
 * run-config.c). The spec points into cfg, which must outlive it.
 */
int oci_to_spec(const struct oci_config *cfg, const char *bundle, struct container_spec *spec, struct failure *f)
{
	const struct oci_linux *lin = &cfg->lin;

	if (spec_root(cfg, bundle, spec, f) < 0 || spec_namespaces(cfg, spec, f) < 0 ||
	    check_sysctls(cfg, spec->new_namespaces, f) < 0)
		return -1;
	spec->config = cfg;
	spec->bundle = bundle;
	spec->process = &cfg->process;
	spec->argv = cfg->process.args;
	spec->hostname = cfg->hostname;
	spec->domainname = cfg->domainname;
	spec->mounts = cfg->mounts;
	spec->n_mounts = cfg->n_mounts;
	spec->uid_mappings = lin->uid_mappings;
	spec->n_uid_mappings = lin->n_uid_mappings;
	spec->gid_mappings = lin->gid_mappings;
	spec->n_gid_mappings = lin->n_gid_mappings;
	spec->masked_paths = lin->masked_paths;
	spec->n_masked_paths = lin->n_masked_paths;
	spec->readonly_paths = lin->readonly_paths;
	spec->n_readonly_paths = lin->n_readonly_paths;
	spec->rootfs_propagation = lin->rootfs_propagation;
	spec->devices = lin->devices;
	spec->n_devices = lin->n_devices;
	spec->sysctl = lin->sysctl;
	spec->n_sysctl = lin->n_sysctl;
	spec->hooks = &cfg->hooks;
	spec->seccomp = lin->has_seccomp ? &lin->seccomp : NULL;
	spec->resources = lin->has_resources ? &lin->resources : NULL;
	spec->cgroups_path = lin->cgroups_path;
	return 0;
}
