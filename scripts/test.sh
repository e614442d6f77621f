#!/usr/bin/env bash
# berth's whole test suite: vet, then unit tests (with the race detector
# where the package does not drive the kernel), then the root integration
# tests one package at a time (they share the kernel: mounts, cgroups,
# netns, nftables). Run as root for the full suite; non-root skips the
# root-only tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

# On a fresh machine the test command alone must be enough: install what is
# missing (a no-op when everything is there).
if [[ $(id -u) == 0 ]] && ! dpkg -s busybox-static libseccomp-dev pkg-config gcc >/dev/null 2>&1; then
	bash scripts/packages.sh
fi

tags=()
if pkg-config --exists libseccomp 2>/dev/null; then
	tags=(-tags seccomp)
fi

echo "== go vet"
go vet "${tags[@]}" ./...

# Packages that start containers, mount or touch network namespaces: no
# -race (it slows libcontainer's re-exec paths several-fold), one at a time.
kernel_re='/(integration|cmd/berth|internal/(runtime|shim|network|storage|volume|daemon|builder))(/|$)'
mapfile -t all < <(go list ./...)
race=() kernel=()
for p in "${all[@]}"; do
	if [[ $p =~ $kernel_re ]]; then kernel+=("$p"); else race+=("$p"); fi
done

status=0
if ((${#race[@]})); then
	echo "== go test -race (unit packages)"
	go test "${tags[@]}" -race -count=1 -timeout 20m "${race[@]}" || status=1
fi
if ((${#kernel[@]})); then
	echo "== go test -p 1 (packages that drive the kernel)"
	go test "${tags[@]}" -count=1 -timeout 40m -p 1 "${kernel[@]}" || status=1
fi
exit $status
