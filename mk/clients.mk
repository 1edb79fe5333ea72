# Node and Python clients of the gRPC EmitterService (clients/node,
# clients/python). Their tests run against a real stack: the siorelay
# emitter sidecar built from this repo, a redis-server and a Node
# Socket.IO server + socket.io-client clients (clients/compat).

CLIENTS_SIORELAY := .tmp/bin/siorelay
CLIENTS_VENV     := .tmp/venv-python
CLIENTS_PY       := $(CURDIR)/$(CLIENTS_VENV)/bin/python

TEST_TARGETS += test-client-node test-client-python test-client-php

.PHONY: clients-deps-check clients-sidecar test-client-node test-client-python test-client-php \
	generate-clients checkgenerate-clients

clients-deps-check:
	@command -v redis-server >/dev/null || { echo "clients: redis-server not found: apt-get install -y redis-server" >&2; exit 1; }
	@command -v node >/dev/null || { echo "clients: node not found (Node.js >= 18 is needed)" >&2; exit 1; }

clients-sidecar: ## Build the siorelay binary the client tests start (.tmp/bin/siorelay)
	@mkdir -p .tmp/bin
	$(GO) build -o $(CLIENTS_SIORELAY) ./cmd/siorelay

test-client-node: clients-deps-check clients-sidecar deps-compat ## Node client: unit + compat tests (npm ci, node --test)
	cd clients/node && npm ci --no-audit --no-fund
	cd clients/node && SIORELAY_BIN=$(CURDIR)/$(CLIENTS_SIORELAY) npm test

# The PHP client (clients/php) speaks the HTTP API; its tests need php-cli
# with the curl extension and Composer (which installs nothing: the package
# has no dependencies, so no Packagist access is needed).
test-client-php: clients-deps-check clients-sidecar deps-compat ## PHP client: unit + compat tests over the HTTP API (composer install, php tests/run.php)
	@command -v php >/dev/null || { echo "clients: php not found: apt-get install -y php-cli php-curl composer" >&2; exit 1; }
	@php -r 'exit(extension_loaded("curl") ? 0 : 1);' || { echo "clients: PHP's curl extension is missing: apt-get install -y php-curl" >&2; exit 1; }
	@command -v composer >/dev/null || { echo "clients: composer not found: apt-get install -y composer" >&2; exit 1; }
	cd clients/php && COMPOSER_ALLOW_SUPERUSER=1 composer install --no-interaction --no-progress --quiet
	cd clients/php && SIORELAY_BIN=$(CURDIR)/$(CLIENTS_SIORELAY) php tests/run.php

$(CLIENTS_VENV)/.installed: clients/python/pyproject.toml clients/python/constraints.txt
	@command -v python3 >/dev/null || { echo "clients: python3 not found" >&2; exit 1; }
	test -x $(CLIENTS_PY) || python3 -m venv $(CLIENTS_VENV)
	$(CLIENTS_PY) -m pip install --quiet --disable-pip-version-check -c clients/python/constraints.txt -e 'clients/python[test]'
	touch $@

test-client-python: clients-deps-check clients-sidecar deps-compat $(CLIENTS_VENV)/.installed ## Python client: stale-stub check, unit + compat tests (venv, pytest)
	PYTHON=$(CLIENTS_PY) clients/python/scripts/generate.sh --check
	cd clients/python && GRPC_VERBOSITY=ERROR SIORELAY_BIN=$(CURDIR)/$(CLIENTS_SIORELAY) $(CLIENTS_PY) -m pytest -q

generate-clients: $(CLIENTS_VENV)/.installed ## Regenerate the Python client's stubs and the Node client's proto copy
	PYTHON=$(CLIENTS_PY) clients/python/scripts/generate.sh
	node clients/node/scripts/sync-proto.js

checkgenerate-clients: $(CLIENTS_VENV)/.installed ## Fail if the clients' stubs / proto copy are stale
	PYTHON=$(CLIENTS_PY) clients/python/scripts/generate.sh --check
	node clients/node/scripts/sync-proto.js --check

.PHONY: bench-clients
bench-clients: clients-deps-check clients-sidecar $(CLIENTS_VENV)/.installed ## Client throughput through the real sidecar into Redis (Node, then Python)
	cd clients/node && npm ci --no-audit --no-fund
	cd clients/node && SIORELAY_BIN=$(CURDIR)/$(CLIENTS_SIORELAY) node scripts/bench.js $(or $(BENCH_SECONDS),5)
	cd clients/python && SIORELAY_BIN=$(CURDIR)/$(CLIENTS_SIORELAY) $(CLIENTS_PY) scripts/bench.py $(or $(BENCH_SECONDS),5)
