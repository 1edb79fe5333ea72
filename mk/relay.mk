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

# python-socketio's client driven by relay tests with hooks (acks and binary
# both ways). It reuses the venv of mk/conformance.mk (test-pyclient), whose
# clients/pyclient/requirements.txt pins python-socketio 5.18.1.
.PHONY: test-python-client
TEST_TARGETS += test-python-client

test-python-client: $(PYCLIENT_VENV)/.installed ## python-socketio's client against the embedded relay API (websocket, polling, upgrade)
	PYCLIENT_PYTHON=$(PYCLIENT_PY) $(GO) test -race -tags python -count=1 -run '^TestPythonClient$$' ./relay/
