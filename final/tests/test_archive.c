/*
 * test_archive.c - box save and box load: an OCI layout tar out and back in,
 * docker-archives in, and every way a file can lie refused. (Root: layers
 * are unpacked with their owners.)
 */
#include "imageutil.h"

#include <jansson.h>

static char scratch[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	make_scratch(scratch, sizeof(scratch), "archive");
	unsetenv("SOURCE_DATE_EPOCH");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_scratch(scratch);
	return 0;
}

static void open_store(struct store *s, const char *name)
{
	char root[PATH_MAX + 64];
	struct failure f;

	snprintf(root, sizeof(root), "%s/%s", scratch, name);
	assert_int_equal(store_open(s, root, STORE_SHARED, &f), 0);
}

static char *path_in(const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	return path;
}

/* An image of one layer (a file with this text) and a CMD, named name, in s. */
static struct image_record make_image(struct store *s, const char *name, const char *text)
{
	char upper[PATH_MAX + 64];
	struct platform p = { .os = "linux", .architecture = "amd64" };
	struct image_draft d;
	struct layer_blob l;
	struct image_record rec;
	struct failure f;

	snprintf(upper, sizeof(upper), "%s/upper-%s", scratch, text);
	assert_int_equal(sh("rm -rf '%s' && mkdir -p '%s/etc'", upper, upper), 0);
	put_file(upper, "etc/motd", text);
	assert_int_equal(draft_from_scratch(&d, &p, &f), 0);
	assert_int_equal(layer_from_dir(s, upper, -1, &l, &f), 0);
	assert_int_equal(draft_add_layer(&d, &l), 0);
	assert_int_equal(draft_add_history(&d, "2026-01-01T00:00:00Z", "COPY motd", false, NULL), 0);
	assert_int_equal(draft_set(&d, "Cmd", json_pack("[s]", "/bin/sh")), 0);
	assert_int_equal(draft_commit(s, &d, "2026-01-01T00:00:00Z", &rec, &f), 0);
	assert_int_equal(name_image_as(s, &rec, name, &f), 0);
	draft_free(&d);
	return rec;
}

static struct image_record find(struct store *s, const char *name)
{
	struct reference ref;
	struct image_record rec;
	struct failure f;

	assert_int_equal(parse_reference(name, &ref, &f), 0);
	if (store_find_image(s, &ref, &rec) < 0)
		fail_msg("%s is not in the store", name);
	return rec;
}

static void test_save_then_load_gives_the_same_images(void **state)
{
	char *names[] = { "example.com/app:v1", "localhost/other:latest" };
	struct image_record a, b, loaded;
	struct store from, to;
	struct failure f;
	struct image img;
	struct reference ref;
	char *out;
	size_t len;
	FILE *log = open_memstream(&out, &len);

	(void)state;
	if (skip_unless_root())
		return;
	open_store(&from, "save-from");
	a = make_image(&from, names[0], "one\n");
	b = make_image(&from, names[1], "two\n");
	assert_int_equal(save_images(&from, names, 2, path_in("two.tar"), &f), 0);
	open_store(&to, "save-to");
	assert_int_equal(load_images(&to, path_in("two.tar"), log, &f), 0);
	fclose(log);
	assert_string_equal(out, "Loaded image: example.com/app:v1\nLoaded image: localhost/other:latest\n");
	free(out);
	loaded = find(&to, names[0]);
	assert_string_equal(loaded.digest, a.digest);
	assert_string_equal(loaded.config, a.config);
	loaded = find(&to, names[1]);
	assert_string_equal(loaded.config, b.config);
	assert_int_equal(parse_reference(names[1], &ref, &f), 0);
	assert_int_equal(store_open_image(&to, &ref, &img, &f), 0);	/* runnable: every layer unpacked */
	free_image(&img);
	store_close(&from);
	store_close(&to);
}

static void test_the_file_is_an_oci_layout_and_a_docker_archive(void **state)
{
	char *names[] = { "example.com/layout:v1" };
	struct store s;
	struct failure f;
	char out[256];
	json_t *index, *docker;

	(void)state;
	if (skip_unless_root())
		return;
	open_store(&s, "layout");
	make_image(&s, names[0], "layout\n");
	assert_int_equal(save_images(&s, names, 1, path_in("layout.tar"), &f), 0);
	assert_string_equal(sh_out(out, sizeof(out), "tar tf '%s' | head -3 | tr '\\n' ' '", path_in("layout.tar")),
			    "oci-layout index.json manifest.json ");
	assert_int_equal(sh("cd '%s' && mkdir -p x && tar xf layout.tar -C x", scratch), 0);
	assert_string_equal(slurp(path_in("x/oci-layout")), "{\"imageLayoutVersion\":\"1.0.0\"}");
	index = json_load_file(path_in("x/index.json"), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(index, "manifests"), 0),
										"annotations"),
							      "org.opencontainers.image.ref.name")),
			    "example.com/layout:v1");
	json_decref(index);
	docker = json_load_file(path_in("x/manifest.json"), 0, NULL);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(docker, 0), "RepoTags"), 0)),
			    "example.com/layout:v1");
	json_decref(docker);
	/* every blob is named by what it hashes to */
	assert_int_equal(sh("cd '%s/x/blobs/sha256' && for b in *; do [ \"$(sha256sum < $b | cut -c1-64)\" = $b ] || exit 1; done",
			    scratch),
			 0);
	/* and the same images save to the same bytes */
	assert_int_equal(save_images(&s, names, 1, path_in("again.tar"), &f), 0);
	assert_int_equal(sh("cmp -s '%s' '%s'", path_in("layout.tar"), path_in("again.tar")), 0);
	store_close(&s);
}

/* A docker-archive as `docker save` wrote them: <id>/layer.tar (uncompressed), <config hex>.json, manifest.json. */
static void write_docker_archive(const char *path, const char *layer_entry_name, bool bad_config_name)
{
	struct tar_entry layer_files[] = { { .type = 'd', .path = "etc/" }, { .type = 'f', .path = "etc/hostname", .data = "docker\n" },
					   { .type = 'f', .path = layer_entry_name, .data = "x" } };
	struct memory layer = make_tar(layer_files, 3, 0), archive;
	char diff_id[DIGEST_LEN + 1], config_digest[DIGEST_LEN + 1], config_name[128], manifest[512], *config;

	sha256_of(layer.data, layer.len, diff_id);
	assert_true(asprintf(&config, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},"
				      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
			     diff_id) > 0);
	sha256_of(config, strlen(config), config_digest);
	snprintf(config_name, sizeof(config_name), "%s.json", bad_config_name ? "0000000000000000000000000000000000000000000000000000000000000000"
									      : config_digest + 7);
	snprintf(manifest, sizeof(manifest),
		 "[{\"Config\":\"%s\",\"RepoTags\":[\"docker.io/library/fromdocker:1\",\"alias:2\"],"
		 "\"Layers\":[\"link/layer.tar\"]}]", config_name);
	{
		struct tar_entry entries[] = {
			{ .type = 'f', .path = "abc/layer.tar", .size = (long long)layer.len },
			{ .type = 'l', .path = "link/layer.tar", .link = "../abc/layer.tar" },
			{ .type = 'f', .path = config_name, .data = config },
			{ .type = 'f', .path = "manifest.json", .data = manifest },
		};
		struct archive *a = archive_write_new();

		archive = (struct memory){ 0 };
		archive_write_set_format_pax_restricted(a);
		assert_int_equal(archive_write_open(a, &archive, NULL, memory_write, NULL), ARCHIVE_OK);
		add_entry(a, &entries[0]);
		assert_int_equal(archive_write_data(a, layer.data, layer.len), (la_ssize_t)layer.len);
		for (int i = 1; i < 4; i++)
			add_entry(a, &entries[i]);
		archive_write_close(a);
		archive_write_free(a);
	}
	write_bytes(path, archive.data, archive.len);
	free(archive.data);
	free(layer.data);
	free(config);
}

static void test_a_docker_archive_is_loaded_with_its_tags(void **state)
{
	struct store s;
	struct failure f;
	struct image img;
	struct reference ref;
	char path[2 * PATH_MAX];

	(void)state;
	if (skip_unless_root())
		return;
	write_docker_archive(path_in("docker.tar"), "etc/issue", false);
	open_store(&s, "docker");
	assert_int_equal(load_images(&s, path_in("docker.tar"), NULL, &f), 0);
	find(&s, "fromdocker:1");
	find(&s, "alias:2");
	assert_int_equal(parse_reference("alias:2", &ref, &f), 0);
	assert_int_equal(store_open_image(&s, &ref, &img, &f), 0);
	snprintf(path, sizeof(path), "%s/etc/hostname", img.layers[0]);
	assert_string_equal(slurp(path), "docker\n");
	free_image(&img);
	store_close(&s);
}

/* Nothing named, and the store sound, after a refused load. */
static void assert_refused(const char *store_name, const char *file, int err, const char *what)
{
	struct store s;
	struct failure f;
	struct image_record *recs;
	size_t count;

	open_store(&s, store_name);
	assert_int_equal(load_images(&s, file, NULL, &f), -1);
	assert_int_equal(errno, err);
	if (!strstr(f.what, what))
		fail_msg("expected \"%s\" in \"%s\"", what, f.what);
	assert_int_equal(store_list_images(&s, &recs, &count), 0);
	assert_int_equal(count, 0);
	free(recs);
	assert_int_equal(sh("[ -z \"$(ls -A '%s/tmp')\" ]", s.root), 0);
	store_close(&s);
}

static void test_a_blob_that_is_not_what_its_name_says_is_refused(void **state)
{
	char *names[] = { "example.com/tamper:v1" };
	struct store s;
	struct failure f;

	(void)state;
	if (skip_unless_root())
		return;
	open_store(&s, "tamper-from");
	make_image(&s, names[0], "original\n");
	assert_int_equal(save_images(&s, names, 1, path_in("tamper.tar"), &f), 0);
	store_close(&s);
	/* Change one byte of the config (the blob of ~300 bytes that holds "amd64"), keeping its name. */
	assert_int_equal(sh("cd '%s' && rm -rf t && mkdir t && tar xf tamper.tar -C t && cd t && "
			    "f=$(grep -l amd64 blobs/sha256/*) && sed -i s/amd64/arm64/ $f && tar cf ../tampered.tar *",
			    scratch),
			 0);
	assert_refused("tamper-to", path_in("tampered.tar"), EBADMSG, "does not match its digest");
	write_docker_archive(path_in("badname.tar"), "etc/issue", true);
	assert_refused("badname", path_in("badname.tar"), EBADMSG, "does not match its name");
}

static void test_a_layer_that_leaves_its_root_is_refused(void **state)
{
	(void)state;
	if (skip_unless_root())
		return;
	write_docker_archive(path_in("escape.tar"), "../../escaped-by-load", false);
	assert_refused("escape", path_in("escape.tar"), EPERM, "\"..\" would leave the layer");
	assert_int_equal(access(path_in("escaped-by-load"), F_OK), -1);
}

static void test_what_is_not_an_image_archive_is_refused(void **state)
{
	(void)state;
	if (skip_unless_root())
		return;
	put_file(scratch, "not.tar", "just some text\n");
	assert_refused("nottar", path_in("not.tar"), EINVAL, "is not a tar archive");
	assert_int_equal(sh("cd '%s' && mkdir -p plain && echo x > plain/x && tar cf plain.tar -C plain x", scratch), 0);
	assert_refused("plain", path_in("plain.tar"), EINVAL, "has neither index.json (OCI layout) nor manifest.json");
	{
		char *names[] = { "example.com/incomplete:v1" };
		struct store s;
		struct failure f;

		open_store(&s, "missing-from");
		make_image(&s, names[0], "incomplete\n");
		assert_int_equal(save_images(&s, names, 1, path_in("complete.tar"), &f), 0);
		store_close(&s);
	}
	/* Take the layer (the gzip blob) out. */
	assert_int_equal(sh("cd '%s' && rm -rf m && mkdir m && tar xf complete.tar -C m && cd m && "
			    "for b in blobs/sha256/*; do [ \"$(head -c2 $b | od -An -tx1 | tr -d ' ')\" = 1f8b ] && rm $b; done; "
			    "tar cf ../missing.tar *",
			    scratch),
			 0);
	assert_refused("missing", path_in("missing.tar"), ENOENT, "is not in the archive");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_then_load_gives_the_same_images),
		cmocka_unit_test(test_the_file_is_an_oci_layout_and_a_docker_archive),
		cmocka_unit_test(test_a_docker_archive_is_loaded_with_its_tags),
		cmocka_unit_test(test_a_blob_that_is_not_what_its_name_says_is_refused),
		cmocka_unit_test(test_a_layer_that_leaves_its_root_is_refused),
		cmocka_unit_test(test_what_is_not_an_image_archive_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
