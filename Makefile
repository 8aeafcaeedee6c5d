# weft's build, code generation and tests. `make test` is the one command CI runs (.ci/run);
# it installs what it needs first (hack/install-deps.sh is idempotent).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

BIN_DIR ?= $(HOME)/.cache/weft/bin
CONTROLLER_GEN := $(BIN_DIR)/controller-gen
GO_TEST_FLAGS ?= -count=1 -timeout 30m
FUZZ_TIME ?= 60s
GENERATED := api/v1alpha1/zz_generated.deepcopy.go config/crd/bases \
	config/rbac/controller config/rbac/agent config/webhook/manifests.yaml \
	charts/weft/crds charts/weft/files config/manager/controller.yaml config/manager/agent.yaml

.PHONY: all deps build generate verify-generated vet envtest test unit fuzz bench bench-lab demo clean

all: build

deps:
	@WEFT_BIN_DIR=$(BIN_DIR) hack/install-deps.sh

build:
	go build -o bin/ ./cmd/...

## generate: deepcopy and CRD manifests from the API types (controller-gen).
generate: deps
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	# --- deployment manifests (issue 5): RBAC and webhook configuration from the markers, the
	# --- chart's copies of them and of the CRDs, config/manager rendered from the chart.
	CONTROLLER_GEN=$(CONTROLLER_GEN) WEFT_BIN_DIR=$(BIN_DIR) hack/generate-deploy.sh

## verify-generated: fails when generated files were stale (they are regenerated; commit them).
verify-generated: deps
	@before=$$(find $(GENERATED) -type f | sort | xargs sha256sum); \
	$(MAKE) --no-print-directory generate >/dev/null; \
	after=$$(find $(GENERATED) -type f | sort | xargs sha256sum); \
	if [ "$$before" != "$$after" ]; then \
	  echo "generated files were stale; they have been regenerated: commit them"; \
	  diff <(echo "$$before") <(echo "$$after") || true; exit 1; fi

vet:
	go vet ./...
	@bad=$$(go list ./... | grep -E '/(util|utils|common|helpers)(/|$$)' || true); \
	if [ -n "$$bad" ]; then echo "forbidden package names: $$bad"; exit 1; fi
	@unformatted=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null || true); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

## envtest: kube-apiserver, etcd and kubectl built from Go modules (cached outside the repo).
envtest:
	@hack/envtest-assets.sh

## test: everything, for real: unit and golden tests, FRR (10, and 8.4 for the goldens and
## one L2 lab), kernel (native + UML), the Kubernetes control plane, e2e.
test: deps verify-generated vet envtest
	export KUBEBUILDER_ASSETS=$$(hack/envtest-assets.sh | sed -n 's/^KUBEBUILDER_ASSETS=//p'); \
	CI=$${CI:-} go test $(GO_TEST_FLAGS) ./...
	@# The suite runs FRR 10 (the image's); FRR 8.4 (Debian 12 host mode) gets the golden
	@# files (TestGoldenAcceptedByFRR runs both) and one L2 lab here.
	CI=$${CI:-} WEFT_FRR=8 go test $(GO_TEST_FLAGS) ./test/e2e -run '^(TestL2VNIConnectivity|TestBadResourceIsReportedOthersApply|TestFailingEditKeepsTheLastGoodState)$$'

## unit: the pure packages only (no root, no FRR).
unit:
	go test $(GO_TEST_FLAGS) ./api/... ./internal/plan/... ./internal/ipam/... ./internal/manifest/...

## fuzz: FuzzBuildRender (plan + render) and FuzzParse (the YAML loader) for FUZZ_TIME each,
## then the corpora they built (in GOCACHE) are copied to testdata/fuzz, where `go test`
## replays them and git keeps them: commit them.
fuzz:
	go test ./internal/plan -run '^$$' -fuzz '^FuzzBuildRender$$' -fuzztime $(FUZZ_TIME)
	mkdir -p internal/plan/testdata/fuzz/FuzzBuildRender
	cp -n "$$(go env GOCACHE)/fuzz/github.com/weftnet/weft/internal/plan/FuzzBuildRender/"* \
	  internal/plan/testdata/fuzz/FuzzBuildRender/ 2>/dev/null || true
	@echo "corpus: $$(ls internal/plan/testdata/fuzz/FuzzBuildRender | wc -l) entries in internal/plan/testdata/fuzz/FuzzBuildRender"
	go test ./internal/manifest -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZ_TIME)
	mkdir -p internal/manifest/testdata/fuzz/FuzzParse
	cp -n "$$(go env GOCACHE)/fuzz/github.com/weftnet/weft/internal/manifest/FuzzParse/"* \
	  internal/manifest/testdata/fuzz/FuzzParse/ 2>/dev/null || true
	@echo "corpus: $$(ls internal/manifest/testdata/fuzz/FuzzParse | wc -l) entries in internal/manifest/testdata/fuzz/FuzzParse"

## bench: the core and kernel benchmarks, printing figures.
bench:
	go test -run '^$$' -bench . -benchmem ./internal/plan ./internal/frr ./internal/hostnet

## bench-lab: figures measured in the lab: migration outages (bridged, per announcement,
## migrating back, routed from the external host and across segments, across clusters), dual-tor
## failover with BFD and with the hold timer, agent restart and
## FRR kill -9 loss, the agent programming 1000 L2VNIs on one node and +1 on top.
bench-lab: deps
	CI=$${CI:-} go test -count=1 -timeout 45m -run '^$$' -bench . -benchtime 1x ./test/e2e
	# Routed migrations need VRF (user-mode-linux here): TestL3 moves a workload 5 times each
	# way, TestClusters 5 times each way across two clusters, and they print the outages
	# ("migration outage, …").
	WEFT_MIGRATION_RUNS=5 CI=$${CI:-} go test -count=1 -timeout 60m -v -run '^(TestL3|TestClusters)$$' ./test/e2e

## demo: the README's main command: a real EVPN fabric in network namespaces, scripted checks,
## a results table, and everything removed again.
demo: deps build
	bin/weft lab demo

clean:
	rm -rf bin
