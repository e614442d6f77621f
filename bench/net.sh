#!/usr/bin/env bash
# bench/net.sh — berth vs Docker networking, side by side, in one run.
#
# Measures, for each engine on the same offline busybox rootfs:
#   - `run --rm busybox true` on the default bridge and with --network none
#     (median of N runs after 2 warm-ups): the cost of network setup
#   - a published port (-p 127.0.0.1:PORT:80 to busybox httpd): requests/s
#     and p50/p99 latency of K short HTTP/1.0 requests from C workers
#     (bench/netload), and the RSS of the processes that serve the port
#     outside the container (docker-proxy for Docker; none for berth)
# and prints the values and berth/Docker ratios.
#
# Run by hand, as root, from anywhere in the repo:  bench/net.sh
# Knobs: N=10 runs, K=2000 requests, C=4 workers, SKIP_DOCKER=1.
#
# berth runs with its own bridge, nftables table and 10.x pool (like a test
# daemon). Docker is Debian's dockerd (20.10) on its own roots inside its
# own network namespace (it cannot touch the host's docker0 or iptables),
# with its defaults (userland proxy on). All load stays on loopback.
# Everything started is stopped and removed at exit.
set -uo pipefail

N=${N:-10}
K=${K:-2000}
C=${C:-4}
repo=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
log() { printf '  %s\n' "$*" >&2; }
die() { echo "net: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "run as root"

median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} printf "%.1f", a[int((NR+1)/2)]}'; }

# time_runs OUT CMD...: 2 warm-ups, then N timed runs (ms, one per line).
time_runs() {
	local out=$1 i t0 t1; shift
	: >"$out"
	for i in 1 2; do timeout 60 "$@" >/dev/null 2>&1 || { log "failed: $*"; return 1; }; done
	for ((i = 0; i < N; i++)); do
		t0=$(date +%s%N)
		timeout 60 "$@" >/dev/null 2>&1 || { log "failed: $*"; return 1; }
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) | awk '{printf "%.3f\n", $1/1000}' >>"$out"
	done
}

rss_kb() { local s=0 p v; for p in "$@"; do v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null); s=$((s + ${v:-0})); done; echo "$s"; }

work=$(mktemp -d /tmp/bn-XXXXXX)
tag=bn$$
prefix=berthb$(printf '%04x' $((RANDOM % 65536)))
ns_docker=$tag-docker
berth_pid= docker_pid=
declare -A R

cleanup() {
	set +e
	echo "cleaning up..." >&2
	if [[ -n $berth_pid ]]; then
		"${BERTH[@]}" rm -f $("${BERTH[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1
		kill -TERM "$berth_pid"; for _ in $(seq 1 100); do kill -0 "$berth_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	if [[ -n $docker_pid ]]; then
		"${DOCKER[@]}" rm -f $("${DOCKER[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1
		kill -TERM "$docker_pid"; for _ in $(seq 1 150); do kill -0 "$docker_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$prefix"); do ip link del "$l" 2>/dev/null; done
	nft delete table ip "$prefix" 2>/dev/null
	ip netns del "$ns_docker" 2>/dev/null
	for m in $(awk -v d="$work" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m"; done
	for d in $(find /sys/fs/cgroup -mindepth 1 -type d -name "$tag-*" 2>/dev/null); do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building berth, netload and the busybox rootfs..." >&2
tags=(); pkg-config --exists libseccomp 2>/dev/null && tags=(-tags seccomp)
(cd "$repo" && go build "${tags[@]}" -o "$work/berth" ./cmd/berth && go build -o "$work/netload" ./bench/netload) || die "go build failed"
bash "$repo/scripts/busybox-rootfs.sh" "$work/busybox.tar" >/dev/null || die "busybox rootfs failed"
HTTPD=(sh -c 'mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www')

# publish_bench ENGINE CLI-ARRAY-NAME [NSENTER...]: httpd on a published
# loopback port, loaded by netload (inside the engine's netns if given).
publish_bench() {
	local eng=$1 port=$2; shift 2
	local out
	out=$("$@" "$work/netload" -addr "127.0.0.1:$port" -n "$K" -c "$C") || { log "$eng netload failed: $out"; return 1; }
	local kv
	for kv in $out; do R[$eng.${kv%%=*}]=${kv#*=}; done
}

# ---------------------------------------------------------------- berth
echo "berth..." >&2
mkdir -p "$work/b-data" "$work/b-run"
"$work/berth" daemon --data-root "$work/b-data" --exec-root "$work/b-run" -H "unix://$work/b-run/berth.sock" \
	--cgroup-parent "$tag-berth" --net-prefix "$prefix" --bridge "${prefix}0" \
	--default-address-pool base=10.199.0.0/20,size=24 --dns 127.0.0.1 >"$work/berth.log" 2>&1 &
berth_pid=$!
BERTH=(env BERTH_HOST="unix://$work/b-run/berth.sock" timeout 120 "$work/berth")
for _ in $(seq 1 100); do "${BERTH[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${BERTH[@]}" import "$work/busybox.tar" busybox >/dev/null || die "berth import failed"
time_runs "$work/berth.bridge" "${BERTH[@]}" run --rm busybox true && R[berth.bridge]=$(median "$work/berth.bridge")
time_runs "$work/berth.none" "${BERTH[@]}" run --rm --network none busybox true && R[berth.none]=$(median "$work/berth.none")
"${BERTH[@]}" run -d -p 127.0.0.1:18880:80 busybox "${HTTPD[@]}" >/dev/null && sleep 0.5 && publish_bench berth 18880 env
R[berth.proxyrss]=0

# ---------------------------------------------------------------- docker
if [[ ${SKIP_DOCKER:-} != 1 ]] && command -v dockerd >/dev/null; then
	echo "docker..." >&2
	mkdir -p "$work/d-data" "$work/d-run" "$work/docker-config"
	ip netns add "$ns_docker" && nsenter --net="/run/netns/$ns_docker" ip link set lo up
	nsenter --net="/run/netns/$ns_docker" dockerd --data-root "$work/d-data" --exec-root "$work/d-run" \
		-H "unix://$work/d-run/docker.sock" --pidfile "$work/d-run/docker.pid" --cgroup-parent "/$tag-docker" \
		>"$work/dockerd.log" 2>&1 &
	docker_pid=$!
	DOCKER=(env DOCKER_CONFIG="$work/docker-config" DOCKER_CLI_HINTS=false timeout 120 docker -H "unix://$work/d-run/docker.sock")
	for _ in $(seq 1 300); do "${DOCKER[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
	if "${DOCKER[@]}" import "$work/busybox.tar" busybox >/dev/null; then
		time_runs "$work/docker.bridge" "${DOCKER[@]}" run --rm busybox true && R[docker.bridge]=$(median "$work/docker.bridge")
		time_runs "$work/docker.none" "${DOCKER[@]}" run --rm --network none busybox true && R[docker.none]=$(median "$work/docker.none")
		"${DOCKER[@]}" run -d -p 127.0.0.1:18880:80 busybox "${HTTPD[@]}" >/dev/null && sleep 0.5 &&
			publish_bench docker 18880 nsenter --net="/run/netns/$ns_docker"
		R[docker.proxyrss]=$(rss_kb $(pgrep -f "docker-proxy.*18880"))
	else
		log "dockerd did not start: $(tail -2 "$work/dockerd.log")"
	fi
fi

# ---------------------------------------------------------------- report
val() { echo "${R[$1.$2]:--}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a+0 > 0 && b+0 > 0) printf "%.2f", a/b; else print "-"}'; }
row() { printf '%-44s %10s %10s %12s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
echo
printf '%-44s %10s %10s %12s\n' metric berth docker berth/docker
row "run --rm true, default bridge, median (ms)" "$(val berth bridge)" "$(val docker bridge)"
row "run --rm true, --network none, median (ms)" "$(val berth none)" "$(val docker none)"
row "published port, requests/s (K=$K, C=$C)" "$(val berth rps)" "$(val docker rps)"
row "published port, p50 latency (ms)" "$(val berth p50_ms)" "$(val docker p50_ms)"
row "published port, p99 latency (ms)" "$(val berth p99_ms)" "$(val docker p99_ms)"
row "port-serving processes' RSS (kB)" "$(val berth proxyrss)" "$(val docker proxyrss)"
