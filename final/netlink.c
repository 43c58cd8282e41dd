/*
 * netlink.c - links, addresses and routes, asked of the kernel over rtnetlink.
 *
 * ip(8) does its work by sending messages on a netlink socket (netlink(7)),
 * and so does box. A request is one message: a header (struct nlmsghdr:
 * type, flags, sequence number), a fixed part (struct ifinfomsg for a link,
 * ifaddrmsg for an address, rtmsg for a route: rtnetlink(7)), then
 * attributes, type-length-value records, some nested inside others. libmnl
 * only lays out those bytes; what they say is written here.
 *
 * Every request carries NLM_F_ACK: the kernel answers it with an
 * NLMSG_ERROR message whose error field is 0 for success or -errno. Several
 * requests can go out in one sendto(2), a batch: the kernel handles them in
 * order and acknowledges each. A failed request is reported by what it was
 * doing: "create veth vb-3f2a1c9d0e12: File exists".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdarg.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "box.h"

enum {
	NL_REPLY_MAX = 8192,	/* receive buffer: an ack, or one link's description, fits */
	MAC_MULTICAST_BIT = 0x01,	/* IEEE 802: in the first byte of a MAC address */
	MAC_LOCAL_BIT = 0x02,	/* IEEE 802: "locally administered", owned by no vendor */
};

/* The container's end of its veth pair, named as docker and podman name it. */
const char container_link[] = "eth0";
static const char loopback_link[] = "lo";
/* The host's end: "vb-" and 12 hex digits of the container id, 15 bytes, as long as IFNAMSIZ allows. */
static const char host_link_prefix[] = "vb-";

/* ---- the socket ------------------------------------------------------------------------ */

/* netlink(7): a NETLINK_ROUTE socket, bound to an address (port id) the kernel picks. */
int nl_open(struct nl *nl)
{
	nl->seq = 0;
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return -1;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		nl_close(nl);
		return -1;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	return 0;
}

/* Close the socket; errno is kept, so this can be called on a failure path. */
void nl_close(struct nl *nl)
{
	int err = errno;

	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
	errno = err;
}

/* ---- building a batch of requests ------------------------------------------------------ */

/* Start an empty batch on socket nl (one batch at a time per socket). */
void nl_batch_start(struct nl_batch *b, struct nl *nl)
{
	b->nl = nl;
	b->first_seq = nl->seq + 1;
	b->count = 0;
	b->len = 0;
}

/*
 * Begin the batch's next request: its header, with NLM_F_ACK so that the
 * kernel answers even on success, and a sequence number that ties the
 * answer to it. The text after flags names the request in errors.
 * end_request() counts it in; a request never ended is simply not sent.
 */
static __attribute__((format(printf, 4, 5))) struct nlmsghdr *
begin_request(struct nl_batch *b, uint16_t type, uint16_t flags, const char *fmt, ...)
{
	struct nl_request *r;
	struct nlmsghdr *nlh;
	va_list ap;
	int n;

	if (b->count == NL_BATCH_MAX) {
		errno = ENOBUFS;
		return NULL;
	}
	r = &b->requests[b->count];
	r->index = NULL;
	r->answered = false;
	r->error = 0;
	va_start(ap, fmt);
	n = vsnprintf(r->what, sizeof(r->what), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(r->what)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = b->first_seq + (unsigned int)b->count;
	return nlh;
}

/* Count the request in; the next one starts right after it. */
static int end_request(struct nl_batch *b, const struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->count++;
	return 0;
}

/*
 * rtnetlink(7): the fixed part of a link request. ifi_change says which
 * flags to change, so that setting IFF_UP leaves the others alone.
 */
static void put_link_header(struct nlmsghdr *nlh, unsigned int flags)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = flags;
	ifi->ifi_change = flags;
}

/*
 * IFLA_IFNAME: the link's name. Names are shorter than IFNAMSIZ; checking
 * that here also keeps every request within its NL_REQUEST_MAX bytes.
 */
static int put_link_name(struct nlmsghdr *nlh, const char *name)
{
	if (strlen(name) >= IFNAMSIZ) {
		errno = ENAMETOOLONG;
		return -1;
	}
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return 0;
}

/* A random MAC address that no vendor owns: locally administered, unicast (IEEE 802). */
static int random_mac(unsigned char mac[ETH_ALEN])
{
	if (getrandom(mac, ETH_ALEN, 0) != ETH_ALEN)
		return -1;
	mac[0] = (unsigned char)((mac[0] & ~MAC_MULTICAST_BIT) | MAC_LOCAL_BIT);
	return 0;
}

/*
 * RTM_NEWLINK with IFLA_LINKINFO kind "bridge": a software switch, created
 * up. It gets a MAC address of its own (IFLA_ADDRESS): without one, a
 * bridge takes the lowest MAC among its ports, which changes as containers
 * come and go, and the containers' ARP entries for the gateway go stale.
 */
int request_bridge_create(struct nl_batch *b, const char *name)
{
	struct nlmsghdr *nlh = begin_request(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, "create bridge %s", name);
	unsigned char mac[ETH_ALEN];
	struct nlattr *linkinfo;

	if (!nlh || random_mac(mac) < 0)
		return -1;
	put_link_header(nlh, IFF_UP);
	if (put_link_name(nlh, name) < 0)
		return -1;
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, linkinfo);
	return end_request(b, nlh);
}

/* [exercise] */
/*
 * veth(4): the peer of a veth pair is described inside the request for the
 * first end, as IFLA_INFO_DATA / VETH_INFO_PEER: a fixed part of its own
 * (put_link_header) and its own attributes (put_link_name). IFLA_NET_NS_FD
 * makes the kernel create it right in that network namespace: it never
 * exists on the host, and its name only has to be free inside. Nest the
 * attributes with mnl_attr_nest_start and mnl_attr_nest_end (libmnl), and
 * see rtnetlink(7).
 */
static int put_veth_peer(struct nlmsghdr *nlh, const char *peer, int netns_fd)
{
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *info = mnl_attr_nest_start(nlh, VETH_INFO_PEER);

	put_link_header(nlh, 0);
	if (put_link_name(nlh, peer) < 0)
		return -1;
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	mnl_attr_nest_end(nlh, info);
	mnl_attr_nest_end(nlh, data);
	return 0;
}

/*
 * veth(4): a pair of virtual interfaces joined like the two ends of a
 * cable. One RTM_NEWLINK makes both: this end, already up and already a
 * port of bridge master (IFLA_MASTER, an index), and the peer in the
 * namespace netns_fd.
 */
int request_veth_create(struct nl_batch *b, const char *name, int master, const char *peer, int netns_fd)
{
	struct nlmsghdr *nlh = begin_request(b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, "create veth %s", name);
	struct nlattr *linkinfo;

	if (!nlh)
		return -1;
	put_link_header(nlh, IFF_UP);
	if (put_link_name(nlh, name) < 0)
		return -1;
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	if (put_veth_peer(nlh, peer, netns_fd) < 0)
		return -1;
	mnl_attr_nest_end(nlh, linkinfo);
	return end_request(b, nlh);
}

/* RTM_SETLINK changes an existing link, found by name when ifi_index is 0: here, sets it up. */
int request_link_up(struct nl_batch *b, const char *name)
{
	struct nlmsghdr *nlh = begin_request(b, RTM_SETLINK, 0, "set %s up", name);

	if (!nlh)
		return -1;
	put_link_header(nlh, IFF_UP);
	if (put_link_name(nlh, name) < 0)
		return -1;
	return end_request(b, nlh);
}

/* RTM_SETLINK with IFLA_MASTER: make the link a port of the bridge whose index is master. */
int request_link_master(struct nl_batch *b, const char *name, int master)
{
	struct nlmsghdr *nlh = begin_request(b, RTM_SETLINK, 0, "attach %s to its bridge", name);

	if (!nlh)
		return -1;
	put_link_header(nlh, 0);
	if (put_link_name(nlh, name) < 0)
		return -1;
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return end_request(b, nlh);
}

/* RTM_DELLINK: delete a link. Deleting either end of a veth pair deletes both. */
int request_link_delete(struct nl_batch *b, const char *name)
{
	struct nlmsghdr *nlh = begin_request(b, RTM_DELLINK, 0, "delete link %s", name);

	if (!nlh)
		return -1;
	put_link_header(nlh, 0);
	if (put_link_name(nlh, name) < 0)
		return -1;
	return end_request(b, nlh);
}

/*
 * RTM_GETLINK: describe one link. The answer, an RTM_NEWLINK message that
 * comes before the ack, carries its index, which nl_batch_run stores in
 * *index. Addresses and routes name links by index, not by name.
 */
int request_link_index(struct nl_batch *b, const char *name, int *index)
{
	struct nlmsghdr *nlh = begin_request(b, RTM_GETLINK, 0, "find link %s", name);

	if (!nlh)
		return -1;
	put_link_header(nlh, 0);
	if (put_link_name(nlh, name) < 0)
		return -1;
	b->requests[b->count].index = index;
	return end_request(b, nlh);
}

/*
 * RTM_NEWADDR: give link number index an IPv4 address (struct ifaddrmsg).
 * IFA_LOCAL is the address itself; IFA_ADDRESS is the same on all but
 * point-to-point links. The kernel adds the route to the subnet with it.
 * NLM_F_REPLACE: an address the link already has is not an error. name is
 * only for messages.
 */
int request_address_add(struct nl_batch *b, const char *name, int index, struct in_addr address, unsigned int prefix)
{
	char text[INET_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (!inet_ntop(AF_INET, &address, text, sizeof(text)))
		return -1;
	nlh = begin_request(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, "add address %s/%u to %s", text, prefix, name);
	if (!nlh)
		return -1;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)index;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(address), &address);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(address), &address);
	return end_request(b, nlh);
}

/*
 * RTM_NEWROUTE (struct rtmsg): the default route, destination 0.0.0.0/0,
 * through gateway on link number index, in the main routing table: what
 * "ip route add default via GATEWAY" sends.
 */
int request_default_route_add(struct nl_batch *b, int index, struct in_addr gateway)
{
	char text[INET_ADDRSTRLEN];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!inet_ntop(AF_INET, &gateway, text, sizeof(text)))
		return -1;
	nlh = begin_request(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, "add default route via %s", text);
	if (!nlh)
		return -1;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, sizeof(gateway), &gateway);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	return end_request(b, nlh);
}

/* ---- sending a batch, reading the acks ------------------------------------------------- */

/* netlink(7): an ack is an NLMSG_ERROR message; its error is 0 for success, else -errno. */
static int ack_error(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return EBADMSG;
	return -err->error;
}

/*
 * Take in one message from the kernel. Its sequence number says which
 * request it answers: an ack settles that request; an RTM_NEWLINK before
 * the ack describes the link a request_link_index asked about. Returns
 * whether the message was an ack.
 */
static bool take_reply(struct nl_batch *b, const struct nlmsghdr *nlh)
{
	unsigned int i = nlh->nlmsg_seq - b->first_seq;
	struct nl_request *r;

	if (i >= (unsigned int)b->count || nlh->nlmsg_pid != b->nl->portid)
		return false;	/* not about this batch */
	r = &b->requests[i];
	if (nlh->nlmsg_type == NLMSG_ERROR && !r->answered) {
		r->answered = true;
		r->error = ack_error(nlh);
		return true;
	}
	if (nlh->nlmsg_type == RTM_NEWLINK && r->index) {
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

		*r->index = ifi->ifi_index;
	}
	return false;
}

/* recv(2) until every request has its ack; one datagram may hold several messages. */
static int read_acks(struct nl_batch *b)
{
	alignas(uint32_t) char buf[NL_REPLY_MAX];
	int waiting = b->count;

	while (waiting > 0) {
		ssize_t n = mnl_socket_recvfrom(b->nl->sock, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (take_reply(b, nlh))
				waiting--;
		}
	}
	return 0;
}

/*
 * Send the whole batch in one sendto(2), then read every ack. The kernel
 * goes on after a request fails, so each is answered; the first failure is
 * the one reported, as later ones usually follow from it.
 */
int nl_batch_run(struct nl_batch *b, struct failure *f)
{
	if (b->count == 0)
		return 0;
	b->nl->seq = b->first_seq + (unsigned int)b->count - 1;
	if (mnl_socket_sendto(b->nl->sock, b->buf, b->len) < 0)
		return failed(f, "%s: send the netlink request", b->requests[0].what);
	if (read_acks(b) < 0)
		return failed(f, "%s: read the netlink answer", b->requests[0].what);
	for (int i = 0; i < b->count; i++) {
		if (b->requests[i].error) {
			errno = b->requests[i].error;
			return failed(f, "%s", b->requests[i].what);
		}
	}
	return 0;
}

/* ---- the steps box takes --------------------------------------------------------------- */

/* The index of link name; fails with ENODEV if there is no such link. */
int link_index(struct nl *nl, const char *name, int *index, struct failure *f)
{
	struct nl_batch b;

	nl_batch_start(&b, nl);
	if (request_link_index(&b, name, index) < 0)
		return failed(f, "find link %s", name);
	return nl_batch_run(&b, f);
}

/* Create the bridge and learn its index, in one round trip. */
static int bridge_create(struct nl *nl, const char *name, int *index, struct failure *f)
{
	struct nl_batch b;

	nl_batch_start(&b, nl);
	if (request_bridge_create(&b, name) < 0 || request_link_index(&b, name, index) < 0)
		return failed(f, "create bridge %s", name);
	if (nl_batch_run(&b, f) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	return link_index(nl, name, index, f);	/* another box created it since we looked */
}

/*
 * Make sure bridge name exists, is up and has address/prefix, the
 * containers' gateway; *index is its index. Called for every container:
 * an existing bridge is kept, and so is its address.
 */
int bridge_ensure(struct nl *nl, const char *name, struct in_addr address, unsigned int prefix, int *index,
		  struct failure *f)
{
	struct nl_batch b;

	if (link_index(nl, name, index, f) < 0) {
		if (errno != ENODEV || bridge_create(nl, name, index, f) < 0)
			return -1;
	}
	nl_batch_start(&b, nl);
	if (request_link_up(&b, name) < 0 || request_address_add(&b, name, *index, address, prefix) < 0)
		return failed(f, "set up bridge %s", name);
	return nl_batch_run(&b, f);
}

/* The host end's name for container id: "vb-" and the id's first 12 hex digits. */
int veth_name(const char *id, char *name, size_t size)
{
	return format_into(name, size, "%s%.*s", host_link_prefix, CONTAINER_ID_LEN, id);
}

/*
 * Create the container's veth pair: name on the host, up and plugged into
 * bridge master, and eth0 in the network namespace netns_fd (an open
 * /proc/PID/ns/net), where the container sets it up (configure_inside).
 */
int veth_create(struct nl *nl, const char *name, int master, int netns_fd, struct failure *f)
{
	struct nl_batch b;

	nl_batch_start(&b, nl);
	if (request_veth_create(&b, name, master, container_link, netns_fd) < 0)
		return failed(f, "create veth %s", name);
	return nl_batch_run(&b, f);
}

/* Delete link name; ENODEV if it is already gone (a veth goes when its namespace goes). */
int link_delete(struct nl *nl, const char *name, struct failure *f)
{
	struct nl_batch b;

	nl_batch_start(&b, nl);
	if (request_link_delete(&b, name) < 0)
		return failed(f, "delete link %s", name);
	return nl_batch_run(&b, f);
}

/* ---- inside the container -------------------------------------------------------------- */

/* First round trip: lo and eth0 up, and eth0's index. */
static int bring_up_links(struct nl *nl, int *eth0, struct failure *f)
{
	struct nl_batch b;

	nl_batch_start(&b, nl);
	if (request_link_up(&b, loopback_link) < 0 || request_link_up(&b, container_link) < 0 ||
	    request_link_index(&b, container_link, eth0) < 0)
		return failed(f, "set up %s", container_link);
	return nl_batch_run(&b, f);
}

/* Second round trip: eth0's address, then the default route, which needs the subnet it lies in. */
static int add_address_and_route(struct nl *nl, int eth0, struct in_addr address, unsigned int prefix,
				 struct in_addr gateway, struct failure *f)
{
	struct nl_batch b;

	nl_batch_start(&b, nl);
	if (request_address_add(&b, container_link, eth0, address, prefix) < 0 ||
	    request_default_route_add(&b, eth0, gateway) < 0)
		return failed(f, "address %s", container_link);
	return nl_batch_run(&b, f);
}

/*
 * Run by the container's child, in its own network namespace, before it
 * execs the command: lo up (so 127.0.0.1 works), eth0 up with its
 * address, and a default route through the bridge's address, gateway.
 */
int configure_inside(struct in_addr address, unsigned int prefix, struct in_addr gateway, struct failure *f)
{
	struct nl nl;
	int eth0 = 0;
	int ret;

	if (nl_open(&nl) < 0)
		return failed(f, "open a netlink socket");
	ret = bring_up_links(&nl, &eth0, f);
	if (ret == 0)
		ret = add_address_and_route(&nl, eth0, address, prefix, gateway, f);
	nl_close(&nl);
	return ret;
}
