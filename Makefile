# secretbridge — build, generate, verify and test.
# `make test` builds the real test servers into bin/ first (cached outside the
# checkout; a cold build takes 10–15 minutes, a warm one seconds).

SHELL := /usr/bin/env bash -o pipefail
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/secretbridge/secretbridge/internal/version.Version=$(VERSION)
TEST_FLAGS ?= -race -count=1 -timeout 30m
CRD_DIR := config/crd/bases

.PHONY: all build generate verify tools test demo image bench clean

all: build

build: ## Build bin/secretbridge (also usable as kubectl-secretbridge).
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/secretbridge ./cmd/secretbridge
	ln -sf secretbridge bin/kubectl-secretbridge

generate: ## Regenerate deepcopy code, the CRDs and RBAC, and the Helm chart's copies of them and its values table.
	$(GO) tool controller-gen object paths=./api/...
	rm -rf $(CRD_DIR) && mkdir -p $(CRD_DIR)
	$(GO) tool controller-gen crd paths=./api/... output:crd:artifacts:config=$(CRD_DIR)
	$(GO) run ./hack/crdversions $(CRD_DIR)
	$(GO) tool controller-gen rbac:roleName=secretbridge-controller paths=./internal/... output:rbac:artifacts:config=config/rbac
	$(GO) run ./hack/chartsync

verify: generate ## Regenerate, lint, and fail on any diff or finding.
	@stale=$$(git status --porcelain -- api config charts); [ -z "$$stale" ] || { echo "generated files differ from the commit; run 'make generate' and commit:" >&2; echo "$$stale" >&2; exit 1; }
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "not gofmt-formatted:" >&2; echo "$$out" >&2; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff

tools: ## Build kube-apiserver, kube-controller-manager, kubectl, etcd, vault and helm into bin/.
	hack/build-tools.sh

test: tools ## Run every test against the real API server and Vault.
	$(GO) test $(TEST_FLAGS) ./...

bench: tools ## Scale benchmark (N=100, 1000, 5000; about 15 minutes): appends to docs/benchmarks.md, plots in docs/benchmarks/ (BENCH_FLAGS=-h lists options).
	$(GO) run ./hack/bench $(BENCH_FLAGS)

demo: tools build ## Run the article's scenario on local real servers; Ctrl-C stops and cleans up (DEMO_EXIT_AFTER_ROTATION=1: stop after the rotation).
	$(GO) run ./hack/demo

IMAGE ?= ghcr.io/secretbridge/secretbridge:$(VERSION)
CONTAINER_ENGINE ?= $(shell command -v docker 2>/dev/null || command -v podman 2>/dev/null)
image: ## Build the controller image (docker or podman; PLATFORMS=linux/amd64,linux/arm64 for multi-arch with buildx).
	@[ -n "$(CONTAINER_ENGINE)" ] || { echo "make image needs docker or podman (none found); set CONTAINER_ENGINE" >&2; exit 1; }
	$(CONTAINER_ENGINE) build $(if $(PLATFORMS),--platform $(PLATFORMS)) --build-arg VERSION=$(VERSION) -t $(IMAGE) .

clean:
	rm -rf bin dist
