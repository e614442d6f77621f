#!/usr/bin/env bash
# bench/fs.sh — `cp` of a directory into and out of a running container,
# berth and Docker side by side, in one run.
#
# Makes a directory of SIZE_MB megabytes (FILES files of equal size, plus a
# hundred small ones), then for each engine on the same offline busybox
# rootfs times, R times each after one warm-up:
#   - cp DIR box:/in        (into a running container's writable layer)
#   - cp box:/in OUTDIR     (back out)
#   - cp box:/in -          (out as a tar stream, to /dev/null)
#   - commit box            (after the container wrote CHANGE_MB megabytes)
# checks the copy came back byte for byte, and prints the medians and the
# ratios against Docker.
#
# Run by hand, as root, from anywhere in the repo:  bench/fs.sh
# Knobs: SIZE_MB=200, FILES=50, CHANGE_MB=100, R=5, SKIP_DOCKER=1.
# Docker is Debian's docker.io started on its own roots in its own network
# namespace, as in bench/run-latency.sh. Everything started is stopped and
# removed at exit.
set -uo pipefail

SIZE_MB=${SIZE_MB:-200}
FILES=${FILES:-50}
R=${R:-5}
CHANGE_MB=${CHANGE_MB:-100}
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/bench/lib.sh"
export PATH="$PATH:/usr/local/go/bin"

die() { echo "fs: $*" >&2; exit 1; }
median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} printf "%.1f", a[int((NR+1)/2)]}'; }

[[ $(id -u) == 0 ]] || die "run as root"
work=$(mktemp -d /tmp/bf-XXXXXX)
tag=benchfs$$
ns_docker=$tag-docker
berth_pid= docker_pid=

cleanup() {
	set +e
	echo "cleaning up..." >&2
	if [[ -n $berth_pid ]]; then
		"$work/berth" rm -f box >/dev/null 2>&1
		stop_pid "$berth_pid" 100
	fi
	if [[ -n $docker_pid ]]; then
		docker_cli rm -f box >/dev/null 2>&1
		stop_pid "$docker_pid" 150
	fi
	kill_matching "$work/"
	cgroup_cleanup "$tag-berth"
	cgroup_cleanup "$tag-docker"
	ip netns del "$ns_docker" 2>/dev/null
	remove_work "$work"
	net_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DOCKER=(env DOCKER_CONFIG="$work/docker-config" DOCKER_CLI_HINTS=false docker -H "unix://$work/d-run/docker.sock")
docker_cli() { timeout 600 "${DOCKER[@]}" "$@"; }

echo "building berth, the busybox rootfs and a ${SIZE_MB} MB directory..." >&2
tags=()
pkg-config --exists libseccomp 2>/dev/null && tags=(-tags seccomp)
(cd "$repo" && go build "${tags[@]}" -o "$work/berth" ./cmd/berth) || die "go build failed"
bash "$repo/scripts/busybox-rootfs.sh" "$work/busybox.tar" || die "busybox rootfs failed"
src=$work/src/data
mkdir -p "$src/small"
per=$((SIZE_MB * 1024 / FILES)) # KiB per file
for ((i = 0; i < FILES; i++)); do
	head -c "$((per * 1024))" /dev/urandom >"$src/f$i"
done
for ((i = 0; i < 100; i++)); do head -c 4096 /dev/urandom >"$src/small/s$i"; done
sum_src=$(cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)

declare -A T

# bench_engine NAME CLI...: the container "box" runs; time cp in and out.
bench_engine() {
	local e=$1; shift
	"$@" run -d --name box busybox sleep 100000 >/dev/null || { log "$e: run failed"; return 1; }
	local i t0 t1 out
	: >"$work/$e.in"; : >"$work/$e.out"; : >"$work/$e.stream"
	for ((i = 0; i <= R; i++)); do
		"$@" exec box rm -rf /in >/dev/null 2>&1
		t0=$(now_ns)
		"$@" cp "$src" box:/in >/dev/null || { log "$e: cp in failed"; return 1; }
		t1=$(now_ns)
		((i > 0)) && echo "$(((t1 - t0) / 1000000))" >>"$work/$e.in"
		out=$work/$e-out-$i
		t0=$(now_ns)
		"$@" cp box:/in "$out" >/dev/null || { log "$e: cp out failed"; return 1; }
		t1=$(now_ns)
		((i > 0)) && echo "$(((t1 - t0) / 1000000))" >>"$work/$e.out"
		t0=$(now_ns)
		"$@" cp box:/in - >/dev/null || { log "$e: cp out to - failed"; return 1; }
		t1=$(now_ns)
		((i > 0)) && echo "$(((t1 - t0) / 1000000))" >>"$work/$e.stream"
		local got
		got=$(cd "$out" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
		[[ $got == "$sum_src" ]] || { log "$e: the copy out differs from the source"; return 1; }
		rm -rf "$out"
	done
	T[$e.in]=$(median "$work/$e.in")
	T[$e.out]=$(median "$work/$e.out")
	T[$e.stream]=$(median "$work/$e.stream")
	# commit of a container whose writable layer holds a CHANGE_MB change
	"$@" exec box sh -c "rm -rf /in && head -c $((CHANGE_MB * 1048576)) /dev/urandom >/big" >/dev/null ||
		{ log "$e: writing the change failed"; return 1; }
	: >"$work/$e.commit"
	for ((i = 0; i <= R; i++)); do
		t0=$(now_ns)
		"$@" commit box "benchcommit:$i" >/dev/null || { log "$e: commit failed"; return 1; }
		t1=$(now_ns)
		((i > 0)) && echo "$(((t1 - t0) / 1000000))" >>"$work/$e.commit"
		"$@" rmi "benchcommit:$i" >/dev/null 2>&1
	done
	T[$e.commit]=$(median "$work/$e.commit")
	"$@" rm -f box >/dev/null 2>&1
}

echo "berth..." >&2
export BERTH_HOST=unix://$work/b-run/berth.sock
"$work/berth" daemon --data-root "$work/b-data" --exec-root "$work/b-run" -H "$BERTH_HOST" \
	--net-prefix "$net_prefix" --bridge "${net_prefix}0" --cgroup-parent "$tag-berth" >"$work/berth.log" 2>&1 &
berth_pid=$!
for _ in $(seq 1 100); do "$work/berth" version >/dev/null 2>&1 && break; sleep 0.1; done
"$work/berth" import "$work/busybox.tar" busybox >/dev/null || die "berth import failed: $(tail -2 "$work/berth.log")"
bench_engine berth "$work/berth"

if [[ ${SKIP_DOCKER:-} != 1 ]] && command -v dockerd >/dev/null && command -v docker >/dev/null; then
	echo "docker..." >&2
	mkdir -p "$work/d-run" "$work/d-data" "$work/docker-config"
	ip netns add "$ns_docker" && nsenter --net="/run/netns/$ns_docker" ip link set lo up
	nsenter --net="/run/netns/$ns_docker" dockerd --data-root "$work/d-data" --exec-root "$work/d-run" \
		-H "unix://$work/d-run/docker.sock" --pidfile "$work/d-run/docker.pid" \
		--cgroup-parent "/$tag-docker" --userland-proxy=false --bridge none >"$work/dockerd.log" 2>&1 &
	docker_pid=$!
	for _ in $(seq 1 200); do docker_cli version >/dev/null 2>&1 && break; sleep 0.1; done
	if docker_cli import "$work/busybox.tar" busybox >/dev/null; then
		bench_engine docker "${DOCKER[@]}"
	else
		log "dockerd did not start: $(tail -2 "$work/dockerd.log")"
	fi
else
	log "docker skipped (SKIP_DOCKER=1 or dockerd missing)"
fi

ratio() { [[ -n ${T[docker.$1]:-} && ${T[docker.$1]} != 0 ]] && awk -v a="${T[berth.$1]:-0}" -v b="${T[docker.$1]}" 'BEGIN {printf "%.2fx", a/b}' || echo "-"; }
printf '\n%s MB in %s files + 100 small, median of %s runs\n' "$SIZE_MB" "$FILES" "$R"
printf '| metric | berth | Docker | berth / Docker |\n|---|---|---|---|\n'
printf '| cp dir into a running container | %s ms | %s ms | %s |\n' "${T[berth.in]:--}" "${T[docker.in]:--}" "$(ratio in)"
printf '| cp dir out of a running container | %s ms | %s ms | %s |\n' "${T[berth.out]:--}" "${T[docker.out]:--}" "$(ratio out)"
printf '| cp dir out as a tar stream (-) | %s ms | %s ms | %s |\n' "${T[berth.stream]:--}" "${T[docker.stream]:--}" "$(ratio stream)"
printf '| commit of a %s MB change | %s ms | %s ms | %s |\n' "$CHANGE_MB" "${T[berth.commit]:--}" "${T[docker.commit]:--}" "$(ratio commit)"
