package main

import (
	"flag"
	"io"
	"log/slog"
	"net/http"

	"google.golang.org/grpc"

	"github.com/siorelay/siorelay/relay"
)

// metricsFlags are the /metrics flags of `serve` and `emitter`.
type metricsFlags struct{}

func registerMetricsFlags(fs *flag.FlagSet) *metricsFlags { return &metricsFlags{} }

// serveMetrics is the metrics registry of one `serve` process. Its
// methods are safe on a nil *serveMetrics (no metrics).
type serveMetrics struct{}

func (f *metricsFlags) newServeMetrics() (*serveMetrics, error) { return &serveMetrics{}, nil }

// hookObserver returns what the backend hooks report to.
func (m *serveMetrics) hookObserver() hookObserver { return nil }

// registerRelay adds the relay's metrics.
func (m *serveMetrics) registerRelay(srv *relay.Server) {}

// grpcOptions instruments the gRPC server.
func (m *serveMetrics) grpcOptions() []grpc.ServerOption { return nil }

// start serves /metrics on mux, or on its own address; stop ends that.
func (m *serveMetrics) start(mux *http.ServeMux, stdout io.Writer, log *slog.Logger) (stop func(), err error) {
	return func() {}, nil
}
