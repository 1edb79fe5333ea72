package hooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/hooks"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/relay"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// kinds are the transports every behaviour is tested over.
var kinds = []string{"grpc", "http"}

// forEachKind runs f as a subtest per transport.
func forEachKind(t *testing.T, f func(t *testing.T, kind string)) {
	for _, k := range kinds {
		t.Run(k, func(t *testing.T) { f(t, k) })
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// backendFuncs is a BackendService made of functions; nil ones allow, and
// answer with nothing.
type backendFuncs struct {
	siorelayv1.UnimplementedBackendServiceServer
	connect    func(context.Context, *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error)
	event      func(context.Context, *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error)
	disconnect func(context.Context, *siorelayv1.DisconnectRequest) (*siorelayv1.DisconnectResponse, error)
}

func (b *backendFuncs) Connect(ctx context.Context, r *siorelayv1.ConnectRequest) (*siorelayv1.ConnectResponse, error) {
	if b.connect == nil {
		return &siorelayv1.ConnectResponse{Allow: true}, nil
	}
	return b.connect(ctx, r)
}

func (b *backendFuncs) Event(ctx context.Context, r *siorelayv1.EventRequest) (*siorelayv1.EventResponse, error) {
	if b.event == nil {
		return &siorelayv1.EventResponse{}, nil
	}
	return b.event(ctx, r)
}

func (b *backendFuncs) Disconnect(ctx context.Context, r *siorelayv1.DisconnectRequest) (*siorelayv1.DisconnectResponse, error) {
	if b.disconnect == nil {
		return &siorelayv1.DisconnectResponse{}, nil
	}
	return b.disconnect(ctx, r)
}

// startBackend serves b over kind on a free loopback port and returns the
// target URL and a function that stops the backend (also run at cleanup).
func startBackend(t testing.TB, kind string, b siorelayv1.BackendServiceServer) (string, func()) {
	t.Helper()
	switch kind {
	case "grpc":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gs := grpc.NewServer()
		siorelayv1.RegisterBackendServiceServer(gs, b)
		go gs.Serve(ln)
		t.Cleanup(gs.Stop)
		return "grpc://" + ln.Addr().String(), gs.Stop
	case "http":
		hs := httptest.NewServer(httpBackend(b))
		var once sync.Once
		stop := func() {
			once.Do(func() {
				hs.CloseClientConnections()
				hs.Close()
			})
		}
		t.Cleanup(stop)
		return hs.URL + "/hooks", stop
	}
	t.Fatalf("unknown kind %q", kind)
	return "", nil
}

// httpBackend serves b as the proto's HTTP mapping describes, under
// /hooks. The Authorization header is passed to b as gRPC metadata.
func httpBackend(b siorelayv1.BackendServiceServer) http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, newReq func() proto.Message, call func(context.Context, proto.Message) (proto.Message, error)) {
		mux.HandleFunc("POST /hooks/"+path, func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			if r.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "want application/json", http.StatusUnsupportedMediaType)
				return
			}
			req := newReq()
			if err := protojson.Unmarshal(body, req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			ctx := r.Context()
			if a := r.Header.Get("Authorization"); a != "" {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", a))
			}
			res, err := call(ctx, req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			out, _ := protojson.Marshal(res)
			w.Header().Set("Content-Type", "application/json")
			w.Write(out)
		})
	}
	handle("connect", func() proto.Message { return new(siorelayv1.ConnectRequest) },
		func(ctx context.Context, m proto.Message) (proto.Message, error) {
			return b.Connect(ctx, m.(*siorelayv1.ConnectRequest))
		})
	handle("event", func() proto.Message { return new(siorelayv1.EventRequest) },
		func(ctx context.Context, m proto.Message) (proto.Message, error) {
			return b.Event(ctx, m.(*siorelayv1.EventRequest))
		})
	handle("disconnect", func() proto.Message { return new(siorelayv1.DisconnectRequest) },
		func(ctx context.Context, m proto.Message) (proto.Message, error) {
			return b.Disconnect(ctx, m.(*siorelayv1.DisconnectRequest))
		})
	return mux
}

// recorder is an Observer that counts.
type recorder struct {
	mu    sync.Mutex
	calls map[string]int             // "hook/outcome"
	durs  map[string][]time.Duration // "hook/outcome"
	drops map[string]int
}

func newRecorder() *recorder {
	return &recorder{calls: map[string]int{}, durs: map[string][]time.Duration{}, drops: map[string]int{}}
}

func (r *recorder) HookCall(hook, outcome string, d time.Duration) {
	r.mu.Lock()
	r.calls[hook+"/"+outcome]++
	r.durs[hook+"/"+outcome] = append(r.durs[hook+"/"+outcome], d)
	r.mu.Unlock()
}

// durations returns the durations reported for key.
func (r *recorder) durations(key string) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.durs[key])
}

func (r *recorder) EventDropped(reason string) {
	r.mu.Lock()
	r.drops[reason]++
	r.mu.Unlock()
}

func (r *recorder) call(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[key]
}

func (r *recorder) drop(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.drops[reason]
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// relayWith starts a relay whose hooks are a Forwarder built from hc, on
// an httptest server; everything stops at cleanup, the Forwarder last.
func relayWith(t *testing.T, cfg relay.Config, hc hooks.Config) (*relay.Server, *hooks.Forwarder, string) {
	t.Helper()
	f, err := hooks.New(hc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnConnect, cfg.OnConnection, cfg.OnEvent, cfg.OnDisconnect = f.Connect, f.Connection, f.Event, f.Disconnect
	srv, err := relay.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
		if err := f.Close(ctx); err != nil {
			t.Errorf("forwarder close: %v", err)
		}
	})
	return srv, f, hs.URL
}

func jsonArg(s string) *siorelayv1.Arg {
	return &siorelayv1.Arg{Value: &siorelayv1.Arg_Json{Json: s}}
}

func binArg(b ...byte) *siorelayv1.Arg {
	return &siorelayv1.Arg{Value: &siorelayv1.Arg_Binary{Binary: b}}
}

// decodeArgs decodes a client's printed arguments (binary as []byte).
func decodeArgs(t *testing.T, raw []json.RawMessage) []any {
	t.Helper()
	v, err := nodetest.DecodeArgs(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// authField extracts a string field of a ConnectRequest's auth JSON.
func authField(r *siorelayv1.ConnectRequest, name string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(r.GetAuth()), &m)
	s, _ := m[name].(string)
	return s
}

func targetFor(kind, addr string) string {
	if kind == "grpc" {
		return "grpc://" + addr
	}
	return "http://" + addr + "/hooks"
}
