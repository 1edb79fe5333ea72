package nodetest_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func values(t *testing.T, ev nodetest.Event) []any {
	t.Helper()
	v, err := ev.Values()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func decode(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	v, err := nodetest.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPeerClients drives one Node peer and stock clients over every transport
// combination: room broadcast with binary and exact numbers, exclusion proven
// by a later marker, client→server acks, and fetchSockets.
func TestPeerClients(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL(), Namespaces: []string{"/", "/admin"}})
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{
		URL: peer.URL(),
		Clients: []nodetest.ClientConfig{
			{Name: "ws", Rooms: []string{"r1"}, Data: map[string]any{"user": "u1"}},
			{Name: "poll", Rooms: []string{"r2"}, Transports: []string{"polling"}},
			{Name: "upgrade", Nsp: "/admin", Transports: []string{"polling", "websocket"}, Query: map[string]string{"q": "1"}},
		},
	})
	ctx := testContext(t)

	if err := peer.Emit(ctx, nodetest.Target{To: []string{"r1"}}, "hello", 1.5, []byte{1, 2, 3}, map[string]any{"big": 4294967296, "neg": -33}); err != nil {
		t.Fatal(err)
	}
	if err := peer.Emit(ctx, nodetest.Target{}, "marker"); err != nil {
		t.Fatal(err)
	}
	ev, err := cl.WaitEvent(ctx, "ws", "hello")
	if err != nil {
		t.Fatal(err)
	}
	want := []any{json.Number("1.5"), []byte{1, 2, 3}, map[string]any{"big": json.Number("4294967296"), "neg": json.Number("-33")}}
	if diff := cmp.Diff(want, values(t, ev)); diff != "" {
		t.Errorf("hello args (-want +got):\n%s", diff)
	}
	if _, err := cl.WaitEvent(ctx, "poll", "marker"); err != nil {
		t.Fatal(err)
	}
	// Socket.IO keeps order per connection: had "poll" got "hello", it would be queued before "marker".
	if got := cl.PendingEvents("poll"); len(got) != 0 {
		t.Errorf("poll received events outside its rooms: %+v", got)
	}
	if _, err := cl.WaitEvent(ctx, "ws", "marker"); err != nil {
		t.Fatal(err)
	}
	if got := cl.PendingEvents("upgrade"); len(got) != 0 {
		t.Errorf("a client of /admin received events of /: %+v", got)
	}

	acks, err := cl.EmitWithAck(ctx, "upgrade", 5*time.Second, "ask", "x", []byte{9})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{map[string]any{"ok": true, "peer": "peer"}}, decodeAll(t, acks)); diff != "" {
		t.Errorf("client ack (-want +got):\n%s", diff)
	}
	l, err := peer.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "clientEvent" && l.Str("event") == "ask" })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Str("id"), cl.ID("upgrade"); got != want {
		t.Errorf("clientEvent id = %q, want %q", got, want)
	}

	socks, err := peer.FetchSockets(ctx, nodetest.Target{To: []string{"r1", "r2"}})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(socks, func(a, b nodetest.RemoteSocket) int { return compareStrings(a.ID, b.ID) })
	wantIDs := []string{cl.ID("ws"), cl.ID("poll")}
	slices.Sort(wantIDs)
	var gotIDs []string
	for _, s := range socks {
		gotIDs = append(gotIDs, s.ID)
		if s.ID == cl.ID("ws") {
			if diff := cmp.Diff(map[string]any{"user": "u1"}, decode(t, s.Data)); diff != "" {
				t.Errorf("ws data (-want +got):\n%s", diff)
			}
			if got, want := s.Rooms, []string{cl.ID("ws"), "r1"}; !cmp.Equal(sorted(got), sorted(want)) {
				t.Errorf("ws rooms = %v, want %v", got, want)
			}
		}
	}
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Errorf("fetchSockets ids (-want +got):\n%s", diff)
	}

	admin, err := peer.FetchSockets(ctx, nodetest.Target{Nsp: "/admin"})
	if err != nil {
		t.Fatal(err)
	}
	if len(admin) != 1 || admin[0].Handshake.Query["q"] != "1" {
		t.Errorf("fetchSockets /admin = %+v, want one socket with query q=1", admin)
	}
	if _, err := cl.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "upgrade" && l.Str("client") == "upgrade" }); err != nil {
		t.Errorf("the polling+websocket client did not upgrade: %v", err)
	}
}

// TestRejectedClient checks connect_error reporting with a peer that refuses
// the connection in its middleware.
func TestRejectedClient(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL()})
	cl := nodetest.StartClientsAsync(t, nodetest.ClientsConfig{
		URL: peer.URL(),
		Clients: []nodetest.ClientConfig{
			{Name: "bad", Auth: map[string]any{"reject": map[string]any{"message": "not authorized", "data": map[string]any{"code": 42}}}},
		},
	})
	msg, data, err := cl.WaitConnectError(testContext(t), "bad")
	if err != nil {
		t.Fatal(err)
	}
	if msg != "not authorized" || string(data) != `{"code":42}` {
		t.Errorf("connect_error = %q %s, want \"not authorized\" {\"code\":42}", msg, data)
	}
}

// TestNodeEmitter checks that emit.js operations reach clients of a Node peer.
func TestNodeEmitter(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL(), ServerEvents: []string{"ping"}})
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{
		URL:     peer.URL(),
		Clients: []nodetest.ClientConfig{{Name: "c1", Rooms: []string{"r1"}}, {Name: "c2"}},
	})
	ctx := testContext(t)

	err := nodetest.RunEmitter(t, nodetest.EmitterConfig{Redis: srv.URL(), Ops: []nodetest.EmitterOp{
		{Op: "emit", To: []string{"r1"}, Event: "fromEmitter", Args: []any{"é", []byte{0xca, 0xfe}, -1.25}},
		{Op: "socketsJoin", Except: []string{"r1"}, Rooms: []string{"joined"}},
		{Op: "serverSideEmit", Event: "ping", Args: []any{1, map[string]any{"x": "y"}}},
		{Op: "emit", Event: "marker"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := cl.WaitEvent(ctx, "c1", "fromEmitter")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"é", []byte{0xca, 0xfe}, json.Number("-1.25")}, values(t, ev)); diff != "" {
		t.Errorf("fromEmitter args (-want +got):\n%s", diff)
	}
	if _, err := cl.WaitEvent(ctx, "c2", "marker"); err != nil {
		t.Fatal(err)
	}
	if got := cl.PendingEvents("c2"); len(got) != 0 {
		t.Errorf("c2 (not in r1) received %+v", got)
	}
	sse, err := peer.WaitServerSideEmit(ctx, "/", "ping")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{json.Number("1"), map[string]any{"x": "y"}}, decodeAll(t, sse.Args)); diff != "" {
		t.Errorf("serverSideEmit args (-want +got):\n%s", diff)
	}
	// The join request was published before the server-side emit, and the peer
	// handles its request channel in order, so it has been applied by now.
	socks, err := peer.FetchSockets(ctx, nodetest.Target{To: []string{"joined"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 1 || socks[0].ID != cl.ID("c2") {
		t.Errorf("sockets in \"joined\" = %+v, want only c2 (%s)", socks, cl.ID("c2"))
	}

	if err := nodetest.RunEmitter(t, nodetest.EmitterConfig{Redis: srv.URL(), Ops: []nodetest.EmitterOp{{Op: "emit", Event: "connect"}}}); err == nil {
		t.Error("emitting the reserved event \"connect\" succeeded, want the emitter's error")
	}
}

// TestTwoPeers checks the cross-node requests of the classic adapter between
// two Node peers; TestTwoPeersSharded does the same for the sharded adapter.
func TestTwoPeers(t *testing.T) {
	t.Parallel()
	testTwoPeers(t, nodetest.PeerConfig{})
}

func TestTwoPeersSharded(t *testing.T) {
	t.Parallel()
	testTwoPeers(t, nodetest.PeerConfig{Mode: "sharded"})
}

func testTwoPeers(t *testing.T, base nodetest.PeerConfig) {
	srv := redistest.Start(t)
	base.Redis = srv.URL()
	base.Key = redistest.UniquePrefix(t)
	base.ServerEvents = []string{"ping"}
	cfgA, cfgB := base, base
	cfgA.Name, cfgB.Name = "A", "B"
	a := nodetest.StartPeer(t, cfgA)
	b := nodetest.StartPeer(t, cfgB)
	ca := nodetest.StartClients(t, nodetest.ClientsConfig{URL: a.URL(), Clients: []nodetest.ClientConfig{{Name: "a1", Rooms: []string{"room", "onlyA"}}}})
	cb := nodetest.StartClients(t, nodetest.ClientsConfig{URL: b.URL(), Clients: []nodetest.ClientConfig{{Name: "b1", Rooms: []string{"room"}, Data: 7}}})
	ctx := testContext(t)

	if n, err := a.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("serverCount = %d, %v; want 2", n, err)
	}

	// A single-room broadcast: in sharded dynamic mode this goes to the room
	// channel, which B subscribed when b1 joined.
	if err := a.Emit(ctx, nodetest.Target{To: []string{"room"}}, "news", "n1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cl   *nodetest.Clients
		name string
	}{{ca, "a1"}, {cb, "b1"}} {
		ev, err := c.cl.WaitEvent(ctx, c.name, "news")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]any{"n1"}, values(t, ev)); diff != "" {
			t.Errorf("%s news (-want +got):\n%s", c.name, diff)
		}
	}

	socks, err := a.FetchSockets(ctx, nodetest.Target{To: []string{"room"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range socks {
		got[s.ID] = string(s.Data)
	}
	want := map[string]string{ca.ID("a1"): "{}", cb.ID("b1"): "7"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fetchSockets id→data (-want +got):\n%s", diff)
	}

	acks, err := a.EmitWithAck(ctx, nodetest.Target{}, 5*time.Second, "q", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"ok":true,"client":"a1"}`, `{"ok":true,"client":"b1"}`}, sortedRaw(acks)); diff != "" {
		t.Errorf("emitWithAck acks (-want +got):\n%s", diff)
	}

	if err := a.ServerSideEmit(ctx, "/", "ping", "hi", []byte{7}); err != nil {
		t.Fatal(err)
	}
	sse, err := b.WaitServerSideEmit(ctx, "/", "ping")
	if err != nil {
		t.Fatal(err)
	}
	// The classic adapter sends SERVER_SIDE_EMIT as JSON text, so a Buffer
	// arrives as Buffer.toJSON() output; the sharded adapter switches to
	// msgpack when the data holds binary, which keeps it a Buffer.
	var wantBin any = []byte{7}
	if base.Mode == "" {
		wantBin = map[string]any{"type": "Buffer", "data": []any{json.Number("7")}}
	}
	if diff := cmp.Diff([]any{"hi", wantBin}, decodeAll(t, sse.Args)); diff != "" {
		t.Errorf("serverSideEmit at B (-want +got):\n%s", diff)
	}
	replies, err := a.ServerSideEmitWithAck(ctx, "/", "ping")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"ok":true,"peer":"B"}`}, sortedRaw(replies)); diff != "" {
		t.Errorf("serverSideEmitWithAck replies (-want +got):\n%s", diff)
	}

	if base.Mode == "" {
		rooms, err := a.AllRooms(ctx, "/")
		if err != nil {
			t.Fatal(err)
		}
		if want := sorted([]string{"room", "onlyA", ca.ID("a1"), cb.ID("b1")}); !cmp.Equal(want, sorted(rooms)) {
			t.Errorf("allRooms = %v, want %v", sorted(rooms), want)
		}
	}

	// B disconnects the sockets in "onlyA" (on A) with a cross-node request.
	if err := b.DisconnectSockets(ctx, nodetest.Target{To: []string{"onlyA"}}, false); err != nil {
		t.Fatal(err)
	}
	if reason, err := ca.WaitDisconnect(ctx, "a1"); err != nil || reason != "io server disconnect" {
		t.Errorf("a1 disconnect = %q, %v; want \"io server disconnect\"", reason, err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitServerCount(ctx, t, b, 1)
}

// waitServerCount polls p's serverCount until it is want (Redis drops a
// closed connection's subscriptions asynchronously).
func waitServerCount(ctx context.Context, t *testing.T, p *nodetest.Peer, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := p.ServerCount(ctx, "/")
		if err != nil {
			t.Fatal(err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("serverCount = %d, want %d", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGoldenBytes captures what the Node adapter (with a forced uid) and the
// Node emitter publish and compares with the spec's vectors V10 and V1.
func TestGoldenBytes(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := testContext(t)
	sub := rdb.PSubscribe(ctx, "socket.io#/#*")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the PSUBSCRIBE confirmation
		t.Fatal(err)
	}
	msgs := sub.Channel()
	next := func() (string, string) {
		t.Helper()
		select {
		case m := <-msgs:
			return m.Channel, hex.EncodeToString([]byte(m.Payload))
		case <-ctx.Done():
			t.Fatal("no message published")
			return "", ""
		}
	}

	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL(), UID: "AAAAAA"})
	if got := peer.UID("/"); got != "AAAAAA" {
		t.Fatalf("UID = %q", got)
	}
	if err := peer.Emit(ctx, nodetest.Target{}, "hello", "world"); err != nil {
		t.Fatal(err)
	}
	ch, b := next()
	if want := "93a641414141414183a47479706502a46461746192a568656c6c6fa5776f726c64a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380"; ch != "socket.io#/#" || b != want {
		t.Errorf("adapter emit: %s %s\nwant socket.io#/# %s", ch, b, want)
	}

	if err := nodetest.RunEmitter(t, nodetest.EmitterConfig{Redis: srv.URL(), Ops: []nodetest.EmitterOp{{Op: "emit", Event: "hello", Args: []any{"world"}}}}); err != nil {
		t.Fatal(err)
	}
	ch, b = next()
	if want := "93a7656d697474657283a47479706502a46461746192a568656c6c6fa5776f726c64a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490"; ch != "socket.io#/#" || b != want {
		t.Errorf("emitter emit: %s %s\nwant socket.io#/# %s", ch, b, want)
	}

	// The forced uid is fully functional: the peer still answers requests.
	if n, err := peer.ServerCount(ctx, "/"); err != nil || n != 1 {
		t.Errorf("serverCount = %d, %v; want 1", n, err)
	}
}

func decodeAll(t *testing.T, raws []json.RawMessage) []any {
	t.Helper()
	v, err := nodetest.DecodeArgs(raws)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sortedRaw(raws []json.RawMessage) []string {
	out := make([]string, len(raws))
	for i, r := range raws {
		out[i] = string(r)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestCluster runs two peers on a 3-master Redis Cluster through node-redis's
// cluster client, in both adapter modes.
func TestCluster(t *testing.T) {
	t.Parallel()
	cluster := redistest.StartCluster(t, 3)
	for _, mode := range []string{"classic", "sharded", "streams"} {
		t.Run(mode, func(t *testing.T) {
			cfg := nodetest.PeerConfig{Cluster: cluster.Addrs(), Mode: mode, Key: redistest.UniquePrefix(t)}
			if mode == "streams" {
				cfg.Streams = nodetest.StreamsOptions{StreamName: cfg.Key, StreamCount: 3, UseShardedPubSub: true}
			}
			a := nodetest.StartPeer(t, cfg)
			b := nodetest.StartPeer(t, cfg)
			cb := nodetest.StartClients(t, nodetest.ClientsConfig{URL: b.URL(), Clients: []nodetest.ClientConfig{{Name: "b1", Rooms: []string{"room"}}}})
			ctx := testContext(t)
			if n, err := a.ServerCount(ctx, "/"); err != nil || n != 2 {
				t.Fatalf("serverCount = %d, %v; want 2", n, err)
			}
			if err := a.Emit(ctx, nodetest.Target{To: []string{"room"}}, "news", 1); err != nil {
				t.Fatal(err)
			}
			if _, err := cb.WaitEvent(ctx, "b1", "news"); err != nil {
				t.Fatal(err)
			}
			socks, err := a.FetchSockets(ctx, nodetest.Target{})
			if err != nil {
				t.Fatal(err)
			}
			if len(socks) != 1 || socks[0].ID != cb.ID("b1") {
				t.Errorf("fetchSockets = %+v, want b1 only", socks)
			}
		})
	}
}

// TestGoldenBytesSharded captures a sharded peer's SPUBLISH with a forced uid
// (spec vector V19) and checks that the forced uid's response channel works.
func TestGoldenBytesSharded(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := testContext(t)
	sub := srv.Client(t).SSubscribe(ctx, "socket.io#/#")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the SSUBSCRIBE confirmation
		t.Fatal(err)
	}
	msgs := sub.Channel()

	a := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL(), Mode: "sharded", UID: "0123456789abcdef"})
	if err := a.Emit(ctx, nodetest.Target{}, "hello", "world"); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-msgs:
		want := `{"type":3,"data":{"packet":{"type":2,"data":["hello","world"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}`
		if m.Payload != want {
			t.Errorf("sharded emit:\n got %s\nwant %s", m.Payload, want)
		}
	case <-ctx.Done():
		t.Fatal("no message published")
	}

	// B answers A's fetchSockets on socket.io#/#0123456789abcdef#, which A
	// subscribed when its uid was replaced. The spy must go first: SHARDNUMSUB
	// counts it as a server.
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	b := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: srv.URL(), Mode: "sharded"})
	cb := nodetest.StartClients(t, nodetest.ClientsConfig{URL: b.URL(), Clients: []nodetest.ClientConfig{{Name: "b1"}}})
	waitServerCount(ctx, t, a, 2)
	socks, err := a.FetchSockets(ctx, nodetest.Target{})
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 1 || socks[0].ID != cb.ID("b1") {
		t.Errorf("fetchSockets = %+v, want b1 only", socks)
	}
}
