# Conformance beyond the Go tests: python-socketio's client against the
# relay (clients/pyclient), the demo page in headless Chromium
# (internal/demo/e2e), and the public protocol suites (scripts/protocol-suites,
# by hand: CI cannot fetch them). The Go ports of the suites
# (internal/conformance) run in `go test ./...`.

PYCLIENT_VENV := .tmp/venv-pyclient
PYCLIENT_PY   := $(CURDIR)/$(PYCLIENT_VENV)/bin/python
PYCLIENT_BIN  := .tmp/bin/siorelay-pyclient
DEMO_E2E_DIR  := internal/demo/e2e
DEMO_E2E_BIN  := .tmp/bin/siorelay-demo-e2e

TEST_TARGETS += test-pyclient test-demo-e2e

.PHONY: test-pyclient test-demo-e2e protocol-suites protocol-diff

$(PYCLIENT_VENV)/.installed: clients/pyclient/requirements.txt
	@command -v python3 >/dev/null || { echo 'test-pyclient: python3 not found (Python 3.10+ with venv is needed)' >&2; exit 1; }
	test -x $(PYCLIENT_PY) || python3 -m venv $(PYCLIENT_VENV)
	$(PYCLIENT_PY) -m pip install --quiet --disable-pip-version-check -r clients/pyclient/requirements.txt
	touch $@

test-pyclient: $(PYCLIENT_VENV)/.installed ## python-socketio's client against siorelay serve (websocket, polling, upgrade; venv + pinned deps)
	@mkdir -p .tmp/bin
	$(GO) build -o $(PYCLIENT_BIN) ./cmd/siorelay
	cd clients/pyclient && SIORELAY_BIN=$(CURDIR)/$(PYCLIENT_BIN) $(PYCLIENT_PY) -m pytest -q -rxX

test-demo-e2e: ## The demo page in headless Chromium (Debian package chromium): an event sent over gRPC appears on the page
	@test -x /usr/bin/chromium || { echo 'test-demo-e2e: /usr/bin/chromium not found: apt-get install -y chromium' >&2; exit 1; }
	@command -v npm >/dev/null || { echo 'test-demo-e2e: npm not found (Node.js 18+ with npm is needed)' >&2; exit 1; }
	@mkdir -p .tmp/bin
	$(GO) build -o $(DEMO_E2E_BIN) ./cmd/siorelay
	cd $(DEMO_E2E_DIR) && npm ci --no-audit --no-fund
	cd $(DEMO_E2E_DIR) && SIORELAY_BIN=$(CURDIR)/$(DEMO_E2E_BIN) SCREENSHOT_DIR=$(CURDIR)/.tmp/demo-e2e npm test

protocol-suites: ## Public engine.io/socket.io protocol suites against the relay (EIO_SUITE=… SIO_SUITE=… [SERVER=hooks [HOOK=http]|echo] [RUNS=N]; see scripts/protocol-suites)
	scripts/protocol-suites/run.sh

protocol-diff: deps-compat ## Same raw exchanges against Node socket.io 4.8.4 and the relay (echo hooks), diffed
	scripts/protocol-suites/differential/run.sh
