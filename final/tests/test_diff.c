/*
 * test_diff.c - an overlay upper directory becomes an OCI layer: whiteouts
 * and opaque directories translated, the same bytes every time, times
 * clamped to SOURCE_DATE_EPOCH, both digests right. (Root: mknod, chown,
 * trusted.* xattrs.)
 */
#include "imageutil.h"

#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <utime.h>

static char scratch[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	make_scratch(scratch, sizeof(scratch), "diff");
	unsetenv("SOURCE_DATE_EPOCH");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_scratch(scratch);
	return 0;
}

/* A fresh store and an upper directory to fill. */
static void fresh(const char *name, struct store *s, char *upper, size_t size)
{
	char root[PATH_MAX + 64];
	struct failure f;

	snprintf(root, sizeof(root), "%s/%s/root", scratch, name);
	assert_int_equal(snprintf(upper, size, "%s/%s/upper", scratch, name) < (int)size, 1);
	assert_int_equal(sh("mkdir -p '%s'", upper), 0);
	assert_int_equal(store_open(s, root, STORE_SHARED, &f), 0);
}

/* What the tar of a layer blob says: one line per entry, "path type size mtime uid:gid [-> link]". */
static char *list_layer(const struct store *s, const struct layer_blob *l)
{
	static char out[64 * 1024];
	char path[PATH_MAX];
	struct archive *a = archive_read_new();
	struct archive_entry *e;

	out[0] = '\0';
	assert_int_equal(store_blob_path(s, l->blob.digest, path, sizeof(path)), 0);
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char line[PATH_MAX + 128];
		const char *type = archive_entry_filetype(e) == AE_IFDIR ? "dir" : archive_entry_filetype(e) == AE_IFLNK ? "link"
							   : archive_entry_hardlink(e)      ? "hard"
							   : archive_entry_filetype(e) == AE_IFREG ? "file"
												   : "node";

		snprintf(line, sizeof(line), "%s %s %lld %lld %lld:%lld%s%s%s\n", archive_entry_pathname(e), type,
			 (long long)archive_entry_size(e), (long long)archive_entry_mtime(e), (long long)archive_entry_uid(e),
			 (long long)archive_entry_gid(e),
			 archive_entry_uname(e) && archive_entry_uname(e)[0] ? " uname!" : "",
			 archive_entry_hardlink(e) ? " -> " : "", archive_entry_hardlink(e) ? archive_entry_hardlink(e) : "");
		strncat(out, line, sizeof(out) - strlen(out) - 1);
	}
	archive_read_free(a);
	return out;
}

static void make_layer(struct store *s, const char *upper, long long clamp, struct layer_blob *l)
{
	struct failure f;

	if (layer_from_dir(s, upper, clamp, l, &f) < 0)
		fail_msg("layer_from_dir: %s: %s", f.what, strerror(errno));
}

static void test_whiteouts_and_opaque_dirs_become_wh_entries(void **state)
{
	char upper[PATH_MAX], path[2 * PATH_MAX];
	struct layer_blob l;
	struct store s;

	(void)state;
	if (skip_unless_root())
		return;
	fresh("whiteouts", &s, upper, sizeof(upper));
	assert_int_equal(sh("cd '%s' && mkdir -p etc opt/replaced var && echo new > opt/replaced/new && "
			    "mknod etc/issue c 0 0 && mknod var/tty c 5 0 && touch -d @1000000000 etc opt opt/replaced opt/replaced/new var etc/issue var/tty",
			    upper),
			 0);
	snprintf(path, sizeof(path), "%s/opt/replaced", upper);
	assert_int_equal(setxattr(path, "trusted.overlay.opaque", "y", 1, 0), 0);
	make_layer(&s, upper, -1, &l);
	assert_string_equal(list_layer(&s, &l), "etc/ dir 0 1000000000 0:0\n"
						"etc/.wh.issue file 0 1000000000 0:0\n"
						"opt/ dir 0 1000000000 0:0\n"
						"opt/replaced/ dir 0 1000000000 0:0\n"
						"opt/replaced/.wh..wh..opq file 0 1000000000 0:0\n"
						"opt/replaced/new file 4 1000000000 0:0\n"
						"var/ dir 0 1000000000 0:0\n"
						"var/tty node 0 1000000000 0:0\n");
	assert_int_equal(l.entries, 8);
	store_close(&s);
}

static void test_the_store_unpacks_the_layer_as_overlayfs_wants_it(void **state)
{
	char upper[PATH_MAX], dir[PATH_MAX], path[2 * PATH_MAX], value[4];
	struct layer_blob l;
	struct store s;
	struct stat st;

	(void)state;
	if (skip_unless_root())
		return;
	fresh("unpacked", &s, upper, sizeof(upper));
	assert_int_equal(sh("cd '%s' && mkdir -p etc d && mknod etc/passwd c 0 0", upper), 0);
	snprintf(path, sizeof(path), "%s/d", upper);
	assert_int_equal(setxattr(path, "user.overlay.opaque", "y", 1, 0), 0);	/* an unprivileged overlay's mark */
	make_layer(&s, upper, -1, &l);
	assert_true(store_has_layer(&s, l.diff_id));
	assert_int_equal(store_layer_dir(&s, l.diff_id, dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/diff/etc/passwd", dir);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	snprintf(path, sizeof(path), "%s/diff/d", dir);
	assert_int_equal(getxattr(path, "trusted.overlay.opaque", value, sizeof(value)), 1);	/* user.* in, trusted.* out */
	store_close(&s);
}

static void test_digest_and_diff_id_are_the_two_sha256s(void **state)
{
	char upper[PATH_MAX], out[128];
	struct layer_blob l;
	struct store s;
	char path[PATH_MAX];

	(void)state;
	if (skip_unless_root())
		return;
	fresh("digests", &s, upper, sizeof(upper));
	put_file(upper, "a/b.txt", "some content\n");
	make_layer(&s, upper, -1, &l);
	assert_int_equal(store_blob_path(&s, l.blob.digest, path, sizeof(path)), 0);
	assert_string_equal(sh_out(out, sizeof(out), "sha256sum < '%s' | cut -d' ' -f1", path), l.blob.digest + 7);
	assert_string_equal(sh_out(out, sizeof(out), "gzip -dc < '%s' | sha256sum | cut -d' ' -f1", path), l.diff_id + 7);
	assert_string_equal(sh_out(out, sizeof(out), "stat -c %%s '%s'", path), sh_out(out + 64, 64, "echo %lld", l.blob.size));
	assert_string_equal(l.blob.media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
	/* gzip -6 -n: no time, no name in the header; the same bytes as GNU gzip makes of the tar */
	assert_int_equal(sh("gzip -dc < '%s' | gzip -6 -n | cmp -s - '%s'", path, path), 0);
	store_close(&s);
}

static void test_the_same_tree_gives_the_same_layer(void **state)
{
	char one[PATH_MAX], two[PATH_MAX];
	struct layer_blob a, b;
	struct store s1, s2;

	(void)state;
	if (skip_unless_root())
		return;
	fresh("same1", &s1, one, sizeof(one));
	fresh("same2", &s2, two, sizeof(two));
	/* The same files, made in a different order (so readdir order and inodes differ) and read in between. */
	assert_int_equal(sh("cd '%s' && for f in c b a z y; do echo $f > $f; done && mkdir d && ln c d/hard && "
			    "ln -s ../a d/link && touch -d @1500000000 * d/* && touch -h -d @1500000000 d/link d",
			    one),
			 0);
	assert_int_equal(sh("cd '%s' && mkdir d && for f in y z a b c; do echo $f > $f; done && ln c d/hard && "
			    "ln -s ../a d/link && touch -d @1500000000 * d/* && touch -h -d @1500000000 d/link d && cat * > /dev/null 2>&1; true",
			    two),
			 0);
	make_layer(&s1, one, -1, &a);
	make_layer(&s2, two, -1, &b);
	assert_string_equal(a.blob.digest, b.blob.digest);
	assert_string_equal(a.diff_id, b.diff_id);
	make_layer(&s1, one, -1, &b);	/* and again, from the same directory */
	assert_string_equal(a.blob.digest, b.blob.digest);
	assert_non_null(strstr(list_layer(&s1, &a), "d/hard hard 0 1500000000 0:0 -> c\n"));
	store_close(&s1);
	store_close(&s2);
}

static void test_entries_are_sorted_with_numeric_owners(void **state)
{
	char upper[PATH_MAX], *list;
	struct layer_blob l;
	struct store s;

	(void)state;
	if (skip_unless_root())
		return;
	fresh("sorted", &s, upper, sizeof(upper));
	assert_int_equal(sh("cd '%s' && mkdir -p b a/x && touch b/2 b/1 a.txt a/x/y && chown 1000:1000 a.txt && "
			    "touch -d @1000 a b a/x a/x/y a.txt b/1 b/2",
			    upper),
			 0);
	make_layer(&s, upper, -1, &l);
	list = list_layer(&s, &l);
	assert_string_equal(list, "a/ dir 0 1000 0:0\n"
				  "a/x/ dir 0 1000 0:0\n"
				  "a/x/y file 0 1000 0:0\n"
				  "a.txt file 0 1000 1000:1000\n"
				  "b/ dir 0 1000 0:0\n"
				  "b/1 file 0 1000 0:0\n"
				  "b/2 file 0 1000 0:0\n");
	store_close(&s);
}

static void test_source_date_epoch_clamps_later_mtimes(void **state)
{
	char upper[PATH_MAX];
	struct layer_blob l, again;
	struct store s;
	long long epoch;

	(void)state;
	if (skip_unless_root())
		return;
	fresh("clamp", &s, upper, sizeof(upper));
	assert_int_equal(sh("cd '%s' && touch new old && touch -d @2000000000 new && touch -d @1000 old", upper), 0);
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	assert_int_equal(source_date_epoch(&epoch), 0);
	assert_int_equal(epoch, 1700000000);
	make_layer(&s, upper, epoch, &l);
	assert_string_equal(list_layer(&s, &l), "new file 0 1700000000 0:0\nold file 0 1000 0:0\n");
	/* Clamped, a file touched again (a rebuild) still gives the same layer. */
	assert_int_equal(sh("touch '%s/new'", upper), 0);
	make_layer(&s, upper, epoch, &again);
	assert_string_equal(l.blob.digest, again.blob.digest);
	setenv("SOURCE_DATE_EPOCH", "yesterday", 1);
	assert_int_equal(source_date_epoch(&epoch), -1);
	assert_int_equal(errno, EINVAL);
	unsetenv("SOURCE_DATE_EPOCH");
	store_close(&s);
}

static void test_pax_headers_only_where_ustar_cannot(void **state)
{
	char upper[PATH_MAX], path[PATH_MAX], note[2 * PATH_MAX], out[64];
	struct layer_blob plain, fancy;
	struct store s;

	(void)state;
	if (skip_unless_root())
		return;
	fresh("pax", &s, upper, sizeof(upper));
	put_file(upper, "short.txt", "x\n");
	make_layer(&s, upper, -1, &plain);
	assert_int_equal(store_blob_path(&s, plain.blob.digest, path, sizeof(path)), 0);
	assert_string_equal(sh_out(out, sizeof(out), "gzip -dc < '%s' | grep -c PaxHeader", path), "0");
	snprintf(note, sizeof(note), "%s/short.txt", upper);
	assert_int_equal(setxattr(note, "user.note", "hi", 2, 0), 0);
	make_layer(&s, upper, -1, &fancy);
	assert_int_equal(store_blob_path(&s, fancy.blob.digest, path, sizeof(path)), 0);
	assert_string_equal(sh_out(out, sizeof(out), "gzip -dc < '%s' | grep -c 'SCHILY.xattr.user.note=hi'", path), "1");
	store_close(&s);
}

static void test_what_a_layer_cannot_carry_is_refused(void **state)
{
	char upper[PATH_MAX], path[2 * PATH_MAX];
	struct layer_blob l;
	struct failure f;
	struct store s;

	(void)state;
	if (skip_unless_root())
		return;
	fresh("refused", &s, upper, sizeof(upper));
	assert_int_equal(sh("mkdir -p '%s/renamed'", upper), 0);
	snprintf(path, sizeof(path), "%s/renamed", upper);
	assert_int_equal(setxattr(path, "trusted.overlay.redirect", "/old", 4, 0), 0);
	assert_int_equal(layer_from_dir(&s, upper, -1, &l, &f), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_non_null(strstr(f.what, "redirect_dir=off,metacopy=off"));
	assert_int_equal(sh("rm -rf '%s/renamed' && touch '%s/.wh.sneaky'", upper, upper), 0);
	assert_int_equal(layer_from_dir(&s, upper, -1, &l, &f), -1);
	assert_non_null(strstr(f.what, "a file named .wh.* cannot be put in a layer"));
	assert_int_equal(sh("[ -z \"$(ls -A '%s/tmp')\" ]", s.root), 0);	/* no half blob left */
	store_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whiteouts_and_opaque_dirs_become_wh_entries),
		cmocka_unit_test(test_the_store_unpacks_the_layer_as_overlayfs_wants_it),
		cmocka_unit_test(test_digest_and_diff_id_are_the_two_sha256s),
		cmocka_unit_test(test_the_same_tree_gives_the_same_layer),
		cmocka_unit_test(test_entries_are_sorted_with_numeric_owners),
		cmocka_unit_test(test_source_date_epoch_clamps_later_mtimes),
		cmocka_unit_test(test_pax_headers_only_where_ustar_cannot),
		cmocka_unit_test(test_what_a_layer_cannot_carry_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
