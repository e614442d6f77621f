#!/usr/bin/env bash
# Usage: busybox-rootfs.sh OUT.tar
# Writes a minimal rootfs tar around Debian's static busybox, offline and
# byte-for-byte reproducible (sorted, fixed mtimes and owners), the same
# layout as internal/testutil's BusyboxRootfsTar: /bin/busybox plus a
# symlink per applet, the usual dirs, users root, nobody and berthuser.
set -euo pipefail
out=${1:?usage: $0 OUT.tar}
bb=/bin/busybox
if ! [[ -x $bb ]] || file -L "$bb" 2>/dev/null | grep -q dynamic; then
	echo "need Debian's busybox-static at $bb" >&2
	exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,dev,etc,home/berthuser,proc,sys,usr/bin,var,root,tmp}
chmod 700 "$dir/root"
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
chmod 755 "$dir/bin/busybox"
for applet in $("$bb" --list); do
	[[ $applet == busybox || $applet == */* ]] && continue
	ln -s busybox "$dir/bin/$applet"
done
cat >"$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
berthuser:x:1000:1000:berthuser:/home/berthuser:/bin/sh
P
cat >"$dir/etc/group" <<'G'
root:x:0:
staff:x:50:berthuser
berthuser:x:1000:
nobody:x:65534:
G
chmod 644 "$dir/etc/passwd" "$dir/etc/group"
chmod 755 "$dir"
chown -R 0:0 "$dir"
chown 1000:1000 "$dir/home/berthuser"
tar --sort=name --mtime=@1704067200 --numeric-owner --format=ustar -C "$dir" -cf "$out" .
