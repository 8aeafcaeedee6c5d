#!/usr/bin/env bash
# Installs what weft's tests and lab need, idempotently: Debian packages (FRR, iproute2, the
# user-mode-linux kernel) and Go tools pinned by version into a cache outside the repository.
set -euo pipefail

BIN_DIR=${WEFT_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/weft/bin}
CONTROLLER_GEN_VERSION=v0.19.0
# promtool checks the Helm chart's alerting rules (test/deploy). The module's v0.316.0 is
# Prometheus 3.16.0; it is a tool, not a dependency of weft's go.mod (whose k8s.io modules
# it would move).
PROMTOOL_VERSION=v0.316.0
PROMTOOL_RELEASE=3.16.0

pkgs=(frr frr-pythontools iproute2 iputils-ping iputils-arping ndisc6 tcpdump user-mode-linux kmod nftables gobgpd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$BIN_DIR"
if [ ! -x "$BIN_DIR/controller-gen-$CONTROLLER_GEN_VERSION" ]; then
  echo "building controller-gen $CONTROLLER_GEN_VERSION"
  GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_GEN_VERSION"
  mv "$BIN_DIR/controller-gen" "$BIN_DIR/controller-gen-$CONTROLLER_GEN_VERSION"
fi
ln -sf "controller-gen-$CONTROLLER_GEN_VERSION" "$BIN_DIR/controller-gen"

if [ ! -x "$BIN_DIR/promtool-$PROMTOOL_VERSION" ]; then
  echo "building promtool $PROMTOOL_VERSION (several minutes cold)"
  tmp=$(mktemp -d "$BIN_DIR/.promtool.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go install -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMTOOL_RELEASE" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
  mv "$tmp/promtool" "$BIN_DIR/promtool-$PROMTOOL_VERSION"
fi
ln -sf "promtool-$PROMTOOL_VERSION" "$BIN_DIR/promtool"

# FRR 10: what the image ships and the tests and the lab run by default (WEFT_FRR=8 selects
# Debian 12's FRR 8.4, which stays installed above). FRR 10.7.1, built once from Debian's
# sources into the cache (~6 min cold, seconds when cached; see the script).
"$(dirname "$0")/build-frr10.sh" >/dev/null
