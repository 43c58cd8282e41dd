/*
 * containerfile.c - reading a Containerfile (or Dockerfile): lines into
 * instructions, and the words of an instruction with $VARIABLES expanded.
 *
 * The format is docker's (docs.docker.com/reference/dockerfile), which
 * podman and buildah read the same way:
 *
 *     # escape=\                       a parser directive: only at the very top
 *     FROM busybox AS build            one instruction per line, keyword in any case
 *     RUN echo one && \                the escape character at a line's end joins the next
 *         echo two                     (comment lines in between are dropped)
 *     ENV A=1 B="two words"            quotes group words; $A and ${A:-default} expand
 *     CMD ["sh", "-c", "echo $A"]      a JSON array is the "exec form": no shell, no expansion
 *
 * Parsing happens once, before anything runs, so a typo on line 40 is
 * found before line 1 builds anything: every error names FILE:LINE.
 * Expansion happens while building (the values of ARG and ENV are known
 * only then), with the same lexer as buildkit's shell/lex.go in small:
 * quotes and the escape character are removed, variables replaced, and
 * (for instructions that take several words) the result split at blanks
 * that were not quoted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "box.h"

/* The instructions box builds with, and what each accepts (flags, forms). */
static const struct {
	const char *name;
	enum instruction_kind kind;
	const char *flags;	/* the --flags it takes, space-separated and space-ended */
} keywords[] = {
	{ "FROM", INS_FROM, "platform " },
	{ "RUN", INS_RUN, "" },
	{ "COPY", INS_COPY, "from chown chmod " },
	{ "ADD", INS_ADD, "chown chmod " },
	{ "ENV", INS_ENV, "" },
	{ "ARG", INS_ARG, "" },
	{ "WORKDIR", INS_WORKDIR, "" },
	{ "USER", INS_USER, "" },
	{ "CMD", INS_CMD, "" },
	{ "ENTRYPOINT", INS_ENTRYPOINT, "" },
	{ "EXPOSE", INS_EXPOSE, "" },
	{ "LABEL", INS_LABEL, "" },
	{ "VOLUME", INS_VOLUME, "" },
	{ "STOPSIGNAL", INS_STOPSIGNAL, "" },
	{ "SHELL", INS_SHELL, "" },
};

/* Known to docker, not to box: a clear line rather than "unknown instruction". */
static const char *const unsupported[] = { "HEALTHCHECK", "ONBUILD", "MAINTAINER", NULL };

/* ---- errors --------------------------------------------------------------------------------- */

/* "Containerfile:12: <what>": every parse error says where. errno EINVAL. */
static int syntax_error(struct failure *f, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int syntax_error(struct failure *f, const char *file, int line, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return failed(f, "%s:%d: %s", file, line, what);
}

/* ---- words ---------------------------------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* A growing string. */
struct text {
	char *s;
	size_t len, cap;
};

static int text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = 2 * (t->len + n + 1) + 16;
		char *grown = realloc(t->s, cap);

		if (!grown)
			return -1;
		t->s = grown;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
	return 0;
}

static int text_char(struct text *t, char c)
{
	return text_add(t, &c, 1);
}

/* A growing NULL-terminated list of strings. */
struct list {
	char **items;
	size_t count, cap;
};

static int list_add(struct list *l, const char *s, size_t n)
{
	if (l->count + 2 > l->cap) {
		size_t cap = 2 * l->cap + 8;
		char **grown = realloc(l->items, cap * sizeof(*grown));

		if (!grown)
			return -1;
		l->items = grown;
		l->cap = cap;
	}
	l->items[l->count] = strndup(s, n);
	if (!l->items[l->count])
		return -1;
	l->items[++l->count] = NULL;
	return 0;
}

void free_words(char **words)
{
	for (size_t i = 0; words && words[i]; i++)
		free(words[i]);
	free(words);
}

/*
 * Split at blanks outside quotes, keeping the quotes and escapes in each
 * word (expansion removes them later): `A="x y" B=z` -> `A="x y"`, `B=z`.
 * An unclosed quote is an error, found at parse time.
 */
int split_words(const char *s, char escape, char ***words, size_t *count)
{
	struct list l = { 0 };
	const char *start = NULL;
	char quote = 0;

	for (const char *p = s;; p++) {
		if (*p == '\0' || (!quote && is_blank(*p))) {
			if (quote) {
				free_words(l.items);
				errno = EINVAL;
				return -1;
			}
			if (start && list_add(&l, start, (size_t)(p - start)) < 0)
				goto nomem;
			start = NULL;
			if (*p == '\0')
				break;
			continue;
		}
		if (!start)
			start = p;
		if (*p == escape && quote != '\'' && p[1])
			p++;	/* the next character is taken as it is */
		else if (!quote && (*p == '"' || *p == '\''))
			quote = *p;
		else if (quote && *p == quote)
			quote = 0;
	}
	if (!l.items && !(l.items = calloc(1, sizeof(char *))))
		goto nomem;
	*words = l.items;
	*count = l.count;
	return 0;
nomem:
	free_words(l.items);
	errno = ENOMEM;
	return -1;
}

/* ---- variables ------------------------------------------------------------------------------- */

const char *vars_get(const struct vars *v, const char *name)
{
	for (size_t i = v->count; i-- > 0;) {
		if (strcmp(v->names[i], name) == 0)
			return v->values[i];
	}
	return NULL;
}

/* Set name to value (a copy); a later set wins over an earlier one of the same name. */
int vars_set(struct vars *v, const char *name, const char *value)
{
	for (size_t i = 0; i < v->count; i++) {
		if (strcmp(v->names[i], name) == 0) {
			char *copy = strdup(value);

			if (!copy)
				return -1;
			free(v->values[i]);
			v->values[i] = copy;
			return 0;
		}
	}
	if (v->count == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		char **names = realloc(v->names, cap * sizeof(*names));
		char **values = names ? realloc(v->values, cap * sizeof(*values)) : NULL;

		if (names)
			v->names = names;
		if (!values)
			return -1;
		v->values = values;
		v->cap = cap;
	}
	v->names[v->count] = strdup(name);
	v->values[v->count] = strdup(value);
	if (!v->names[v->count] || !v->values[v->count])
		return -1;
	v->count++;
	return 0;
}

int vars_copy(const struct vars *from, struct vars *to)
{
	for (size_t i = 0; i < from->count; i++) {
		if (vars_set(to, from->names[i], from->values[i]) < 0)
			return -1;
	}
	return 0;
}

void vars_free(struct vars *v)
{
	for (size_t i = 0; i < v->count; i++) {
		free(v->names[i]);
		free(v->values[i]);
	}
	free(v->names);
	free(v->values);
	memset(v, 0, sizeof(*v));
}

/* ---- expansion: buildkit's shell lexer, in small ----------------------------------------------- */

/* Where the lexer is: the text, the escape character, the variables, and where errors go. */
struct lexer {
	const char *p;
	char escape;
	const struct vars *vars;
	struct failure *f;
	bool split;		/* several words: blanks outside quotes (also in $VALUES) end a word */
	struct list words;
	struct text word;
	bool in_word;		/* a word has begun (even an empty "" one) */
};

static int expand_until(struct lexer *lx, struct text *out, char stop, bool quoted);

/* End the current word, if one has begun. */
static int end_word(struct lexer *lx)
{
	int ret = 0;

	if (lx->in_word)
		ret = list_add(&lx->words, lx->word.s ? lx->word.s : "", lx->word.len);
	lx->word.len = 0;
	if (lx->word.s)
		lx->word.s[0] = '\0';
	lx->in_word = false;
	return ret;
}

/* A variable's value, added unquoted: when splitting, its blanks separate words ($FILES -> several). */
static int add_value(struct lexer *lx, struct text *out, const char *value, bool quoted)
{
	if (out == &lx->word && value[0])
		lx->in_word = true;
	if (!lx->split || quoted || out != &lx->word)
		return text_add(out, value, strlen(value));
	for (const char *v = value; *v; v++) {
		if (is_blank(*v)) {
			if (end_word(lx) < 0)
				return -1;
		} else {
			lx->in_word = true;
			if (text_char(out, *v) < 0)
				return -1;
		}
	}
	return 0;
}

static bool is_name_char(char c, bool first)
{
	return c == '_' || isalpha((unsigned char)c) || (!first && isdigit((unsigned char)c));
}

/* ${NAME:-word} and friends: the operator and the word (itself expanded) after NAME. */
static int expand_modifier(struct lexer *lx, struct text *out, const char *name, const char *value, bool quoted)
{
	struct text word = { 0 };
	bool colon = *lx->p == ':';
	char op;
	bool set, use_word;
	int ret;

	if (colon)
		lx->p++;
	op = *lx->p;
	if (op != '-' && op != '+' && op != '?') {
		errno = EINVAL;
		return failed(lx->f, "unsupported modifier in ${%s%s%c...}", name, colon ? ":" : "", op ? op : ' ');
	}
	lx->p++;
	if (expand_until(lx, &word, '}', quoted) < 0) {
		free(word.s);
		return -1;
	}
	/* With ':' an empty value counts as unset (POSIX sh, "Parameter Expansion"). */
	set = value && (!colon || value[0]);
	use_word = op == '-' ? !set : op == '+' ? set : false;
	if (op == '?' && !set) {
		errno = EINVAL;
		ret = failed(lx->f, "%s: %s", name, word.s && word.s[0] ? word.s : "is not set");
	} else {
		ret = add_value(lx, out, use_word ? (word.s ? word.s : "") : (op == '+' ? "" : value ? value : ""), quoted);
	}
	free(word.s);
	return ret;
}

/* After a '$': $NAME, ${NAME}, ${NAME:-default}, ${NAME:+alt}, ${NAME:?error}; a lone '$' stays. */
static int expand_dollar(struct lexer *lx, struct text *out, bool quoted)
{
	char name[256];
	size_t n = 0;
	bool braced = *lx->p == '{';

	if (braced)
		lx->p++;
	while (is_name_char(*lx->p, n == 0) && n + 1 < sizeof(name))
		name[n++] = *lx->p++;
	name[n] = '\0';
	if (!braced)
		return n ? add_value(lx, out, vars_get(lx->vars, name) ? vars_get(lx->vars, name) : "", quoted)
			 : text_char(out, '$');
	if (!n) {
		errno = EINVAL;
		return failed(lx->f, "bad substitution: a ${ without a variable name");
	}
	if (*lx->p == '}') {
		lx->p++;
		return add_value(lx, out, vars_get(lx->vars, name) ? vars_get(lx->vars, name) : "", quoted);
	}
	return expand_modifier(lx, out, name, vars_get(lx->vars, name), quoted);
}

/* '...': every character as it is, up to the closing quote. */
static int single_quoted(struct lexer *lx, struct text *out)
{
	const char *end = strchr(lx->p, '\'');

	if (!end) {
		errno = EINVAL;
		return failed(lx->f, "a single quote is not closed");
	}
	if (text_add(out, lx->p, (size_t)(end - lx->p)) < 0)
		return -1;
	lx->p = end + 1;
	return 0;
}

/* In double quotes the escape character keeps its meaning only before " $ or itself. */
static int escaped_char(struct lexer *lx, struct text *out, bool quoted)
{
	char next = lx->p[0];

	if (!next)
		return text_char(out, lx->escape);	/* at the very end it is just itself */
	lx->p++;
	if (quoted && next != '"' && next != '$' && next != lx->escape && text_char(out, lx->escape) < 0)
		return -1;
	return text_char(out, next);
}

/* "...": expanded inside, never split; the closing quote must come. */
static int double_quoted(struct lexer *lx, struct text *out)
{
	if (expand_until(lx, out, '"', true) < 0)
		return -1;
	if (*lx->p != '"') {
		errno = EINVAL;
		return failed(lx->f, "a double quote is not closed");
	}
	lx->p++;
	return 0;
}

/*
 * Expand up to stop ('\0': the end; '}': the end of a ${...} word; '"': the
 * end of a quoted part, left for the caller): quotes open and close, the
 * escape character protects the next character, '$' expands. When
 * splitting, blanks outside quotes end words.
 */
static int expand_until(struct lexer *lx, struct text *out, char stop, bool quoted)
{
	while (*lx->p && *lx->p != stop) {
		char c = *lx->p++;
		int ret;

		/* A word begins with anything but a blank; a '$' only if its value brings something. */
		if (out == &lx->word && !is_blank(c) && c != '$')
			lx->in_word = true;
		if (c == lx->escape)
			ret = escaped_char(lx, out, quoted);
		else if (c == '$')
			ret = expand_dollar(lx, out, quoted);
		else if (c == '\'' && !quoted)
			ret = single_quoted(lx, out);
		else if (c == '"' && !quoted)
			ret = double_quoted(lx, out);
		else if (is_blank(c) && !quoted && lx->split && out == &lx->word)
			ret = end_word(lx);
		else
			ret = text_char(out, c);
		if (ret < 0)
			return -1;
	}
	if (stop == '}') {
		if (*lx->p != '}') {
			errno = EINVAL;
			return failed(lx->f, "a ${ is not closed");
		}
		lx->p++;
	}
	return 0;
}

static int lex(const char *s, char escape, const struct vars *vars, bool split, struct lexer *lx, struct failure *f)
{
	memset(lx, 0, sizeof(*lx));
	lx->p = s;
	lx->escape = escape;
	lx->vars = vars;
	lx->f = f;
	lx->split = split;
	if (expand_until(lx, &lx->word, '\0', false) < 0 || end_word(lx) < 0) {
		free(lx->word.s);
		free_words(lx->words.items);
		return -1;
	}
	free(lx->word.s);
	if (!lx->words.items && !(lx->words.items = calloc(1, sizeof(char *))))
		return -1;
	return 0;
}

/* One word: quotes and escapes removed, variables replaced, blanks kept ("ENV A=$B", "WORKDIR $HOME/x"). */
int expand_word(const char *s, char escape, const struct vars *vars, char **out, struct failure *f)
{
	struct lexer lx;
	struct text whole = { 0 };

	memset(&lx, 0, sizeof(lx));
	lx.p = s;
	lx.escape = escape;
	lx.vars = vars;
	lx.f = f;
	if (expand_until(&lx, &whole, '\0', false) < 0) {
		free(whole.s);
		return -1;
	}
	*out = whole.s ? whole.s : strdup("");
	return *out ? 0 : -1;
}

/* Several words ("COPY $SRC /dst", "EXPOSE $PORTS"): expanded, then split at unquoted blanks. */
int expand_words(const char *s, char escape, const struct vars *vars, char ***words, size_t *count,
		 struct failure *f)
{
	struct lexer lx;

	if (lex(s, escape, vars, true, &lx, f) < 0)
		return -1;
	*words = lx.words.items;
	*count = lx.words.count;
	return 0;
}

/* ---- lines ---------------------------------------------------------------------------------- */

/* "# escape=`": a directive, if the line is one; name and value into the buffers. */
static bool read_directive(const char *line, char *name, size_t nsize, char *value, size_t vsize)
{
	const char *p = line + strspn(line, " \t");
	size_t n, v;

	if (*p != '#')
		return false;
	p += 1 + strspn(p + 1, " \t");
	n = 0;
	while (isalpha((unsigned char)p[n]))
		n++;
	if (n == 0 || n >= nsize || p[n + strspn(p + n, " \t")] != '=')
		return false;
	snprintf(name, nsize, "%.*s", (int)n, p);
	p += n + strspn(p + n, " \t") + 1;
	p += strspn(p, " \t");
	v = strlen(p);
	while (v > 0 && is_blank(p[v - 1]))
		v--;
	snprintf(value, vsize, "%.*s", (int)(v < vsize ? v : vsize - 1), p);
	return true;
}

/* The escape character from the directives at the top ("# escape=`"); '\\' if none. Returns the first other line. */
static int read_directives(char **lines, size_t count, const char *file, char *escape, size_t *first,
			   struct failure *f)
{
	char name[32], value[64];
	bool seen_escape = false;
	size_t i;

	*escape = '\\';
	for (i = 0; i < count && read_directive(lines[i], name, sizeof(name), value, sizeof(value)); i++) {
		if (strcasecmp(name, "escape") != 0)
			continue;	/* "# syntax=..." and others: box has one syntax */
		if (seen_escape)
			return syntax_error(f, file, (int)i + 1, "only one escape parser directive can be used");
		if (strcmp(value, "\\") != 0 && strcmp(value, "`") != 0)
			return syntax_error(f, file, (int)i + 1, "invalid escape token '%s': it must be ` or \\", value);
		*escape = value[0];
		seen_escape = true;
	}
	*first = i;
	return 0;
}

static bool is_comment(const char *line)
{
	return line[strspn(line, " \t")] == '#';
}

static bool is_empty(const char *line)
{
	for (; *line; line++) {
		if (!is_blank(*line))
			return false;
	}
	return true;
}

/* Does the line end with the escape character (blanks after it allowed)? Cut it off if so. */
static bool cut_continuation(char *line, char escape)
{
	size_t n = strlen(line);

	while (n > 0 && is_blank(line[n - 1]))
		n--;
	if (n == 0 || line[n - 1] != escape)
		return false;
	line[n - 1] = '\0';
	return true;
}

/* ---- instructions ----------------------------------------------------------------------------- */

static int find_keyword(const char *word, enum instruction_kind *kind, const char **name, const char **flags)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strcasecmp(word, keywords[i].name) == 0) {
			*kind = keywords[i].kind;
			*name = keywords[i].name;
			*flags = keywords[i].flags;
			return 0;
		}
	}
	return -1;
}

/* Is name (len characters) one of the space-separated words of allowed? */
static bool flag_allowed(const char *allowed, const char *name, size_t len)
{
	for (const char *p = allowed; *p; p += strcspn(p, " "), p += strspn(p, " ")) {
		if (strcspn(p, " ") == len && strncmp(p, name, len) == 0)
			return true;
	}
	return false;
}

/* "--chown=1:1 src dst": the leading --name=value words become flags; rest points past them. */
static int read_flags(struct instruction *ins, const char *allowed, const char *file, const char **rest,
		      struct failure *f)
{
	const char *p = *rest;

	while (p[0] == '-' && p[1] == '-') {
		size_t len = strcspn(p, " \t"), name_len = strcspn(p + 2, "= \t");

		if (name_len == 0)
			return syntax_error(f, file, ins->line, "%s: a flag without a name", ins->name);
		if (!flag_allowed(allowed, p + 2, name_len))
			return syntax_error(f, file, ins->line, "%s does not take the flag --%.*s", ins->name,
					    (int)name_len, p + 2);
		if (p[2 + name_len] != '=' || ins->nflags == INSTRUCTION_FLAGS_MAX)
			return syntax_error(f, file, ins->line, "%s: --%.*s needs a value (--%.*s=VALUE)", ins->name,
					    (int)name_len, p + 2, (int)name_len, p + 2);
		ins->flags[ins->nflags].name = strndup(p + 2, name_len);
		ins->flags[ins->nflags].value = strndup(p + 3 + name_len, len - name_len - 3);
		ins->nflags++;
		p += len;
		p += strspn(p, " \t");
	}
	*rest = p;
	return 0;
}

const char *instruction_flag(const struct instruction *ins, const char *name)
{
	for (size_t i = 0; i < ins->nflags; i++) {
		if (strcmp(ins->flags[i].name, name) == 0)
			return ins->flags[i].value;
	}
	return NULL;
}

/* ["sh", "-c", "x"]: the exec form, if args is a JSON array of strings. */
static bool read_json_form(const char *args, struct instruction *ins)
{
	json_t *doc, *item;
	size_t i;

	if (args[0] != '[')
		return false;
	doc = json_loads(args, JSON_DECODE_ANY, NULL);
	if (!json_is_array(doc)) {
		json_decref(doc);
		return false;
	}
	json_array_foreach(doc, i, item) {
		if (!json_is_string(item)) {
			json_decref(doc);
			return false;	/* then it is shell form after all, as docker reads it */
		}
	}
	ins->argv = calloc(json_array_size(doc) + 1, sizeof(char *));
	json_array_foreach(doc, i, item) {
		if (ins->argv)
			ins->argv[ins->argc++] = strdup(json_string_value(item));
	}
	json_decref(doc);
	ins->json = ins->argv != NULL;
	return ins->json;
}

/* ENV and LABEL: key=value pairs, or the old "ENV key value with blanks" (one pair). */
static int check_pairs(struct instruction *ins, const char *file, struct failure *f)
{
	if (ins->argc == 0)
		return syntax_error(f, file, ins->line, "%s needs at least one name=value", ins->name);
	if (!strchr(ins->argv[0], '=')) {
		if (ins->argc < 2)
			return syntax_error(f, file, ins->line, "%s %s: it must be %s name=value", ins->name,
					    ins->argv[0], ins->name);
		return 0;	/* the old form: the value is the rest of the line */
	}
	for (size_t i = 0; i < ins->argc; i++) {
		if (!strchr(ins->argv[i], '=') || ins->argv[i][0] == '=')
			return syntax_error(f, file, ins->line, "%s: \"%s\" must be of the form name=value", ins->name,
					    ins->argv[i]);
	}
	return 0;
}

static bool is_arg_name(const char *s, size_t n)
{
	if (n == 0 || !is_name_char(s[0], true))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!is_name_char(s[i], false))
			return false;
	}
	return true;
}

/* What each instruction needs to have, checked before anything runs. */
static int check_arguments(struct instruction *ins, const char *file, struct failure *f)
{
	const char *name = ins->name;

	switch (ins->kind) {
	case INS_FROM:
		if (ins->argc != 1 && !(ins->argc == 3 && strcasecmp(ins->argv[1], "AS") == 0))
			return syntax_error(f, file, ins->line, "FROM takes an image and optionally AS name");
		return 0;
	case INS_COPY:
	case INS_ADD:
		if (ins->argc < 2)
			return syntax_error(f, file, ins->line, "%s needs a source and a destination", name);
		return 0;
	case INS_ENV:
	case INS_LABEL:
		return check_pairs(ins, file, f);
	case INS_ARG:
		if (ins->argc != 1 || !is_arg_name(ins->argv[0], strcspn(ins->argv[0], "=")))
			return syntax_error(f, file, ins->line, "ARG takes one name[=default]");
		return 0;
	case INS_SHELL:
		if (!ins->json || ins->argc == 0)
			return syntax_error(f, file, ins->line, "SHELL needs a JSON array, like [\"/bin/sh\", \"-c\"]");
		return 0;
	case INS_CMD:
	case INS_ENTRYPOINT:
		return 0;	/* an empty CMD or ENTRYPOINT clears it */
	default:
		if (!ins->args[0])
			return syntax_error(f, file, ins->line, "%s needs an argument", name);
		return 0;
	}
}

/* Which instructions' arguments are words (quotes kept, split now; expanded while building). */
static bool takes_words(enum instruction_kind kind)
{
	return kind == INS_FROM || kind == INS_COPY || kind == INS_ADD || kind == INS_ENV || kind == INS_ARG ||
	       kind == INS_LABEL || kind == INS_EXPOSE || kind == INS_VOLUME;
}

static bool may_be_json(enum instruction_kind kind)
{
	return kind == INS_RUN || kind == INS_CMD || kind == INS_ENTRYPOINT || kind == INS_SHELL || kind == INS_COPY ||
	       kind == INS_ADD || kind == INS_VOLUME;
}

/* The arguments after keyword and flags: exec form, words, or the plain rest of the line. */
static int read_arguments(struct instruction *ins, const char *rest, char escape, const char *file, struct failure *f)
{
	size_t len = strlen(rest);

	while (len > 0 && is_blank(rest[len - 1]))
		len--;
	ins->args = strndup(rest, len);
	if (!ins->args)
		return failed(f, "%s:%d", file, ins->line);
	if (may_be_json(ins->kind) && read_json_form(ins->args, ins))
		return check_arguments(ins, file, f);
	if (takes_words(ins->kind) && split_words(ins->args, escape, &ins->argv, &ins->argc) < 0)
		return syntax_error(f, file, ins->line, "%s: a quote is not closed", ins->name);
	return check_arguments(ins, file, f);
}

/*
 * One logical line (continuations joined) into an instruction. Used for
 * 'box commit --change' too, with file "--change" and line 1.
 */
int parse_instruction(const char *file, int line, const char *text, char escape, struct instruction *ins,
		      struct failure *f)
{
	const char *p = text + strspn(text, " \t"), *flags;
	char word[32];
	size_t n = strcspn(p, " \t");

	memset(ins, 0, sizeof(*ins));
	ins->line = line;
	ins->text = strdup(p);
	if (!ins->text)
		return failed(f, "%s:%d", file, line);
	snprintf(word, sizeof(word), "%.*s", (int)(n < sizeof(word) ? n : sizeof(word) - 1), p);
	if (find_keyword(word, &ins->kind, &ins->name, &flags) < 0) {
		for (int i = 0; unsupported[i]; i++) {
			if (strcasecmp(word, unsupported[i]) == 0)
				return syntax_error(f, file, line, "%s is not supported by box", unsupported[i]);
		}
		return syntax_error(f, file, line, "unknown instruction: %.*s", (int)n, p);
	}
	p += n;
	p += strspn(p, " \t");
	if (read_flags(ins, flags, file, &p, f) < 0)
		return -1;
	return read_arguments(ins, p, escape, file, f);
}

void free_instruction(struct instruction *ins)
{
	free(ins->text);
	free(ins->args);
	for (size_t i = 0; i < ins->argc; i++)
		free(ins->argv[i]);
	free(ins->argv);
	for (size_t i = 0; i < ins->nflags; i++) {
		free(ins->flags[i].name);
		free(ins->flags[i].value);
	}
	memset(ins, 0, sizeof(*ins));
}

/* ---- the file --------------------------------------------------------------------------------- */

/* The text as lines (the newlines cut out). */
static char **split_lines(const char *text, size_t *count)
{
	struct list l = { 0 };

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		if (list_add(&l, p, n) < 0) {
			free_words(l.items);
			return NULL;
		}
		p += n + (p[n] == '\n');
	}
	*count = l.count;
	return l.items ? l.items : calloc(1, sizeof(char *));
}

static int add_instruction(struct containerfile *cf, const char *text, int line, struct failure *f)
{
	struct instruction *grown = realloc(cf->instructions, (cf->count + 1) * sizeof(*grown));

	if (!grown)
		return failed(f, "%s:%d", cf->file, line);
	cf->instructions = grown;
	if (parse_instruction(cf->file, line, text, cf->escape, &cf->instructions[cf->count], f) < 0) {
		free_instruction(&cf->instructions[cf->count]);
		return -1;
	}
	cf->count++;
	return 0;
}

/*
 * Join a line and its continuations (lines after a trailing escape
 * character; comment lines and empty lines among them are skipped, as
 * docker does). *i moves to the last line used.
 */
static int logical_line(char **lines, size_t count, size_t *i, char escape, struct text *out)
{
	bool more = cut_continuation(lines[*i], escape);

	if (text_add(out, lines[*i] + strspn(lines[*i], " \t"), strlen(lines[*i] + strspn(lines[*i], " \t"))) < 0)
		return -1;
	while (more && *i + 1 < count) {
		(*i)++;
		if (is_comment(lines[*i]) || is_empty(lines[*i]))
			continue;
		more = cut_continuation(lines[*i], escape);
		if (text_add(out, lines[*i], strlen(lines[*i])) < 0)
			return -1;
	}
	return 0;
}

/* Only ARG may come before the first FROM (its value is for FROM lines only). */
static int check_order(const struct containerfile *cf, struct failure *f)
{
	for (size_t i = 0; i < cf->count; i++) {
		if (cf->instructions[i].kind == INS_FROM)
			return 0;
		if (cf->instructions[i].kind != INS_ARG)
			return syntax_error(f, cf->file, cf->instructions[i].line, "%s before any FROM: a build starts with FROM",
					    cf->instructions[i].name);
	}
	errno = EINVAL;
	return failed(f, "%s: no FROM instruction: nothing to build", cf->file);
}

/*
 * Parse a whole Containerfile (text; file is its name in messages). Every
 * instruction is parsed and checked here, so that a build refuses a bad
 * file before it does anything.
 */
int parse_containerfile(const char *file, const char *text, struct containerfile *cf, struct failure *f)
{
	size_t count, first = 0, i;
	char **lines = split_lines(text, &count);
	int ret = 0;

	memset(cf, 0, sizeof(*cf));
	snprintf(cf->file, sizeof(cf->file), "%s", file);
	if (!lines)
		return failed(f, "read %s", file);
	ret = read_directives(lines, count, file, &cf->escape, &first, f);
	for (i = first; ret == 0 && i < count; i++) {
		struct text line = { 0 };
		size_t start = i;

		if (is_comment(lines[i]) || is_empty(lines[i]))
			continue;
		if (logical_line(lines, count, &i, cf->escape, &line) < 0)
			ret = failed(f, "%s:%zu", file, start + 1);
		else if (line.s && !is_empty(line.s))
			ret = add_instruction(cf, line.s, (int)start + 1, f);
		free(line.s);
	}
	free_words(lines);
	if (ret == 0)
		ret = check_order(cf, f);
	if (ret < 0)
		free_containerfile(cf);
	return ret;
}

void free_containerfile(struct containerfile *cf)
{
	for (size_t i = 0; i < cf->count; i++)
		free_instruction(&cf->instructions[i]);
	free(cf->instructions);
	cf->instructions = NULL;
	cf->count = 0;
}
