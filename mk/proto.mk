# gRPC API: code generation from proto/ with pinned tools (no system protoc).
# Tools are built with `go install` through the Go module proxy into .tmp/bin
# and kept there; each binary's name carries its version, so bumping a
# version below rebuilds it.

BUF_VERSION                ?= v1.75.0
PROTOC_GEN_GO_GRPC_VERSION ?= v1.6.2
# protoc-gen-go follows the google.golang.org/protobuf version in go.mod.
PROTOC_GEN_GO_VERSION      := $(shell $(GO) list -m -f '{{.Version}}' google.golang.org/protobuf 2>/dev/null)

PROTO_BIN := $(CURDIR)/.tmp/bin
BUF       := $(PROTO_BIN)/buf-$(BUF_VERSION)
PROTO_GO  := $(PROTO_BIN)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION)
PROTO_GRPC:= $(PROTO_BIN)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)
# buf runs local plugins by name from PATH; this directory holds them under
# their plain names, linked to the versioned binaries.
PROTO_PLUGIN_DIR := $(CURDIR)/.tmp/protoc-plugins

# go install NAME MODULE@VERSION into .tmp/bin as NAME-VERSION.
define proto_install
	@mkdir -p $(PROTO_BIN)/.build
	@echo "installing $(2)@$(3)"
	GOBIN=$(PROTO_BIN)/.build $(GO) install $(2)@$(3)
	mv $(PROTO_BIN)/.build/$(1) $@
endef

$(BUF):
	$(call proto_install,buf,github.com/bufbuild/buf/cmd/buf,$(BUF_VERSION))

$(PROTO_GO):
	@test -n "$(PROTOC_GEN_GO_VERSION)" || { echo "cannot read google.golang.org/protobuf version from go.mod" >&2; exit 1; }
	$(call proto_install,protoc-gen-go,google.golang.org/protobuf/cmd/protoc-gen-go,$(PROTOC_GEN_GO_VERSION))

$(PROTO_GRPC):
	$(call proto_install,protoc-gen-go-grpc,google.golang.org/grpc/cmd/protoc-gen-go-grpc,$(PROTOC_GEN_GO_GRPC_VERSION))

.PHONY: proto-tools
proto-tools: $(BUF) $(PROTO_GO) $(PROTO_GRPC) ## Install the pinned buf and protoc plugins into .tmp/bin
	@mkdir -p $(PROTO_PLUGIN_DIR)
	@ln -sf $(PROTO_GO) $(PROTO_PLUGIN_DIR)/protoc-gen-go
	@ln -sf $(PROTO_GRPC) $(PROTO_PLUGIN_DIR)/protoc-gen-go-grpc

.PHONY: generate
generate: proto-tools ## Regenerate internal/gen from proto/ (buf generate)
	PATH="$(PROTO_PLUGIN_DIR):$$PATH" $(BUF) generate

.PHONY: checkgenerate
checkgenerate: generate ## Fail if the committed generated code or proto/ differs from a fresh `make generate`
	@out="$$(git status --porcelain -- internal/gen proto)"; \
	if [ -n "$$out" ]; then \
		echo "generated code is stale or proto/ has uncommitted changes; run 'make generate' and commit:" >&2; \
		echo "$$out" >&2; git diff --stat -- internal/gen proto >&2; exit 1; \
	fi

.PHONY: lint-proto
lint-proto: $(BUF) ## Lint proto/ (buf lint, buf format)
	$(BUF) lint
	$(BUF) format -d --exit-code

.PHONY: breaking-proto
breaking-proto: $(BUF) ## Check proto/ for breaking changes against main (BREAKING_AGAINST to override)
	$(BUF) breaking --against '$(or $(BREAKING_AGAINST),.git#branch=main)'

# Not part of `make test`: buf and the plugins (about 85 MB, and about
# 400 MB of Go modules on a fresh machine) check the generated code, which
# no test needs. CI runs it (`make ci`).
CI_TARGETS += checkgenerate

GRPCURL_VERSION ?= v1.9.3
GRPCURL         := $(PROTO_BIN)/grpcurl-$(GRPCURL_VERSION)

$(GRPCURL):
	$(call proto_install,grpcurl,github.com/fullstorydev/grpcurl/cmd/grpcurl,$(GRPCURL_VERSION))

.PHONY: test-grpcurl
test-grpcurl: $(GRPCURL) ## Run the README's grpcurl commands against the sidecar (pinned grpcurl)
	@command -v redis-server >/dev/null || { echo "test-grpcurl: redis-server not found (apt-get install -y redis-server)" >&2; exit 1; }
	SIORELAY_GRPCURL=$(GRPCURL) $(GO) test -count=1 -run '^TestGRPCurl(Queries)?$$' ./cmd/siorelay

TEST_TARGETS += test-grpcurl

.PHONY: bench-grpc
bench-grpc: ## Benchmark the EmitterService (unary, batch, stream) against the Go emitter, Redis as sink
	@command -v redis-server >/dev/null || { echo "bench-grpc: redis-server not found (apt-get install -y redis-server)" >&2; exit 1; }
	$(GO) run ./bench/grpc $(BENCH_GRPC_FLAGS)
