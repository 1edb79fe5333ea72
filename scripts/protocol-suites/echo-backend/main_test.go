package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

var testBackend = backend{log: slog.New(slog.DiscardHandler)}

func binArg(b ...byte) *siorelayv1.Arg {
	return &siorelayv1.Arg{Value: &siorelayv1.Arg_Binary{Binary: b}}
}

// TestGRPC calls the backend over a real gRPC connection (in memory) with
// what the suite sends.
func TestGRPC(t *testing.T) {
	ln := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	siorelayv1.RegisterBackendServiceServer(gs, testBackend)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	c := siorelayv1.NewBackendServiceClient(cc)
	ctx := context.Background()

	cr, err := c.Connect(ctx, &siorelayv1.ConnectRequest{SocketId: "s1", Namespace: "/custom", Auth: `{"token":"abc"}`})
	if err != nil {
		t.Fatal(err)
	}
	want := &siorelayv1.ConnectResponse{Allow: true, Emits: []*siorelayv1.SocketEmit{{Event: "auth", Args: []*siorelayv1.Arg{jsonArg(`{"token":"abc"}`)}}}}
	if d := cmp.Diff(want, cr, protocmp.Transform()); d != "" {
		t.Errorf("Connect (-want +got):\n%s", d)
	}

	args := []*siorelayv1.Arg{jsonArg("1"), jsonArg(`"2"`), binArg(1, 2, 3), binArg()}
	er, err := c.Event(ctx, &siorelayv1.EventRequest{SocketId: "s1", Namespace: "/", Event: "message", Args: args})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&siorelayv1.EventResponse{Emits: []*siorelayv1.SocketEmit{{Event: "message-back", Args: args}}}, er, protocmp.Transform()); d != "" {
		t.Errorf("Event message (-want +got):\n%s", d)
	}

	er, err = c.Event(ctx, &siorelayv1.EventRequest{SocketId: "s1", Namespace: "/", Event: "message-with-ack", Args: args, AckRequested: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&siorelayv1.EventResponse{Ack: args}, er, protocmp.Transform()); d != "" {
		t.Errorf("Event message-with-ack (-want +got):\n%s", d)
	}

	er, err = c.Event(ctx, &siorelayv1.EventRequest{SocketId: "s1", Namespace: "/", Event: "other", AckRequested: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&siorelayv1.EventResponse{}, er, protocmp.Transform()); d != "" {
		t.Errorf("Event other (-want +got):\n%s", d)
	}
	if _, err := c.Disconnect(ctx, &siorelayv1.DisconnectRequest{SocketId: "s1", Namespace: "/", Reason: "transport close"}); err != nil {
		t.Fatal(err)
	}
}

// TestHTTP posts protobuf JSON bodies as the relay's HTTP hooks do and
// checks the JSON answers, binary included.
func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(httpHandler(testBackend))
	t.Cleanup(srv.Close)
	post := func(path, body string) (int, string) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		path, body string
		want       any // a response message, or an int status for a failure
	}{
		{"/connect", `{"socketId":"s1","namespace":"/","auth":"{}","futureField":1}`,
			&siorelayv1.ConnectResponse{Allow: true, Emits: []*siorelayv1.SocketEmit{{Event: "auth", Args: []*siorelayv1.Arg{jsonArg("{}")}}}}},
		{"/connect", `{"socketId":"s1","namespace":"/"}`,
			&siorelayv1.ConnectResponse{Allow: true, Emits: []*siorelayv1.SocketEmit{{Event: "auth", Args: []*siorelayv1.Arg{jsonArg("{}")}}}}},
		{"/event", `{"socketId":"s1","namespace":"/","event":"message","args":[{"json":"{\"3\":[true]}"},{"binary":"AQID"}]}`,
			&siorelayv1.EventResponse{Emits: []*siorelayv1.SocketEmit{{Event: "message-back", Args: []*siorelayv1.Arg{jsonArg(`{"3":[true]}`), binArg(1, 2, 3)}}}}},
		{"/event", `{"socketId":"s1","namespace":"/","event":"message-with-ack","ackRequested":true,"args":[{"binary":"BAUG"}]}`,
			&siorelayv1.EventResponse{Ack: []*siorelayv1.Arg{binArg(4, 5, 6)}}},
		{"/disconnect", `{"socketId":"s1","namespace":"/","reason":"transport close"}`, &siorelayv1.DisconnectResponse{}},
		{"/event", `{"args":`, http.StatusBadRequest},
		{"/nothing", `{}`, http.StatusNotFound},
	}
	for _, c := range cases {
		code, body := post(c.path, c.body)
		if want, ok := c.want.(int); ok {
			if code != want {
				t.Errorf("POST %s %s: status %d, want %d", c.path, c.body, code, want)
			}
			continue
		}
		if code != http.StatusOK {
			t.Errorf("POST %s %s: status %d (%s)", c.path, c.body, code, body)
			continue
		}
		want := c.want.(proto.Message)
		got := want.ProtoReflect().New().Interface()
		if err := protojson.Unmarshal([]byte(body), got); err != nil {
			t.Fatalf("POST %s: answer %q: %v", c.path, body, err)
		}
		if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
			t.Errorf("POST %s %s (-want +got):\n%s", c.path, c.body, d)
		}
	}
}

// recordingEmitter is an EmitterService that hands every call to calls.
type recordingEmitter struct {
	siorelayv1.UnimplementedEmitterServiceServer
	calls chan proto.Message
}

func (r recordingEmitter) Emit(ctx context.Context, req *siorelayv1.EmitRequest) (*siorelayv1.EmitResponse, error) {
	r.calls <- req
	return &siorelayv1.EmitResponse{}, nil
}

// TestAuthDelay checks --auth-delay: Connect answers with no emits and
// "auth" goes to the socket's own room later, through the EmitterService.
func TestAuthDelay(t *testing.T) {
	ln := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	rec := recordingEmitter{calls: make(chan proto.Message, 4)}
	siorelayv1.RegisterEmitterServiceServer(gs, rec)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	b := testBackend
	b.later = &laterAuth{delay: time.Millisecond, emitter: siorelayv1.NewEmitterServiceClient(cc), log: b.log}

	resp, err := b.Connect(context.Background(), &siorelayv1.ConnectRequest{SocketId: "sid1", Namespace: "/custom", Auth: `{"token":"abc"}`})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&siorelayv1.ConnectResponse{Allow: true}, resp, protocmp.Transform()); d != "" {
		t.Fatalf("Connect (-want +got):\n%s", d)
	}
	target := &siorelayv1.Target{Namespace: "/custom", Rooms: []string{"sid1"}}
	want := []proto.Message{
		&siorelayv1.EmitRequest{Target: target, Event: "auth", Args: []*siorelayv1.Arg{jsonArg(`{"token":"abc"}`)}},
	}
	for i, w := range want {
		select {
		case got := <-rec.calls:
			if d := cmp.Diff(w, got, protocmp.Transform()); d != "" {
				t.Errorf("call %d (-want +got):\n%s", i, d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("call %d (%T) did not come", i, w)
		}
	}
}
