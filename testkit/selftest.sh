#!/bin/bash
# selftest.sh - check the registry test kit end to end; prints timings.
#
#   selftest.sh [--keep-cache]
#
# Starts a plain registry, a token-auth registry (3 s pull tokens) and an
# anonymous-pull token registry; builds and pushes the test images (first
# into a fresh cache, then from it); reads images back with skopeo and
# unpacks two with umoci; checks the token service's policy and the expiry
# of its tokens; drives every regproxy mode with curl; stops everything and
# checks that no process is left.  Exit status 0 when every check passed.
# Everything lives in a temporary directory (the image cache too, unless
# --keep-cache: then $BOX_TEST_IMAGE_CACHE or /tmp/box-testkit-images).
#
# The sh -c '...' bodies expand their own "$1" (SC2016); DIR/env is made at
# run time (SC1091).
# shellcheck disable=SC2016,SC1091,SC2015
set -u

here=$(cd "$(dirname "$0")" && pwd)
[ -r "$here/mkrootfs.sh" ] || export MKROOTFS=${MKROOTFS:-/work/main/testkit/mkrootfs.sh}
python=/usr/bin/python3
tmp=$(mktemp -d /tmp/box-testkit-selftest.XXXXXX)
cache=$tmp/cache
[ "${1:-}" != --keep-cache ] || cache=${BOX_TEST_IMAGE_CACHE:-/tmp/box-testkit-images}
plain=$tmp/plain
auth=$tmp/auth
anon=$tmp/anon
marker=$tmp/marker
passed=0
failed=0
timings=()
pids=()

cleanup() {
	"$here/registry" stop "$plain" >/dev/null 2>&1
	"$here/registry" stop "$auth" >/dev/null 2>&1
	"$here/registry" stop "$anon" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# check DESCRIPTION COMMAND...: run COMMAND, count and print the result.
check() {
	local what=$1
	shift
	if "$@" > "$tmp/check.out" 2>&1; then
		passed=$((passed + 1))
		echo "ok   $what"
	else
		failed=$((failed + 1))
		echo "FAIL $what"
		sed 's/^/     | /' "$tmp/check.out" | tail -n 15
	fi
}

# timed NAME COMMAND...: run COMMAND, remember how long it took.
timed() {
	local name=$1 start rc
	shift
	start=$(now_ms)
	"$@"
	rc=$?
	timings+=("$(printf '%-42s %6d ms' "$name" $(($(now_ms) - start)))")
	return $rc
}

remember_pids() {
	local f
	for f in "$1"/*.pid; do
		[ -e "$f" ] && pids+=("$(cat "$f")")
	done
	return 0
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
inspect() { skopeo inspect --tls-verify=false "$@"; }

# -- start -----------------------------------------------------------------
start_ok() {
	local dir=$1
	shift
	# Through a pipe: a daemon holding our stdout would make this hang.
	timeout 10 "$here/registry" start "$dir" "$@" | cat > "$dir.addr" &&
		[ -s "$dir.addr" ] && [ -r "$dir/env" ]
}
echo "== start"
check "plain registry starts, detached (| cat returns)" timed "registry start (plain)" start_ok "$plain"
check "token registry starts (--token --token-expiry 3)" timed "registry start --token" start_ok "$auth" --token --token-expiry 3
check "anonymous-pull token registry starts" timed "registry start --token --anonymous-pull" start_ok "$anon" --token --anonymous-pull
remember_pids "$plain"
remember_pids "$auth"
remember_pids "$anon"
# shellcheck source=/dev/null
P=$(. "$plain/env" && echo "$REGISTRY")
A=$(. "$auth/env" && echo "$REGISTRY")
N=$(. "$anon/env" && echo "$REGISTRY")
AUSER=$(. "$auth/env" && echo "$REGISTRY_USER:$REGISTRY_PASSWORD")
check "start printed the address of DIR/env" test "$(cat "$plain.addr")" = "$P"
check "plain registry answers GET /v2/ with 200" test "$(curl -s -o /dev/null -w '%{http_code}' "http://$P/v2/")" = 200
v2_challenge() {
	curl -s -D - -o /dev/null "http://$A/v2/" | tee /dev/stderr | grep -qi '^www-authenticate: Bearer realm="http://127.0.0.1:[0-9]*/token",service="box-testkit-registry"'
}
check "token registry answers 401 with a Bearer challenge" v2_challenge
start_fast() {
	local ms
	ms=$(printf '%s\n' "${timings[@]}" | sed -n 's/^registry start --token .* \([0-9]*\) ms$/\1/p' | head -1)
	echo "token start took $ms ms"
	[ "$ms" -lt 1500 ]
}
check "registry start --token takes under 1.5 s" start_fast

# -- images ----------------------------------------------------------------
echo "== images"
mkdir -p "$marker"
check "mkimages.sh builds and pushes (fresh cache)" timed "mkimages.sh (build + push)" \
	sh -c '"$1/mkimages.sh" --cache "$2" --marker "$3" "$4" > "$5"' _ "$here" "$cache" "$marker" "$P" "$tmp/images.plain"
check "mkimages.sh prints a summary line per image" test "$(grep -c ' sha256:[0-9a-f]\{64\} ' "$tmp/images.plain")" -ge 20
cat "$tmp/images.plain"
check "mkimages.sh again, with --creds, to the token registry (cached)" timed "mkimages.sh (cached, push only)" \
	sh -c '"$1/mkimages.sh" --cache "$2" --marker "$3" --creds "$4" "$5" > "$6"' _ "$here" "$cache" "$marker" "$AUSER" "$A" "$tmp/images.auth"
same_digests() { diff <(cut -d' ' -f2 "$tmp/images.plain") <(cut -d' ' -f2 "$tmp/images.auth"); }
check "both registries got the same digests (deterministic build)" same_digests
check "mkimages.sh --only busybox to the anonymous-pull registry" \
	sh -c '"$1/mkimages.sh" --cache "$2" --marker "$3" --creds "$4" --only busybox "$5"' _ "$here" "$cache" "$marker" "$(. "$anon/env" && echo "$REGISTRY_USER:$REGISTRY_PASSWORD")" "$N"

raw() { inspect --raw "$@"; }
cfg() { inspect --config "$@"; }
check "busybox: OCI manifest, Cmd /bin/sh, label" sh -c '
	[ "$(skopeo inspect --tls-verify=false --raw docker://$1/box-test/busybox:latest | jq -r .mediaType)" = application/vnd.oci.image.manifest.v1+json ] &&
	skopeo inspect --tls-verify=false --config docker://$1/box-test/busybox:latest | jq -e ".config.Cmd == [\"/bin/sh\"] and .config.Labels[\"box.test.image\"] == \"busybox\""' _ "$P"
check "config: Entrypoint, Cmd, Env, WorkingDir, User" sh -c '
	skopeo inspect --tls-verify=false --config docker://$1/box-test/config:latest |
	jq -e ".config | .Entrypoint == [\"/bin/echo\",\"entry\"] and .Cmd == [\"cmd\"] and (.Env | index(\"FOO=bar\")) and .WorkingDir == \"/work\" and .User == \"65534:65534\""' _ "$P"
check "multi: OCI index arm64/v8, arm/v7, amd64, own configs" sh -c '
	skopeo inspect --tls-verify=false --raw docker://$1/box-test/multi:latest |
	jq -e "[.manifests[].platform | .architecture + (.variant // \"\")] == [\"arm64v8\",\"armv7\",\"amd64\"]" &&
	skopeo --override-arch arm --override-variant v7 inspect --tls-verify=false --config docker://$1/box-test/multi:latest |
	jq -e ".architecture == \"arm\" and .variant == \"v7\" and .config.Labels[\"box.test.platform\"] == \"linux/arm/v7\""' _ "$P"
check "docker: Docker schema 2 media types" sh -c '
	skopeo inspect --tls-verify=false --raw docker://$1/box-test/docker:latest |
	jq -e ".mediaType == \"application/vnd.docker.distribution.manifest.v2+json\" and .config.mediaType == \"application/vnd.docker.container.image.v1+json\" and .layers[0].mediaType == \"application/vnd.docker.image.rootfs.diff.tar.gzip\""' _ "$P"
check "dockerlist: Docker manifest list amd64 + arm64" sh -c '
	skopeo inspect --tls-verify=false --raw docker://$1/box-test/dockerlist:latest |
	jq -e ".mediaType == \"application/vnd.docker.distribution.manifest.list.v2+json\" and ([.manifests[].platform.architecture] == [\"amd64\",\"arm64\"]) and ([.manifests[].mediaType] | unique == [\"application/vnd.docker.distribution.manifest.v2+json\"])"' _ "$P"
check "zstd and uncompressed layers keep their media types" sh -c '
	skopeo inspect --tls-verify=false --raw docker://$1/box-test/zstd:latest | jq -e ".layers[0].mediaType == \"application/vnd.oci.image.layer.v1.tar+zstd\"" &&
	skopeo inspect --tls-verify=false --raw docker://$1/box-test/uncompressed:latest | jq -e ".layers[0].mediaType == \"application/vnd.oci.image.layer.v1.tar\""' _ "$P"
check "evil-bomb: 3 GiB of zeros in a blob under 4 MiB" sh -c '
	skopeo inspect --tls-verify=false --raw docker://$1/box-test/evil-bomb:latest | jq -e ".layers[0].size < 4194304"' _ "$P"

# layer_list REPO N: tar tv of layer N of box-test/REPO on the plain registry.
layer_list() {
	local d
	d=$(inspect --raw "docker://$P/box-test/$1:latest" | jq -r ".layers[$2].digest")
	curl -s "http://$P/v2/box-test/$1/blobs/$d" | tar tvzf - 2>/dev/null
}
evil_checks() {
	layer_list evil-symlink 0 | grep -q "link -> $marker\$" &&
		layer_list evil-layer-symlink 0 | grep -q "etc2 -> $marker\$" &&
		layer_list evil-layer-symlink 1 | grep -q ' etc2/evil-layer-symlink$' &&
		layer_list evil-hardlink 0 | grep -q "victim-link link to ${marker#/}/victim" &&
		layer_list evil-abs 0 | grep -q " $marker/evil-abs\$" &&
		layer_list evil-dotdot 0 | grep -q ' \.\./\.\./escaped$' &&
		layer_list evil-whiteout 1 | grep -q ' \.wh\.\.\.$'
}
check "evil images aim at the --marker directory" evil_checks

unpack_checks() {
	local o=$tmp/oci b=$tmp/bundle r
	skopeo --insecure-policy copy -q --src-tls-verify=false --src-creds "$AUSER" \
		"docker://$A/box-test/layers:latest" "oci:$o:layers" || return 1
	skopeo --insecure-policy copy -q --src-tls-verify=false --src-creds "$AUSER" \
		"docker://$A/box-test/busybox:latest" "oci:$o:busybox" || return 1
	umoci unpack --image "$o:busybox" "$b-busybox" 2>/dev/null || return 1
	r=$b-busybox/rootfs
	[ -x "$r/bin/busybox" ] && [ -L "$r/bin/sh" ] && grep -q '^nobody:' "$r/etc/passwd" &&
		[ "$(stat -c %a "$r/tmp")" = 1777 ] || { echo "busybox root wrong"; return 1; }
	umoci unpack --image "$o:layers" "$b-layers" 2>/dev/null || return 1
	r=$b-layers/rootfs
	[ ! -e "$r/etc/removed-by-layer3" ] && [ -e "$r/etc/kept" ] || { echo whiteout; return 1; }
	[ "$(ls "$r/opt/replaced")" = new ] || { echo opaque; return 1; }
	[ "$(stat -c %a "$r/special/setuid")" = 4755 ] || { echo setuid; return 1; }
	[ "$(stat -c %i "$r/special/hardlink")" = "$(stat -c %i "$r/special/target")" ] || { echo hardlink; return 1; }
	[ "$(readlink "$r/special/symlink")" = target ] || { echo symlink; return 1; }
	[ "$(stat -c %F:%t:%T "$r/special/null")" = "character special file:1:3" ] || { echo device; return 1; }
	[ "$(stat -c %Y "$r/special/mtime-old")" = 1000000000 ] || { echo mtime; return 1; }
	"$python" -c 'import os, sys; sys.exit(os.getxattr(sys.argv[1], "user.box.test") != b"hello")' "$r/special/xattr" || { echo xattr; return 1; }
	rm -rf "$b-busybox" "$b-layers" "$o"
}
check "skopeo copy with creds + umoci unpack: busybox root, whiteout, opaque, setuid, hardlink, device, mtime, xattr" unpack_checks

# -- token service ---------------------------------------------------------
echo "== token service"
TREALM=$(. "$auth/env" && echo "$TOKEN_REALM")
TLOG=$(. "$auth/env" && echo "$TOKEN_LOG")
claims() { cut -d. -f2 | tr '_-' '/+' | sed 's/$/==/' | base64 -d 2>/dev/null; }
check "without credentials the token registry refuses a pull" sh -c '! skopeo inspect --tls-verify=false --no-creds docker://$1/box-test/busybox:latest' _ "$A"
check "wrong password: token service answers 401 JSON" sh -c '
	[ "$(curl -s -o /dev/null -w "%{http_code}" -u boxtest:wrong "$1?service=box-testkit-registry&scope=repository:box-test/busybox:pull")" = 401 ]' _ "$TREALM"
token_json() {
	curl -sf -u "$AUSER" "$TREALM?service=box-testkit-registry&scope=repository:box-test/busybox:pull&scope=repository:box-test/layers:pull,push&account=boxtest" > "$tmp/token.json" || return 1
	cat "$tmp/token.json"; echo
	jq -e '.token == .access_token and .expires_in == 300 and (.issued_at | test("^[0-9-]+T[0-9:]+Z$"))' "$tmp/token.json" || return 1
	jq -r .token "$tmp/token.json" | cut -d. -f1 | tr '_-' '/+' | sed 's/$/==/' | base64 -d 2>/dev/null |
		jq -e '.alg == "ES256" and .typ == "JWT" and (.x5c | length) == 1' || return 1
	jq -r .token "$tmp/token.json" | claims | tee /dev/stderr |
		jq -e '.iss and .sub == "boxtest" and .aud == "box-testkit-registry" and .exp and .nbf and .iat and .jti and (.access | length) == 2 and .access[1].actions == ["pull","push"]'
}
check "token: JSON fields, ES256 + x5c header, claims, two scopes" token_json
anon_token() {
	curl -sf "$TREALM?service=box-testkit-registry&scope=repository:box-test/busybox:pull" | jq -r .token | claims | jq -e '.access[0].actions == []'
}
check "anonymous token without --anonymous-pull grants nothing" anon_token
check "anonymous pull works with --anonymous-pull" sh -c 'skopeo inspect --tls-verify=false --no-creds docker://$1/box-test/busybox:latest >/dev/null' _ "$N"
check "anonymous push is refused with --anonymous-pull" sh -c '! skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-no-creds oci:$2/layout:busybox docker://$1/box-test/anon-push:latest' _ "$N" "$cache"
post_token() {
	curl -sf -d "grant_type=password&username=${AUSER%%:*}&password=${AUSER#*:}&service=box-testkit-registry&scope=repository:box-test/busybox:pull&client_id=selftest&access_type=offline" "$TREALM" > "$tmp/post.json" &&
		jq -e '.access_token and .refresh_token and .expires_in == 3' "$tmp/post.json" &&
		curl -sf -d "grant_type=refresh_token&refresh_token=$(jq -r .refresh_token "$tmp/post.json")&service=box-testkit-registry&scope=repository:box-test/busybox:pull&client_id=selftest" "$TREALM" |
		jq -e '.access_token'
}
check "POST /token: password grant, then refresh_token grant" post_token
check "token requests are logged (method, path, auth=...)" sh -c 'grep -q "GET /token?.* auth=basic user=boxtest status=200" "$1" && grep -q "auth=none .*status=200" "$1" && grep -q "POST /token auth=password" "$1"' _ "$TLOG"
expiry() {
	local t code
	t=$("$here/registry" token "$auth" repository:box-test/busybox:pull) || return 1
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$A/v2/box-test/busybox/manifests/latest")
	echo "fresh token: $code"
	[ "$code" = 200 ] || return 1
	sleep 4
	curl -s -D - -o /dev/null -H "Authorization: Bearer $t" \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$A/v2/box-test/busybox/manifests/latest" > "$tmp/expired"
	cat "$tmp/expired"
	head -1 "$tmp/expired" | grep -q ' 401' && grep -qi 'error="invalid_token"' "$tmp/expired"
}
check "a 3 s token works at once and gets 401 invalid_token after 4 s" timed "token expiry check (sleeps 4 s)" expiry

# -- proxy modes -----------------------------------------------------------
echo "== regproxy"
layer=$(inspect --raw "docker://$P/box-test/busybox:latest" | jq -r '.layers[0].digest')
config=$(inspect --raw "docker://$P/box-test/busybox:latest" | jq -r '.config.digest')
hex=${layer#sha256:}
proxy() { "$here/registry" proxy "$plain" "$@"; }
# fetch ADDR [curl args]: GET the busybox layer; "$tmp/blob" gets the body.
fetch() {
	local addr=$1
	shift
	rm -f "$tmp/blob"
	curl -s -o "$tmp/blob" -w '%{http_code} %{size_download}' "$@" "http://$addr/v2/box-test/busybox/blobs/$layer"
}
size=$(inspect --raw "docker://$P/box-test/busybox:latest" | jq -r '.layers[0].size')

t_pass() {
	local x; x=$(proxy pass) || return 1
	[ "$(fetch "$x")" = "200 $size" ] && [ "$(sha_of "$tmp/blob")" = "$hex" ]
}
check "pass: the blob arrives intact" t_pass
t_tamper() {
	local x; x=$(proxy tamper) || return 1
	[ "$(fetch "$x")" = "200 $size" ] || return 1
	echo "sha256 through tamper: $(sha_of "$tmp/blob") (want $hex)"
	[ "$(sha_of "$tmp/blob")" != "$hex" ] && [ "$(stat -c %s "$tmp/blob")" = "$size" ] || return 1
	# A real client notices:
	! skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$x/box-test/busybox:latest" "oci:$tmp/tampered:t"
}
check "tamper: same length, different sha256; skopeo copy refuses it" t_tamper
t_digest() {
	local x; x=$(proxy tamper --digest "$config" --name tamper-config) || return 1
	[ "$(fetch "$x")" = "200 $size" ] && [ "$(sha_of "$tmp/blob")" = "$hex" ] || return 1
	[ "$(curl -s "http://$x/v2/box-test/busybox/blobs/$config" | sha256sum | cut -d' ' -f1)" != "${config#sha256:}" ]
}
check "tamper --digest: only that blob is changed" t_digest
t_truncate() {
	local x out rc; x=$(proxy truncate) || return 1
	out=$(fetch "$x"); rc=$?
	echo "curl: rc=$rc $out"
	[ $rc = 18 ] && [ "$out" = "200 $((size / 2))" ]
}
check "truncate: full Content-Length, connection closed at half (curl 18)" t_truncate
t_stall() {
	local x out rc start ms; x=$(proxy stall) || return 1
	start=$(now_ms)
	out=$(fetch "$x" --max-time 2); rc=$?
	ms=$(($(now_ms) - start))
	echo "curl: rc=$rc $out after $ms ms"
	[ $rc = 28 ] && [ "$out" = "200 $((size / 2))" ] && [ $ms -ge 1900 ]
}
check "stall: half the body, then silence until curl --max-time 2 (curl 28)" t_stall
t_hang() {
	local x out rc; x=$(proxy hang) || return 1
	out=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 1 "http://$x/v2/"); rc=$?
	echo "curl: rc=$rc $out"
	[ $rc = 28 ] && [ "$out" = "000 0" ]
}
check "hang: connection accepted, nothing answered (curl 28)" t_hang
t_hang_blob() {
	local x out rc; x=$(proxy hang-blob) || return 1
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$x/v2/")" = 200 ] || return 1
	out=$(fetch "$x" --max-time 1); rc=$?
	[ $rc = 28 ] && [ "$out" = "000 0" ]
}
check "hang-blob: /v2/ answers, the blob GET never does" t_hang_blob
t_error() {
	local x out; x=$(proxy error500-once) || return 1
	out=$(fetch "$x")
	echo "first: $out"
	[ "${out%% *}" = 500 ] || return 1
	[ "$(fetch "$x")" = "200 $size" ] && [ "$(sha_of "$tmp/blob")" = "$hex" ] || return 1
	grep -c 'action=error500 status=500' "$plain/proxy-error500-once.log" | grep -qx 1
}
check "error500-once: first GET 500, second intact" t_error
t_drop() {
	local x out rc; x=$(proxy drop-once) || return 1
	out=$(fetch "$x"); rc=$?
	echo "first: rc=$rc $out"
	[ $rc = 52 ] || return 1
	[ "$(fetch "$x")" = "200 $size" ] && [ "$(sha_of "$tmp/blob")" = "$hex" ]
}
check "drop-once: first GET closed unanswered (curl 52), second intact" t_drop
t_slow() {
	local x start ms; x=$(proxy slow --rate 2000000) || return 1
	start=$(now_ms)
	fetch "$x" > /dev/null || return 1
	ms=$(($(now_ms) - start))
	echo "$size bytes at 2 MB/s took $ms ms"
	[ "$(sha_of "$tmp/blob")" = "$hex" ] && [ $ms -ge $((size / 2000 - 100)) ]
}
check "slow: the blob at --rate bytes/s" t_slow
t_redirect() {
	local x out loc; x=$(proxy redirect) || return 1
	out=$(fetch "$x" -L); [ "$out" = "200 $size" ] && [ "$(sha_of "$tmp/blob")" = "$hex" ] || return 1
	loc=$(curl -s -o /dev/null -w '%{redirect_url}' "http://$x/v2/box-test/busybox/blobs/$layer")
	echo "Location: $loc"
	case $loc in http://localhost:*/blob/*) ;; *) return 1 ;; esac
	# curl -L keeps a -H Authorization only with --location-trusted.
	out=$(fetch "$x" -L --location-trusted -H 'Authorization: Bearer abc')
	echo "with Authorization at the target: $out"
	[ "${out%% *}" = 400 ] || return 1
	out=$(fetch "$x" -L -H 'Authorization: Bearer abc')
	echo "with Authorization dropped on the way: $out"
	[ "$out" = "200 $size" ] || return 1
	grep 'cdn' "$plain/proxy-redirect.log"
	grep -q 'cdn GET /blob/.* auth=yes action=cdn-reject-authorization status=400' "$plain/proxy-redirect.log" &&
		grep -q 'cdn GET /blob/.* auth=no action=cdn-serve status=200' "$plain/proxy-redirect.log"
}
check "redirect: 307 to localhost; target serves, but 400 with Authorization" t_redirect
t_redirect_token() {
	local x t out
	x=$("$here/registry" proxy "$auth" redirect) || return 1
	t=$("$here/registry" token "$auth" repository:box-test/busybox:pull) || return 1
	# The registry's own answer to a token-less GET still comes through.
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$x/v2/box-test/busybox/blobs/$layer")" = 401 ] || return 1
	out=$(fetch "$x" -L -H "Authorization: Bearer $t")
	echo "with token, redirected: $out"
	[ "$out" = "200 $size" ] && [ "$(sha_of "$tmp/blob")" = "$hex" ]
}
check "redirect in front of the token registry: 401 passes, token + CDN works" t_redirect_token
t_skopeo_proxy() {
	local x; x=$("$here/registry" proxy "$auth" pass) || return 1
	skopeo --insecure-policy copy -q --src-tls-verify=false --src-creds "$AUSER" \
		"docker://$x/box-test/multi:latest" "oci:$tmp/viaproxy:multi" &&
		grep -q 'action=forward-blob status=200' "$auth/proxy-pass.log"
}
check "pass in front of the token registry: skopeo copy with creds works" t_skopeo_proxy
manifest_via() {
	local x=$1
	curl -s -D "$tmp/mhead" -o "$tmp/mbody" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$x/v2/box-test/busybox/manifests/latest"
	grep -i -e '^content-type' -e '^docker-content-digest' "$tmp/mhead"
}
t_schema1() {
	local x; x=$(proxy schema1) || return 1
	manifest_via "$x" | grep -qi 'content-type: application/vnd.docker.distribution.manifest.v1+prettyjws' &&
		jq -e '.schemaVersion == 1 and (.fsLayers | length) == 1 and .signatures' "$tmp/mbody"
}
check "schema1: a signed schema 1 manifest" t_schema1
t_unknown() {
	local x; x=$(proxy unknown-mediatype) || return 1
	manifest_via "$x" | grep -qi 'content-type: application/vnd.example.unknown.v1+json' &&
		jq -e '.mediaType == "application/vnd.example.unknown.v1+json"' "$tmp/mbody"
}
check "unknown-mediatype: manifest with an unknown media type" t_unknown
t_huge() {
	local x; x=$(proxy huge-manifest) || return 1
	manifest_via "$x"
	[ "$(stat -c %s "$tmp/mbody")" = 5242880 ] && jq -e '.layers' "$tmp/mbody" > /dev/null
}
check "huge-manifest: a 5 MiB (valid JSON) manifest" t_huge

# -- stop ------------------------------------------------------------------
echo "== stop"
remember_pids "$plain"
remember_pids "$auth"
check "registry stop (plain + proxies)" timed "registry stop (plain, 12 proxies)" "$here/registry" stop "$plain"
check "registry stop (token)" "$here/registry" stop "$auth"
check "registry stop (anonymous)" "$here/registry" stop "$anon"
check "registry stop again is a no-op" "$here/registry" stop "$auth"
check "stop emptied DIR" sh -c '[ -z "$(ls -A "$1")" ]' _ "$plain"
left() {
	local pid bad=0
	for pid in "${pids[@]}"; do
		if [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
			echo "left running: $pid $(tr '\0' ' ' < "/proc/$pid/cmdline")"
			bad=1
		fi
	done
	echo "${#pids[@]} processes were started; checked"
	pgrep -af "$tmp" && bad=1
	return $bad
}
check "no process of the self test is left" left

echo "== timings"
printf '%s\n' "${timings[@]}"
echo "== $passed passed, $failed failed"
[ $failed -eq 0 ]
