/*
 * testutil.h - what the tests of the image files share: scratch
 * directories, files, and tar streams built right here with libarchive's
 * writer (so every test layer, hostile ones included, is visible in the
 * test that uses it).
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

/* box.h first: cmocka.h defines macros named fail and fail_msg. */
#include "box.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boxtest.h"

/* Scratch directories go in the test program's own (testkit_setup), never elsewhere on the host. */
static inline void make_scratch(char *buf, size_t size, const char *name)
{
	assert_int_equal(format_into(buf, size, "%s/%s-XXXXXX", test_dir(), name), 0);
	assert_non_null(mkdtemp(buf));
}

static inline void remove_scratch(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static inline void put_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	assert_int_equal(format_into(path, sizeof(path), "%s/%s", dir, name), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The whole file as a string ("" if it is missing), for comparisons. */
static inline char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static inline void sha256_of(const void *data, size_t len, char out[DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

/* One entry of a test tar. type: 'f' file, 'd' dir, 'l' symlink, 'h' hard link, 'c' char dev, 'b' block dev, 'p' fifo. */
struct tar_entry {
	char type;
	const char *path;
	const char *data;	/* file contents */
	const char *link;	/* symlink or hard link target */
	mode_t mode;		/* permission bits, 0 -> 0644 / 0755 */
	unsigned uid, gid;
	unsigned major, minor;
	const char *xattr_name, *xattr_value;
	long long size;		/* declare this size instead of strlen(data) */
};

struct memory {
	char *data;
	size_t len, cap, keep;	/* keep: if not 0, bytes past it are dropped (a truncated stream) */
};

static la_ssize_t memory_write(struct archive *a, void *user, const void *buf, size_t n)
{
	struct memory *m = user;
	size_t take = n;

	(void)a;
	if (m->keep && m->len + take > m->keep)
		take = m->len >= m->keep ? 0 : m->keep - m->len;
	if (m->len + take > m->cap) {
		m->cap = 2 * (m->len + take) + 4096;
		m->data = realloc(m->data, m->cap);
	}
	memcpy(m->data + m->len, buf, take);
	m->len += take;
	return (la_ssize_t)n;
}

static inline void add_entry(struct archive *a, const struct tar_entry *t)
{
	struct archive_entry *e = archive_entry_new();
	size_t len = t->data ? strlen(t->data) : 0;

	archive_entry_set_pathname(e, t->path);
	archive_entry_set_uid(e, t->uid);
	archive_entry_set_gid(e, t->gid);
	archive_entry_set_mtime(e, 1000000000, 0);
	switch (t->type) {
	case 'd':
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, t->mode ? t->mode : 0755);
		break;
	case 'l':
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, t->link);
		archive_entry_set_perm(e, 0777);
		break;
	case 'h':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, t->link);
		archive_entry_set_perm(e, 0644);
		break;
	case 'c':
	case 'b':
	case 'p':
		archive_entry_set_filetype(e, t->type == 'c' ? AE_IFCHR : t->type == 'b' ? AE_IFBLK : AE_IFIFO);
		archive_entry_set_rdevmajor(e, t->major);
		archive_entry_set_rdevminor(e, t->minor);
		archive_entry_set_perm(e, t->mode ? t->mode : 0600);
		break;
	default:
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, t->mode ? t->mode : 0644);
		archive_entry_set_size(e, t->size ? t->size : (la_int64_t)len);
	}
	if (t->xattr_name)
		archive_entry_xattr_add_entry(e, t->xattr_name, t->xattr_value, strlen(t->xattr_value));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (t->type == 'f' && len)
		assert_int_equal(archive_write_data(a, t->data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

/* A pax tar stream of these entries, in memory; keep > 0 cuts it after that many bytes. */
static inline struct memory make_tar(const struct tar_entry *entries, size_t n, size_t keep)
{
	struct archive *a = archive_write_new();
	struct memory m = { .keep = keep };

	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open(a, &m, NULL, memory_write, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++)
		add_entry(a, &entries[i]);
	archive_write_close(a);
	archive_write_free(a);
	return m;
}

/* data compressed with "gzip", "zstd" or "none": the layer blob as a registry would serve it. */
static inline struct memory compress_with(const struct memory *data, const char *filter)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	struct memory m = { 0 };

	archive_write_set_format_raw(a);
	if (strcmp(filter, "gzip") == 0)
		archive_write_add_filter_gzip(a);
	else if (strcmp(filter, "zstd") == 0)
		archive_write_add_filter_zstd(a);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open(a, &m, NULL, memory_write, NULL), ARCHIVE_OK);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, "data");
	archive_entry_set_size(e, (la_int64_t)data->len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data->data, data->len), (la_ssize_t)data->len);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	return m;
}

static inline void write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static inline bool running_as_root(void)
{
	return geteuid() == 0;
}

#endif
