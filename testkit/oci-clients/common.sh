# common.sh - sourced by podman-env, containerd-env and dockerd-env.
#
# Each of them keeps one client's whole world in a directory DIR:
#
#   DIR/ns.pid        the namespace holder: a process (sleep) in a private
#                     mount namespace, made by `unshare -m --propagation
#                     private`; every daemon and client command of DIR runs
#                     in that namespace (nsenter --mount=/proc/PID/ns/mnt)
#   DIR/ns.id         the namespace's identity (readlink /proc/PID/ns/mnt)
#   DIR/*.pid         one file per process start started (the daemons)
#   DIR/bin/NAME      what the clients are given as their OCI runtime:
#                     runtime-logger in front of $RUNTIME (or, with --no-log,
#                     a symlink to it), NAME being the runtime's own basename
#   DIR/env           shell syntax: RUNTIME, REAL_RUNTIME, NS_PID, ... and the
#                     client's variables (see each script)
#   DIR/log/          the daemons' logs and log/runtime/, the argv log
#   DIR/...           the client's state (root, state, storage, sockets)
#
# Inside the namespace a tmpfs covers /run (so /run/runc, /run/containerd,
# /run/libpod, /run/containers, /run/docker, /run/mount are private and die
# with it) and each of /var/lib/containers, /etc/docker, /var/tmp, /dev/shm
# that exists on the host: the clients write there whatever their
# configuration does not move into DIR (dockerd's /etc/docker/key.json,
# podman's /dev/shm/libpod_lock...). Nothing is mounted in the caller's
# namespace; when the last process of the namespace is gone, its mounts are
# gone.
# shellcheck shell=bash

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=${prog:-$(basename "$0")}

die() { echo "$prog: $*" >&2; exit 1; }

# Close every descriptor above 2: a daemon must not keep the caller's pipes
# (a test reading our output would never see EOF) and Go programs hand every
# fd without O_CLOEXEC on to what they start (the shims, conmon, the runtime).
close_fds() {
	local fd
	for fd in /proc/self/fd/*; do
		fd=${fd##*/}
		[ "$fd" -le 2 ] || eval "exec $fd>&-" 2>/dev/null
	done
}

# Is PID running (a zombie is not)?
alive() {
	local stat
	{ read -r stat < "/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[ "${stat:0:1}" != Z ]
}

# Is PID alive and one of DIR's processes (its command line names DIR/)?
# Guards against signalling an unrelated process that reused a stale PID.
ours() {
	local pid=$1 dir=$2 args=()
	alive "$pid" || return 1
	{ mapfile -d '' args < "/proc/$pid/cmdline"; } 2>/dev/null || return 1
	[[ " ${args[*]} " == *" $dir/"* || " ${args[*]} " == *"=$dir/"* ]]
}

# Is PID alive and in DIR's mount namespace?
in_our_ns() {
	local pid=$1 id=$2
	alive "$pid" && [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$id" ]
}

# Wait up to $1 tenths of a second until none of PIDS (after $2, the check
# function and its argument) is alive.
wait_gone() {
	local tenths=$1 check=$2 arg=$3 pid i left
	shift 3
	for ((i = 0; i < tenths * 5; i++)); do
		left=0
		for pid in "$@"; do
			! "$check" "$pid" "$arg" || left=1
		done
		[ $left -eq 1 ] || return 0
		sleep 0.02
	done
	return 1
}

# Stop PIDS that pass CHECK ARG: SIGTERM, then SIGKILL after SECONDS.
stop_pids() {
	local seconds=$1 check=$2 arg=$3 pid
	shift 3
	[ $# -gt 0 ] || return 0
	for pid in "$@"; do
		! "$check" "$pid" "$arg" || kill -TERM "$pid" 2>/dev/null || true
	done
	wait_gone $((seconds * 10)) "$check" "$arg" "$@" && return 0
	for pid in "$@"; do
		if "$check" "$pid" "$arg"; then
			echo "$prog: $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) ignored SIGTERM for ${seconds}s; SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	wait_gone 30 "$check" "$arg" "$@" && return 0
	for pid in "$@"; do
		! "$check" "$pid" "$arg" || echo "$prog: process $pid did not exit" >&2
	done
	return 1
}

# ---- the namespace --------------------------------------------------------------------

# Directories a tmpfs covers inside the namespace (those that exist on the host;
# /run is always covered). A DIR below one of them would be hidden.
covered_dirs="/run /var/run /var/lib/containers /etc/docker /var/tmp /dev/shm"

# Resolve DIR to an absolute path and check that it can hold the clients' state.
check_dir() {
	local dir=$1 c
	case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
	dir=$(realpath -m "$dir")
	for c in $covered_dirs; do
		case $dir/ in "$c"/*) die "$dir: below $c, which is hidden inside the namespace" ;; esac
	done
	# unix(7): sun_path holds 108 bytes; the longest socket is DIR/containerd/containerd.sock.ttrpc.
	[ ${#dir} -le 70 ] || die "$dir: longer than 70 characters (unix socket paths must fit in 108)"
	echo "$dir"
}

# The body of the namespace holder, run by unshare in the new namespace.
ns_init_script='set -e
dir=$1
mount -t tmpfs -o mode=0755 box-oci-clients /run
mkdir -m 1777 /run/lock
for d in /var/lib/containers /etc/docker /var/tmp /dev/shm; do
	[ -d "$d" ] && [ ! -L "$d" ] && mount -t tmpfs -o mode=0755 box-oci-clients "$d"
done
chmod 1777 /var/tmp /dev/shm
# crun 1.8 refuses a hybrid host whose cgroup2 mount lists controllers
# ("cgroups in hybrid mode not supported, drop all controllers from
# cgroupv2"); here they are hidden from it, in this namespace only.
if [ "$2" = yes ] && [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
	: > /run/.no-cgroup2-controllers
	mount --bind /run/.no-cgroup2-controllers /sys/fs/cgroup/unified/cgroup.controllers
fi
readlink /proc/self/ns/mnt > "$dir/ns.id"
exec -a "$dir/ns-holder" sleep infinity'

# Make DIR ready for a start: not in use, emptied of an earlier run's state and logs.
prepare_dir() {
	local dir=$1
	[ ! -e "$dir/ns.pid" ] || ! alive "$(cat "$dir/ns.pid")" || die "$dir: already started ($prog stop it first)"
	mkdir -p "$dir"
	remove_state "$dir"
	rm -rf "$dir/log"
	mkdir -p "$dir/log"
}

# Start the holder; returns when its namespace is ready. HIDE_V2=yes: an empty
# cgroup.controllers over the cgroup2 mount's, inside (for crun).
ns_start() {
	local dir=$1 hide_v2=${2:-no} i
	# A subshell is not a process group leader, so setsid execs (no fork) and
	# $! is the holder's own PID; unshare without --fork execs too.
	(
		close_fds
		exec setsid unshare --mount --propagation private \
			bash -c "$ns_init_script" ns-init "$dir" "$hide_v2" < /dev/null >> "$dir/log/ns.log" 2>&1
	) &
	echo $! > "$dir/ns.pid"
	for ((i = 0; i < 250; i++)); do
		[ -s "$dir/ns.id" ] && alive "$(cat "$dir/ns.pid")" && return 0
		alive "$(cat "$dir/ns.pid")" || break
		sleep 0.02
	done
	cat "$dir/log/ns.log" >&2
	die "$dir: the namespace holder did not start"
}

ns_pid() {
	local dir=$1 pid
	pid=$(cat "$dir/ns.pid" 2>/dev/null) || die "$dir: not started"
	in_our_ns "$pid" "$(cat "$dir/ns.id" 2>/dev/null)" || die "$dir: its namespace holder ($pid) is gone"
	echo "$pid"
}

# Run a command in DIR's namespace, in the caller's working directory.
ns_exec() {
	local dir=$1 pid
	shift
	pid=$(ns_pid "$dir") || exit 1
	exec nsenter --mount="/proc/$pid/ns/mnt" --wd="$PWD" -- "$@"
}

# Start a daemon in DIR's namespace, detached (new session, stdin /dev/null,
# output appended to LOG), its PID in PIDFILE.
ns_daemon() {
	local dir=$1 pidfile=$2 log=$3 pid
	shift 3
	pid=$(ns_pid "$dir") || exit 1
	(
		close_fds
		exec nsenter --mount="/proc/$pid/ns/mnt" --wd=/ -- setsid "$@" < /dev/null >> "$log" 2>&1
	) &
	echo $! > "$pidfile"
}

# Every process in DIR's namespace but the holder.
ns_members() {
	local dir=$1 id holder p
	id=$(cat "$dir/ns.id" 2>/dev/null) || return 0
	holder=$(cat "$dir/ns.pid" 2>/dev/null)
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" != "$holder" ] && [ "$p" != $$ ] && [ "$p" != "$BASHPID" ] || continue
		[ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$id" ] && alive "$p" && echo "$p"
	done
}

# Children, grandchildren... of PIDS that are in another mount namespace: the
# containers (their init and exec'd processes) the clients' monitors
# (conmon, the shims) hold.
container_processes() {
	local id=$1 p ppid stat todo=() seen=" "
	shift
	todo=("$@")
	declare -A children=()
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		{ read -r stat < "/proc/$p/stat"; } 2>/dev/null || continue
		stat=${stat##*) }
		ppid=$(echo "$stat" | cut -d' ' -f2)
		children[$ppid]="${children[$ppid]:-} $p"
	done
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		for c in ${children[$p]:-}; do
			case $seen in *" $c "*) continue ;; esac
			seen="$seen$c "
			todo+=("$c")
			[ "$(readlink "/proc/$c/ns/mnt" 2>/dev/null)" = "$id" ] || echo "$c"
		done
	done
}

describe() {
	local pid=$1 args=()
	{ mapfile -d '' args < "/proc/$pid/cmdline"; } 2>/dev/null
	echo "$pid ${args[*]:0:6}"
}

# Stop everything in DIR's namespace and the namespace itself: the container
# processes still held by monitors (reported: the client should have removed
# them), DAEMON pid files given (SIGTERM), every other process there
# (SIGTERM, reported), then the holder. Returns 1 if anything had to be
# reported.
ns_stop() {
	local dir=$1 id pids=() members=() holder status=0 p pidfile
	shift
	id=$(cat "$dir/ns.id" 2>/dev/null) || id=
	if [ -n "$id" ]; then
		mapfile -t members < <(ns_members "$dir")
		mapfile -t pids < <(container_processes "$id" "${members[@]}")
		if [ ${#pids[@]} -gt 0 ]; then
			for p in "${pids[@]}"; do
				echo "$prog: left behind: container process $(describe "$p")" | tee -a "$dir/log/leftovers" >&2
				kill -KILL "$p" 2>/dev/null
			done
			status=1
			sleep 0.2
		fi
	fi
	for pidfile in "$@"; do
		[ -e "$dir/$pidfile" ] || continue
		stop_pids 15 ours "$dir" "$(cat "$dir/$pidfile")" || status=1
		rm -f "$dir/$pidfile"
	done
	if [ -n "$id" ]; then
		# The monitors exit on their own once their container is gone; give them a moment.
		for ((p = 0; p < 100; p++)); do
			mapfile -t members < <(ns_members "$dir")
			[ ${#members[@]} -gt 0 ] || break
			sleep 0.05
		done
		if [ ${#members[@]} -gt 0 ]; then
			for p in "${members[@]}"; do
				echo "$prog: left behind: process $(describe "$p")" | tee -a "$dir/log/leftovers" >&2
			done
			stop_pids 5 in_our_ns "$id" "${members[@]}"
			status=1
		fi
	fi
	holder=$(cat "$dir/ns.pid" 2>/dev/null) || holder=
	if [ -n "$holder" ]; then
		stop_pids 3 ours "$dir" "$holder" || status=1
	fi
	rm -f "$dir/ns.pid" "$dir/ns.id"
	return $status
}

# Remove the cgroups a client makes (absolute cgroupsPath parents), in every
# hierarchy, deepest first, when they hold no process. Parents the client
# normally leaves behind (EXPECTED) are removed quietly; anything below them
# (a container's own cgroup) is reported, since the runtime's delete should
# have removed it. A cgroup that still has processes is reported and kept.
rm_cgroups() {
	local dir=$1 expected=$2 status=0 name top d rel
	shift 2
	for name in "$@"; do
		for top in /sys/fs/cgroup/*/"$name"; do
			[ -d "$top" ] || continue
			while read -r d; do
				rel=${d#/sys/fs/cgroup/*/}
				if [ -s "$d/cgroup.procs" ]; then
					echo "$prog: left behind: cgroup $d with processes $(tr '\n' ' ' < "$d/cgroup.procs")" | tee -a "$dir/log/leftovers" >&2
					status=1
					continue
				fi
				case " $expected " in
				*" $rel "*) ;;
				*)
					echo "$prog: left behind: cgroup $d (removed)" | tee -a "$dir/log/leftovers" >&2
					status=1 ;;
				esac
				rmdir "$d" 2>/dev/null || [ ! -d "$d" ] || {
					echo "$prog: cannot remove cgroup $d" >&2
					status=1
				}
			done < <(find "$top" -depth -type d)
		done
	done
	return $status
}

# Is anything mounted at or below DIR in our (the caller's) namespace?
mounted_below() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# Remove DIR's state, keeping DIR/log (and DIR itself).
remove_state() {
	local dir=$1 f
	mounted_below "$dir" && die "$dir: something is mounted below it; not removing anything"
	for f in "$dir"/* "$dir"/.[!.]*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		[ "$f" = "$dir/log" ] || rm -rf "$f"
	done
}

# ---- the runtime ---------------------------------------------------------------------

# Put DIR/bin/NAME in front of the real runtime: runtime-logger (conmon
# scrubs the runtime's environment, so the settings are written into a small
# script rather than passed as variables) or, with no logging, a symlink.
# NAME is the real runtime's basename: box dispatches on argv[0].
# Prints the path to give the clients.
make_runtime() {
	local dir=$1 real=$2 log=$3 name
	[ -x "$real" ] || die "runtime $real: not an executable"
	case $real in /*) ;; *) die "runtime $real: not an absolute path" ;; esac
	name=$(basename "$real")
	mkdir -p "$dir/bin"
	rm -f "$dir/bin/$name"
	if [ "$log" = yes ]; then
		mkdir -p "$dir/log/runtime"
		{
			echo '#!/bin/sh'
			echo "# $prog: the runtime the clients of $dir call; logs then runs $real"
			printf 'RUNTIME=%q RUNTIME_LOG=%q\n' "$real" "$dir/log/runtime"
			echo 'export RUNTIME RUNTIME_LOG'
			printf 'exec %q "$@"\n' "$here/runtime-logger"
		} > "$dir/bin/$name"
		chmod 755 "$dir/bin/$name"
	else
		ln -s "$real" "$dir/bin/$name"
	fi
	echo "$dir/bin/$name"
}

# Parse the common options of start: --runtime PATH, --no-log, --services SDIR,
# --hide-cgroup2-controllers. Sets runtime, log, services, hide_v2; the rest
# of the arguments are left in extra[].
# shellcheck disable=SC2034  # the callers read these
parse_start_options() {
	runtime=${RUNTIME:-/usr/sbin/runc}
	log=yes
	services=
	hide_v2=no
	extra=()
	while [ $# -gt 0 ]; do
		case $1 in
		--runtime) runtime=${2:?--runtime needs a path}; shift ;;
		--no-log) log=no ;;
		--hide-cgroup2-controllers) hide_v2=yes ;;
		--services) services=${2:?--services needs a directory}; shift ;;
		*) extra+=("$1") ;;
		esac
		shift
	done
	if [ -n "$services" ]; then
		mkdir -p "$services"
		services=$(cd "$services" && pwd)
	fi
}

# With --services SDIR, also name each long-lived process in SDIR/*.pid (a
# cmocka test's clean-host check does not count those as leftovers).
publish_services() {
	local dir=$1 services=$2 f tag
	[ -n "$services" ] || return 0
	tag=$(basename "$dir")
	for f in "$dir"/*.pid; do
		[ -e "$f" ] || continue
		cp "$f" "$services/$prog-$tag-$(basename "$f")"
		echo "$services/$prog-$tag-$(basename "$f")" >> "$dir/services"
	done
}

unpublish_services() {
	local dir=$1 f
	[ -e "$dir/services" ] || return 0
	while read -r f; do rm -f "$f"; done < "$dir/services"
	rm -f "$dir/services"
}

write_env() {
	local dir=$1 line
	shift
	{
		for line in "$@"; do
			printf '%s=%q\n' "${line%%=*}" "${line#*=}"
		done
	} > "$dir/env.tmp"
	mv "$dir/env.tmp" "$dir/env"
}

# Wait (up to SECONDS) for a unix socket to appear, or the daemon to die.
wait_socket() {
	local sock=$1 pidfile=$2 seconds=$3 i
	for ((i = 0; i < seconds * 50; i++)); do
		[ -S "$sock" ] && return 0
		alive "$(cat "$pidfile")" || return 1
		sleep 0.02
	done
	return 1
}

# ---- containerd (containerd-env, and dockerd-env's own containerd) -------------------

# Write C/config.toml for a containerd keeping everything in C: root, state,
# sockets, the opt plugin's directory (else /opt/containerd). The CRI plugin
# is disabled (no kubelet here) unless CRI=yes; IMPORTS are files merged
# in with containerd's `imports` (a Kubernetes node's runtime table, say).
containerd_config() {
	local c=$1 cri=$2 f
	shift 2
	{
		echo "# written by $prog: a containerd whose state is all in $c"
		echo "version = 2"
		printf 'root = "%s/root"\n' "$c"
		printf 'state = "%s/state"\n' "$c"
		if [ $# -gt 0 ]; then
			local list=""
			for f in "$@"; do list="$list, \"$f\""; done
			echo "imports = [${list#, }]"
		fi
		[ "$cri" = yes ] || echo 'disabled_plugins = ["io.containerd.grpc.v1.cri"]'
		echo "[grpc]"
		printf '  address = "%s/containerd.sock"\n' "$c"
		echo "[ttrpc]"
		printf '  address = "%s/containerd.sock.ttrpc"\n' "$c"
		echo '[plugins."io.containerd.internal.v1.opt"]'
		printf '  path = "%s/opt"\n' "$c"
	} > "$c/config.toml"
}

# Start containerd with C/config.toml in DIR's namespace; PID in DIR/containerd.pid.
containerd_start() {
	local dir=$1 c=$2
	# TMPDIR: the shim makes its console sockets (pty*/pty.sock) and --process
	# files (runc-process*) there, ctr its fifos under /run/containerd/fifo.
	ns_daemon "$dir" "$dir/containerd.pid" "$dir/log/containerd.log" \
		env TMPDIR="$dir/tmp" containerd --config "$c/config.toml" --log-level debug
	wait_socket "$c/containerd.sock" "$dir/containerd.pid" 20 || {
		tail -n 20 "$dir/log/containerd.log" >&2
		die "containerd did not start (see $dir/log/containerd.log)"
	}
}

# stop's calls to a client or the runtime are limited to 10-15 s (they take
# under 1.5 s): with a runtime that hangs (a create that never returns holds
# the shim's lock on its task, and `docker rm -f`, `ctr tasks kill` and the
# runtime's own `list` wait on it forever) stop must still finish; what they
# could not remove, ns_stop kills and reports.
#
# Remove what containerd's clients left in namespace NS: tasks (SIGKILL, then
# delete) and containers. Prints how many containers it removed.
containerd_remove_all() {
	local dir=$1 address=$2 ns=$3 id n=0 ctr
	ctr=(timeout -k 2 10 nsenter --mount="/proc/$(ns_pid "$dir")/ns/mnt" -- ctr --address "$address" -n "$ns")
	for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
		"${ctr[@]}" tasks kill -a -s SIGKILL "$id" > /dev/null 2>&1
	done
	for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
		for ((i = 0; i < 50; i++)); do
			"${ctr[@]}" tasks ls 2>/dev/null | awk -v id="$id" '$1 == id { exit $3 != "STOPPED" }' && break
			sleep 0.1
		done
		"${ctr[@]}" tasks delete -f "$id" > /dev/null 2>&1
	done
	for id in $("${ctr[@]}" containers ls -q 2>/dev/null); do
		"${ctr[@]}" containers delete "$id" > /dev/null 2>&1 && n=$((n + 1))
	done
	echo $n
}

# Print what the runtime still lists under ROOT (a container it was told to
# delete and did not): `RUNTIME [--root ROOT] list -q` in DIR's namespace.
runtime_leftovers() {
	local dir=$1 real=$2 root=$3 args=() out
	[ -z "$root" ] || args=(--root "$root")
	out=$(timeout -k 2 10 nsenter --mount="/proc/$(ns_pid "$dir")/ns/mnt" -- "$real" "${args[@]}" list -q 2>&1) || {
		echo "$prog: note: $real ${args[*]} list -q failed: $out" >&2
		return 0
	}
	[ -z "$out" ] || echo "$out"
}
