package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// GRPC counts the calls of a grpc.Server: install [GRPC.ServerOptions]
// when building it.
type GRPC struct {
	calls    *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	received *prometheus.CounterVec
}

// grpcBuckets suit unary calls that publish to Redis or queue to local
// clients (sub-millisecond to a few), with room for slow ones.
var grpcBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewGRPC registers the gRPC metrics with reg and returns their
// interceptors' owner.
func NewGRPC(reg prometheus.Registerer) *GRPC {
	g := &GRPC{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siorelay_grpc_calls_total",
			Help: "Finished gRPC calls, by full method name and status code.",
		}, []string{"method", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "siorelay_grpc_call_duration_seconds",
			Help:    "Duration of gRPC calls (for streams: the whole stream), by full method name.",
			Buckets: grpcBuckets,
		}, []string{"method"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siorelay_grpc_stream_messages_received_total",
			Help: "Messages received on client-streaming gRPC calls (EmitStream events), by full method name.",
		}, []string{"method"}),
	}
	reg.MustRegister(g.calls, g.seconds, g.received)
	return g
}

// ServerOptions returns the options that install the interceptors.
func (g *GRPC) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(g.unary),
		grpc.ChainStreamInterceptor(g.stream),
	}
}

// observe records one finished call. The method label is bounded by the
// services registered on the server (gRPC answers unknown methods without
// calling interceptors), the code label by the gRPC codes.
func (g *GRPC) observe(method string, start time.Time, err error) {
	g.calls.WithLabelValues(method, status.Code(err).String()).Inc()
	g.seconds.WithLabelValues(method).Observe(time.Since(start).Seconds())
}

func (g *GRPC) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	g.observe(info.FullMethod, start, err)
	return resp, err
}

func (g *GRPC) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	if info.IsClientStream {
		ss = &countingStream{ServerStream: ss, received: g.received.WithLabelValues(info.FullMethod)}
	}
	err := handler(srv, ss)
	g.observe(info.FullMethod, start, err)
	return err
}

// countingStream counts the messages a client stream receives.
type countingStream struct {
	grpc.ServerStream
	received prometheus.Counter
}

func (s *countingStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.received.Inc()
	}
	return err
}
