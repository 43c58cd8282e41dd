/*
 * network.c - the plan of a container's network: what to create, in which
 * order, and how to undo it. The mechanisms are in netlink.c (links,
 * addresses, routes), ipam.c (address leases) and nat.c (nftables).
 *
 * --network bridge, docker's default:
 *
 *     host:       eth0 ... [nftables: masquerade, DNAT of -p ports] ... box0 10.88.0.1/16
 *                                                                         |  (a bridge)
 *                                                                      vb-<id>
 *     container:                                          (veth pair)     |
 *                                                                       eth0 10.88.0.2/16, default via 10.88.0.1
 *
 *   before the child runs (network_prepare): lease an address, make box0 with
 *     the gateway address if it is missing, the nftables table with its
 *     masquerade, turn on forwarding, publish the -p ports, write the
 *     container's /etc/hosts, /etc/hostname and /etc/resolv.conf;
 *   while the child waits in its new network namespace (network_attach):
 *     the veth pair, vb-<id> on the bridge, eth0 made right in its namespace;
 *   in the child (network_inside): lo and eth0 up, the address, the route;
 *   after it exits (network_remove): the ports, the veth, the lease.
 *
 * --network none: loopback only, as in chapter 2. --network host: no
 * network namespace at all; the container uses the host's interfaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "box.h"

static const char bridge_name[] = "box0";
static const char default_subnet[] = "10.88.0.0/16";
static const char host_resolv_conf[] = "/etc/resolv.conf";
static const char host_hosts[] = "/etc/hosts";
/* What docker puts in a container's resolv.conf when the host's nameservers are of no use inside. */
static const char fallback_nameservers[] = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

enum {
	MAX_LEASES = 4096,	/* leases one cleanup looks at */
	FILE_TEXT_MAX = 16384,	/* a generated /etc file */
};

/* --network bridge|none|host */
int parse_network_mode(const char *text, enum network_mode *mode)
{
	if (strcmp(text, "bridge") == 0)
		*mode = NETWORK_BRIDGE;
	else if (strcmp(text, "none") == 0)
		*mode = NETWORK_NONE;
	else if (strcmp(text, "host") == 0)
		*mode = NETWORK_HOST;
	else {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* <state>/networks/box0: the bridge's leases (leases/) and the subnet it was made with (subnet). */
static int network_dir(const char *box_state, const char *name, char *buf, size_t size)
{
	return format_into(buf, size, "%s/networks/%s%s%s", box_state, bridge_name, name[0] ? "/" : "", name);
}

/* ---- the container's /etc/hosts, /etc/hostname, /etc/resolv.conf --------------------------- */

/* Write a new file in the container's directory, and bind it at dest (a file volume, as in -v). */
static int add_etc_file(struct container_spec *spec, const char *name, const char *dest, const char *text)
{
	struct volume *v = &spec->volumes[spec->nvolumes];
	int fd;

	if (path_join(v->source, sizeof(v->source), spec->dir, name) < 0 ||
	    format_into(v->destination, sizeof(v->destination), "%s", dest) < 0)
		return -1;
	fd = open(v->source, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		errno = EIO;
		return -1;
	}
	v->read_only = false;
	spec->nvolumes++;
	return close(fd);
}

/* Read a small host file such as /etc/resolv.conf; "" if it is missing. */
static int read_host_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Does this resolv.conf(5) line name a nameserver on the host's loopback (127.0.0.53 of systemd-resolved, say)? */
static bool is_loopback_nameserver(const char *line)
{
	char address[INET6_ADDRSTRLEN + 1];
	struct in_addr v4;

	if (sscanf(line, "nameserver %46s", address) != 1)
		return false;
	if (inet_pton(AF_INET, address, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	return strcmp(address, "::1") == 0;
}

/*
 * The host's resolv.conf(5) without its loopback nameservers: inside a
 * network namespace, 127.0.0.53 is the container's own loopback, where no
 * resolver listens. If none is left, docker's fallback: Google's public
 * resolvers. --network host keeps the file as it is.
 */
static int make_resolv_conf(const struct container_spec *spec, char *out, size_t size)
{
	char host[FILE_TEXT_MAX], *saveptr = NULL;
	bool nameserver = false;
	size_t len = 0;

	out[0] = '\0';
	/* final: --dns names the nameservers, as docker's does: the host's are then not used. */
	for (int i = 0; i < spec->ndns; i++) {
		if (format_into(out + len, size - len, "nameserver %s\n", spec->dns[i]) < 0)
			return -1;
		len += strlen(out + len);
	}
	if (spec->ndns)
		return 0;
	if (read_host_file(host_resolv_conf, host, sizeof(host)) < 0)
		return -1;
	if (spec->network == NETWORK_HOST)
		return format_into(out, size, "%s", host);
	for (char *line = strtok_r(host, "\n", &saveptr); line; line = strtok_r(NULL, "\n", &saveptr)) {
		if (is_loopback_nameserver(line))
			continue;
		nameserver |= strncmp(line, "nameserver", 10) == 0;
		if (format_into(out + len, size - len, "%s\n", line) < 0)
			return -1;
		len += strlen(out + len);
	}
	return nameserver ? 0 : format_into(out + len, size - len, "%s", fallback_nameservers);
}

/* hosts(5): localhost, and the container's own name at its address (or loopback, without one). */
static int make_hosts(const struct container_spec *spec, char *out, size_t size)
{
	char address[INET_ADDRSTRLEN] = "127.0.1.1";

	if (spec->network == NETWORK_HOST)
		return read_host_file(host_hosts, out, size);
	if (spec->network == NETWORK_BRIDGE && !inet_ntop(AF_INET, &spec->address, address, sizeof(address)))
		return -1;
	if (format_into(out, size, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n",
			address, spec->hostname) < 0)
		return -1;
	/* final: --add-host NAME:IP, one line each, after the container's own. */
	for (int i = 0; i < spec->nadd_hosts; i++) {
		const char *colon = strchr(spec->add_hosts[i], ':');
		size_t len = strlen(out);

		if (format_into(out + len, size - len, "%s\t%.*s\n", colon + 1, (int)(colon - spec->add_hosts[i]),
				spec->add_hosts[i]) < 0)
			return -1;
	}
	return 0;
}

/*
 * Write the container's /etc/hosts, /etc/hostname and /etc/resolv.conf in
 * its directory; the child binds them over the image's (as file volumes),
 * so the rootfs is never written and each container has its own.
 */
static int write_etc_files(struct container_spec *spec, struct failure *f)
{
	char text[FILE_TEXT_MAX];

	if (make_hosts(spec, text, sizeof(text)) < 0 || add_etc_file(spec, "hosts", "/etc/hosts", text) < 0)
		return failed(f, "write the container's /etc/hosts in %s", spec->dir);
	if (format_into(text, sizeof(text), "%s\n", spec->hostname) < 0 ||
	    add_etc_file(spec, "hostname", "/etc/hostname", text) < 0)
		return failed(f, "write the container's /etc/hostname in %s", spec->dir);
	if (make_resolv_conf(spec, text, sizeof(text)) < 0 || add_etc_file(spec, "resolv.conf", "/etc/resolv.conf", text) < 0)
		return failed(f, "write the container's /etc/resolv.conf in %s", spec->dir);
	return 0;
}

/* ---- what dead boxes left behind ----------------------------------------------------------- */

/* The veth of a container whose box is gone: as a rule gone with its namespace; ENODEV is fine. */
static int delete_veth_of(const char *id, struct failure *f)
{
	char name[IFNAMSIZ];
	struct nl nl;
	int ret;

	if (veth_name(id, name, sizeof(name)) < 0 || nl_open(&nl) < 0)
		return failed(f, "rtnetlink socket for %s", id);
	ret = link_delete(&nl, name, f);
	nl_close(&nl);
	return ret < 0 && errno != ENODEV ? -1 : 0;
}

/*
 * A box killed by SIGKILL leaves its lease file (unlocked: stale), its
 * ports' rules, and rarely its veth. Remove them for every stale lease,
 * then the leases. Only what names a container whose box is gone.
 */
int network_remove_stale(const char *box_state, struct failure *f)
{
	static struct lease_info leases[MAX_LEASES];
	char dir[PATH_MAX];
	size_t count, reclaimed;

	if (network_dir(box_state, "leases", dir, sizeof(dir)) < 0)
		return failed(f, "leases directory in %s", box_state);
	if (lease_list(dir, leases, MAX_LEASES, &count, f) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (!leases[i].stale)
			continue;
		if (nat_unpublish(leases[i].id, f) < 0 || delete_veth_of(leases[i].id, f) < 0)
			return -1;
	}
	return lease_reclaim_stale(dir, &reclaimed, f);
}

/* ---- the subnet of box0 -------------------------------------------------------------------- */

/*
 * The bridge keeps the subnet it was made with (noted in the state
 * directory), whatever later runs ask: a second --subnet while box0 lives
 * would give addresses the bridge cannot route. Refuse that clearly.
 */
static int choose_subnet(const struct container_spec *spec, struct subnet *net, struct failure *f)
{
	char path[PATH_MAX], noted[SUBNET_TEXT_MAX + 1] = "", asked[SUBNET_TEXT_MAX];

	if (parse_subnet(spec->subnet ? spec->subnet : default_subnet, net, f) < 0 ||
	    format_subnet(net, asked, sizeof(asked)) < 0 || network_dir(spec->box_state, "subnet", path, sizeof(path)) < 0)
		return -1;
	if (read_host_file(path, noted, sizeof(noted)) < 0)
		return failed(f, "read %s", path);
	noted[strcspn(noted, "\n")] = '\0';
	if (!noted[0])
		return write_file_atomically(path, asked) < 0 ? failed(f, "write %s", path) : 0;
	if (spec->subnet && strcmp(noted, asked) != 0) {
		errno = EEXIST;
		return failed(f, "--subnet %s: %s has %s (box prune removes it once no container uses it)",
			      asked, bridge_name, noted);
	}
	return parse_subnet(noted, net, f);
}

/* ---- a container's network, step by step --------------------------------------------------- */

/* box0 with the gateway address, up; made the first time, as docker makes docker0. */
static int make_bridge(const struct subnet *net, struct failure *f)
{
	struct nl nl;
	int index, ret;

	if (nl_open(&nl) < 0)
		return failed(f, "rtnetlink socket");
	ret = bridge_ensure(&nl, bridge_name, subnet_gateway(net), net->prefix, &index, f);
	nl_close(&nl);
	return ret;
}

/*
 * Before the child: the address, the bridge, the nftables table, the
 * published ports, the /etc files. net records what to undo; on failure,
 * what was done is undone already.
 */
int network_prepare(struct container_spec *spec, struct network *net, struct failure *f)
{
	char dir[PATH_MAX], leases[PATH_MAX];
	struct failure undo;
	int err;

	memset(net, 0, sizeof(*net));
	net->lease.fd = -1;
	if (spec->network != NETWORK_BRIDGE)
		return write_etc_files(spec, f);
	if (network_dir(spec->box_state, "", dir, sizeof(dir)) < 0 || network_dir(spec->box_state, "leases", leases, sizeof(leases)) < 0 ||
	    make_path(dir) < 0)
		return failed(f, "create the network's state directory in %s", spec->box_state);
	if (network_remove_stale(spec->box_state, f) < 0 || choose_subnet(spec, &net->subnet, f) < 0 ||
	    lease_take(leases, &net->subnet, spec->id, &net->lease, f) < 0)
		return -1;
	spec->address = net->lease.address;
	spec->gateway = subnet_gateway(&net->subnet);
	spec->prefix = net->subnet.prefix;
	if (make_bridge(&net->subnet, f) < 0 || nat_ensure(bridge_name, &net->subnet, f) < 0 ||
	    nat_enable_routing(bridge_name, f) < 0)
		goto undo;
	if (spec->nports > 0 && nat_publish(spec->id, spec->address, spec->ports, (size_t)spec->nports, f) < 0)
		goto undo;
	net->published = spec->nports > 0;
	if (write_etc_files(spec, f) < 0)
		goto undo;
	return 0;
undo:
	/* The undo makes system calls of its own: keep the errno that f's note goes with. */
	err = errno;
	if (network_remove(spec, net, &undo) < 0)
		warn("%s", undo.what);
	errno = err;
	return -1;
}

/*
 * While the child waits: a veth pair, the host end vb-<id> on the bridge
 * and up, the other end made directly in the child's network namespace
 * (/proc/PID/ns/net, namespaces(7)) and named eth0 there.
 */
int network_attach(const struct container_spec *spec, struct network *net, pid_t pid, struct failure *f)
{
	char path[64], veth[IFNAMSIZ];
	struct nl nl;
	int netns, bridge, ret = -1;

	(void)net;
	if (spec->network != NETWORK_BRIDGE)
		return 0;
	if (veth_name(spec->id, veth, sizeof(veth)) < 0 || format_into(path, sizeof(path), "/proc/%d/ns/net", (int)pid) < 0)
		return failed(f, "veth name for %s", spec->id);
	netns = open(path, O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return failed(f, "open %s", path);
	if (nl_open(&nl) == 0) {
		if (link_index(&nl, bridge_name, &bridge, f) == 0)
			ret = veth_create(&nl, veth, bridge, netns, f);
		nl_close(&nl);
	} else {
		failed(f, "rtnetlink socket");
	}
	close(netns);
	return ret;
}

/* In the child, in its own network namespace: what the network mode asks for inside. */
int network_inside(const struct container_spec *spec, struct failure *f)
{
	if (spec->network == NETWORK_BRIDGE)
		return configure_inside(spec->address, spec->prefix, spec->gateway, f);
	if (spec->network == NETWORK_NONE && bring_up_loopback() < 0)
		return failed(f, "bring up lo");
	return 0;
}

/*
 * After the container: unpublish its ports and release its lease. Goes on
 * after a failure, to undo as much as it can; f notes the first. The veth
 * is not deleted here: it goes with the container's network namespace,
 * which the kernel tears down once the last process in it is gone.
 * Deleting it ourselves would only make box wait, about 25 ms, for the
 * kernel's RCU grace period (unregister_netdevice); veth(4): "when either
 * device is deleted, the pair is deleted".
 */
int network_remove(const struct container_spec *spec, struct network *net, struct failure *f)
{
	struct failure later;
	int ret = 0;

	if (net->published && nat_unpublish(spec->id, f) < 0)
		ret = -1;
	net->published = false;
	if (net->lease.fd >= 0 && lease_release(&net->lease, ret ? &later : f) < 0)
		ret = -1;
	return ret;
}

/* box0, the nftables table and the noted subnet: the network itself, when no container uses it. */
static int remove_bridge_and_table(const char *box_state, bool *removed_bridge, struct failure *f)
{
	char path[PATH_MAX];
	struct nl nl;
	int ret;

	if (nl_open(&nl) < 0)
		return failed(f, "rtnetlink socket");
	ret = link_delete(&nl, bridge_name, f);
	nl_close(&nl);
	if (ret < 0 && errno != ENODEV)
		return -1;
	*removed_bridge = ret == 0;
	if (nat_remove_table(f) < 0)
		return -1;
	if (network_dir(box_state, "subnet", path, sizeof(path)) < 0 || (unlink(path) < 0 && errno != ENOENT))
		return failed(f, "remove %s", path);
	return 0;
}

/*
 * box prune: what dead boxes left, and once no container holds a lease,
 * the bridge and the nftables table too. That check and the removal happen
 * under the leases' lock: no box can take a lease, and so start using
 * box0, in between. Forwarding stays on (as docker leaves it): other
 * software may have turned it on as well.
 */
int network_prune(const char *box_state, bool *removed_bridge, struct failure *f)
{
	static struct lease_info leases[MAX_LEASES];
	char dir[PATH_MAX];
	size_t count;
	int lock, ret;

	*removed_bridge = false;
	if (network_remove_stale(box_state, f) < 0)
		return -1;
	if (network_dir(box_state, "leases", dir, sizeof(dir)) < 0)
		return failed(f, "leases directory in %s", box_state);
	lock = leases_open(dir, LOCK_EX, f);
	if (lock < 0)
		return -1;
	ret = lease_scan(lock, leases, MAX_LEASES, &count);
	if (ret < 0)
		failed(f, "read leases in %s", dir);
	else if (count == 0)
		ret = remove_bridge_and_table(box_state, removed_bridge, f);
	close(lock);
	return ret;
}
