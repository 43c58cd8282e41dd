/*
 * logs.c - a container's output in docker's json-file format: written by the
 * monitor, read by box logs.
 *
 * Each line the container prints becomes one line of JSON in log.json:
 *
 *     {"log":"hello\n","stream":"stdout","time":"2025-01-02T03:04:05.123456789Z"}
 *
 * "log" is the line itself, its '\n' included; a line longer than 16 KiB is
 * cut into entries of 16 KiB whose "log" has no '\n' (docker calls them
 * partial), and so is the last line of a container that ends without one.
 * When log.json would grow past its size cap it becomes log.json.1 (which
 * becomes .2, and so on, up to a number of files) and a new log.json starts:
 * docker's max-size and max-file.
 *
 * The writer half runs in the monitor, which must stay small: no stdio, no
 * malloc, buffers of fixed size. The reader half runs in box and may use both.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

enum {
	NSEC_PER_SEC = 1000000000,
	SECONDS_PER_DAY = 86400,
	LOG_CHECK_INTERVAL_SEC = 1,	/* how often the writer looks whether its file still exists */
	READ_CHUNK = 64 * 1024,		/* the reader reads this much at a time */
	READ_LINE_MAX = 1024 * 1024,	/* a longer line is not one the monitor wrote: skip it */
	FOLLOW_WAIT_MS = 1000,		/* -f looks again at least this often, even without inotify */
	DURATION_TEXT_MAX = 32,		/* "1h30m" and the like */
};

static const char *const stream_names[LOG_STREAMS] = { "stdout", "stderr" };
static const char hex_digits[] = "0123456789abcdef";

/* ---- The format: JSON escaping and times ---- */

/*
 * How many bytes the UTF-8 sequence at s takes (2 to 4), or 0 if it is not
 * a valid one. RFC 3629 section 4: the second byte's allowed range excludes
 * overlong forms (E0, F0), the UTF-16 surrogates (ED) and code points past
 * U+10FFFF (F4); C0, C1 and F5..FF never start a character.
 */
static size_t utf8_sequence_len(const unsigned char *s, size_t len)
{
	unsigned char low = 0x80, high = 0xBF;
	size_t n;

	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xE0)
		low = 0xA0;
	else if (s[0] == 0xED)
		high = 0x9F;
	else if (s[0] == 0xF0)
		low = 0x90;
	else if (s[0] == 0xF4)
		high = 0x8F;
	if (len < n || s[1] < low || s[1] > high)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	}
	return n;
}

/* "\u00XX" for the byte c. */
static size_t escape_as_u00(unsigned char c, char out[6])
{
	memcpy(out, "\\u00", 4);
	out[4] = hex_digits[c >> 4];
	out[5] = hex_digits[c & 0xF];
	return 6;
}

/*
 * The JSON form of the character at in[0] (in[0..len) is what is left):
 * writes it to out, sets *used to the bytes of input it took, and returns
 * the bytes written (1 to 6). This is what docker writes, byte for byte
 * (moby's jsonlog, after Go's encoding/json): '"' and '\' get a backslash,
 * \n and \r their short forms, other control characters and < > & become
 * \u00XX (Go's "HTML-safe" JSON), U+2028 and U+2029 become \u2028 and
 * \u2029 (JavaScript would take them for line ends), valid UTF-8 is kept as
 * it is, and each byte that is not part of valid UTF-8 becomes \ufffd: JSON
 * text must be UTF-8 (RFC 8259 section 8.1).
 */
size_t json_escape_char(const char *in, size_t len, char out[6], size_t *used)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n;

	*used = 1;
	if (s[0] == '"' || s[0] == '\\') {
		out[0] = '\\';
		out[1] = (char)s[0];
		return 2;
	}
	if (s[0] == '\n' || s[0] == '\r') {
		out[0] = '\\';
		out[1] = s[0] == '\n' ? 'n' : 'r';
		return 2;
	}
	if (s[0] < 0x20 || s[0] == '<' || s[0] == '>' || s[0] == '&')
		return escape_as_u00(s[0], out);
	if (s[0] < 0x80) {
		out[0] = (char)s[0];
		return 1;
	}
	n = utf8_sequence_len(s, len);
	if (n == 0) {
		memcpy(out, "\\ufffd", 6);
		return 6;
	}
	*used = n;
	if (n == 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9)) {
		memcpy(out, s[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
		return 6;
	}
	memcpy(out, s, n);
	return n;
}

/* How long text will be once escaped: the writer must know an entry's size before it writes it. */
size_t json_escaped_len(const char *text, size_t len)
{
	size_t total = 0, used;
	char piece[6];

	for (size_t i = 0; i < len; i += used)
		total += json_escape_char(text + i, len - i, piece, &used);
	return total;
}

/* Write value as exactly width decimal digits at p (leading zeros); return the end. */
static char *put_digits(char *p, long value, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + value % 10);
		value /= 10;
	}
	return p + width;
}

/* A date and time of day in UTC: what format_time prints. */
struct utc_time {
	long year;
	int month, day;		/* 1..12, 1..31 */
	int hour, minute, second;
};

static bool is_leap_year(long year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(long year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

/*
 * Seconds since 1970 (UTC, no leap seconds: time(7)) as a calendar date,
 * counted out year by year and month by month. Not gmtime_r(3): in a
 * static glibc binary it brings in the whole time zone machinery (tzfile
 * reading, scanf), 135 KB the monitor would carry in memory and never use.
 * Times before 1970 do not occur in a log.
 */
static int utc_time(time_t seconds, struct utc_time *u)
{
	long days = (long)(seconds / SECONDS_PER_DAY), rest = (long)(seconds % SECONDS_PER_DAY);

	if (seconds < 0) {
		errno = EOVERFLOW;
		return -1;
	}
	u->hour = (int)(rest / 3600);
	u->minute = (int)(rest / 60 % 60);
	u->second = (int)(rest % 60);
	for (u->year = 1970; days >= (is_leap_year(u->year) ? 366 : 365); u->year++)
		days -= is_leap_year(u->year) ? 366 : 365;
	for (u->month = 1; days >= days_in_month(u->year, u->month); u->month++)
		days -= days_in_month(u->year, u->month);
	u->day = (int)days + 1;
	return 0;
}

/*
 * t as RFC 3339 in UTC: "2025-01-02T03:04:05.123456789Z". fixed: always nine
 * digits of fraction, as box logs -t prints it (docker's RFC3339NanoFixed,
 * so that lines align); else trailing zeros dropped, and the dot with them
 * when nothing is left, as docker writes "time" (Go's time.RFC3339Nano).
 * By hand rather than with strftime(3) or snprintf(3): the monitor calls
 * this for every line and keeps clear of stdio.
 */
int format_time(const struct timespec *t, bool fixed, char buf[LOG_TIME_MAX])
{
	struct utc_time u;
	char *p = buf;
	int digits = 9;
	long fraction = t->tv_nsec;

	if (utc_time(t->tv_sec, &u) < 0 || u.year > 9999) {
		errno = EOVERFLOW;	/* RFC 3339 years have four digits */
		return -1;
	}
	p = put_digits(p, u.year, 4);
	*p++ = '-';
	p = put_digits(p, u.month, 2);
	*p++ = '-';
	p = put_digits(p, u.day, 2);
	*p++ = 'T';
	p = put_digits(p, u.hour, 2);
	*p++ = ':';
	p = put_digits(p, u.minute, 2);
	*p++ = ':';
	p = put_digits(p, u.second, 2);
	while (!fixed && digits > 0 && fraction % 10 == 0) {
		fraction /= 10;
		digits--;
	}
	if (digits > 0) {
		*p++ = '.';
		p = put_digits(p, fraction, digits);
	}
	*p++ = 'Z';
	*p = '\0';
	return 0;
}

/*
 * Where an entry goes while it is built: a buffer that is either the whole
 * destination (fd < 0: log_entry_format) or a window onto a file that is
 * written out whenever it fills (the writer: entries may be ~100 KiB once
 * escaped, far more than the monitor wants to hold at once).
 */
struct sink {
	char *buf;
	size_t size, used;
	int fd;
};

static int sink_flush(struct sink *s)
{
	if (s->fd >= 0 && s->used > 0 && write_all(s->fd, s->buf, s->used) < 0)
		return -1;
	s->used = 0;
	return 0;
}

static int sink_put(struct sink *s, const char *data, size_t len)
{
	if (s->used + len > s->size) {
		if (s->fd < 0) {
			errno = ENOBUFS;
			return -1;
		}
		if (sink_flush(s) < 0)
			return -1;
	}
	memcpy(s->buf + s->used, data, len);
	s->used += len;
	return 0;
}

/* The fixed text between the escaped line and the time: ","stream":"stdout","time":" */
static int put_middle(struct sink *s, enum log_stream stream)
{
	const char *name = stream_names[stream];

	if (sink_put(s, "\",\"stream\":\"", 12) < 0 || sink_put(s, name, strlen(name)) < 0)
		return -1;
	return sink_put(s, "\",\"time\":\"", 10);
}

/* One whole entry, its '\n' included, into s. */
static int put_entry(struct sink *s, enum log_stream stream, const char *text, size_t len, const char *time)
{
	size_t used, n;
	char piece[6];

	if (sink_put(s, "{\"log\":\"", 8) < 0)
		return -1;
	for (size_t i = 0; i < len; i += used) {
		n = json_escape_char(text + i, len - i, piece, &used);
		if (sink_put(s, piece, n) < 0)
			return -1;
	}
	if (put_middle(s, stream) < 0 || sink_put(s, time, strlen(time)) < 0)
		return -1;
	return sink_put(s, "\"}\n", 3);
}

/* The size in bytes of the entry put_entry would write. */
static size_t entry_size(enum log_stream stream, const char *text, size_t len, const char *time)
{
	return strlen("{\"log\":\"") + json_escaped_len(text, len) + strlen("\",\"stream\":\"") +
	       strlen(stream_names[stream]) + strlen("\",\"time\":\"") + strlen(time) + strlen("\"}\n");
}

/* The entry for text, read at time t, as a '\0'-ended string in buf (the tests compare these). */
int log_entry_format(char *buf, size_t size, enum log_stream stream, const char *text, size_t len,
		     const struct timespec *t)
{
	char time[LOG_TIME_MAX];
	struct sink s = { .buf = buf, .size = size ? size - 1 : 0, .fd = -1 };

	if (format_time(t, false, time) < 0 || put_entry(&s, stream, text, len, time) < 0)
		return -1;
	buf[s.used] = '\0';
	return 0;
}

/* ---- The writer (monitor) ---- */

/* "log.json" for n = 0, else "log.json.n". */
static int rotated_name(char *buf, size_t size, const char *path, int n)
{
	if (n == 0)
		return format_into(buf, size, "%s", path);
	return format_into(buf, size, "%s.%d", path, n);
}

/*
 * Open (or create) the current file for appending. O_APPEND: every write
 * goes to the end, so a half-written entry cut back with ftruncate(2) (see
 * write_entry) is simply overwritten by the next one.
 */
static int open_current(struct log_writer *w)
{
	struct stat st;

	w->fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (w->fd < 0)
		return -1;
	if (fstat(w->fd, &st) < 0) {
		int err = errno;

		close(w->fd);
		w->fd = -1;
		errno = err;
		return -1;
	}
	w->size = st.st_size;
	return 0;
}

/*
 * Set up w for the file at path; it appends to a log.json already there
 * (a restarted container keeps its log, as with docker). If the file cannot
 * be opened now this returns -1, but w is still usable: the writer tries
 * again at most once a second (check_file) and drops entries meanwhile.
 * The line buffers are not cleared with memset: the monitor's w lives in
 * zeroed memory, and 32 KiB never touched cost no RSS.
 */
int log_open(struct log_writer *w, const char *path, long long max_size, int max_files)
{
	w->fd = -1;
	w->size = 0;
	w->max_size = max_size;
	w->max_files = max_files < 1 ? 1 : max_files;
	w->error = 0;
	w->dropped = 0;
	w->lines[LOG_STDOUT].len = 0;
	w->lines[LOG_STDERR].len = 0;
	clock_gettime(CLOCK_MONOTONIC, &w->last_check);
	if (format_into(w->path, sizeof(w->path), "%s", path) < 0 || open_current(w) < 0) {
		w->error = errno;
		return -1;
	}
	return 0;
}

/*
 * log.json -> log.json.1 -> log.json.2 ...: rename(2) replaces its target
 * at once, so the oldest file simply disappears under the one renamed over
 * it. Readers that hold a file open keep reading it (box logs -f notices
 * that log.json is a new file and moves on to it). With max_files 1 there
 * is nothing to keep: the file is removed and started again.
 */
static int rotate(struct log_writer *w)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->max_files == 1 && unlink(w->path) < 0 && errno != ENOENT)
		return -1;
	for (int n = w->max_files - 1; n >= 1; n--) {
		if (rotated_name(from, sizeof(from), w->path, n - 1) < 0 ||
		    rotated_name(to, sizeof(to), w->path, n) < 0)
			return -1;
		if (rename(from, to) < 0 && errno != ENOENT)
			return -1;
	}
	return open_current(w);
}

/* Seconds from a to b (CLOCK_MONOTONIC times). */
static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / NSEC_PER_SEC;
}

/*
 * At most once a second: open the file if it could not be opened before,
 * or open it anew if it was removed under us (st_nlink 0: someone deleted
 * it, or its whole directory), since writes to a removed file succeed and
 * go nowhere. Never more often: a log directory gone for good must not
 * cost an open(2) per line.
 */
static void check_file(struct log_writer *w)
{
	struct timespec now;
	struct stat st;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (seconds_between(&w->last_check, &now) < LOG_CHECK_INTERVAL_SEC)
		return;
	w->last_check = now;
	if (w->fd >= 0 && fstat(w->fd, &st) == 0 && st.st_nlink > 0)
		return;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (open_current(w) < 0)
		w->error = errno;
}

/*
 * Append one entry. Rotate first if it would carry the file past max_size
 * (a file then never exceeds the cap, unless one entry alone does). If the
 * write fails part way (disk full), cut the file back to where the entry
 * began, so that readers never meet half a line; the entry is lost, the
 * container is not held up.
 */
static int write_entry(struct log_writer *w, enum log_stream stream, const char *text, size_t len,
		       const struct timespec *t)
{
	char time[LOG_TIME_MAX], chunk[LOG_CHUNK];
	struct sink s = { .buf = chunk, .size = sizeof(chunk) };
	size_t size;

	if (format_time(t, false, time) < 0)
		return -1;
	size = entry_size(stream, text, len, time);
	check_file(w);
	if (w->fd >= 0 && w->max_size > 0 && w->size > 0 && w->size + (long long)size > w->max_size &&
	    rotate(w) < 0)
		w->error = errno;
	if (w->fd < 0) {
		w->dropped++;
		errno = w->error;
		return -1;
	}
	s.fd = w->fd;
	if (put_entry(&s, stream, text, len, time) < 0 || sink_flush(&s) < 0) {
		w->error = errno;
		w->dropped++;
		if (ftruncate(w->fd, w->size) < 0)
			w->error = errno;
		errno = w->error;
		return -1;
	}
	w->size += (long long)size;
	w->error = 0;
	return 0;
}

/*
 * Output read from the container (any number of bytes, cut anywhere):
 * whole lines become entries at once; the rest waits in the stream's line
 * buffer for its '\n', or until 16 KiB have gathered (then it is written as
 * a partial entry, as docker does). stdout and stderr have a buffer each,
 * so their lines never mix. Returns -1 if an entry was lost.
 */
int log_write(struct log_writer *w, enum log_stream stream, const char *data, size_t len,
	      const struct timespec *now)
{
	struct log_line *line = &w->lines[stream];
	int ret = 0;

	while (len > 0) {
		const char *newline = memchr(data, '\n', len);
		size_t take = newline ? (size_t)(newline - data) + 1 : len;

		if (line->len == 0 && newline && take <= LOG_LINE_MAX) {
			/* A whole line and nothing waiting before it: write it from where it is. */
			if (write_entry(w, stream, data, take, now) < 0)
				ret = -1;
		} else {
			if (take > LOG_LINE_MAX - line->len)
				take = LOG_LINE_MAX - line->len;
			memcpy(line->text + line->len, data, take);
			line->len += take;
			if ((line->text[line->len - 1] == '\n' || line->len == LOG_LINE_MAX) &&
			    log_flush(w, stream, now) < 0)
				ret = -1;
		}
		data += take;
		len -= take;
	}
	return ret;
}

/* Write what waits in stream's line buffer as an entry: at its '\n', when full, or at the end. */
int log_flush(struct log_writer *w, enum log_stream stream, const struct timespec *now)
{
	struct log_line *line = &w->lines[stream];
	int ret = 0;

	if (line->len > 0)
		ret = write_entry(w, stream, line->text, line->len, now);
	line->len = 0;
	return ret;
}

void log_close(struct log_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

/* ---- Parsing (box logs) ---- */

/* A place in a line of JSON being read. */
struct scan {
	char *p, *end;
};

static void skip_space(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
		s->p++;
}

static int expect(struct scan *s, char c)
{
	skip_space(s);
	if (s->p == s->end || *s->p != c) {
		errno = EINVAL;
		return -1;
	}
	s->p++;
	return 0;
}

/* The value of the hex digit c, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of the four hex digits at p, or -1. */
static long hex4(const char *p, const char *end)
{
	long value = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		if (hex_value(p[i]) < 0)
			return -1;
		value = value * 16 + hex_value(p[i]);
	}
	return value;
}

/* Code point c as UTF-8 at out; returns the bytes written (1 to 4). */
static size_t put_utf8(char *out, unsigned long c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/*
 * \uXXXX at s->p (just after the 'u'): the code point, joining a UTF-16
 * surrogate pair (\ud83d\ude00) into one (RFC 8259 section 7). A lone
 * surrogate cannot be UTF-8: it becomes U+FFFD, as Go decodes it.
 */
static long unicode_escape(struct scan *s)
{
	long c = hex4(s->p, s->end), low;

	if (c < 0)
		return -1;
	s->p += 4;
	if (c < 0xD800 || c > 0xDFFF)
		return c;
	if (c > 0xDBFF || s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u')
		return 0xFFFD;
	low = hex4(s->p + 2, s->end);
	if (low < 0xDC00 || low > 0xDFFF)
		return 0xFFFD;
	s->p += 6;
	return 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
}

/* The character after a backslash (s->p is just past it), decoded to out; bytes written, or -1. */
static int unescape_one(struct scan *s, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *which;
	long c;

	if (s->p == s->end)
		return -1;
	if (*s->p == 'u') {
		s->p++;
		c = unicode_escape(s);
		return c < 0 ? -1 : (int)put_utf8(out, (unsigned long)c);
	}
	which = strchr(from, *s->p);
	if (!which || *s->p == '\0')
		return -1;
	s->p++;
	*out = to[which - from];
	return 1;
}

/*
 * A JSON string at s->p, decoded where it lies (the decoded text is never
 * longer than its escaped form), '\0'-ended in place of its closing quote
 * or earlier. *text and *len give the result.
 */
static int scan_string(struct scan *s, char **text, size_t *len)
{
	char *out;
	int n;

	if (expect(s, '"') < 0)
		return -1;
	*text = out = s->p;
	while (s->p < s->end && *s->p != '"') {
		if (*s->p != '\\') {
			*out++ = *s->p++;
			continue;
		}
		s->p++;
		n = unescape_one(s, out);
		if (n < 0) {
			errno = EINVAL;
			return -1;
		}
		out += n;
	}
	if (s->p == s->end) {
		errno = EINVAL;
		return -1;
	}
	s->p++;
	*len = (size_t)(out - *text);
	*out = '\0';
	return 0;
}

/* One "key":"value" of an entry, kept in e if box knows the key. */
static int take_field(const char *key, char *value, size_t len, struct log_entry *e, bool *have_time)
{
	if (strcmp(key, "log") == 0) {
		e->text = value;
		e->len = len;
	} else if (strcmp(key, "stream") == 0) {
		if (strcmp(value, "stdout") == 0)
			e->stream = LOG_STDOUT;
		else if (strcmp(value, "stderr") == 0)
			e->stream = LOG_STDERR;
		else
			return -1;
	} else if (strcmp(key, "time") == 0) {
		if (parse_time(value, &e->time) < 0)
			return -1;
		*have_time = true;
	}
	return 0;
}

/*
 * One line of log.json (without its '\n') into e; the line is decoded in
 * place and e->text points into it. The line is an object whose values are
 * strings; "log" may be missing (docker leaves out an empty one), "time"
 * may not. Returns -1 with EINVAL for anything else: a reader skips such a
 * line rather than stop.
 */
int parse_log_entry(char *line, size_t len, struct log_entry *e)
{
	struct scan s = { line, line + len };
	bool have_time = false;
	char *key, *value;
	size_t key_len, value_len;

	e->stream = LOG_STDOUT;
	e->text = line;
	e->len = 0;
	if (expect(&s, '{') < 0)
		return -1;
	for (;;) {
		if (scan_string(&s, &key, &key_len) < 0 || expect(&s, ':') < 0 ||
		    scan_string(&s, &value, &value_len) < 0)
			return -1;
		if (take_field(key, value, value_len, e, &have_time) < 0) {
			errno = EINVAL;
			return -1;
		}
		if (expect(&s, ',') < 0)
			break;
	}
	if (expect(&s, '}') < 0 || !have_time) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* ---- Times: "time" values and --since ---- */

/* width decimal digits at *p into *value; *p moves past them. */
static int take_digits(const char **p, int width, int *value)
{
	*value = 0;
	for (int i = 0; i < width; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		*value = *value * 10 + ((*p)[i] - '0');
	}
	*p += width;
	return 0;
}

/* c at *p, then move past it. */
static int take_char(const char **p, const char *either)
{
	if (**p == '\0' || !strchr(either, **p))
		return -1;
	(*p)++;
	return 0;
}

/* "YYYY-MM-DD" at *p. */
static int take_date(const char **p, struct tm *tm)
{
	if (take_digits(p, 4, &tm->tm_year) < 0 || take_char(p, "-") < 0 || take_digits(p, 2, &tm->tm_mon) < 0 ||
	    take_char(p, "-") < 0 || take_digits(p, 2, &tm->tm_mday) < 0)
		return -1;
	tm->tm_year -= 1900;
	tm->tm_mon -= 1;
	return 0;
}

/* "HH:MM:SS[.fraction]" at *p (RFC 3339 section 5.6: any number of fraction digits; ours keeps 9). */
static int take_clock(const char **p, struct tm *tm, long *nsec)
{
	long scale = NSEC_PER_SEC / 10;

	if (take_digits(p, 2, &tm->tm_hour) < 0 || take_char(p, ":") < 0 || take_digits(p, 2, &tm->tm_min) < 0 ||
	    take_char(p, ":") < 0 || take_digits(p, 2, &tm->tm_sec) < 0)
		return -1;
	*nsec = 0;
	if (**p != '.')
		return 0;
	(*p)++;
	if (**p < '0' || **p > '9')
		return -1;
	for (; **p >= '0' && **p <= '9'; (*p)++, scale /= 10)
		*nsec += (**p - '0') * scale;
	return 0;
}

/* "Z" or "+HH:MM" / "-HH:MM" at *p: the zone's offset east of UTC, in seconds. */
static int take_zone(const char **p, long *offset)
{
	int hours, minutes, sign;

	if (take_char(p, "Zz") == 0) {
		*offset = 0;
		return 0;
	}
	sign = **p == '-' ? -1 : 1;
	if (take_char(p, "+-") < 0 || take_digits(p, 2, &hours) < 0 || take_char(p, ":") < 0 ||
	    take_digits(p, 2, &minutes) < 0)
		return -1;
	*offset = sign * (hours * 3600L + minutes * 60L);
	return 0;
}

/*
 * An RFC 3339 time with its zone, "2025-01-02T03:04:05.5Z" or
 * "...05+02:00", as the monitor writes it (and docker, and box logs -t).
 * timegm(3) turns the fields into seconds since the epoch as if in UTC;
 * the zone's offset then moves them to UTC.
 */
int parse_time(const char *text, struct timespec *t)
{
	struct tm tm = { 0 };
	long nsec, offset;
	time_t seconds;

	if (take_date(&text, &tm) < 0 || take_char(&text, "Tt ") < 0 || take_clock(&text, &tm, &nsec) < 0 ||
	    take_zone(&text, &offset) < 0 || *text != '\0') {
		errno = EINVAL;
		return -1;
	}
	seconds = timegm(&tm);
	t->tv_sec = seconds - offset;
	t->tv_nsec = nsec;
	return 0;
}

/* A time without a zone ("2025-01-02" or "2025-01-02T03:04:05"): local time, as docker reads it. */
static int parse_local_time(const char *text, struct timespec *t)
{
	struct tm tm = { 0 };
	long nsec = 0;

	if (take_date(&text, &tm) < 0)
		return -1;
	if (*text != '\0' && (take_char(&text, "Tt ") < 0 || take_clock(&text, &tm, &nsec) < 0))
		return -1;
	if (*text != '\0')
		return -1;
	tm.tm_isdst = -1;	/* mktime(3): let the time zone rules say whether DST applies */
	t->tv_sec = mktime(&tm);
	t->tv_nsec = nsec;
	return 0;
}

/* Seconds in one unit of a Go duration ("ns", "us", "ms", "s", "m", "h"), or 0 if unknown. */
static double unit_seconds(const char *unit, size_t len)
{
	static const struct {
		const char *name;
		double seconds;
	} units[] = { { "ns", 1e-9 }, { "us", 1e-6 }, { "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) == len && strncmp(units[i].name, unit, len) == 0)
			return units[i].seconds;
	}
	return 0;
}

/* A duration like "10m", "1h30m" or "1.5h" (Go's time.ParseDuration, which docker uses), in seconds. */
static int parse_duration(const char *text, double *seconds)
{
	const char *p = text;
	char *end;

	*seconds = 0;
	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		double value = strtod(p, &end), unit;
		size_t len = 0;

		if (end == p || ((*p < '0' || *p > '9') && *p != '.'))
			return -1;	/* strtod(3) would also take a sign, "inf" and "nan" */
		while (end[len] >= 'a' && end[len] <= 'z')
			len++;
		unit = unit_seconds(end, len);
		if (unit == 0)
			return -1;
		*seconds += value * unit;
		p = end + len;
	}
	return 0;
}

/* "1700000000" or "1700000000.5": seconds since the epoch. */
static int parse_epoch(const char *text, struct timespec *t)
{
	char *end;
	double seconds;

	if (strspn(text, "0123456789.") != strlen(text))
		return -1;
	seconds = strtod(text, &end);
	if (end == text || *end != '\0')
		return -1;
	t->tv_sec = (time_t)seconds;
	t->tv_nsec = (long)((seconds - (double)t->tv_sec) * NSEC_PER_SEC);
	return 0;
}

/*
 * --since as docker takes it: a duration back from now ("10m", "1h30m"),
 * seconds since the epoch ("1700000000.5"), an RFC 3339 time with a zone,
 * or a date or date and time without one (local time).
 */
int parse_since(const char *text, const struct timespec *now, struct timespec *since)
{
	double seconds;

	if (parse_duration(text, &seconds) == 0) {
		double start = (double)now->tv_sec + (double)now->tv_nsec / NSEC_PER_SEC - seconds;

		since->tv_sec = (time_t)start;
		since->tv_nsec = (long)((start - (double)since->tv_sec) * NSEC_PER_SEC);
		return 0;
	}
	if (parse_epoch(text, since) == 0 || parse_time(text, since) == 0 || parse_local_time(text, since) == 0)
		return 0;
	errno = EINVAL;
	return -1;
}

/* ---- Reading (box logs) ---- */

/* Lines of one file, read in chunks; a line may span chunks, and in -f, reads. */
struct line_reader {
	int fd;
	char *buf;
	size_t cap, len, start;	/* buf[start..len) is read but not yet returned */
	bool skipping;		/* inside a line too long to be ours: drop it up to its '\n' */
};

static int reader_init(struct line_reader *r, int fd)
{
	r->fd = fd;
	r->cap = READ_CHUNK;
	r->len = r->start = 0;
	r->skipping = false;
	r->buf = malloc(r->cap);
	return r->buf ? 0 : -1;
}

static void reader_free(struct line_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	free(r->buf);
	r->buf = NULL;
}

/* Make room for more: move what is left to the front, or grow, or give up on the line. */
static int reader_make_room(struct line_reader *r)
{
	char *bigger;

	memmove(r->buf, r->buf + r->start, r->len - r->start);
	r->len -= r->start;
	r->start = 0;
	if (r->len < r->cap)
		return 0;
	if (r->cap >= READ_LINE_MAX) {
		r->len = 0;
		r->skipping = true;
		return 0;
	}
	bigger = realloc(r->buf, r->cap * 2);
	if (!bigger)
		return -1;
	r->buf = bigger;
	r->cap *= 2;
	return 0;
}

/*
 * The next whole line (without its '\n'): 1 and *line if there is one, 0
 * at end of file, -1 on error. A last line without '\n' is not returned: in
 * log.json that is an entry the monitor is writing right now, and -f will
 * have the rest of it later.
 */
static int next_line(struct line_reader *r, char **line, size_t *len)
{
	for (;;) {
		char *newline = memchr(r->buf + r->start, '\n', r->len - r->start);
		ssize_t n;

		if (newline) {
			*line = r->buf + r->start;
			*len = (size_t)(newline - *line);
			r->start += *len + 1;
			if (!r->skipping)
				return 1;
			r->skipping = false;
			continue;
		}
		if (r->fd < 0 || reader_make_room(r) < 0)
			return r->fd < 0 ? 0 : -1;
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		r->len += (size_t)n;
	}
}

/* Is a before b? */
static bool time_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* One entry to stdout or stderr, if the query wants it; with -t, its time first. */
static int print_entry(const struct log_entry *e, const struct log_query *q)
{
	int fd = e->stream == LOG_STDOUT ? q->out_fd : q->err_fd;
	char stamp[LOG_TIME_MAX + 1];

	if (!q->want[e->stream] || (q->since_set && time_before(&e->time, &q->since)))
		return 0;
	if (q->timestamps) {
		if (format_time(&e->time, true, stamp) < 0)
			return -1;
		strcat(stamp, " ");
		if (write_all(fd, stamp, strlen(stamp)) < 0)
			return -1;
	}
	return write_all(fd, e->text, e->len);
}

/* Print the whole lines r has from here on, skipping the first skip of them; lines that are not entries are passed over. */
static int print_lines(struct line_reader *r, long skip, const struct log_query *q)
{
	struct log_entry e;
	char *line = NULL;
	size_t len = 0;
	int more;

	while ((more = next_line(r, &line, &len)) > 0) {
		if (skip > 0) {
			skip--;
			continue;
		}
		if (parse_log_entry(line, len, &e) == 0 && print_entry(&e, q) < 0)
			return -1;
	}
	return more;
}

/* The open files of a log, newest first: fds[0] is log.json (-1 if it does not exist yet). */
struct log_files {
	int fds[LOG_FILES_MAX];
	int count;
};

/* Is fd the same file as one of the first n in files? (A rotation while we opened them.) */
static bool already_open(const struct log_files *files, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0)
		return false;
	for (int i = 0; i < files->count; i++) {
		if (files->fds[i] >= 0 && fstat(files->fds[i], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return true;
	}
	return false;
}

/*
 * Open log.json, log.json.1, ... newest first, until one is missing. Files
 * stay readable once open, whatever the monitor renames. Opening newest
 * first, a rotation between two opens shows up as one file met twice
 * (log.json, then the same file as log.json.1): the second is dropped, and
 * the next name is the file that was log.json.1 before: nothing is missed.
 */
static int open_log_files(const char *path, struct log_files *files, struct failure *f)
{
	char name[PATH_MAX];
	int fd;

	files->count = 0;
	for (int n = 0; n < LOG_FILES_MAX; n++) {
		if (rotated_name(name, sizeof(name), path, n) < 0)
			return failed(f, "log file name %s.%d", path, n);
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			return failed(f, "open %s", name);
		if (fd < 0 && n > 0)
			break;
		if (fd >= 0 && already_open(files, fd)) {
			close(fd);
			continue;
		}
		files->fds[files->count++] = fd;
	}
	return 0;
}

/* Lines (entries) in the file fd, which is then read again from its start. */
static long count_lines(int fd)
{
	char buf[READ_CHUNK];
	long lines = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	return lseek(fd, 0, SEEK_SET) < 0 ? -1 : lines;
}

/*
 * --tail N across files: count entries from the newest file back until N
 * are found. *first is the file to start in (an index into files) and *skip
 * the entries to pass over at its start. Like docker, the tail counts
 * entries of both streams, before --since and the stream choice filter them.
 */
static int find_tail(const struct log_files *files, long tail, int *first, long *skip)
{
	long need = tail, lines;

	*first = files->count - 1;
	*skip = 0;
	if (tail < 0)
		return 0;
	for (int i = 0; i < files->count; i++) {
		lines = count_lines(files->fds[i]);
		if (lines < 0)
			return -1;
		if (lines >= need) {
			*first = i;
			*skip = lines - need;
			return 0;
		}
		need -= lines;
	}
	return 0;
}

/* Does path name a file that exists? */
static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The directory part of path ("." if none). */
static int dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return format_into(dir, size, ".");
	if (slash == path)
		return format_into(dir, size, "/");
	return format_into(dir, size, "%.*s", (int)(slash - path), path);
}

/*
 * inotify(7): one watch on the log's directory wakes -f when the monitor
 * writes (IN_MODIFY), rotates (IN_MOVED_*, IN_CREATE) or the directory
 * goes; one on the exit file's directory when the monitor finishes. If
 * inotify is not available (-1), -f still looks once a second.
 */
static int watch_changes(const char *path, const char *stop_file)
{
	const uint32_t mask = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF;
	char dir[PATH_MAX];
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd < 0)
		return -1;
	if (dir_of(path, dir, sizeof(dir)) == 0)
		inotify_add_watch(fd, dir, mask);
	if (stop_file && dir_of(stop_file, dir, sizeof(dir)) == 0)
		inotify_add_watch(fd, dir, mask);
	return fd;
}

/* Sleep until something changes in the watched directories, or FOLLOW_WAIT_MS. */
static void wait_for_change(int watch_fd)
{
	char events[4096];
	struct pollfd pfd = { .fd = watch_fd, .events = POLLIN };

	poll(&pfd, 1, FOLLOW_WAIT_MS);	/* a negative fd makes poll(2) just wait */
	while (watch_fd >= 0 && read(watch_fd, events, sizeof(events)) > 0)
		;	/* which change it was does not matter: -f looks at everything again */
}

/* Has log.json been rotated away from under r (or appeared, if r has no file yet)? */
static bool rotated(const char *path, const struct line_reader *r)
{
	struct stat now, ours;

	if (stat(path, &now) < 0)
		return false;
	if (r->fd < 0)
		return true;
	return fstat(r->fd, &ours) < 0 || now.st_ino != ours.st_ino || now.st_dev != ours.st_dev;
}

/* Which number the file st now has among log.json (0), log.json.1, .2, ...; -1 if none (it fell off the end). */
static int file_number(const char *path, const struct stat *st)
{
	char name[PATH_MAX];
	struct stat other;

	for (int n = 0; n < LOG_FILES_MAX; n++) {
		if (rotated_name(name, sizeof(name), path, n) < 0)
			return -1;
		if (stat(name, &other) < 0) {
			if (n == 0)
				continue;	/* between a rotation's rename and its new log.json */
			return -1;
		}
		if (other.st_ino == st->st_ino && other.st_dev == st->st_dev)
			return n;
	}
	return -1;
}

/* The highest number that exists: the oldest file kept. */
static int oldest_number(const char *path)
{
	char name[PATH_MAX];
	int n = 1;

	while (n < LOG_FILES_MAX && rotated_name(name, sizeof(name), path, n) == 0 && access(name, F_OK) == 0)
		n++;
	return n - 1;
}

/*
 * The file that comes after fd's: if fd's file is now log.json.N, that is
 * log.json.N-1 (or log.json). Several rotations may have passed while we
 * read, so it need not be log.json. A rotation renames the oldest file
 * first, so if ours is still number N after we opened N-1, then N-1 was
 * the file after ours when we opened it. If ours has fallen off the end,
 * what it held last is lost to us: go on with the oldest file kept.
 */
static int open_next(const char *path, int fd)
{
	char name[PATH_MAX];
	struct stat ours;
	int n, next;

	if (fstat(fd, &ours) < 0)
		return -1;
	for (;;) {
		n = file_number(path, &ours);
		if (rotated_name(name, sizeof(name), path, n > 0 ? n - 1 : oldest_number(path)) < 0)
			return -1;
		next = open(name, O_RDONLY | O_CLOEXEC);
		if (next < 0 || n <= 0 || file_number(path, &ours) == n)
			return next;
		close(next);	/* a rotation came between: look again */
	}
}

/*
 * Move on from a file that is no longer log.json to the one after it. The
 * old file is complete (the monitor closes it before it renames it), but
 * it may have grown since we last read it: finish it first. A partial
 * line left in it stays unfinished: drop it.
 */
static int switch_file(const char *path, struct line_reader *r, const struct log_query *q)
{
	int next;

	if (print_lines(r, 0, q) < 0)
		return -1;
	next = r->fd >= 0 ? open_next(path, r->fd) : open(path, O_RDONLY | O_CLOEXEC);
	if (next < 0 && errno != ENOENT)
		return -1;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = next;
	r->len = r->start = 0;
	r->skipping = false;
	return 0;
}

/* Should -f end? Once the exit file exists, all output is in the log; a removed directory (--rm) also ends it. */
static bool follow_done(const char *path, const char *stop_file)
{
	char dir[PATH_MAX];

	if (stop_file && exists(stop_file))
		return true;
	return dir_of(path, dir, sizeof(dir)) == 0 && !exists(dir);
}

/*
 * -f: print entries as the monitor writes them, until the container exits.
 * "done" is decided before the last read, so that entries written just
 * before the exit file appeared are still printed.
 */
static int follow(const char *path, struct line_reader *r, const struct log_query *q, struct failure *f)
{
	int watch_fd = watch_changes(path, q->stop_file), ret = 0;
	bool done;

	for (;;) {
		done = follow_done(path, q->stop_file);
		if (print_lines(r, 0, q) < 0) {
			ret = failed(f, "read %s", path);
			break;
		}
		if (rotated(path, r)) {
			if (switch_file(path, r, q) < 0) {
				ret = failed(f, "open %s after its rotation", path);
				break;
			}
			continue;
		}
		if (done)
			break;
		wait_for_change(watch_fd);
	}
	if (watch_fd >= 0)
		close(watch_fd);
	return ret;
}

/* The files older than log.json, from files->fds[first] down to fds[1], skip entries passed over in the first. */
static int print_old_files(struct log_files *files, int first, long skip, const struct log_query *q,
			   const char *path, struct failure *f)
{
	struct line_reader r;

	for (int i = first; i >= 1; i--, skip = 0) {
		if (reader_init(&r, files->fds[i]) < 0)
			return failed(f, "read %s", path);
		files->fds[i] = -1;	/* r owns it now */
		if (print_lines(&r, skip, q) < 0) {
			reader_free(&r);
			return failed(f, "read %s.%d", path, i);
		}
		reader_free(&r);
	}
	return 0;
}

static void close_log_files(struct log_files *files)
{
	for (int i = 0; i < files->count; i++) {
		if (files->fds[i] >= 0)
			close(files->fds[i]);
	}
}

/*
 * box logs: the entries of the log at path (log.json and its rotated
 * files, oldest first), as the query asks: the last N, since a time, one
 * stream or both, with times, and with -f on and on until the container
 * exits.
 */
int logs_read(const char *path, const struct log_query *q, struct failure *f)
{
	struct log_files files;
	struct line_reader newest;
	long skip;
	int first, newest_fd, ret = 0;

	if (open_log_files(path, &files, f) < 0) {
		close_log_files(&files);
		return -1;
	}
	if (find_tail(&files, q->tail, &first, &skip) < 0) {
		close_log_files(&files);
		return failed(f, "count the entries of %s", path);
	}
	if (print_old_files(&files, first, skip, q, path, f) < 0) {
		close_log_files(&files);
		return -1;
	}
	/* The newest file goes on to the reader; files older than the tail were never read. */
	newest_fd = files.fds[0];
	files.fds[0] = -1;
	close_log_files(&files);
	if (reader_init(&newest, newest_fd) < 0) {
		close(newest_fd);
		return failed(f, "read %s", path);
	}
	if (print_lines(&newest, first == 0 ? skip : 0, q) < 0)
		ret = failed(f, "read %s", path);
	else if (q->follow)
		ret = follow(path, &newest, q, f);
	reader_free(&newest);
	return ret;
}
