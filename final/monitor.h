/*
 * monitor.h - the monitor's pieces, shared by box-monitor (monitor.c) and box
 * (engine.c): docker's json-file log (logs.c) and the attach protocol (attach.c).
 */
#ifndef BOX_MONITOR_H
#define BOX_MONITOR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>
#include <time.h>

#include "box.h"

/*
 * logs.c: docker's json-file log format. One entry a line:
 *     {"log":"hello\n","stream":"stdout","time":"2025-01-02T03:04:05.123456789Z"}
 * written by the monitor (the writer half) and read by box logs (the reader half).
 */
enum log_stream { LOG_STDOUT, LOG_STDERR, LOG_STREAMS };

enum {
	LOG_LINE_MAX = 16 * 1024,	/* docker cuts longer lines into entries of 16 KiB ("partial") */
	LOG_CHUNK = 4096,		/* an entry is written to the file in pieces of at most this */
	LOG_TIME_MAX = 40,		/* "2025-01-02T03:04:05.123456789Z" and its '\0' */
	LOG_FILES_MAX = 64,		/* log.json and at most 63 rotated files */
};

/* The part of a line read so far: it becomes an entry at its '\n', or when full. */
struct log_line {
	size_t len;
	char text[LOG_LINE_MAX];
};

/* The monitor's log file: log.json, rotated to log.json.1, .2, ... once it reaches max_size. */
struct log_writer {
	char path[PATH_MAX];
	int fd;			/* -1 while the file cannot be opened (disk full, directory gone) */
	long long size;		/* bytes in the current file */
	long long max_size;	/* rotate before an entry would make the file larger; 0: never */
	int max_files;		/* files kept, the current one included (docker's max-file) */
	struct timespec last_check;	/* when we last looked whether the file still exists */
	int error;		/* errno of the last failed write or open, 0 once one works again */
	long long dropped;	/* entries lost to errors */
	struct log_line lines[LOG_STREAMS];
};

int log_open(struct log_writer *w, const char *path, long long max_size, int max_files);
int log_write(struct log_writer *w, enum log_stream stream, const char *data, size_t len,
	      const struct timespec *now);
int log_flush(struct log_writer *w, enum log_stream stream, const struct timespec *now);
void log_close(struct log_writer *w);
size_t json_escape_char(const char *in, size_t len, char out[6], size_t *used);
size_t json_escaped_len(const char *text, size_t len);
int format_time(const struct timespec *t, bool fixed, char buf[LOG_TIME_MAX]);
int log_entry_format(char *buf, size_t size, enum log_stream stream, const char *text, size_t len,
		     const struct timespec *t);

/* One entry as the reader finds it; text points into the reader's buffer, not '\0'-ended. */
struct log_entry {
	enum log_stream stream;
	struct timespec time;
	char *text;
	size_t len;
};

/* What box logs asked for. */
struct log_query {
	long tail;		/* --tail N: only the last N entries; -1: all */
	bool since_set;		/* --since: only entries at or after since */
	struct timespec since;
	bool timestamps;	/* -t: each entry begins with its time */
	bool want[LOG_STREAMS];	/* which streams to show */
	bool follow;		/* -f: wait for more, across rotations */
	const char *stop_file;	/* -f ends once this file exists (the monitor's exit file); NULL: never */
	int out_fd, err_fd;	/* where stdout and stderr entries go */
};

int parse_log_entry(char *line, size_t len, struct log_entry *e);
int parse_time(const char *text, struct timespec *t);
int parse_since(const char *text, const struct timespec *now, struct timespec *since);
int logs_read(const char *path, const struct log_query *q, struct failure *f);

/*
 * attach.c: the attach socket. SOCK_SEQPACKET (unix(7)): the kernel keeps
 * each message whole, so a message is one type byte and its payload.
 * The types are docker's stream numbers (0 stdin, 1 stdout, 2 stderr) and three more.
 */
enum attach_type {
	ATTACH_STDIN = 0,	/* client -> monitor: bytes for the container's stdin or pty */
	ATTACH_STDOUT = 1,	/* monitor -> client: the container's output (all of it, with a pty) */
	ATTACH_STDERR = 2,	/* monitor -> client */
	ATTACH_EXIT = 3,	/* monitor -> client: 4 bytes, the exit status, big-endian; then it hangs up */
	ATTACH_RESIZE = 4,	/* client -> monitor: rows and columns, 2 bytes each, big-endian */
	ATTACH_CLOSE_STDIN = 5,	/* client -> monitor: no more input; the container reads end of file */
};

enum {
	ATTACH_DATA_MAX = 4096,			/* payload bytes in one message */
	ATTACH_MSG_MAX = 1 + ATTACH_DATA_MAX,	/* with its type byte */
	DETACH_KEY_1 = 0x10,			/* Ctrl-P */
	DETACH_KEY_2 = 0x11,			/* Ctrl-Q */
};

/* One message, decoded. data points into the buffer it came from. */
struct attach_msg {
	enum attach_type type;
	const char *data;
	size_t len;
};

size_t attach_encode(char *buf, size_t size, enum attach_type type, const void *data, size_t len);
int attach_decode(const char *buf, size_t len, struct attach_msg *m);
size_t attach_encode_u32(char *buf, size_t size, enum attach_type type, uint32_t value);
size_t attach_encode_resize(char *buf, size_t size, unsigned short rows, unsigned short cols);
int attach_decode_u32(const struct attach_msg *m, uint32_t *value);
int attach_decode_resize(const struct attach_msg *m, unsigned short *rows, unsigned short *cols);
int unix_address(const char *path, struct sockaddr_un *addr, int *dir_fd);

/* Ctrl-P Ctrl-Q, looked for in what the user types. */
struct detach_keys {
	bool held;		/* the last byte seen was Ctrl-P, not yet passed on */
};
bool detach_filter(struct detach_keys *k, const char *in, size_t n, char *out, size_t *out_len);

/* box attach / box start -a: the client side. */
struct attach_options {
	bool tty;		/* the container has a pty: raw mode here, window size there */
	bool forward_stdin;	/* -i: what we read goes to the container */
	bool close_stdin_at_eof;	/* end of our input closes the container's stdin */
	int in_fd, out_fd, err_fd;
};

struct attach_result {
	bool detached;		/* Ctrl-P Ctrl-Q, or we were told to stop (SIGTERM, SIGHUP) */
	bool exited;		/* the container exited: exit_status is set */
	int exit_status;
};

int attach_connect(const char *path, struct failure *f);
int attach_session(int sock, const struct attach_options *o, struct attach_result *r, struct failure *f);

#endif
