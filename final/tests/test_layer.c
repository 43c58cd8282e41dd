/*
 * test_layer.c - unpacking layers: what a layer keeps, how whiteouts look
 * to overlayfs, and every way a hostile layer tries to write outside its
 * directory. Each hostile case checks a marker file beside the layer
 * directory (standing for the host) is untouched. Needs root (chown, mknod,
 * trusted.* xattrs): as another user every test is skipped.
 */
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <dirent.h>

#include "testutil.h"

static const char marker_text[] = "the host's file\n";

struct fixture {
	char dir[PATH_MAX];	/* scratch: layer/, marker, blob */
	char layer[PATH_MAX];
	char marker[PATH_MAX];
	struct layer_result res;
	struct failure f;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	make_scratch(fx->dir, sizeof(fx->dir), "layer");
	assert_int_equal(format_into(fx->layer, sizeof(fx->layer), "%s/layer", fx->dir), 0);
	assert_int_equal(format_into(fx->marker, sizeof(fx->marker), "%s/marker", fx->dir), 0);
	assert_int_equal(mkdir(fx->layer, 0755), 0);
	put_file(fx->dir, "marker", marker_text);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	remove_scratch(fx->dir);
	free(fx);
	return 0;
}

/* Unpack a tar of these entries, compressed with filter, into fx->layer. */
static int extract_into(struct fixture *fx, const char *root, const struct tar_entry *entries, size_t n,
			const char *filter)
{
	struct memory tar = make_tar(entries, n, 0);
	struct memory blob = compress_with(&tar, filter);
	char path[PATH_MAX];
	int blob_fd, root_fd, ret;

	assert_int_equal(format_into(path, sizeof(path), "%s/blob", fx->dir), 0);
	write_bytes(path, blob.data, blob.len);
	blob_fd = open(path, O_RDONLY);
	root_fd = open(root, O_RDONLY | O_DIRECTORY);
	assert_true(blob_fd >= 0 && root_fd >= 0);
	memset(&fx->f, 0, sizeof(fx->f));
	ret = layer_extract(blob_fd, (long long)blob.len, root_fd, NULL, &fx->res, &fx->f);
	if (ret < 0)
		print_message("layer_extract: %s\n", fx->f.what);
	close(blob_fd);
	close(root_fd);
	unlink(path);
	free(tar.data);
	free(blob.data);
	return ret;
}

static int extract(struct fixture *fx, const struct tar_entry *entries, size_t n)
{
	return extract_into(fx, fx->layer, entries, n, "gzip");
}

static const char *in_layer(struct fixture *fx, const char *name)
{
	static char path[PATH_MAX];

	assert_int_equal(format_into(path, sizeof(path), "%s/%s", fx->layer, name), 0);
	return path;
}

/* The host is untouched: the marker as it was, and nothing new beside the layer. */
static void assert_host_untouched(struct fixture *fx)
{
	struct stat st;
	DIR *d = opendir(fx->dir);
	struct dirent *e;
	int entries = 0;

	assert_string_equal(slurp(fx->marker), marker_text);
	assert_int_equal(lstat(fx->marker, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_nlink, 1);
	while ((e = readdir(d)))
		entries += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(entries, 2);	/* layer/ and marker */
}

/* chown(2), mknod(2) and trusted.* xattrs need root: skip, saying so, without it. */
static void need_root(void)
{
	if (!running_as_root()) {
		print_message("skipped: needs root\n");
		skip();
	}
}

static void test_files_keep_contents_owner_mode_and_mtime(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'd', .path = "etc/", .mode = 0750, .uid = 7, .gid = 8 },
		{ .type = 'f', .path = "etc/motd", .data = "hello\n", .mode = 0640, .uid = 1000, .gid = 1001 },
	};
	struct stat st;

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_string_equal(slurp(in_layer(fx, "etc/motd")), "hello\n");
	assert_int_equal(stat(in_layer(fx, "etc/motd"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mtime, 1000000000);
	assert_int_equal(stat(in_layer(fx, "etc"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(fx->res.entries, 2);
	assert_int_equal(fx->res.file_bytes, 6);
}

static void test_gzip_zstd_and_plain_tar_are_detected_and_hashed(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = { { .type = 'f', .path = "a", .data = "same bytes\n" } };
	const char *filters[] = { "gzip", "zstd", "none" };
	struct memory tar = make_tar(e, 1, 0);
	char diff_id[DIGEST_LEN + 1], dir[PATH_MAX];

	need_root();
	sha256_of(tar.data, tar.len, diff_id);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(format_into(dir, sizeof(dir), "%s/%s", fx->dir, filters[i]), 0);
		assert_int_equal(mkdir(dir, 0755), 0);
		assert_int_equal(extract_into(fx, dir, e, 1, filters[i]), 0);
		/* the diffID is the digest of the uncompressed stream, whatever the compression */
		assert_string_equal(fx->res.diff_id, diff_id);
		assert_int_equal(fx->res.tar_bytes, (long long)tar.len);
		strcat(dir, "/a");
		assert_string_equal(slurp(dir), "same bytes\n");
	}
	free(tar.data);
}

static void test_setuid_setgid_and_sticky_bits_survive_chown(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'f', .path = "su", .data = "x", .mode = 04755, .uid = 0 },
		{ .type = 'f', .path = "sg", .data = "x", .mode = 02755, .uid = 1000, .gid = 1000 },
		{ .type = 'd', .path = "tmp", .mode = 01777 },
	};
	struct stat st;

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_int_equal(stat(in_layer(fx, "su"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(stat(in_layer(fx, "sg"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 02755);
	assert_int_equal(st.st_gid, 1000);
	assert_int_equal(stat(in_layer(fx, "tmp"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
}

static void test_symlinks_are_stored_as_written(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = { { .type = 'l', .path = "passwd", .link = "/etc/passwd", .uid = 5, .gid = 6 } };
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	n = readlink(in_layer(fx, "passwd"), target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "/etc/passwd");
	assert_int_equal(lstat(in_layer(fx, "passwd"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_uid, 5);
	assert_int_equal(st.st_mtime, 1000000000);
}

static void test_hardlinks_share_an_inode_inside_the_layer(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'f', .path = "bin/busybox", .data = "#!", .mode = 0755 },
		{ .type = 'h', .path = "bin/sh", .link = "bin/busybox" },
		{ .type = 'h', .path = "usr/bin/env", .link = "./bin/busybox" },
	};
	struct stat a, b, c;

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_int_equal(stat(in_layer(fx, "bin/busybox"), &a), 0);
	assert_int_equal(stat(in_layer(fx, "bin/sh"), &b), 0);
	assert_int_equal(stat(in_layer(fx, "usr/bin/env"), &c), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_ino, c.st_ino);
	assert_int_equal(a.st_nlink, 3);
}

static void test_xattrs_are_kept_but_not_trusted_ones(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'f', .path = "f", .data = "x", .xattr_name = "user.color", .xattr_value = "blue" },
		{ .type = 'd', .path = "d", .xattr_name = "trusted.overlay.opaque", .xattr_value = "y" },
	};
	char value[16] = { 0 };

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_int_equal(getxattr(in_layer(fx, "f"), "user.color", value, sizeof(value)), 4);
	assert_string_equal(value, "blue");
	/* overlayfs's own xattrs come from whiteouts only, never straight from a layer */
	assert_int_equal(getxattr(in_layer(fx, "d"), "trusted.overlay.opaque", value, sizeof(value)), -1);
}

static void test_device_nodes_and_fifos_are_made(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'c', .path = "dev/null", .major = 1, .minor = 3, .mode = 0666 },
		{ .type = 'b', .path = "dev/loop0", .major = 7, .minor = 0, .mode = 0660, .gid = 6 },
		{ .type = 'p', .path = "run/fifo", .mode = 0620 },
	};
	struct stat st;

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_int_equal(lstat(in_layer(fx, "dev/null"), &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(1, 3));
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(lstat(in_layer(fx, "dev/loop0"), &st), 0);
	assert_true(S_ISBLK(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(7, 0));
	assert_int_equal(st.st_gid, 6);
	assert_int_equal(lstat(in_layer(fx, "run/fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0620);
}

static void test_whiteout_becomes_a_0_0_character_device(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'd', .path = "etc" },
		{ .type = 'f', .path = "etc/.wh.passwd" },
	};
	struct stat st;

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_int_equal(lstat(in_layer(fx, "etc/passwd"), &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	assert_int_equal(lstat(in_layer(fx, "etc/.wh.passwd"), &st), -1);
}

static void test_opaque_marker_makes_its_directory_opaque(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'd', .path = "var/cache" },
		{ .type = 'f', .path = "var/cache/.wh..wh..opq" },
		{ .type = 'f', .path = "var/cache/kept", .data = "new" },
		{ .type = 'f', .path = "var/.wh..wh.plnk" },
	};
	char value[4] = { 0 };
	struct stat st;

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_int_equal(getxattr(in_layer(fx, "var/cache"), "trusted.overlay.opaque", value, sizeof(value)), 1);
	assert_string_equal(value, "y");
	assert_int_equal(lstat(in_layer(fx, "var/cache/.wh..wh..opq"), &st), -1);
	assert_string_equal(slurp(in_layer(fx, "var/cache/kept")), "new");
	/* aufs bookkeeping is skipped, not turned into a whiteout */
	assert_int_equal(lstat(in_layer(fx, "var/.wh..wh.plnk"), &st), -1);
	assert_int_equal(getxattr(in_layer(fx, "var"), "trusted.overlay.opaque", value, sizeof(value)), -1);
}

static void test_directory_mtime_is_set_after_its_contents(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'd', .path = "d" },
		{ .type = 'f', .path = "d/f", .data = "x" },
		{ .type = 'd', .path = "d/sub" },
		{ .type = 'f', .path = "d/sub/g", .data = "x" },
	};
	struct stat st;

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_int_equal(stat(in_layer(fx, "d"), &st), 0);
	assert_int_equal(st.st_mtime, 1000000000);
	assert_int_equal(stat(in_layer(fx, "d/sub"), &st), 0);
	assert_int_equal(st.st_mtime, 1000000000);
}

static void test_missing_parents_are_made_and_later_entries_replace(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'f', .path = "./a/b/c", .data = "first" },
		{ .type = 'f', .path = "a//b/./c", .data = "second" },
		{ .type = 'l', .path = "a/link", .link = "b" },
		{ .type = 'f', .path = "a/link", .data = "file now" },
	};
	struct stat st;

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_string_equal(slurp(in_layer(fx, "a/b/c")), "second");
	assert_int_equal(stat(in_layer(fx, "a/b"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(lstat(in_layer(fx, "a/link"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

/* ---- hostile layers ------------------------------------------------------------------------- */

static void test_absolute_path_is_refused(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = { { .type = 'f', .path = fx->marker, .data = "pwned" } };

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), -1);
	assert_non_null(strstr(fx->f.what, "absolute path"));
	assert_host_untouched(fx);
}

static void test_dot_dot_traversal_is_refused(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry plain[] = { { .type = 'f', .path = "../marker", .data = "pwned" } };
	const struct tar_entry hidden[] = { { .type = 'f', .path = "a/../../marker", .data = "pwned" } };
	const struct tar_entry dir[] = { { .type = 'd', .path = "../evil" } };

	need_root();
	assert_int_equal(extract(fx, plain, 1), -1);
	assert_non_null(strstr(fx->f.what, "would leave the layer"));
	assert_int_equal(extract(fx, hidden, 1), -1);
	assert_int_equal(extract(fx, dir, 1), -1);
	assert_host_untouched(fx);
}

static void test_write_through_absolute_symlink_stays_inside(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'l', .path = "esc", .link = fx->dir },
		{ .type = 'f', .path = "esc/marker", .data = "pwned" },
	};

	need_root();
	/* RESOLVE_IN_ROOT reads "esc" as <layer>/<fx->dir>, which does not exist: refused. */
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), -1);
	assert_host_untouched(fx);
}

static void test_write_through_dot_dot_symlink_stays_inside(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'l', .path = "up", .link = "../../../../.." },
		{ .type = 'f', .path = "up/marker", .data = "pwned" },
	};

	need_root();
	/* ".." at the layer's root stays at the root, like "/.." does: the write lands inside. */
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_string_equal(slurp(in_layer(fx, "marker")), "pwned");
	assert_host_untouched(fx);
}

static void test_file_replaces_a_symlink_instead_of_following_it(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry e[] = {
		{ .type = 'l', .path = "x", .link = fx->marker },
		{ .type = 'f', .path = "x", .data = "pwned", .mode = 0777, .uid = 1234 },
		{ .type = 'l', .path = "y", .link = "../marker", .uid = 1234 },
		{ .type = 'd', .path = "z", .mode = 0777 },
	};
	struct stat st;

	need_root();
	assert_int_equal(extract(fx, e, sizeof(e) / sizeof(e[0])), 0);
	assert_int_equal(lstat(in_layer(fx, "x"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(slurp(in_layer(fx, "x")), "pwned");
	/* the owner of a symlink is set on the link (AT_SYMLINK_NOFOLLOW), not on its target */
	assert_int_equal(lstat(in_layer(fx, "y"), &st), 0);
	assert_int_equal(st.st_uid, 1234);
	assert_host_untouched(fx);
}

static void test_hardlink_to_a_host_file_is_refused(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry absolute[] = { { .type = 'h', .path = "h", .link = fx->marker } };
	const struct tar_entry dot_dot[] = { { .type = 'h', .path = "h", .link = "../marker" } };
	const struct tar_entry via_symlink[] = {
		{ .type = 'l', .path = "l", .link = fx->dir },
		{ .type = 'h', .path = "h", .link = "l/marker" },
	};
	const struct tar_entry via_up[] = {
		{ .type = 'l', .path = "up", .link = "../.." },
		{ .type = 'h', .path = "h", .link = "up/marker" },
	};

	need_root();
	assert_int_equal(extract(fx, absolute, 1), -1);
	assert_int_equal(extract(fx, dot_dot, 1), -1);
	assert_int_equal(extract(fx, via_symlink, 2), -1);
	assert_int_equal(extract(fx, via_up, 2), -1);
	assert_host_untouched(fx);
}

static void test_whiteouts_naming_dot_dot_or_nothing_are_refused(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry dot_dot[] = { { .type = 'f', .path = ".wh..." } };
	const struct tar_entry dot[] = { { .type = 'f', .path = "a/.wh.." } };
	const struct tar_entry empty[] = { { .type = 'f', .path = ".wh." } };
	const struct tar_entry parent[] = { { .type = 'f', .path = "../.wh.marker" } };

	need_root();
	assert_int_equal(extract(fx, dot_dot, 1), -1);
	assert_non_null(strstr(fx->f.what, "names no file"));
	assert_int_equal(extract(fx, dot, 1), -1);
	assert_int_equal(extract(fx, empty, 1), -1);
	assert_int_equal(extract(fx, parent, 1), -1);
	assert_host_untouched(fx);
}

static void test_symlink_from_a_lower_layer_is_not_in_the_next(void **state)
{
	struct fixture *fx = *state;
	const struct tar_entry lower[] = { { .type = 'l', .path = "etc", .link = fx->dir } };
	const struct tar_entry upper[] = { { .type = 'f', .path = "etc/marker", .data = "pwned" } };
	char dir2[PATH_MAX];
	struct stat st;

	need_root();
	assert_int_equal(extract(fx, lower, 1), 0);
	/* The next layer unpacks into a directory of its own: etc/ is a plain directory there. */
	assert_int_equal(format_into(dir2, sizeof(dir2), "%s/layer/upper", fx->dir), 0);
	assert_int_equal(mkdir(dir2, 0755), 0);
	assert_int_equal(extract_into(fx, dir2, upper, 1, "gzip"), 0);
	strcat(dir2, "/etc");
	assert_int_equal(lstat(dir2, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_host_untouched(fx);
}

static void test_layer_past_its_size_bound_stops(void **state)
{
	struct fixture *fx = *state;
	/* A 2 GiB file declared, the stream cut after its header: refused before any data is read. */
	const struct tar_entry e[] = { { .type = 'f', .path = "big", .size = 2LL << 30 } };
	struct memory tar = make_tar(e, 1, 4096);
	struct memory blob = compress_with(&tar, "zstd");
	char path[PATH_MAX];
	int blob_fd, root_fd;

	need_root();
	assert_int_equal(format_into(path, sizeof(path), "%s/blob", fx->dir), 0);
	write_bytes(path, blob.data, blob.len);
	blob_fd = open(path, O_RDONLY);
	root_fd = open(fx->layer, O_RDONLY | O_DIRECTORY);
	assert_int_equal(layer_extract(blob_fd, (long long)blob.len, root_fd, NULL, &fx->res, &fx->f), -1);
	assert_int_equal(errno, EFBIG);
	assert_non_null(strstr(fx->f.what, "unpacks to more than 1073741824 bytes"));
	close(blob_fd);
	close(root_fd);
	unlink(path);
	free(tar.data);
	free(blob.data);
	assert_host_untouched(fx);
}

static void test_size_bound_is_1_gib_or_100_times_capped_at_64_gib(void **state)
{
	(void)state;
	assert_int_equal(layer_limit(1000), 1LL << 30);
	assert_int_equal(layer_limit(100LL << 20), 10000LL << 20);
	assert_int_equal(layer_limit(10LL << 30), 64LL << 30);
}

static void test_garbage_is_not_a_layer(void **state)
{
	struct fixture *fx = *state;
	char path[PATH_MAX];
	int blob_fd, root_fd;

	need_root();
	assert_int_equal(format_into(path, sizeof(path), "%s/blob", fx->dir), 0);
	write_bytes(path, "this is not a tar stream, nor gzip, nor zstd", 44);
	blob_fd = open(path, O_RDONLY);
	root_fd = open(fx->layer, O_RDONLY | O_DIRECTORY);
	assert_int_equal(layer_extract(blob_fd, 44, root_fd, NULL, &fx->res, &fx->f), -1);
	assert_non_null(strstr(fx->f.what, "not a valid tar stream"));
	close(blob_fd);
	close(root_fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_files_keep_contents_owner_mode_and_mtime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gzip_zstd_and_plain_tar_are_detected_and_hashed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setuid_setgid_and_sticky_bits_survive_chown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_are_stored_as_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlinks_share_an_inode_inside_the_layer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xattrs_are_kept_but_not_trusted_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_nodes_and_fifos_are_made, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteout_becomes_a_0_0_character_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opaque_marker_makes_its_directory_opaque, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_mtime_is_set_after_its_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_parents_are_made_and_later_entries_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absolute_path_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dot_dot_traversal_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_through_absolute_symlink_stays_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_through_dot_dot_symlink_stays_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_replaces_a_symlink_instead_of_following_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_to_a_host_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteouts_naming_dot_dot_or_nothing_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_from_a_lower_layer_is_not_in_the_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layer_past_its_size_bound_stops, setup, teardown),
		cmocka_unit_test(test_size_bound_is_1_gib_or_100_times_capped_at_64_gib),
		cmocka_unit_test_setup_teardown(test_garbage_is_not_a_layer, setup, teardown),
	};

	select_tests();
	return cmocka_run_group_tests_name("step06 layer", tests, testkit_setup, testkit_cleanup);
}
