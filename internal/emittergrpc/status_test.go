package emittergrpc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/emittergrpc"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/redistest"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

func TestAuth(t *testing.T) {
	e := startEnv(t, func(c *emittergrpc.Config) { c.Token = "s3cret" })
	sub := e.subscribe(t)
	with := func(ctx context.Context, v string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	req := &siorelayv1.EmitRequest{Event: "secured"}
	for _, tt := range []struct {
		name string
		ctx  func(context.Context) context.Context
		msg  string
	}{
		{"missing", func(ctx context.Context) context.Context { return ctx }, "missing token"},
		{"wrong", func(ctx context.Context) context.Context { return with(ctx, "Bearer s3cre") }, "wrong token"},
		{"wrong, longer", func(ctx context.Context) context.Context { return with(ctx, "Bearer s3cret2") }, "wrong token"},
		{"not bearer", func(ctx context.Context) context.Context { return with(ctx, "Basic s3cret") }, "Bearer <token>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.Emit(tt.ctx(ctxT(t)), req)
			wantCode(t, err, codes.Unauthenticated)
			if !strings.Contains(status.Convert(err).Message(), tt.msg) {
				t.Errorf("message %q does not contain %q", status.Convert(err).Message(), tt.msg)
			}
			stream, err := e.client.EmitStream(tt.ctx(ctxT(t)))
			if err == nil {
				_ = stream.Send(&siorelayv1.EmitStreamRequest{Events: []*siorelayv1.EmitRequest{req}})
				_, err = stream.CloseAndRecv()
			}
			wantCode(t, err, codes.Unauthenticated)
		})
	}
	// Health checks need no token.
	hc := healthpb.NewHealthClient(e.conn)
	if _, err := hc.Check(ctxT(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health check without token: %v", err)
	}
	// Nothing was published by the refused calls; the right token works
	// (the marker in expectNothingBefore carries it).
	ctx := with(ctxT(t), "Bearer s3cret")
	if _, err := e.client.Emit(ctx, req); err != nil {
		t.Fatalf("Emit with the token: %v", err)
	}
	want, _ := e.em.EmitMessage("secured")
	if got := sub.next(1)[0]; got != msg(want) {
		t.Fatalf("published %q, want %q", got, msg(want))
	}
	e.client = siorelayv1.NewEmitterServiceClient(authConn{e.conn, "Bearer s3cret"})
	e.expectNothingBefore(t, sub)
}

// TestUnavailable stops Redis: every publishing RPC fails with Unavailable
// and a message saying what failed.
func TestUnavailable(t *testing.T) {
	e := startEnv(t)
	e.redis.Stop()
	calls := map[string]func(context.Context) error{
		"Emit": func(ctx context.Context) error {
			_, err := e.client.Emit(ctx, &siorelayv1.EmitRequest{Event: "e"})
			return err
		},
		"EmitBatch": func(ctx context.Context) error {
			_, err := e.client.EmitBatch(ctx, &siorelayv1.EmitBatchRequest{Events: []*siorelayv1.EmitRequest{{Event: "a"}, {Event: "b"}}})
			return err
		},
		"EmitStream": func(ctx context.Context) error {
			s, err := e.client.EmitStream(ctx)
			if err != nil {
				return err
			}
			_ = s.Send(&siorelayv1.EmitStreamRequest{Events: []*siorelayv1.EmitRequest{{Event: "a"}}})
			_, err = s.CloseAndRecv()
			return err
		},
		"SocketsJoin": func(ctx context.Context) error {
			_, err := e.client.SocketsJoin(ctx, &siorelayv1.SocketsJoinRequest{Rooms: []string{"r"}})
			return err
		},
		"SocketsLeave": func(ctx context.Context) error {
			_, err := e.client.SocketsLeave(ctx, &siorelayv1.SocketsLeaveRequest{Rooms: []string{"r"}})
			return err
		},
		"DisconnectSockets": func(ctx context.Context) error {
			_, err := e.client.DisconnectSockets(ctx, &siorelayv1.DisconnectSocketsRequest{})
			return err
		},
		"ServerSideEmit": func(ctx context.Context) error {
			_, err := e.client.ServerSideEmit(ctx, &siorelayv1.ServerSideEmitRequest{Event: "e"})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call(ctxT(t))
			wantCode(t, err, codes.Unavailable)
			m := status.Convert(err).Message()
			if !strings.HasPrefix(m, name+": publish failed, retry later") || !strings.Contains(m, "connect") {
				t.Errorf("message %q does not say %s's publish failed to connect", m, name)
			}
		})
	}
	// The same over the HTTP API: 503 and the same message.
	_, err := e.http.SocketsJoin(ctxT(t), &siorelayv1.SocketsJoinRequest{Rooms: []string{"r"}})
	wantCode(t, err, codes.Unavailable)
	if m := status.Convert(err).Message(); !strings.HasPrefix(m, "SocketsJoin: publish failed, retry later") {
		t.Errorf("HTTP message %q does not say the publish failed", m)
	}
	// Validation still comes first.
	_, err = e.client.Emit(ctxT(t), &siorelayv1.EmitRequest{Event: "connect"})
	wantCode(t, err, codes.InvalidArgument)
}

// TestDeadlineExceeded freezes Redis so a publish never completes: the
// service reports DeadlineExceeded (not Unavailable) when the call's
// deadline passes, and Canceled when the caller cancels.
func TestDeadlineExceeded(t *testing.T) {
	e := startEnv(t)
	e.redis.Pause()
	defer e.redis.Resume()

	// Over gRPC: the deadline travels to the server.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := e.client.Emit(ctx, &siorelayv1.EmitRequest{Event: "slow"})
	wantCode(t, err, codes.DeadlineExceeded)

	// The service's own translation, called directly so that the status
	// seen is the server's and not the client library's.
	svc := emittergrpc.NewService(emittergrpc.NewEmitterBackend(e.em))
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = svc.Emit(ctx, &siorelayv1.EmitRequest{Event: "slow"})
	wantCode(t, err, codes.DeadlineExceeded)
	_, err = svc.EmitBatch(ctx, &siorelayv1.EmitBatchRequest{Events: []*siorelayv1.EmitRequest{{Event: "a"}, {Event: "b"}}})
	wantCode(t, err, codes.DeadlineExceeded)

	// A caller that has gone away: the emitter's direct publish honours
	// only deadlines while waiting on Redis, so cancel before the call.
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	_, err = svc.SocketsJoin(ctx, &siorelayv1.SocketsJoinRequest{Rooms: []string{"r"}})
	wantCode(t, err, codes.Canceled)
}

// TestBackendErrors checks the translation of errors from a Backend other
// than the emitter (the seam a relay in the same process uses).
func TestBackendErrors(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want codes.Code
	}{
		{errors.New("boom"), codes.Unavailable},
		{emittergrpc.ErrInvalidArgument, codes.InvalidArgument},
		{emitter.ErrEncode, codes.InvalidArgument},
		{emitter.ErrReservedEvent, codes.InvalidArgument},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{context.Canceled, codes.Canceled},
		{status.Error(codes.ResourceExhausted, "queue full"), codes.ResourceExhausted},
	} {
		svc := emittergrpc.NewService(failingBackend{tt.err})
		_, err := svc.Emit(t.Context(), &siorelayv1.EmitRequest{Event: "e"})
		if got := status.Code(err); got != tt.want {
			t.Errorf("backend error %v: code %v, want %v", tt.err, got, tt.want)
		}
	}
}

// notifyBackend signals called on each Emit, then passes it on.
type notifyBackend struct {
	emittergrpc.Backend
	called chan<- struct{}
}

func (n notifyBackend) Emit(ctx context.Context, ev emittergrpc.Event) error {
	select {
	case n.called <- struct{}{}:
	default:
	}
	return n.Backend.Emit(ctx, ev)
}

// authConn adds an authorization header to every call.
type authConn struct {
	grpc.ClientConnInterface
	auth string
}

func (a authConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return a.ClientConnInterface.Invoke(metadata.AppendToOutgoingContext(ctx, "authorization", a.auth), method, args, reply, opts...)
}

func (a authConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return a.ClientConnInterface.NewStream(metadata.AppendToOutgoingContext(ctx, "authorization", a.auth), desc, method, opts...)
}

type failingBackend struct{ err error }

func (f failingBackend) Emit(context.Context, emittergrpc.Event) error        { return f.err }
func (f failingBackend) EmitBatch(context.Context, []emittergrpc.Event) error { return f.err }
func (f failingBackend) SocketsJoin(context.Context, emittergrpc.Target, []string) error {
	return f.err
}
func (f failingBackend) SocketsLeave(context.Context, emittergrpc.Target, []string) error {
	return f.err
}
func (f failingBackend) DisconnectSockets(context.Context, emittergrpc.Target, bool) error {
	return f.err
}
func (f failingBackend) ServerSideEmit(context.Context, string, string, []any) error { return f.err }
func (f failingBackend) FetchSockets(context.Context, emittergrpc.Target) ([]emitter.Socket, error) {
	return nil, f.err
}
func (f failingBackend) ServerCount(context.Context, string) (int, error)   { return 0, f.err }
func (f failingBackend) AllRooms(context.Context, string) ([]string, error) { return nil, f.err }
func (f failingBackend) EmitWithAck(context.Context, emittergrpc.Event, time.Duration) (emittergrpc.Acks, error) {
	return emittergrpc.Acks{}, f.err
}

// TestHealth follows the health status with a real redis-server stopped
// and restarted.
func TestHealth(t *testing.T) {
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	e := startEnvOn(t, rs, rdb, func(c *emittergrpc.Config) {
		c.PingInterval = 50 * time.Millisecond
		c.Ping = func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
	})
	hc := healthpb.NewHealthClient(e.conn)
	for _, svc := range []string{"", "siorelay.v1.EmitterService"} {
		w, err := hc.Watch(ctxT(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatal(err)
		}
		next := func(want healthpb.HealthCheckResponse_ServingStatus) {
			t.Helper()
			for {
				r, err := w.Recv()
				if err != nil {
					t.Fatalf("watch %q: waiting for %v: %v", svc, want, err)
				}
				if r.Status == want {
					return
				}
			}
		}
		next(healthpb.HealthCheckResponse_SERVING)
		e.redis.Stop()
		next(healthpb.HealthCheckResponse_NOT_SERVING)
		e.redis.Restart()
		next(healthpb.HealthCheckResponse_SERVING)
	}
	// A server without Ping is always SERVING.
	plain := startEnv(t)
	r, err := healthpb.NewHealthClient(plain.conn).Check(ctxT(t), &healthpb.HealthCheckRequest{})
	if err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health without Ping: %v, %v", r, err)
	}
}

// TestShutdownGraceful checks that Shutdown lets a call in flight finish,
// refuses new calls, and turns health NOT_SERVING; over gRPC and over the
// HTTP API (whose Serve, ServeHTTPAPI, then returns nil: the env's cleanup
// checks it).
func TestShutdownGraceful(t *testing.T) {
	for _, name := range []string{"grpc", "http"} {
		t.Run(name, func(t *testing.T) {
			called := make(chan struct{}, 1)
			e := startEnv(t, func(c *emittergrpc.Config) { c.Backend = notifyBackend{c.Backend, called} })
			client := e.client
			// refused tells whether a probe's error means the server takes
			// no new calls.
			refused := func(err error) bool { return status.Code(err) == codes.Unavailable }
			if name == "http" {
				client = e.http
				// No answer (refused, reset, or EOF on an idle connection
				// that Shutdown closed).
				refused = func(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "httpConn: Post") }
			}
			sub := e.subscribe(t)
			e.redis.Pause()
			inflight := make(chan error, 1)
			go func() {
				_, err := client.Emit(ctxT(t), &siorelayv1.EmitRequest{Event: "inflight"})
				inflight <- err
			}()
			// Wait until the call is in the backend (blocked on the paused Redis).
			select {
			case <-called:
			case <-ctxT(t).Done():
				t.Fatal("the call never reached the backend")
			}

			var wg sync.WaitGroup
			shut := make(chan error, 1)
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				shut <- e.srv.Shutdown(ctx)
			})
			// New calls are refused once shutdown started. The probe is an
			// invalid request, so that while the server still accepts calls
			// it answers InvalidArgument at once instead of waiting on the
			// paused Redis.
			waitFor(t, func() bool {
				_, err := client.Emit(ctxT(t), &siorelayv1.EmitRequest{})
				switch {
				case refused(err):
					return true
				case status.Code(err) == codes.InvalidArgument:
					return false
				}
				t.Fatalf("probe during shutdown: %v", err)
				return false
			})
			select {
			case err := <-inflight:
				t.Fatalf("in-flight call ended before Redis answered: %v", err)
			default:
			}
			e.redis.Resume()
			if err := <-inflight; err != nil {
				t.Fatalf("in-flight call: %v", err)
			}
			wg.Wait()
			if err := <-shut; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			want, _ := e.em.EmitMessage("inflight")
			if got := sub.next(1)[0]; got != msg(want) {
				t.Fatalf("published %q, want the in-flight event", got)
			}
			if err := e.srv.Shutdown(context.Background()); err != nil {
				t.Fatalf("second Shutdown: %v", err)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShutdownEndsHealthWatch checks that a client watching health does
// not hold up a graceful shutdown.
func TestShutdownEndsHealthWatch(t *testing.T) {
	e := startEnv(t)
	w, err := healthpb.NewHealthClient(e.conn).Watch(ctxT(t), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := w.Recv(); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first status: %v, %v", r, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a health watcher: %v", err)
	}
	for {
		if _, err := w.Recv(); err != nil {
			break // the watch ended
		}
	}
}
