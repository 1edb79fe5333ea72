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

PYCLIENT_VENV := .tmp/pyclient
PYCLIENT_PKG  := python-socketio[client]==5.18.1

.PHONY: test-python-client
TEST_TARGETS += test-python-client

$(PYCLIENT_VENV)/.installed:
	@command -v python3 >/dev/null || { echo 'test-python-client: python3 not found (apt-get install -y python3 python3-venv)' >&2; exit 1; }
	python3 -m venv $(PYCLIENT_VENV)
	$(PYCLIENT_VENV)/bin/pip install --quiet '$(PYCLIENT_PKG)'
	@touch $@

test-python-client: $(PYCLIENT_VENV)/.installed ## python-socketio's client against the relay over websocket, polling and upgrade
	PYCLIENT_PYTHON=$(CURDIR)/$(PYCLIENT_VENV)/bin/python $(GO) test -race -tags python -count=1 -run '^TestPythonClient$$' ./relay/
