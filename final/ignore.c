/*
 * ignore.c - .containerignore / .dockerignore: what COPY and ADD never see.
 *
 *     # build outputs                  a comment
 *     *.o                              * and ? match within one path component
 *     docs                             a directory excludes everything under it
 *     !docs/README.md                  ! takes a path back; the last pattern that matches wins
 *
 * and a component that is just ** matches any number of components, none
 * included ("**" "/" "*.tmp" is every .tmp file, at any depth).
 *
 * The rules are docker's (moby/patternmatcher, as buildah uses it): each
 * line is trimmed, cleaned like a path ("./a//b/" is "a/b", a leading "/"
 * is dropped: the context's root is the root), and compared with paths
 * relative to the context. A pattern that matches a directory also
 * matches everything in it. Buildah reads .containerignore first and
 * .dockerignore only if there is none.
 *
 * The same rules serve twice: COPY skips what they exclude, and the cache
 * key of a COPY is computed over the same, filtered, set of files, so an
 * ignored file can change without invalidating the cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box.h"

static const char *const ignore_files[] = { ".containerignore", ".dockerignore", NULL };

enum { IGNORE_FILE_MAX = 1024 * 1024 };

/* "a/b/c" -> "a", "b", "c" (a NULL-terminated list; empty and "." components dropped). */
static char **components(const char *path, size_t *count)
{
	char **parts = calloc(strlen(path) / 2 + 2, sizeof(*parts));

	*count = 0;
	for (const char *p = path; parts && *p;) {
		size_t len = strcspn(p, "/");

		if (len && !(len == 1 && p[0] == '.'))
			parts[(*count)++] = strndup(p, len);
		p += len;
		p += strspn(p, "/");
	}
	return parts;
}

static void free_components(char **parts)
{
	for (size_t i = 0; parts && parts[i]; i++)
		free(parts[i]);
	free(parts);
}

/* A pattern cleaned as docker cleans it: ".." resolved by name, a leading "/" dropped. */
static char **clean_pattern(const char *text, size_t *count)
{
	char **parts = components(text, count);
	size_t kept = 0;

	for (size_t i = 0; parts && i < *count; i++) {
		if (strcmp(parts[i], "..") == 0) {
			free(parts[i]);
			if (kept > 0)
				free(parts[--kept]);	/* "a/../b" is "b"; ".." at the root stays at the root */
			continue;
		}
		parts[kept++] = parts[i];
	}
	if (parts)
		parts[kept] = NULL;
	*count = kept;
	return parts;
}

static int add_rule(struct ignore *ig, const char *line)
{
	struct ignore_rule *grown = realloc(ig->rules, (ig->count + 1) * sizeof(*grown));
	struct ignore_rule *r;
	bool negate = line[0] == '!';

	if (!grown)
		return -1;
	ig->rules = grown;
	r = &ig->rules[ig->count];
	if (negate)
		line += 1 + strspn(line + 1, " \t");
	r->negate = negate;
	r->parts = clean_pattern(line, &r->nparts);
	if (!r->parts)
		return -1;
	ig->count++;
	return 0;
}

/* The patterns of an ignore file's text: one a line, # comments, blank lines skipped. */
int parse_ignore(const char *text, struct ignore *ig)
{
	memset(ig, 0, sizeof(*ig));
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		char *line = strndup(p, len), *start, *end;
		int ret = 0;

		if (!line)
			return -1;
		start = line + strspn(line, " \t\r");
		end = start + strlen(start);
		while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (start[0] && start[0] != '#')
			ret = add_rule(ig, start);
		free(line);
		if (ret < 0)
			return -1;
		p += len + (p[len] == '\n');
	}
	return 0;
}

/* Does the pattern (from part pi on) match exactly the path's parts from si to n? "**" matches 0..n parts. */
static bool match_parts(char *const pat[], size_t npat, size_t pi, char *const path[], size_t n, size_t si)
{
	if (pi == npat)
		return si == n;
	if (strcmp(pat[pi], "**") == 0) {
		for (size_t k = si; k <= n; k++) {
			if (match_parts(pat, npat, pi + 1, path, n, k))
				return true;
		}
		return false;
	}
	/* fnmatch(3) without FNM_PERIOD: "*" matches a leading dot too, as Go's filepath.Match does. */
	return si < n && fnmatch(pat[pi], path[si], 0) == 0 && match_parts(pat, npat, pi + 1, path, n, si + 1);
}

/* Does the rule match the path, or a directory above it? */
static bool rule_matches(const struct ignore_rule *r, char *const path[], size_t n)
{
	if (r->nparts == 0)
		return false;	/* "." or "/": docker matches nothing with it either */
	for (size_t k = 1; k <= n; k++) {
		if (match_parts(r->parts, r->nparts, 0, path, k, 0))
			return true;
	}
	return false;
}

/* Is path (relative to the context, "src/main.c") excluded? The last rule that matches decides. */
bool ignore_matches(const struct ignore *ig, const char *path)
{
	size_t n;
	char **parts;
	bool excluded = false;

	if (!ig || ig->count == 0)
		return false;
	parts = components(path, &n);
	for (size_t i = 0; parts && i < ig->count; i++) {
		if (rule_matches(&ig->rules[i], parts, n))
			excluded = !ig->rules[i].negate;
	}
	free_components(parts);
	return excluded;
}

/* May a directory hold something a "!" rule takes back? Then a walk must go in even if it is excluded. */
bool ignore_has_exceptions(const struct ignore *ig)
{
	for (size_t i = 0; ig && i < ig->count; i++) {
		if (ig->rules[i].negate)
			return true;
	}
	return false;
}

void free_ignore(struct ignore *ig)
{
	for (size_t i = 0; i < ig->count; i++)
		free_components(ig->rules[i].parts);
	free(ig->rules);
	memset(ig, 0, sizeof(*ig));
}

/* The whole (small) file at fd as a string. */
static char *read_small(int fd)
{
	char *text = malloc(IGNORE_FILE_MAX + 1);
	size_t len = 0;
	ssize_t n = 0;

	while (text && len < IGNORE_FILE_MAX && (n = read(fd, text + len, IGNORE_FILE_MAX - len)) > 0)
		len += (size_t)n;
	if (!text || n < 0) {
		free(text);
		return NULL;
	}
	text[len] = '\0';
	return text;
}

/*
 * The context's ignore file (.containerignore, else .dockerignore), parsed;
 * none is no rules. used gets the file's name ("" if none).
 */
int read_ignore_file(int context_fd, struct ignore *ig, char *used, size_t size, struct failure *f)
{
	memset(ig, 0, sizeof(*ig));
	used[0] = '\0';
	for (int i = 0; ignore_files[i]; i++) {
		int fd = openat(context_fd, ignore_files[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		char *text;
		int ret;

		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return failed(f, "open %s", ignore_files[i]);
		text = read_small(fd);
		close(fd);
		if (!text)
			return failed(f, "read %s", ignore_files[i]);
		ret = parse_ignore(text, ig);
		free(text);
		if (ret < 0)
			return failed(f, "read %s", ignore_files[i]);
		snprintf(used, size, "%s", ignore_files[i]);
		return 0;
	}
	return 0;
}
