#!/usr/bin/env bash
# bench/pull.sh — pull throughput of berth vs Docker vs skopeo, one run.
#
# A local registry (Debian's docker-registry) holds a 5-layer image of
# about 150 MB compressed (bench/pullgen: gzip layers of half-compressible
# files). Each engine pulls it N times from scratch (image removed between
# runs); the median time gives MB/s of compressed bytes and the ratio to
# Docker:
#   - berth: `berth pull` (download + verify + unpack into overlay2)
#   - Docker: Debian's dockerd 20.10 on its own roots (download + unpack)
#   - skopeo: `skopeo copy docker://… dir:` (download only, nothing unpacked)
#
# Everything runs in one private network namespace (registry, daemons,
# skopeo), so nothing listens on the host. Run by hand, as root, from
# anywhere in the repo:  bench/pull.sh
# Knobs: N=3 (runs per engine), MB=53 (uncompressed MiB per layer: ~150 MB compressed in all),
# SKIP_DOCKER=1, SKIP_SKOPEO=1, NO_INSTALL=1.
set -uo pipefail

N=${N:-3}
MB=${MB:-53}
repo=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/local/go/bin"

log() { printf '  %s\n' "$*" >&2; }
die() { echo "pull: $*" >&2; exit 1; }
now_ns() { date +%s%N; }

((EUID == 0)) || die "run as root"
work=$(mktemp -d /tmp/berth-pull-bench-XXXXXX)
tag=bpb$$
ns=$tag
port=$((20000 + RANDOM % 20000))
reg=127.0.0.1:$port
ref=$reg/bench/pull:latest
pids=()

cleanup() {
	set +e
	echo "cleaning up..." >&2
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	awk -v d="$work" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
	for cg in /sys/fs/cgroup/*/"$tag"-* /sys/fs/cgroup/*/*/"$tag"-*; do [[ -d $cg ]] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { nsenter --net="/run/netns/$ns" "$@"; }
# bg_ns starts a command in the namespace in the background; $! is then its
# own PID (nsenter execs it), so cleanup can end it.
bg_ns() { exec nsenter --net="/run/netns/$ns" "$@"; }

# median FILE: the middle of the numbers in FILE.
median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} printf "%.3f", a[int((NR+1)/2)]}'; }

echo "building berth and the image generator..." >&2
tags=()
pkg-config --exists libseccomp 2>/dev/null && tags=(-tags seccomp)
(cd "$repo" && go build "${tags[@]}" -o "$work/berth" ./cmd/berth && go build -o "$work/pullgen" ./bench/pullgen) || die "go build failed"

[[ -x /usr/bin/docker-registry ]] || die "docker-registry not installed (scripts/packages.sh)"
ip netns add "$ns" || die "ip netns add failed"
in_ns ip link set lo up
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: $reg
EOF
bg_ns /usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && break; sleep 0.1; done

echo "pushing the image (5 layers × ${MB} MiB uncompressed)..." >&2
bytes=$(in_ns "$work/pullgen" -ref "$ref" -mb "$MB") || die "pullgen failed"
mbytes=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b/1e6}')
log "image: $mbytes MB compressed"

declare -A T WHY

# time_pulls ENGINE PULL_CMD RESET_CMD: N timed pulls, RESET between.
time_pulls() {
	local e=$1 pull=$2 reset=$3 i t0 t1
	: >"$work/$e.times"
	for ((i = 0; i < N; i++)); do
		eval "$reset" >/dev/null 2>&1
		sync
		t0=$(now_ns)
		if ! eval "$pull" >"$work/$e.out" 2>&1; then
			WHY[$e]="pull failed: $(tail -1 "$work/$e.out")"
			return 1
		fi
		t1=$(now_ns)
		awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f\n", d/1e9}' >>"$work/$e.times"
	done
	T[$e]=$(median "$work/$e.times")
}

# ---------------------------------------------------------------- berth
echo "berth..." >&2
export BERTH_HOST=unix://$work/b-run/berth.sock
bg_ns "$work/berth" daemon --data-root "$work/b-data" --exec-root "$work/b-run" -H "$BERTH_HOST" \
	--cgroup-parent "$tag-berth" >"$work/berth.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do "$work/berth" version >/dev/null 2>&1 && break; sleep 0.1; done
if "$work/berth" version >/dev/null 2>&1; then
	time_pulls berth "'$work/berth' pull -q '$ref'" "'$work/berth' rmi -f '$ref'"
else
	WHY[berth]="daemon did not start"
fi

# ---------------------------------------------------------------- docker
install_pkgs() {
	[[ ${NO_INSTALL:-} == 1 ]] && return 1
	local added=
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; added=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$work/apt.log" 2>&1
	local rc=$?
	[[ -n $added ]] && rm -f /usr/sbin/policy-rc.d
	return $rc
}
if [[ ${SKIP_DOCKER:-} != 1 ]]; then
	echo "docker..." >&2
	command -v dockerd >/dev/null || install_pkgs docker.io || WHY[docker]="docker.io not installed"
	if command -v dockerd >/dev/null && command -v docker >/dev/null; then
		mkdir -p "$work/d-run" "$work/d-data" "$work/docker-config"
		bg_ns dockerd --data-root "$work/d-data" --exec-root "$work/d-run" -H "unix://$work/d-run/docker.sock" \
			--pidfile "$work/d-run/docker.pid" --cgroup-parent "/$tag-docker" --bridge none \
			>"$work/dockerd.log" 2>&1 &
		pids+=($!)
		D="env DOCKER_CONFIG=$work/docker-config docker -H unix://$work/d-run/docker.sock"
		for _ in $(seq 1 200); do $D version >/dev/null 2>&1 && break; sleep 0.1; done
		if $D version >/dev/null 2>&1; then
			time_pulls docker "$D pull -q '$ref'" "$D rmi -f '$ref'"
		else
			WHY[docker]="dockerd did not start: $(grep -i 'level=error' "$work/dockerd.log" | tail -1)"
		fi
	fi
fi

# ---------------------------------------------------------------- skopeo
if [[ ${SKIP_SKOPEO:-} != 1 ]]; then
	echo "skopeo..." >&2
	command -v skopeo >/dev/null || install_pkgs skopeo || WHY[skopeo]="skopeo not installed"
	if command -v skopeo >/dev/null; then
		time_pulls skopeo "in_ns skopeo copy -q --src-tls-verify=false 'docker://$ref' 'dir:$work/skopeo-dir'" "rm -rf '$work/skopeo-dir'"
	fi
fi

# ---------------------------------------------------------------- report
echo
printf 'pull of a 5-layer, %s MB (compressed) image from a local registry; median of %d runs\n\n' "$mbytes" "$N"
printf '| engine | what it does | median time | throughput | vs Docker |\n|---|---|---|---|---|\n'
what_berth="download, verify, unpack (overlay2)"
what_docker="download, verify, unpack (overlay2)"
what_skopeo="download, verify (no unpack)"
for e in berth docker skopeo; do
	w=what_$e
	if [[ -n ${T[$e]:-} ]]; then
		mbps=$(awk -v b="$bytes" -v t="${T[$e]}" 'BEGIN {printf "%.1f", b/1e6/t}')
		ratio=—
		[[ -n ${T[docker]:-} ]] && ratio=$(awk -v t="${T[$e]}" -v d="${T[docker]}" 'BEGIN {printf "%.2f×", d/t}')
		printf '| %s | %s | %s s | %s MB/s | %s |\n' "$e" "${!w}" "${T[$e]}" "$mbps" "$ratio"
	else
		printf '| %s | %s | — | — | %s |\n' "$e" "${!w}" "${WHY[$e]:-skipped}"
	fi
done
