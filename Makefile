# siorelay — run `make help` for the targets.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
GO ?= go

# Each part of the tree adds its own targets in mk/<part>.mk and appends the
# names of its test targets to TEST_TARGETS.
TEST_TARGETS :=
# Checks that CI runs besides the tests (`make ci`).
CI_TARGETS :=
include $(sort $(wildcard mk/*.mk))

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | LC_ALL=C sort -t: -k1,1 | awk 'BEGIN {FS = ":.*## "} \
		{ name[NR] = $$1; text[NR] = $$2; if (length($$1) > w) w = length($$1) } \
		END { for (i = 1; i <= NR; i++) printf "  %-" w "s  %s\n", name[i], text[i] }'

# Parts of `make test` that install what the tests need (npm ci, venvs).
TEST_DEPS ?=
GOTESTFLAGS ?= -race -shuffle=on -timeout 15m
FUZZTIME ?= 30s

.PHONY: all ci build install deps test test-go lint fuzz bench run clean
all: test lint ## Run every test and the linters

ci: test ## What CI runs (.ci/run): every test, then the checks of CI_TARGETS (checkgenerate)
	@$(MAKE) --no-print-directory $(CI_TARGETS)

# -buildvcs=auto: the commit goes into the binary (`siorelay version`) when
# this is a git checkout, whatever GOFLAGS says.
build: ## Build bin/siorelay
	$(GO) build -buildvcs=auto -o bin/siorelay ./cmd/siorelay

install: ## Install the siorelay command into $(go env GOPATH)/bin (go install ./cmd/siorelay)
	$(GO) install -buildvcs=auto ./cmd/siorelay
	@bin="$$($(GO) env GOBIN)"; bin="$${bin:-$$($(GO) env GOPATH)/bin}"; \
	case ":$$PATH:" in *":$$bin:"*) echo "installed $$bin/siorelay";; \
	*) echo "installed $$bin/siorelay; $$bin is not on your PATH: export PATH=\"$$bin:\$$PATH\"";; esac

run: ## Run the relay on 127.0.0.1:3000 with its demo chat page and the gRPC EmitterService on 127.0.0.1:50051 (no Redis needed)
	$(GO) run ./cmd/siorelay serve --addr 127.0.0.1:3000 --grpc-addr 127.0.0.1:50051 --demo --demo-chat

.PHONY: test-readme
test-readme: ## Run the README's quickstart lines as written (make run, make install, siorelay emit; needs ports 3000 and 50051)
	$(GO) test -race -count=1 -tags readme -run '^TestREADMEQuickstart$$' -timeout 10m ./cmd/siorelay

TEST_TARGETS += test-readme

deps: $(TEST_DEPS) ## Install what the tests need into the tree (npm ci, venvs)

test: ## Run every test: Go (with -race), Node and Python clients, interop with real Node peers and Redis
	@command -v redis-server >/dev/null || { echo 'redis-server not found: install it with "apt-get install redis-server" (Debian/Ubuntu) or "brew install redis"; .ci/run installs it itself' >&2; exit 1; }
	@command -v node >/dev/null || { echo 'node not found: the interop tests need Node.js 18+ and npm' >&2; exit 1; }
	$(if $(strip $(TEST_DEPS)),@$(MAKE) --no-print-directory $(TEST_DEPS))
	@$(MAKE) --no-print-directory test-go $(TEST_TARGETS)

test-go: ## Run the Go tests only (expects `make test`'s dependencies installed)
	$(GO) test $(GOTESTFLAGS) ./...

lint: ## go vet and gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fuzz: ## Run every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) || exit 1; \
	  done; done

bench: deps-compat ## Go micro-benchmarks (BENCH=regexp, default all; some compare with Node peers)
	$(GO) test ./... -run '^$$' -bench '$(or $(BENCH),.)' -benchmem

clean: ## Remove build output and installed test dependencies
	rm -rf bin .tmp
