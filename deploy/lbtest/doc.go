// Package lbtest proves that the load-balancer configurations in
// deploy/haproxy and deploy/nginx work in front of several relays: its
// tests run the real haproxy and nginx (Debian packages) with the committed
// files, in front of two `siorelay serve` processes that share one real
// redis-server, and drive stock socket.io-client 4.8.4 clients (Node, from
// clients/compat) through them. Events are sent through a real `siorelay
// emitter` sidecar over gRPC.
//
// The package has no non-test code. Run its tests with
//
//	make deps-compat                      # the pinned Node packages
//	apt-get install -y haproxy nginx redis-server
//	go test -race ./deploy/lbtest/
//
// A missing haproxy, nginx, redis-server, node or node_modules fails the
// tests with a message saying how to install it; nothing is skipped.
//
// What the tests show, for each balancer: clients over long-polling that
// then upgrade to WebSocket, and clients that connect over WebSocket
// directly, land on both relays (each relay answers a FETCH_SOCKETS request
// of the Redis adapter protocol with its own sockets); they receive
// broadcasts and room emits sent through the sidecar; and when one relay is
// stopped with SIGTERM, exactly its clients are disconnected (as many as
// its own /metrics counted), reconnect through the balancer to the other
// relay and receive again (with HAProxy, a stale cookie naming the stopped
// relay is redispatched, and the relay is marked DOWN), rooms being
// joined anew by the application (a gRPC SocketsJoin), as a real backend
// would do on connect.
//
// Concurrency: the tests start their own processes on free loopback ports
// and share nothing but the siorelay binary built once per test binary, so
// they may run in parallel.
package lbtest
