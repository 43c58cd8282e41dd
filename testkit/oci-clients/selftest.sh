#!/bin/bash
# selftest.sh - drive podman, containerd (ctr, and the Kubernetes node
# configuration) and dockerd against an OCI runtime with this directory's
# scripts, and check that the host is left as it was.
#
#   selftest.sh [RUNTIME]
#
# RUNTIME (default $RUNTIME, else /usr/sbin/runc) is the runc-compatible
# binary under test. TESTKIT (default: this directory's parent) is where
# registry, mkimages.sh and host-state live. SELFTEST_CLIENTS (default
# "podman containerd k8s dockerd") chooses the clients. Run it as root, with
# the test lock held:  flock /tmp/box-tests.lock ./selftest.sh /usr/sbin/runc
#
# Like a cmocka test of testkit/boxtest.c, it runs in a network namespace of
# its own (loopback up) and as the subreaper of everything it starts. Images
# come from testkit's local registry (pull) and from archives (load). For
# each client: run --rm (output and exit status), run -d + exec (exit status)
# + stop/kill + rm, run -it and exec -it through a pseudo-terminal driven by
# pty-drive (a command typed in gets its output back, the exit status comes
# back), then the client's stop, which must report nothing left behind; the
# argv each client sent is in the runtime-logger logs, summarised at the end.
# Then: no process, mount, client cgroup, link, nft table, state directory or
# temporary file left. The last line is "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
testkit=$(cd "${TESTKIT:-$here/..}" && pwd)
runtime=${1:-${RUNTIME:-/usr/sbin/runc}}
clients=${SELFTEST_CLIENTS:-podman containerd k8s dockerd}
# Extra options for every `start` (e.g. --no-log to time the clients without
# runtime-logger; then the argv checks are skipped).
read -r -a start_opts <<< "${SELFTEST_START_OPTS:-}"
# crun 1.8 refuses this hybrid host unless it sees no cgroup2 controllers.
if [ "$(basename "$runtime")" = crun ] && grep -qs . /sys/fs/cgroup/unified/cgroup.controllers; then
	start_opts+=(--hide-cgroup2-controllers)
fi
logging=yes
case " ${start_opts[*]} " in *" --no-log "*) logging=no ;; esac

# A network namespace of our own, and the subreaper of all we start
# (prctl(2) PR_SET_CHILD_SUBREAPER is kept across execve).
if [ "${SELFTEST_INNER:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "selftest: needs root" >&2; exit 1; }
	exec unshare --net -- /usr/bin/python3 -c '
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:
    sys.exit("selftest: PR_SET_CHILD_SUBREAPER failed")
os.environ["SELFTEST_INNER"] = "1"
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$runtime"
fi
ip link set lo up || exit 1

# Close what we inherited beyond stdio (a lock, a harness pipe).
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	[ "$fd" -le 2 ] || [ "$fd" = 255 ] || eval "exec $fd>&-"
done

T=$(mktemp -d /tmp/box-oci-clients.XXXXXX)
chmod 755 "$T"
LOG=$T/selftest.log
passed=0
failed=0
failures=()
timings=()
image=localhost/busybox:latest

log() { echo "$*" | tee -a "$LOG"; }

elapsed() { echo "$1 $2" | awk '{ printf "%.2f", ($2 - $1) }'; }

# t NAME WANT_STATUS WANT_REGEX COMMAND...: run COMMAND (stdout and stderr
# together into $T/out/NAME), check its exit status and that its output
# matches WANT_REGEX (grep -E; empty: anything).
t() {
	local name=$1 want=$2 regex=$3 t0 t1 status out
	shift 3
	mkdir -p "$T/out"
	out=$T/out/$name
	t0=$EPOCHREALTIME
	"$@" > "$out" 2>&1 < /dev/null
	status=$?
	t1=$EPOCHREALTIME
	timings+=("$name $(elapsed "$t0" "$t1")")
	if [ "$status" = "$want" ] && { [ -z "$regex" ] || grep -Eq -- "$regex" "$out"; }; then
		passed=$((passed + 1))
		log "ok   $name ($(elapsed "$t0" "$t1") s)"
		return 0
	fi
	failed=$((failed + 1))
	failures+=("$name")
	log "FAIL $name: exit status $status (want $want), output ${regex:+should match /$regex/}:"
	sed 's/^/     | /' "$out" | tail -n 25 | tee -a "$LOG"
	log "     command: $*"
	return 1
}

# ok NAME CONDITION-COMMAND...: a check that runs no client.
ok() {
	local name=$1
	shift
	t "$name" 0 "" "$@"
}

# pty NAME WANT_STATUS COMMAND...: type a command at the shell COMMAND starts
# and "exit WANT_STATUS"; the transcript must show the command's output.
pty() {
	local name=$1 want=$2
	shift 2
	printf '%s\n' 'expect #' 'sendline echo typed-$((40+2)); tty' 'expect typed-42' \
		"sendline exit $want" > "$T/$name.conversation"
	t "$name" "$want" 'typed-42' sh -c '"$@" < "$0"' "$T/$name.conversation" \
		"$here/pty-drive" --timeout 30 -- "$@"
}

# ---- host state ------------------------------------------------------------------------

client_cgroups="libpod_parent default docker moby k8s.io"
watched_dirs="/run /var/lib/containers /var/lib/containerd /var/lib/docker /var/lib/cni
	/var/lib/kubelet /etc/docker /etc/containerd /etc/cni/net.d /opt/containerd /opt/cni /dev/shm
	/var/tmp /root/.docker /root/.config/containers /root/.local/share/containers"

snapshot() {
	local d c
	"$testkit/host-state"
	for c in $client_cgroups; do
		find /sys/fs/cgroup/*/"$c" -type d -printf 'client-cgroup %p\n' 2>/dev/null
	done
	for d in $watched_dirs; do
		[ -e "$d" ] && find "$d" -maxdepth 1 -mindepth 1 -printf "path %p\n" 2>/dev/null
	done
	# The host's own network namespace (pid 1's), which we never enter.
	awk -F: 'NR > 2 { gsub(/ /, "", $1); print "host-link " $1 }' /proc/1/net/dev
	# Processes that name our directory (a daemon, a shim with its bundle path);
	# the pattern is read from a file so that grep does not find itself.
	grep -l -s -a -F -f <(echo "$T/") /proc/[0-9]*/cmdline 2>/dev/null | grep -v "^/proc/$$/" |
		while read -r c; do
			c=${c%/cmdline}
			{ echo "process ${c#/proc/} $(tr '\0' ' ' < "$c/cmdline" | cut -c1-120)"; } 2>/dev/null
		done
}

# Our children (we are their subreaper): anything started and not stopped.
children() {
	local p stat ppid
	for p in /proc/[0-9]*; do
		{ read -r stat < "$p/stat"; } 2>/dev/null || continue
		stat=${stat##*) }
		ppid=${stat#* }
		ppid=${ppid%% *}
		[ "$ppid" = $$ ] && [ "${stat:0:1}" != Z ] && [ "${p#/proc/}" != "$BASHPID" ] &&
			echo "child ${p#/proc/} $(tr '\0' ' ' < "$p/cmdline" | cut -c1-120)"
	done
	wait 2>/dev/null
	return 0
}

touch "$T/start-marker"
snapshot | sort > "$T/before"

# ---- images ------------------------------------------------------------------------------

log "selftest: runtime $runtime ($("$runtime" --version 2>&1 | head -1)), scratch $T"
log "selftest: start options: --runtime $runtime ${start_opts[*]}"
log "selftest: clients: $clients"
reg=$("$testkit/registry" start "$T/registry") || { log "selftest: registry start failed"; exit 1; }
log "selftest: registry $reg"
ok registry-push unshare --mount --propagation private bash -c \
	'mount -t tmpfs selftest /var/lib/containers && mount -t tmpfs -o mode=1777 selftest /var/tmp &&
	"$0" --only busybox "$1"' "$testkit/mkimages.sh" "$reg"
ok archives "$here/mkarchives" "$T/images" "$reg"
pulled=$reg/box-test/busybox:latest

# ---- podman ------------------------------------------------------------------------------

podman_tests() {
	local D=$T/podman P
	P=("$here/podman-env" podman "$D")
	t podman-start 0 "$D/bin/" "$here/podman-env" start "$D" --runtime "$runtime" "${start_opts[@]}"
	t podman-pull 0 "" "$here/podman-env" pull "$D" "$pulled"
	t podman-load 0 "^$image\$" "$here/podman-env" load "$D" "$T/images/busybox-oci.tar"
	t podman-run-rm 3 '^out-42$' "${P[@]}" run --rm --network none "$image" sh -c 'echo out-$((6*7)); exit 3'
	t podman-run-rm-pulled 0 'pulled-ok' "${P[@]}" run --rm --network none "$pulled" echo pulled-ok
	t podman-run-d 0 '^[0-9a-f]{64}$' "${P[@]}" run -d --name c1 --network none "$image" sleep 1000
	t podman-exec 5 '^exec-ok$' "${P[@]}" exec c1 sh -c 'echo exec-ok; exit 5'
	pty podman-exec-it 4 "${P[@]}" exec -it c1 sh
	t podman-stop 0 '^c1$' "${P[@]}" stop -t 1 c1
	t podman-rm 0 '^c1$' "${P[@]}" rm c1
	t podman-run-d-kill 0 '' "${P[@]}" run -d --name c2 --network none "$image" sleep 1000
	t podman-kill 0 '^c2$' "${P[@]}" kill c2
	t podman-wait 0 '^137$' "${P[@]}" wait c2
	t podman-rm-2 0 '^c2$' "${P[@]}" rm c2
	pty podman-run-it 7 "${P[@]}" run -it --rm --network none "$image" sh
	t podman-ps-empty 0 '' sh -c '[ -z "$("$@" ps -aq)" ]' sh "${P[@]}"
	t podman-argv-log 0 '' argv_has "$D" create start kill delete exec
	t podman-stop-env 0 '' "$here/podman-env" stop "$D"
}

# argv_has DIR VERB...: the runtime was called with each VERB (argv.log).
argv_has() {
	local dir=$1 verb missing=""
	shift
	[ $logging = yes ] || { echo "skipped: --no-log"; return 0; }
	cp "$dir/log/runtime/argv.log" "$T/argv-$(basename "$dir").log"
	"$here/argv-summary" "$dir" > "$T/argv-$(basename "$dir").summary"
	for verb in "$@"; do
		grep -Eq "\]( .*)? $verb( |$)" "$dir/log/runtime/argv.log" || missing="$missing $verb"
	done
	[ -z "$missing" ] || { echo "not in argv.log:$missing"; return 1; }
}

# ---- containerd --------------------------------------------------------------------------

# ctr_wait_stopped DIR ID: until `ctr task ls` shows ID STOPPED (5 s).
ctr_wait_stopped() {
	local i
	for ((i = 0; i < 50; i++)); do
		"$here/containerd-env" ctr "$1" tasks ls | awk -v id="$2" '$1 == id && $3 == "STOPPED" { f = 1 } END { exit !f }' &&
			return 0
		sleep 0.1
	done
	"$here/containerd-env" ctr "$1" tasks ls
	return 1
}

containerd_tests() {
	local D=$T/containerd C R
	C=("$here/containerd-env" ctr "$D")
	t containerd-start 0 "$D/bin/" "$here/containerd-env" start "$D" --runtime "$runtime" "${start_opts[@]}"
	R=$D/bin/$(basename "$runtime")
	t containerd-pull 0 "" "$here/containerd-env" pull "$D" "$pulled"
	t containerd-load 0 "^$image\$" "$here/containerd-env" load "$D" "$T/images/busybox-docker.tar"
	t containerd-run-rm 3 '^out-42$' "${C[@]}" run --rm --runc-binary "$R" "$image" t1 sh -c 'echo out-$((6*7)); exit 3'
	t containerd-run-rm-pulled 0 'pulled-ok' "${C[@]}" run --rm --runc-binary "$R" "$pulled" t2 echo pulled-ok
	t containerd-run-d 0 '' "${C[@]}" run -d --runc-binary "$R" "$image" c1 sleep 1000
	t containerd-exec 5 '^exec-ok$' "${C[@]}" tasks exec --exec-id e1 c1 sh -c 'echo exec-ok; exit 5'
	pty containerd-exec-t 4 "${C[@]}" tasks exec -t --exec-id e2 c1 sh
	t containerd-ps 0 '^[0-9]+ ' "${C[@]}" tasks ps c1
	t containerd-kill 0 '' "${C[@]}" tasks kill -s SIGKILL c1
	t containerd-stopped 0 '' ctr_wait_stopped "$D" c1
	t containerd-task-rm 0 '' "${C[@]}" tasks delete c1
	t containerd-rm 0 '' "${C[@]}" containers delete c1
	pty containerd-run-t 7 "${C[@]}" run -t --rm --runc-binary "$R" "$image" t3 sh
	t containerd-empty 0 '' sh -c '[ -z "$("$@" containers ls -q)" ]' sh "${C[@]}"
	t containerd-argv-log 0 '' argv_has "$D" create start kill delete exec ps
	t containerd-stop-env 0 '' "$here/containerd-env" stop "$D"
}

# ---- containerd as a Kubernetes node would configure it -----------------------------------

k8s_tests() {
	local D=$T/k8s K=$T/k8s-containerd.toml
	# The node's file, naming the runtime the clients of $D are given.
	"$here/k8s-containerd-config" "$D/bin/$(basename "$runtime")" box > "$K"
	t k8s-start 0 "$D/bin/" "$here/containerd-env" start "$D" --runtime "$runtime" "${start_opts[@]}" --k8s "$K" --cri
	# containerd's own CRI plugin parsed the table (it refuses to load on a bad one).
	t k8s-cri-loaded 0 'Runtimes:map\[box:\{Type:io.containerd.runc.v2 ' grep -o \
		'Start cri plugin with config.*Options:map\[BinaryName:[^]]*' "$D/log/containerd.log"
	t k8s-handler 0 "^--runc-binary$" "$here/containerd-env" handler "$D" box
	t k8s-pull 0 "" "$here/containerd-env" pull "$D" "$pulled"
	t k8s-run-handler 0 '^k8s-ok$' "$here/containerd-env" run-handler "$D" box --rm "$pulled" k1 sh -c 'echo k8s-ok'
	t k8s-argv-log 0 '' argv_has "$D" create start delete
	t k8s-stop-env 0 '' "$here/containerd-env" stop "$D"
}

# ---- dockerd -----------------------------------------------------------------------------

dockerd_tests() {
	local D=$T/dockerd K
	K=("$here/dockerd-env" docker "$D")
	t dockerd-start 0 "$D/bin/" "$here/dockerd-env" start "$D" --runtime "$runtime" "${start_opts[@]}"
	t dockerd-runtimes 0 '"box"' "${K[@]}" info --format '{{json .Runtimes}}'
	t dockerd-pull 0 "" "$here/dockerd-env" pull "$D" "$pulled"
	t dockerd-load 0 "^$image\$" "$here/dockerd-env" load "$D" "$T/images/busybox-docker.tar"
	t dockerd-run-rm 3 '^out-42$' "${K[@]}" run --runtime box --rm --net=none "$image" sh -c 'echo out-$((6*7)); exit 3'
	t dockerd-run-rm-pulled 0 'pulled-ok' "${K[@]}" run --runtime box --rm --net=none "$pulled" echo pulled-ok
	t dockerd-run-d 0 '^[0-9a-f]{64}$' "${K[@]}" run --runtime box -d --name c1 --net=none "$image" sleep 1000
	t dockerd-exec 5 '^exec-ok$' "${K[@]}" exec c1 sh -c 'echo exec-ok; exit 5'
	pty dockerd-exec-it 4 "${K[@]}" exec -it c1 sh
	t dockerd-top 0 'sleep 1000' "${K[@]}" top c1
	t dockerd-stop 0 '^c1$' "${K[@]}" stop -t 1 c1
	t dockerd-rm 0 '^c1$' "${K[@]}" rm c1
	t dockerd-run-d-kill 0 '' "${K[@]}" run --runtime box -d --name c2 --net=none "$image" sleep 1000
	t dockerd-kill 0 '^c2$' "${K[@]}" kill c2
	t dockerd-wait 0 '^137$' "${K[@]}" wait c2
	t dockerd-rm-2 0 '^c2$' "${K[@]}" rm c2
	pty dockerd-run-it 7 "${K[@]}" run --runtime box -it --rm --net=none "$image" sh
	t dockerd-ps-empty 0 '' sh -c '[ -z "$("$@" ps -aq)" ]' sh "${K[@]}"
	t dockerd-argv-log 0 '' argv_has "$D" create start kill delete exec ps
	t dockerd-stop-env 0 '' "$here/dockerd-env" stop "$D"
}

for c in $clients; do
	case $c in
	podman) podman_tests ;;
	containerd) containerd_tests ;;
	k8s) k8s_tests ;;
	dockerd) dockerd_tests ;;
	*) log "selftest: unknown client $c" ;;
	esac
done

# ---- the host, afterwards ----------------------------------------------------------------

"$testkit/registry" stop "$T/registry" > /dev/null
leftovers() {
	local i
	# A process's last moments (a cgroup emptied, a namespace gone) may take a beat.
	for ((i = 0; i < 20; i++)); do
		snapshot | sort > "$T/after"
		[ -z "$(comm -13 "$T/before" "$T/after")" ] && [ -z "$(children)" ] && break
		sleep 0.1
	done
	comm -13 "$T/before" "$T/after"
	children
	find /tmp -maxdepth 1 -newer "$T/start-marker" \( -name 'pty*' -o -name 'runc-process*' \
		-o -name 'conmon-term*' -o -name 'containerd*' -o -name 'docker*' -o -name 'podman*' \
		-o -name 'libpod*' -o -name 'storage*' -o -name 'ctr*' -o -name 'buildah*' \) -printf 'tmp %p\n'
	[ ! -s "$T/podman/log/leftovers" ] || sed 's/^/podman-env: /' "$T/podman/log/leftovers"
	[ ! -s "$T/containerd/log/leftovers" ] || sed 's/^/containerd-env: /' "$T/containerd/log/leftovers"
	[ ! -s "$T/dockerd/log/leftovers" ] || sed 's/^/dockerd-env: /' "$T/dockerd/log/leftovers"
	return 0
}
leftovers > "$T/leftovers"
t host-clean 0 '' sh -c 'cat "$0"; [ ! -s "$0" ]' "$T/leftovers"
log ""
log "selftest: timings (seconds)"
for x in "${timings[@]}"; do printf '  %-28s %s\n' "${x% *}" "${x##* }"; done | tee -a "$LOG"
log ""
log "selftest: the command lines the clients sent (argv-summary; \$DIR is each client's directory)"
for f in "$T"/argv-*.summary; do
	[ -e "$f" ] || continue
	log "  $(basename "$f" .summary):"
	sed 's/^/    /' "$f" | tee -a "$LOG"
done
# SELFTEST_KEEP=DIR keeps the logs (argv logs, runtime records, daemons' logs, outputs).
if [ -n "${SELFTEST_KEEP:-}" ]; then
	rm -rf "$SELFTEST_KEEP"
	mkdir -p "$SELFTEST_KEEP"
	cp -r "$LOG" "$T"/argv-* "$T/out" "$SELFTEST_KEEP/" 2>/dev/null
	for d in podman containerd k8s dockerd; do
		[ -d "$T/$d/log" ] && cp -r "$T/$d/log" "$SELFTEST_KEEP/$d-log"
	done
	log "selftest: logs kept in $SELFTEST_KEEP"
fi
[ ${#failures[@]} -eq 0 ] || log "selftest: failed: ${failures[*]}"
rm -rf "$T"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
