// Package deploy holds what it takes to run siorelay in production, and the
// tests that keep it true to the binary:
//
//   - Dockerfile: a multi-stage build of a static siorelay binary into a
//     distroless image that runs as a non-root user (with the repository's
//     .dockerignore as the build context's filter);
//   - k8s/: Kubernetes manifests for the relay as its own Deployment,
//     Service, Ingress and PodDisruptionBudget, and for an app Deployment
//     with the emitter as a native sidecar (kubectl apply -k deploy/k8s);
//   - haproxy/ and nginx/: load-balancer configurations for several relays,
//     tested end to end with the real balancers by package
//     [github.com/siorelay/siorelay/deploy/lbtest].
//
// README.md in this directory says how to use each piece.
//
// The package has no non-test code. Its tests build cmd/siorelay with the
// Dockerfile's own `go build` command and check that the result is static;
// that the Dockerfile's user, ports and command and the manifests' images,
// arguments, environment, ports, probes, grace periods and security
// settings agree with each other and with the binary's flags; that the
// load balancers' idle timeouts outlast the binary's default heartbeat;
// and they run the binary with the manifests' arguments to see the probed
// endpoints answer (the emitter's against a real redis-server from
// internal/redistest). Docker itself is not needed.
//
// Concurrency: the tests share one binary, built once per test binary, and
// may run in parallel.
package deploy
