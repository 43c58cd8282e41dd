/*
 * reference.c - image names, read the way docker reads them.
 *
 * A reference names an image in a registry:
 *
 *     [domain/]path[:tag][@digest]
 *     busybox                         docker.io/library/busybox:latest
 *     user/app:1.2                    docker.io/user/app:1.2
 *     localhost:5000/app              localhost:5000/app:latest
 *     busybox@sha256:<64 hex>         docker.io/library/busybox, pinned by digest
 *
 * The grammar is distribution's reference/regexp.go. Two rules surprise:
 * the first component is a registry host only if it looks like one (has a
 * '.' or a ':', is "localhost", or has upper case), so "user/app" lives on
 * Docker Hub; and an image at the top of Docker Hub lives under "library/".
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "box.h"

static const char default_domain[] = "docker.io";
static const char legacy_domain[] = "index.docker.io";
static const char official_prefix[] = "library/";
static const char default_tag[] = "latest";
/* Docker Hub answers the API on another name than the one in image names. */
static const char docker_hub_api_host[] = "registry-1.docker.io";

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!(s[i] >= '0' && s[i] <= '9') && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	}
	return true;
}

/* "sha256:" and 64 lower-case hex digits: the only digests box accepts. */
bool is_digest(const char *text)
{
	return strncmp(text, "sha256:", 7) == 0 && strlen(text) == DIGEST_LEN &&
	       is_lower_hex(text + 7, DIGEST_HEX_LEN);
}

/* One path component: [a-z0-9]+ joined by '.', '_', "__" or any run of '-'. */
static bool is_path_component(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (!is_lower_alnum(s[i]))
			return false;
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		if (s[i] == '.' || (s[i] == '_' && s[i + 1] != '_'))
			i++;
		else if (s[i] == '_')
			i += 2;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return false;
		if (i == n)
			return false;	/* a separator must be followed by more */
	}
	return n > 0;
}

/* A host name component: letters, digits, inner '-'. */
static bool is_domain_component(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

/* host[:port], the host made of dot-separated components. */
static bool is_domain(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t host_len = colon ? (size_t)(colon - s) : strlen(s);
	const char *p = s, *end = s + host_len;

	if (colon && (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1)))
		return false;
	while (p <= end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);

		if (!is_domain_component(p, n))
			return false;
		p += n + 1;
	}
	return true;
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool is_tag(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > REF_TAG_MAX || !is_word_char(s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!is_word_char(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	}
	return true;
}

/* The reason a path ("library/busybox") is not a repository name, or NULL if it is one. */
static const char *check_path(const char *path)
{
	const char *p = path;

	for (const char *c = path; *c; c++) {
		if (isupper((unsigned char)*c))
			return "repository name must be lowercase";
	}
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0)
			return "repository name has an empty component";
		if (!is_path_component(p, n))
			return "repository name may hold only a-z, 0-9 and the separators '.', '_', '__', '-'";
		if (!slash)
			return NULL;
		p = slash + 1;
	}
}

/*
 * distribution's splitDockerDomain: "host:5000/app" and "localhost/app"
 * name a registry; "user/app" and "busybox" are on Docker Hub.
 */
static bool names_a_registry(const char *name, size_t first_len)
{
	bool has_upper = false;

	for (size_t i = 0; i < first_len; i++)
		has_upper |= isupper((unsigned char)name[i]) != 0;
	return memchr(name, '.', first_len) || memchr(name, ':', first_len) ||
	       (first_len == 9 && strncmp(name, "localhost", 9) == 0) || has_upper;
}

/* Split "domain/path" into ref->domain and ref->path, filling in Docker Hub's defaults. */
static const char *split_domain(const char *name, struct reference *ref)
{
	const char *slash = strchr(name, '/');
	const char *rest = name;
	int n;

	snprintf(ref->domain, sizeof(ref->domain), "%s", default_domain);
	if (slash && names_a_registry(name, (size_t)(slash - name))) {
		snprintf(ref->domain, sizeof(ref->domain), "%.*s", (int)(slash - name), name);
		rest = slash + 1;
		if (!is_domain(ref->domain))
			return "invalid registry host";
		if (strcmp(ref->domain, legacy_domain) == 0)
			snprintf(ref->domain, sizeof(ref->domain), "%s", default_domain);
	}
	if (strcmp(ref->domain, default_domain) == 0 && !strchr(rest, '/'))
		n = snprintf(ref->path, sizeof(ref->path), "%s%s", official_prefix, rest);
	else
		n = snprintf(ref->path, sizeof(ref->path), "%s", rest);
	if (n < 0 || (size_t)n >= sizeof(ref->path))
		return "repository name must not be more than 255 characters";
	return check_path(ref->path);
}

/* The reason a digest is not one box can verify, or NULL if it is. */
static const char *check_digest(const char *digest)
{
	const char *colon = strchr(digest, ':');

	if (!colon || colon == digest)
		return "invalid digest: it must look like sha256:<64 hex digits>";
	if (strncmp(digest, "sha256:", 7) != 0)
		return "unsupported digest algorithm: only sha256 is supported";
	if (!is_digest(digest))
		return "invalid digest: sha256 takes 64 lowercase hex digits";
	return NULL;
}

/* Split off "@digest" and ":tag"; what is left in name is "[domain/]path". */
static const char *split_tag_digest(char *name, struct reference *ref)
{
	char *at = strchr(name, '@');
	char *colon;
	const char *why;

	if (at) {
		*at = '\0';
		if ((why = check_digest(at + 1)))
			return why;
		snprintf(ref->digest, sizeof(ref->digest), "%s", at + 1);
	}
	/* The last ':' starts a tag unless a '/' follows it ("host:5000/app" has a port). */
	colon = strrchr(name, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		if (!is_tag(colon + 1))
			return "invalid tag: it must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
		snprintf(ref->tag, sizeof(ref->tag), "%s", colon + 1);
	}
	return NULL;
}

static const char *parse(const char *text, struct reference *ref)
{
	char name[2 * REF_NAME_MAX + 2];
	const char *why;
	int n;

	memset(ref, 0, sizeof(*ref));
	if (text[0] == '\0')
		return "empty name";
	n = snprintf(name, sizeof(name), "%s", text);
	if (n < 0 || (size_t)n >= sizeof(name))
		return "repository name must not be more than 255 characters";
	/* Docker refuses a bare image ID where a name should be: it would be ambiguous. */
	if (strlen(text) == DIGEST_HEX_LEN && is_lower_hex(text, DIGEST_HEX_LEN))
		return "cannot specify 64-byte hexadecimal strings";
	if ((why = split_tag_digest(name, ref)))
		return why;
	if (name[0] == '\0')
		return "empty repository name";
	if (strlen(name) > REF_NAME_MAX)
		return "repository name must not be more than 255 characters";
	if ((why = split_domain(name, ref)))
		return why;
	if (!ref->tag[0] && !ref->digest[0])
		snprintf(ref->tag, sizeof(ref->tag), "%s", default_tag);
	return NULL;
}

/* Parse text as docker does; on failure f says why: invalid reference "Busybox": repository name must be lowercase */
int parse_reference(const char *text, struct reference *ref, struct failure *f)
{
	const char *why = parse(text, ref);

	if (!why)
		return 0;
	errno = EINVAL;
	return failed(f, "invalid reference \"%s\": %s", text, why);
}

/* "docker.io/library/busybox": the repository, fully qualified. */
int reference_name(const struct reference *ref, char *buf, size_t size)
{
	return format_into(buf, size, "%s/%s", ref->domain, ref->path);
}

/* The canonical form: "docker.io/library/busybox:latest", "...@sha256:...", or both. */
int reference_string(const struct reference *ref, char *buf, size_t size)
{
	return format_into(buf, size, "%s/%s%s%s%s%s", ref->domain, ref->path, ref->tag[0] ? ":" : "", ref->tag,
			   ref->digest[0] ? "@" : "", ref->digest);
}

/* The short form docker prints: "docker.io/library/busybox" -> "busybox", "docker.io/user/app" -> "user/app". */
int familiar_name(const char *name, char *buf, size_t size)
{
	size_t n = strlen(default_domain);

	if (strncmp(name, default_domain, n) == 0 && name[n] == '/') {
		name += n + 1;
		n = strlen(official_prefix);
		if (strncmp(name, official_prefix, n) == 0 && !strchr(name + n, '/'))
			name += n;
	}
	return format_into(buf, size, "%s", name);
}

/* Where the registry's API answers: Docker Hub's is not "docker.io". */
const char *reference_api_host(const struct reference *ref)
{
	if (strcmp(ref->domain, default_domain) == 0)
		return docker_hub_api_host;
	return ref->domain;
}

/* localhost and 127.0.0.0/8 (any port): docker talks plain HTTP to these without being told. */
bool is_loopback_domain(const char *domain)
{
	size_t host_len = strcspn(domain, ":");

	if (host_len == 9 && strncmp(domain, "localhost", 9) == 0)
		return true;
	return strncmp(domain, "127.", 4) == 0;
}
