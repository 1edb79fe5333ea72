package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/siorelay/siorelay/internal/emittergrpc"
)

// httpAPIFlags are the HTTP API flags of `serve` and `emitter`.
type httpAPIFlags struct {
	addr    string // --http-addr
	maxBody int64  // --http-max-body-size
}

func registerHTTPAPIFlags(fs *flag.FlagSet) *httpAPIFlags {
	f := &httpAPIFlags{}
	fs.StringVar(&f.addr, "http-addr", "", "serve the EmitterService over HTTP with JSON here (host:port): POST /siorelay.v1.EmitterService/<Method>, same token and TLS as gRPC (empty: no HTTP API)")
	fs.Int64Var(&f.maxBody, "http-max-body-size", emittergrpc.DefaultHTTPMaxBodySize, "largest HTTP API request body, in bytes (larger ones get 413)")
	return f
}

// grpcEndpoint is the EmitterService of `serve` and `emitter`: one
// emittergrpc.Server on a gRPC listener, an HTTP API listener, or both.
type grpcEndpoint struct {
	srv    *emittergrpc.Server
	ln     net.Listener // gRPC; nil without --grpc-addr
	httpLn net.Listener // HTTP API; nil without --http-addr
	https  bool
}

// newEndpoint builds the server for cfg and opens its listeners; an empty
// address opens none. It closes what it opened if it fails.
func newEndpoint(cfg emittergrpc.Config, grpcAddr string, api *httpAPIFlags) (*grpcEndpoint, error) {
	if api.maxBody <= 0 {
		return nil, usagef("--http-max-body-size must be positive")
	}
	cfg.HTTPMaxBodySize = api.maxBody
	srv, err := emittergrpc.NewServer(cfg)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	g := &grpcEndpoint{srv: srv, https: cfg.TLS != nil}
	if grpcAddr != "" {
		if g.ln, err = net.Listen("tcp", grpcAddr); err != nil {
			return nil, err
		}
	}
	if api.addr != "" {
		if g.httpLn, err = net.Listen("tcp", api.addr); err != nil {
			if g.ln != nil {
				g.ln.Close()
			}
			return nil, fmt.Errorf("--http-addr: %w", err)
		}
	}
	return g, nil
}

// abort releases an endpoint that will not run: its server and its
// listeners.
func (g *grpcEndpoint) abort() {
	_ = g.srv.Shutdown(context.Background())
	for _, ln := range []net.Listener{g.ln, g.httpLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// run serves on every listener until Shutdown, then returns nil. If one
// listener fails, it shuts the server down (within 5s) and returns that
// error once both have stopped.
func (g *grpcEndpoint) run() error {
	errs := make(chan error, 2)
	n := 0
	if g.ln != nil {
		n++
		go func() { errs <- g.srv.Serve(g.ln) }()
	}
	if g.httpLn != nil {
		n++
		go func() { errs <- g.srv.ServeHTTPAPI(g.httpLn) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = g.srv.Shutdown(ctx)
			cancel()
		}
	}
	return first
}

// announce prints the serving lines, once, on stdout (scripts and tests
// read the addresses from them; the log does not repeat them).
func (g *grpcEndpoint) announce(stdout io.Writer) {
	if g.ln != nil {
		fmt.Fprintf(stdout, "siorelay: serving gRPC EmitterService on %s\n", g.ln.Addr())
	}
	if g.httpLn != nil {
		scheme := "http"
		if g.https {
			scheme = "https"
		}
		fmt.Fprintf(stdout, "siorelay: serving HTTP API on %s://%s\n", scheme, g.httpLn.Addr())
	}
}

// errNothingToServe is the sidecar's usage error without either address.
var errNothingToServe = errors.New("nothing to serve: set --grpc-addr, --http-addr or both")
