package emittergrpc_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/emittergrpc"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/redistest"
)

// env is one service under test: a real redis-server, an emitter with a
// key prefix unique to the test, and an emittergrpc.Server reached over
// bufconn (gRPC) and over a loopback listener (its HTTP API).
type env struct {
	redis   *redistest.Server
	rdb     *redis.Client
	key     string
	em      *emitter.Emitter // same configuration as the server's, for expected messages
	srv     *emittergrpc.Server
	conn    *grpc.ClientConn
	client  siorelayv1.EmitterServiceClient
	httpURL string                          // http://127.0.0.1:port of the HTTP API
	http    siorelayv1.EmitterServiceClient // the same service over the HTTP API (httpConn)
}

type envOption func(*emittergrpc.Config)

func startEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	rs := redistest.Start(t)
	// The sidecar's client honours call deadlines on the socket too.
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1, ReadTimeout: 20 * time.Second})
	t.Cleanup(func() { rdb.Close() })
	return startEnvOn(t, rs, rdb, opts...)
}

func startEnvOn(t *testing.T, rs *redistest.Server, rdb *redis.Client, opts ...envOption) *env {
	t.Helper()
	key := redistest.UniquePrefix(t)
	em, err := emitter.New(rdb, emitter.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	cfg := emittergrpc.Config{Backend: emittergrpc.NewEmitterBackend(em)}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := emittergrpc.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	served := make(chan error, 2)
	go func() { served <- srv.Serve(lis) }()
	hlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { served <- srv.ServeHTTPAPI(hlis) }()
	httpURL := "http://" + hlis.Addr().String()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	})
	return &env{redis: rs, rdb: rdb, key: key, em: em, srv: srv, conn: conn, client: siorelayv1.NewEmitterServiceClient(conn),
		httpURL: httpURL, http: siorelayv1.NewEmitterServiceClient(&httpConn{base: httpURL})}
}

// published is one message seen on Redis.
type published struct {
	Channel string
	Payload string
}

func msg(m emitter.Message) published {
	return published{Channel: m.Channel, Payload: string(m.Payload)}
}

// subscriber sees everything published on the env's key prefix.
type subscriber struct {
	t  *testing.T
	ch <-chan *redis.Message
}

// subscribe returns once Redis confirmed the subscription.
func (e *env) subscribe(t *testing.T) *subscriber {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	sub := redis.NewClient(&redis.Options{Addr: e.redis.Addr()})
	ps := sub.PSubscribe(ctx, e.key+"*")
	if _, err := ps.ReceiveTimeout(ctx, 5*time.Second); err != nil {
		t.Fatalf("psubscribe: %v", err)
	}
	t.Cleanup(func() { ps.Close(); sub.Close() })
	return &subscriber{t: t, ch: ps.Channel(redis.WithChannelSize(10000))}
}

// next returns the next n published messages, failing the test after 5s.
func (s *subscriber) next(n int) []published {
	s.t.Helper()
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	var out []published
	for len(out) < n {
		select {
		case m := <-s.ch:
			out = append(out, published{Channel: m.Channel, Payload: m.Payload})
		case <-timer.C:
			s.t.Fatalf("got %d of %d published messages within 5s: %q", len(out), n, out)
		}
	}
	return out
}

// expectNothingBefore publishes a marker event through the service and
// checks that it is the next message on Redis: nothing was published
// since the last message read.
func (e *env) expectNothingBefore(t *testing.T, s *subscriber) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := e.client.Emit(ctx, &siorelayv1.EmitRequest{Event: "marker"}); err != nil {
		t.Fatalf("marker Emit: %v", err)
	}
	want, err := e.em.EmitMessage("marker")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.next(1)[0]; got != msg(want) {
		t.Fatalf("something was published before the marker: %q", got)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
