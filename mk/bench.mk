# Load benchmarks: bench/loadgen against the relay and the Node baseline,
# side by side in one run (method and results: bench/README.md).
# Never part of `make test`; `go test ./bench/...` (inside `go test ./...`)
# only checks the load generator's own encoding and client.

BENCH_OUT      ?= .tmp/bench
BENCH_TARGETS  ?= node,relay
# How the driver starts the relay; {addr} {grpc} {redis} are filled in, and
# only a command line with {redis} gets the broadcast and rooms scenarios.
# Default: bench/relayhost, which embeds relay.NewServer, bridges Redis
# broadcasts into Server.Emit and forces GC on /bench/gc. Once
# `siorelay serve` subscribes to Redis itself, use e.g.
#   RELAY_BIN=.tmp/bin/siorelay RELAY_ARGS='serve --addr {addr} --grpc-addr {grpc} --redis {redis}'
RELAY_BIN      ?= .tmp/bin/relayhost
RELAY_ARGS     ?= -addr {addr} -redis {redis}
# URL template the relay answers with a forced GC ({addr}); empty = settle only.
RELAY_GC_URL   ?= http://{addr}/bench/gc
BENCH_ARGS     ?=
# Priority of everything the benchmark starts (nice -n; negative needs root).
# The development machines are shared with other jobs; a negative value keeps
# their CPU use from deciding the figures. Empty = inherit.
BENCH_NICE     ?= -10
BENCH_STAMP    := $(shell date -u +%Y%m%dT%H%M%SZ)

.PHONY: bench-deps bench-build bench-quick bench-relay bench-pinned bench-memory

bench-deps: ## Install the Node baseline's pinned packages (npm ci in bench/node)
	@command -v redis-server >/dev/null || { echo "bench: redis-server not found (apt-get install -y redis-server)" >&2; exit 1; }
	@command -v node >/dev/null || { echo "bench: node not found" >&2; exit 1; }
	@if [ ! -d bench/node/node_modules ] || [ bench/node/package-lock.json -nt bench/node/node_modules ]; then \
		cd bench/node && npm ci --no-audit --no-fund && touch node_modules; fi

bench-build: ## Build the load generator, bench/relayhost and siorelay into .tmp/bin
	@mkdir -p .tmp/bin $(BENCH_OUT)
	$(GO) build -o .tmp/bin/loadgen ./bench/loadgen
	$(GO) build -o .tmp/bin/relayhost ./bench/relayhost
	$(GO) build -o .tmp/bin/siorelay ./cmd/siorelay

BENCH_NICE_CMD := $(if $(BENCH_NICE),nice -n $(BENCH_NICE))

define bench_compare
$(BENCH_NICE_CMD) .tmp/bin/loadgen compare -targets $(BENCH_TARGETS) -relay-bin $(RELAY_BIN) \
	-relay-args '$(RELAY_ARGS)' -relay-gc-url '$(RELAY_GC_URL)'
endef

bench-quick: bench-deps bench-build ## Short side-by-side run (~2 min): idle 2k, broadcast 2k @ 20k/s, ABAB x2
	$(bench_compare) -reps 2 -idle 2000 -broadcast 2000:20000 -hold 5s -duration 5s -warmup 2s -quiet-wait 5s \
		-out $(BENCH_OUT)/quick-$(BENCH_STAMP).jsonl $(BENCH_ARGS) | tee $(BENCH_OUT)/quick-$(BENCH_STAMP).md

bench-relay: bench-deps bench-build ## Full side-by-side run (~50 min): idle 1k/5k/10k; broadcast 2k, 10k at 100k/s, half of Node's max and 400k/s; rooms of one
	$(bench_compare) -reps 3 -idle 1000,5000,10000 -broadcast 2000:40000,10000:100000,10000:half,10000:400000 \
		-rooms 10000:20000 -hold 30s -duration 30s -warmup 10s -quiet-wait 10s \
		-out $(BENCH_OUT)/relay-$(BENCH_STAMP).jsonl $(BENCH_ARGS) | tee $(BENCH_OUT)/relay-$(BENCH_STAMP).md

bench-memory: bench-deps bench-build ## Idle RSS per connection as users run both servers (siorelay serve, node server.js, no forced GC): 5k/10k, alone and with --redis, 2 s and 20 s after the last connect, alternating x5 (~25 min)
	$(BENCH_NICE_CMD) .tmp/bin/loadgen memory -targets $(BENCH_TARGETS) -relay-bin .tmp/bin/siorelay -relay-args 'serve --addr {addr}' \
		-n 5000,10000 -modes plain,redis -settle 2s,20s -reps 5 \
		-out $(BENCH_OUT)/memory-$(BENCH_STAMP).jsonl $(BENCH_ARGS) | tee $(BENCH_OUT)/memory-$(BENCH_STAMP).md

bench-pinned: bench-deps bench-build ## Per-core efficiency: servers on CPU 1, loadgen + Redis on CPU 0 (taskset)
	taskset -c 0 $(bench_compare) -server-cpus 1 -redis-cpus 0 -reps 3 -idle '' \
		-broadcast 2000:40000,10000:100000 -duration 30s -warmup 10s -quiet-wait 10s \
		-out $(BENCH_OUT)/pinned-$(BENCH_STAMP).jsonl $(BENCH_ARGS) | tee $(BENCH_OUT)/pinned-$(BENCH_STAMP).md

.PHONY: test-bench-node
test-bench-node: bench-deps ## Check the load generator against the real Node baseline (counts only, no timing)
	$(GO) test -race -count=1 -tags nodebench -run TestAgainstNodeBaseline ./bench/loadgen

TEST_TARGETS += test-bench-node

.PHONY: bench-floor
bench-floor: ## The machine's floor for broadcast latency: a bare writer's write(2) to 10k loopback sockets, read as the load generator reads (FLOOR_ARGS)
	$(GO) build -o .tmp/bin/floor ./bench/floor
	.tmp/bin/floor $(FLOOR_ARGS)

.PHONY: bench-queries
bench-queries: bench-deps bench-build ## FetchSockets (2 relays x 10k clients) and EmitWithAck (1k clients) latency beside Node's, same cluster (QUERIES_ARGS)
	$(BENCH_NICE_CMD) .tmp/bin/loadgen queries -siorelay .tmp/bin/siorelay $(QUERIES_ARGS) \
		-out $(BENCH_OUT)/queries-$(BENCH_STAMP).jsonl | tee $(BENCH_OUT)/queries-$(BENCH_STAMP).md
