package emittergrpc_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/emittergrpc"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

// TestEndToEndNode drives the whole path a non-Go backend uses: a gRPC
// client over a real TCP listener → the service → Redis → a real Node
// socket.io 4.8.4 server with @socket.io/redis-adapter → real
// socket.io-client clients, and checks what the clients receive.
// It runs against both adapters: createAdapter (PUBLISH) and
// createShardedAdapter (SPUBLISH, the sidecar's --sharded).
func TestEndToEndNode(t *testing.T) {
	rs := redistest.Start(t)
	t.Run("classic", func(t *testing.T) { endToEnd(t, rs, false) })
	t.Run("sharded", func(t *testing.T) { endToEnd(t, rs, true) })
}

func endToEnd(t *testing.T, rs *redistest.Server, sharded bool) {
	key := redistest.UniquePrefix(t)
	mode := "classic"
	if sharded {
		mode = "sharded"
	}
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{
		Redis: rs.URL(), Key: key, Mode: mode, Namespaces: []string{"/", "/admin"}, ServerEvents: []string{"ping"},
	})
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{
		{Name: "c1", Rooms: []string{"r1"}},
		{Name: "c2", Rooms: []string{"r1", "r2"}},
		{Name: "c3"},
		{Name: "admin", Nsp: "/admin", Rooms: []string{"a"}},
	}})

	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { rdb.Close() })
	em, err := emitter.New(rdb, emitter.Config{Key: key, Sharded: sharded})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := emittergrpc.NewServer(emittergrpc.Config{
		Backend: emittergrpc.NewEmitterBackend(em),
		Ping:    func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
	})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := siorelayv1.NewEmitterServiceClient(conn)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	wantArgs := func(ev nodetest.Event, want ...any) {
		t.Helper()
		got, err := ev.Values()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s got %s args (-want +got):\n%s", ev.Client, ev.Event, diff)
		}
	}
	// marker emits to everyone in / and waits until each of clients got
	// it; whatever those clients have not consumed by then was delivered
	// before it.
	marker := func(clients ...string) {
		t.Helper()
		if _, err := c.Emit(ctx, &siorelayv1.EmitRequest{Event: "marker"}); err != nil {
			t.Fatal(err)
		}
		for _, name := range clients {
			if _, err := cl.WaitEvent(ctx, name, "marker"); err != nil {
				t.Fatalf("%s: marker: %v", name, err)
			}
		}
	}
	noPending := func(clients ...string) {
		t.Helper()
		for _, name := range clients {
			if p := cl.PendingEvents(name); len(p) > 0 {
				t.Errorf("%s received unexpected events: %+v", name, p)
			}
		}
	}

	// Emit with a JSON and a binary argument to r1 except r2: only c1.
	if _, err := c.Emit(ctx, &siorelayv1.EmitRequest{
		Target: &siorelayv1.Target{Rooms: []string{"r1"}, ExceptRooms: []string{"r2"}},
		Event:  "chat",
		Args:   []*siorelayv1.Arg{jsonArg(`"hi"`), binArg([]byte{1, 2, 3}), jsonArg(`{"n":[1,true,null]}`)},
	}); err != nil {
		t.Fatal(err)
	}
	ev, err := cl.WaitEvent(ctx, "c1", "chat")
	if err != nil {
		t.Fatal(err)
	}
	wantArgs(ev, "hi", []byte{1, 2, 3}, map[string]any{"n": []any{jsonNumber("1"), true, nil}})
	marker("c1", "c2", "c3")
	noPending("c1", "c2", "c3", "admin")

	// SocketsJoin r2 → r3, then Emit to r3: only c2 (the one in r2).
	if _, err := c.SocketsJoin(ctx, &siorelayv1.SocketsJoinRequest{Target: &siorelayv1.Target{Rooms: []string{"r2"}}, Rooms: []string{"r3"}}); err != nil {
		t.Fatal(err)
	}
	if sharded {
		// The sharded adapter subscribes to a room's own channel when a
		// local socket joins it, after the join request arrived; an emit
		// published before that SSUBSCRIBE is lost (Node's behaviour too).
		waitShardSubscribed(ctx, t, rdb, key+"#/#r3#")
	}
	if _, err := c.Emit(ctx, &siorelayv1.EmitRequest{Target: &siorelayv1.Target{Rooms: []string{"r3"}}, Event: "joined", Args: []*siorelayv1.Arg{jsonArg("1")}}); err != nil {
		t.Fatal(err)
	}
	ev, err = cl.WaitEvent(ctx, "c2", "joined")
	if err != nil {
		t.Fatal(err)
	}
	wantArgs(ev, jsonNumber("1"))
	marker("c1", "c2", "c3")
	noPending("c1", "c2", "c3", "admin")

	// SocketsLeave r3, then Emit to r3: nobody.
	if _, err := c.SocketsLeave(ctx, &siorelayv1.SocketsLeaveRequest{Target: &siorelayv1.Target{Rooms: []string{"r2"}}, Rooms: []string{"r3"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Emit(ctx, &siorelayv1.EmitRequest{Target: &siorelayv1.Target{Rooms: []string{"r3"}}, Event: "left"}); err != nil {
		t.Fatal(err)
	}
	marker("c1", "c2", "c3")
	noPending("c1", "c2", "c3", "admin")

	// The stream path, to a room of another namespace.
	stream, err := c.EmitStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := stream.Send(&siorelayv1.EmitStreamRequest{Events: []*siorelayv1.EmitRequest{{
			Target: &siorelayv1.Target{Namespace: "/admin", Rooms: []string{"a"}}, Event: "streamed",
			Args: []*siorelayv1.Arg{jsonArg(string(rune('0' + i)))},
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	if resp, err := stream.CloseAndRecv(); err != nil || resp.GetCount() != 3 {
		t.Fatalf("EmitStream: %v, %v", resp, err)
	}
	for i := range 3 {
		ev, err := cl.WaitEvent(ctx, "admin", "streamed")
		if err != nil {
			t.Fatal(err)
		}
		wantArgs(ev, jsonNumber(string(rune('0'+i))))
	}

	// ServerSideEmit reaches the peer's listener.
	if _, err := c.ServerSideEmit(ctx, &siorelayv1.ServerSideEmitRequest{Namespace: "/", Event: "ping", Args: []*siorelayv1.Arg{jsonArg("42")}}); err != nil {
		t.Fatal(err)
	}
	sse, err := peer.WaitServerSideEmit(ctx, "/", "ping")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := nodetest.DecodeArgs(sse.Args); !cmp.Equal(got, []any{jsonNumber("42")}) {
		t.Errorf("server-side emit args = %v, want [42]", got)
	}

	// DisconnectSockets of r1 with close: c1 and c2 go, c3 stays.
	if _, err := c.DisconnectSockets(ctx, &siorelayv1.DisconnectSocketsRequest{Target: &siorelayv1.Target{Rooms: []string{"r1"}}, Close: true}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"c1", "c2"} {
		reason, err := cl.WaitDisconnect(ctx, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if reason != "transport close" && reason != "io server disconnect" {
			t.Errorf("%s disconnected with %q", name, reason)
		}
	}
	marker("c3")
}

// waitShardSubscribed polls PUBSUB SHARDNUMSUB until channel has a
// subscriber.
func waitShardSubscribed(ctx context.Context, t *testing.T, rdb *redis.Client, channel string) {
	t.Helper()
	for {
		res, err := rdb.Do(ctx, "PUBSUB", "SHARDNUMSUB", channel).Slice()
		if err != nil {
			t.Fatalf("PUBSUB SHARDNUMSUB: %v", err)
		}
		if len(res) == 2 {
			if n, ok := res[1].(int64); ok && n > 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nobody subscribed to %s", channel)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// jsonNumber is how nodetest.Decode returns numbers.
func jsonNumber(s string) json.Number { return json.Number(s) }
