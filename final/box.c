/*
 * box.c - the command line: parse it, then hand over to the command.
 *
 *     box [--root DIR] [--state DIR] run ROOTFS CMD [ARG...]
 *     box [--root DIR] [--state DIR] run IMAGE [CMD [ARG...]]
 *     box [--root DIR] pull [--platform OS/ARCH[/VARIANT]] [--quiet] [--insecure] IMAGE
 *     box [--root DIR] images
 *     box [--root DIR] rmi IMAGE
 *     box info
 *     box [--root DIR] [--state DIR] prune
 *
 * Every box error exits with status 125 (as docker does), so a caller can
 * tell "box failed" from "the command failed" (its own status, passed on).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "box.h"

static const char usage_text[] =
	"Usage: box [--root DIR] [--state DIR] COMMAND [OPTIONS]\n"
	"\n"
	"box runs a command in a container, built one kernel mechanism at a time.\n"
	"Namespaces give the command its own view of the system, a cgroup limits\n"
	"what it may use, its root is a writable overlay on read-only layers, which\n"
	"come from a directory or from an image, a veth pair connects it to a bridge\n"
	"on the host, and docker's security profile (capabilities, seccomp, masked\n"
	"paths) holds it. The final stage adds the engine: containers kept on disk,\n"
	"run detached under a small monitor, and managed like docker's or podman's.\n"
	"Called as box-oci, the same program is an OCI runtime: see 'box-oci --help'.\n"
	"\n"
	"Commands:\n"
	"  run ROOTFS CMD [ARG...]   run CMD with ROOTFS as its (read-only) lowest layer\n"
	"  run IMAGE [CMD [ARG...]]  run an image (pulled first if it is not here)\n"
	"  pull IMAGE                download an image from its registry\n"
	"  images                    list the images here\n"
	"  rmi IMAGE                 remove an image (and the layers no other image uses)\n"
	"  create, start, ps, logs, stop, kill, rm, inspect, wait, exec, attach, cp,\n"
	"  stats, top, port, volume, system, version\n"
	"                            the engine's commands, as docker's (see 'box COMMAND --help')\n"
	"  build -t NAME CONTEXT     build an image from CONTEXT's Containerfile (or Dockerfile)\n"
	"  commit CONTAINER NAME     a container kept with run --keep, as a new image\n"
	"  tag IMAGE NAME            give an image another name\n"
	"  history IMAGE             the steps that made an image\n"
	"  push IMAGE [DEST]         upload an image to its registry (or DEST)\n"
	"  save -o FILE IMAGE...     images as an OCI layout tar (podman load reads it)\n"
	"  load -i FILE              images from an OCI layout or docker-archive tar\n"
	"  login REGISTRY, logout REGISTRY   credentials, in podman's auth.json\n"
	"  info                      show how this host's cgroups are set up\n"
	"  prune                     remove what boxes that were killed left behind,\n"
	"                            and the bridge and its rules once no container uses them\n"
	"\n"
	"Options:\n"
	"      --root DIR            where box keeps images and containers (default:\n"
	"                            $BOX_ROOT, else /var/lib/box)\n"
	"      --state DIR           where box keeps address leases (default: $BOX_STATE,\n"
	"                            else /run/box)\n"
	"\n"
	"Run 'box COMMAND --help' for more about a command.\n";

static const char run_usage_text[] =
	"Usage: box run [OPTIONS] ROOTFS CMD [ARG...]\n"
	"       box run [OPTIONS] IMAGE [CMD [ARG...]]\n"
	"\n"
	"Run CMD inside ROOTFS, a directory holding a root filesystem, and exit\n"
	"with CMD's exit status (128+N if a signal N killed it). ROOTFS is never\n"
	"written: the container writes to a layer of its own, removed at exit.\n"
	"\n"
	"If no directory of that name exists (and the name is not a path, starting\n"
	"with / or .), it names an IMAGE, like busybox or registry:5000/app:1.2,\n"
	"pulled first if it is not here. The image says what to run (Entrypoint\n"
	"and Cmd; a CMD given here replaces Cmd), with which environment, in which\n"
	"directory and as which user.\n"
	"\n"
	"Options:\n"
	"      --hostname NAME       hostname inside (default: the container id)\n"
	"      --cidfile FILE        write the container id to FILE (which must not exist)\n"
	"      --userns[=UID:COUNT]  run in a user namespace: root inside is host\n"
	"                            UID (default: root's range in /etc/subuid and\n"
	"                            /etc/subgid, else 100000:65536)\n"
	"  -m, --memory SIZE         memory limit, like 64m or 1g (units b, k, m, g;\n"
	"                            at least 6m); no swap beyond it\n"
	"      --cpus N              CPU limit, like 0.5 for half a CPU\n"
	"      --pids-limit N        at most N processes at once\n"
	"      --layer DIR           a read-only layer above ROOTFS (repeat: top first)\n"
	"  -v, --volume HOST:PATH[:ro]  bind-mount HOST (absolute) at PATH inside\n"
	"      --tmpfs PATH[:OPTS]   a tmpfs at PATH; OPTS like size=64m,mode=1777\n"
	"      --read-only           make / read-only (volumes and tmpfs stay writable)\n"
	"      --keep                keep the container's writable layer, and say where\n"
	"      --network MODE        bridge (the default: an address on box0, NAT to\n"
	"                            the outside), none (loopback only) or host\n"
	"  -p, --publish [IP:]HOSTPORT:PORT[/tcp|/udp]\n"
	"                            forward HOSTPORT of the host to PORT of the container\n"
	"      --subnet CIDR         the bridge's subnet when box0 is made (default 10.88.0.0/16)\n"
	"      --cap-add CAP         a capability beyond docker's 14 (NET_ADMIN, or ALL)\n"
	"      --cap-drop CAP        one of them less (CHOWN, or ALL)\n"
	"      --privileged          every capability, no seccomp filter, no masked paths,\n"
	"                            every device allowed\n"
	"      --security-opt OPT    no-new-privileges, seccomp=unconfined or seccomp=FILE\n"
	"                            (FILE: a linux.seccomp object of config.json)\n"
	"\n"
	"Engine options (any of them makes a recorded container: box ps, logs, rm):\n"
	"  -d, --detach              run in the background under box-monitor; print the id\n"
	"  -i, --interactive         pass our stdin on\n"
	"  -t, --tty                 a pty (Ctrl-P Ctrl-Q detaches)\n"
	"      --rm                  remove the container once it exits\n"
	"      --name NAME           its name (unique)\n"
	"  -e, --env NAME=VALUE      a variable (NAME alone: this one's value)\n"
	"      --env-file FILE       variables from FILE, NAME=VALUE lines\n"
	"  -w, --workdir DIR         start in DIR\n"
	"  -u, --user USER[:GROUP]   run as USER\n"
	"      --entrypoint CMD      instead of the image's Entrypoint (and Cmd)\n"
	"      --init                a tiny init as PID 1: passes signals on, reaps zombies\n"
	"      --pull always|missing|never  when to ask the registry (default missing)\n"
	"      --platform OS/ARCH    the image for that platform\n"
	"  -P, --publish-all         publish the image's exposed ports on free host ports\n"
	"      --mount type=bind|volume|tmpfs,source=S,target=T[,readonly]\n"
	"  -v, --volume NAME:PATH[:ro]  a named volume, made and seeded from the image\n"
	"      --add-host NAME:IP    a line of /etc/hosts\n"
	"      --dns IP              the nameserver of /etc/resolv.conf\n"
	"      --stop-signal SIGNAL  what box stop sends first (default: the image's, else TERM)\n"
	"      --log-opt max-size=SIZE|max-file=N  rotate log.json at SIZE, keep N files\n"
	"  -h, --help                show this help\n";

static const char info_usage_text[] =
	"Usage: box info\n"
	"\n"
	"Show where box keeps images, containers and volumes, how many containers\n"
	"there are (and run), and how this host's cgroups are set up: v1, v2 or\n"
	"hybrid, and the hierarchies box uses for its limits.\n";

static const char pull_usage_text[] =
	"Usage: box [--root DIR] pull [OPTIONS] IMAGE\n"
	"\n"
	"Download IMAGE (busybox, user/app:1.2, host:5000/app, name@sha256:...)\n"
	"from its registry: every part is checked against its digest, and what\n"
	"the store has already is not downloaded again. Credentials come from\n"
	"podman's and docker's files ($REGISTRY_AUTH_FILE, auth.json, config.json).\n"
	"\n"
	"Options:\n"
	"      --platform OS/ARCH[/VARIANT]  the image for another platform, like\n"
	"                            linux/arm64 (default: this machine's)\n"
	"  -q, --quiet               print no progress\n"
	"      --insecure            plain HTTP, not HTTPS (127.0.0.1 and localhost\n"
	"                            always are)\n"
	"  -h, --help                show this help\n"
	"\n"
	"Environment: BOX_REGISTRY_TIMEOUT (seconds without progress before a\n"
	"transfer is given up; default 30), BOX_REGISTRY_DEBUG=1 (show the\n"
	"requests and the headers of the answers on stderr).\n";

static const char images_usage_text[] =
	"Usage: box [--root DIR] images\n"
	"\n"
	"List the images in the store: repository, tag, image id (the start of\n"
	"its config's digest), when it was made, and its size unpacked.\n";

static const char rmi_usage_text[] =
	"Usage: box [--root DIR] rmi IMAGE\n"
	"\n"
	"Remove the name IMAGE, then every blob and layer no other image uses.\n";

static const char prune_usage_text[] =
	"Usage: box [--root DIR] [--state DIR] prune\n"
	"\n"
	"Remove what boxes that were killed (kill -9) left behind: their\n"
	"containers' directories, cgroups, address leases, veths and nftables\n"
	"rules. Containers still running are left alone; containers kept with\n"
	"--keep are removed. Once no container uses them, remove the bridge box0\n"
	"and the nftables table ip box too.\n";

/* Where box keeps its containers, and its runtime state, when neither flag nor environment says. */
static const char default_box_root[] = "/var/lib/box";
static const char default_box_state[] = "/run/box";

enum { OPT_HOSTNAME = 256, OPT_CIDFILE, OPT_USERNS, OPT_CPUS, OPT_PIDS_LIMIT, OPT_LAYER, OPT_TMPFS, OPT_READ_ONLY,
       OPT_KEEP, OPT_NETWORK, OPT_SUBNET, OPT_PLATFORM, OPT_INSECURE, OPT_CAP_ADD, OPT_CAP_DROP, OPT_PRIVILEGED,
       OPT_SECURITY_OPT, OPT_RM, OPT_NAME, OPT_ENV_FILE, OPT_ENTRYPOINT, OPT_INIT, OPT_PULL, OPT_MOUNT, OPT_ADD_HOST, OPT_DNS,
       OPT_STOP_SIGNAL, OPT_LOG_OPT };

static const struct option run_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "cidfile", required_argument, NULL, OPT_CIDFILE },
	{ "userns", optional_argument, NULL, OPT_USERNS },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
	{ "layer", required_argument, NULL, OPT_LAYER },
	{ "volume", required_argument, NULL, 'v' },
	{ "tmpfs", required_argument, NULL, OPT_TMPFS },
	{ "read-only", no_argument, NULL, OPT_READ_ONLY },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "publish", required_argument, NULL, 'p' },
	{ "subnet", required_argument, NULL, OPT_SUBNET },
	{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
	{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
	{ "privileged", no_argument, NULL, OPT_PRIVILEGED },
	{ "security-opt", required_argument, NULL, OPT_SECURITY_OPT },
	/* final: the engine's flags (engine.c) */
	{ "detach", no_argument, NULL, 'd' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "tty", no_argument, NULL, 't' },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "env", required_argument, NULL, 'e' },
	{ "env-file", required_argument, NULL, OPT_ENV_FILE },
	{ "workdir", required_argument, NULL, 'w' },
	{ "user", required_argument, NULL, 'u' },
	{ "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
	{ "init", no_argument, NULL, OPT_INIT },
	{ "pull", required_argument, NULL, OPT_PULL },
	{ "mount", required_argument, NULL, OPT_MOUNT },
	{ "add-host", required_argument, NULL, OPT_ADD_HOST },
	{ "publish-all", no_argument, NULL, 'P' },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "stop-signal", required_argument, NULL, OPT_STOP_SIGNAL },
	{ "log-opt", required_argument, NULL, OPT_LOG_OPT },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ NULL, 0, NULL, 0 },
};

static const struct option pull_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "quiet", no_argument, NULL, 'q' },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ NULL, 0, NULL, 0 },
};

/* Report a flag getopt_long(3) did not accept: unknown, or missing its value. */
static int bad_flag(const char *command, int opt, const char *flag)
{
	if (opt == ':')
		return fail_msg("%s: flag %s needs a value (see 'box %s --help')", command, flag, command);
	return fail_msg("%s: unknown flag %s (see 'box %s --help')", command, flag, command);
}

/* --userns or --userns=UID:COUNT (the same range for uids and gids). */
static int parse_userns(const char *value, struct container_spec *spec)
{
	spec->userns = true;
	if (!value)
		return 0;
	if (parse_id_range(value, &spec->uids) < 0)
		return fail_msg("run: --userns=%s: expected UID:COUNT, like 100000:65536", value);
	spec->gids = spec->uids;
	spec->userns_given = true;
	return 0;
}

/* Report a limit flag whose value parse_memory, parse_cpus or parse_pids_limit refused. */
static int bad_limit(const char *flag, const char *value, const char *expected, const char *range)
{
	if (errno == ERANGE)
		return fail_msg("run: %s %s: out of range (%s)", flag, value, range);
	return fail_msg("run: %s %s: expected %s", flag, value, expected);
}

/* -m, --cpus or --pids-limit: one of the cgroup limits. */
static int parse_limit(int opt, const char *value, struct container_spec *spec)
{
	if (opt == 'm' && parse_memory(value, &spec->memory_bytes) < 0)
		return bad_limit("--memory", value, "a size like 64m or 1g", "at least 6m");
	if (opt == OPT_CPUS && parse_cpus(value, &spec->cpu_millis) < 0)
		return bad_limit("--cpus", value, "a number like 0.5", "from 0.01 to the number of CPUs of this machine");
	if (opt == OPT_PIDS_LIMIT && parse_pids_limit(value, &spec->pids_max) < 0)
		return bad_limit("--pids-limit", value, "a whole number like 32", "from 1 to 4194304");
	return 0;
}

/* final: -v NAME:PATH[:ro]: the volume's directory, <root>/volumes/NAME/_data (volume.c), bound at PATH. */
static int parse_named_volume(const char *value, struct container_spec *spec)
{
	struct volume *v = &spec->volumes[spec->nvolumes];
	size_t len = strcspn(value, ":");
	char text[2 * PATH_MAX], name[NAME_MAX + 1];

	if (len == 0 || len > NAME_MAX || !value[len])
		return fail_msg("run: -v %s: expected NAME:PATH or HOST:PATH (HOST absolute)", value);
	snprintf(name, sizeof(name), "%.*s", (int)len, value);
	if (!is_container_name(name) || format_into(text, sizeof(text), "%s/volumes/%s/_data%s", spec->box_root, name,
						    value + len) < 0 || parse_volume(text, v) < 0)
		return fail_msg("run: -v %s: expected NAME:PATH[:ro], NAME of letters, digits, _ . -", value);
	snprintf(v->volume_name, sizeof(v->volume_name), "%s", name);
	spec->nvolumes++;
	return 0;
}

/* --layer, -v and --tmpfs: what makes up the container's file system (overlay.c). */
static int parse_file_system(int opt, const char *value, struct container_spec *spec)
{
	if (opt == OPT_LAYER) {
		if (spec->nlayers == MAX_LAYERS)
			return fail_msg("run: at most %d --layer", MAX_LAYERS);
		spec->layers[spec->nlayers++] = value;
	} else if (opt == 'v') {
		if (spec->nvolumes == MAX_VOLUMES)
			return fail_msg("run: at most %d -v", MAX_VOLUMES);
		if (value[0] != '/')	/* final: NAME:PATH, a named volume */
			return parse_named_volume(value, spec);
		if (parse_volume(value, &spec->volumes[spec->nvolumes++]) < 0)
			return fail_msg("run: -v %s: expected HOST:PATH or HOST:PATH:ro, both absolute paths "
					"(and PATH not /)", value);
	} else if (opt == OPT_TMPFS) {
		if (spec->ntmpfs == MAX_TMPFS)
			return fail_msg("run: at most %d --tmpfs", MAX_TMPFS);
		if (parse_tmpfs(value, &spec->tmpfs[spec->ntmpfs++]) < 0)
			return fail_msg("run: --tmpfs %s: expected an absolute PATH[:OPTIONS], OPTIONS from size=N[k|m|g], "
					"mode=OCTAL, ro, rw, exec, noexec, suid, nosuid, dev, nodev", value);
	}
	return 0;
}

/*
 * final: --mount type=bind|volume|tmpfs,source=S,target=T[,readonly][,tmpfs-size=N]:
 * docker's long form, said again as -v or --tmpfs.
 */
static int parse_mount(const char *value, struct container_spec *spec)
{
	char copy[2 * PATH_MAX], type[16] = "volume", source[PATH_MAX] = "", target[PATH_MAX] = "", size[32] = "",
		text[3 * PATH_MAX];
	bool read_only = false;

	if (format_into(copy, sizeof(copy), "%s", value) < 0)
		return fail_msg("run: --mount %s: too long", value);
	for (char *save, *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		const char *v = eq ? eq + 1 : "";

		if (eq)
			*eq = '\0';
		if (strcmp(kv, "type") == 0)
			snprintf(type, sizeof(type), "%s", v);
		else if (strcmp(kv, "source") == 0 || strcmp(kv, "src") == 0)
			snprintf(source, sizeof(source), "%s", v);
		else if (strcmp(kv, "target") == 0 || strcmp(kv, "destination") == 0 || strcmp(kv, "dst") == 0)
			snprintf(target, sizeof(target), "%s", v);
		else if (strcmp(kv, "readonly") == 0 || strcmp(kv, "ro") == 0)
			read_only = !eq || strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
		else if (strcmp(kv, "tmpfs-size") == 0)
			snprintf(size, sizeof(size), "%s", v);
		else
			return fail_msg("run: --mount %s: unknown key %s", value, kv);
	}
	if (strcmp(type, "tmpfs") == 0) {
		snprintf(text, sizeof(text), "%s%s%s", target, size[0] ? ":size=" : "", size);
		return parse_file_system(OPT_TMPFS, text, spec);
	}
	if ((strcmp(type, "bind") != 0 && strcmp(type, "volume") != 0) || !source[0] || !target[0] ||
	    (strcmp(type, "bind") == 0) != (source[0] == '/'))
		return fail_msg("run: --mount %s: expected type=bind (source absolute), volume or tmpfs, with source= "
				"and target=", value);
	snprintf(text, sizeof(text), "%s:%s%s", source, target, read_only ? ":ro" : "");
	return parse_file_system('v', text, spec);
}

/* final: --add-host NAME:IP and --dns IP (IPv4), for the container's /etc/hosts and /etc/resolv.conf. */
static int parse_name_flag(int opt, const char *value, struct container_spec *spec)
{
	const char *ip = opt == OPT_DNS ? value : strchr(value, ':');
	struct in_addr addr;

	if (!ip || (opt == OPT_ADD_HOST && (ip++ == value || strchr(ip, ':'))) || inet_pton(AF_INET, ip, &addr) != 1)
		return fail_msg(opt == OPT_DNS ? "run: --dns %s: expected an IPv4 address" :
						 "run: --add-host %s: expected NAME:IPv4-ADDRESS", value);
	if (opt == OPT_DNS && spec->ndns < 8)
		spec->dns[spec->ndns++] = value;
	else if (opt == OPT_ADD_HOST && spec->nadd_hosts < 16)
		spec->add_hosts[spec->nadd_hosts++] = value;
	else
		return fail_msg("run: too many %s", opt == OPT_DNS ? "--dns" : "--add-host");
	return 0;
}

/* "100k", "10m", "1g" or bytes: docker's log sizes (no minimum, unlike -m). */
static int parse_size(const char *text, long long *bytes)
{
	static const char units[] = "kmg";
	char *end, *unit;
	long long n;

	errno = 0;
	n = strtoll(text, &end, 10);
	if (errno || end == text || n < 0)
		return -1;
	if (*end && (!(unit = strchr(units, *end)) || end[1]))
		return -1;
	for (int shift = *end ? 10 * (int)(unit - units + 1) : 0; shift > 0; shift -= 10) {
		if (n > LLONG_MAX / 1024)
			return -1;
		n *= 1024;
	}
	*bytes = n;
	return 0;
}

/* final: --log-opt max-size=SIZE or max-file=N: docker's json-file options, for the monitor (launch.c). */
static int parse_log_opt(const char *value, struct container_spec *spec)
{
	char *end;
	long n;

	if (strncmp(value, "max-size=", 9) == 0 && parse_size(value + 9, &spec->log_max_size) == 0 &&
	    spec->log_max_size > 0)
		return 0;
	if (strncmp(value, "max-file=", 9) == 0) {
		n = strtol(value + 9, &end, 10);
		if (!*end && end != value + 9 && n >= 1 && n <= 64) {
			spec->log_max_files = (int)n;
			return 0;
		}
	}
	return fail_msg("run: --log-opt %s: expected max-size=SIZE (like 10m) or max-file=N (1 to 64)", value);
}

/* --network, -p and --subnet: how the container reaches the world and the world reaches it (network.c). */
static int parse_network_flag(int opt, const char *value, struct container_spec *spec)
{
	struct failure f;

	if (opt == OPT_NETWORK && parse_network_mode(value, &spec->network) < 0)
		return fail_msg("run: --network %s: expected bridge, none or host", value);
	if (opt == OPT_SUBNET) {
		struct subnet subnet;

		if (parse_subnet(value, &subnet, &f) < 0)
			return fail_msg("run: %s", f.what);
		spec->subnet = value;
	}
	if (opt == 'p') {
		if (spec->nports == MAX_PORTS)
			return fail_msg("run: at most %d -p", MAX_PORTS);
		if (parse_port_map(value, &spec->ports[spec->nports++], &f) < 0)
			return fail_msg("run: %s", f.what);
	}
	return 0;
}

/*
 * Step 7: --cap-add, --cap-drop, --privileged, --security-opt: docker's
 * default profile, loosened or tightened (profile.c). Capability names are
 * checked once all are read (check_security_flags).
 */
static int parse_security_flag(int opt, const char *value, struct security_flags *sec)
{
	if (opt == OPT_CAP_ADD || opt == OPT_CAP_DROP) {
		bool add = opt == OPT_CAP_ADD;
		size_t *n = add ? &sec->n_cap_add : &sec->n_cap_drop;
		const char **list = add ? sec->cap_add : sec->cap_drop;

		if (*n == MAX_CAP_FLAGS)
			return fail_msg("run: at most %d --cap-add or --cap-drop", MAX_CAP_FLAGS);
		list[(*n)++] = value;
	} else if (opt == OPT_PRIVILEGED) {
		sec->privileged = true;
	} else if (strcmp(value, "no-new-privileges") == 0 || strcmp(value, "no-new-privileges:true") == 0) {
		sec->no_new_privileges = true;
	} else if (strcmp(value, "seccomp=unconfined") == 0) {
		sec->seccomp_unconfined = true;
	} else if (strncmp(value, "seccomp=", 8) == 0 && value[8]) {
		sec->seccomp_file = value + 8;
	} else {
		return fail_msg("run: --security-opt %s: expected no-new-privileges, seccomp=unconfined or seccomp=FILE",
				value);
	}
	return 0;
}

/* An unknown capability name fails now, with the flag that named it, not once the container is half made. */
static int check_security_flags(const struct security_flags *sec)
{
	struct failure f;
	uint64_t caps;

	if (compute_caps(sec, UINT64_MAX, &caps, &f) < 0)
		return fail_msg("run: %s", f.what);
	return 0;
}

/* final: -d -i -t --rm --name -e --env-file -w -u --entrypoint --init --pull --platform (engine.c). */
static int parse_engine_flag(int opt, char *value, struct command_line *cl)
{
	struct run_flags *r = &cl->run;

	r->engine = true;
	if (opt == OPT_INIT)
		cl->spec.init = true;
	if (opt == 'd' || opt == 'i' || opt == 't' || opt == OPT_RM || opt == OPT_INIT) {
		*(opt == 'd' ? &r->detach : opt == 'i' ? &r->interactive : opt == 't' ? &r->tty :
		  opt == OPT_RM ? &r->remove : &r->init) = true;
	} else if (opt == OPT_NAME) {
		if (!is_container_name(value))
			return fail_msg("run: --name %s: expected letters, digits, _ . - (starting with a letter or digit)",
					value);
		r->name = value;
	} else if (opt == 'e') {
		if (r->nenv == MAX_ENV_FLAGS || !value[0] || value[0] == '=')
			return fail_msg("run: -e %s: expected NAME=value or NAME (at most %d)", value, MAX_ENV_FLAGS);
		r->env[r->nenv++] = value;
	} else if (opt == OPT_ENV_FILE) {
		if (r->nenv_files == sizeof(r->env_files) / sizeof(r->env_files[0]))
			return fail_msg("run: too many --env-file");
		r->env_files[r->nenv_files++] = value;
	} else if (opt == 'w') {
		if (value[0] != '/')
			return fail_msg("run: -w %s: must be an absolute path", value);
		cl->spec.workdir_flag = value;
	} else if (opt == 'u') {
		cl->spec.user_flag = value;
	} else if (opt == OPT_ENTRYPOINT) {
		cl->spec.entrypoint_flag = value;
	} else if (opt == OPT_PULL) {
		if (strcmp(value, "always") && strcmp(value, "missing") && strcmp(value, "never"))
			return fail_msg("run: --pull %s: expected always, missing or never", value);
		r->pull_policy = value;
		cl->pull.policy = value;
	} else if (opt == OPT_PLATFORM) {
		struct failure f;
		struct platform pl;

		if (parse_platform(value, &pl, &f) < 0)
			return fail_msg("run: --platform: %s", f.what);
		cl->pull.platform = value;
	}
	return 0;
}

/*
 * Does box run's first word name a ROOTFS directory? Yes if a directory of
 * that name exists, or if it is written as a path (/x, ./x, ../x: no image
 * name starts so). Otherwise it names an image.
 */
static bool names_a_directory(const char *word)
{
	struct stat st;

	return word[0] == '/' || word[0] == '.' || (stat(word, &st) == 0 && S_ISDIR(st.st_mode));
}

/* What follows box run's flags: ROOTFS and CMD, as before, or an IMAGE and maybe a CMD. */
static int take_rootfs_or_image(char *word, char **command, struct command_line *cl)
{
	bool directory = names_a_directory(word);

	if (directory && !command[0])
		return fail_msg("run: needs ROOTFS and CMD (see 'box run --help')");
	cl->command = CMD_RUN;
	cl->spec.rootfs = word;
	cl->spec.image = directory ? NULL : word;
	cl->spec.argv = command;
	return 0;
}

/* box run [OPTIONS] ROOTFS CMD [ARG...] or IMAGE [CMD [ARG...]]; argv[0] is "run". */
static int parse_run(int argc, char *argv[], struct command_line *cl)
{
	struct id_range range;
	int opt;

	/*
	 * getopt(3): optind = 0 makes glibc start afresh, so parsing can run more than
	 * once (the unit tests do). "+" stops at the first non-flag: flags after ROOTFS
	 * belong to CMD ("box run rootfs ls -l"). ":" reports a missing value as ':'.
	 */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:hm:v:p:dite:w:u:P", run_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			cl->command = CMD_RUN_HELP;
			return 0;
		case OPT_HOSTNAME:
			if (check_hostname(optarg) < 0)
				return fail_msg("run: --hostname '%s': must be 1 to 64 characters", optarg);
			cl->spec.hostname = optarg;
			break;
		case OPT_CIDFILE:
			cl->spec.cidfile = optarg;
			break;
		case OPT_USERNS:
			if (parse_userns(optarg, &cl->spec) < 0)
				return -1;
			break;
		case 'm':
		case OPT_CPUS:
		case OPT_PIDS_LIMIT:
			if (parse_limit(opt, optarg, &cl->spec) < 0)
				return -1;
			break;
		case OPT_LAYER:
		case 'v':
		case OPT_TMPFS:
			if (parse_file_system(opt, optarg, &cl->spec) < 0)
				return -1;
			break;
		case 'P':
			cl->spec.publish_all = true;
			break;
		case OPT_STOP_SIGNAL:
			cl->run.stop_signal = optarg;	/* checked by box stop's parser when used (engine.c) */
			break;
		case OPT_LOG_OPT:
			if (parse_log_opt(optarg, &cl->spec) < 0)
				return -1;
			break;
		case OPT_ADD_HOST:
		case OPT_DNS:
			if (parse_name_flag(opt, optarg, &cl->spec) < 0)
				return -1;
			break;
		case OPT_MOUNT:
			if (parse_mount(optarg, &cl->spec) < 0)
				return -1;
			break;
		case OPT_READ_ONLY:
			cl->spec.read_only = true;
			break;
		case OPT_KEEP:
			cl->spec.keep = true;
			break;
		case OPT_NETWORK:
		case 'p':
		case OPT_SUBNET:
			if (parse_network_flag(opt, optarg, &cl->spec) < 0)
				return -1;
			break;
		case OPT_CAP_ADD:
		case OPT_CAP_DROP:
		case OPT_PRIVILEGED:
		case OPT_SECURITY_OPT:
			if (parse_security_flag(opt, optarg, &cl->spec.security) < 0)
				return -1;
			break;
		case 'd': case 'i': case 't': case 'e': case 'w': case 'u': case OPT_RM: case OPT_NAME:
		case OPT_ENV_FILE: case OPT_ENTRYPOINT: case OPT_INIT: case OPT_PULL: case OPT_PLATFORM:
			if (parse_engine_flag(opt, optarg, cl) < 0)
				return -1;
			break;
		default:
			return bad_flag("run", opt, argv[optind - 1]);
		}
	}
	if (argc - optind < 1)
		return fail_msg("run: needs ROOTFS and CMD, or IMAGE (see 'box run --help')");
	if (cl->spec.nports && cl->spec.network != NETWORK_BRIDGE)
		return fail_msg("run: -p needs --network bridge: there is no address to forward to");
	if (check_security_flags(&cl->spec.security) < 0)
		return -1;
	/* getopt(3) takes an optional value only after '=': "--userns 1:2" leaves "1:2" as ROOTFS. */
	if (cl->spec.userns && !cl->spec.userns_given && parse_id_range(argv[optind], &range) == 0)
		return fail_msg("run: --userns takes its range with '=': --userns=%s", argv[optind]);
	return take_rootfs_or_image(argv[optind], &argv[optind + 1], cl);
}

/* box pull [OPTIONS] IMAGE; argv[0] is "pull". */
static int parse_pull(int argc, char *argv[], struct command_line *cl)
{
	struct failure f;
	struct platform p;
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:hq", pull_options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			cl->command = CMD_PULL_HELP;
			return 0;
		case OPT_PLATFORM:
			if (parse_platform(optarg, &p, &f) < 0)
				return fail_msg("pull: --platform: %s", f.what);
			cl->pull.platform = optarg;
			break;
		case 'q':
			cl->pull.progress = PROGRESS_QUIET;
			break;
		case OPT_INSECURE:
			cl->pull.registry.insecure = true;
			break;
		default:
			return bad_flag("pull", opt, argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return fail_msg("pull: needs one IMAGE (see 'box pull --help')");
	cl->command = CMD_PULL;
	cl->image = argv[optind];
	return 0;
}

/* box rmi IMAGE; argv[0] is "rmi". */
static int parse_rmi(int argc, char *argv[], struct command_line *cl)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		cl->command = CMD_RMI_HELP;
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return fail_msg("rmi: needs one IMAGE (see 'box rmi --help')");
	cl->command = CMD_RMI;
	cl->image = argv[1];
	return 0;
}

/* A command that takes no arguments, like box info; argv[0] is its name. Only --help is allowed. */
static int parse_plain(int argc, char *argv[], struct command_line *cl, enum command command, enum command help)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		cl->command = help;
		return 0;
	}
	if (argc > 1)
		return fail_msg("%s: takes no arguments (see 'box %s --help')", argv[0], argv[0]);
	cl->command = command;
	return 0;
}

/* "--NAME VALUE" or "--NAME=VALUE" at argv[i]: its value, and how many words it took (0: not --NAME). */
static int global_option(int argc, char *argv[], int i, const char *name, const char **value)
{
	size_t len = strlen(name);

	if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=') {
		*value = argv[i] + len + 1;
		return 1;
	}
	if (strcmp(argv[i], name) == 0 && i + 1 < argc) {
		*value = argv[i + 1];
		return 2;
	}
	return 0;
}

/*
 * box [--root DIR] [--state DIR] COMMAND: the options before the command. Returns how
 * many words they took. The root is where box keeps containers' directories:
 * --root, else $BOX_ROOT (the tests set it), else /var/lib/box. The state
 * directory holds what lives only while containers run (address leases):
 * --state, else $BOX_STATE, else /run/box.
 */
static int parse_global_options(int argc, char *argv[], struct command_line *cl)
{
	int used = 0, n;

	cl->spec.box_root = getenv("BOX_ROOT") ? getenv("BOX_ROOT") : default_box_root;
	cl->spec.box_state = getenv("BOX_STATE") ? getenv("BOX_STATE") : default_box_state;
	for (; used + 1 < argc; used += n) {
		n = global_option(argc, argv, used + 1, "--root", &cl->spec.box_root);
		if (n == 0)
			n = global_option(argc, argv, used + 1, "--state", &cl->spec.box_state);
		if (n == 0)
			break;
	}
	if (cl->spec.box_root[0] != '/')
		return fail_msg("--root %s: must be an absolute path", cl->spec.box_root);
	if (cl->spec.box_state[0] != '/')
		return fail_msg("--state %s: must be an absolute path", cl->spec.box_state);
	return used;
}

/* Fill cl from the command line; on a bad command line print one line and return -1. */
int parse_command_line(int argc, char *argv[], struct command_line *cl)
{
	int used;

	memset(cl, 0, sizeof(*cl));
	used = parse_global_options(argc, argv, cl);
	if (used < 0)
		return -1;
	argc -= used;
	argv += used;
	if (argc < 2)
		return fail_msg("no command given (see 'box --help')");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		cl->command = CMD_HELP;
		return 0;
	}
	if (strcmp(argv[1], "run") == 0) {
		cl->argc = argc - 1;
		cl->argv = argv + 1;
		return parse_run(argc - 1, argv + 1, cl);
	}
	if (strcmp(argv[1], "info") == 0)
		return parse_plain(argc - 1, argv + 1, cl, CMD_INFO, CMD_INFO_HELP);
	if (strcmp(argv[1], "prune") == 0)
		return parse_plain(argc - 1, argv + 1, cl, CMD_PRUNE, CMD_PRUNE_HELP);
	if (strcmp(argv[1], "pull") == 0)
		return parse_pull(argc - 1, argv + 1, cl);
	if (strcmp(argv[1], "images") == 0)
		return parse_plain(argc - 1, argv + 1, cl, CMD_IMAGES, CMD_IMAGES_HELP);
	if (strcmp(argv[1], "rmi") == 0)
		return parse_rmi(argc - 1, argv + 1, cl);
	/* final: the engine's verbs (engine.c) and the image tools (image-cmds.c) parse their own words. */
	cl->argc = argc - 1;
	cl->argv = argv + 1;
	if (is_engine_command(argv[1])) {
		cl->command = CMD_ENGINE;
		return 0;
	}
	if (is_image_command(argv[1])) {
		cl->command = CMD_IMAGE_TOOL;
		return 0;
	}
	return fail_msg("unknown command '%s' (see 'box --help')", argv[1]);
}

/* box prune: what dead boxes left: containers' directories, cgroups, leases and rules; the bridge once unused. */
static int prune(const struct container_spec *spec)
{
	struct failure f;
	int removed = remove_stale_containers(spec->box_root, true, &f);
	bool removed_bridge;

	if (removed < 0 || cgroup_prune(&f) < 0 || network_prune(spec->box_state, &removed_bridge, &f) < 0)
		return fail("%s", f.what);
	printf("removed %d container director%s\n", removed, removed == 1 ? "y" : "ies");
	if (removed_bridge)
		printf("removed the bridge box0 and the nftables table ip box: no container uses them\n");
	return 0;
}

/* box pull: into the store, progress on stdout. */
static int pull(const struct command_line *cl)
{
	struct image_record rec;
	struct failure f;
	struct store s;
	int ret;

	if (store_open(&s, cl->spec.box_root, STORE_SHARED, &f) < 0)
		return fail("%s", f.what);
	ret = pull_image(&s, cl->image, &cl->pull, &rec, &f);
	store_close(&s);
	return ret < 0 ? fail("%s", f.what) : 0;
}

/* box images: docker's table. */
static int images(const struct command_line *cl)
{
	struct image_record *recs;
	struct failure f;
	struct store s;
	size_t count;
	int ret;

	if (store_open(&s, cl->spec.box_root, STORE_SHARED, &f) < 0)
		return fail("%s", f.what);
	ret = store_list_images(&s, &recs, &count);
	store_close(&s);
	if (ret < 0)
		return fail("read the image index in %s", cl->spec.box_root);
	ret = print_images(stdout, recs, count, time(NULL));
	free(recs);
	return ret < 0 ? fail("write the list of images") : 0;
}

/* box rmi: the name, then what nothing uses any more (store_gc). */
static int rmi(const struct command_line *cl)
{
	struct reference ref;
	struct gc_stats stats;
	struct failure f;
	struct store s;
	char name[3 * REF_NAME_MAX];

	if (parse_reference(cl->image, &ref, &f) < 0 || store_open(&s, cl->spec.box_root, STORE_EXCLUSIVE, &f) < 0)
		return fail("%s", f.what);
	if (store_remove_image(&s, &ref, &f) < 0 || store_gc(&s, &stats, &f) < 0) {
		store_close(&s);
		return fail("%s", f.what);
	}
	store_close(&s);
	reference_string(&ref, name, sizeof(name));
	printf("Untagged: %s\nDeleted: %d blobs, %d layers\n", name, stats.blobs_removed, stats.layers_removed);
	return 0;
}

int main(int argc, char *argv[])
{
	struct command_line cl;
	struct failure f;
	int status;

	/* Step 7: called as box-oci (a link to box), speak runc's command line (runtime.c). */
	if (argc > 0 && is_runtime_name(argv[0]))
		return runtime_main(argc, argv);
	if (parse_command_line(argc, argv, &cl) < 0)
		return EXIT_BOX_ERROR;
	switch (cl.command) {
	case CMD_HELP:
		fputs(usage_text, stdout);
		return 0;
	case CMD_RUN_HELP:
		fputs(run_usage_text, stdout);
		return 0;
	case CMD_RUN:
		cl.pull.out = stderr;	/* the container's stdout is the command's alone */
		if (cl.run.engine)	/* final: a recorded container, maybe detached (engine.c) */
			return engine_run(&cl);
		status = cl.spec.image ? run_image(&cl.spec, &cl.pull) : run_container(&cl.spec);
		return status < 0 ? EXIT_BOX_ERROR : status;
	case CMD_INFO:
		if (cgroup_info(&f) == 0) {
			engine_info(&cl);	/* final: the engine's part: where it keeps what, how many containers */
			return 0;
		}
		fail("%s", f.what);
		return EXIT_BOX_ERROR;
	case CMD_INFO_HELP:
		fputs(info_usage_text, stdout);
		return 0;
	case CMD_PRUNE:
		return prune(&cl.spec) < 0 ? EXIT_BOX_ERROR : 0;
	case CMD_PRUNE_HELP:
		fputs(prune_usage_text, stdout);
		return 0;
	case CMD_PULL:
		return pull(&cl) < 0 ? EXIT_BOX_ERROR : 0;
	case CMD_PULL_HELP:
		fputs(pull_usage_text, stdout);
		return 0;
	case CMD_IMAGES:
		return images(&cl) < 0 ? EXIT_BOX_ERROR : 0;
	case CMD_IMAGES_HELP:
		fputs(images_usage_text, stdout);
		return 0;
	case CMD_RMI:
		return rmi(&cl) < 0 ? EXIT_BOX_ERROR : 0;
	case CMD_RMI_HELP:
		fputs(rmi_usage_text, stdout);
		return 0;
	case CMD_ENGINE:
		return engine_main(&cl);
	case CMD_IMAGE_TOOL:
		return image_tool_main(cl.argc, cl.argv, &cl.spec);
	}
	return EXIT_BOX_ERROR;
}
