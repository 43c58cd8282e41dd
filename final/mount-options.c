/*
 * mount-options.c - a mount's "options" in config.json, taken apart.
 *
 * config.md "Mounts" passes options as fstab(5)-style words: "nosuid",
 * "ro", "mode=755", "rprivate". The kernel wants them in three different
 * places, and box must sort them (runc's specconv does the same):
 *
 *  - mount(2) flags: "ro" is MS_RDONLY, "nosuid" is MS_NOSUID, "bind" is
 *    MS_BIND; their opposites ("rw", "suid") clear a flag;
 *  - propagation ("rprivate", "shared", ...): mount_namespaces(7) says it
 *    cannot be given with the mount itself, it takes a second mount(2) call
 *    with only MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE (| MS_REC);
 *  - everything the kernel's file system parses itself ("mode=755",
 *    "size=65536k", "newinstance"): the data argument, comma-joined.
 *
 * Two kinds more: the recursive attributes of mount_setattr(2) ("rro"
 * makes every mount below read-only too, Linux 5.12), and "tmpcopyup", a
 * runc extension that podman uses for --read-only and --tmpfs (copy what
 * the directory held into the new tmpfs).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "box.h"

enum option_kind {
	SET_FLAG,		/* mount(2) flag to set */
	CLEAR_FLAG,		/* mount(2) flag to clear */
	PROPAGATION,		/* a second mount(2) call: mount_namespaces(7) */
	SET_ATTR,		/* mount_setattr(2) attr_set, applied with AT_RECURSIVE */
	CLEAR_ATTR,		/* mount_setattr(2) attr_clr */
	TMPCOPYUP,
	REFUSED,		/* known, but box does not do it */
};

static const struct {
	const char *name;
	enum option_kind kind;
	unsigned long value;
} options[] = {
	{ "defaults", SET_FLAG, 0 },
	{ "ro", SET_FLAG, MS_RDONLY }, { "rw", CLEAR_FLAG, MS_RDONLY },
	{ "nosuid", SET_FLAG, MS_NOSUID }, { "suid", CLEAR_FLAG, MS_NOSUID },
	{ "nodev", SET_FLAG, MS_NODEV }, { "dev", CLEAR_FLAG, MS_NODEV },
	{ "noexec", SET_FLAG, MS_NOEXEC }, { "exec", CLEAR_FLAG, MS_NOEXEC },
	{ "sync", SET_FLAG, MS_SYNCHRONOUS }, { "async", CLEAR_FLAG, MS_SYNCHRONOUS },
	{ "dirsync", SET_FLAG, MS_DIRSYNC },
	{ "remount", SET_FLAG, MS_REMOUNT },
	{ "mand", SET_FLAG, MS_MANDLOCK }, { "nomand", CLEAR_FLAG, MS_MANDLOCK },
	{ "noatime", SET_FLAG, MS_NOATIME }, { "atime", CLEAR_FLAG, MS_NOATIME },
	{ "nodiratime", SET_FLAG, MS_NODIRATIME }, { "diratime", CLEAR_FLAG, MS_NODIRATIME },
	{ "relatime", SET_FLAG, MS_RELATIME }, { "norelatime", CLEAR_FLAG, MS_RELATIME },
	{ "strictatime", SET_FLAG, MS_STRICTATIME }, { "nostrictatime", CLEAR_FLAG, MS_STRICTATIME },
	{ "lazytime", SET_FLAG, MS_LAZYTIME }, { "nolazytime", CLEAR_FLAG, MS_LAZYTIME },
	{ "iversion", SET_FLAG, MS_I_VERSION }, { "noiversion", CLEAR_FLAG, MS_I_VERSION },
	{ "silent", SET_FLAG, MS_SILENT }, { "loud", CLEAR_FLAG, MS_SILENT },
	{ "nosymfollow", SET_FLAG, MS_NOSYMFOLLOW }, { "symfollow", CLEAR_FLAG, MS_NOSYMFOLLOW },
	{ "bind", SET_FLAG, MS_BIND }, { "rbind", SET_FLAG, MS_BIND | MS_REC },
	{ "private", PROPAGATION, MS_PRIVATE }, { "rprivate", PROPAGATION, MS_PRIVATE | MS_REC },
	{ "shared", PROPAGATION, MS_SHARED }, { "rshared", PROPAGATION, MS_SHARED | MS_REC },
	{ "slave", PROPAGATION, MS_SLAVE }, { "rslave", PROPAGATION, MS_SLAVE | MS_REC },
	{ "unbindable", PROPAGATION, MS_UNBINDABLE }, { "runbindable", PROPAGATION, MS_UNBINDABLE | MS_REC },
	{ "rro", SET_ATTR, MOUNT_ATTR_RDONLY }, { "rrw", CLEAR_ATTR, MOUNT_ATTR_RDONLY },
	{ "rnosuid", SET_ATTR, MOUNT_ATTR_NOSUID }, { "rsuid", CLEAR_ATTR, MOUNT_ATTR_NOSUID },
	{ "rnodev", SET_ATTR, MOUNT_ATTR_NODEV }, { "rdev", CLEAR_ATTR, MOUNT_ATTR_NODEV },
	{ "rnoexec", SET_ATTR, MOUNT_ATTR_NOEXEC }, { "rexec", CLEAR_ATTR, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime", SET_ATTR, MOUNT_ATTR_NODIRATIME }, { "rdiratime", CLEAR_ATTR, MOUNT_ATTR_NODIRATIME },
	{ "rnosymfollow", SET_ATTR, MOUNT_ATTR_NOSYMFOLLOW }, { "rsymfollow", CLEAR_ATTR, MOUNT_ATTR_NOSYMFOLLOW },
	/* The atime modes are one 3-bit field: setting one clears the field first. */
	{ "rnoatime", SET_ATTR, MOUNT_ATTR_NOATIME }, { "rstrictatime", SET_ATTR, MOUNT_ATTR_STRICTATIME },
	{ "rrelatime", SET_ATTR, MOUNT_ATTR_RELATIME },
	{ "tmpcopyup", TMPCOPYUP, 0 },
	/* Idmapped mounts (runc 1.2, crun): need a user namespace fd box does not make. */
	{ "idmap", REFUSED, 0 }, { "ridmap", REFUSED, 0 },
};

/* Append one word to the comma-joined data string. */
static int append_data(struct mount_options *mo, const char *word)
{
	size_t old = mo->data ? strlen(mo->data) : 0;
	char *grown = realloc(mo->data, old + strlen(word) + 2);

	if (!grown)
		return -1;
	if (old)
		grown[old++] = ',';
	strcpy(grown + old, word);
	mo->data = grown;
	return 0;
}

static bool is_atime_mode(unsigned long value)
{
	return value == MOUNT_ATTR_NOATIME || value == MOUNT_ATTR_STRICTATIME || value == MOUNT_ATTR_RELATIME;
}

/* Apply one known option; the last of "ro" and "rw" wins, as with mount(8). */
static void apply_option(struct mount_options *mo, enum option_kind kind, unsigned long value)
{
	switch (kind) {
	case SET_FLAG:
		mo->flags |= value;
		mo->cleared &= ~value;
		break;
	case CLEAR_FLAG:
		mo->flags &= ~value;
		mo->cleared |= value;
		break;
	case PROPAGATION:
		mo->propagation = value;
		break;
	case SET_ATTR:
		if (is_atime_mode(value)) {
			/* mount_setattr(2): to set an atime mode, attr_clr must hold the whole field */
			mo->attr_clr |= MOUNT_ATTR__ATIME;
			mo->attr_set = (mo->attr_set & ~MOUNT_ATTR__ATIME) | value;
			break;
		}
		mo->attr_set |= value;
		mo->attr_clr &= ~value;
		break;
	case CLEAR_ATTR:
		mo->attr_clr |= value;
		mo->attr_set &= ~value;
		break;
	case TMPCOPYUP:
		mo->tmpcopyup = true;
		break;
	case REFUSED:
		break;
	}
}

/*
 * Sort options into mo. Words that are not mount flags go to the data
 * string in their order, for the file system to parse: an unknown word
 * fails there, at mount(2), as it would with mount(8). where names the
 * options field in messages ("mounts[3].options").
 */
int parse_mount_options(char *const *opts, size_t n, struct mount_options *mo,
			const char *where, struct failure *f)
{
	memset(mo, 0, sizeof(*mo));
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
			if (strcmp(options[k].name, opts[i]) == 0)
				break;
		}
		if (k == sizeof(options) / sizeof(options[0])) {
			if (append_data(mo, opts[i]) < 0)
				return failed(f, "%s: out of memory", where);
			continue;
		}
		if (options[k].kind == REFUSED) {
			errno = ENOTSUP;
			mount_options_free(mo);
			return failed(f, "config.json: %s[%zu]: \"%s\" is not supported by box", where, i, opts[i]);
		}
		apply_option(mo, options[k].kind, options[k].value);
	}
	return 0;
}

void mount_options_free(struct mount_options *mo)
{
	free(mo->data);
	mo->data = NULL;
}
