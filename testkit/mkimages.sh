#!/bin/bash
# mkimages.sh - build the test images and push them to a local registry.
#
#   mkimages.sh [--cache DIR] [--creds USER:PASSWORD] [--marker DIR]
#               [--only REPO[,REPO...]] REGISTRY
#
# REGISTRY is HOST:PORT of a plain-http registry (./registry start prints
# one).  --creds (default: $REGISTRY_USER:$REGISTRY_PASSWORD when those are
# set, as after `. DIR/env`) is needed for a --token registry.  --only pushes
# just those repositories (names without "box-test/", e.g. busybox,layers).
#
# The images are written once into an OCI image layout in the cache DIR
# (default $BOX_TEST_IMAGE_CACHE, else /tmp/box-testkit-images) by mkoci.py
# and rebuilt only when their inputs change (mkoci.py, mkrootfs.sh, busybox,
# the marker, the bomb sizes); a second run only pushes.  Every build is
# deterministic: the same inputs give the same digests.  Pushes keep the
# layout's digests except where a Docker format is asked for.
#
# Prints one line per image: REGISTRY/REPOSITORY:TAG DIGEST MEDIATYPE.
#
# The images (all box-test/...; architecture amd64 unless said otherwise):
#   busybox:latest    one gzip layer: the busybox root of mkrootfs.sh
#                     (/bin/busybox + applet links, /etc/passwd with root and
#                     nobody, /etc/group, /tmp 1777, ...), Cmd ["/bin/sh"],
#                     Env PATH, labels box.test.image=busybox. OCI media types.
#   layers:latest     5 layers: busybox; +etc/removed-by-layer3, etc/kept,
#                     opt/replaced/{old-a,sub/old-c}; whiteout
#                     etc/.wh.removed-by-layer3; opaque opt/replaced/.wh..wh..opq
#                     + opt/replaced/new; special/: setuid (04755), setgid
#                     (02755), sticky dir (01777), hardlink -> target, symlink
#                     -> target, abs-symlink -> /etc/passwd, xattr
#                     (user.box.test=hello), null (char 1:3), fifo, owned
#                     (1000:1000), mtime-old (2001-09-09), mtime-new
#                     (2020-09-13), readonly (0400); special/ itself 2017-07-14.
#   config:latest     busybox with Entrypoint ["/bin/echo","entry"], Cmd
#                     ["cmd"], Env PATH + FOO=bar, WorkingDir /work (absent
#                     from the layer), User 65534:65534.
#   config:user-name  User "nobody", Cmd ["id"].
#   config:no-cmd     neither Entrypoint nor Cmd.
#   config:entrypoint-only  Entrypoint ["/bin/echo","only"], no Cmd.
#   config:path       Env PATH=/custom/bin:/bin, EMPTY=, WITH_EQUALS=a=b;
#                     Cmd ["/bin/sh","-c","echo $PATH"].
#   multi:latest      OCI index: linux/arm64/v8, linux/arm/v7, linux/amd64 (in
#                     that order: amd64 is not first).  Each: busybox layer +
#                     a layer with /etc/box-test-platform ("linux/arm64/v8\n",
#                     "linux/arm/v7\n", "linux/amd64\n"), its own config
#                     (architecture, variant, label box.test.platform).
#   docker:latest     busybox in Docker schema 2 media types.
#   dockerlist:latest Docker manifest list (amd64, arm64) of schema 2 images
#                     (the multi images converted).
#   zstd:latest       the busybox layer as application/vnd.oci.image.layer.v1.tar+zstd.
#   uncompressed:latest  the busybox layer as application/vnd.oci.image.layer.v1.tar.
# Malicious layers.  MARKER (--marker, default $BOX_TEST_MARKER, else
# /tmp/box-test-marker) is a host directory a test creates holding one file,
# "victim"; after pulling and running these it must hold only "victim",
# unchanged.  Each image is one layer unless said otherwise.  Run them only
# against a throw-away store: a naive extractor deletes or writes outside it.
#   evil-abs:latest       /MARKER/evil-abs and /tmp/../../../../MARKER/evil-abs-dotdot
#   evil-dotdot:latest    ../../escaped and ../ x40 MARKER/evil-dotdot
#   evil-symlink:latest   link -> /MARKER, then link/evil-symlink; rlink ->
#                         ../ x40 MARKER, then rlink/evil-symlink-rel
#   evil-layer-symlink:latest  layer 1: etc2 -> /MARKER; layer 2: dir etc2/
#                         and etc2/evil-layer-symlink
#   evil-hardlink:latest  passwd-link => /etc/passwd; victim-link =>
#                         /MARKER/victim then a file victim-link ("pwned ...");
#                         victim-link-rel => ../ x40 MARKER/victim, then a file
#   evil-whiteout:latest  busybox layer + a layer with .wh... (whiteout of
#                         ".."), a/ a/file a/.wh.. (".") a/.wh... (".."),
#                         /MARKER/.wh.victim, ../ x40 MARKER/.wh.victim
#   evil-bomb:latest      3 GiB of zeros in one file "bomb" (~3 MiB gzip);
#                         BOX_TEST_BOMB_SIZE=BYTES changes the size.
#   evil-bomb:entries     1,000,000 empty files 0000000..0999999 in one layer
#                         (6.3 MiB gzip: every 512-byte header differs, so it
#                         cannot be made much smaller); BOX_TEST_BOMB_ENTRIES=N.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
mkrootfs=${MKROOTFS:-$here/mkrootfs.sh}
jobs_max=4

die() { echo "mkimages: $*" >&2; exit 1; }
usage() { sed -n '3,4s/^# \{0,1\}//p' "$0" >&2; exit 2; }

cache=${BOX_TEST_IMAGE_CACHE:-/tmp/box-testkit-images}
creds=
[ -z "${REGISTRY_USER:-}" ] || creds=$REGISTRY_USER:${REGISTRY_PASSWORD:-}
marker=${BOX_TEST_MARKER:-/tmp/box-test-marker}
only=
image_set="test"
while [ $# -gt 1 ]; do
	case $1 in
	--set) image_set=${2:?}; shift ;;  # bench/pull.sh: --set big
	--cache) cache=${2:?}; shift ;;
	--creds) creds=${2:?}; shift ;;
	--marker) marker=${2:?}; shift ;;
	--only) only=,${2:?},; shift ;;
	*) usage ;;
	esac
	shift
done
[ $# -eq 1 ] || usage
registry=$1
case $marker in /*) ;; *) die "--marker must be an absolute path" ;; esac
case $image_set in test | big) ;; *) usage ;; esac
[ "$image_set" = test ] || cache=$cache/$image_set
[ -r "$mkrootfs" ] || die "$mkrootfs missing (set MKROOTFS=path/to/mkrootfs.sh)"

# What the layout is made from: when this changes, rebuild.
stamp() {
	{
		sha256sum "$here/mkoci.py" "$mkrootfs" "$(command -v busybox)" | cut -d' ' -f1
		echo "marker=$marker"
		echo "bomb=${BOX_TEST_BOMB_SIZE:-} entries=${BOX_TEST_BOMB_ENTRIES:-}"
		echo "set=$image_set"
	} | sha256sum | cut -d' ' -f1
}

build() {
	local tmp=$cache/build.$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	sh "$mkrootfs" "$tmp/rootfs" >&2
	"$python" "$here/mkoci.py" --set "$image_set" --rootfs "$tmp/rootfs" --layout "$tmp/layout" \
		--plan "$tmp/plan" --marker "$marker"
	rm -rf "$cache/layout" "$cache/plan"
	mv "$tmp/layout" "$cache/layout"
	mv "$tmp/plan" "$cache/plan"
	rm -rf "$tmp"
	echo "$want" > "$cache/stamp"
}

# Push one plan row; its digest lands in $work/N.digest, errors in $work/N.err.
push() {
	local n=$1 ref=$2 dest=$3 how=$4 args=()
	case $how in
	oci) args=(--preserve-digests) ;;
	v2s2) args=(--format v2s2) ;;
	all) args=(--all --preserve-digests) ;;
	all-v2s2) args=(--all --format v2s2) ;;
	*) echo "unknown plan entry $how" > "$work/$n.err"; return 1 ;;
	esac
	[ -z "$creds" ] || args+=(--dest-creds "$creds")
	skopeo --insecure-policy copy -q --dest-tls-verify=false "${args[@]}" \
		--digestfile "$work/$n.digest" \
		"oci:$cache/layout:$ref" "docker://$registry/$dest" \
		< /dev/null > "$work/$n.err" 2>&1
}

mkdir -p "$cache"
exec 9> "$cache/lock"
flock -x 9   # one builder at a time; pushers share the lock below
want=$(stamp)
if [ "$(cat "$cache/stamp" 2>/dev/null)" != "$want" ] || [ ! -r "$cache/plan" ]; then
	build
fi
flock -s 9

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
pids=()
rows=()
while IFS=$'\t' read -r ref dest how; do
	repo=${dest%%:*}
	repo=${repo#box-test/}
	case $only in '' | *",$repo,"*) ;; *) continue ;; esac
	while [ "$(jobs -rp | wc -l)" -ge $jobs_max ]; do
		wait -n || true
	done
	push $n "$ref" "$dest" "$how" &
	pids[n]=$!
	rows[n]="$dest $how"
	n=$((n + 1))
done < "$cache/plan"

failed=0
for ((i = 0; i < n; i++)); do
	read -r dest how <<< "${rows[i]}"
	if wait "${pids[i]}"; then
		case $how in
		oci) type=oci-manifest ;; all) type=oci-index ;;
		v2s2) type=docker-manifest ;; all-v2s2) type=docker-manifest-list ;;
		esac
		echo "$registry/$dest $(cat "$work/$i.digest") $type"
	else
		echo "mkimages: push of $dest failed:" >&2
		cat "$work/$i.err" >&2
		failed=1
	fi
done
exit $failed
