#!/usr/bin/env bash
# Set-up in one command: install the packages berth needs, build it, start
# `berth daemon`, make a busybox image offline, run a container, and stop
# the daemon again (nothing is left running).
#
#   scripts/setup.sh            # data root /var/lib/berth, exec root /run/berth
#   BERTH_TEMP_ROOTS=1 scripts/setup.sh   # throw-away roots under /tmp
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

if [[ $(id -u) != 0 ]]; then
	echo "setup.sh must run as root (it installs packages and runs containers)" >&2
	exit 1
fi

echo "== installing packages"
bash scripts/packages.sh

echo "== building bin/berth"
# Static, like runc's release builds: the same binary is the --init of any image.
tags=(-tags osusergo,netgo)
pkg-config --exists libseccomp && tags=(-tags osusergo,netgo,seccomp)
go build "${tags[@]}" -ldflags=-extldflags=-static -o bin/berth ./cmd/berth

tmp=$(mktemp -d)
if [[ ${BERTH_TEMP_ROOTS:-} == 1 ]]; then
	data_root=$tmp/data
	exec_root=$(mktemp -d /run/berth-setup-XXXXXX)
else
	data_root=/var/lib/berth
	exec_root=/run/berth
fi
host=unix://$exec_root/berth.sock
export BERTH_HOST=$host
netargs=()
if [[ ${BERTH_TEMP_ROOTS:-} == 1 ]]; then
	# Throw-away roots get throw-away host objects too: their own bridge and
	# nftables table, removed at the end (the real roots keep berth0, as
	# Docker keeps docker0).
	net_prefix=berths$(printf '%04x' $((RANDOM % 65536)))
	netargs=(--net-prefix "$net_prefix" --bridge "${net_prefix}0")
fi
pid=
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	if [[ ${BERTH_TEMP_ROOTS:-} == 1 ]]; then
		safe_rm "$exec_root"
		for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$net_prefix"); do ip link del "$l" 2>/dev/null; done
		nft delete table ip "$net_prefix" 2>/dev/null || true
	fi
	safe_rm "$tmp"
}
# safe_rm refuses to recurse into a tree that still has mount points: a
# bind mount there would make rm delete files outside it.
safe_rm() {
	if awk '{print $5}' /proc/self/mountinfo | grep -q "^$1\(/\|$\)"; then
		echo "not removing $1: something is still mounted under it" >&2
		return 0
	fi
	rm -rf "$1"
}
trap cleanup EXIT

if [[ -S $exec_root/berth.sock ]] && bin/berth version >/dev/null 2>&1; then
	echo "a berth daemon already answers on $host; stop it first" >&2
	exit 1
fi

echo "== starting berth daemon (data root $data_root, exec root $exec_root; log $tmp/daemon.log)"
bin/berth daemon --data-root "$data_root" --exec-root "$exec_root" -H "$host" "${netargs[@]}" >"$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	bin/berth version >/dev/null 2>&1 && break
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$tmp/daemon.log" >&2
		exit 1
	fi
	sleep 0.1
done

echo "== importing busybox (from Debian's busybox-static)"
bash scripts/busybox-rootfs.sh "$tmp/busybox.tar"
bin/berth import "$tmp/busybox.tar" busybox

echo "== berth run --rm busybox echo hello from berth"
bin/berth run --rm busybox echo hello from berth

echo "== stopping the daemon"
cleanup
pid=
trap - EXIT
echo "done: bin/berth is built; start the daemon with: bin/berth daemon"
