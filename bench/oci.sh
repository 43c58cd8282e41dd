#!/bin/bash
# oci.sh - box-oci run vs crun run vs runc run of /bin/true from one busybox
# bundle (hyperfine, 100 runs each, in the same run); the split into create,
# start and delete; the cost of the sealed re-exec (CVE-2019-5736, exe-seal.c).
#
#   bench/oci.sh [STAGE]      STAGE: step07-oci (default) or final
#
# Runs itself again inside unshare -m -n: crun 1.8 refuses this hybrid host
# (its hugetlb controller is bound to the empty cgroup2), so an empty file is
# bound over /sys/fs/cgroup/unified/cgroup.controllers, in that private mount
# namespace only. Needs hyperfine, jq, runc and crun. Leaves nothing behind.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
stage=$top/${1:-step07-oci}
if [ -z "${BOX_BENCH_INSIDE:-}" ]; then
	make -C "$stage" -s
	exec env BOX_BENCH_INSIDE=1 unshare -m -n --propagation private "$0" "$@"
fi
work=$(mktemp -d /tmp/box-bench-oci.XXXXXX)
B="$stage/box-oci --root $work/state-box"
C="crun --root $work/state-crun"
R="runc --root $work/state-runc"
cleanup() {
	for x in "$B" "$C" "$R"; do $x delete --force split >/dev/null 2>&1 || true; done
	rmdir /sys/fs/cgroup/*/box-bench/* /sys/fs/cgroup/*/box-bench 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
ip link set lo up
: > "$work/empty"
mount --bind "$work/empty" /sys/fs/cgroup/unified/cgroup.controllers
mkdir -p "$work/bundle"
"$top/testkit/mkrootfs.sh" "$work/bundle/rootfs" >/dev/null
(cd "$work/bundle" && $B spec)
jq '.process.terminal = false | .process.args = ["/bin/true"] | .linux.cgroupsPath = "/box-bench/run"
    | .process.capabilities.ambient = []' "$work/bundle/config.json" > "$work/bundle/c"
mv "$work/bundle/c" "$work/bundle/config.json"
cd "$work/bundle"
echo "== box-oci, crun and runc run /bin/true, 100 times each"
hyperfine -N -w 5 -r 100 "$B run -b . bench" "$C run -b . bench" "$R run -b . bench" 2>&1 |
	grep -E "Benchmark|Time|Range|faster"
for t in box crun runc; do
	case $t in box) X="$B" ;; crun) X="$C" ;; runc) X="$R" ;; esac
	echo "== $t: create, start, delete (50 each)"
	hyperfine -N -w 3 -r 50 --prepare "$X delete --force split" "$X create -b . split" 2>&1 | grep -E "Time"
	hyperfine -N -w 3 -r 50 --prepare "sh -c '$X delete --force split; $X create -b . split'" "$X start split" 2>&1 |
		grep -E "Time"
	hyperfine -N -w 3 -r 50 --prepare "sh -c '$X delete --force split; $X create -b . split; $X start split; sleep 0.05'" \
		"$X delete split" 2>&1 | grep -E "Time"
	$X delete --force split >/dev/null 2>&1 || true
done
echo "== the sealed re-exec: exec (copies itself, then fails: no such container) vs state (no copy)"
hyperfine -N -w 5 -r 300 -i "$B exec nope /bin/true" "$B state nope" 2>&1 | grep -E "Time|faster"
umount /sys/fs/cgroup/unified/cgroup.controllers
