/*
 * test_store.c - the content-addressed store: blobs are verified before
 * they get their name, layers are unpacked once and shared, the index is
 * replaced whole, and garbage collection keeps what another image uses.
 */
#include <dirent.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "testutil.h"

struct fixture {
	char root[PATH_MAX];
	struct store s;
	struct failure f;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	make_scratch(fx->root, sizeof(fx->root), "store");
	assert_int_equal(store_open(&fx->s, fx->root, STORE_SHARED, &fx->f), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	store_close(&fx->s);
	remove_scratch(fx->root);
	free(fx);
	return 0;
}

/* How many entries a directory of the store has ("blobs/sha256", "tmp", ...). */
static int count_entries(struct fixture *fx, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	assert_int_equal(format_into(path, sizeof(path), "%s/%s", fx->root, sub), 0);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_blob_gets_its_name_only_when_verified(void **state)
{
	struct fixture *fx = *state;
	const char text[] = "some content";
	char digest[DIGEST_LEN + 1], path[PATH_MAX];
	struct blob_writer w;

	sha256_of(text, strlen(text), digest);
	assert_int_equal(blob_writer_open(&fx->s, &w, digest, (long long)strlen(text)), 0);
	assert_int_equal(blob_writer_write(&w, text, 4), 0);
	/* while it is written it is only a temp file */
	assert_false(store_has_blob(&fx->s, digest));
	assert_int_equal(count_entries(fx, "tmp"), 1);
	assert_int_equal(blob_writer_write(&w, text + 4, strlen(text) - 4), 0);
	assert_int_equal(blob_writer_commit(&fx->s, &w, &fx->f), 0);
	assert_true(store_has_blob(&fx->s, digest));
	assert_int_equal(store_blob_path(&fx->s, digest, path, sizeof(path)), 0);
	assert_string_equal(slurp(path), text);
	assert_int_equal(count_entries(fx, "tmp"), 0);
}

static void test_tampered_blob_is_thrown_away_naming_its_digest(void **state)
{
	struct fixture *fx = *state;
	char digest[DIGEST_LEN + 1];
	struct blob_writer w;

	sha256_of("the real thing", 14, digest);
	assert_int_equal(blob_writer_open(&fx->s, &w, digest, 14), 0);
	assert_int_equal(blob_writer_write(&w, "the fake thing", 14), 0);
	assert_int_equal(blob_writer_commit(&fx->s, &w, &fx->f), -1);
	assert_int_equal(errno, EBADMSG);
	assert_non_null(strstr(fx->f.what, digest));
	assert_non_null(strstr(fx->f.what, "does not match its digest"));
	assert_int_equal(count_entries(fx, "blobs/sha256"), 0);
	assert_int_equal(count_entries(fx, "tmp"), 0);
}

static void test_blob_larger_or_shorter_than_promised_is_refused(void **state)
{
	struct fixture *fx = *state;
	char digest[DIGEST_LEN + 1];
	struct blob_writer w;

	sha256_of("12345", 5, digest);
	assert_int_equal(blob_writer_open(&fx->s, &w, digest, 5), 0);
	assert_int_equal(blob_writer_write(&w, "1234", 4), 0);
	/* past the size: refused before it is written */
	assert_int_equal(blob_writer_write(&w, "56", 2), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(blob_writer_commit(&fx->s, &w, &fx->f), -1);
	assert_non_null(strstr(fx->f.what, "got 4 bytes, the manifest says 5"));
	assert_int_equal(count_entries(fx, "blobs/sha256"), 0);
	assert_int_equal(count_entries(fx, "tmp"), 0);
}

static void test_corrupt_blob_on_disk_is_noticed_when_read(void **state)
{
	struct fixture *fx = *state;
	char digest[DIGEST_LEN + 1], path[PATH_MAX];
	char *data;
	size_t len;

	sha256_of("{}", 2, digest);
	assert_int_equal(store_put_blob(&fx->s, digest, "{}", 2, &fx->f), 0);
	assert_int_equal(store_read_blob(&fx->s, digest, 100, &data, &len, &fx->f), 0);
	assert_string_equal(data, "{}");
	free(data);
	assert_int_equal(store_blob_path(&fx->s, digest, path, sizeof(path)), 0);
	write_bytes(path, "[]", 2);
	assert_int_equal(store_read_blob(&fx->s, digest, 100, &data, &len, &fx->f), -1);
	assert_non_null(strstr(fx->f.what, "is corrupt"));
}

static void test_stale_temp_files_go_when_the_store_is_unused(void **state)
{
	struct fixture *fx = *state;
	char tmp[PATH_MAX], lock[PATH_MAX];
	struct store other;
	int fd;

	assert_int_equal(format_into(tmp, sizeof(tmp), "%s/tmp", fx->root), 0);
	put_file(tmp, "blob-left-by-kill-9", "partial");
	assert_int_equal(mkdir(strcat(tmp, "/layer-left-by-kill-9"), 0755), 0);
	put_file(tmp, "half-a-file", "partial");
	/* another box holds the store (its own open file description): nothing is touched */
	assert_int_equal(format_into(lock, sizeof(lock), "%s/lock", fx->root), 0);
	store_close(&fx->s);
	fd = open(lock, O_RDWR);
	assert_int_equal(flock(fd, LOCK_SH), 0);
	assert_int_equal(store_open(&other, fx->root, STORE_SHARED, &fx->f), 0);
	assert_int_equal(count_entries(fx, "tmp"), 2);
	store_close(&other);
	close(fd);
	/* the next box to find it unused cleans up */
	assert_int_equal(store_open(&fx->s, fx->root, STORE_SHARED, &fx->f), 0);
	assert_int_equal(count_entries(fx, "tmp"), 0);
}

static struct image_record record(const char *name, const char *tag, const char *seed)
{
	struct image_record rec = { .created = 1000, .size = 10 };

	snprintf(rec.name, sizeof(rec.name), "%s", name);
	snprintf(rec.tag, sizeof(rec.tag), "%s", tag);
	sha256_of(seed, strlen(seed), rec.digest);
	sha256_of(tag, strlen(tag), rec.config);
	return rec;
}

static void test_index_adds_finds_replaces_and_removes_names(void **state)
{
	struct fixture *fx = *state;
	struct image_record a = record("docker.io/library/busybox", "latest", "one");
	struct image_record b = record("docker.io/library/busybox", "latest", "two");
	struct image_record c = record("docker.io/library/busybox", "1.36", "one");
	struct image_record found, *all;
	struct reference ref;
	size_t count;

	assert_int_equal(store_add_image(&fx->s, &a, &fx->f), 0);
	assert_int_equal(store_add_image(&fx->s, &c, &fx->f), 0);
	assert_int_equal(parse_reference("busybox", &ref, NULL), 0);
	assert_int_equal(store_find_image(&fx->s, &ref, &found), 0);
	assert_string_equal(found.digest, a.digest);
	/* the same name and tag again replaces the entry */
	assert_int_equal(store_add_image(&fx->s, &b, &fx->f), 0);
	assert_int_equal(store_find_image(&fx->s, &ref, &found), 0);
	assert_string_equal(found.digest, b.digest);
	assert_int_equal(store_list_images(&fx->s, &all, &count), 0);
	assert_int_equal(count, 2);
	free(all);
	/* by digest */
	snprintf(ref.digest, sizeof(ref.digest), "%s", c.digest);
	ref.tag[0] = '\0';
	assert_int_equal(store_find_image(&fx->s, &ref, &found), 0);
	assert_string_equal(found.tag, "1.36");
	/* remove */
	assert_int_equal(parse_reference("busybox:1.36", &ref, NULL), 0);
	assert_int_equal(store_remove_image(&fx->s, &ref, &fx->f), 0);
	assert_int_equal(store_find_image(&fx->s, &ref, &found), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(store_remove_image(&fx->s, &ref, &fx->f), -1);
	assert_string_equal(fx->f.what, "no such image: docker.io/library/busybox:1.36");
}

static void test_concurrent_writers_lose_no_name(void **state)
{
	struct fixture *fx = *state;
	enum { WRITERS = 8, NAMES = 25 };	/* every name new: one lost update loses one for good */
	struct image_record *all;
	size_t count;

	for (int i = 0; i < WRITERS; i++) {
		if (fork() == 0) {
			char tag[16];
			struct store s;
			struct image_record rec;

			struct failure f;

			if (store_open(&s, fx->root, STORE_SHARED, &f) < 0)
				_exit(1);
			for (int k = 0; k < NAMES; k++) {
				snprintf(tag, sizeof(tag), "v%d-%d", i, k);
				rec = record("docker.io/library/app", tag, tag);
				if (store_add_image(&s, &rec, &f) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < WRITERS; i++) {
		int status;

		assert_true(wait(&status) > 0);
		assert_int_equal(status, 0);
	}
	assert_int_equal(store_list_images(&fx->s, &all, &count), 0);
	assert_int_equal(count, WRITERS * NAMES);
	free(all);
}

/* ---- images with real layers, for gc and store_open_image ------------------------------------ */

struct test_layer {
	char blob[DIGEST_LEN + 1];
	char diff_id[DIGEST_LEN + 1];
};

static struct test_layer add_layer(struct fixture *fx, const char *file, const char *text)
{
	const struct tar_entry e[] = { { .type = 'f', .path = file, .data = text } };
	struct memory tar = make_tar(e, 1, 0);
	struct memory gz = compress_with(&tar, "gzip");
	struct test_layer l;

	sha256_of(tar.data, tar.len, l.diff_id);
	sha256_of(gz.data, gz.len, l.blob);
	assert_int_equal(store_put_blob(&fx->s, l.blob, gz.data, gz.len, &fx->f), 0);
	assert_int_equal(store_add_layer(&fx->s, l.blob, l.diff_id, NULL, &fx->f), 0);
	free(tar.data);
	free(gz.data);
	return l;
}

/* An image of two layers, stored and named: the blobs, the layers, the config, the manifest. */
static void add_image(struct fixture *fx, const char *name, const struct test_layer *l0, const struct test_layer *l1)
{
	char config[1024], manifest[2048];
	struct image_record rec = { .created = 1 };
	struct reference ref;

	assert_int_equal(format_into(config, sizeof(config),
				     "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"%s\"]},"
				     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
				     name, l0->diff_id, l1->diff_id), 0);
	sha256_of(config, strlen(config), rec.config);
	assert_int_equal(store_put_blob(&fx->s, rec.config, config, strlen(config), &fx->f), 0);
	assert_int_equal(format_into(manifest, sizeof(manifest),
				     "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
				     "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
				     "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":1},"
				     "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":1}]}",
				     rec.config, strlen(config), l0->blob, l1->blob), 0);
	sha256_of(manifest, strlen(manifest), rec.digest);
	assert_int_equal(store_put_blob(&fx->s, rec.digest, manifest, strlen(manifest), &fx->f), 0);
	assert_int_equal(parse_reference(name, &ref, NULL), 0);
	reference_name(&ref, rec.name, sizeof(rec.name));
	snprintf(rec.tag, sizeof(rec.tag), "%s", ref.tag);
	assert_int_equal(store_add_image(&fx->s, &rec, &fx->f), 0);
}

static void need_root(void)
{
	if (!running_as_root()) {
		print_message("skipped: needs root\n");
		skip();
	}
}

static void test_layer_is_unpacked_once_under_its_diff_id(void **state)
{
	struct fixture *fx = *state;
	struct test_layer l;
	struct layer_info info;
	char dir[PATH_MAX];

	need_root();
	l = add_layer(fx, "hello", "world");
	assert_true(store_has_layer(&fx->s, l.diff_id));
	assert_int_equal(store_layer_dir(&fx->s, l.diff_id, dir, sizeof(dir)), 0);
	strcat(dir, "/diff/hello");
	assert_string_equal(slurp(dir), "world");
	assert_int_equal(store_read_layer_info(&fx->s, l.diff_id, &info), 0);
	assert_int_equal(info.size, 5);
	assert_int_equal(info.entries, 1);
	/* a second time is a no-op */
	assert_int_equal(store_add_layer(&fx->s, l.blob, l.diff_id, NULL, &fx->f), 0);
	assert_int_equal(count_entries(fx, "layers/sha256"), 1);
}

static void test_layer_with_the_wrong_diff_id_leaves_nothing(void **state)
{
	struct fixture *fx = *state;
	struct test_layer l;
	char wrong[DIGEST_LEN + 1];

	need_root();
	l = add_layer(fx, "a", "b");
	sha256_of("not this layer", 14, wrong);
	assert_int_equal(store_add_layer(&fx->s, l.blob, wrong, NULL, &fx->f), -1);
	assert_int_equal(errno, EBADMSG);
	assert_non_null(strstr(fx->f.what, "but the image config says"));
	assert_false(store_has_layer(&fx->s, wrong));
	assert_int_equal(count_entries(fx, "layers/sha256"), 1);
	assert_int_equal(count_entries(fx, "tmp"), 0);
}

/* Is there a file called name in a layer being unpacked in tmp/? */
static bool unpacking(struct fixture *fx, const char *name)
{
	char path[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	assert_int_equal(format_into(path, sizeof(path), "%s/tmp", fx->root), 0);
	d = opendir(path);
	assert_non_null(d);
	while (!found && (e = readdir(d))) {
		char file[PATH_MAX + 300];

		snprintf(file, sizeof(file), "%s/%s/diff/%s", path, e->d_name, name);
		found = strncmp(e->d_name, "layer-", 6) == 0 && access(file, F_OK) == 0;
	}
	closedir(d);
	return found;
}

/*
 * A layer is unpacked in tmp/ and renamed into place when complete: half
 * unpacked, it has no name. The blob is a FIFO here, so the unpacking
 * (in a child) gets the layer's bytes only as fast as the test writes them.
 */
static void test_a_layer_gets_its_name_only_when_complete(void **state)
{
	struct fixture *fx = *state;
	enum { BIG = 512 * 1024, SENT_FIRST = 128 * 1024 };	/* layer.c reads the stream 64 KiB at a time */
	char *big = calloc(1, BIG + 1);
	struct tar_entry e[] = { { .type = 'f', .path = "first" }, { .type = 'f', .path = "second", .data = "2" } };
	struct memory tar;
	char digest[DIGEST_LEN + 1], path[PATH_MAX];
	int fd, status, tries;
	pid_t pid;

	need_root();
	assert_non_null(big);
	memset(big, 'x', BIG);
	e[0].data = big;
	tar = make_tar(e, 2, 0);
	/* Uncompressed: the blob and the diffID are the digest of the same bytes. */
	sha256_of(tar.data, tar.len, digest);
	assert_int_equal(store_blob_path(&fx->s, digest, path, sizeof(path)), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	pid = fork();
	if (pid == 0) {
		struct failure f;

		_exit(store_add_layer(&fx->s, digest, digest, NULL, &f) == 0 ? 0 : 1);
	}
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, tar.data, SENT_FIRST), SENT_FIRST);	/* "first"'s header and the start of its data */
	for (tries = 0; tries < 500 && !unpacking(fx, "first") && waitpid(pid, &status, WNOHANG) == 0; tries++)
		usleep(10 * 1000);
	assert_true(unpacking(fx, "first"));
	assert_false(store_has_layer(&fx->s, digest));
	assert_int_equal(write(fd, tar.data + SENT_FIRST, tar.len - SENT_FIRST), (ssize_t)(tar.len - SENT_FIRST));
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_true(store_has_layer(&fx->s, digest));
	assert_int_equal(count_entries(fx, "tmp"), 0);
	unlink(path);
	free(tar.data);
	free(big);
}

static void test_open_image_gives_layers_bottom_first_and_config(void **state)
{
	struct fixture *fx = *state;
	struct test_layer l0, l1;
	struct reference ref;
	struct image img;
	char dir[PATH_MAX];

	need_root();
	l0 = add_layer(fx, "base", "0");
	l1 = add_layer(fx, "top", "1");
	add_image(fx, "app:v1", &l0, &l1);
	assert_int_equal(parse_reference("app:v1", &ref, NULL), 0);
	assert_int_equal(store_open_image(&fx->s, &ref, &img, &fx->f), 0);
	assert_int_equal(img.nlayers, 2);
	assert_int_equal(store_layer_dir(&fx->s, l0.diff_id, dir, sizeof(dir)), 0);
	strcat(dir, "/diff");
	assert_string_equal(img.layers[0], dir);
	assert_string_equal(img.config.cmd[0], "app:v1");
	free_image(&img);
	assert_int_equal(parse_reference("app:v2", &ref, NULL), 0);
	assert_int_equal(store_open_image(&fx->s, &ref, &img, &fx->f), -1);
	assert_string_equal(fx->f.what, "no such image: docker.io/library/app:v2");
}

static void test_gc_keeps_a_layer_another_image_uses(void **state)
{
	struct fixture *fx = *state;
	struct test_layer shared, only_a, only_b;
	struct reference ref;
	struct gc_stats stats;
	struct image img;

	need_root();
	shared = add_layer(fx, "shared", "s");
	only_a = add_layer(fx, "a", "a");
	only_b = add_layer(fx, "b", "b");
	add_image(fx, "a", &shared, &only_a);
	add_image(fx, "b", &shared, &only_b);
	assert_int_equal(count_entries(fx, "blobs/sha256"), 7);	/* 3 layers, 2 configs, 2 manifests */
	store_close(&fx->s);
	assert_int_equal(store_open(&fx->s, fx->root, STORE_EXCLUSIVE, &fx->f), 0);
	assert_int_equal(parse_reference("a", &ref, NULL), 0);
	assert_int_equal(store_remove_image(&fx->s, &ref, &fx->f), 0);
	assert_int_equal(store_gc(&fx->s, &stats, &fx->f), 0);
	assert_int_equal(stats.blobs_removed, 3);	/* a's layer, config, manifest */
	assert_int_equal(stats.layers_removed, 1);
	assert_true(store_has_layer(&fx->s, shared.diff_id));
	assert_true(store_has_blob(&fx->s, shared.blob));
	assert_false(store_has_layer(&fx->s, only_a.diff_id));
	assert_false(store_has_blob(&fx->s, only_a.blob));
	assert_int_equal(count_entries(fx, "tmp"), 0);
	assert_int_equal(parse_reference("b", &ref, NULL), 0);
	assert_int_equal(store_open_image(&fx->s, &ref, &img, &fx->f), 0);
	free_image(&img);
	assert_int_equal(store_remove_image(&fx->s, &ref, &fx->f), 0);
	assert_int_equal(store_gc(&fx->s, &stats, &fx->f), 0);
	assert_int_equal(count_entries(fx, "blobs/sha256"), 0);
	assert_int_equal(count_entries(fx, "layers/sha256"), 0);
}

static void test_sizes_and_ages_read_like_docker(void **state)
{
	char buf[64];

	(void)state;
	format_size(0, buf, sizeof(buf));
	assert_string_equal(buf, "0B");
	format_size(999, buf, sizeof(buf));
	assert_string_equal(buf, "999B");
	format_size(4261234, buf, sizeof(buf));
	assert_string_equal(buf, "4.26MB");
	format_size(133000000, buf, sizeof(buf));
	assert_string_equal(buf, "133MB");
	format_size(999999, buf, sizeof(buf));
	assert_string_equal(buf, "1MB");
	format_ago(1000, 1000, buf, sizeof(buf));
	assert_string_equal(buf, "Less than a second ago");
	format_ago(1000, 1045, buf, sizeof(buf));
	assert_string_equal(buf, "45 seconds ago");
	format_ago(1000, 1000 + 90, buf, sizeof(buf));
	assert_string_equal(buf, "About a minute ago");
	format_ago(1000, 1000 + 120, buf, sizeof(buf));
	assert_string_equal(buf, "2 minutes ago");
	format_ago(1000, 1000 + 3600, buf, sizeof(buf));
	assert_string_equal(buf, "About an hour ago");
	format_ago(1000, 1000 + 5 * 3600, buf, sizeof(buf));
	assert_string_equal(buf, "5 hours ago");
	format_ago(1000, 1000 + 3 * 86400, buf, sizeof(buf));
	assert_string_equal(buf, "3 days ago");
	format_ago(1000, 1000 + 21 * 86400, buf, sizeof(buf));
	assert_string_equal(buf, "3 weeks ago");
	format_ago(1000, 1000 + 90 * 86400, buf, sizeof(buf));
	assert_string_equal(buf, "3 months ago");
	format_ago(1000, 1000 + 3 * 366 * 86400, buf, sizeof(buf));
	assert_string_equal(buf, "3 years ago");
	format_ago(0, 1000, buf, sizeof(buf));
	assert_string_equal(buf, "N/A");
}

static void test_images_table_is_docker_like(void **state)
{
	struct image_record recs[2] = {
		record("docker.io/library/busybox", "latest", "x"),
		record("127.0.0.1:5000/team/app", "", "y"),
	};
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	recs[0].created = 1000;
	recs[0].size = 4261234;
	recs[1].created = 900;
	recs[1].size = 1200;
	snprintf(recs[0].config, sizeof(recs[0].config), "sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824");
	snprintf(recs[1].config, sizeof(recs[1].config), "sha256:0123456789ab24a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824");
	assert_int_equal(print_images(out, recs, 2, 1000 + 120), 0);
	fclose(out);
	assert_string_equal(text,
			    "REPOSITORY                TAG       IMAGE ID       CREATED         SIZE\n"
			    "busybox                   latest    a416a98b71e2   2 minutes ago   4.26MB\n"
			    "127.0.0.1:5000/team/app   <none>    0123456789ab   3 minutes ago   1.2kB\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blob_gets_its_name_only_when_verified, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_blob_is_thrown_away_naming_its_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_larger_or_shorter_than_promised_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_blob_on_disk_is_noticed_when_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_temp_files_go_when_the_store_is_unused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_adds_finds_replaces_and_removes_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers_lose_no_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layer_is_unpacked_once_under_its_diff_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layer_with_the_wrong_diff_id_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_layer_gets_its_name_only_when_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_image_gives_layers_bottom_first_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_keeps_a_layer_another_image_uses, setup, teardown),
		cmocka_unit_test(test_sizes_and_ages_read_like_docker),
		cmocka_unit_test(test_images_table_is_docker_like),
	};

	select_tests();
	return cmocka_run_group_tests_name("step06 store", tests, testkit_setup, testkit_cleanup);
}
