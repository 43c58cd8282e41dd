#!/bin/bash
# prove.sh - images made by box, checked by other tools; images made by other
# tools, taken by box. Prints "ok" or "FAIL" per check and a summary; exit 0
# when every check passed. Needs root; run it as `make prove` (flock on
# /tmp/box-tests.lock, as the host's rules ask).
#
#   build -> push -> skopeo copy -> umoci unpack      the tree matches box's own view of the image
#   box login -> push to the token registry -> skopeo reads box's auth file
#   save -> skopeo inspect oci-archive: / docker-archive:, podman load; podman save -> box load
#   buildah bud -> push -> box pull                    config and tree match
#   a push that fails half way, and its retry; the cache; multi-stage; bad input; SIGINT
#   measured: box build against buildah bud --layers, cold, cached, after a change
#
# RUN steps are box run's containers (build-run.c): namespaces, cgroup,
# network, security profile. The whole script runs in a network namespace
# of its own (unshare -n, as 'make prove' starts it), so box0, veths and nft
# rules are made there, never on the host. Every mount (box's, buildah's,
# podman's) is in a private mount namespace that dies with its command.
# Everything is under build/prove/; every registry, token service and proxy
# it starts is stopped at the end, by its pid.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
boxbin=$here/${BIN:-box}
TK=${TESTKIT:-$here/../testkit}
work=$here/build/prove
export BOX_TEST_IMAGE_CACHE=$here/build/image-cache
unset REGISTRY_AUTH_FILE BOX_REGISTRY_DEBUG SOURCE_DATE_EPOCH
export BOX_REGISTRY_TIMEOUT=10
export BOX_ROOT=$work/root BOX_STATE=$work/state
export HOME=$work/home XDG_RUNTIME_DIR=$work/run	# no login of the host's is read; box login writes here

pass=0 failures=0
log=$work/prove.log
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }
note() { echo "     $*"; }
check() {	# check WHAT COMMAND...: ok if it succeeds (output to the log)
	local what=$1
	shift
	echo "== $what: $*" >> "$log"
	if "$@" >> "$log" 2>&1; then ok "$what"; else bad "$what"; fi
}
fails() {	# fails WHAT PATTERN COMMAND...: it must fail, one line on stderr matching PATTERN
	local what=$1 pattern=$2 err
	shift 2
	echo "== $what: $*" >> "$log"
	if err=$("$@" 2>&1 >/dev/null); then
		bad "$what (it succeeded)"
	elif [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || ! grep -qE -- "$pattern" <<< "$err"; then
		bad "$what: $err"
	else
		ok "$what"
		note "$err"
	fi
	echo "$err" >> "$log"
}
sha256cut() { sha256sum | cut -c1-64; }
same() {	# same WHAT A B: two values must be equal
	if [ "$2" = "$3" ] && [ -n "$2" ]; then ok "$1"; else bad "$1: '$2' != '$3'"; fi
}

registries=()
basic_pid=
cleanup() {
	for dir in "${registries[@]}"; do "$TK/registry" stop "$dir" > /dev/null 2>&1; done
	if [ -n "$basic_pid" ]; then kill "$basic_pid" 2> /dev/null; wait "$basic_pid" 2> /dev/null; fi
	basic_pid=
}
trap cleanup EXIT

rm -rf "$work"
mkdir -p "$work" "$HOME" "$XDG_RUNTIME_DIR"
: > "$log"

start_registry() {	# DIR [docker] [options]: a registry with the busybox test image (and the Docker-format one)
	local dir=$1 only=busybox
	shift
	if [ "${1:-}" = docker ]; then only=busybox,docker; shift; fi
	registries+=("$dir")
	"$TK/registry" start "$dir" "$@" > /dev/null || { echo "cannot start a registry in $dir"; exit 1; }
	(. "$dir/env" && "$TK/mkimages.sh" ${REGISTRY_USER:+--creds "$REGISTRY_USER:$REGISTRY_PASSWORD"} \
		--only "$only" "$REGISTRY" > /dev/null) || { echo "mkimages failed"; exit 1; }
}

box() { "$boxbin" --root "$work/root" "$@"; }
# box with RUN steps: box run's containers make their own mount namespaces.
box_ns() { box "$@"; }

. "$here/tests/prove-lib.sh"	# tree_of

# Box's own view of an image: its layers from the store, stacked by overlayfs (read-only, private mount).
box_tree() {
	local ref=$1 out=$2 lower=
	for id in $(box inspect "$ref" | jq -r '.RootFS.diff_ids[]'); do
		lower=$work/root/layers/sha256/${id#sha256:}/diff${lower:+:$lower}
	done
	mkdir -p "$work/mnt"
	unshare -m --propagation private sh -c "mount -t overlay overlay -o 'lowerdir=$lower' '$work/mnt' &&
		cd '$here' && . tests/prove-lib.sh && tree_of '$work/mnt'" > "$out"
}

echo "# registries (docker-registry 2.8: plain, and behind the token service)"
start_registry "$work/plain" docker
start_registry "$work/token" --token
plain=$(sed -n 's/^REGISTRY=//p' "$work/plain/env")
token=$(sed -n 's/^REGISTRY=//p' "$work/token/env")
token_user=$(. "$work/token/env" && echo "$REGISTRY_USER")
token_password=$(. "$work/token/env" && echo "$REGISTRY_PASSWORD")
note "plain $plain, token $token"

# ---------------------------------------------------------------------------------------------
echo "# box build, then other tools read the image"
ctx=$work/ctx
mkdir -p "$ctx/app/bin" "$ctx/old"
printf 'hello from the context\n' > "$ctx/app/hello.txt"
printf '#!/bin/sh\necho "tool says $*"\n' > "$ctx/app/bin/tool"
chmod 755 "$ctx/app/bin/tool"
ln -s bin/tool "$ctx/app/tool-link"
echo old > "$ctx/old/old.txt"
echo "not for the image" > "$ctx/secret.key"
printf '*.key\n' > "$ctx/.dockerignore"
cat > "$ctx/Containerfile" << EOF
FROM $plain/box-test/busybox
ARG WHO=box
ENV GREETING="hello from \$WHO" PATH=/app/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /app
COPY app/ ./
COPY old/ /opt/data/
COPY --chown=1000:1000 app/hello.txt /home/user/hello.txt
RUN rm /etc/passwd && echo "\$GREETING" > /app/greeting.txt
RUN rm -rf /opt/data && mkdir /opt/data && echo new > /opt/data/new.txt
LABEL org.opencontainers.image.title="proved by box" stage=final
EXPOSE 8080/tcp
USER 1000:1000
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/greeting.txt"]
EOF
check "box build (14 steps, RUN in box run's containers)" box_ns build -t "$plain/proved/app:1" "$ctx"
check "  ...the RUN layer whites out /etc/passwd (etc/.wh.passwd)" sh -c "
	M=\$('$boxbin' --root '$work/root' inspect '$plain/proved/app:1' | jq -r .Digest)
	L=\$(jq -r '.layers[-2].digest' '$work/root/blobs/sha256/'\${M#sha256:})
	tar tzf '$work/root/blobs/sha256/'\${L#sha256:} | grep -qx 'etc/.wh.passwd'"
check "  ...and the next one marks /opt/data opaque (.wh..wh..opq)" sh -c "
	M=\$('$boxbin' --root '$work/root' inspect '$plain/proved/app:1' | jq -r .Digest)
	L=\$(jq -r '.layers[-1].digest' '$work/root/blobs/sha256/'\${M#sha256:})
	tar tzf '$work/root/blobs/sha256/'\${L#sha256:} | grep -qx 'opt/data/.wh..wh..opq'"
check "box push to the plain registry" box push "$plain/proved/app:1"
check "skopeo copy docker:// -> oci: (another client pulls it)" \
	skopeo copy -q --src-tls-verify=false "docker://$plain/proved/app:1" "oci:$work/oci:app"
check "umoci unpack" umoci unpack --image "$work/oci:app" "$work/bundle"
box_tree "$plain/proved/app:1" "$work/tree-box.txt"
tree_of "$work/bundle/rootfs" > "$work/tree-umoci.txt"
check "  ...umoci's tree matches box's (paths, types, modes, owners, sizes, links, contents, file mtimes)" \
	diff -u "$work/tree-box.txt" "$work/tree-umoci.txt"
note "$(grep -c . "$work/tree-box.txt") lines compared"
check "  .../etc/passwd is gone (the whiteout, read by umoci)" test ! -e "$work/bundle/rootfs/etc/passwd"
check "  .../opt/data holds only new.txt (the opaque directory)" test "$(ls "$work/bundle/rootfs/opt/data")" = new.txt
check "  ...--chown=1000:1000 kept" test "$(stat -c %u:%g "$work/bundle/rootfs/home/user/hello.txt")" = 1000:1000
check "  ...the ignored secret.key is not there" test ! -e "$work/bundle/rootfs/app/secret.key"
check "  ...runs as the config says (umoci's config.json: user, cwd, env, args)" sh -c "
	jq -e '.process.user.uid == 1000 and .process.cwd == \"/app\" and
		(.process.args == [\"/bin/sh\", \"-c\", \"cat /app/greeting.txt\"]) and
		(.process.env | index(\"GREETING=hello from box\") != null)' '$work/bundle/config.json'"
check "  ...and the command prints what the file asked (chroot into umoci's rootfs)" sh -c "
	[ \"\$(chroot --userspec=1000:1000 '$work/bundle/rootfs' /bin/sh -c 'cd /app && cat /app/greeting.txt')\" = 'hello from box' ]"
check "skopeo inspect: labels, ports, user as built" sh -c "
	skopeo inspect --config --tls-verify=false 'docker://$plain/proved/app:1' |
	jq -e '.config.Labels.stage == \"final\" and .config.ExposedPorts[\"8080/tcp\"] == {} and .config.User == \"1000:1000\"'"

# ---------------------------------------------------------------------------------------------
echo "# box login, then push behind the token service"
check "box login (checks the password with the token service)" sh -c "echo '$token_password' | '$boxbin' --root '$work/root' login -u '$token_user' --password-stdin '$token'"
check "  ...auth.json in \$XDG_RUNTIME_DIR/containers, mode 0600" test "$(stat -c %a "$XDG_RUNTIME_DIR/containers/auth.json")" = 600
fails "box login with a wrong password" "refused the credentials" sh -c "echo nope | '$boxbin' --root '$work/root' login -u '$token_user' --password-stdin '$token'"
check "box tag, box push to the token registry" sh -c "'$boxbin' --root '$work/root' tag '$plain/proved/app:1' '$token/proved/app:1' &&
	BOX_REGISTRY_DEBUG=1 '$boxbin' --root '$work/root' push '$token/proved/app:1' > '$work/push-token.out' 2> '$work/push-token.transcript'"
check "  ...one token, asked for with pull,push" grep -q "scope=repository%3Aproved%2Fapp%3Apull%2Cpush" "$work/push-token.transcript"
check "  ...no secret in the transcript" sh -c "! grep -q '$token_password' '$work/push-token.transcript' && ! grep -qi 'Bearer ey' '$work/push-token.transcript'"
check "skopeo, reading box's auth file, pulls it (podman's format)" \
	skopeo inspect --tls-verify=false --authfile "$XDG_RUNTIME_DIR/containers/auth.json" "docker://$token/proved/app:1"
fails "anonymous skopeo is refused (the repository is private)" "unauthorized|authentication required|denied" \
	sh -c "skopeo inspect --tls-verify=false --no-creds 'docker://$token/proved/app:1' 2>&1 >/dev/null | tail -1 >&2; exit 1"
check "box logout" box logout "$token"
fails "box push after logout is refused" "push access denied|needs a username|refused" box push "$token/proved/app:1"

echo "# HTTP Basic (a registry with an htpasswd file, no token service)"
bdir=$work/basic
mkdir -p "$bdir"
bport=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/bin/python3 -W ignore -c 'import crypt; print("boxuser:" + crypt.crypt("boxpass", crypt.mksalt(crypt.METHOD_BLOWFISH)))' > "$bdir/htpasswd"
cat > "$bdir/config.yml" << CONFIG
version: 0.1
log: {level: info, formatter: text}
storage: {filesystem: {rootdirectory: $bdir/data}}
http: {addr: 127.0.0.1:$bport, secret: box-basic}
auth: {htpasswd: {realm: box-basic, path: $bdir/htpasswd}}
CONFIG
setsid /usr/bin/docker-registry serve "$bdir/config.yml" < /dev/null > "$bdir/registry.log" 2>&1 &
basic_pid=$!
basic=127.0.0.1:$bport
for _ in $(seq 50); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$basic/v2/")" = 401 ] && break; sleep 0.1; done
fails "push without credentials" "needs a username and password" box push -q "$plain/proved/app:1" "$basic/proved/app:1"
check "box login (Basic: the credentials go to /v2/ itself)" box login -u boxuser -p boxpass "$basic"
check "box push with Basic credentials" box push -q "$plain/proved/app:1" "$basic/proved/app:1"
same "  ...skopeo (boxuser) sees the image" \
	"$(skopeo inspect --tls-verify=false --creds boxuser:boxpass "docker://$basic/proved/app:1" | jq -r .Digest)" \
	"$(box inspect "$plain/proved/app:1" | jq -r .Digest)"
kill "$basic_pid"
wait "$basic_pid" 2> /dev/null
basic_pid=

# ---------------------------------------------------------------------------------------------
echo "# box save, then skopeo and podman read it"
app_id=$(box inspect "$plain/proved/app:1" | jq -r '.Id | ltrimstr("sha256:")')
app_digest=$(box inspect "$plain/proved/app:1" | jq -r .Digest)
check "box save -o app.tar (one image)" box save -o "$work/app.tar" "$plain/proved/app:1"
check "box save -o two.tar (two images)" box save -o "$work/two.tar" "$plain/proved/app:1" "$plain/box-test/busybox"
same "skopeo inspect oci-archive:app.tar:NAME gives the manifest digest" \
	"$(skopeo inspect "oci-archive:$work/two.tar:$plain/proved/app:1" | jq -r .Digest)" "$app_digest"
same "skopeo inspect docker-archive:two.tar:NAME (the manifest.json side) finds the same config" \
	"$(skopeo inspect --config --raw "docker-archive:$work/two.tar:$plain/proved/app:1" | sha256sum | cut -c1-64)" "$app_id"
podman_ns() {	# podman with a private storage, in a mount namespace of its own
	unshare -m --propagation private sh -c '
		for d in /var/lib/containers /run/containers /run/libpod /var/tmp; do mkdir -p $d 2>/dev/null; mount -t tmpfs tmpfs $d; done
		exec podman --root "$0/podman/root" --runroot /run/containers/prove --storage-driver overlay "$@"' "$work" "$@"
}
podman_load() { podman_ns load -i "$1" > "$work/podman-load.out" 2>&1; }
check "podman load -i app.tar" podman_load "$work/app.tar"
note "$(tail -1 "$work/podman-load.out")"
same "  ...podman knows it by its name, with box's image ID" \
	"$(podman_ns image inspect --format '{{.Id}}' "$plain/proved/app:1" 2>> "$log")" "$app_id"
check "podman load -i two.tar (two images in one OCI archive)" podman_load "$work/two.tar"
note "$(tail -1 "$work/podman-load.out")"
check "box pull of a Docker schema 2 image, box save" sh -c "'$boxbin' --root '$work/root' pull -q '$plain/box-test/docker' &&
	'$boxbin' --root '$work/root' save -o '$work/docker.tar' '$plain/box-test/docker'"
same "  ...saved with an OCI manifest (skopeo reads only those in a layout), the same image ID" \
	"$(skopeo inspect --config --raw "oci-archive:$work/docker.tar:$plain/box-test/docker:latest" | sha256cut)" \
	"$(box inspect "$plain/box-test/docker" | jq -r '.Id | ltrimstr("sha256:")')"
podman_save_box_load() {	# FORMAT FILE BOXROOT
	podman_ns save --format "$1" -o "$2" "$plain/proved/app:1" && "$boxbin" --root "$3" load -i "$2"
}
check "podman save --format docker-archive, box load" podman_save_box_load docker-archive "$work/podman-docker.tar" "$work/root2"
same "  ...box loaded podman's docker-archive: the same image ID" \
	"$("$boxbin" --root "$work/root2" inspect "$plain/proved/app:1" 2>> "$log" | jq -r '.Id | ltrimstr("sha256:")')" "$app_id"
check "podman save --format oci-archive, box load" podman_save_box_load oci-archive "$work/podman-oci.tar" "$work/root3"
# podman save rewrites the config (its own key order) and recompresses the layers: a new ID, the same layers.
same "  ...box loaded podman's oci-archive: the same layers (diffIDs), by the same name" \
	"$("$boxbin" --root "$work/root3" inspect "$plain/proved/app:1" 2>> "$log" | jq -c .RootFS.diff_ids)" \
	"$(box inspect "$plain/proved/app:1" | jq -c .RootFS.diff_ids)"

# ---------------------------------------------------------------------------------------------
echo "# an image built by buildah, taken by box"
bctx=$work/bctx
mkdir -p "$bctx"
echo "from the buildah context" > "$bctx/hello.txt"
cat > "$bctx/Containerfile" << EOF
FROM $plain/box-test/busybox
COPY hello.txt /app/hello.txt
RUN rm /etc/group && mkdir -p /srv && echo built > /srv/built.txt
ENV BUILT_BY=buildah
CMD ["cat", "/srv/built.txt"]
EOF
cat > "$work/storage.conf" << EOF
[storage]
driver = "overlay"
graphroot = "$work/buildah/root"
runroot = "$work/buildah/runroot"
EOF
buildah_ns() {
	unshare -m --propagation private sh -c '
		for d in /var/lib/containers /run/containers /var/tmp; do mkdir -p $d 2>/dev/null; mount -t tmpfs tmpfs $d; done
		CONTAINERS_STORAGE_CONF=$0 exec buildah "$@"' "$work/storage.conf" "$@"
}
buildah_build_push() {
	buildah_ns bud -q --layers --isolation chroot --tls-verify=false -t "$plain/buildah/app:1" "$bctx" &&
		buildah_ns push -q --tls-verify=false "$plain/buildah/app:1"
}
check "buildah bud --layers (--isolation chroot), buildah push" buildah_build_push
check "box pull of buildah's image" box pull "$plain/buildah/app:1"
same "  ...its config as buildah wrote it (Cmd)" "$(box inspect "$plain/buildah/app:1" | jq -c .Config.Cmd)" '["cat","/srv/built.txt"]'
check "  ...buildah's whiteout is a 0/0 device in box's layer" sh -c "
	id=\$('$boxbin' --root '$work/root' inspect '$plain/buildah/app:1' | jq -r '.RootFS.diff_ids[-1]')
	find '$work/root/layers/sha256/'\${id#sha256:}/diff -name group -type c | grep -q ."
check "skopeo copy + umoci unpack of buildah's image" sh -c "
	skopeo copy -q --src-tls-verify=false 'docker://$plain/buildah/app:1' 'oci:$work/oci:buildah' &&
	umoci unpack --image '$work/oci:buildah' '$work/bundle-buildah'"
box_tree "$plain/buildah/app:1" "$work/tree-box-buildah.txt"
tree_of "$work/bundle-buildah/rootfs" > "$work/tree-umoci-buildah.txt"
check "  ...box's view of buildah's image matches umoci's" diff -u "$work/tree-box-buildah.txt" "$work/tree-umoci-buildah.txt"

# ---------------------------------------------------------------------------------------------
echo "# a push that fails half way, then its retry"
config=$(box inspect "$plain/proved/app:1" | jq -r .Id)
proxy=$("$TK/registry" proxy "$work/plain" upload-error500 --name halfway --digest "$config" --times 100)
check "box tag to a new repository behind the failing proxy" box tag "$plain/proved/app:1" "$proxy/halfway/app:1"
fails "the push fails on the config upload (3 tries)" "injected upload failure.*3 tries" box push -q "$proxy/halfway/app:1"
fails "  ...and the registry has no manifest for the tag" "manifest unknown|not found|MANIFEST_UNKNOWN" \
	sh -c "skopeo inspect --tls-verify=false 'docker://$plain/halfway/app:1' 2>&1 >/dev/null | tail -1 >&2; exit 1"
check "the retry (straight to the registry) finishes" sh -c "'$boxbin' --root '$work/root' push '$proxy/halfway/app:1' '$plain/halfway/app:1' > '$work/retry.out'"
check "  ...skipping the layers that arrived the first time" grep -q "Layer already exists" "$work/retry.out"
same "  ...and the tag now points to the image" \
	"$(skopeo inspect --tls-verify=false "docker://$plain/halfway/app:1" | jq -r .Digest)" "$app_digest"

# ---------------------------------------------------------------------------------------------
echo "# the cache"
box_ns build -t "$plain/proved/app:1" "$ctx" > "$work/rebuild.out" 2>&1
same "a second build: every step from the cache" "$(grep -c -- '--> Using cache' "$work/rebuild.out")" 12
same "  ...and the same image ID" "$(tail -1 "$work/rebuild.out")" "$app_id"
echo "hello again" > "$ctx/app/hello.txt"
box_ns build -t "$plain/proved/app:2" "$ctx" > "$work/rebuild2.out" 2>&1
same "a changed copied file: steps before its COPY from the cache (ARG ENV WORKDIR)" \
	"$(grep -c -- '--> Using cache' "$work/rebuild2.out")" 2
check "  ...and the RUNs after it ran again" sh -c "grep -A1 'STEP 8/14: RUN rm /etc/passwd' '$work/rebuild2.out' | grep -qv 'Using cache'"
box_ns build --no-cache -t "$plain/proved/app:3" "$ctx" > "$work/rebuild3.out" 2>&1
same "--no-cache: no step from the cache" "$(grep -c -- '--> Using cache' "$work/rebuild3.out")" 0

# ---------------------------------------------------------------------------------------------
echo "# multi-stage: only the result goes into FROM scratch"
mctx=$work/mctx
mkdir -p "$mctx"
cat > "$mctx/Containerfile" << EOF
FROM $plain/box-test/busybox AS build
RUN mkdir -p /out && cp /bin/busybox /out/tool && echo junk > /out/junk
FROM scratch
COPY --from=build /out/tool /busybox
ENTRYPOINT ["/busybox"]
CMD ["echo", "hello from a scratch image"]
EOF
check "box build of a two-stage Containerfile" box_ns build -t "$plain/proved/tiny:1" "$mctx"
same "  ...the final image has one layer" "$(box inspect "$plain/proved/tiny:1" | jq '.RootFS.diff_ids | length')" 1
check "  ...holding only /busybox" sh -c "
	id=\$('$boxbin' --root '$work/root' inspect '$plain/proved/tiny:1' | jq -r '.RootFS.diff_ids[0]')
	[ \"\$(cd '$work/root/layers/sha256/'\${id#sha256:}/diff && find . -mindepth 1)\" = ./busybox ]"
check "  ...which runs (chroot into its layer)" sh -c "
	id=\$('$boxbin' --root '$work/root' inspect '$plain/proved/tiny:1' | jq -r '.RootFS.diff_ids[0]')
	[ \"\$(chroot '$work/root/layers/sha256/'\${id#sha256:}/diff /busybox echo hello from a scratch image)\" = 'hello from a scratch image' ]"

# ---------------------------------------------------------------------------------------------
echo "# bad input"
bad_ctx() { rm -rf "$work/bad"; mkdir -p "$work/bad"; printf '%s\n' "$@" > "$work/bad/Containerfile"; }
bad_ctx "FROM $plain/box-test/busybox" "COPY ../outside /"
fails "COPY ../outside" "Containerfile:2: \.\./outside: the path is outside the build context" box_ns build -t localhost/bad:1 "$work/bad"
bad_ctx "FROM $plain/box-test/busybox" "COPY escape/shadow /"
ln -s /etc "$work/bad/escape"
fails "COPY through a symlink pointing out of the context" "Containerfile:2: escape/shadow: not found in the build context" \
	box_ns build -t localhost/bad:1 "$work/bad"
bad_ctx "FROM $plain/box-test/busybox" "FROBNICATE"
fails "an unknown instruction" "Containerfile:2: unknown instruction: FROBNICATE" box_ns build -t localhost/bad:1 "$work/bad"
bad_ctx "FROM $plain/box-test/busybox" "ADD http://example.com/x.tgz /"
fails "ADD of a URL" "Containerfile:2: http://example.com/x.tgz: box does not download" box_ns build -t localhost/bad:1 "$work/bad"
bad_ctx "FROM $plain/box-test/busybox" "RUN exit 7"
"$boxbin" --root "$work/root" build -t localhost/bad:1 "$work/bad" > /dev/null 2>&1 &
wait $!
same "a failing RUN: box build exits with its status" "$?" 7
bad_ctx "FROM $plain/box-test/busybox" "RUN sleep 30 && echo box-sigint-probe" "RUN echo never"
setsid "$boxbin" --root "$work/root" build -t localhost/bad:2 "$work/bad" > "$work/sigint.out" 2>&1 &
builder=$!
for _ in $(seq 50); do pgrep -f "box-sigint-probe" > /dev/null && break; sleep 0.1; done
kill -INT -- -"$(ps -o pgid= "$builder" | tr -d ' ')" 2> /dev/null
wait "$builder"
status=$?
check "SIGINT during a RUN stops the build (status $status)" sh -c "grep -q 'box: ' '$work/sigint.out' && ! grep -q 'STEP 3/3' '$work/sigint.out'"
nothing_left() {
	! "$boxbin" --root "$work/root" inspect localhost/bad:2 > /dev/null 2>&1 && [ -z "$(ls -A "$work/root/tmp")" ] &&
		! pgrep -f "box-sigint-probe" > /dev/null
}
check "  ...nothing left: no image, no temp files, no process" nothing_left

# ---------------------------------------------------------------------------------------------
echo "# measured: box build and buildah bud --layers, the same Containerfile"
mctx2=$work/measure
mkdir -p "$mctx2/src"
for i in $(seq 1 50); do head -c 20000 /dev/urandom > "$mctx2/src/f$i"; done
cat > "$mctx2/Containerfile" << EOF
FROM $plain/box-test/busybox
RUN mkdir -p /opt && echo one > /opt/one
COPY src/ /src/
RUN ls /src | wc -l > /opt/count
RUN cat /src/* | md5sum > /opt/sum
CMD ["cat", "/opt/sum"]
EOF
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc | sed 's/^\./0./'; }
measure() {	# measure NAME CMD...: seconds
	local t0 t1
	t0=$(now)
	"$@" >> "$log" 2>&1
	t1=$(now)
	elapsed "$t0" "$t1"
}
box_cold=$(measure box_ns build -t localhost/measure:1 "$mctx2")
box_cached=$(measure box_ns build -t localhost/measure:1 "$mctx2")
echo changed > "$mctx2/src/f50"
box_changed=$(measure box_ns build -t localhost/measure:1 "$mctx2")
bah() { buildah_ns bud -q --layers --isolation chroot --tls-verify=false -t localhost/measure:1 "$mctx2"; }
bah_cold=$(measure bah)
bah_cached=$(measure bah)
echo changed-again > "$mctx2/src/f50"
bah_changed=$(measure bah)
note "             cold     cached   changed COPY"
note "box build    ${box_cold}s  ${box_cached}s  ${box_changed}s"
note "buildah bud  ${bah_cold}s  ${bah_cached}s  ${bah_changed}s"
check "a fully cached rebuild takes well under a second" test "$(echo "$box_cached < 0.5" | bc)" = 1
check "box is at most as slow as buildah on each" test "$(echo "$box_cold <= $bah_cold && $box_cached <= $bah_cached && $box_changed <= $bah_changed" | bc)" = 1

# ---------------------------------------------------------------------------------------------
echo "# the store, and what is left running"
check "every blob hashes to its name, tmp/ is empty" sh -c "
	cd '$work/root/blobs/sha256' && for f in *; do [ \"\$(sha256sum < \$f | cut -c1-64)\" = \$f ] || exit 1; done &&
	[ -z \"\$(ls -A '$work/root/tmp')\" ]"
cleanup
registries=()
nothing_running() { ! pgrep -f "docker-registry serve $work|regproxy.py .*$work|tokenserver.py .*$work" > /dev/null; }
check "no registry, token service or proxy left running" nothing_running

echo
echo "prove.sh: $pass passed, $failures failed"
[ "$failures" -eq 0 ]
