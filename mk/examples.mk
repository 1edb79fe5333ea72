# Example backends (clients/examples): a Python chat backend over the gRPC
# hook and a Node one over the HTTP hook, each driven by real
# socket.io-client 4.8.4 clients (clients/examples/test) against a real
# `siorelay serve --hook`.

EXAMPLES_DIR    := clients/examples
EXAMPLES_BIN    := .tmp/bin/siorelay-examples
EXAMPLES_VENV   := .tmp/venv-examples
EXAMPLES_PY     := $(CURDIR)/$(EXAMPLES_VENV)/bin/python

TEST_TARGETS += test-example-python-grpc test-example-node-http

.PHONY: examples-deps-check examples-relay examples-test-deps test-example-python-grpc test-example-node-http

examples-deps-check:
	@command -v node >/dev/null || { echo "examples: node not found (Node.js >= 18 with npm is needed)" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "examples: npm not found (Node.js >= 18 with npm is needed)" >&2; exit 1; }

examples-relay:
	@mkdir -p .tmp/bin
	$(GO) build -o $(EXAMPLES_BIN) ./cmd/siorelay

# The test driver's pinned socket.io-client (npm ci from its lockfile).
examples-test-deps: examples-deps-check
	cd $(EXAMPLES_DIR)/test && npm ci --no-audit --no-fund

# The Python example's venv: the siorelay package (clients/python: grpcio,
# protobuf and the generated stubs) at the versions of its constraints.
$(EXAMPLES_VENV)/.installed: clients/python/pyproject.toml clients/python/constraints.txt $(wildcard clients/python/src/siorelay/*.py clients/python/src/siorelay/v1/*.py)
	@command -v python3 >/dev/null || { echo "examples: python3 not found (Python 3.10+ with venv is needed)" >&2; exit 1; }
	test -x $(EXAMPLES_PY) || python3 -m venv $(EXAMPLES_VENV)
	$(EXAMPLES_PY) -m pip install --quiet --disable-pip-version-check -c clients/python/constraints.txt ./clients/python
	touch $@

test-example-python-grpc: examples-test-deps examples-relay $(EXAMPLES_VENV)/.installed ## Python chat backend (gRPC hook) behind siorelay serve, driven by socket.io-client
	cd $(EXAMPLES_DIR)/test && SIORELAY_BIN=$(CURDIR)/$(EXAMPLES_BIN) EXAMPLES_PYTHON=$(EXAMPLES_PY) \
		node --test --test-concurrency=1 python-grpc-chat.test.js

test-example-node-http: examples-test-deps examples-relay ## Node chat backend (HTTP hook, node:http) behind siorelay serve, driven by socket.io-client
	cd $(EXAMPLES_DIR)/node-http-chat && npm ci --no-audit --no-fund
	cd $(EXAMPLES_DIR)/test && SIORELAY_BIN=$(CURDIR)/$(EXAMPLES_BIN) node --test --test-concurrency=1 node-http-chat.test.js
