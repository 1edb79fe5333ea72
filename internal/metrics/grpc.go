package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// GRPC counts the calls of a grpc.Server: install [GRPC.ServerOptions]
// when building it. It counts the calls of the same service over the HTTP
// API too ([GRPC.ObserveHTTP]), apart.
type GRPC struct {
	calls       *prometheus.CounterVec
	seconds     *prometheus.HistogramVec
	received    *prometheus.CounterVec
	httpCalls   *prometheus.CounterVec
	httpSeconds *prometheus.HistogramVec
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
	g.httpCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "siorelay_http_api_calls_total",
		Help: "Finished calls of the HTTP API (--http-addr), by full method name and status code.",
	}, []string{"method", "code"})
	g.httpSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "siorelay_http_api_call_duration_seconds",
		Help:    "Duration of HTTP API calls, by full method name.",
		Buckets: grpcBuckets,
	}, []string{"method"})
	reg.MustRegister(g.calls, g.seconds, g.received, g.httpCalls, g.httpSeconds)
	return g
}

// ObserveHTTP records one finished call of the HTTP API: it is
// emittergrpc.Config.HTTPObserve. method is bounded by the registered
// methods (emittergrpc names unknown paths "unknown"), code by the gRPC
// codes.
func (g *GRPC) ObserveHTTP(method string, code codes.Code, d time.Duration) {
	g.httpCalls.WithLabelValues(method, code.String()).Inc()
	g.httpSeconds.WithLabelValues(method).Observe(d.Seconds())
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
