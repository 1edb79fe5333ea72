package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/siorelay/siorelay/internal/metrics"
	"github.com/siorelay/siorelay/relay"
)

// metricsFlags are the /metrics flags of `serve` and `emitter`.
type metricsFlags struct {
	enabled bool   // serve only: --metrics
	addr    string // --metrics-addr
}

func registerMetricsFlags(fs *flag.FlagSet) *metricsFlags {
	f := &metricsFlags{enabled: true}
	if fs.Name() == "emitter" {
		fs.StringVar(&f.addr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9100 (empty: no metrics)")
		return f
	}
	fs.BoolVar(&f.enabled, "metrics", true, "serve Prometheus metrics at /metrics on --addr (or on --metrics-addr)")
	fs.StringVar(&f.addr, "metrics-addr", "", "serve /metrics on this address instead of --addr, e.g. 127.0.0.1:9100")
	return f
}

// serveMetrics is the metrics registry of one `serve` or `emitter`
// process. Its methods are safe on a nil *serveMetrics (no metrics).
type serveMetrics struct {
	reg   *prometheus.Registry
	grpc  *metrics.GRPC
	hooks *metrics.Hooks
	addr  string // own listen address; "" means the main mux
}

// newServeMetrics returns the metrics of `serve`, or nil with --metrics=false.
func (f *metricsFlags) newServeMetrics() (*serveMetrics, error) {
	if !f.enabled {
		if f.addr != "" {
			return nil, usagef("--metrics-addr needs --metrics (it is false)")
		}
		return nil, nil
	}
	reg := metrics.NewRegistry()
	return &serveMetrics{reg: reg, grpc: metrics.NewGRPC(reg), hooks: metrics.NewHooks(reg), addr: f.addr}, nil
}

// newSidecarMetrics returns the metrics of `emitter`, counting the Redis
// errors of rdb, or nil without --metrics-addr.
func (f *metricsFlags) newSidecarMetrics(rdb redis.UniversalClient) *serveMetrics {
	if f.addr == "" {
		return nil
	}
	reg := metrics.NewRegistry()
	rdb.AddHook(metrics.NewRedisErrors(reg))
	return &serveMetrics{reg: reg, grpc: metrics.NewGRPC(reg), addr: f.addr}
}

// hookObserver returns what the backend hooks report to.
func (m *serveMetrics) hookObserver() hookObserver {
	if m == nil || m.hooks == nil {
		return nil
	}
	return m.hooks
}

// registerRelay adds the relay's metrics.
func (m *serveMetrics) registerRelay(srv *relay.Server) {
	if m == nil {
		return
	}
	m.reg.MustRegister(metrics.NewRelayCollector(srv))
}

// grpcOptions instruments the gRPC server.
func (m *serveMetrics) grpcOptions() []grpc.ServerOption {
	if m == nil {
		return nil
	}
	return m.grpc.ServerOptions()
}

// httpObserve counts the calls of the HTTP API; nil without metrics.
func (m *serveMetrics) httpObserve() func(string, codes.Code, time.Duration) {
	if m == nil {
		return nil
	}
	return m.grpc.ObserveHTTP
}

// start serves /metrics on mux, or on its own address; stop ends that.
// mux may be nil when the metrics have their own address (the sidecar).
func (m *serveMetrics) start(mux *http.ServeMux, stdout io.Writer, log *slog.Logger) (stop func(), err error) {
	if m == nil {
		return func() {}, nil
	}
	h := metrics.Handler(m.reg, log)
	if m.addr == "" {
		if mux == nil {
			return nil, errors.New("metrics: no address to serve on")
		}
		mux.Handle("/metrics", h)
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	own := http.NewServeMux()
	own.Handle("/metrics", h)
	hs := &http.Server{Handler: own, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server failed", "err", err)
		}
	}()
	fmt.Fprintf(stdout, "siorelay: serving metrics on http://%s/metrics\n", ln.Addr())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if hs.Shutdown(ctx) != nil {
			hs.Close()
		}
		<-done
	}, nil
}
