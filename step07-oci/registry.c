/*
 * registry.c - talking to a registry: the OCI distribution API over libcurl.
 *
 * A pull is a handful of GETs (distribution-spec, "pull"):
 *
 *     GET /v2/                               401 WWW-Authenticate: Bearer realm=..,service=..
 *     GET REALM?service=..&scope=repository:library/busybox:pull     {"token": ".."}
 *     GET /v2/library/busybox/manifests/latest   Authorization: Bearer ..   (index or manifest)
 *     GET /v2/library/busybox/blobs/sha256:..    307 to a CDN, which gets NO Authorization
 *
 * libcurl does HTTP, TLS and redirects. This file does the conversation:
 * the challenge, the token and its renewal, retries, and the checks that
 * make a pull safe from a lying registry or network: every byte is hashed
 * as it arrives and compared with the digest that named it, nothing larger
 * than promised is read, and a transfer that stops moving is given up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "box.h"

static const char user_agent[] = "box/0.6";
static const char timeout_env[] = "BOX_REGISTRY_TIMEOUT";
static const char debug_env[] = "BOX_REGISTRY_DEBUG";

enum {
	LOW_SPEED_BYTES = 1024,		/* slower than 1 kB/s for the whole timeout: the transfer is stalled */
	MAX_REDIRECTS = 5,
	TOKEN_RESPONSE_MAX = 1024 * 1024,
	ERROR_BODY_MAX = 64 * 1024,	/* enough of an error answer to say what went wrong */
	DEFAULT_TOKEN_LIFETIME = 60,	/* seconds, when the token server does not say (token.md) */
	BACKOFF_MS = 1000,		/* before the second try; doubled before each next */
	TICK_MS = 100,
};

/* ---- credentials: podman's auth.json and docker's config.json ------------------------------ */

/* "https://index.docker.io/v1/" (docker's name for Docker Hub) and "http://host/" -> the domain. */
static void normalize_key(const char *key, char *out, size_t size)
{
	const char *p = strstr(key, "://");
	bool had_scheme = p != NULL;

	p = p ? p + 3 : key;
	/* docker writes "https://host/v1/": only the host counts; podman keys have no scheme. */
	snprintf(out, size, "%.*s", had_scheme ? (int)strcspn(p, "/") : (int)strlen(p), p);
	if (strcmp(out, "index.docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0)
		snprintf(out, size, "docker.io");
}

/* {"auth": base64("user:password")} -> username, password. */
static int decode_auth(const char *b64, struct credentials *cred)
{
	size_t len = strlen(b64);
	unsigned char *plain = malloc(len + 1);
	char *colon;
	int n;

	if (!plain)
		return -1;
	n = EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)len);
	/* EVP_DecodeBlock counts the bytes the '=' padding stands for as zeros: drop them. */
	for (size_t i = len; n > 0 && i > 0 && b64[i - 1] == '='; i--)
		n--;
	if (n < 0) {
		free(plain);
		errno = EINVAL;
		return -1;
	}
	plain[n] = '\0';
	colon = strchr((char *)plain, ':');
	if (colon) {
		*colon = '\0';
		snprintf(cred->username, sizeof(cred->username), "%s", (char *)plain);
		snprintf(cred->password, sizeof(cred->password), "%s", colon + 1);
	}
	free(plain);
	errno = EINVAL;
	return colon ? 0 : -1;
}

/* The credentials for domain in one auth file ({"auths": {"HOST": {"auth": ".."}}}); ENOENT if none. */
int credentials_from_file(const char *path, const char *domain, struct credentials *cred)
{
	json_t *doc = json_load_file(path, 0, NULL);
	const char *key;
	json_t *entry;
	char host[REF_NAME_MAX + 1];
	int ret = -1;

	memset(cred, 0, sizeof(*cred));
	errno = ENOENT;
	json_object_foreach(json_object_get(doc, "auths"), key, entry) {
		const char *auth = json_string_value(json_object_get(entry, "auth"));

		normalize_key(key, host, sizeof(host));
		if (auth && strcmp(host, domain) == 0) {
			ret = decode_auth(auth, cred);
			break;
		}
	}
	json_decref(doc);
	if (ret == 0)
		snprintf(cred->file, sizeof(cred->file), "%s", path);
	return ret;
}

/* dir/name, with dir from the environment variable env, else home/fallback. */
static int config_path(char *buf, size_t size, const char *env, const char *fallback, const char *name)
{
	const char *dir = getenv(env), *home = getenv("HOME");

	if (dir && dir[0])
		return format_into(buf, size, "%s/%s", dir, name);
	if (!home || !fallback)
		return -1;
	return format_into(buf, size, "%s/%s/%s", home, fallback, name);
}

/*
 * Where podman and docker keep logins, in the order podman reads them:
 * $REGISTRY_AUTH_FILE (or $XDG_RUNTIME_DIR/containers/auth.json, else
 * /run/containers/UID/auth.json), $XDG_CONFIG_HOME/containers/auth.json,
 * then docker's $DOCKER_CONFIG/config.json.
 */
int find_credentials(const char *domain, struct credentials *cred)
{
	char paths[4][PATH_MAX];
	const char *auth_file = getenv("REGISTRY_AUTH_FILE");
	int n = 0;

	if (auth_file && auth_file[0])
		n += format_into(paths[n], PATH_MAX, "%s", auth_file) == 0;
	else if (config_path(paths[n], PATH_MAX, "XDG_RUNTIME_DIR", NULL, "containers/auth.json") == 0)
		n++;
	else	/* containers-auth.json(5): without XDG_RUNTIME_DIR, podman and skopeo use /run/containers/UID */
		n += format_into(paths[n], PATH_MAX, "/run/containers/%u/auth.json", (unsigned)getuid()) == 0;
	n += config_path(paths[n], PATH_MAX, "XDG_CONFIG_HOME", ".config", "containers/auth.json") == 0;
	n += config_path(paths[n], PATH_MAX, "DOCKER_CONFIG", ".docker", "config.json") == 0;
	for (int i = 0; i < n; i++) {
		if (credentials_from_file(paths[i], domain, cred) == 0)
			return 0;
	}
	memset(cred, 0, sizeof(*cred));
	errno = ENOENT;
	return -1;
}

/* ---- the authentication challenge ---------------------------------------------------------- */

static const char *skip_space(const char *p)
{
	return p + strspn(p, " \t");
}

/* A quoted-string (RFC 9110 5.6.4): commas inside are text, a backslash escapes the next character. */
static const char *read_quoted(const char *p, char *out, size_t size)
{
	size_t n = 0;

	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (n + 1 >= size)
			return NULL;
		out[n++] = *p;
	}
	out[n] = '\0';
	return *p == '"' ? p + 1 : NULL;
}

static const char *read_token(const char *p, char *out, size_t size)
{
	size_t n = strcspn(p, " \t,=\"");

	if (n == 0 || n >= size)
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return p + n;
}

static void store_param(struct challenge *c, const char *key, const char *value)
{
	if (strcasecmp(key, "realm") == 0)
		snprintf(c->realm, sizeof(c->realm), "%s", value);
	else if (strcasecmp(key, "service") == 0)
		snprintf(c->service, sizeof(c->service), "%s", value);
	else if (strcasecmp(key, "scope") == 0)
		snprintf(c->scope, sizeof(c->scope), "%s", value);
}

/* [exercise] */
/*
 * WWW-Authenticate (RFC 9110 11.6.1): a scheme, then key=value pairs,
 * values quoted or not: Bearer realm="https://a/token",service="x",scope="repository:a:pull,push"
 * Clear c, read the scheme with read_token (Bearer or Basic, any case,
 * strcasecmp(3); others: EINVAL), then each key=value with read_token and
 * read_quoted, giving them to store_param. A token not followed by '='
 * starts the next challenge: only the first is read. A Bearer challenge
 * without a realm is no use (EINVAL): the realm is where tokens come from.
 */
int parse_challenge(const char *header, struct challenge *c)
{
	char scheme[32], key[64], value[CHALLENGE_PART_MAX];
	const char *p = read_token(skip_space(header), scheme, sizeof(scheme));

	memset(c, 0, sizeof(*c));
	errno = EINVAL;
	if (!p)
		return -1;
	if (strcasecmp(scheme, "Bearer") == 0)
		c->scheme = AUTH_BEARER;
	else if (strcasecmp(scheme, "Basic") == 0)
		c->scheme = AUTH_BASIC;
	else
		return -1;
	for (p = skip_space(p); *p; p = skip_space(p + strspn(p, ", \t"))) {
		const char *after_key = read_token(p, key, sizeof(key));

		if (!after_key || *skip_space(after_key) != '=')
			break;	/* not key=value: the next challenge begins */
		p = skip_space(skip_space(after_key) + 1);
		p = *p == '"' ? read_quoted(p, value, sizeof(value)) : read_token(p, value, sizeof(value));
		if (!p)
			return -1;
		store_param(c, key, value);
	}
	return c->scheme == AUTH_BEARER && !c->realm[0] ? -1 : 0;
}

/* ---- requests ------------------------------------------------------------------------------ */

/* How long a transfer may stall: BOX_REGISTRY_TIMEOUT seconds (for tests), else 30. */
int registry_timeout(void)
{
	const char *text = getenv(timeout_env);
	char *end;
	long n;

	if (!text || !text[0])
		return REGISTRY_TIMEOUT;
	n = strtol(text, &end, 10);
	return *end || n < 1 || n > 3600 ? REGISTRY_TIMEOUT : (int)n;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* BOX_REGISTRY_DEBUG: each request and the headers that matter, tokens cut short. */
static int debug_headers(CURL *easy, curl_infotype type, char *data, size_t size, void *user)
{
	static const char *const shown[] = { "GET ", "HEAD ", "HTTP/", "Host:", "Authorization:", "Accept:",
					     "WWW-Authenticate:", "Content-Type:", "Docker-Content-Digest:",
					     "Location:", "Content-Length:", NULL };
	const char *mark = type == CURLINFO_HEADER_OUT ? ">" : "<";

	(void)easy;
	(void)user;
	if (type != CURLINFO_HEADER_OUT && type != CURLINFO_HEADER_IN)
		return 0;
	/* data holds one header line (answers) or the whole request: split it at line ends. */
	for (char *line = data, *end = data + size; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		int len = (int)((nl ? nl : end) - line);

		if (len > 0 && line[len - 1] == '\r')
			len--;
		for (int i = 0; len > 0 && shown[i]; i++) {
			if (strncasecmp(line, shown[i], strlen(shown[i])) != 0)
				continue;
			/* Never a secret in a log: "Authorization: Bearer [redacted]". */
			if (strncasecmp(line, "Authorization:", 14) == 0)
				fprintf(stderr, "%s %.*s [redacted]\n", mark, 14 + 1 + (int)strcspn(line + 15, " "), line);
			else
				fprintf(stderr, "%s %.*s\n", mark, len, line);
		}
		line = nl ? nl + 1 : end;
	}
	return 0;
}

/*
 * CURLOPT_XFERINFOFUNCTION: give up a transfer that has received nothing
 * for the timeout (a non-zero return aborts it). libcurl's own low-speed
 * check, kept for registries that drip, averages the speed over the last
 * few seconds, so after a fast start it notices a stall only seconds late.
 */
static int watch_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct transfer_watch *w = user;
	double now = now_seconds();

	(void)dltotal;
	(void)ultotal;
	(void)ulnow;
	if (dlnow != w->bytes) {
		w->bytes = dlnow;
		w->since = now;
	}
	w->stalled = now - w->since >= w->timeout;
	return w->stalled;
}

/*
 * Options every request shares. Authentication is libcurl's own
 * (CURLOPT_XOAUTH2_BEARER, CURLOPT_USERNAME): libcurl sends it only to the
 * host, port and scheme it was set for, so a redirect to a CDN never
 * carries the registry's token (NOTES.md shows it). No Accept-Encoding:
 * the bytes hashed must be the bytes the digest names.
 */
static void setup_easy(struct registry *r, CURL *easy, const char *url, bool authorized, struct transfer_watch *w)
{
	*w = (struct transfer_watch){ .since = now_seconds(), .timeout = r->timeout };
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_SHARE, (CURLSH *)r->share);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(easy, CURLOPT_MAXREDIRS, (long)MAX_REDIRECTS);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, strncmp(url, "https:", 6) == 0 ? "https" : "http,https");
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, (long)r->timeout);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, (long)r->timeout);
	curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(easy, CURLOPT_XFERINFODATA, w);
	if (authorized && r->token) {
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(easy, CURLOPT_XOAUTH2_BEARER, r->token);
	} else if (authorized && r->challenge.scheme == AUTH_BASIC && r->have_credentials) {
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(easy, CURLOPT_USERNAME, r->credentials.username);
		curl_easy_setopt(easy, CURLOPT_PASSWORD, r->credentials.password);
	}
	if (r->debug) {
		curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, debug_headers);
		curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
	}
}

/* Collect the body, but never more than resp->max bytes: past that, stop reading. */
static size_t collect_body(char *data, size_t size, size_t n, void *user)
{
	struct response *resp = user;
	size_t len = size * n;
	char *bigger;

	if (resp->len + len > resp->max) {
		resp->too_large = true;
		return 0;	/* libcurl aborts the transfer: CURLE_WRITE_ERROR */
	}
	bigger = realloc(resp->body, resp->len + len + 1);
	if (!bigger)
		return 0;
	resp->body = bigger;
	memcpy(resp->body + resp->len, data, len);
	resp->len += len;
	resp->body[resp->len] = '\0';
	return len;
}

void free_response(struct response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

/* A header of the last response (after redirects), via curl_easy_header(3). */
static void response_header(CURL *easy, const char *name, char *buf, size_t size)
{
	struct curl_header *h;

	buf[0] = '\0';
	if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
		snprintf(buf, size, "%s", h->value);
}

static struct curl_slist *accept_headers(const char *const accept[])
{
	struct curl_slist *list = NULL;
	char line[MEDIA_TYPE_MAX + 16];

	for (int i = 0; accept && accept[i]; i++) {
		snprintf(line, sizeof(line), "Accept: %s", accept[i]);
		list = curl_slist_append(list, line);
	}
	return list;
}

/* One GET, start to end. The 401 challenge, if any, goes into r->challenge. */
static CURLcode perform(struct registry *r, const char *url, const char *const accept[], bool authorized,
			struct response *resp)
{
	CURL *easy = r->curl;
	struct curl_slist *headers = accept_headers(accept);
	struct transfer_watch watch;
	char challenge[2 * CHALLENGE_PART_MAX];
	CURLcode code;

	free_response(resp);
	resp->too_large = false;
	resp->status = 0;
	curl_easy_reset(easy);
	setup_easy(r, easy, url, authorized, &watch);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, resp);
	code = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
	response_header(easy, "Content-Type", resp->content_type, sizeof(resp->content_type));
	response_header(easy, "Docker-Content-Digest", resp->digest, sizeof(resp->digest));
	response_header(easy, "WWW-Authenticate", challenge, sizeof(challenge));
	if (resp->status == 401 && challenge[0])
		parse_challenge(challenge, &r->challenge);
	curl_slist_free_all(headers);
	return code;
}

/* Errors worth another try: the network dropped us, or the server had a bad moment (5xx). */
static bool is_transient(CURLcode code, long status)
{
	switch (code) {
	case CURLE_OK:
		return status >= 500;
	case CURLE_COULDNT_CONNECT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* What the registry said, from its error body ({"errors":[{"code":..,"message":..}]}) if it sent one. */
static void describe_status(const struct response *resp, char *buf, size_t size)
{
	json_t *doc = resp->body ? json_loadb(resp->body, resp->len, 0, NULL) : NULL;
	json_t *first = json_array_get(json_object_get(doc, "errors"), 0);
	const char *code = json_string_value(json_object_get(first, "code"));
	const char *message = json_string_value(json_object_get(first, "message"));

	if (!message)
		message = json_string_value(json_object_get(doc, "details"));	/* token servers */
	snprintf(buf, size, "HTTP %ld%s%s%s%s", resp->status, code ? " " : "", code ? code : "", message ? ": " : "",
		 message ? message : "");
	json_decref(doc);
}

/* "blob sha256:...: Transferred a partial file (3 tries)", or the timeout, named. */
static int transfer_failure(struct registry *r, CURLcode code, const char *what, int tries, struct failure *f)
{
	if (code == CURLE_OPERATION_TIMEDOUT || code == CURLE_ABORTED_BY_CALLBACK) {
		errno = ETIMEDOUT;
		return failed(f, "%s: stalled, no progress for %d s (the timeout; %s changes it)", what, r->timeout,
			      timeout_env);
	}
	errno = ECONNABORTED;
	if (tries > 1)
		return failed(f, "%s: %s (%d tries)", what, curl_easy_strerror(code), tries);
	return failed(f, "%s: %s", what, curl_easy_strerror(code));
}

/* ---- tokens -------------------------------------------------------------------------------- */

/* "REALM?service=S&scope=repository:NAME:pull" (distribution docs/spec/auth/token.md). */
static int token_url(struct registry *r, char *buf, size_t size)
{
	char scope[2 * REF_NAME_MAX];
	char *service = curl_easy_escape(r->curl, r->challenge.service, 0);
	char *scope_q;
	int ret;

	snprintf(scope, sizeof(scope), "repository:%s:%s", r->repository, r->actions);
	scope_q = curl_easy_escape(r->curl, scope, 0);
	ret = service && scope_q ? format_into(buf, size, "%s%sservice=%s&scope=%s", r->challenge.realm,
					       strchr(r->challenge.realm, '?') ? "&" : "?", service, scope_q) : -1;
	curl_free(service);
	curl_free(scope_q);
	return ret;
}

/* {"token": "..", "expires_in": 300, "issued_at": "2024-..Z"}; "access_token" is OAuth2's name for it. */
static int read_token_response(struct registry *r, const struct response *resp)
{
	json_t *doc = json_loadb(resp->body ? resp->body : "", resp->len, 0, NULL);
	const char *token = json_string_value(json_object_get(doc, "token"));
	json_int_t lifetime = json_integer_value(json_object_get(doc, "expires_in"));
	const char *issued_at = json_string_value(json_object_get(doc, "issued_at"));
	time_t issued = time(NULL);

	if (!token || !token[0])
		token = json_string_value(json_object_get(doc, "access_token"));
	if (!token || !token[0] || strlen(token) >= TOKEN_MAX) {
		json_decref(doc);
		errno = EPROTO;
		return -1;
	}
	free(r->token);
	r->token = strdup(token);
	if (issued_at && parse_rfc3339(issued_at, &issued) < 0)
		issued = time(NULL);
	r->token_expires = issued + (lifetime > 0 ? (time_t)lifetime : DEFAULT_TOKEN_LIFETIME);
	r->token_serial++;
	json_decref(doc);
	return r->token ? 0 : -1;
}

/* The token request: anonymous, or HTTP Basic with the user's credentials. */
static CURLcode request_token(struct registry *r, const char *url, struct response *resp)
{
	struct transfer_watch watch;
	CURLcode code;

	curl_easy_reset(r->curl);
	setup_easy(r, r->curl, url, false, &watch);
	if (r->have_credentials) {
		curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(r->curl, CURLOPT_USERNAME, r->credentials.username);
		curl_easy_setopt(r->curl, CURLOPT_PASSWORD, r->credentials.password);
	}
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, resp);
	code = curl_easy_perform(r->curl);
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	return code;
}

/* Ask the realm of the last challenge for a token for this repository. */
static int fetch_token(struct registry *r, struct failure *f)
{
	struct response resp = { .max = TOKEN_RESPONSE_MAX };
	char url[3 * CHALLENGE_PART_MAX], why[256];
	CURLcode code;
	int ret;

	/* Credentials go to the realm: over plain HTTP only if the registry itself is. */
	if (strncmp(r->challenge.realm, "https://", 8) != 0 && strncmp(r->base_url, "https://", 8) == 0) {
		errno = EPERM;
		return failed(f, "token realm %s is not https", r->challenge.realm);
	}
	if (token_url(r, url, sizeof(url)) < 0)
		return failed(f, "token URL for %s", r->challenge.realm);
	code = request_token(r, url, &resp);
	if (code != CURLE_OK) {
		free_response(&resp);
		return transfer_failure(r, code, r->challenge.realm, 1, f);
	}
	describe_status(&resp, why, sizeof(why));
	if (resp.status == 401 || resp.status == 403) {
		errno = EACCES;
		ret = r->have_credentials ? failed(f, "%s refused the credentials for %s from %s: %s", r->challenge.realm,
						   r->domain, r->credentials.file, why)
					  : failed(f, "%s refused an anonymous token: %s", r->challenge.realm, why);
	} else if (resp.status != 200 || read_token_response(r, &resp) < 0) {
		errno = EPROTO;
		ret = failed(f, "no token from %s: %s", r->challenge.realm, why);
	} else {
		ret = 0;
	}
	free_response(&resp);
	return ret;
}

/* Answer the last challenge: a token for Bearer; for Basic, credentials must exist. */
static int authenticate(struct registry *r, struct failure *f)
{
	if (r->challenge.scheme == AUTH_BEARER)
		return fetch_token(r, f);
	if (r->challenge.scheme == AUTH_BASIC && r->have_credentials)
		return 0;
	errno = EACCES;
	if (r->challenge.scheme == AUTH_BASIC)
		return failed(f, "%s needs a username and password; none found for %s in podman's or docker's auth files",
			      r->base_url, r->domain);
	return failed(f, "%s asks for authentication box does not know", r->base_url);
}

/* Renew the token before it runs out (expires_in, from issued_at); the registry would answer 401. */
static int ensure_token(struct registry *r, struct failure *f)
{
	if (r->challenge.scheme != AUTH_BEARER || (r->token && time(NULL) < r->token_expires))
		return 0;
	return fetch_token(r, f);
}

/* A GET with retries; answer_401: authenticate and try again once. what names it in failures. */
static int get(struct registry *r, const char *path, const char *what, const char *const accept[],
	       bool answer_401, struct response *resp, struct failure *f)
{
	char url[2 * PATH_MAX];
	bool answered_401 = !answer_401;
	CURLcode code;
	int tries = 1;

	if (format_into(url, sizeof(url), "%s%s", r->base_url, path) < 0)
		return failed(f, "URL for %s", path);
	for (;;) {
		if (ensure_token(r, f) < 0)
			return -1;
		code = perform(r, url, accept, true, resp);
		if (code == CURLE_OK && resp->status == 401 && !answered_401 && r->challenge.scheme != AUTH_NONE) {
			answered_401 = true;
			if (authenticate(r, f) < 0)
				return -1;
			continue;
		}
		if (!is_transient(code, resp->status) || tries == REGISTRY_TRIES)
			break;
		usleep((useconds_t)(BACKOFF_MS << (tries - 1)) * 1000);
		tries++;
	}
	if (code == CURLE_WRITE_ERROR && resp->too_large) {
		errno = EFBIG;
		return failed(f, "%s is larger than %zu bytes: refused", what, resp->max);
	}
	if (code != CURLE_OK)
		return transfer_failure(r, code, what, tries, f);
	return 0;
}

/*
 * GET base_url + path. Renews the token when it has expired, answers a 401
 * once (a new token, or credentials), and tries again after a 5xx or a
 * dropped connection, REGISTRY_TRIES times in all, waiting longer each time.
 * Succeeds with whatever status came last: the caller judges it.
 */
int registry_get(struct registry *r, const char *path, const char *const accept[], struct response *resp,
		 struct failure *f)
{
	return get(r, path, path, accept, true, resp, f);
}

/*
 * GET /v2/: is this a registry, and which authentication does it want?
 * A 401 here is the normal answer: its challenge says where tokens come from.
 */
int registry_ping(struct registry *r, struct failure *f)
{
	struct response resp = { .max = ERROR_BODY_MAX };
	char why[256];
	int ret = get(r, "/v2/", r->base_url, NULL, false, &resp, f);

	if (ret == 0 && resp.status == 401)
		ret = authenticate(r, f);
	else if (ret == 0 && resp.status != 200) {
		describe_status(&resp, why, sizeof(why));
		errno = EPROTO;
		ret = failed(f, "%s/v2/ is not a registry: %s", r->base_url, why);
	}
	free_response(&resp);
	return ret;
}

/* ---- manifests and small blobs ------------------------------------------------------------- */

static void sha256_hex(const void *data, size_t len, char out[DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (unsigned int i = 0; i < md_len; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

/* Why a manifest or blob GET did not give what was asked for. */
static int status_failure(struct registry *r, const struct response *resp, const char *what, struct failure *f)
{
	char why[256];

	describe_status(resp, why, sizeof(why));
	if (resp->status == 401 && r->challenge.scheme == AUTH_BASIC && r->have_credentials) {
		errno = EACCES;
		return failed(f, "%s refused the credentials for %s from %s (%s)", r->base_url, r->domain,
			      r->credentials.file, why);
	}
	if (resp->status == 401 || resp->status == 403) {
		errno = EACCES;
		return failed(f, "pull access denied for %s/%s: the repository does not exist or needs credentials (%s)",
			      r->domain, r->repository, why);
	}
	errno = resp->status == 404 ? ENOENT : EPROTO;
	return failed(f, "%s: %s", what, why);
}

/*
 * GET a manifest by tag or digest, at most MANIFEST_MAX bytes. digest gets
 * the sha256 of the bytes received: that, not what the registry claims,
 * is the manifest's name. If a digest was asked for, the bytes must match it.
 */
int registry_get_manifest(struct registry *r, const char *tag_or_digest, struct response *resp, char *digest,
			  struct failure *f)
{
	char path[2 * REF_NAME_MAX], what[3 * REF_NAME_MAX];

	resp->max = MANIFEST_MAX;
	if (format_into(path, sizeof(path), "/v2/%s/manifests/%s", r->repository, tag_or_digest) < 0 ||
	    format_into(what, sizeof(what), "manifest %s/%s%s%s", r->domain, r->repository,
			is_digest(tag_or_digest) ? "@" : ":", tag_or_digest) < 0)
		return failed(f, "manifest %s", tag_or_digest);
	if (get(r, path, what, manifest_accept, true, resp, f) < 0)
		return -1;
	if (resp->status != 200)
		return status_failure(r, resp, what, f);
	sha256_hex(resp->body, resp->len, digest);
	errno = EBADMSG;
	if (is_digest(tag_or_digest) && strcmp(digest, tag_or_digest) != 0)
		return failed(f, "%s: the registry sent a manifest that hashes to %s", what, digest);
	if (resp->digest[0] && strcmp(resp->digest, digest) != 0)
		return failed(f, "%s: Docker-Content-Digest says %s, the bytes hash to %s", what, resp->digest, digest);
	return 0;
}

/* GET a small blob (an image config) into memory, checked against its descriptor. */
int registry_get_blob(struct registry *r, const struct descriptor *d, struct response *resp, struct failure *f)
{
	char path[2 * REF_NAME_MAX], what[DIGEST_LEN + 8], got[DIGEST_LEN + 1];

	resp->max = (size_t)d->size;
	if (format_into(path, sizeof(path), "/v2/%s/blobs/%s", r->repository, d->digest) < 0 ||
	    format_into(what, sizeof(what), "blob %s", d->digest) < 0)
		return failed(f, "blob %s", d->digest);
	if (get(r, path, what, NULL, true, resp, f) < 0)
		return -1;
	if (resp->status != 200)
		return status_failure(r, resp, d->digest, f);
	sha256_hex(resp->body, resp->len, got);
	errno = EBADMSG;
	if ((long long)resp->len != d->size)
		return failed(f, "blob %s: got %zu bytes, the manifest says %lld", d->digest, resp->len, d->size);
	if (strcmp(got, d->digest) != 0)
		return failed(f, "blob %s: content does not match its digest (it hashes to %s)", d->digest, got);
	return 0;
}

/* ---- layers: several at once with the multi interface --------------------------------------- */

/* Bytes of a blob as they arrive: hashed and written by the store's blob writer, bounded by its size. */
static size_t write_blob(char *data, size_t size, size_t n, void *user)
{
	struct blob_fetch *b = user;
	long status = 0;

	curl_easy_getinfo((CURL *)b->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return size * n;	/* an error page: its status says enough */
	if (blob_writer_write(&b->writer, data, size * n) < 0) {
		if (errno == EFBIG)
			b->too_large = true;
		else
			b->write_errno = errno;
		return 0;
	}
	return size * n;
}

static int start_fetch(struct registry *r, const struct store *s, CURLM *multi, struct blob_fetch *b,
		       struct failure *f)
{
	char url[2 * PATH_MAX];
	CURL *easy;
	int ret;

	/* The first try opens a temp file in the store; a retry starts it over. */
	if (b->writer.fd < 0)
		ret = blob_writer_open(s, &b->writer, b->desc.digest, b->desc.size);
	else
		ret = blob_writer_restart(&b->writer);
	if (ret < 0)
		return failed(f, "blob %s: temp file in %s", b->desc.digest, s->root);
	if (ensure_token(r, f) < 0)
		return -1;
	if (format_into(url, sizeof(url), "%s/v2/%s/blobs/%s", r->base_url, r->repository, b->desc.digest) < 0 ||
	    !(easy = curl_easy_init()))
		return failed(f, "blob %s", b->desc.digest);
	setup_easy(r, easy, url, true, &b->watch);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_blob);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, b);
	b->easy = easy;
	b->too_large = false;
	b->write_errno = 0;
	b->token_serial = r->token_serial;
	b->state = FETCH_RUNNING;
	if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
		errno = ENOMEM;
		return failed(f, "blob %s", b->desc.digest);
	}
	return 0;
}

/* A failed try: again after a pause, if tries are left. */
static int retry_later(struct blob_fetch *b, const char *why, struct failure *f)
{
	if (++b->tries >= REGISTRY_TRIES) {
		errno = ECONNABORTED;
		return failed(f, "blob %s: %s (%d tries)", b->desc.digest, why, b->tries);
	}
	b->state = FETCH_WAITING;
	b->retry_at = now_seconds() + (double)(BACKOFF_MS << (b->tries - 1)) / 1000.0;
	return 0;
}

/* A 401 in the middle of a pull: the token ran out. Renew it (once) and try this blob again. */
static int renew_and_retry(struct registry *r, struct blob_fetch *b, struct failure *f)
{
	if (++b->denials > 1 || r->challenge.scheme == AUTH_NONE) {
		errno = EACCES;
		return failed(f, "blob %s: access denied (HTTP 401) even with a new token", b->desc.digest);
	}
	if (b->token_serial == r->token_serial && authenticate(r, f) < 0)
		return -1;
	b->state = FETCH_WAITING;
	b->retry_at = 0;
	return 0;
}

/* A transfer ended: store the blob, or decide whether and when to try again. */
static int finish_fetch(struct registry *r, const struct store *s, struct blob_fetch *b, CURLcode code,
			struct failure *f)
{
	struct response resp = { 0 };
	char why[256];

	curl_easy_getinfo((CURL *)b->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	b->easy = NULL;
	if (code == CURLE_WRITE_ERROR && b->too_large) {
		errno = EBADMSG;
		return failed(f, "blob %s: the registry sent more than the %lld bytes the manifest promises",
			      b->desc.digest, b->desc.size);
	}
	if (code == CURLE_WRITE_ERROR && b->write_errno) {
		errno = b->write_errno;
		return failed(f, "blob %s: write to %s", b->desc.digest, b->writer.temp);
	}
	if (code == CURLE_OK && resp.status == 401)
		return renew_and_retry(r, b, f);
	if (is_transient(code, resp.status)) {
		describe_status(&resp, why, sizeof(why));
		return retry_later(b, code == CURLE_OK ? why : curl_easy_strerror(code), f);
	}
	if (code != CURLE_OK) {
		snprintf(why, sizeof(why), "blob %s", b->desc.digest);
		return transfer_failure(r, code, why, b->tries + 1, f);
	}
	if (resp.status != 200)
		return status_failure(r, &resp, b->desc.digest, f);
	if (blob_writer_commit(s, &b->writer, f) < 0)
		return -1;
	b->state = FETCH_DONE;
	return 0;
}

/* Start what may start: at most REGISTRY_PARALLEL at once, failed tries after their pause. */
static int start_waiting(struct registry *r, const struct store *s, CURLM *multi, struct blob_fetch *fetches,
			 size_t count, const struct fetch_events *ev, void *user, struct failure *f)
{
	size_t running = 0;

	for (size_t i = 0; i < count; i++)
		running += fetches[i].state == FETCH_RUNNING;
	for (size_t i = 0; i < count && running < REGISTRY_PARALLEL; i++) {
		struct blob_fetch *b = &fetches[i];

		if (b->state != FETCH_WAITING || b->retry_at > now_seconds())
			continue;
		if (start_fetch(r, s, multi, b, f) < 0)
			return -1;
		if (ev && ev->started)
			ev->started(b, user);
		running++;
	}
	return 0;
}

/* Collect the transfers that ended since the last look. */
static int reap_finished(struct registry *r, const struct store *s, CURLM *multi, const struct fetch_events *ev,
			 void *user, struct failure *f)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(multi, &left))) {
		CURL *easy = msg->easy_handle;
		CURLcode code = msg->data.result;
		struct blob_fetch *b;
		char *private;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private);
		b = (struct blob_fetch *)private;
		curl_multi_remove_handle(multi, easy);
		if (finish_fetch(r, s, b, code, f) < 0) {
			curl_easy_cleanup(easy);
			return -1;
		}
		curl_easy_cleanup(easy);
		if (b->state == FETCH_DONE && ev && ev->done && ev->done(b, user, f) < 0)
			return -1;
	}
	return 0;
}

static bool all_done(const struct blob_fetch *fetches, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (fetches[i].state != FETCH_DONE)
			return false;
	}
	return true;
}

/* After a failure: stop every transfer and throw away what it wrote. */
static void abandon(CURLM *multi, struct blob_fetch *fetches, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct blob_fetch *b = &fetches[i];

		if (b->easy) {
			curl_multi_remove_handle(multi, b->easy);
			curl_easy_cleanup(b->easy);
			b->easy = NULL;
		}
		if (b->state != FETCH_DONE) {
			blob_writer_abort(&b->writer);
			b->state = FETCH_FAILED;
		}
	}
}

/*
 * Download blobs into the store, REGISTRY_PARALLEL at a time, each verified
 * as it streams in (blob_writer_write hashes it, refuses bytes past its
 * size; commit checks the digest). ev->done runs as each one is complete,
 * so the caller can unpack it while the others still download.
 */
int registry_fetch_blobs(struct registry *r, const struct store *s, struct blob_fetch *fetches, size_t count,
			 const struct fetch_events *ev, void *user, struct failure *f)
{
	CURLM *multi = curl_multi_init();
	int running = 0, ret = 0;

	if (!multi)
		return failed(f, "curl_multi_init");
	for (size_t i = 0; i < count; i++) {
		memset(&fetches[i].writer, 0, sizeof(fetches[i].writer));
		fetches[i].writer.fd = -1;
		fetches[i].state = FETCH_WAITING;
		fetches[i].easy = NULL;
	}
	while (ret == 0 && !all_done(fetches, count)) {
		ret = start_waiting(r, s, multi, fetches, count, ev, user, f);
		if (ret == 0 && curl_multi_perform(multi, &running) != CURLM_OK)
			ret = failed(f, "curl_multi_perform");
		if (ret == 0)
			ret = reap_finished(r, s, multi, ev, user, f);
		if (ret == 0 && ev && ev->tick)
			ret = ev->tick(fetches, count, user, f);
		if (ret == 0 && !all_done(fetches, count))
			curl_multi_poll(multi, NULL, 0, TICK_MS, NULL);
	}
	if (ret < 0)
		abandon(multi, fetches, count);
	curl_multi_cleanup(multi);
	return ret;
}

/* ---- the client ----------------------------------------------------------------------------- */

/*
 * A client for ref's repository. Plain HTTP only if asked (--insecure) or
 * for loopback hosts, as docker does; otherwise https, certificates checked.
 * Credentials come from podman's or docker's auth files, if they have some.
 */
int registry_open(struct registry *r, const struct reference *ref, const struct registry_options *opt,
		  struct failure *f)
{
	bool plain = opt->insecure || is_loopback_domain(ref->domain);

	memset(r, 0, sizeof(*r));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return failed(f, "curl_global_init");
	snprintf(r->domain, sizeof(r->domain), "%s", ref->domain);
	snprintf(r->repository, sizeof(r->repository), "%s", ref->path);
	snprintf(r->actions, sizeof(r->actions), "pull");
	snprintf(r->base_url, sizeof(r->base_url), "%s://%s", plain ? "http" : "https", reference_api_host(ref));
	r->timeout = opt->timeout > 0 ? opt->timeout : registry_timeout();
	r->debug = opt->debug || (getenv(debug_env) && getenv(debug_env)[0]);
	r->have_credentials = find_credentials(ref->domain, &r->credentials) == 0;
	r->share = curl_share_init();
	r->curl = curl_easy_init();
	if (!r->share || !r->curl) {
		registry_close(r);
		errno = ENOMEM;
		return failed(f, "start libcurl");
	}
	/* One connection cache, DNS cache and TLS session cache for every request of this pull. */
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return 0;
}

void registry_close(struct registry *r)
{
	if (r->curl)
		curl_easy_cleanup(r->curl);
	if (r->share)
		curl_share_cleanup(r->share);
	free(r->token);
	memset(r, 0, sizeof(*r));
	curl_global_cleanup();
}
