#!/usr/bin/env bash
# Runs one package's tests entirely inside a user-mode-linux guest (host / as a read-only
# root, modules vrf/8021q/dummy/bridge/vxlan/veth loaded), e.g.
#   hack/uml-test.sh ./internal/hostnet -test.run TestL3VNI -test.v
# Plain `go test ./...` does not need this: tests that need VRF re-run themselves in UML.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=${1:?usage: hack/uml-test.sh ./path/to/package [test flags]}
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/umlrun" ./hack/umlrun
go test -c -o "$tmp/pkg.test" "$pkg"
"$tmp/umlrun" -dir "$pkg" -- "$tmp/pkg.test" "$@"
