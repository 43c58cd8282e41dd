/*
 * test_net_unit.c - the parts of step 5's network code that need no root:
 * -p and --subnet parsing, address arithmetic, leases in a scratch
 * directory (stale ones and a full subnet included), the netlink messages
 * as built in memory, and the nft commands as text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* box.h first: cmocka.h defines macros named fail and fail_msg. */
#include "box.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static const char id_a[] = "aaaaaaaaaaaa";
static const char id_b[] = "bbbbbbbbbbbb";

static struct in_addr ip(const char *text)
{
	struct in_addr address;

	assert_int_equal(inet_pton(AF_INET, text, &address), 1);
	return address;
}

static const char *text_of(struct in_addr address)
{
	static char text[INET_ADDRSTRLEN];

	return inet_ntop(AF_INET, &address, text, sizeof(text));
}

/* ---- -p ---------------------------------------------------------------------------------- */

/* Parse a -p value that must be rejected; returns the errno it failed with. */
static int port_map_error(const char *text, struct failure *f)
{
	struct port_map map;

	errno = 0;
	assert_int_equal(parse_port_map(text, &map, f), -1);
	return errno;
}

static void test_port_map_host_and_container_port(void **state)
{
	struct port_map map;
	struct failure f;

	(void)state;
	assert_int_equal(parse_port_map("8080:80", &map, &f), 0);
	assert_int_equal(map.host_ip.s_addr, htonl(INADDR_ANY));
	assert_int_equal(map.host_port, 8080);
	assert_int_equal(map.container_port, 80);
	assert_int_equal(map.protocol, IPPROTO_TCP);
}

static void test_port_map_takes_a_protocol(void **state)
{
	struct port_map map;
	struct failure f;

	(void)state;
	assert_int_equal(parse_port_map("5353:53/udp", &map, &f), 0);
	assert_int_equal(map.protocol, IPPROTO_UDP);
	assert_int_equal(map.host_port, 5353);
	assert_int_equal(map.container_port, 53);
	assert_int_equal(parse_port_map("8080:80/tcp", &map, &f), 0);
	assert_int_equal(map.protocol, IPPROTO_TCP);
}

static void test_port_map_takes_a_host_ip(void **state)
{
	struct port_map map;
	struct failure f;

	(void)state;
	assert_int_equal(parse_port_map("127.0.0.1:8080:80", &map, &f), 0);
	assert_string_equal(text_of(map.host_ip), "127.0.0.1");
	assert_int_equal(map.host_port, 8080);
	assert_int_equal(map.container_port, 80);
}

static void test_port_map_rejects_ports_out_of_range(void **state)
{
	struct failure f;

	(void)state;
	assert_int_equal(port_map_error("70000:80", &f), ERANGE);
	assert_non_null(strstr(f.what, "-p 70000:80: host port 70000"));
	assert_int_equal(port_map_error("0:80", &f), ERANGE);
	assert_int_equal(port_map_error("8080:0", &f), ERANGE);
	assert_non_null(strstr(f.what, "container port 0"));
	assert_int_equal(port_map_error("8080:123456789012345678901234", &f), ERANGE);
}

static void test_port_map_rejects_what_is_not_a_port(void **state)
{
	static const char *const bad[] = { "abc", "", ":80", "8080:", "8080:abc", "-1:80", "+80:80",
					   " 80:80", "8080:80 ", "1:2:3:4", "8080::80" };
	struct failure f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (port_map_error(bad[i], &f) != EINVAL)
			fail_msg("-p \"%s\": expected EINVAL, got %s", bad[i], strerror(errno));
	}
}

static void test_port_map_without_host_port_is_not_supported(void **state)
{
	struct failure f;

	(void)state;
	assert_int_equal(port_map_error("80", &f), ENOTSUP);
	assert_string_equal(f.what, "-p 80: box needs the host port too (HOSTPORT:CONTAINERPORT)");
}

static void test_port_map_rejects_other_protocols(void **state)
{
	struct failure f;

	(void)state;
	assert_int_equal(port_map_error("8080:80/sctp", &f), EPROTONOSUPPORT);
	assert_string_equal(f.what, "-p 8080:80/sctp: protocol sctp: box publishes tcp or udp");
	assert_int_equal(port_map_error("8080:80/", &f), EPROTONOSUPPORT);
	assert_int_equal(port_map_error("8080:80/TCP", &f), EPROTONOSUPPORT);
}

static void test_port_map_rejects_bad_host_ips(void **state)
{
	static const char *const bad[] = { "1.2.3:8080:80", "256.0.0.1:8080:80", "localhost:8080:80",
					   ":8080:80", "1.2.3.4.5:8080:80" };
	struct failure f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (port_map_error(bad[i], &f) != EINVAL)
			fail_msg("-p \"%s\": expected EINVAL, got %s", bad[i], strerror(errno));
	}
	port_map_error("1.2.3:8080:80", &f);
	assert_string_equal(f.what, "-p 1.2.3:8080:80: host IP 1.2.3 is not an IPv4 address");
	/* IPv6 has colons of its own: not supported, and refused as malformed. */
	assert_int_equal(port_map_error("::1:8080:80", &f), EINVAL);
}

static void test_same_host_port_twice_is_refused(void **state)
{
	struct port_map ports[3];
	struct failure f;

	(void)state;
	assert_int_equal(parse_port_map("8080:80", &ports[0], &f), 0);
	assert_int_equal(parse_port_map("8080:81/udp", &ports[1], &f), 0);
	assert_int_equal(check_port_maps(ports, 2, &f), 0);	/* tcp and udp are different ports */
	assert_int_equal(parse_port_map("127.0.0.1:8080:82", &ports[2], &f), 0);
	assert_int_equal(check_port_maps(ports, 3, &f), -1);
	assert_int_equal(errno, EADDRINUSE);
	assert_string_equal(f.what, "-p: host port 8080/tcp is given twice");
}

/* ---- --subnet and address arithmetic ------------------------------------------------- */

static void test_subnet_is_parsed(void **state)
{
	struct subnet net;
	struct failure f;

	(void)state;
	assert_int_equal(parse_subnet("10.88.0.0/16", &net, &f), 0);
	assert_string_equal(text_of(net.network), "10.88.0.0");
	assert_int_equal(net.prefix, 16);
}

static void test_subnet_host_bits_are_dropped(void **state)
{
	struct subnet net;
	struct failure f;

	(void)state;
	assert_int_equal(parse_subnet("10.88.1.2/16", &net, &f), 0);
	assert_string_equal(text_of(net.network), "10.88.0.0");
	assert_int_equal(parse_subnet("192.168.77.77/30", &net, &f), 0);
	assert_string_equal(text_of(net.network), "192.168.77.76");
}

static void test_subnet_prefix_must_be_8_to_30(void **state)
{
	struct subnet net;
	struct failure f;

	(void)state;
	assert_int_equal(parse_subnet("10.0.0.0/8", &net, &f), 0);
	assert_int_equal(parse_subnet("10.88.0.0/30", &net, &f), 0);
	assert_int_equal(parse_subnet("10.0.0.0/7", &net, &f), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_subnet("10.88.0.0/31", &net, &f), -1);
	assert_int_equal(errno, ERANGE);
	assert_string_equal(f.what, "--subnet 10.88.0.0/31: the prefix must be /8 to /30");
	assert_int_equal(parse_subnet("10.88.0.0/32", &net, &f), -1);
	assert_int_equal(errno, ERANGE);
}

static void test_subnet_rejects_what_is_not_a_network(void **state)
{
	static const char *const bad[] = { "10.88.0.0", "10.88.0.0/", "10.88.0.0/abc", "10.88/16", "",
					   "/16", "10.88.0.0/016", "10.88.0.0/16x", "10.88.0.0/-16",
					   "fd00::/64", "10.88.0.0.0/16" };
	struct subnet net;
	struct failure f;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (parse_subnet(bad[i], &net, &f) != -1 || errno != EINVAL)
			fail_msg("--subnet \"%s\": expected EINVAL, got %s", bad[i], strerror(errno));
	}
}

static void test_subnet_is_formatted_back(void **state)
{
	struct subnet net = { ip("10.88.0.0"), 16 };
	char text[SUBNET_TEXT_MAX], tiny[8];

	(void)state;
	assert_int_equal(format_subnet(&net, text, sizeof(text)), 0);
	assert_string_equal(text, "10.88.0.0/16");
	assert_int_equal(format_subnet(&net, tiny, sizeof(tiny)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void test_gateway_is_the_first_address(void **state)
{
	struct subnet a = { ip("10.88.0.0"), 16 }, b = { ip("192.168.5.0"), 24 };

	(void)state;
	assert_string_equal(text_of(subnet_gateway(&a)), "10.88.0.1");
	assert_string_equal(text_of(subnet_gateway(&b)), "192.168.5.1");
}

static void test_subnet_size_counts_every_address(void **state)
{
	struct subnet a = { ip("10.88.0.0"), 16 }, b = { ip("10.88.0.0"), 30 }, c = { ip("10.0.0.0"), 8 };

	(void)state;
	assert_int_equal(subnet_size(&a), 65536);
	assert_int_equal(subnet_size(&b), 4);
	assert_int_equal(subnet_size(&c), 16777216);
}

static void test_address_arithmetic_carries_across_bytes(void **state)
{
	struct subnet net = { ip("10.88.0.0"), 16 };

	(void)state;
	assert_string_equal(text_of(subnet_address(&net, 255)), "10.88.0.255");
	assert_string_equal(text_of(subnet_address(&net, 256)), "10.88.1.0");
	assert_string_equal(text_of(subnet_address(&net, 65534)), "10.88.255.254");
}

/* ---- leases ------------------------------------------------------------------------------ */

/* Each lease test gets a fresh directory; the leases directory is made inside it by lease_take. */
struct lease_dir {
	char top[64];
	char dir[128];
};

static int lease_dir_setup(void **state)
{
	struct lease_dir *d = malloc(sizeof(*d));

	assert_non_null(d);
	strcpy(d->top, "/tmp/test-leases.XXXXXX");
	assert_non_null(mkdtemp(d->top));
	snprintf(d->dir, sizeof(d->dir), "%s/networks/box0/leases", d->top);
	*state = d;
	return 0;
}

static int lease_dir_teardown(void **state)
{
	struct lease_dir *d = *state;
	char command[128];

	snprintf(command, sizeof(command), "rm -rf %s", d->top);
	assert_int_equal(system(command), 0);
	free(d);
	return 0;
}

static struct lease take(const char *dir, const char *subnet, const char *id)
{
	struct lease lease;
	struct subnet net;
	struct failure f;

	assert_int_equal(parse_subnet(subnet, &net, &f), 0);
	if (lease_take(dir, &net, id, &lease, &f) < 0)
		fail_msg("lease_take %s: %s: %s", id, f.what, strerror(errno));
	return lease;
}

/* The content of a lease file: its owner's id and a newline. */
static const char *owner_of(const char *dir, const char *address)
{
	static char text[64];
	char path[256];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", dir, address);
	file = fopen(path, "r");
	if (!file)
		return "(no lease file)";
	if (!fgets(text, sizeof(text), file))
		text[0] = '\0';
	fclose(file);
	return text;
}

static void test_first_lease_is_the_second_address(void **state)
{
	struct lease_dir *d = *state;
	struct lease a = take(d->dir, "10.88.0.0/16", id_a);
	struct failure f;

	assert_string_equal(text_of(a.address), "10.88.0.2");
	assert_string_equal(owner_of(d->dir, "10.88.0.2"), "aaaaaaaaaaaa\n");
	assert_int_equal(lease_release(&a, &f), 0);
}

static void test_held_leases_get_different_addresses(void **state)
{
	struct lease_dir *d = *state;
	struct lease a = take(d->dir, "10.88.0.0/16", id_a);
	struct lease b = take(d->dir, "10.88.0.0/16", id_b);
	struct failure f;

	assert_string_equal(text_of(a.address), "10.88.0.2");
	assert_string_equal(text_of(b.address), "10.88.0.3");
	assert_int_equal(lease_release(&a, &f), 0);
	assert_int_equal(lease_release(&b, &f), 0);
}

static void test_released_lease_is_removed_and_its_address_reused(void **state)
{
	struct lease_dir *d = *state;
	struct lease a = take(d->dir, "10.88.0.0/16", id_a);
	struct lease b;
	struct failure f;

	assert_int_equal(lease_release(&a, &f), 0);
	assert_int_equal(a.fd, -1);
	assert_string_equal(owner_of(d->dir, "10.88.0.2"), "(no lease file)");
	b = take(d->dir, "10.88.0.0/16", id_b);
	assert_string_equal(text_of(b.address), "10.88.0.2");
	assert_int_equal(lease_release(&b, &f), 0);
	assert_int_equal(lease_release(&b, &f), 0);	/* a second release does nothing */
}

static void test_closed_lease_is_stale_and_reclaimed(void **state)
{
	struct lease_dir *d = *state;
	struct lease a = take(d->dir, "10.88.0.0/16", id_a);
	struct lease_info info[4];
	struct lease b;
	struct failure f;
	size_t n;

	close(a.fd);	/* what the kernel does when the owner dies */
	assert_int_equal(lease_list(d->dir, info, 4, &n, &f), 0);
	assert_int_equal(n, 1);
	assert_string_equal(info[0].id, id_a);
	assert_true(info[0].stale);
	b = take(d->dir, "10.88.0.0/16", id_b);
	assert_string_equal(text_of(b.address), "10.88.0.2");
	assert_string_equal(owner_of(d->dir, "10.88.0.2"), "bbbbbbbbbbbb\n");
	assert_int_equal(lease_release(&b, &f), 0);
}

static void test_lease_of_a_killed_owner_is_stale(void **state)
{
	struct lease_dir *d = *state;
	struct lease_info info[4];
	struct failure f;
	int ready[2], status;
	char byte;
	size_t n;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The owner: no cmocka here; it dies with the test if the test fails first. */
		struct lease lease;
		struct subnet net;

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || parse_subnet("10.88.0.0/16", &net, &f) < 0 ||
		    lease_take(d->dir, &net, id_a, &lease, &f) < 0 || write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &byte, 1), 1);
	assert_int_equal(lease_list(d->dir, info, 4, &n, &f), 0);
	assert_int_equal(n, 1);
	assert_false(info[0].stale);	/* held while the owner lives */
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(lease_list(d->dir, info, 4, &n, &f), 0);
	assert_int_equal(n, 1);
	assert_string_equal(text_of(info[0].address), "10.88.0.2");
	assert_string_equal(info[0].id, id_a);
	assert_true(info[0].stale);
	close(ready[0]);
}

static void test_full_subnet_fails_with_enospc(void **state)
{
	struct lease_dir *d = *state;
	struct lease a = take(d->dir, "10.88.0.0/30", id_a);
	struct lease b;
	struct subnet net;
	struct failure f;

	assert_string_equal(text_of(a.address), "10.88.0.2");	/* .1 gateway, .3 broadcast: .2 only */
	assert_int_equal(parse_subnet("10.88.0.0/30", &net, &f), 0);
	assert_int_equal(lease_take(d->dir, &net, id_b, &b, &f), -1);
	assert_int_equal(errno, ENOSPC);
	assert_string_equal(f.what, "no free address in 10.88.0.0/30");
	assert_int_equal(b.fd, -1);
	assert_int_equal(lease_release(&a, &f), 0);
}

static void test_reclaim_removes_only_stale_leases(void **state)
{
	struct lease_dir *d = *state;
	struct lease a = take(d->dir, "10.88.0.0/16", id_a);
	struct lease b = take(d->dir, "10.88.0.0/16", id_b);
	struct lease_info info[4];
	struct failure f;
	size_t n, reclaimed;

	close(b.fd);	/* b's owner is gone */
	assert_int_equal(lease_reclaim_stale(d->dir, &reclaimed, &f), 0);
	assert_int_equal(reclaimed, 1);
	assert_int_equal(lease_list(d->dir, info, 4, &n, &f), 0);
	assert_int_equal(n, 1);
	assert_string_equal(info[0].id, id_a);
	assert_false(info[0].stale);
	assert_int_equal(lease_release(&a, &f), 0);
}

static void test_lease_list_skips_other_files_and_says_when_full(void **state)
{
	struct lease_dir *d = *state;
	struct lease a = take(d->dir, "10.88.0.0/16", id_a);
	struct lease b = take(d->dir, "10.88.0.0/16", id_b);
	struct lease_info info[2];
	struct failure f;
	char path[256];
	size_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/README", d->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lease_list(d->dir, info, 2, &n, &f), 0);
	assert_int_equal(n, 2);
	assert_int_equal(lease_list(d->dir, info, 1, &n, &f), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(lease_release(&a, &f), 0);
	assert_int_equal(lease_release(&b, &f), 0);
}

/* ---- netlink messages, built in memory ----------------------------------------------- */

static void test_batch_lays_requests_back_to_back(void **state)
{
	struct nl nl = { .seq = 41 };
	struct nl_batch b;
	const struct nlmsghdr *nlh;
	const struct ifinfomsg *ifi;
	size_t offset = 0;

	(void)state;
	nl_batch_start(&b, &nl);
	assert_int_equal(request_link_up(&b, "lo"), 0);
	assert_int_equal(request_link_up(&b, "eth0"), 0);
	assert_int_equal(request_link_delete(&b, "vb-3f2a1c9d0e12"), 0);
	assert_int_equal(b.count, 3);
	for (int i = 0; i < 3; i++) {
		nlh = (const struct nlmsghdr *)(b.buf + offset);
		assert_int_equal(nlh->nlmsg_seq, 42 + i);
		assert_int_equal(nlh->nlmsg_flags & (NLM_F_REQUEST | NLM_F_ACK), NLM_F_REQUEST | NLM_F_ACK);
		offset += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	assert_int_equal(offset, b.len);
	assert_string_equal(b.requests[2].what, "delete link vb-3f2a1c9d0e12");
	/* rtnetlink(7): ifi_change names the flags to change: IFF_UP, and no other. */
	ifi = mnl_nlmsg_get_payload((const struct nlmsghdr *)b.buf);
	assert_int_equal(ifi->ifi_flags, IFF_UP);
	assert_int_equal(ifi->ifi_change, IFF_UP);
}

static void test_batch_refuses_a_request_too_many(void **state)
{
	struct nl nl = { 0 };
	struct nl_batch b;

	(void)state;
	nl_batch_start(&b, &nl);
	for (int i = 0; i < NL_BATCH_MAX; i++)
		assert_int_equal(request_link_up(&b, "lo"), 0);
	assert_int_equal(request_link_up(&b, "lo"), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(b.count, NL_BATCH_MAX);
}

static void test_link_name_longer_than_the_kernel_allows_is_refused(void **state)
{
	struct nl nl = { 0 };
	struct nl_batch b;

	(void)state;
	nl_batch_start(&b, &nl);
	assert_int_equal(request_link_up(&b, "a-name-of-16-chr"), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(b.count, 0);
	assert_int_equal(b.len, 0);
}

static void test_veth_is_named_vb_and_12_hex_digits(void **state)
{
	char name[IFNAMSIZ];

	(void)state;
	assert_int_equal(veth_name("3f2a1c9d0e12", name, sizeof(name)), 0);
	assert_string_equal(name, "vb-3f2a1c9d0e12");
	assert_int_equal(veth_name("3f2a1c9d0e12ffffffff", name, sizeof(name)), 0);
	assert_string_equal(name, "vb-3f2a1c9d0e12");
}

/* Attributes of one nesting level, by type; libmnl walks them. */
struct attrs {
	const struct nlattr *of[IFLA_MAX + 1];
};

static int keep_attr(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;

	if (mnl_attr_get_type(attr) <= IFLA_MAX)
		a->of[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static void test_veth_request_carries_master_peer_and_namespace(void **state)
{
	struct nl nl = { 0 };
	struct nl_batch b;
	struct attrs top = { 0 }, info = { 0 }, data = { 0 }, peer = { 0 };
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b.buf;
	const struct ifinfomsg *ifi, *peer_ifi;

	(void)state;
	nl_batch_start(&b, &nl);
	assert_int_equal(request_veth_create(&b, "vb-3f2a1c9d0e12", 7, "eth0", 42), 0);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifi->ifi_flags & IFF_UP, IFF_UP);	/* created up */
	mnl_attr_parse(nlh, sizeof(*ifi), keep_attr, &top);
	assert_string_equal(mnl_attr_get_str(top.of[IFLA_IFNAME]), "vb-3f2a1c9d0e12");
	assert_int_equal(mnl_attr_get_u32(top.of[IFLA_MASTER]), 7);	/* already a bridge port */
	mnl_attr_parse_nested(top.of[IFLA_LINKINFO], keep_attr, &info);
	assert_string_equal(mnl_attr_get_str(info.of[IFLA_INFO_KIND]), "veth");
	mnl_attr_parse_nested(info.of[IFLA_INFO_DATA], keep_attr, &data);
	assert_non_null(data.of[VETH_INFO_PEER]);
	/* VETH_INFO_PEER holds the peer's own ifinfomsg, then its attributes. */
	peer_ifi = mnl_attr_get_payload(data.of[VETH_INFO_PEER]);
	assert_int_equal(peer_ifi->ifi_family, AF_UNSPEC);
	mnl_attr_parse_payload(peer_ifi + 1, mnl_attr_get_payload_len(data.of[VETH_INFO_PEER]) - sizeof(*peer_ifi),
			       keep_attr, &peer);
	assert_string_equal(mnl_attr_get_str(peer.of[IFLA_IFNAME]), "eth0");
	assert_int_equal(mnl_attr_get_u32(peer.of[IFLA_NET_NS_FD]), 42);	/* born in the container */
}

/* ---- nft commands ------------------------------------------------------------------------ */

static void test_table_commands_say_masquerade_and_port_lookup(void **state)
{
	struct subnet net = { ip("10.88.0.0"), 16 };
	char buf[NAT_COMMANDS_MAX];

	(void)state;
	assert_int_equal(nat_table_commands("box0", &net, buf, sizeof(buf)), 0);
	assert_string_equal(buf,
		"create table ip box\n"
		"add map ip box ports { type inet_proto . inet_service : verdict; }\n"
		"add chain ip box prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
		"add rule ip box prerouting meta l4proto . th dport vmap @ports\n"
		"add chain ip box output { type nat hook output priority -100; policy accept; }\n"
		"add rule ip box output meta l4proto . th dport vmap @ports\n"
		"add chain ip box postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
		"add rule ip box postrouting ip saddr 10.88.0.0/16 oifname != \"box0\" masquerade\n"
		"add rule ip box postrouting ip saddr 127.0.0.0/8 oifname \"box0\" masquerade\n"
		"add rule ip box postrouting ip saddr 10.88.0.0/16 oifname \"box0\" ct status dnat masquerade\n");
}

static void test_publish_commands_make_chain_rules_and_elements(void **state)
{
	struct port_map ports[2];
	char buf[NAT_COMMANDS_MAX];
	struct failure f;

	(void)state;
	assert_int_equal(parse_port_map("8080:80", &ports[0], &f), 0);
	assert_int_equal(parse_port_map("127.0.0.1:5353:53/udp", &ports[1], &f), 0);
	assert_int_equal(nat_publish_commands("3f2a1c9d0e12", ip("10.88.0.2"), ports, 2, buf, sizeof(buf)), 0);
	assert_string_equal(buf,
		"add chain ip box pub-3f2a1c9d0e12\n"
		"add rule ip box pub-3f2a1c9d0e12 fib daddr type local tcp dport 8080 dnat to 10.88.0.2:80\n"
		"add rule ip box pub-3f2a1c9d0e12 ip daddr 127.0.0.1 udp dport 5353 dnat to 10.88.0.2:53\n"
		"create element ip box ports { tcp . 8080 : goto pub-3f2a1c9d0e12, "
		"udp . 5353 : goto pub-3f2a1c9d0e12 }\n");
}

static void test_unpublish_commands_touch_only_that_id(void **state)
{
	static const struct published list[] = {
		{ IPPROTO_TCP, 8080, "3f2a1c9d0e12" },
		{ IPPROTO_TCP, 9090, "bbbbbbbbbbbb" },
		{ IPPROTO_UDP, 5353, "3f2a1c9d0e12" },
	};
	char buf[NAT_COMMANDS_MAX];

	(void)state;
	assert_int_equal(nat_unpublish_commands("3f2a1c9d0e12", list, 3, buf, sizeof(buf)), 0);
	assert_string_equal(buf,
		"delete element ip box ports { tcp . 8080, udp . 5353 }\n"
		"flush chain ip box pub-3f2a1c9d0e12\n"
		"delete chain ip box pub-3f2a1c9d0e12\n");
	assert_int_equal(nat_unpublish_commands("cccccccccccc", list, 3, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void test_nothing_but_ids_and_link_names_reaches_nft(void **state)
{
	struct subnet net = { ip("10.88.0.0"), 16 };
	struct port_map port;
	char buf[NAT_COMMANDS_MAX];
	struct failure f;

	(void)state;
	assert_int_equal(parse_port_map("8080:80", &port, &f), 0);
	assert_int_equal(nat_publish_commands("3f2a; flush ruleset", ip("10.88.0.2"), &port, 1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(nat_publish_commands("3F2A1C9D0E12", ip("10.88.0.2"), &port, 1, buf, sizeof(buf)), -1);
	assert_int_equal(nat_unpublish_commands("x\" }; flush", NULL, 0, buf, sizeof(buf)), -1);
	assert_int_equal(nat_table_commands("box0\"; flush ruleset; \"", &net, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_commands_that_do_not_fit_fail_with_enobufs(void **state)
{
	struct port_map port;
	char buf[64];
	struct failure f;

	(void)state;
	assert_int_equal(parse_port_map("8080:80", &port, &f), 0);
	assert_int_equal(nat_publish_commands("3f2a1c9d0e12", ip("10.88.0.2"), &port, 1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, ENOBUFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_map_host_and_container_port),
		cmocka_unit_test(test_port_map_takes_a_protocol),
		cmocka_unit_test(test_port_map_takes_a_host_ip),
		cmocka_unit_test(test_port_map_rejects_ports_out_of_range),
		cmocka_unit_test(test_port_map_rejects_what_is_not_a_port),
		cmocka_unit_test(test_port_map_without_host_port_is_not_supported),
		cmocka_unit_test(test_port_map_rejects_other_protocols),
		cmocka_unit_test(test_port_map_rejects_bad_host_ips),
		cmocka_unit_test(test_same_host_port_twice_is_refused),
		cmocka_unit_test(test_subnet_is_parsed),
		cmocka_unit_test(test_subnet_host_bits_are_dropped),
		cmocka_unit_test(test_subnet_prefix_must_be_8_to_30),
		cmocka_unit_test(test_subnet_rejects_what_is_not_a_network),
		cmocka_unit_test(test_subnet_is_formatted_back),
		cmocka_unit_test(test_gateway_is_the_first_address),
		cmocka_unit_test(test_subnet_size_counts_every_address),
		cmocka_unit_test(test_address_arithmetic_carries_across_bytes),
		cmocka_unit_test_setup_teardown(test_first_lease_is_the_second_address, lease_dir_setup,
						lease_dir_teardown),
		cmocka_unit_test_setup_teardown(test_held_leases_get_different_addresses, lease_dir_setup,
						lease_dir_teardown),
		cmocka_unit_test_setup_teardown(test_released_lease_is_removed_and_its_address_reused, lease_dir_setup,
						lease_dir_teardown),
		cmocka_unit_test_setup_teardown(test_closed_lease_is_stale_and_reclaimed, lease_dir_setup,
						lease_dir_teardown),
		cmocka_unit_test_setup_teardown(test_lease_of_a_killed_owner_is_stale, lease_dir_setup,
						lease_dir_teardown),
		cmocka_unit_test_setup_teardown(test_full_subnet_fails_with_enospc, lease_dir_setup,
						lease_dir_teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_removes_only_stale_leases, lease_dir_setup,
						lease_dir_teardown),
		cmocka_unit_test_setup_teardown(test_lease_list_skips_other_files_and_says_when_full, lease_dir_setup,
						lease_dir_teardown),
		cmocka_unit_test(test_batch_lays_requests_back_to_back),
		cmocka_unit_test(test_batch_refuses_a_request_too_many),
		cmocka_unit_test(test_link_name_longer_than_the_kernel_allows_is_refused),
		cmocka_unit_test(test_veth_is_named_vb_and_12_hex_digits),
		cmocka_unit_test(test_veth_request_carries_master_peer_and_namespace),
		cmocka_unit_test(test_table_commands_say_masquerade_and_port_lookup),
		cmocka_unit_test(test_publish_commands_make_chain_rules_and_elements),
		cmocka_unit_test(test_unpublish_commands_touch_only_that_id),
		cmocka_unit_test(test_nothing_but_ids_and_link_names_reaches_nft),
		cmocka_unit_test(test_commands_that_do_not_fit_fail_with_enobufs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
