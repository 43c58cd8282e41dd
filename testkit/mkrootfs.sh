#!/bin/sh
# mkrootfs.sh DIR [UID:GID] - build a minimal busybox root filesystem in DIR.
#
# The root holds one static binary (busybox) and a link for each of its
# applets, so it needs no shared libraries and builds in about a second.
# With UID:GID every file is owned by that host id: a root for a user
# namespace whose container root maps to that id (see chapter 2).
set -eu

usage() { echo "usage: $0 DIR [UID:GID]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
dir=$1
owner=${2:-}

# An absolute path: where busybox is the shell, "command -v busybox" may say just "busybox".
busybox=$(which busybox 2>/dev/null || command -v busybox) || busybox=
case "$busybox" in
/*) ;;
*) echo "mkrootfs: busybox not found (apt-get install busybox-static)" >&2; exit 1 ;;
esac
if ! "$busybox" --list >/dev/null 2>&1; then
	echo "mkrootfs: $busybox does not run" >&2; exit 1
fi
# A dynamically linked busybox would need the host's libraries inside the root.
if ldd "$busybox" >/dev/null 2>&1; then
	echo "mkrootfs: $busybox is dynamically linked; install busybox-static" >&2; exit 1
fi

mkdir -p "$dir"
cd "$dir"
mkdir -p bin dev etc proc sys tmp root usr var/tmp
chmod 1777 tmp var/tmp
chmod 700 root
ln -sfn bin sbin
ln -sfn ../bin usr/bin
ln -sfn ../bin usr/sbin
cp "$busybox" bin/busybox
for applet in $(bin/busybox --list); do
	[ "$applet" = busybox ] || ln -sf busybox "bin/$applet"
done

cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > etc/group <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo "box" > etc/hostname
: > etc/hosts
: > etc/resolv.conf

if [ -n "$owner" ]; then
	chown -hR "$owner" .
fi
