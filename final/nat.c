/*
 * nat.c - the containers' way out, and the host's ports in: NAT with nftables.
 *
 * Containers have private addresses. Going out, their packets take the
 * host's address instead (masquerade, a kind of source NAT); coming in, a
 * packet for a published host port gets the container's address and port
 * as its destination (DNAT). Both are nftables rules (nft(8)) in a table
 * of box's own, "ip box", sent through libnftables(3): it takes the same
 * text commands as nft, and runs each buffer as one transaction, all of it
 * or nothing.
 *
 * The table, as "nft list table ip box" prints it with one container,
 * 3f2a1c9d0e12 at 10.88.0.2, run with -p 8080:80:
 *
 *	table ip box {
 *		map ports {				host port -> the container's chain
 *			type inet_proto . inet_service : verdict
 *			elements = { tcp . 8080 : goto pub-3f2a1c9d0e12 }
 *		}
 *		chain prerouting {			packets from other machines
 *			type nat hook prerouting priority dstnat; policy accept;
 *			meta l4proto . th dport vmap @ports
 *		}
 *		chain output {				packets from the host itself
 *			type nat hook output priority -100; policy accept;
 *			meta l4proto . th dport vmap @ports
 *		}
 *		chain postrouting {
 *			type nat hook postrouting priority srcnat; policy accept;
 *			ip saddr 10.88.0.0/16 oifname != "box0" masquerade
 *			ip saddr 127.0.0.0/8 oifname "box0" masquerade
 *			ip saddr 10.88.0.0/16 oifname "box0" ct status dnat masquerade
 *		}
 *		chain pub-3f2a1c9d0e12 {		one per container: its DNAT rules
 *			fib daddr type local tcp dport 8080 dnat to 10.88.0.2:80
 *		}
 *	}
 *
 * A host port belongs to one container at a time: an element of the map
 * can be created only once ("create element" fails with EEXIST where "add"
 * would not), and the whole transaction fails with it. So a box publishing
 * a port that another has, even at the same moment, sets up nothing. The
 * chain's name carries the container's id, so its rules can be found and
 * removed by id alone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "box.h"

enum {
	PORT_MIN = 1,
	PORT_MAX = 65535,
	PORT_DIGITS_MAX = 5,
	PORT_MAP_FIELDS_MAX = 3,	/* IP, host port, container port */
};

static const char chain_prefix[] = "pub-";	/* + the container id: the chain of its DNAT rules */
static const char nft_error_prefix[] = "Error: ";
static const char ip_forward_path[] = "/proc/sys/net/ipv4/ip_forward";
static const char link_name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";

/* ---- -p [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp] ----------------------------------------- */

/* "8080" -> 8080: digits only, 1 to 65535. EINVAL if it is not a number, ERANGE if out of range. */
static int parse_port(const char *text, unsigned short *port)
{
	size_t digits = strspn(text, "0123456789");
	unsigned long value;

	if (digits == 0 || text[digits] != '\0') {
		errno = EINVAL;
		return -1;
	}
	value = digits > PORT_DIGITS_MAX ? PORT_MAX + 1UL : strtoul(text, NULL, 10);
	if (value < PORT_MIN || value > PORT_MAX) {
		errno = ERANGE;
		return -1;
	}
	*port = (unsigned short)value;
	return 0;
}

/* "tcp" -> IPPROTO_TCP, "udp" -> IPPROTO_UDP: the protocols box publishes. */
static int parse_protocol(const char *text, int *protocol)
{
	if (strcmp(text, "tcp") == 0)
		*protocol = IPPROTO_TCP;
	else if (strcmp(text, "udp") == 0)
		*protocol = IPPROTO_UDP;
	else {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	return 0;
}

/* The name nft uses for a protocol in rules and map keys. */
const char *protocol_name(int protocol)
{
	return protocol == IPPROTO_UDP ? "udp" : "tcp";
}

/* Split text at its colons, in place: "127.0.0.1:8080:80" -> 3 fields. Too many: EINVAL. */
static int split_colons(char *text, char *fields[PORT_MAP_FIELDS_MAX])
{
	char *rest = text;
	int n = 0;

	while (rest) {
		if (n == PORT_MAP_FIELDS_MAX) {
			errno = EINVAL;
			return -1;
		}
		fields[n++] = strsep(&rest, ":");
	}
	return n;
}

/* The fields of a -p value, its "/protocol" already cut off: [IP, ]HOSTPORT, CONTAINERPORT. */
static int parse_port_fields(const char *text, char *fields[], int n, struct port_map *map, struct failure *f)
{
	unsigned short port;

	if (n == 1 && parse_port(fields[0], &port) == 0) {
		errno = ENOTSUP;
		return failed(f, "-p %s: box needs the host port too (HOSTPORT:CONTAINERPORT)", text);
	}
	if (n == 1)
		return failed(f, "-p %s: expected [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]", text);
	if (n == 3 && inet_pton(AF_INET, fields[0], &map->host_ip) != 1) {
		errno = EINVAL;
		return failed(f, "-p %s: host IP %s is not an IPv4 address", text, fields[0]);
	}
	if (parse_port(fields[n - 2], &map->host_port) < 0)
		return failed(f, "-p %s: host port %s: expected a port, 1 to 65535", text, fields[n - 2]);
	if (parse_port(fields[n - 1], &map->container_port) < 0)
		return failed(f, "-p %s: container port %s: expected a port, 1 to 65535", text, fields[n - 1]);
	return 0;
}

/*
 * -p as docker reads it: "8080:80", "8080:80/udp", "127.0.0.1:8080:80".
 * Docker takes a container port alone ("-p 80") to mean "pick a free host
 * port"; box does not (ENOTSUP). Bad ports are ERANGE or EINVAL, bad
 * protocols EPROTONOSUPPORT; f says which part is wrong.
 */
int parse_port_map(const char *text, struct port_map *map, struct failure *f)
{
	char copy[PORT_MAP_TEXT_MAX], *fields[PORT_MAP_FIELDS_MAX], *protocol;
	int n;

	*map = (struct port_map){ .host_ip.s_addr = htonl(INADDR_ANY), .protocol = IPPROTO_TCP };
	if (format_into(copy, sizeof(copy), "%s", text) < 0) {
		errno = EINVAL;
		return failed(f, "-p %.32s...: too long", text);
	}
	protocol = strchr(copy, '/');
	if (protocol) {
		*protocol++ = '\0';
		if (parse_protocol(protocol, &map->protocol) < 0)
			return failed(f, "-p %s: protocol %s: box publishes tcp or udp", text, protocol);
	}
	n = split_colons(copy, fields);
	if (n < 0)
		return failed(f, "-p %s: expected [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]", text);
	return parse_port_fields(text, fields, n, map, f);
}

/* The same host port twice in one run can only fail: say so before asking nft. */
int check_port_maps(const struct port_map *ports, size_t n, struct failure *f)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (ports[i].protocol == ports[j].protocol && ports[i].host_port == ports[j].host_port) {
				errno = EADDRINUSE;
				return failed(f, "-p: host port %u/%s is given twice", ports[i].host_port,
					      protocol_name(ports[i].protocol));
			}
		}
	}
	return 0;
}

/* ---- the nft commands ------------------------------------------------------------------ */

/* Ids (is_container_id, util.c) and link names go into nft's command text: let nothing else in. */
static bool is_link_name(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len < IFNAMSIZ && strspn(name, link_name_chars) == len;
}

/* Append to the commands in buf; ENOBUFS when they no longer fit. */
static __attribute__((format(printf, 3, 4))) int append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - len) {
		errno = ENOBUFS;
		return -1;
	}
	return 0;
}

/*
 * The commands that make the table: "create table" fails if it exists, so
 * the whole transaction happens once, for the first container. Hooks
 * (nft(8), "CHAINS"): prerouting sees packets arriving from other machines,
 * output the host's own; both look the destination port up in the map.
 * postrouting, after the routing decision, masquerades three kinds of
 * packets: the containers' leaving by any link but the bridge (to the
 * world); the host's from 127.0.0.1 to a container (127.0.0.1:HOSTPORT,
 * which route_localnet lets leave through the bridge); and one
 * container's to another's published port, so the answer comes back the
 * way it went. nft 1.0.6 knows the name dstnat only for prerouting: -100
 * is its value.
 */
int nat_table_commands(const char *bridge, const struct subnet *net, char *buf, size_t size)
{
	char subnet[SUBNET_TEXT_MAX];

	if (!is_link_name(bridge) || format_subnet(net, subnet, sizeof(subnet)) < 0) {
		errno = EINVAL;
		return -1;
	}
	buf[0] = '\0';
	return append(buf, size,
		      "create table ip box\n"
		      "add map ip box ports { type inet_proto . inet_service : verdict; }\n"
		      "add chain ip box prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
		      "add rule ip box prerouting meta l4proto . th dport vmap @ports\n"
		      "add chain ip box output { type nat hook output priority -100; policy accept; }\n"
		      "add rule ip box output meta l4proto . th dport vmap @ports\n"
		      "add chain ip box postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
		      "add rule ip box postrouting ip saddr %s oifname != \"%s\" masquerade\n"
		      "add rule ip box postrouting ip saddr 127.0.0.0/8 oifname \"%s\" masquerade\n"
		      "add rule ip box postrouting ip saddr %s oifname \"%s\" ct status dnat masquerade\n",
		      subnet, bridge, bridge, subnet, bridge);
}

/* [exercise] */
/*
 * One DNAT rule (nft(8), "NAT STATEMENTS"): a packet for the host port, and
 * for one of the host's own addresses (fib daddr type local: the FIB, the
 * routing table, says the address is local) or for the IP given with -p
 * (ip daddr IP), goes to the container's address and port instead. Append
 * it to buf, in the container's chain (chain_prefix and the id), as
 *     add rule ip box pub-3f2a1c9d0e12 fib daddr type local tcp dport 8080 dnat to 10.88.0.2:80
 */
static int append_dnat_rule(char *buf, size_t size, const char *id, const char *address, const struct port_map *map)
{
	char host_ip[INET_ADDRSTRLEN], match[INET_ADDRSTRLEN + 16];

	if (map->host_ip.s_addr == htonl(INADDR_ANY)) {
		if (format_into(match, sizeof(match), "fib daddr type local") < 0)
			return -1;
	} else if (!inet_ntop(AF_INET, &map->host_ip, host_ip, sizeof(host_ip)) ||
		   format_into(match, sizeof(match), "ip daddr %s", host_ip) < 0) {
		return -1;
	}
	return append(buf, size, "add rule ip box %s%s %s %s dport %u dnat to %s:%u\n", chain_prefix, id, match,
		      protocol_name(map->protocol), map->host_port, address, map->container_port);
}

/*
 * The commands that publish ports for container id at address: its chain,
 * its DNAT rules, and the map's elements that send its ports there,
 * created with "create element" so that a port already taken fails them all.
 */
int nat_publish_commands(const char *id, struct in_addr address, const struct port_map *ports, size_t n,
			 char *buf, size_t size)
{
	char text[INET_ADDRSTRLEN];

	if (!is_container_id(id) || n == 0 || !inet_ntop(AF_INET, &address, text, sizeof(text))) {
		errno = EINVAL;
		return -1;
	}
	buf[0] = '\0';
	if (append(buf, size, "add chain ip box %s%s\n", chain_prefix, id) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (append_dnat_rule(buf, size, id, text, &ports[i]) < 0)
			return -1;
	}
	if (append(buf, size, "create element ip box ports { ") < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (append(buf, size, "%s%s . %u : goto %s%s", i ? ", " : "", protocol_name(ports[i].protocol),
			   ports[i].host_port, chain_prefix, id) < 0)
			return -1;
	}
	return append(buf, size, " }\n");
}

/*
 * The commands that unpublish container id, given the map's elements: its
 * elements first (a chain that the map still leads to cannot be deleted:
 * EBUSY), then its chain. Nothing (an empty text) if id has no ports.
 */
int nat_unpublish_commands(const char *id, const struct published *list, size_t n, char *buf, size_t size)
{
	bool any = false;

	if (!is_container_id(id)) {
		errno = EINVAL;
		return -1;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].id, id) != 0)
			continue;
		if (append(buf, size, "%s%s . %u", any ? ", " : "delete element ip box ports { ",
			   protocol_name(list[i].protocol), list[i].port) < 0)
			return -1;
		any = true;
	}
	if (!any)
		return 0;
	return append(buf, size, " }\nflush chain ip box %s%s\ndelete chain ip box %s%s\n", chain_prefix, id,
		      chain_prefix, id);
}

/* ---- running nft ----------------------------------------------------------------------- */

/*
 * libnftables reports errors as text, not errno (which it leaves
 * unreliable): note the first line of what nft said, and set EPROTO.
 */
static int nft_failed(struct failure *f, const char *step, const char *message)
{
	const char *text = message ? message : "";

	if (strncmp(text, nft_error_prefix, strlen(nft_error_prefix)) == 0)
		text += strlen(nft_error_prefix);
	errno = EPROTO;
	return failed(f, "%s: nft: %.*s", step, (int)strcspn(text, "\n"), text);
}

/* libnftables-json(5): what a list command prints with NFT_CTX_OUTPUT_JSON. */
static int parse_json(const char *text, json_t **output, const char *step, struct failure *f)
{
	json_error_t error;

	*output = json_loads(text ? text : "", 0, &error);
	if (!*output) {
		errno = EPROTO;
		return failed(f, "%s: nft printed what is not JSON: %s", step, error.text);
	}
	return 0;
}

/*
 * Run nft commands in a context of their own (libnftables(3)): its output
 * and errors go to buffers, not to stdout and stderr. With output, the
 * command lists something and *output gets it, parsed from JSON.
 */
static int run_nft(const char *commands, json_t **output, const char *step, struct failure *f)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret, err;

	if (!nft) {
		errno = ENOMEM;
		return failed(f, "%s: nft_ctx_new", step);
	}
	if (nft_ctx_buffer_output(nft) < 0 || nft_ctx_buffer_error(nft) < 0)
		ret = failed(f, "%s: nft_ctx_buffer_output", step);
	else {
		if (output)
			nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
		ret = nft_run_cmd_from_buffer(nft, commands);
		if (ret < 0)
			ret = nft_failed(f, step, nft_ctx_get_error_buffer(nft));
		else if (output)
			ret = parse_json(nft_ctx_get_output_buffer(nft), output, step, f);
	}
	err = errno;
	nft_ctx_free(nft);
	errno = err;
	return ret;
}

/* libnftables-json(5): {"nftables": [{KIND: {"name": NAME, ...}}, ...]}: the first KIND called name. */
static json_t *find_object(json_t *root, const char *kind, const char *name)
{
	json_t *item, *object;
	const char *object_name;
	size_t i;

	json_array_foreach(json_object_get(root, "nftables"), i, item) {
		object = json_object_get(item, kind);
		object_name = json_string_value(json_object_get(object, "name"));
		if (object_name && strcmp(object_name, name) == 0)
			return object;
	}
	return NULL;
}

/*
 * Does the table ip box exist? "list tables ip" names every IPv4 table,
 * but nft 1.0.6 reads the whole ruleset to print it: list_ports below asks
 * this only when the cheaper question has failed.
 */
static int table_exists(bool *exists, struct failure *f)
{
	json_t *tables;

	if (run_nft("list tables ip", &tables, "list nftables tables", f) < 0)
		return -1;
	*exists = find_object(tables, "table", "box") != NULL;
	json_decref(tables);
	return 0;
}

/*
 * List the map "ports" (nft reads just that map for it). If that fails,
 * it is usually because there is no table yet: then *exists is false and
 * *output NULL. If the table is there on the second look, another box made
 * it in between (twenty boxes starting at once do): list again, once.
 * Other failures are failures.
 */
static int list_ports(json_t **output, bool *exists, struct failure *f)
{
	struct failure ignored;
	int err;

	*exists = true;
	if (run_nft("list map ip box ports", output, "list published ports", f) == 0)
		return 0;
	*output = NULL;
	err = errno;
	if (table_exists(exists, &ignored) == 0 && !*exists)
		return 0;
	if (*exists && run_nft("list map ip box ports", output, "list published ports", f) == 0)
		return 0;
	*output = NULL;
	errno = err;
	return -1;
}

/* ---- reading the map of published ports ------------------------------------------------ */

/* One element, in JSON: [{"concat": ["tcp", 8080]}, {"goto": {"target": "pub-3f2a1c9d0e12"}}]. */
/*
 * The protocol of a map key: nft prints its name ("tcp") where the host has
 * /etc/protocols (protocols(5)), and its number (6) where it has not.
 */
static int read_protocol(json_t *value, int *protocol)
{
	if (json_is_integer(value)) {
		*protocol = (int)json_integer_value(value);
		return *protocol == IPPROTO_TCP || *protocol == IPPROTO_UDP ? 0 : -1;
	}
	return json_is_string(value) ? parse_protocol(json_string_value(value), protocol) : -1;
}

static int read_element(json_t *element, struct published *p)
{
	json_t *key = json_object_get(json_array_get(element, 0), "concat");
	json_t *verdict = json_object_get(json_array_get(element, 1), "goto");
	json_int_t port = json_integer_value(json_array_get(key, 1));
	const char *chain = json_string_value(json_object_get(verdict, "target"));

	if (!chain || read_protocol(json_array_get(key, 0), &p->protocol) < 0 || port < PORT_MIN ||
	    port > PORT_MAX || strncmp(chain, chain_prefix, strlen(chain_prefix)) != 0) {
		errno = EPROTO;
		return -1;
	}
	p->port = (unsigned short)port;
	return format_into(p->id, sizeof(p->id), "%s", chain + strlen(chain_prefix));
}

/* Every element of the map (its "elem" array, absent when empty) into a new array *list. */
static int read_elements(json_t *map, struct published **list, size_t *count)
{
	json_t *elements = json_object_get(map, "elem");
	json_t *element;
	size_t i;

	*count = json_array_size(elements);
	if (*count == 0)
		return 0;
	*list = calloc(*count, sizeof(**list));
	if (!*list)
		return -1;
	json_array_foreach(elements, i, element) {
		if (read_element(element, &(*list)[i]) < 0)
			return -1;
	}
	return 0;
}

/*
 * Read the map "ports": every published host port and the container it
 * leads to. *list is malloc(3)ed (free it, also after a failure); no
 * table means no ports.
 */
static int read_published(struct published **list, size_t *count, struct failure *f)
{
	json_t *output;
	bool exists;
	int ret;

	*list = NULL;
	*count = 0;
	if (list_ports(&output, &exists, f) < 0)
		return -1;
	if (!exists)
		return 0;
	ret = read_elements(find_object(output, "map", "ports"), list, count);
	json_decref(output);
	if (ret < 0)
		return failed(f, "read the map of published ports");
	return 0;
}

/* ---- what box does --------------------------------------------------------------------- */

/*
 * ip-sysctl (the kernel's Documentation/networking/ip-sysctl.rst):
 * ip_forward lets the host pass the containers' packets on at all; the
 * bridge's route_localnet lets packets from 127.0.0.0/8 leave through it,
 * which 127.0.0.1:HOSTPORT needs once DNAT sends them to a container.
 */
int nat_enable_routing(const char *bridge, struct failure *f)
{
	char path[PATH_MAX];

	if (write_file(ip_forward_path, "1\n") < 0)
		return failed(f, "enable IPv4 forwarding: write %s", ip_forward_path);
	if (format_into(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge) < 0 ||
	    write_file(path, "1\n") < 0)
		return failed(f, "let 127.0.0.1 reach containers: write %s", path);
	return 0;
}

/*
 * Make the table ip box if it is missing: masquerade for net leaving by
 * any link but bridge, and the hooks that look ports up. If another box
 * creates it between our look and our "create table", that is success.
 */
int nat_ensure(const char *bridge, const struct subnet *net, struct failure *f)
{
	char commands[NAT_COMMANDS_MAX];
	struct failure ignored;
	json_t *output;
	bool exists;
	int err;

	if (list_ports(&output, &exists, f) < 0)
		return -1;
	json_decref(output);
	if (exists)
		return 0;
	if (nat_table_commands(bridge, net, commands, sizeof(commands)) < 0)
		return failed(f, "NAT rules for bridge %s", bridge);
	if (run_nft(commands, NULL, "create table ip box", f) == 0)
		return 0;
	err = errno;
	if (table_exists(&exists, &ignored) == 0 && exists)
		return 0;
	errno = err;
	return -1;
}

/*
 * After a failed publish: if one of the ports is in the map already, say
 * whose it is, with EADDRINUSE. Otherwise f keeps what nft said.
 */
static int publish_failed(const struct port_map *ports, size_t n, struct failure *f)
{
	struct published *list;
	struct failure ignored;
	size_t count;
	int err = errno;

	if (read_published(&list, &count, &ignored) == 0) {
		for (size_t i = 0; i < count; i++) {
			for (size_t j = 0; j < n; j++) {
				if (list[i].protocol != ports[j].protocol || list[i].port != ports[j].host_port)
					continue;
				errno = EADDRINUSE;
				failed(f, "publish port %u/%s: already published by container %s", list[i].port,
				       protocol_name(list[i].protocol), list[i].id);
				free(list);
				return -1;
			}
		}
	}
	free(list);
	errno = err;
	return -1;
}

/*
 * Publish ports for container id, whose address is address: all of them,
 * in one transaction, or none. EADDRINUSE if another container has one of
 * them already.
 */
int nat_publish(const char *id, struct in_addr address, const struct port_map *ports, size_t n,
		struct failure *f)
{
	char commands[NAT_COMMANDS_MAX];

	if (n == 0)
		return 0;
	if (check_port_maps(ports, n, f) < 0)
		return -1;
	if (nat_publish_commands(id, address, ports, n, commands, sizeof(commands)) < 0)
		return failed(f, "publish ports of container %s", id);
	if (run_nft(commands, NULL, "publish ports", f) < 0)
		return publish_failed(ports, n, f);
	return 0;
}

/* Remove the published ports of container id, all in one transaction; none is not an error. */
int nat_unpublish(const char *id, struct failure *f)
{
	char commands[NAT_COMMANDS_MAX];
	struct published *list;
	size_t count;

	if (read_published(&list, &count, f) < 0) {
		free(list);
		return -1;
	}
	if (nat_unpublish_commands(id, list, count, commands, sizeof(commands)) < 0) {
		free(list);
		return failed(f, "unpublish ports of container %s", id);
	}
	free(list);
	if (commands[0] == '\0')
		return 0;	/* nothing published */
	return run_nft(commands, NULL, "unpublish ports", f);
}

/* Is id among the first n of ids? */
static bool listed(char ids[][CONTAINER_ID_LEN + 1], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ids[i], id) == 0)
			return true;
	}
	return false;
}

/*
 * The ids of the containers that have published ports, each once: a
 * cleanup compares them with the live leases and unpublishes the rest.
 * ENOBUFS if there are more than max.
 */
int nat_list_ids(char ids[][CONTAINER_ID_LEN + 1], size_t max, size_t *count, struct failure *f)
{
	struct published *list;
	size_t n;

	*count = 0;
	if (read_published(&list, &n, f) < 0) {
		free(list);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (listed(ids, *count, list[i].id))
			continue;
		if (*count == max) {
			free(list);
			errno = ENOBUFS;
			return failed(f, "list the containers with published ports");
		}
		memcpy(ids[(*count)++], list[i].id, sizeof(list[i].id));
	}
	free(list);
	return 0;
}

/*
 * Delete the table and everything in it. The caller makes sure no
 * container uses it: it holds the leases directory's lock and has seen no
 * live lease (leases_open, lease_scan), so no box is setting one up.
 */
int nat_remove_table(struct failure *f)
{
	bool exists;

	if (table_exists(&exists, f) < 0)
		return -1;
	if (!exists)
		return 0;
	return run_nft("delete table ip box", NULL, "delete table ip box", f);
}
