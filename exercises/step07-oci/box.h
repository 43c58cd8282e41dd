/*
 * box.h - what the files of this stage offer each other.
 *
 * Convention (see util.c): a function that can fail returns 0 or -1 with
 * errno set, and prints nothing; the caller that knows the context reports
 * the failure once, with fail(). Where only the function knows which path
 * failed, it notes that in a struct failure for its caller to report.
 */
#ifndef BOX_H
#define BOX_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <sys/types.h>

#include "spec.h"

struct network;

/*
 * What a step was doing when it failed ("mount /proc in /x"): noted with
 * failed() where the path is known, reported once by the caller that knows
 * whether and how to speak (fail("%s", f.what)).
 */
struct failure {
	char what[PATH_MAX + 256];
};

/* Exit statuses, as docker and the shell use them. */
enum {
	EXIT_BOX_ERROR = 125,	/* box itself failed */
	EXIT_CANNOT_EXEC = 126,	/* the command exists but cannot be executed */
	EXIT_NOT_FOUND = 127,	/* the command does not exist */
	EXIT_SIGNAL_BASE = 128,	/* killed by signal N: 128 + N */
};

/* reference.c: image names, as docker reads them */
enum {
	REF_NAME_MAX = 255,	/* docker: "domain/path" has at most 255 characters */
	REF_TAG_MAX = 128,	/* a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
	DIGEST_HEX_LEN = 64,	/* sha256: 32 bytes, 64 hex digits */
	DIGEST_LEN = 7 + DIGEST_HEX_LEN,	/* "sha256:" and the hex digits */
	IMAGE_ID_LEN = 12,	/* docker shows the config digest's first 12 hex digits */
};

struct reference {
	char domain[REF_NAME_MAX + 1];	/* "docker.io", "localhost:5000" */
	char path[REF_NAME_MAX + 1];	/* "library/busybox" */
	char tag[REF_TAG_MAX + 1];	/* "latest"; "" when only a digest pins the image */
	char digest[DIGEST_LEN + 1];	/* "sha256:<64 hex>", or "" */
};

int parse_reference(const char *text, struct reference *ref, struct failure *f);
int reference_name(const struct reference *ref, char *buf, size_t size);
int reference_string(const struct reference *ref, char *buf, size_t size);
int familiar_name(const char *name, char *buf, size_t size);
const char *reference_api_host(const struct reference *ref);
bool is_loopback_domain(const char *domain);
bool is_digest(const char *text);

/* manifest.c: the JSON documents of an image (OCI image spec, Docker schema 2) */
enum {
	MANIFEST_MAX = 4 * 1024 * 1024,	/* what containerd and docker accept for a manifest */
	CONFIG_MAX = 8 * 1024 * 1024,	/* an image config larger than this is not one */
	MEDIA_TYPE_MAX = 128,
	PLATFORM_PART_MAX = 32,
};

enum manifest_kind { KIND_UNKNOWN, KIND_INDEX, KIND_MANIFEST, KIND_SCHEMA1 };

struct platform {
	char os[PLATFORM_PART_MAX];
	char architecture[PLATFORM_PART_MAX];
	char variant[PLATFORM_PART_MAX];
};

/* A pointer to content: what it is, its digest and its size (OCI image-spec descriptor.md). */
struct descriptor {
	char media_type[MEDIA_TYPE_MAX];
	char digest[DIGEST_LEN + 1];
	long long size;
	struct platform platform;	/* in an index only */
};

struct image_index {
	size_t count;
	struct descriptor *manifests;
};

struct manifest {
	struct descriptor config;
	size_t count;
	struct descriptor *layers;	/* bottom first */
};

struct label {
	char *key;
	char *value;
};

/* The parts of an image config that a run uses (OCI image-spec config.md). NULL-terminated lists. */
struct image_config {
	char *created;		/* RFC 3339, or NULL */
	struct platform platform;
	char **entrypoint;
	char **cmd;
	char **env;		/* "NAME=value" */
	char *working_dir;
	char *user;
	char **exposed_ports;	/* "80/tcp" */
	char *stop_signal;
	struct label *labels;
	size_t nlabels;
	char **diff_ids;	/* rootfs.diff_ids: digests of the uncompressed layers, bottom first */
	size_t ndiff_ids;
};

extern const char *const manifest_accept[];
enum manifest_kind manifest_kind(const char *content_type, const char *body, size_t len,
				 char *media_type, size_t size);
int parse_index(const char *body, size_t len, struct image_index *index, struct failure *f);
int parse_manifest(const char *body, size_t len, struct manifest *m, struct failure *f);
int parse_image_config(const char *body, size_t len, struct image_config *c, struct failure *f);
void free_index(struct image_index *index);
void free_manifest(struct manifest *m);
void free_image_config(struct image_config *c);
int host_platform(struct platform *p);
int parse_platform(const char *text, struct platform *p, struct failure *f);
int platform_string(const struct platform *p, char *buf, size_t size);
int choose_platform(const struct image_index *index, const struct platform *want,
		    struct descriptor *out, struct failure *f);
int parse_rfc3339(const char *text, time_t *t);

/* store.c: the content-addressed store under the box root */
enum store_lock { STORE_SHARED, STORE_EXCLUSIVE };

struct store {
	char root[PATH_MAX];
	int lock_fd;		/* ROOT/lock, flock(2)ed shared or exclusive while open */
};

/* One name in the index: what 'box images' lists, what 'box run NAME' finds. */
struct image_record {
	char name[REF_NAME_MAX + 1];	/* "docker.io/library/busybox" */
	char tag[REF_TAG_MAX + 1];	/* "" for an image pulled by digest only */
	char digest[DIGEST_LEN + 1];	/* the image manifest */
	char index_digest[DIGEST_LEN + 1];	/* the index the tag named, or "" */
	char config[DIGEST_LEN + 1];	/* the config: its digest is the image ID */
	long long created;	/* seconds since the epoch, from the config; 0 if unknown */
	long long size;		/* bytes of the unpacked layers' files */
};

/* Writes a blob to a temp file in the store, hashing as it goes; see blob_writer_commit. */
struct blob_writer {
	int fd;
	char temp[PATH_MAX];
	char digest[DIGEST_LEN + 1];	/* what the content must hash to */
	long long expected_size;	/* what its size must be; -1 if not known */
	long long size;		/* bytes written so far */
	void *sha256;		/* EVP_MD_CTX: hash of the bytes so far */
};

/* A layer as the store keeps it, bottom to top. */
struct layer_info {
	long long size;		/* bytes of its files */
	long entries;		/* tar entries */
};

/* A stored image, ready to run: its layer directories and its config. */
struct image {
	struct image_record record;
	size_t nlayers;
	char **layers;		/* ROOT/layers/sha256/<diffID hex>/diff, bottom first */
	struct image_config config;
};

struct gc_stats {
	int blobs_removed;
	int layers_removed;
};

int store_open(struct store *s, const char *root, enum store_lock how, struct failure *f);
void store_close(struct store *s);
int store_clean_temp(struct store *s, struct failure *f);
int store_blob_path(const struct store *s, const char *digest, char *buf, size_t size);
bool store_has_blob(const struct store *s, const char *digest);
int store_read_blob(const struct store *s, const char *digest, size_t max, char **data, size_t *len,
		    struct failure *f);
int store_put_blob(const struct store *s, const char *digest, const void *data, size_t len, struct failure *f);
int blob_writer_open(const struct store *s, struct blob_writer *w, const char *digest, long long size);
int blob_writer_write(struct blob_writer *w, const void *data, size_t len);
int blob_writer_restart(struct blob_writer *w);
int blob_writer_commit(const struct store *s, struct blob_writer *w, struct failure *f);
void blob_writer_abort(struct blob_writer *w);
int store_layer_dir(const struct store *s, const char *diff_id, char *buf, size_t size);
bool store_has_layer(const struct store *s, const char *diff_id);
int store_read_layer_info(const struct store *s, const char *diff_id, struct layer_info *info);
int store_add_layer(const struct store *s, const char *blob_digest, const char *diff_id,
		    const volatile bool *cancel, struct failure *f);
int store_add_image(const struct store *s, const struct image_record *rec, struct failure *f);
int store_find_image(const struct store *s, const struct reference *ref, struct image_record *rec);
int store_list_images(const struct store *s, struct image_record **recs, size_t *count);
int store_remove_image(struct store *s, const struct reference *ref, struct failure *f);
int store_gc(struct store *s, struct gc_stats *stats, struct failure *f);
int store_open_image(const struct store *s, const struct reference *ref, struct image *img, struct failure *f);
void free_image(struct image *img);
void format_size(long long bytes, char *buf, size_t size);
void format_ago(time_t then, time_t now, char *buf, size_t size);
int print_images(FILE *out, const struct image_record *recs, size_t count, time_t now);

/* layer.c: unpacking a layer tarball into a directory of its own */
enum {
	LAYER_MIN_EXPANSION = 1 << 30,	/* 1 GiB: what any layer may unpack to */
	LAYER_MAX_RATIO = 100,		/* beyond that, 100 times its compressed size */
	LAYER_MAX_ENTRIES = 1000000,	/* files, directories, links... in one layer */
};
#define LAYER_MAX_BYTES (64LL << 30)	/* 64 GiB: no layer unpacks to more, whatever its ratio */

struct layer_result {
	char diff_id[DIGEST_LEN + 1];	/* sha256 of the uncompressed tar stream */
	long long tar_bytes;		/* bytes of that stream */
	long long file_bytes;		/* bytes of the regular files in it */
	long entries;
};

int layer_extract(int blob_fd, long long blob_size, int root_fd, const volatile bool *cancel,
		  struct layer_result *res, struct failure *f);
long long layer_limit(long long compressed_size);

/* registry.c: the distribution API (OCI distribution-spec) over libcurl */
enum auth_scheme { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };
enum {
	REGISTRY_TIMEOUT = 30,	/* seconds without progress before a transfer is given up */
	REGISTRY_TRIES = 3,	/* tries of a request that failed on a 5xx or a dropped connection */
	REGISTRY_PARALLEL = 3,	/* blobs downloaded at once, like docker's max-concurrent-downloads */
	CHALLENGE_PART_MAX = 512,
	TOKEN_MAX = 16384,
};

/* WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..." */
struct challenge {
	enum auth_scheme scheme;
	char realm[CHALLENGE_PART_MAX];
	char service[CHALLENGE_PART_MAX];
	char scope[CHALLENGE_PART_MAX];
};

struct credentials {
	char username[256];
	char password[512];
	char file[PATH_MAX];	/* where they came from, to name it when they are refused */
};

struct registry_options {
	bool insecure;		/* plain HTTP; loopback hosts always are, as in docker */
	int timeout;		/* seconds; 0: $BOX_REGISTRY_TIMEOUT, or REGISTRY_TIMEOUT */
	bool debug;		/* print each request and the key headers of its answer to stderr */
};

/* A connection to one repository of one registry, and what it knows about authentication. */
struct registry {
	char base_url[REF_NAME_MAX + 16];	/* "https://registry-1.docker.io" */
	char domain[REF_NAME_MAX + 1];	/* "docker.io": the key for credentials */
	char repository[REF_NAME_MAX + 1];	/* "library/busybox" */
	char actions[32];	/* what the token asks for: "pull" (push: "pull,push") */
	int timeout;
	bool debug;
	void *curl;		/* CURL *: one request at a time, connections kept */
	void *share;		/* CURLSH *: connections and DNS shared with parallel transfers */
	bool have_credentials;
	struct credentials credentials;
	struct challenge challenge;	/* from the last 401 */
	char *token;		/* bearer token, or NULL */
	time_t token_expires;
	int token_serial;	/* counts tokens fetched: a 401 on an older one just retries */
};

/* What came back: status, the headers a client needs, and the body (bounded). */
struct response {
	long status;
	char *body;
	size_t len;
	size_t max;		/* reading stops past this many bytes */
	bool too_large;
	char content_type[MEDIA_TYPE_MAX];
	char digest[DIGEST_LEN + 1];	/* Docker-Content-Digest, if sent */
};

/* A transfer's last sign of life: the bytes received so far, and when they last grew. */
struct transfer_watch {
	long long bytes;
	double since;		/* monotonic seconds */
	int timeout;		/* seconds without a byte before the transfer is given up */
	bool stalled;
};

/* One blob to download, and how it is going. */
enum fetch_state { FETCH_WAITING, FETCH_RUNNING, FETCH_DONE, FETCH_FAILED };
struct blob_fetch {
	struct descriptor desc;
	struct blob_writer writer;
	enum fetch_state state;
	int tries;		/* failed tries so far (5xx, dropped connection) */
	int denials;		/* 401s so far: one renews the token, a second is final */
	int token_serial;	/* the token this try was sent with */
	double retry_at;	/* monotonic seconds: when a failed try may start again */
	void *easy;		/* CURL * while running */
	struct transfer_watch watch;
	bool too_large;		/* the registry sent more than desc.size */
	int write_errno;	/* writing to the store failed */
	void *user;		/* the caller's */
};

/* What registry_fetch_blobs tells its caller while it works. */
struct fetch_events {
	void (*started)(struct blob_fetch *b, void *user);
	/* The blob is complete and verified in the store; -1 stops every transfer. */
	int (*done)(struct blob_fetch *b, void *user, struct failure *f);
	/* Called every tick (about 10 times a second); -1 stops every transfer. */
	int (*tick)(struct blob_fetch *fetches, size_t count, void *user, struct failure *f);
};

int registry_open(struct registry *r, const struct reference *ref, const struct registry_options *opt,
		  struct failure *f);
void registry_close(struct registry *r);
int registry_ping(struct registry *r, struct failure *f);
int registry_get(struct registry *r, const char *path, const char *const accept[], struct response *resp,
		 struct failure *f);
int registry_get_manifest(struct registry *r, const char *tag_or_digest, struct response *resp,
			  char *digest, struct failure *f);
int registry_get_blob(struct registry *r, const struct descriptor *d, struct response *resp, struct failure *f);
int registry_fetch_blobs(struct registry *r, const struct store *s, struct blob_fetch *fetches, size_t count,
			 const struct fetch_events *ev, void *user, struct failure *f);
void free_response(struct response *resp);
int parse_challenge(const char *header, struct challenge *c);
int find_credentials(const char *domain, struct credentials *cred);
int credentials_from_file(const char *path, const char *domain, struct credentials *cred);
int registry_timeout(void);

/* pull.c: a pull, from a reference to a stored image */
enum progress_mode { PROGRESS_AUTO, PROGRESS_TERMINAL, PROGRESS_LINES, PROGRESS_QUIET };

struct pull_options {
	struct registry_options registry;
	const char *platform;	/* "os/arch[/variant]", or NULL for this host's */
	enum progress_mode progress;
	FILE *out;		/* where progress goes: stdout for 'box pull', stderr for 'box run' */
};

int pull_image(const struct store *s, const char *text, const struct pull_options *opt,
	       struct image_record *rec, struct failure *f);

/* image.c: running an image: the image as a container spec (parent), its user and working directory (child) */
enum {
	USER_NAME_MAX = 256,
	USER_GROUPS_MAX = 256,	/* supplementary groups of an image's user */
};

struct user_ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[USER_GROUPS_MAX];	/* supplementary groups */
	size_t ngroups;
	char home[PATH_MAX];
};

int run_image(struct container_spec *spec, const struct pull_options *opt);
int stack_image_layers(char *const layers[], size_t count, struct container_spec *spec, struct failure *f);
int image_command(const struct image_config *c, char **args, char ***argv, struct failure *f);
int find_user(FILE *passwd, FILE *group, const char *user, struct user_ids *ids, struct failure *f);
int make_working_dir(const char *path);
int image_user_to_process(const struct container_spec *spec, struct oci_process *process, struct failure *f);


/* box.c: the command line */
enum command { CMD_HELP, CMD_RUN, CMD_RUN_HELP, CMD_INFO, CMD_INFO_HELP, CMD_PRUNE, CMD_PRUNE_HELP,
	       CMD_PULL, CMD_PULL_HELP, CMD_IMAGES, CMD_IMAGES_HELP, CMD_RMI, CMD_RMI_HELP };
struct command_line {
	enum command command;
	struct container_spec spec;
	const char *image;	/* what box pull and box rmi name */
	struct pull_options pull;	/* box pull's flags (box run pulls with the defaults) */
};
int parse_command_line(int argc, char *argv[], struct command_line *cl);

/* run.c: the parent side */
int run_container(struct container_spec *spec);
int exit_status_of(int wait_status);
pid_t start_child(const struct container_spec *spec, const struct cgroup *cg, struct network *net, int *sync_fd);
void abort_child(pid_t pid);
int wait_for(pid_t pid, int *wait_status);

/* child.c: the child side; sync_fd is the socket the parent says "go" on (step 7: both ways) */
enum { SYNC_GO = 'g', SYNC_HOOKS = 'h', SYNC_READY = 'r' };
_Noreturn void child_main(const struct container_spec *spec, int sync_fd);
int wait_for_parent(int sync_fd);
_Noreturn void become_process(const struct container_spec *spec, const struct oci_process *process, int sync_fd,
			      int fifo_fd);

/* namespaces.c: clone flags, hostname, loopback, user-namespace id maps, cgroup namespace */
pid_t clone_container(const struct container_spec *spec, int cgroup_fd, bool *in_cgroup);
int enter_cgroup_namespace(void);
int check_hostname(const char *hostname);
int parse_id_range(const char *text, struct id_range *range);
int find_subid_range(FILE *file, const char *user, struct id_range *range);
int check_id_range(const struct id_range *range);
int lookup_userns_ranges(struct container_spec *spec, struct failure *f);
int write_id_maps(pid_t pid, const struct container_spec *spec);
int become_userns_root(void);
int set_hostname(const char *hostname);
int bring_up_loopback(void);
int set_domainname(const char *domainname);
int namespace_flag(enum oci_namespace_type type);
int join_namespaces(const struct container_spec *spec, struct failure *f);
int join_pid_namespace(const struct container_spec *spec, struct failure *f);
int leave_pid_namespace(void);
int write_sysctls(const struct container_spec *spec, struct failure *f);

/* rootfs.c: the mount namespace: the root, its mounts and devices, pivot_root, masked paths */
int prepare_rootfs(const struct container_spec *spec, struct failure *f);
int enter_rootfs(const struct container_spec *spec, struct failure *f);
int protect_paths(const struct container_spec *spec, struct failure *f);

/* overlay.c: the container's directory (parent side), its layers and volumes (child side) */
int container_dir_create(struct container_spec *spec, struct failure *f);
int container_dir_remove(const struct container_spec *spec, int lock, struct failure *f);
int remove_stale_containers(const char *box_root, bool also_kept, struct failure *f);
int check_upper_fs(const char *dir, bool userns, struct failure *f);
int setup_layers(const struct container_spec *spec, struct failure *f);
int make_root_read_only(void);
int open_in_root(int root_fd, const char *path, int flags, mode_t mode);
int remove_tree(const char *path);
int make_dir_in_root(int root_fd, const char *path);
int make_file_in_root(int root_fd, const char *path);
int parse_volume(const char *text, struct volume *v);
int parse_tmpfs(const char *text, struct tmpfs_mount *t);

/* cgroup.c: the container's control group, on cgroup v1, v2 or hybrid hosts (internals: cgroup.h) */
enum cgroup_mode { CGROUP_V1, CGROUP_V2, CGROUP_HYBRID };
enum { CGROUP_MAX_MOUNTS = 16 };	/* box-oci uses every v1 hierarchy: about 12 on most hosts */

struct cgroup {
	enum cgroup_mode mode;
	const struct cgroup_driver *driver;	/* what differs between v1 and v2 */
	char id[CONTAINER_ID_LEN + 1];
	char path[PATH_MAX];	/* below each mount: box/<id>, or box-oci's cgroupsPath like docker/<id> */
	bool every_hierarchy;	/* box-oci's: in every hierarchy, no lock, parents left alone */
	int nmounts;
	char mounts[CGROUP_MAX_MOUNTS][PATH_MAX];	/* hierarchies box uses: one on v2, several on v1 */
	char options[CGROUP_MAX_MOUNTS][256];	/* v1: the controllers of each, like "cpu,cpuacct" */
	int lock_fd;		/* our directory in mounts[0], flock(2)ed while we use it */
	int clone_fd;		/* v2: our directory, for clone3(CLONE_INTO_CGROUP); else -1 */
};

int cgroup_detect(enum cgroup_mode *mode);
const char *cgroup_mode_name(enum cgroup_mode mode);
int cgroup_create(struct cgroup *cg, const struct container_spec *spec, struct failure *f);
int cgroup_join(const struct cgroup *cg, pid_t pid);
int cgroup_oom_kills(const struct cgroup *cg, long long *kills);
int cgroup_remove(struct cgroup *cg, struct failure *f);
int cgroup_info(struct failure *f);
int cgroup_prune(struct failure *f);
int parse_memory(const char *text, long long *bytes);
int parse_cpus(const char *text, unsigned int *millis);
int parse_pids_limit(const char *text, long *max);
int cgroup_open_path(struct cgroup *cg, const char *cgroups_path, struct failure *f);
void cgroup_open_clone_fd(struct cgroup *cg);
int cgroup_pids(const struct cgroup *cg, pid_t *pids, size_t max, size_t *n);
int cgroup_freeze(const struct cgroup *cg, bool frozen);
bool cgroup_frozen(const struct cgroup *cg);
int cgroup_update(const struct cgroup *cg, const struct container_spec *spec, struct failure *f);
int mount_cgroup(int root_fd, const struct container_spec *spec, const struct oci_mount *m);

/* netlink.c: links, addresses and routes, asked of the kernel over rtnetlink (libmnl) */
enum {
	NL_BATCH_MAX = 8,		/* requests in one batch */
	NL_REQUEST_MAX = 512,		/* bytes of one request: names are short, the rest are numbers */
	NL_WHAT_MAX = 96,		/* "create veth vb-3f2a1c9d0e12" and the like */
};

struct mnl_socket;

/* An rtnetlink socket, and the sequence number of the last request sent on it. */
struct nl {
	struct mnl_socket *sock;
	unsigned int portid;	/* our address: the kernel answers to it */
	unsigned int seq;
};

/* One request of a batch: what it does (for errors), and what its answer says. */
struct nl_request {
	char what[NL_WHAT_MAX];
	int *index;		/* request_link_index: where the link's index goes */
	bool answered;		/* its ack has come */
	int error;		/* from the ack: 0, or an errno value */
};

/* Requests sent in one sendto(2) and acknowledged one by one (nl_batch_run). */
struct nl_batch {
	struct nl *nl;
	unsigned int first_seq;	/* request i has sequence number first_seq + i */
	int count;
	size_t len;		/* bytes of buf in use */
	struct nl_request requests[NL_BATCH_MAX];
	/* netlink(7): messages start on 4-byte boundaries (NLMSG_ALIGNTO) */
	alignas(uint32_t) char buf[NL_BATCH_MAX * NL_REQUEST_MAX];
};

int nl_open(struct nl *nl);
void nl_close(struct nl *nl);
void nl_batch_start(struct nl_batch *b, struct nl *nl);
int nl_batch_run(struct nl_batch *b, struct failure *f);
int request_bridge_create(struct nl_batch *b, const char *name);
int request_veth_create(struct nl_batch *b, const char *name, int master, const char *peer, int netns_fd);
int request_link_up(struct nl_batch *b, const char *name);
int request_link_master(struct nl_batch *b, const char *name, int master);
int request_link_delete(struct nl_batch *b, const char *name);
int request_link_index(struct nl_batch *b, const char *name, int *index);
int request_address_add(struct nl_batch *b, const char *name, int index, struct in_addr address, unsigned int prefix);
int request_default_route_add(struct nl_batch *b, int index, struct in_addr gateway);
int link_index(struct nl *nl, const char *name, int *index, struct failure *f);
int bridge_ensure(struct nl *nl, const char *name, struct in_addr address, unsigned int prefix, int *index,
		  struct failure *f);
int veth_name(const char *id, char *name, size_t size);
int veth_create(struct nl *nl, const char *name, int master, int netns_fd, struct failure *f);
int link_delete(struct nl *nl, const char *name, struct failure *f);
int configure_inside(struct in_addr address, unsigned int prefix, struct in_addr gateway, struct failure *f);
extern const char container_link[];

/* ipam.c: the subnet, and which container has which address (lease files, flock(2)) */
enum {
	SUBNET_MIN_PREFIX = 8,	/* 10.0.0.0/8: the largest private network */
	SUBNET_MAX_PREFIX = 30,	/* a /30 has one address left for a container: .1 is the gateway */
	SUBNET_TEXT_MAX = INET_ADDRSTRLEN + 3,	/* "255.255.255.255/32" */
};

/* An IPv4 network: 10.88.0.0/16 is { 10.88.0.0, 16 }; host bits are always zero. */
struct subnet {
	struct in_addr network;
	unsigned int prefix;
};

/* An address held by a container: the lease file stays open and locked while it lives. */
struct lease {
	struct in_addr address;
	int fd;			/* the lease file, flock(LOCK_EX)ed; -1 when none is held */
	char dir[PATH_MAX];	/* the leases directory, to release under its lock */
};

/* A lease file as found in the directory: whose it is, and whether its owner is gone. */
struct lease_info {
	struct in_addr address;
	char id[CONTAINER_ID_LEN + 1];
	bool stale;
};

int parse_subnet(const char *text, struct subnet *net, struct failure *f);
int format_subnet(const struct subnet *net, char *buf, size_t size);
struct in_addr subnet_gateway(const struct subnet *net);
uint32_t subnet_size(const struct subnet *net);
struct in_addr subnet_address(const struct subnet *net, uint32_t n);
int leases_open(const char *dir, int how, struct failure *f);
int lease_take(const char *dir, const struct subnet *net, const char *id, struct lease *lease, struct failure *f);
int lease_release(struct lease *lease, struct failure *f);
int lease_scan(int dir_fd, struct lease_info *out, size_t max, size_t *count);
int lease_list(const char *dir, struct lease_info *out, size_t max, size_t *count, struct failure *f);
int lease_reclaim_stale(const char *dir, size_t *reclaimed, struct failure *f);

/* nat.c: masquerade and published ports, in the nftables table "ip box" (libnftables) */
enum {
	PORT_MAP_TEXT_MAX = 64,		/* longest -p value box reads */
	NAT_COMMANDS_MAX = 16384,	/* nft commands for one container: a few lines per port */
};


/* An element of the map "ports": a published host port, and the container it leads to. */
struct published {
	int protocol;
	unsigned short port;
	char id[CONTAINER_ID_LEN + 1];
};

int parse_port_map(const char *text, struct port_map *map, struct failure *f);
const char *protocol_name(int protocol);
int check_port_maps(const struct port_map *ports, size_t n, struct failure *f);
int nat_table_commands(const char *bridge, const struct subnet *net, char *buf, size_t size);
int nat_publish_commands(const char *id, struct in_addr address, const struct port_map *ports, size_t n,
			 char *buf, size_t size);
int nat_unpublish_commands(const char *id, const struct published *list, size_t n, char *buf, size_t size);
int nat_enable_routing(const char *bridge, struct failure *f);
int nat_ensure(const char *bridge, const struct subnet *net, struct failure *f);
int nat_publish(const char *id, struct in_addr address, const struct port_map *ports, size_t n,
		struct failure *f);
int nat_unpublish(const char *id, struct failure *f);
int nat_list_ids(char ids[][CONTAINER_ID_LEN + 1], size_t max, size_t *count, struct failure *f);
int nat_remove_table(struct failure *f);

/* network.c: the plan of a container's network, and its undo */
struct network {
	struct subnet subnet;	/* box0's */
	struct lease lease;	/* the container's address; fd -1 when none is held */
	bool published;		/* -p ports are in the nftables map */
};

int parse_network_mode(const char *text, enum network_mode *mode);
int network_prepare(struct container_spec *spec, struct network *net, struct failure *f);
int network_attach(const struct container_spec *spec, struct network *net, pid_t pid, struct failure *f);
int network_inside(const struct container_spec *spec, struct failure *f);
int network_remove(const struct container_spec *spec, struct network *net, struct failure *f);
int network_remove_stale(const char *box_state, struct failure *f);
int network_prune(const char *box_state, bool *removed_bridge, struct failure *f);

/* util.c: reporting errors, writing files, locking directories */
extern const char *program_name;
void set_log_sink(void (*sink)(const char *level, const char *message));
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int failed(struct failure *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int write_file(const char *path, const char *text);
int format_into(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int path_join(char *buf, size_t size, const char *dir, const char *name);
int make_path(const char *path);
int write_file_atomically(const char *path, const char *text);
int lock_fd(int fd, int how);
int lock_dir(const char *path, int how);
bool dir_in_use(const char *path);
bool is_container_id(const char *name);

/* ---- step 7: the OCI runtime ---------------------------------------------------------------- */

/* oci.c: config.json -> struct oci_config (runtime-spec config.md, config-linux.md) -> the spec */
int oci_parse_string(const char *text, struct oci_config *cfg, struct failure *f);
int oci_load(const char *path, struct oci_config *cfg, struct failure *f);
int oci_load_process(const char *path, struct oci_process *proc, struct failure *f);
int oci_parse_process(const char *text, struct oci_process *proc, struct failure *f);
int oci_parse_resources(const char *text, struct oci_resources *r, struct failure *f);
void oci_resources_free(struct oci_resources *r);
void oci_free(struct oci_config *cfg);
void oci_process_free(struct oci_process *proc);
int oci_load_seccomp(const char *path, struct oci_seccomp *sc, struct failure *f);
void oci_seccomp_free(struct oci_seccomp *sc);
const char *oci_namespace_name(enum oci_namespace_type type);
int oci_capability_number(const char *name);
int oci_capability_name(int cap, char *buf, size_t size);
int oci_to_spec(const struct oci_config *cfg, const char *bundle, struct container_spec *spec, struct failure *f);

/* mount-options.c: a mount's "options" -> mount(2) flags, propagation, data */
int parse_mount_options(char *const *options, size_t n, struct mount_options *mo, const char *where,
			struct failure *f);
void mount_options_free(struct mount_options *mo);

/* oci-spec.c: the reverse: defaults like "runc spec", struct -> config.json */
int oci_default_config(struct oci_config *cfg, bool rootless);
int oci_write(const char *path, const struct oci_config *cfg, struct failure *f);
char *oci_to_string(const struct oci_config *cfg);

/* run-config.c: box run's flags, written as a config.json */
int box_run_config(struct container_spec *spec, struct oci_config *cfg, struct failure *f);

/* mounts.c: the config's mounts, in order, inside the root */
int mount_all(const struct container_spec *spec, struct failure *f);
int bind_file_in_root(int root_fd, const char *source, const char *dest);
int mknod_in_root(int root_fd, const char *path, mode_t mode, dev_t dev);

/* devices.c: which devices a container may use: v1 lines, v2 a BPF program */
enum { DEVICE_RULES_MAX = 128 };
int device_rules(const struct container_spec *spec, struct oci_device_rule *out, size_t max, size_t *n);
int device_rule_line(const struct oci_device_rule *r, char *buf, size_t size);
int load_device_filter(const char *dir, const struct container_spec *spec, struct failure *f);

/* security.c: the last steps before execve(2), in order */
int check_rlimits(const struct oci_process *proc, struct failure *f);
int apply_rlimits(pid_t pid, const struct oci_process *proc, struct failure *f);
int apply_oom_score_adj(pid_t pid, const struct oci_process *proc, struct failure *f);
int join_new_keyring(const char *name);
int apply_security(const struct oci_process *proc, const struct oci_seccomp *seccomp, struct failure *f);
int set_user_and_groups(const struct oci_user *user);
int keep_caps_across_setuid(bool keep);
int drop_bounding_set(uint64_t keep);
int set_process_caps(const uint64_t caps[CAP_SETS]);
int set_ambient_caps(uint64_t ambient);
int set_no_new_privs(void);
int last_cap(void);

/* seccomp.c: linux.seccomp -> a BPF filter, with libseccomp */
int seccomp_check(const struct oci_seccomp *sc, struct failure *f);
int seccomp_build(const struct oci_seccomp *sc, void **ctx, struct failure *f);
int seccomp_load_filter(void *ctx);
void seccomp_free_filter(void *ctx);
int seccomp_apply(const struct oci_seccomp *sc, struct failure *f);

/* profile.c: docker's defaults for box run, and its security flags */
int default_profile(struct oci_process *proc, struct oci_linux *lin, const struct security_flags *flags,
		    struct failure *f);
int docker_seccomp(uint64_t bounding, struct oci_seccomp *sc);
int compute_caps(const struct security_flags *flags, uint64_t all, uint64_t *caps, struct failure *f);
extern const char *const docker_default_caps[];

/* console.c: the container's pseudo-terminal and --console-socket */
int console_connect(const char *socket_path);
int console_create(int *master, int *slave);
int console_send_master(int socket_fd, int master);
int console_become_stdio(int slave);
int console_set_size(int master, unsigned short rows, unsigned short cols);
int console_receive_master(int socket_fd);
int console_bind_dev_console(int slave);

/* exe-seal.c: CVE-2019-5736: run from a sealed copy of our own binary */
int run_from_sealed_copy(char *const argv[], char *const envp[]);
int is_sealed_copy(void);
int sealed_copy(const char *path);

/* fds.c: CVE-2024-21626: nothing of ours leaks into the container */
int close_fds_from(int first);
int cloexec_fds_from(int first);
int check_cwd_inside_root(void);

/* state.c: box-oci's record of each container: <root>/<id>/state.json, exec.fifo, config.json */
enum container_status { STATUS_CREATING, STATUS_CREATED, STATUS_RUNNING, STATUS_PAUSED, STATUS_STOPPED };
struct state {
	char id[NAME_MAX + 1];
	char dir[PATH_MAX];	/* <root>/<id> */
	char bundle[PATH_MAX];
	char cgroup_path[PATH_MAX];	/* linux.cgroupsPath, or /box-oci/<id> */
	char created[40];	/* RFC 3339 */
	pid_t pid;	/* the init, in the caller's pid namespace; 0 while creating */
	unsigned long long start_time;	/* its start time (proc(5) stat field 22): tells a reused pid */
	bool creating;	/* create has not finished */
};
int check_container_id(const char *id);
int state_dir(const char *root, const char *id, char *buf, size_t size);
int write_state(const struct state *st);
int read_state(const char *root, const char *id, struct state *st, struct failure *f);
int fail_state(const struct failure *f);
int fail_config(const struct failure *f);
int process_start_time(pid_t pid, unsigned long long *start_time);
bool init_is_alive(const struct state *st);
enum container_status container_status(const struct state *st, const struct cgroup *cg);
const char *status_name(enum container_status status);
char *state_json(const struct state *st, enum container_status status, const struct oci_config *cfg);
int write_pid_file(const char *path, pid_t pid);

/* hooks.c: config.md "POSIX-platform Hooks", with the state on stdin */
int run_hooks(const struct oci_hooks *hooks, enum oci_hook_kind kind, const char *state_text, struct failure *f);
char *hook_state(const struct container_spec *spec, enum container_status status, pid_t pid);
bool has_runtime_create_hooks(const struct container_spec *spec);

/* create.c: box-oci create and start: the container's init, left waiting on exec.fifo */
struct create_options {
	const char *root, *id, *bundle, *pid_file, *console_socket;
	int preserve_fds;
	bool no_new_keyring;
	bool stay_parent;	/* box-oci run: we will wait for the init ourselves */
};
int create_container(const struct create_options *o, pid_t *init_pid);
int load_config(const char *dir, struct oci_config *cfg, struct failure *f);
int lock_state_dir(const char *dir);
int start_container(const char *root, const char *id);
int destroy_container(const struct state *st, const struct oci_config *cfg, struct failure *f);

/* exec.c: box-oci exec: one more process in a running container */
struct exec_options {
	const char *root, *id, *process_file, *console_socket, *pid_file, *cwd, *user;
	char **args;
	const char *env[64];
	size_t n_env;
	int preserve_fds;
	bool tty, detach, tty_given;
};
int exec_in_container(const struct exec_options *o);

/* runtime.c: box-oci, runc's command line */
bool is_runtime_name(const char *argv0);
int runtime_main(int argc, char *argv[]);

#endif
