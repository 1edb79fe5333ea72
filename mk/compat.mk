# clients/compat: the pinned Node packages (socket.io 4.8.4, socket.io-client
# 4.8.4, @socket.io/redis-adapter 8.3.0, @socket.io/redis-emitter 5.1.0,
# redis 4.7.1) that internal/nodetest drives in Go tests. Installed with
# `npm ci` from the committed lockfile, only when node_modules is missing or
# older than package.json/package-lock.json.

COMPAT_DIR   := clients/compat
COMPAT_STAMP := $(COMPAT_DIR)/node_modules/.deps-compat.stamp

TEST_DEPS += deps-compat

.PHONY: deps-compat
deps-compat: $(COMPAT_STAMP) ## Install clients/compat's pinned Node packages (npm ci from its lockfile)

$(COMPAT_STAMP): $(COMPAT_DIR)/package.json $(COMPAT_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo 'deps-compat: npm not found: install Node.js 18+ with npm (Debian: apt-get install -y nodejs npm)' >&2; exit 1; }
	npm ci --prefix $(COMPAT_DIR) --no-audit --no-fund
	@touch $@
