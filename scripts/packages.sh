#!/usr/bin/env bash
# Installs the Debian packages berth's build and tests need; shared by
# .ci/run and scripts/setup.sh so there is one list.
#   busybox-static: the offline busybox image (tests, set-up, bench)
#   libseccomp-dev, pkg-config: the seccomp build tag (cgo)
#   gcc, libc6-dev: cgo (libcontainer's nsenter)
#   iproute2, nftables: ip/nft to inspect what berth sets up; ip netns for the bench
#   procps: ps, for the bench
#   docker-registry: CNCF distribution, the local registries the pull/push tests start
#     (its packaged service, if started, listens on :5000; tests use their own free ports)
#   iptables: berth's firewall fallback where nf_tables is missing (and its test)
set -euo pipefail

BERTH_PACKAGES=(busybox-static libseccomp-dev pkg-config gcc libc6-dev iproute2 nftables ca-certificates procps docker-registry)
BERTH_PACKAGES+=(skopeo) # skopeo: docker-archive/OCI interop tests of save and load
BERTH_PACKAGES+=(iptables)

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${BERTH_PACKAGES[@]}" >/dev/null
