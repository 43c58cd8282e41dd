#!/bin/bash
# stages.sh - what each mechanism costs: 'box run ROOTFS /bin/true' in every
# stage, side by side (hyperfine, 50 runs each, in a network namespace of
# its own: the bridge that step05 on makes goes away with it).
#
#   bench/stages.sh            every stage that exists
#   bench/stages.sh step04-overlay step05-network
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" = 0 ] || { echo "stages.sh: run as root (box needs it)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "stages.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
stages=("$@")
[ ${#stages[@]} -gt 0 ] || mapfile -t stages < <(ls -d step0[0-9]-* | sort)
work=$(mktemp -d /tmp/box-bench.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
testkit/mkrootfs.sh "$work/rootfs"
commands=()
for s in "${stages[@]}"; do
	make -C "$s" -s >/dev/null
	commands+=("$top/$s/box run $work/rootfs /bin/true")
done
# Runs under the test lock: benchmarks and tests would disturb each other.
BOX_ROOT=$work/root BOX_STATE=$work/state flock /tmp/box-tests.lock unshare --net sh -c '
	ip link set lo up
	hyperfine -N -w 5 -r 50 --export-markdown "$0/stages.md" "$@" >/dev/null
	cat "$0/stages.md"' "$work" "${commands[@]}"
