#!/usr/bin/env bash
# Builds helm from its Go module (no prebuilt downloads are reachable here) into a cache
# outside the repository and prints HELM=<path>. Idempotent: exits at once when the pinned
# version is already built.
#
#   HELM_VERSION  (default v3.22.0)
#   WEFT_BIN_DIR  (default ~/.cache/weft/bin)
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v3.22.0}
BIN_DIR=${WEFT_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/weft/bin}
target="$BIN_DIR/helm-$HELM_VERSION"

if [ ! -x "$target" ]; then
  mkdir -p "$BIN_DIR"
  tmp=$(mktemp -d "$BIN_DIR/.helm.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "building helm $HELM_VERSION (a few minutes cold)" >&2
  # The version is stamped the way helm's own release build does, so `helm version` is honest.
  GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv "$tmp/helm" "$target"
fi
ln -sf "helm-$HELM_VERSION" "$BIN_DIR/helm"
echo "HELM=$BIN_DIR/helm"
