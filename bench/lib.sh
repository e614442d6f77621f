# bench/lib.sh — what the side-by-side benchmark scripts share: logging,
# timing, and ending and removing exactly what a run started (processes by
# the run's unique roots, its cgroups, mounts, work dir, and berth's bridge
# and nftables table by the run's own prefix). Sourced, not run.

log() { printf '  %s\n' "$*" >&2; }
now_ns() { date +%s%N; }

# net_prefix names berth's host objects for this run (its daemon gets
# --net-prefix "$net_prefix" --bridge "${net_prefix}0"), so nothing of the
# host's is touched and net_cleanup removes all of it.
net_prefix=berthb$(printf '%04x' $((RANDOM % 65536)))

# net_cleanup: delete the links and nftables table named by net_prefix.
net_cleanup() {
	local l
	for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$net_prefix"); do ip link del "$l" 2>/dev/null; done
	nft delete table ip "$net_prefix" 2>/dev/null
}

# stop_pid PID TENTHS: SIGTERM PID and wait up to TENTHS tenths of a second.
stop_pid() {
	[[ -n $1 ]] || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 "$2"); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
}

# pids_matching STR: processes whose argv mentions STR (our unique roots).
pids_matching() {
	local p
	for p in /proc/[0-9]*; do
		[[ ${p#/proc/} == "$$" || ${p#/proc/} == "$BASHPID" ]] && continue
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "$1" && echo "${p#/proc/}"
	done
}

# rss_kb PID...: summed VmRSS in kB.
rss_kb() {
	local sum=0 p v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# kill_matching STR: SIGKILL every process whose argv mentions STR.
kill_matching() {
	local i pids
	for i in 1 2 3 4 5; do
		pids=$(pids_matching "$1")
		[[ -z $pids ]] && return 0
		kill -KILL $pids 2>/dev/null
		sleep 0.2
	done
}

# cgroup_cleanup NAME: kill what is in cgroups named NAME and remove them.
cgroup_cleanup() {
	local dirs d pids
	dirs=$(find /sys/fs/cgroup -mindepth 1 -type d -name "$1" 2>/dev/null)
	[[ -z $dirs ]] && return 0
	for d in $dirs; do
		pids=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
		[[ -n $pids ]] && kill -KILL $pids 2>/dev/null
	done
	sleep 0.2
	for d in $dirs; do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}

# unmount_under DIR: detach every mount at or below DIR, deepest first.
unmount_under() {
	local i m
	for i in 1 2 3 4 5; do
		m=$(awk -v d="$1" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
		[[ -z $m ]] && return 0
		while read -r p; do umount -l "$p" 2>/dev/null; done <<<"$m"
	done
}

# remove_work DIR: unmount what is below DIR, then remove it, never
# recursing through a mount that would not let go.
remove_work() {
	unmount_under "$1"
	if awk -v d="$1" 'index($5, d) == 1 {f=1} END {exit !f}' /proc/self/mountinfo; then
		echo "not removing $1: mounts remain" >&2
	else
		rm -rf "$1"
	fi
}
