#!/usr/bin/env bash
# bench/run-latency.sh — berth vs Docker vs Podman, side by side, in one run.
#
# Measures, for each engine on the same offline busybox rootfs (imported
# into each with `import`):
#   - `run --rm busybox true`: median and p90 of N runs (after 2 warm-ups)
#   - daemon idle RSS: berth daemon vs dockerd + containerd (podman has none)
#   - per-container overhead: RSS that the engine's own processes add per
#     running container, with M `sleep 1000` containers (berth shims and
#     daemon growth vs containerd-shim-runc-v2 and dockerd/containerd growth
#     vs conmon)
#   - `exec <running> true` and `stats --no-stream` latency (berth, Docker)
# and prints absolute values and ratios against Docker.
#
# Run by hand, as root, from anywhere in the repo:  bench/run-latency.sh
# Knobs: N=20 (runs), M=10 (containers), NS=5 (stats runs), SKIP_DOCKER=1, SKIP_PODMAN=1,
# NO_INSTALL=1 (do not apt-get install docker.io / podman).
#
# Docker is Debian's docker.io (dockerd 20.10) started on its own roots, in
# its own network namespace (ip netns add + nsenter --net) so it cannot touch
# the host's docker0; Podman
# (Debian's 4.3) runs in its own netns too, with a private containers.conf
# (runc, cgroupfs, file events, low default ulimits: CAP_SYS_RESOURCE is
# missing here). Everything the script starts is
# stopped and removed at exit. An engine that cannot start is reported and
# skipped.
set -uo pipefail

N=${N:-20}
M=${M:-10}
NS=${NS:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/bench/lib.sh"
export PATH="$PATH:/usr/local/go/bin"

die() { echo "run-latency: $*" >&2; exit 1; }

# percentile P FILE: the P-th percentile (nearest rank) of the numbers in FILE.
percentile() {
	sort -n "$2" | awk -v p="$1" '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} i=int((p/100)*NR+0.999999); if (i<1) i=1; if (i>NR) i=NR; printf "%.1f", a[i]}'
}

# time_runs OUTFILE CMD...: 2 warm-ups, then N timed runs (ms per line).
time_runs() {
	local out=$1; shift
	: >"$out"
	local i t0 t1
	for i in 1 2; do
		timeout 60 "$@" >/dev/null 2>&1 || { log "warm-up failed: $*"; timeout 60 "$@" 2>&1 | tail -3 >&2; return 1; }
	done
	for ((i = 0; i < N; i++)); do
		t0=$(now_ns)
		timeout 60 "$@" >/dev/null 2>&1 || { log "run failed: $*"; return 1; }
		t1=$(now_ns)
		echo "$(((t1 - t0) / 1000))" | awk '{printf "%.3f\n", $1/1000}' >>"$out"
	done
}

# ---------------------------------------------------------------- podman (inner)
podman_inner() {
	local P=(podman --root "$work/p-root" --runroot "$work/p-run" --tmpdir "$work/p-tmp"
		--cgroup-manager cgroupfs --events-backend file --runtime runc)
	export CONTAINERS_CONF=$work/p-containers.conf
	ip link set lo up
	"${P[@]}" import "$work/busybox.tar" busybox >/dev/null || { echo "error=podman import failed" >"$work/podman.res"; return; }
	if ! time_runs "$work/podman.times" "${P[@]}" run --rm --cgroup-parent "/$cg_podman" localhost/busybox true; then
		echo "error=podman run failed: $("${P[@]}" run --rm --cgroup-parent "/$cg_podman" localhost/busybox true 2>&1 | tail -1)" >"$work/podman.res"
		return
	fi
	local idle i
	idle=$(rss_kb $(pids_matching "$work/p-"))
	for ((i = 0; i < M; i++)); do
		"${P[@]}" run -d --cgroup-parent "/$cg_podman" localhost/busybox sleep 1000 >/dev/null || break
	done
	sleep 1
	local busy n
	busy=$(rss_kb $(pids_matching "$work/p-"))
	n=$("${P[@]}" ps -q | wc -l)
	{
		echo "median=$(percentile 50 "$work/podman.times")"
		echo "p90=$(percentile 90 "$work/podman.times")"
		echo "idle=0"
		echo "percont=$(( n > 0 ? (busy - idle) / n : 0 ))"
		echo "containers=$n"
	} >"$work/podman.res"
	"${P[@]}" rm -af -t 0 >/dev/null 2>&1
}

# Inner mode: the Podman part runs as one process tree inside its netns.
# Namespaces are entered with nsenter --net rather than ip netns exec, which
# also remounts /sys and so hides the cgroup mounts.
if [[ ${BENCH_INNER:-} == podman ]]; then
	work=$BENCH_WORK cg_podman=$BENCH_CG
	podman_inner
	exit 0
fi

# ---------------------------------------------------------------- set-up
[[ $(id -u) == 0 ]] || die "run as root"
work=$(mktemp -d /tmp/bb-XXXXXX) # short: unix socket paths live below it
tag=bench$$
ns_docker=$tag-docker
ns_podman=$tag-podman
cg_berth=$tag-berth
cg_docker=$tag-docker
cg_podman=$tag-podman
berth_pid= docker_pid=

cleanup() {
	set +e
	echo "cleaning up..." >&2
	if [[ -n $berth_pid ]]; then
		BERTH_HOST=unix://$work/b-run/berth.sock timeout 60 "$work/berth" rm -f $(BERTH_HOST=unix://$work/b-run/berth.sock timeout 20 "$work/berth" ps -aq 2>/dev/null) >/dev/null 2>&1
		stop_pid "$berth_pid" 100
	fi
	if [[ -n $docker_pid ]]; then
		docker_cli rm -f $(docker_cli ps -aq 2>/dev/null) >/dev/null 2>&1
		stop_pid "$docker_pid" 150
	fi
	kill_matching "$work/"
	cgroup_cleanup "$cg_berth"
	cgroup_cleanup "$cg_docker"
	cgroup_cleanup "$cg_podman"
	ip netns del "$ns_docker" 2>/dev/null
	ip netns del "$ns_podman" 2>/dev/null
	remove_work "$work"
	net_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# DOCKER is the docker CLI for our dockerd, as a command (time_runs needs
# one, not a function).
DOCKER=(env DOCKER_CONFIG="$work/docker-config" DOCKER_CLI_HINTS=false docker -H "unix://$work/d-run/docker.sock")
docker_cli() { timeout 120 "${DOCKER[@]}" "$@"; }

echo "building berth and the busybox rootfs..." >&2
tags=()
pkg-config --exists libseccomp 2>/dev/null && tags=(-tags seccomp)
(cd "$repo" && go build "${tags[@]}" -o "$work/berth" ./cmd/berth) || die "go build failed"
bash "$repo/scripts/busybox-rootfs.sh" "$work/busybox.tar" || die "busybox rootfs failed"

install_pkgs() {
	[[ ${NO_INSTALL:-} == 1 ]] && return 1
	local added_policy=
	# Installing must not start the packaged services on the host.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		added_policy=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$work/apt.log" 2>&1
	local rc=$?
	[[ -n $added_policy ]] && rm -f /usr/sbin/policy-rc.d
	((rc == 0)) || { log "apt-get install $* failed:"; tail -5 "$work/apt.log" >&2; }
	return $rc
}

declare -A R # results: R[engine.metric]
declare -A WHY

# observe_latency ENGINE CLI...: `exec <running> true` (N runs) and
# `stats --no-stream <running>` (NS runs: each takes a CPU sample interval)
# against the first running container.
observe_latency() {
	local e=$1; shift
	local first
	first=$("$@" ps -q | head -1)
	[[ -n $first ]] || return 0
	time_runs "$work/$e.exec" "$@" exec "$first" true && R[$e.exec]=$(percentile 50 "$work/$e.exec")
	(N=$NS; time_runs "$work/$e.stats" "$@" stats --no-stream "$first") && R[$e.stats]=$(percentile 50 "$work/$e.stats")
}

# ---------------------------------------------------------------- berth
run_berth() {
	echo "berth..." >&2
	export BERTH_HOST=unix://$work/b-run/berth.sock
	local B=$work/berth
	"$B" daemon --data-root "$work/b-data" --exec-root "$work/b-run" -H "$BERTH_HOST" \
		--net-prefix "$net_prefix" --bridge "${net_prefix}0" --cgroup-parent "$cg_berth" >"$work/berth.log" 2>&1 &
	berth_pid=$!
	local i
	for i in $(seq 1 100); do "$B" version >/dev/null 2>&1 && break; sleep 0.1; done
	"$B" version >/dev/null 2>&1 || { WHY[berth]="daemon did not start: $(tail -1 "$work/berth.log")"; return; }
	"$B" import "$work/busybox.tar" busybox >/dev/null || { WHY[berth]="import failed"; return; }
	time_runs "$work/berth.times" "$B" run --rm busybox true || { WHY[berth]="run failed: $("$B" run --rm busybox true 2>&1 | tail -1)"; return; }
	R[berth.median]=$(percentile 50 "$work/berth.times")
	R[berth.p90]=$(percentile 90 "$work/berth.times")
	sleep 0.5
	local idle busy n
	idle=$(rss_kb $(pids_matching "$work/b-"))
	R[berth.idle]=$idle
	for ((i = 0; i < M; i++)); do "$B" run -d busybox sleep 1000 >/dev/null || break; done
	sleep 1
	busy=$(rss_kb $(pids_matching "$work/b-"))
	n=$("$B" ps -q | wc -l)
	((n > 0)) && R[berth.percont]=$(((busy - idle) / n))
	observe_latency berth "$B"
	"$B" rm -f $("$B" ps -aq) >/dev/null 2>&1
}

# ---------------------------------------------------------------- docker
run_docker() {
	echo "docker..." >&2
	if ! command -v dockerd >/dev/null; then
		log "installing docker.io..."
		install_pkgs docker.io || { WHY[docker]="docker.io not installed"; return; }
	fi
	command -v docker >/dev/null || { WHY[docker]="no docker CLI"; return; }
	mkdir -p "$work/d-run" "$work/d-data" "$work/docker-config"
	ip netns add "$ns_docker" || { WHY[docker]="ip netns add failed"; return; }
	nsenter --net="/run/netns/$ns_docker" ip link set lo up
	local bridge_args=() i
	for attempt in bridge none; do
		[[ $attempt == none ]] && bridge_args=(--bridge none)
		nsenter --net="/run/netns/$ns_docker" dockerd --data-root "$work/d-data" --exec-root "$work/d-run" \
			-H "unix://$work/d-run/docker.sock" --pidfile "$work/d-run/docker.pid" \
			--cgroup-parent "/$cg_docker" --userland-proxy=false "${bridge_args[@]}" \
			>"$work/dockerd-$attempt.log" 2>&1 &
		docker_pid=$!
		for i in $(seq 1 200); do
			docker_cli version >/dev/null 2>&1 && break
			kill -0 "$docker_pid" 2>/dev/null || break
			sleep 0.1
		done
		docker_cli version >/dev/null 2>&1 && break
		log "dockerd ($attempt) did not start: $(grep -i 'level=error\|failed' "$work/dockerd-$attempt.log" | tail -1)"
		kill -TERM "$docker_pid" 2>/dev/null; wait "$docker_pid" 2>/dev/null
		kill_matching "$work/d-"
		docker_pid=
	done
	[[ -n $docker_pid ]] || { WHY[docker]="dockerd did not start (see log above)"; return; }
	[[ $attempt == none ]] && R[docker.note]="(--bridge none)"
	docker_cli import "$work/busybox.tar" busybox >/dev/null || { WHY[docker]="import failed"; return; }
	time_runs "$work/docker.times" "${DOCKER[@]}" run --rm busybox true || { WHY[docker]="run failed: $(docker_cli run --rm busybox true 2>&1 | tail -1)"; return; }
	R[docker.median]=$(percentile 50 "$work/docker.times")
	R[docker.p90]=$(percentile 90 "$work/docker.times")
	sleep 0.5
	local idle busy n
	idle=$(rss_kb $(pids_matching "$work/d-"))
	R[docker.idle]=$idle
	for ((i = 0; i < M; i++)); do docker_cli run -d busybox sleep 1000 >/dev/null || break; done
	sleep 1
	busy=$(rss_kb $(pids_matching "$work/d-"))
	n=$(docker_cli ps -q | wc -l)
	((n > 0)) && R[docker.percont]=$(((busy - idle) / n))
	observe_latency docker "${DOCKER[@]}"
	docker_cli rm -f $(docker_cli ps -aq) >/dev/null 2>&1
}

# ---------------------------------------------------------------- podman
run_podman() {
	echo "podman..." >&2
	if ! command -v podman >/dev/null; then
		log "installing podman..."
		install_pkgs podman runc conmon || { WHY[podman]="podman not installed"; return; }
	fi
	command -v runc >/dev/null || install_pkgs runc || { WHY[podman]="runc not installed"; return; }
	mkdir -p "$work/p-root" "$work/p-run" "$work/p-tmp"
	# Podman's defaults (and even this machine's own hard limits) make runc
	# fail with EPERM here: CAP_SYS_RESOURCE is missing.
	cat >"$work/p-containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/p-tmp/events.log"
tmp_dir = "$work/p-tmp"
EOF
	ip netns add "$ns_podman" || { WHY[podman]="ip netns add failed"; return; }
	BENCH_INNER=podman BENCH_WORK=$work BENCH_CG=$cg_podman N=$N M=$M \
		timeout 900 nsenter --net="/run/netns/$ns_podman" bash "$0" 2>"$work/podman.err"
	if [[ ! -s $work/podman.res ]]; then
		WHY[podman]="podman part failed: $(tail -1 "$work/podman.err")"
		return
	fi
	local k v
	while IFS== read -r k v; do
		if [[ $k == error ]]; then WHY[podman]=$v; return; fi
		R[podman.$k]=$v
	done <"$work/podman.res"
}

run_berth
[[ ${SKIP_DOCKER:-} == 1 ]] && WHY[docker]="skipped (SKIP_DOCKER=1)" || run_docker
[[ ${SKIP_PODMAN:-} == 1 ]] && WHY[podman]="skipped (SKIP_PODMAN=1)" || run_podman

# ---------------------------------------------------------------- report
val() { local v=${R[$1.$2]:-}; [[ -n $v && -z ${WHY[$1]:-} ]] && echo "$v" || echo "-"; }
mib() { [[ $1 == - ]] && echo - || awk -v k="$1" 'BEGIN {printf "%.1f", k/1024}'; }
ratio() { [[ $1 == - || $2 == - ]] && { echo -; return; }; awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "-"; else printf "%.2fx", a/b}'; }

echo
echo "run --rm busybox true: N=$N runs each (after 2 warm-ups); per-container: M=$M 'sleep 1000' containers"
printf '%-34s %10s %10s %10s %14s %14s\n' metric berth docker podman berth/docker podman/docker
row() { # label berth docker podman
	printf '%-34s %10s %10s %10s %14s %14s\n' "$1" "$2" "$3" "$4" "$(ratio "$2" "$3")" "$(ratio "$4" "$3")"
}
row "run --rm true, median (ms)" "$(val berth median)" "$(val docker median)" "$(val podman median)"
row "run --rm true, p90 (ms)" "$(val berth p90)" "$(val docker p90)" "$(val podman p90)"
row "exec <running> true, median (ms)" "$(val berth exec)" "$(val docker exec)" "-"
row "stats --no-stream, median (ms)" "$(val berth stats)" "$(val docker stats)" "-"
row "daemon idle RSS (MiB)" "$(mib "$(val berth idle)")" "$(mib "$(val docker idle)")" "$(mib "$(val podman idle)")"
row "per-container engine RSS (MiB)" "$(mib "$(val berth percont)")" "$(mib "$(val docker percont)")" "$(mib "$(val podman percont)")"
echo
echo "daemon idle RSS: berth daemon | dockerd + containerd | podman has no daemon (0)"
echo "per-container: RSS growth of the engine's own processes per running container"
echo "  (berth daemon + shims | dockerd + containerd + containerd-shim-runc-v2 | conmon)"
[[ -n ${R[docker.note]:-} ]] && echo "docker ran ${R[docker.note]}"
for e in berth docker podman; do
	[[ -n ${WHY[$e]:-} ]] && echo "$e: ${WHY[$e]}"
done
exit 0
