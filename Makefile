# baseline: build, test, benchmark and lint.
GO      ?= go
BIN     ?= bin/baseline
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/baselinehq/baseline/internal/version.Version=$(VERSION)

.PHONY: build test test-unit test-env bench lint lint-tools images clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/baseline

# The tests need a real Docker engine and the local test images:
# test-env installs (Debian packages, as root) and starts what is missing.
# Packages run one at a time: the engine tests share one Docker engine.
# BASELINE_UNIT is cleared: the full run never skips a test as a unit run.
test: test-env
	$(GO) vet ./...
	BASELINE_UNIT= CI=$${CI:-} $(GO) test -count=1 -p 1 ./...

# The tests that need no Docker engine, browser or Kubernetes API server,
# in well under a minute: BASELINE_UNIT=1 makes the helpers that provide
# those (internal/dockertest, internal/kubetest, report/htmltest) skip
# their tests without looking, even in CI; tests that need root skip
# unless it runs as root.
test-unit:
	BASELINE_UNIT=1 $(GO) test -count=1 ./...

test-env:
	@bash scripts/test-env.sh

images:
	bash testdata/docker/build-images.sh

# Figures, each printed beside its target: scans at 0, 50 and 200
# containers with 50 images (wall time, CPU time, peak RSS, Engine API
# calls) and the idle daemon's resident set; the store at fleet size
# (10,000 assets x 150 items: ingest, the first start of this version on a
# store of the schema before results were appended, summary, paged lists,
# whitelist), and the SQLite and PostgreSQL stores compared on it; the API
# on that data set (latency percentiles, throughput, idle footprint);
# exports; a cluster scan
# over 5,000 pods, 500 cluster roles and 200 namespaces
# (BASELINE_BENCH_PODS=50000 for a one-off larger run); then the API's
# request authentication fuzzed for 20 seconds.
bench: test-env build
	BASELINE_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 30m ./internal/bench/
	$(GO) test -run '^$$' -bench '(IngestFleet|MigrateFleet)' -benchtime 1x -timeout 30m ./store/sqlite/
	$(GO) test -run '^$$' -bench '(Summary|ItemsPage|ItemAssetsPage|AssetsPage|Whitelist.*)Fleet' -benchtime 20x -timeout 30m ./store/sqlite/
	$(GO) test -run '^$$' -bench 'BackendsIngest' -benchtime 1x -timeout 60m ./store/storetest/
	$(GO) test -run '^$$' -bench 'BackendsQueries' -benchtime 20x -timeout 60m ./store/storetest/
	$(GO) test -run '^$$' -bench 'BackendsOutbox' -benchtime 300x -timeout 30m ./store/storetest/
	$(GO) test -run '^$$' -bench 'APIFleet' -benchtime 1000x -timeout 30m ./server/apitest/
	$(GO) test -run '^$$' -bench 'ForwardPayload' -benchtime 20x -timeout 30m ./api/upstream/
	$(GO) test -run '^$$' -bench 'FleetSimulation' -benchtime 1x -timeout 90m ./server/apitest/
	$(GO) test -run '^$$' -bench 'PagesFleet' -benchtime 20x -timeout 30m ./console/
	$(GO) test -run '^$$' -bench 'Export.*Large' -benchtime 1x -timeout 30m ./report/
	$(GO) test -run '^$$' -bench 'ClusterScan' -benchtime 3x -timeout 30m ./scan/
	$(GO) test -run '^$$' -bench 'RuntimeScan' -benchtime 3x -timeout 30m ./scan/
	$(GO) test -run '^$$' -fuzz '^FuzzAuthenticate$$' -fuzztime 20s ./server/

# golangci-lint holds the shape: the layer order (depguard), duplicates
# (dupl), function size (funlen), doc comments (revive). In CI it must be
# there (.ci/run installs GOLANGCI_LINT_VERSION); elsewhere a missing one is
# said, and gofmt and go vet still run.
GOLANGCI_LINT_VERSION ?= v2.15.0
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1)
	$(GO) vet ./...
	@# Below the runner, nothing links the Docker or Kubernetes clients (the
	@# checks' JSON paths use client-go's standalone jsonpath package only).
	@bad=$$($(GO) list -deps ./results/... ./store/... ./report/... ./api/... | grep -E '^(github.com/docker/|k8s.io/client-go/)' | \
		grep -vxE 'k8s.io/client-go/(util/jsonpath|third_party/forked/golang/template)'); \
	if [ -n "$$bad" ]; then echo "these layers link a Docker or Kubernetes client package:"; echo "$$bad"; exit 1; fi
	@lint=$$(command -v golangci-lint || echo $$($(GO) env GOPATH)/bin/golangci-lint); \
	if [ -x "$$lint" ]; then $$lint run ./...; \
	elif [ -n "$$CI" ]; then echo "golangci-lint is missing (go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION))"; exit 1; \
	else echo "golangci-lint not installed (go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)); ran gofmt and go vet"; fi

lint-tools:
	@lint=$$(command -v golangci-lint || echo $$($(GO) env GOPATH)/bin/golangci-lint); \
	if [ -x "$$lint" ] && $$lint version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%)"; then exit 0; fi; \
	echo "lint-tools: installing golangci-lint $(GOLANGCI_LINT_VERSION)"; \
	GOFLAGS= $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

clean:
	rm -rf bin
