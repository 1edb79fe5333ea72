package emittergrpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

// Config configures a [Server]. Only Backend is required.
type Config struct {
	// Backend delivers what the service is asked to send. Required.
	Backend Backend

	// Token, when set, is required on every call except health checks, as
	// `authorization: Bearer <token>` metadata (Unauthenticated otherwise).
	// Zero means no authentication.
	Token string

	// TLS, when set, serves TLS with it. Zero means plaintext.
	TLS *tls.Config

	// Ping probes the Backend's dependency (for the sidecar, Redis PING).
	// While it fails, the health service reports NOT_SERVING. Zero means
	// the server is always SERVING while it runs.
	Ping func(context.Context) error

	// PingInterval is the time between probes, and each probe's timeout.
	// Zero means 2s.
	PingInterval time.Duration

	// Logger receives one line per health change and per shutdown
	// problem, never one per call. Zero means no logging.
	Logger *slog.Logger

	// MaxResponseSize bounds the answer of a query (FetchSockets,
	// AllRooms, EmitWithAck), in bytes of protobuf; a larger one fails
	// with ResourceExhausted. Zero means 64 MiB. Clients must accept
	// messages that large (grpc-go's default is 4 MiB).
	MaxResponseSize int

	// ServerOptions are added to the grpc.Server's options, before the
	// ones the Server sets (credentials and the auth interceptors): their
	// interceptors are the outermost, so they see every call, including
	// those refused as Unauthenticated. Credentials set here are replaced
	// by those of TLS, if set.
	ServerOptions []grpc.ServerOption

	// HTTPMaxBodySize bounds the request body of a call over the HTTP API
	// ([Server.HTTPHandler]); larger ones are refused with 413. Zero means
	// [DefaultHTTPMaxBodySize].
	HTTPMaxBodySize int64

	// HTTPObserve, when set, is called once for every finished call of the
	// HTTP API (refused ones included; not /healthz) with the method's
	// full name ("/siorelay.v1.EmitterService/Emit", or "unknown" for a
	// path that names no method), the call's status code and its
	// duration: what Config.ServerOptions' interceptors see of gRPC calls.
	// It is called concurrently, from the calls' own goroutines.
	HTTPObserve func(method string, code codes.Code, d time.Duration)
}

func (c Config) withDefaults() (Config, error) {
	if c.Backend == nil {
		return c, errors.New("emittergrpc: Config.Backend is required")
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxResponseSize < 0 {
		return c, errors.New("emittergrpc: Config.MaxResponseSize must not be negative")
	}
	if c.MaxResponseSize == 0 {
		c.MaxResponseSize = defaultMaxResponseSize
	}
	if c.HTTPMaxBodySize <= 0 {
		c.HTTPMaxBodySize = DefaultHTTPMaxBodySize
	}
	return c, nil
}

// Server is a grpc.Server serving siorelay.v1.EmitterService over a
// [Backend], with the standard health service (grpc.health.v1.Health) and
// server reflection, and the same service over HTTP with JSON
// ([Server.HTTPHandler]). Make one with [NewServer], run it with
// [Server.Serve] and/or [Server.ServeHTTPAPI], stop it with
// [Server.Shutdown].
type Server struct {
	cfg    Config
	grpc   *grpc.Server
	health *health.Server
	api    *httpAPI
	http   *http.Server // serves api in ServeHTTPAPI

	ctx    context.Context // cancelled by Shutdown; stops the health probe and Watch streams
	cancel context.CancelFunc
	wg     sync.WaitGroup // the health watcher
	start  sync.Once      // starts the health watcher
	stop   sync.Once
}

// NewServer returns a Server for cfg. It starts nothing.
func NewServer(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// cfg.ServerOptions first: their interceptors wrap the auth ones, so
	// that they see every call, refused ones included.
	opts := append([]grpc.ServerOption(nil), cfg.ServerOptions...)
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	var auth *bearer
	if cfg.Token != "" {
		auth = newBearer(cfg.Token)
		opts = append(opts, grpc.ChainUnaryInterceptor(auth.unary), grpc.ChainStreamInterceptor(auth.stream))
	}
	gs := grpc.NewServer(opts...)
	svc := NewService(cfg.Backend)
	svc.maxResponseSize = cfg.MaxResponseSize
	siorelayv1.RegisterEmitterServiceServer(gs, svc)
	hs := health.NewServer()
	initial := healthpb.HealthCheckResponse_SERVING
	if cfg.Ping != nil {
		initial = healthpb.HealthCheckResponse_NOT_SERVING // until the first probe succeeds
	}
	setStatus(hs, initial)
	ctx, cancel := context.WithCancel(context.Background())
	hsvc := healthService{Server: hs, stopping: ctx}
	healthpb.RegisterHealthServer(gs, hsvc)
	reflection.Register(gs)
	api := newHTTPAPI(auth, cfg.HTTPMaxBodySize, cfg.HTTPObserve, func() bool {
		r, err := hs.Check(context.Background(), &healthpb.HealthCheckRequest{})
		return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})
	api.register(&siorelayv1.EmitterService_ServiceDesc, svc)
	api.register(&healthpb.Health_ServiceDesc, hsvc)
	s := &Server{cfg: cfg, grpc: gs, health: hs, api: api, ctx: ctx, cancel: cancel}
	s.http = &http.Server{
		Handler:           api,
		TLSConfig:         cfg.TLS,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute, // headers and body; calls themselves may take longer
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// HTTPHandler returns the HTTP API: every unary method of
// siorelay.v1.EmitterService (and grpc.health.v1.Health/Check) at POST
// /<service>/<Method>, with the request and response messages as protobuf
// JSON (Content-Type application/json) or binary protobuf
// (application/proto) — the unary form of the Connect protocol. The same
// token as over gRPC is required (Authorization: Bearer), errors carry the
// same codes (as HTTP statuses and a JSON body {"code","message"}), request
// bodies are bounded by [Config.HTTPMaxBodySize], and GET /healthz answers
// 200 or 503 as the health service does. Streaming methods are gRPC only.
//
// Use it to mount the API on a mux of your own; [Server.ServeHTTPAPI]
// serves it on a listener of its own, with graceful shutdown.
func (s *Server) HTTPHandler() http.Handler { return s.api }

// ServeHTTPAPI serves [Server.HTTPHandler] on lis (with TLS if
// [Config.TLS] is set) and blocks until [Server.Shutdown] (then it returns
// nil) or until lis fails. It closes lis. It may run beside [Server.Serve]
// or instead of it; the first of them starts the health probe.
func (s *Server) ServeHTTPAPI(lis net.Listener) error {
	s.startProbe()
	var err error
	if s.cfg.TLS != nil {
		err = s.http.ServeTLS(lis, "", "")
	} else {
		err = s.http.Serve(lis)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// startProbe starts the health probe once, unless Shutdown came first.
func (s *Server) startProbe() {
	s.start.Do(func() {
		if s.cfg.Ping == nil || s.ctx.Err() != nil {
			return
		}
		s.wg.Go(func() { watchHealth(s.ctx, s.health, s.cfg.Ping, s.cfg.PingInterval, s.cfg.Logger) })
	})
}

// Serve accepts connections on lis and blocks until [Server.Shutdown]
// (then it returns nil) or until lis fails. It closes lis. The first
// Serve starts the health probe.
func (s *Server) Serve(lis net.Listener) error {
	s.startProbe()
	err := s.grpc.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Shutdown stops the Server, over gRPC and HTTP alike: health turns
// NOT_SERVING and health Watch streams end, new calls and connections are
// refused, and calls in flight may finish until ctx is done; then the
// remaining ones are cancelled and their connections closed. It waits for
// the health probe to stop. It returns an error wrapping ctx.Err() if it
// had to cut calls short, else nil; a second call returns nil.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.stop.Do(func() {
		s.start.Do(func() {}) // a later Serve starts no probe
		s.health.Shutdown()
		s.cancel()
		done := make(chan struct{})
		go func() {
			s.grpc.GracefulStop()
			close(done)
		}()
		// http.Server.Shutdown waits for the HTTP calls in flight, as
		// GracefulStop does for the gRPC ones, meanwhile.
		cut := false
		if s.http.Shutdown(ctx) != nil {
			s.http.Close()
			cut = true
		}
		select {
		case <-done:
		case <-ctx.Done():
			select {
			case <-done:
			default:
				s.grpc.Stop()
				<-done
				cut = true
			}
		}
		if cut {
			err = fmt.Errorf("emittergrpc: calls cut short: %w", ctx.Err())
		}
		s.wg.Wait()
	})
	return err
}
