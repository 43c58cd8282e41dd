#!/bin/bash
# pull.sh BOX - pull the benchmark images (testkit/mkimages.sh --set big) from a
# local registry into an empty store, three times each, with box, with
# skopeo copy + umoci unpack, and with podman pull; print wall time, CPU time
# (user + sys) and peak RSS of each (/usr/bin/time -v). Leaves nothing behind.
# Needs skopeo, umoci, podman and GNU time (apt-get install skopeo umoci podman time).
set -u
BOX=${1:?usage: bench/pull.sh STAGE/box (step06-image/box or later)}

TK=$(cd "$(dirname "$0")/../testkit" && pwd)
W=$(mktemp -d /tmp/box-bench-pull.XXXXXX)
trap '"$TK/registry" stop "$W/reg" >/dev/null 2>&1; rm -rf "$W"' EXIT
"$TK/registry" start "$W/reg" >/dev/null
. "$W/reg/env"
"$TK/mkimages.sh" --set big "$REGISTRY" >/dev/null || exit 1
"$TK/mkimages.sh" --only busybox "$REGISTRY" >/dev/null || exit 1

# measure NAME CMD...: one line "NAME wall_s cpu_s maxrss_kb"
measure() {
	local name=$1 out
	shift
	out=$W/time.$$
	/usr/bin/time -v -o "$out" "$@" >/dev/null 2>"$W/err" || { echo "$name FAILED"; cat "$W/err"; return 1; }
	awk -v n="$name" -F': ' '
		/Elapsed \(wall clock\)/ { split($2, t, ":"); wall = (length(t) == 3) ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2] }
		/User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { rss = $2 }
		END { printf "%-28s %7.2f %7.2f %8d\n", n, wall, u + s, rss }' "$out"
}

# skopeo + umoci: two processes; wall and CPU add up, the peak is the larger one.
skopeo_umoci() {
	local img=$1 dir=$W/oci
	rm -rf "$dir" "$W/bundle"
	measure "skopeo copy $img" skopeo --insecure-policy copy -q --src-tls-verify=false \
		"docker://$REGISTRY/box-test/$img" "oci:$dir:latest" &&
	measure "umoci unpack $img" umoci unpack --image "$dir:latest" "$W/bundle"
	rm -rf "$dir" "$W/bundle"
}

# podman in a private mount namespace; its storage in $W/podman, removed after.
podman_pull() {
	local img=$1 P=$W/podman
	rm -rf "$P"
	mkdir -p "$P"/{root,runroot,tmp}
	cat > "$P/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$P/root"
runroot = "$P/runroot"
EOF
	cat > "$P/containers.conf" <<EOF
[engine]
events_logger = "file"
events_logfile_path = "$P/events.log"
tmp_dir = "$P/tmp"
EOF
	CONTAINERS_STORAGE_CONF=$P/storage.conf CONTAINERS_CONF=$P/containers.conf \
		unshare -m --propagation private sh -c '
			mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /var/tmp &&
			exec "$@"' sh \
		/usr/bin/time -v -o "$W/time.podman" podman pull --tls-verify=false -q "$REGISTRY/box-test/$img" >/dev/null 2>"$W/err" ||
		{ echo "podman $img FAILED"; cat "$W/err"; }
	awk -v n="podman pull $img" -F': ' '
		/Elapsed \(wall clock\)/ { split($2, t, ":"); wall = (length(t) == 3) ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2] }
		/User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { rss = $2 }
		END { printf "%-28s %7.2f %7.2f %8d\n", n, wall, u + s, rss }' "$W/time.podman"
	rm -rf "$P"
}

echo "                             wall(s)  cpu(s) maxrss(KB)"
for run in 1 2 3; do
	echo "# run $run"
	for img in busybox big many-layers; do
		rm -rf "$W/root"
		measure "box pull $img" "$BOX" --root "$W/root" pull -q "$REGISTRY/box-test/$img"
		rm -rf "$W/root"
	done
	for img in big many-layers; do
		skopeo_umoci $img
		podman_pull $img
	done
done
