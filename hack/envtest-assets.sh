#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from the Go module proxy (no prebuilt downloads are
# reachable here) into a cache directory outside the repository, and prints
# KUBEBUILDER_ASSETS=<dir> for controller-runtime's envtest. Idempotent: exits at once when the
# binaries exist. The Kubernetes version matches the k8s.io/* modules in go.mod.
#
#   K8S_VERSION   (default: from go.mod's k8s.io/apimachinery, v0.34.4 -> 1.34.4)
#   ETCD_VERSION  (default 3.6.16)
#   ASSETS_DIR    (default ~/.cache/weft/envtest/k8s-<v>_etcd-<v>)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${K8S_VERSION:-}" ]; then
  K8S_VERSION=$(sed -n 's/^[[:space:]]*k8s.io\/apimachinery v0\.\([0-9]*\.[0-9]*\).*/1.\1/p' "$root/go.mod" | head -1)
fi
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
ASSETS_DIR=${ASSETS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/weft/envtest/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}}
BUILD_DIR=${BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/weft/envtest-build}
K8S_MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
STAGING_VERSION="v0.${K8S_VERSION#1.}"

if [ -x "$ASSETS_DIR/kube-apiserver" ] && [ -x "$ASSETS_DIR/etcd" ] && [ -x "$ASSETS_DIR/kubectl" ]; then
  echo "KUBEBUILDER_ASSETS=$ASSETS_DIR"
  exit 0
fi
mkdir -p "$ASSETS_DIR" "$BUILD_DIR"
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod"
tmp=$(mktemp -d "$ASSETS_DIR/.partial.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# kube-apiserver + kubectl: k8s.io/kubernetes points its staging modules at ./staging and
# requires them at v0.0.0, so `go install` refuses; a throwaway module replacing each staging
# module with its published tag resolves cleanly.
k8s_dir="$BUILD_DIR/kubernetes-$K8S_VERSION"
mkdir -p "$k8s_dir"
cd "$k8s_dir"
upstream_gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
upstream_go=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$upstream_gomod")
upstream_godebug=$(sed -n 's/^godebug \(.*\)$/\1/p' "$upstream_gomod")
{
  echo "module weft-envtest-build/kubernetes"
  echo
  echo "go $upstream_go"
  [ -n "$upstream_godebug" ] && { echo; echo "godebug $upstream_godebug"; }
  echo
  echo "replace ("
  grep '=> ./staging/src/' "$upstream_gomod" | awk -v v="$STAGING_VERSION" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} > go.mod
go get "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION" >/dev/null 2>&1
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR -X $pkg.gitTreeState=clean"
done
echo "building kube-apiserver v$K8S_VERSION (about 4-5 minutes cold)" >&2
go build -trimpath -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags "$ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl

# etcd: the server module's root is a package main.
etcd_dir="$BUILD_DIR/etcd-$ETCD_VERSION"
mkdir -p "$etcd_dir"
cd "$etcd_dir"
printf 'module weft-envtest-build/etcd\n\ngo 1.24.0\n' > go.mod
go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null 2>&1
echo "building etcd v$ETCD_VERSION" >&2
go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3

mv "$tmp/kube-apiserver" "$tmp/kubectl" "$tmp/etcd" "$ASSETS_DIR/"
echo "KUBEBUILDER_ASSETS=$ASSETS_DIR"
