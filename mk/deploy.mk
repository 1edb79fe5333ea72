# deploy/: the Dockerfile, Kubernetes manifests and load-balancer
# configurations, and their tests (deploy/README.md). Those tests are plain
# Go tests, so `make test` already runs them within `go test ./...`; this
# target runs just them, with what they need checked first. deploy/lbtest
# runs the real haproxy and nginx (Debian packages) and redis-server, and
# the pinned socket.io-client of clients/compat (deps-compat, mk/compat.mk).

.PHONY: test-lb
test-lb: deps-compat ## Run the deploy/ tests only: Dockerfile, manifests, HAProxy and nginx end to end
	@for tool in haproxy nginx redis-server; do \
		command -v $$tool >/dev/null || [ -x /usr/sbin/$$tool ] || { echo "test-lb: $$tool not found: apt-get install -y $$tool" >&2; exit 1; }; \
	done
	$(GO) test $(GOTESTFLAGS) -count=1 ./deploy/...
