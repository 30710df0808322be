# kubectl kestra-tls. `make test` is all a new clone needs: it builds what the tests run (the plugin, and the
# real control plane from the tools modules into bin/) and runs every test.
GO       ?= go
VERSION  ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || cat VERSION)
MODULE   := github.com/kestra-tls/kubectl-kestra-tls
LDFLAGS  := -s -w -X $(MODULE)/internal/cli.Version=$(VERSION)
BIN      := $(CURDIR)/bin
PLUGIN   := $(BIN)/kubectl-kestra_tls
K8S_BINS := $(BIN)/kube-apiserver $(BIN)/etcd $(BIN)/kubectl $(BIN)/kube-controller-manager
CM_BIN   := $(BIN)/cert-manager-controller $(BIN)/acmesolver
KREW_BINS := $(BIN)/krew $(BIN)/validate-krew-manifest
HELM_BIN := $(BIN)/helm
PEBBLE_BIN := $(BIN)/pebble
COMPOSE_BIN := $(BIN)/docker-compose
TRAEFIK_BIN := $(BIN)/traefik
SEALED_BIN := $(BIN)/sealed-secrets-controller
SOPS_BIN := $(BIN)/sops
TRUST_MANAGER_BIN := $(BIN)/trust-manager
KESTRA_SERVER := $(BIN)/kestra-server/kestra-server.jar
# Kestra's images run Temurin 25 (since Kestra 1.3): Kestra's server in the test ground is built and run with it.
TEMURIN  ?= /usr/lib/jvm/temurin-25-jdk-amd64

export KUBEBUILDER_ASSETS := $(BIN)

.PHONY: all build test test-unit lint bench tools demo dist clean fuzz
all: build

build: $(PLUGIN)

# The one binary users install.
$(PLUGIN): $(shell find cmd internal pkg templates -name '*' -type f 2>/dev/null) go.mod go.sum
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(PLUGIN) ./cmd/kubectl-kestra_tls

# The real kube-apiserver, etcd and kubectl, and the real cert-manager controllers with their CRDs, built
# from the Go module proxy by the tools modules under hack/tools (cold ~15 min on 2 cores, warm seconds);
# pebble for the ACME tests.
tools: $(K8S_BINS) $(CM_BIN) $(KREW_BINS) $(HELM_BIN) $(PEBBLE_BIN) $(COMPOSE_BIN) $(TRAEFIK_BIN) $(SEALED_BIN) $(SOPS_BIN) $(TRUST_MANAGER_BIN) $(KESTRA_SERVER)
$(K8S_BINS) &: hack/tools/k8s/go.mod hack/tools/k8s/go.sum hack/build-k8s-tools.sh
	BIN_DIR=$(BIN) hack/build-k8s-tools.sh
$(CM_BIN) &: hack/tools/cert-manager/go.mod hack/tools/cert-manager/go.sum hack/tools/cert-manager/main.go hack/tools/cert-manager/acmesolver/main.go hack/build-cert-manager.sh
	BIN_DIR=$(BIN) hack/build-cert-manager.sh

$(KREW_BINS) &: hack/tools/krew/go.mod hack/tools/krew/go.sum
	cd hack/tools/krew && $(GO) build -o $(BIN)/krew sigs.k8s.io/krew/cmd/krew && $(GO) build -o $(BIN)/validate-krew-manifest sigs.k8s.io/krew/cmd/validate-krew-manifest

# The real Traefik v3, the ingress controller and Gateway API implementation the traffic tests send
# requests through (cold ~8 min on 2 cores).
$(TRAEFIK_BIN): hack/tools/traefik/go.mod hack/tools/traefik/go.sum
	cd hack/tools/traefik && $(GO) build -trimpath -ldflags "-s -w" -o $@ github.com/traefik/traefik/v3/cmd/traefik && \
		mkdir -p $(BIN)/traefik-crds && install -m 0644 "$$($(GO) list -m -f '{{.Dir}}' github.com/traefik/traefik/v3)"/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml $(BIN)/traefik-crds/

# The real helm (v4) that renders and installs the official chart in the chart tests.
$(HELM_BIN): hack/tools/helm/go.mod hack/tools/helm/go.sum
	cd hack/tools/helm && $(GO) build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v4.3.1" -o $@ helm.sh/helm/v4/cmd/helm

# The real Sealed Secrets controller and its CRD, which unseal what `generate --gitops --seal-with` seals in
# the GitOps tests (cold ~1 min).
$(SEALED_BIN): hack/tools/sealed-secrets/go.mod hack/tools/sealed-secrets/go.sum
	cd hack/tools/sealed-secrets && $(GO) build -trimpath -ldflags "-s -w" -o $@ github.com/bitnami-labs/sealed-secrets/cmd/controller && \
		mkdir -p $(BIN)/sealed-secrets-crds && install -m 0644 "$$($(GO) list -m -f '{{.Dir}}' github.com/bitnami-labs/sealed-secrets)"/helm/sealed-secrets/crds/*.yaml $(BIN)/sealed-secrets-crds/

# The real sops CLI (its library is what Flux's kustomize-controller decrypts with), which decrypts what
# `generate --gitops --sops-age` encrypts in the GitOps tests (cold ~2 min).
$(SOPS_BIN): hack/tools/sops/go.mod hack/tools/sops/go.sum
	cd hack/tools/sops && $(GO) build -trimpath -ldflags "-s -w" -o $@ github.com/getsops/sops/v3/cmd/sops

# The real trust-manager and its Bundle CRD, which fill the outbound trust of `generate --trust-manager` in the
# GitOps tests (cold ~2 min).
$(TRUST_MANAGER_BIN): hack/tools/trust-manager/go.mod hack/tools/trust-manager/go.sum
	cd hack/tools/trust-manager && $(GO) build -trimpath -ldflags "-s -w" -o $@ github.com/cert-manager/trust-manager/cmd/trust-manager && \
		mkdir -p $(BIN)/trust-manager-crds && install -m 0644 "$$($(GO) list -m -f '{{.Dir}}' github.com/cert-manager/trust-manager)"/deploy/crds/trust.cert-manager.io_bundles.yaml $(BIN)/trust-manager-crds/

# pebble, Let's Encrypt's ACME test server, that the ACME tests and `make demo MODE=acme` issue from.
$(PEBBLE_BIN): hack/tools/pebble/go.mod hack/tools/pebble/go.sum
	cd hack/tools/pebble && $(GO) build -trimpath -ldflags "-s -w" -o $@ github.com/letsencrypt/pebble/v2/cmd/pebble

# The real docker compose CLI (v5, standalone: `config` needs no Docker engine) that the Compose tests check
# every override with.
$(COMPOSE_BIN): hack/tools/compose/go.mod hack/tools/compose/go.sum
	cd hack/tools/compose && $(GO) build -trimpath -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=v5.6.0" -o $@ github.com/docker/compose/v5/cmd

# Kestra's own server for the test ground: Micronaut 4.10 (micronaut-parent 4.10.8, as Kestra's platform pins
# 4.10) with its Netty HTTP server and management endpoints, from Maven Central into a local repository under
# bin/ (cold ~1 min, warm nothing). Without Temurin 25 it is not built, and the tests that run it say so.
$(KESTRA_SERVER): internal/testutil/kestraserver/pom.xml $(shell find internal/testutil/kestraserver/src -type f 2>/dev/null)
	@if [ ! -x $(TEMURIN)/bin/java ]; then echo "Temurin 25 is missing at $(TEMURIN): Kestra's server for the tests is not built"; exit 0; fi; \
	set -e; rm -rf $(BIN)/kestra-server; \
	cd internal/testutil/kestraserver && JAVA_HOME=$(TEMURIN) mvn -B -q -Dmaven.repo.local=$(BIN)/m2 package dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory=$(BIN)/kestra-server/lib; \
	cp target/kestra-server-1.jar $@

# Release archives for six platforms, checksums, and the krew manifest for $(VERSION) (also copied to ./plugin.yaml).
dist:
	$(GO) run ./hack/dist -version $(VERSION) -out dist
	cp dist/plugin.yaml plugin.yaml

# The whole flow on a local control plane with cert-manager: generate, apply --wait, the Ready certificate.
demo: build tools
	$(GO) run ./hack/demo $(if $(MODE),-mode $(MODE))

# Every benchmark runs once (a check, not a measurement), then every test, then each fuzz target briefly.
test: build tools dist lint
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...
	$(GO) run ./hack/bench -quick
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) fuzz

# Each fuzz target for a number of executions (about 10 s each on a 2-core machine); what it finds lands in
# the package's testdata/fuzz and replays in every later `go test`. Counts, not durations: a duration's
# deadline races the fuzz coordinator's shutdown in Go 1.26 and fails a clean run with a bare "context deadline
# exceeded" (golang/go#75804, fixed in Go 1.27); a count stops without a deadline. FUZZSCALE multiplies them.
FUZZSCALE ?= 1
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzResolve$$' -fuzztime $$((10000 * $(FUZZSCALE)))x ./pkg/values
	$(GO) test -run '^$$' -fuzz '^FuzzFind$$' -fuzztime $$((40000 * $(FUZZSCALE)))x ./pkg/kestra
	$(GO) test -run '^$$' -fuzz '^FuzzParsePEMInput$$' -fuzztime $$((150000 * $(FUZZSCALE)))x ./pkg/generate/pki
	$(GO) test -run '^$$' -fuzz '^FuzzParsePKCS12$$' -fuzztime $$((100000 * $(FUZZSCALE)))x ./pkg/generate/pki

# Unit tests only: no JVM, no control plane.
test-unit:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# In-process figures from Go's benchmark harness, then whole-process and cluster timings (medians of
# repeated runs) into bench-results.md; BENCHMARKS.md reports a run.
bench: build tools
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./pkg/... | tee bench-go.txt
	$(GO) run ./hack/bench -o bench-results.md

clean:
	rm -rf $(BIN) dist
