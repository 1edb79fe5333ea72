# The relay's own quick measurements (in-process server, clients in a
# second process of the same test binary). The side-by-side comparison with
# Node is bench/ (mk/bench.mk).

RELAY_CONNS ?= 10000

.PHONY: relay-bench-idle relay-bench-broadcast

relay-bench-idle: ## Relay RSS per idle Socket.IO WebSocket client (RELAY_CONNS, default 10000)
	RELAY_CONNS=$(RELAY_CONNS) $(GO) test ./relay/ -run '^$$' -bench '^BenchmarkIdleSockets$$' -benchtime 1x -v
	NETPOLL_CONNS=$(RELAY_CONNS) $(GO) test ./relay/internal/netpoll/ -run '^$$' -bench '^BenchmarkIdleConns$$' -benchtime 1x -v

relay-bench-broadcast: ## Relay broadcast deliveries/s to RELAY_CONNS WebSocket clients
	RELAY_CONNS=$(RELAY_CONNS) $(GO) test ./relay/ -run '^$$' -bench '^BenchmarkBroadcast$$' -benchtime 1x -v

.PHONY: test-demo
TEST_TARGETS += test-demo

test-demo: deps-compat ## Demo page end to end: headless Chromium loads it with the stock socket.io-client and shows a relay event
	@command -v chromium >/dev/null || { echo 'test-demo: chromium not found: apt-get install -y chromium' >&2; exit 1; }
	$(GO) test -race -tags chromium -count=1 -run '^TestDemoInChromium$$' ./relay/demo/
