package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

// streamsPeer starts a Node server with @socket.io/redis-streams-adapter
// (two streams, sharded pub/sub, prefix key) and clients of it: c1 in room
// r1 of "/", c2 in "/admin".
func streamsPeer(t *testing.T, srv *redistest.Server, key string) (*nodetest.Peer, *nodetest.Clients) {
	t.Helper()
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL(), Mode: "streams", Key: key,
		Streams:    nodetest.StreamsOptions{StreamCount: 2, UseShardedPubSub: true},
		Namespaces: []string{"/", "/admin"}, ServerEvents: []string{"ping"}})
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{
		{Name: "c1", Rooms: []string{"r1"}}, {Name: "c2", Nsp: "/admin"}}})
	return peer, cl
}

func wantEvent(ctx context.Context, t *testing.T, cl *nodetest.Clients, client, event string, args ...any) {
	t.Helper()
	ev, err := cl.WaitEvent(ctx, client, event)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ev.Values()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(args, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s %s (-want +got):\n%s", client, event, d)
	}
}

// TestEmitStreams: `siorelay emit --adapter streams` reaches clients of a
// Node server that uses the streams adapter.
func TestEmitStreams(t *testing.T) {
	srv := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	peer, cl := streamsPeer(t, srv, key)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	code, stdout, stderr := runCmd(t, "emit", "--redis", srv.URL(), "--adapter", "streams", "--stream-count", "2", "--sharded",
		"--key", key, "--to", "r1", "hello", `"x"`, `[true]`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := `added "hello" to stream ` + peer.Stream("/"); !strings.Contains(stdout, want) {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	wantEvent(ctx, t, cl, "c1", "hello", "x", []any{true})

	// The same from the environment, into another namespace.
	t.Setenv("SIORELAY_ADAPTER", "streams")
	t.Setenv("SIORELAY_STREAM_COUNT", "2")
	t.Setenv("SIORELAY_KEY", key)
	if code, _, stderr := runCmd(t, "emit", "--redis", srv.URL(), "--nsp", "/admin", "adm", "1"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wantEvent(ctx, t, cl, "c2", "adm", json.Number("1"))
}

func TestEmitStreamsErrors(t *testing.T) {
	srv := redistest.Start(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--stream-count", "2"}, "--stream-count needs --adapter streams"},
		{[]string{"--stream-name", "s"}, "--stream-name needs --adapter streams"},
		{[]string{"--adapter", "kafka"}, `invalid --adapter "kafka"`},
		{[]string{"--adapter", "streams", "--stream-count", "0"}, "--stream-count and --stream-max-len must be at least 1"},
		{[]string{"--adapter", "streams", "--sharded", "--subscription-mode", "static"}, "SubscriptionMode does not apply to streams"},
	} {
		code, _, stderr := runCmd(t, append(append([]string{"emit", "--redis", srv.URL()}, tt.args...), "ev")...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	if n, err := srv.Client(t).DBSize(context.Background()).Result(); err != nil || n != 0 {
		t.Errorf("DBSIZE = %d, %v: something was written", n, err)
	}
}

// TestEmitterSidecarStreams: the gRPC sidecar with --adapter streams, every
// call type, into a Node server with the streams adapter.
func TestEmitterSidecarStreams(t *testing.T) {
	srv := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	peer, cl := streamsPeer(t, srv, key)
	sc := startSidecar(t, "--grpc-addr", "127.0.0.1:0", "--redis", srv.URL(), "--key", key,
		"--adapter", "streams", "--stream-count", "2", "--sharded", "--stream-max-len", "1000")
	client := siorelayv1.NewEmitterServiceClient(dialInsecure(t, sc.addr))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	jsonArg := func(s string) *siorelayv1.Arg { return &siorelayv1.Arg{Value: &siorelayv1.Arg_Json{Json: s}} }

	if _, err := client.Emit(ctx, &siorelayv1.EmitRequest{Target: &siorelayv1.Target{Rooms: []string{"r1"}}, Event: "e",
		Args: []*siorelayv1.Arg{jsonArg(`{"a":1}`), {Value: &siorelayv1.Arg_Binary{Binary: []byte{1, 2}}}}}); err != nil {
		t.Fatal(err)
	}
	wantEvent(ctx, t, cl, "c1", "e", map[string]any{"a": json.Number("1")}, []byte{1, 2})

	if _, err := client.SocketsJoin(ctx, &siorelayv1.SocketsJoinRequest{Target: &siorelayv1.Target{Namespace: "/admin"}, Rooms: []string{"joined"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.EmitBatch(ctx, &siorelayv1.EmitBatchRequest{Events: []*siorelayv1.EmitRequest{
		{Target: &siorelayv1.Target{Namespace: "/admin", Rooms: []string{"joined"}}, Event: "b1"},
		{Target: &siorelayv1.Target{Namespace: "/admin", Rooms: []string{"joined"}}, Event: "b2", Args: []*siorelayv1.Arg{jsonArg(`2`)}},
	}}); err != nil {
		t.Fatal(err)
	}
	wantEvent(ctx, t, cl, "c2", "b1")
	wantEvent(ctx, t, cl, "c2", "b2", json.Number("2"))

	if _, err := client.ServerSideEmit(ctx, &siorelayv1.ServerSideEmitRequest{Event: "ping", Args: []*siorelayv1.Arg{jsonArg(`"hi"`)}}); err != nil {
		t.Fatal(err)
	}
	sse, err := peer.WaitServerSideEmit(ctx, "/", "ping")
	if err != nil || len(sse.Args) != 1 || string(sse.Args[0]) != `"hi"` {
		t.Errorf("server-side emit: %+v %v", sse, err)
	}

	if _, err := client.DisconnectSockets(ctx, &siorelayv1.DisconnectSocketsRequest{Target: &siorelayv1.Target{Rooms: []string{"r1"}}}); err != nil {
		t.Fatal(err)
	}
	if reason, err := cl.WaitDisconnect(ctx, "c1"); err != nil || reason != "io server disconnect" {
		t.Errorf("c1 disconnect: %q %v", reason, err)
	}
	if n, err := srv.Client(t).XLen(ctx, peer.Stream("/admin")).Result(); err != nil || n < 3 {
		t.Errorf("XLEN %s = %d, %v", peer.Stream("/admin"), n, err)
	}
}
