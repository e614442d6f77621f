#!/usr/bin/env bash
# bench/build.sh — `build` with berth vs Docker's classic builder, side by
# side, in one run.
#
# One Dockerfile of 10 steps (ENV, WORKDIR, RUN, COPY of a 50 MB tree of
# 100 files, ARG, more RUN) on the same offline busybox rootfs, built by
#   - cold: `build --no-cache` (the base image is local in both)
#   - cached: the same build again, every step from the cache
# N times each (after one warm-up); medians and ratios against Docker.
# BuildKit is not measured: the Docker CLI here has no buildx plugin, and
# without it DOCKER_BUILDKIT=1 refuses to build.
#
# Run by hand, as root, from anywhere in the repo:  bench/build.sh
# Knobs: N=5 (runs), MB=50 (size of the copied tree), SKIP_DOCKER=1.
#
# Docker is Debian's docker.io (dockerd 20.10) on its own roots in its own
# network namespace (ip netns add + nsenter --net), as in run-latency.sh.
# Everything the script starts is stopped and removed at exit.
set -uo pipefail

N=${N:-5}
MB=${MB:-50}
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/bench/lib.sh"
export PATH="$PATH:/usr/local/go/bin"

die() { echo "build-bench: $*" >&2; exit 1; }

median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} printf "%.0f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# time_runs OUTFILE CMD...: N timed runs (ms per line); the first failure
# aborts with the command's output.
time_runs() {
	local out=$1; shift
	: >"$out"
	local i t0 t1
	for ((i = 0; i < N; i++)); do
		t0=$(now_ns)
		"$@" >"$work/last.log" 2>&1 || { log "failed: $*"; tail -5 "$work/last.log" >&2; return 1; }
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000000)) >>"$out"
	done
}

[[ $(id -u) == 0 ]] || die "run as root"
work=$(mktemp -d /tmp/bbuild-XXXXXX)
tag=bbuild$$
ns_docker=$tag-docker
berth_pid= docker_pid=

cleanup() {
	set +e
	echo "cleaning up..." >&2
	if [[ -n $berth_pid ]]; then
		stop_pid "$berth_pid" 100
	fi
	if [[ -n $docker_pid ]]; then
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

echo "building berth, the busybox rootfs and a ${MB} MB context..." >&2
tags=()
pkg-config --exists libseccomp 2>/dev/null && tags=(-tags seccomp)
(cd "$repo" && go build "${tags[@]}" -o "$work/berth" ./cmd/berth) || die "go build failed"
bash "$repo/scripts/busybox-rootfs.sh" "$work/busybox.tar" || die "busybox rootfs failed"

ctx=$work/ctx
mkdir -p "$ctx/tree"
for ((i = 0; i < 100; i++)); do
	head -c $((MB * 1024 * 1024 / 100)) /dev/urandom >"$ctx/tree/f$i"
done
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
ENV APP=/srv/app MODE=bench
WORKDIR /srv/app
RUN echo "building $MODE" > /built && mkdir -p /srv/app/data
COPY tree/ /srv/app/tree/
ARG VERSION=1
RUN ls /srv/app/tree | wc -l > /count
WORKDIR /srv/app/data
RUN echo "$VERSION" > version && sync
CMD ["cat", "/count"]
DOCKERFILE

declare -A R

# bench ENGINE CLI...: cold and cached build times. RUN steps use the host
# network in both (dockerd runs without a bridge in its own netns).
bench() {
	local e=$1; shift
	"$@" build -q --network host -t bench "$ctx" >/dev/null 2>&1 || { log "$e: warm-up build failed"; "$@" build --network host "$ctx" 2>&1 | tail -5 >&2; return 1; }
	time_runs "$work/$e.cold" "$@" build -q --network host --no-cache -t bench "$ctx" || return 1
	time_runs "$work/$e.cached" "$@" build -q --network host -t bench "$ctx" || return 1
	R[$e.cold]=$(median "$work/$e.cold")
	R[$e.cached]=$(median "$work/$e.cached")
	[[ $("$@" run --rm bench) == 100 ]] || log "$e: the built image does not run as expected"
}

echo "berth..." >&2
export BERTH_HOST=unix://$work/b-run/berth.sock
"$work/berth" daemon --data-root "$work/b-data" --exec-root "$work/b-run" -H "$BERTH_HOST" \
	--net-prefix "$net_prefix" --bridge "${net_prefix}0" --cgroup-parent "$tag-berth" >"$work/berth.log" 2>&1 &
berth_pid=$!
for _ in $(seq 1 100); do "$work/berth" version >/dev/null 2>&1 && break; sleep 0.1; done
"$work/berth" import "$work/busybox.tar" busybox >/dev/null || die "berth import failed: $(tail -2 "$work/berth.log")"
bench berth "$work/berth"

DOCKER=(env DOCKER_CONFIG="$work/docker-config" DOCKER_CLI_HINTS=false DOCKER_BUILDKIT=0 docker -H "unix://$work/d-run/docker.sock")
if [[ -z ${SKIP_DOCKER:-} ]] && command -v dockerd >/dev/null && command -v docker >/dev/null; then
	echo "docker..." >&2
	mkdir -p "$work/d-run" "$work/d-data" "$work/docker-config"
	ip netns add "$ns_docker" || die "ip netns add failed"
	nsenter --net="/run/netns/$ns_docker" ip link set lo up
	nsenter --net="/run/netns/$ns_docker" dockerd --data-root "$work/d-data" --exec-root "$work/d-run" \
		-H "unix://$work/d-run/docker.sock" --pidfile "$work/d-run/docker.pid" \
		--cgroup-parent "/$tag-docker" --bridge none >"$work/dockerd.log" 2>&1 &
	docker_pid=$!
	for _ in $(seq 1 200); do "${DOCKER[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
	if "${DOCKER[@]}" import "$work/busybox.tar" busybox >/dev/null 2>&1; then
		bench docker "${DOCKER[@]}"
	else
		log "dockerd did not start: $(grep -i 'level=error\|failed' "$work/dockerd.log" | tail -1)"
	fi
else
	log "docker skipped"
fi

ratio() { [[ -n ${1:-} && -n ${2:-} ]] && awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "-"; else printf "%.2fx", a/b}' || echo -; }
echo
echo "build of a 10-step Dockerfile with a ${MB} MB COPY, median of N=$N (ms)"
printf '%-28s %10s %14s %12s\n' metric berth "docker classic" "berth/docker"
printf '%-28s %10s %14s %12s\n' "cold (--no-cache)" "${R[berth.cold]:--}" "${R[docker.cold]:--}" "$(ratio "${R[berth.cold]:-}" "${R[docker.cold]:-}")"
printf '%-28s %10s %14s %12s\n' "fully cached" "${R[berth.cached]:--}" "${R[docker.cached]:--}" "$(ratio "${R[berth.cached]:-}" "${R[docker.cached]:-}")"
