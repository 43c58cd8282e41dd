/*
 * ipam.c - which container has which address: the subnet, and leases kept in files.
 *
 * IP address management. The bridge's subnet, 10.88.0.0/16 unless
 * --subnet says otherwise, gives its first address, .1, to the bridge
 * itself, the containers' gateway; each container leases one of the others
 * for as long as it runs.
 *
 * A lease is a file in the leases directory, named by its address
 * ("10.88.0.2") and holding the owner's container id. The owner keeps the
 * file open, with an exclusive flock(2), for its whole life. The lock, not
 * the file, is what counts: the kernel drops it when the owner's last
 * descriptor for it closes, also when the owner is killed with SIGKILL. A
 * file that nobody holds a lock on is a stale lease, and its address may
 * be taken again. Leases are taken and released under an exclusive flock
 * on the directory itself, so two boxes starting at once never pick the
 * same address.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box.h"

enum {
	IPV4_BITS = 32,
	PREFIX_DIGITS_MAX = 2,
	FIRST_CONTAINER = 2,	/* address number 0 names the network, 1 is the gateway */
	OWNER_TEXT_MAX = CONTAINER_ID_LEN + 1,	/* a lease file's content: the id and a newline */
};

/* ---- the subnet ------------------------------------------------------------------------ */

/* The netmask of a prefix of 1 to 32 bits, in host byte order: /16 is 0xffff0000. */
static uint32_t netmask(unsigned int prefix)
{
	return ~(uint32_t)0 << (IPV4_BITS - prefix);
}

/* "16" -> 16: one or two digits and nothing else. */
static int parse_prefix(const char *text, unsigned int *prefix)
{
	size_t digits = strspn(text, "0123456789");

	if (digits == 0 || digits > PREFIX_DIGITS_MAX || text[digits] != '\0') {
		errno = EINVAL;
		return -1;
	}
	*prefix = (unsigned int)atoi(text);
	return 0;
}

/* "10.88.0.0/16" -> the address part, as a struct in_addr, and the prefix. */
static int split_subnet(const char *text, struct in_addr *address, unsigned int *prefix)
{
	char part[INET_ADDRSTRLEN];
	const char *slash = strchr(text, '/');

	if (!slash || (size_t)(slash - text) >= sizeof(part)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(part, text, (size_t)(slash - text));
	part[slash - text] = '\0';
	if (inet_pton(AF_INET, part, address) != 1) {
		errno = EINVAL;
		return -1;
	}
	return parse_prefix(slash + 1, prefix);
}

/*
 * --subnet: "10.88.0.0/16" -> { 10.88.0.0, 16 }. Host bits are dropped, as
 * ip(8) does for a route ("10.88.1.2/16" is 10.88.0.0/16). The prefix must
 * leave room for the gateway and one container (/30 at most), and the
 * network may not be larger than 10.0.0.0/8 (/8 at least).
 */
int parse_subnet(const char *text, struct subnet *net, struct failure *f)
{
	struct in_addr address;
	unsigned int prefix;

	if (split_subnet(text, &address, &prefix) < 0)
		return failed(f, "--subnet %s: expected an IPv4 network like 10.88.0.0/16", text);
	if (prefix < SUBNET_MIN_PREFIX || prefix > SUBNET_MAX_PREFIX) {
		errno = ERANGE;
		return failed(f, "--subnet %s: the prefix must be /%d to /%d", text, SUBNET_MIN_PREFIX,
			      SUBNET_MAX_PREFIX);
	}
	net->network.s_addr = htonl(ntohl(address.s_addr) & netmask(prefix));
	net->prefix = prefix;
	return 0;
}

/* { 10.88.0.0, 16 } -> "10.88.0.0/16" */
int format_subnet(const struct subnet *net, char *buf, size_t size)
{
	char address[INET_ADDRSTRLEN];

	if (!inet_ntop(AF_INET, &net->network, address, sizeof(address)))
		return -1;
	return format_into(buf, size, "%s/%u", address, net->prefix);
}

/* How many addresses the subnet spans: 65536 for a /16, network and broadcast included. */
uint32_t subnet_size(const struct subnet *net)
{
	return (uint32_t)1 << (IPV4_BITS - net->prefix);
}

/* Address number n of the subnet: 0 is the network itself, 1 the gateway, size - 1 the broadcast. */
struct in_addr subnet_address(const struct subnet *net, uint32_t n)
{
	struct in_addr address = { .s_addr = htonl(ntohl(net->network.s_addr) + n) };

	return address;
}

/* The bridge's own address, the containers' gateway: the subnet's first, 10.88.0.1. */
struct in_addr subnet_gateway(const struct subnet *net)
{
	return subnet_address(net, 1);
}

/* ---- the leases directory -------------------------------------------------------------- */

/* close(2) on a failure path, keeping the errno that tells what failed. */
static void close_keeping_errno(int fd)
{
	int err = errno;

	close(fd);
	errno = err;
}

/*
 * Open the leases directory, making it the first time, and flock(2) it:
 * LOCK_EX to take or release leases, LOCK_SH to read them. Returns the
 * descriptor; closing it drops the lock.
 */
int leases_open(const char *dir, int how, struct failure *f)
{
	int fd;

	if (make_path(dir) < 0)
		return failed(f, "create leases directory %s", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return failed(f, "open leases directory %s", dir);
	if (lock_fd(fd, how) < 0) {
		close_keeping_errno(fd);
		return failed(f, "lock leases directory %s", dir);
	}
	return fd;
}

/* A lease file is named by its address: "10.88.0.2". */
static int lease_file_name(struct in_addr address, char name[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &address, name, INET_ADDRSTRLEN) ? 0 : -1;
}

/*
 * Open the lease file of address (flags O_CREAT: making it if missing) and
 * lock it without waiting (LOCK_NB). EWOULDBLOCK means its owner is alive.
 */
static int lock_lease_file(int dir_fd, struct in_addr address, int flags)
{
	char name[INET_ADDRSTRLEN];
	int fd;

	if (lease_file_name(address, name) < 0)
		return -1;
	fd = openat(dir_fd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | flags, 0644);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close_keeping_errno(fd);
		return -1;
	}
	return fd;
}

/* Write the owner's id into its lease file, replacing a stale owner's. */
static int write_owner(int fd, const char *id)
{
	char text[OWNER_TEXT_MAX + 1];
	ssize_t n;

	if (format_into(text, sizeof(text), "%.*s\n", CONTAINER_ID_LEN, id) < 0 || ftruncate(fd, 0) < 0)
		return -1;
	n = pwrite(fd, text, strlen(text), 0);
	if (n < 0)
		return -1;
	if ((size_t)n != strlen(text)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* ---- taking and giving back ------------------------------------------------------------ */

/* [exercise] */
/*
 * Take the lowest address whose lease file is missing (we make it) or stale
 * (we get its lock: the owner is gone, and the lease is ours now): from
 * address number FIRST_CONTAINER up to the last before the broadcast
 * address, try lock_lease_file with O_CREAT; EWOULDBLOCK means the owner
 * lives, try the next. Write our id into the one we get (write_owner) and
 * fill in lease. Only files that exist are tried before a free address is
 * found, so this is quick even in a /8. ENOSPC when every address is held.
 * See flock(2).
 */
static int take_free_address(int dir_fd, const struct subnet *net, const char *id, struct lease *lease)
{
	for (uint32_t n = FIRST_CONTAINER; n < subnet_size(net) - 1; n++) {
		struct in_addr address = subnet_address(net, n);
		int fd = lock_lease_file(dir_fd, address, O_CREAT);

		if (fd < 0 && errno == EWOULDBLOCK)
			continue;
		if (fd < 0)
			return -1;
		if (write_owner(fd, id) < 0) {
			close_keeping_errno(fd);
			return -1;
		}
		lease->address = address;
		lease->fd = fd;
		return 0;
	}
	errno = ENOSPC;
	return -1;
}

/*
 * Lease an address of net to container id, in the leases directory dir.
 * The lease is held until lease_release, or until this process dies.
 * ENOSPC when the subnet has no free address: "no free address in
 * 10.88.0.0/30". The descriptor is O_CLOEXEC: the container's command
 * does not inherit it.
 */
int lease_take(const char *dir, const struct subnet *net, const char *id, struct lease *lease, struct failure *f)
{
	char subnet[SUBNET_TEXT_MAX];
	int dir_fd, ret;

	lease->fd = -1;
	if (format_into(lease->dir, sizeof(lease->dir), "%s", dir) < 0)
		return failed(f, "leases directory %s", dir);
	dir_fd = leases_open(dir, LOCK_EX, f);
	if (dir_fd < 0)
		return -1;
	ret = take_free_address(dir_fd, net, id, lease);
	close_keeping_errno(dir_fd);
	if (ret == 0)
		return 0;
	if (errno == ENOSPC && format_subnet(net, subnet, sizeof(subnet)) == 0)
		return failed(f, "no free address in %s", subnet);
	return failed(f, "take a lease in %s", dir);
}

/*
 * Give the address back: remove the lease file, under the directory's lock
 * so that no box is taking it at that moment, then close it, which drops
 * its lock. If the directory cannot be locked the file stays, stale, and
 * the next lease_take reclaims it.
 */
int lease_release(struct lease *lease, struct failure *f)
{
	char name[INET_ADDRSTRLEN];
	int dir_fd, ret = 0;

	if (lease->fd < 0)
		return 0;
	dir_fd = leases_open(lease->dir, LOCK_EX, f);
	if (dir_fd < 0)
		ret = -1;
	else if (lease_file_name(lease->address, name) < 0 || (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT))
		ret = failed(f, "remove lease %s/%s", lease->dir, name);
	close_keeping_errno(lease->fd);
	lease->fd = -1;
	if (dir_fd >= 0)
		close_keeping_errno(dir_fd);
	return ret;
}

/* ---- looking at the leases ------------------------------------------------------------- */

/* A lease file's owner id: its first line, at most CONTAINER_ID_LEN characters. */
static int read_owner(int fd, char id[CONTAINER_ID_LEN + 1])
{
	char text[OWNER_TEXT_MAX + 1];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	if (n < 0)
		return -1;
	text[n] = '\0';
	text[strcspn(text, "\n")] = '\0';
	return format_into(id, CONTAINER_ID_LEN + 1, "%.*s", CONTAINER_ID_LEN, text);
}

/*
 * Is anybody holding the lease? Its owner holds LOCK_EX, so if LOCK_SH can
 * be had at once, nobody does: the lease is stale. (The caller holds the
 * directory's lock, so no box is taking the lease at this moment.)
 */
static int is_stale(int fd, bool *stale)
{
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		*stale = true;
		return flock(fd, LOCK_UN);
	}
	if (errno != EWOULDBLOCK)
		return -1;
	*stale = false;
	return 0;
}

/* Describe the lease file called name. */
static int read_lease(int dir_fd, const char *name, struct lease_info *info)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int ret;

	if (fd < 0)
		return -1;
	ret = read_owner(fd, info->id);
	if (ret == 0)
		ret = is_stale(fd, &info->stale);
	close_keeping_errno(fd);
	return ret;
}

/*
 * A directory stream over the leases directory. It opens the directory anew
 * ("."), so closing the stream leaves dir_fd, and its lock, alone.
 */
static DIR *open_leases_stream(int dir_fd)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir;

	if (fd < 0)
		return NULL;
	dir = fdopendir(fd);
	if (!dir)
		close_keeping_errno(fd);
	return dir;
}

/*
 * List the leases in a directory the caller has opened and locked with
 * leases_open: up to max of them into out, how many in *count. ENOBUFS if
 * there are more. Files not named like an IPv4 address are not leases.
 */
int lease_scan(int dir_fd, struct lease_info *out, size_t max, size_t *count)
{
	DIR *dir = open_leases_stream(dir_fd);
	struct dirent *d;
	int ret = 0;

	*count = 0;
	if (!dir)
		return -1;
	while (ret == 0 && (d = readdir(dir))) {
		struct in_addr address;

		if (inet_pton(AF_INET, d->d_name, &address) != 1)
			continue;
		if (*count == max) {
			errno = ENOBUFS;
			ret = -1;
		} else if ((ret = read_lease(dir_fd, d->d_name, &out[*count])) == 0) {
			out[(*count)++].address = address;
		}
	}
	closedir(dir);
	return ret;
}

/*
 * The leases of dir, live and stale, read under a shared lock. A cleanup
 * uses it to find containers that are gone (their leases are stale) and
 * remove what they left, like their published ports (nat_unpublish).
 */
int lease_list(const char *dir, struct lease_info *out, size_t max, size_t *count, struct failure *f)
{
	int dir_fd = leases_open(dir, LOCK_SH, f);
	int ret;

	if (dir_fd < 0)
		return -1;
	ret = lease_scan(dir_fd, out, max, count);
	close_keeping_errno(dir_fd);
	if (ret < 0)
		return failed(f, "read leases in %s", dir);
	return 0;
}

/* Remove the lease file called name if it is stale; *removed says whether it was. */
static int remove_if_stale(int dir_fd, const char *name, bool *removed)
{
	struct in_addr address;
	int fd;

	*removed = false;
	if (inet_pton(AF_INET, name, &address) != 1)
		return 0;
	fd = lock_lease_file(dir_fd, address, 0);
	if (fd < 0)
		return errno == EWOULDBLOCK || errno == ENOENT ? 0 : -1;
	if (unlinkat(dir_fd, name, 0) < 0) {
		close_keeping_errno(fd);
		return -1;
	}
	*removed = true;
	return close(fd);
}

/*
 * Remove every stale lease in dir; *reclaimed says how many. lease_take
 * reuses stale leases anyway: this is for a cleanup that wants the
 * directory to show only containers that run.
 */
int lease_reclaim_stale(const char *dir, size_t *reclaimed, struct failure *f)
{
	int dir_fd = leases_open(dir, LOCK_EX, f);
	struct dirent *d;
	bool removed;
	DIR *stream;
	int ret = 0;

	*reclaimed = 0;
	if (dir_fd < 0)
		return -1;
	stream = open_leases_stream(dir_fd);
	if (!stream)
		ret = -1;
	while (ret == 0 && (d = readdir(stream))) {
		ret = remove_if_stale(dir_fd, d->d_name, &removed);
		if (removed)
			(*reclaimed)++;
	}
	if (stream)
		closedir(stream);
	close_keeping_errno(dir_fd);
	if (ret < 0)
		return failed(f, "reclaim stale leases in %s", dir);
	return 0;
}
