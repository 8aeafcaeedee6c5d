#!/usr/bin/env bash
# Installs what weft's tests and lab need, idempotently: Debian packages (FRR, iproute2, the
# user-mode-linux kernel) and Go tools pinned by version into a cache outside the repository.
set -euo pipefail

BIN_DIR=${WEFT_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/weft/bin}
CONTROLLER_GEN_VERSION=v0.19.0

pkgs=(frr frr-pythontools iproute2 iputils-ping iputils-arping ndisc6 tcpdump user-mode-linux kmod)
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
