package relay_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
	"github.com/siorelay/siorelay/relay"
)

// serverSideEvents records what a relay's OnServerSideEmit received.
type serverSideEvents struct {
	mu  sync.Mutex
	evs []relay.Event
	ch  chan relay.Event
}

// clusterRelay starts a relay that is a member of the Redis adapter cluster
// behind rdb (key prefix key). Like peer.js, it joins auth.rooms and sets
// socket.data to auth.data on connect, and acks server-side emits with
// {"relay":name}. It returns once its subscriptions are confirmed.
func clusterRelay(t *testing.T, rdb redis.UniversalClient, key, name string, mod func(*relay.Config)) (*relay.Server, string, chan relay.Event) {
	t.Helper()
	sse := make(chan relay.Event, 16)
	cfg := relay.Config{
		Redis:      rdb,
		Key:        key,
		Namespaces: []string{"/", "/custom"},
		OnConnect: func(ctx context.Context, h *relay.Handshake) (relay.ConnectResult, error) {
			var auth struct {
				Rooms []string
				Data  json.RawMessage
			}
			json.Unmarshal(h.Auth, &auth)
			res := relay.ConnectResult{Rooms: auth.Rooms}
			if auth.Data != nil {
				res.Data = auth.Data
			}
			return res, nil
		},
		OnServerSideEmit: func(ctx context.Context, nsp string, ev relay.Event, ack relay.AckFunc) {
			if ack != nil {
				ack(map[string]any{"relay": name})
			}
			select {
			case sse <- ev:
			default:
			}
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, url := startRelay(t, cfg)
	waitFor(t, 10*time.Second, "relay ready", srv.Ready)
	return srv, url, sse
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustJSON(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	v, err := nodetest.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// ackClients returns the sorted names of the Node clients that sent acks
// (each acks with {"client": name, ...}).
func ackClients(t *testing.T, acks []json.RawMessage) []string {
	t.Helper()
	var got []string
	for _, a := range acks {
		m, _ := mustJSON(t, a).(map[string]any)
		got = append(got, m["client"].(string))
	}
	slices.Sort(got)
	return got
}

// TestClassicInterop runs a relay and a Node socket.io server with
// @socket.io/redis-adapter 8.3.0 (classic) on one Redis, with real
// socket.io-client clients on both, and checks every cluster operation in
// both directions.
func TestClassicInterop(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Redis: "redis://" + rs.Addr(), Key: key, Namespaces: []string{"/", "/custom"}, ServerEvents: []string{"sse"}})
	srv, url, sse := clusterRelay(t, rs.Client(t), key, "relay1", nil)

	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
		{Name: "r1", Rooms: []string{"room1"}, Data: map[string]any{"user": "alice"}},
		{Name: "r2", Transports: []string{"polling"}},
		{Name: "rc", Nsp: "/custom", Rooms: []string{"room1"}},
	}})
	nc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{
		{Name: "n1", Rooms: []string{"room1"}},
	}})
	ctx := ctxT(t, 60*time.Second)

	t.Run("serverCount", func(t *testing.T) {
		n, err := peer.ServerCount(ctx, "/")
		if err != nil || n != 2 {
			t.Fatalf("Node serverCount = %d, %v; want 2", n, err)
		}
		n, err = srv.ServerCount(ctx, "/")
		if err != nil || n != 2 {
			t.Fatalf("relay ServerCount = %d, %v; want 2", n, err)
		}
	})

	t.Run("node emit reaches relay clients", func(t *testing.T) {
		if err := peer.Emit(ctx, nodetest.Target{}, "hello", "world", []byte{1, 2, 3}, map[string]any{"n": 1.5}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"r1", "r2"} {
			ev, err := rc.WaitEvent(ctx, c, "hello")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := ev.Values()
			want := []any{"world", []byte{1, 2, 3}, map[string]any{"n": json.Number("1.5")}}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s got (-want +got):\n%s", c, d)
			}
		}
		if _, err := nc.WaitEvent(ctx, "n1", "hello"); err != nil {
			t.Fatal(err)
		}
		// to(room) except, volatile, another namespace.
		if err := peer.Emit(ctx, nodetest.Target{To: []string{"room1"}}, "roomy", 1); err != nil {
			t.Fatal(err)
		}
		if err := peer.Emit(ctx, nodetest.Target{Nsp: "/custom", To: []string{"room1"}}, "custom", 2); err != nil {
			t.Fatal(err)
		}
		if err := peer.Emit(ctx, nodetest.Target{Except: []string{"room1"}, Volatile: true}, "notroom", 3); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.WaitEvent(ctx, "r1", "roomy"); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.WaitEvent(ctx, "rc", "custom"); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.WaitEvent(ctx, "r2", "notroom"); err != nil {
			t.Fatal(err)
		}
		// A marker after everything: r2 got no "roomy", r1 no "notroom".
		if err := peer.Emit(ctx, nodetest.Target{}, "marker"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"r1", "r2"} {
			if _, err := rc.WaitEvent(ctx, c, "marker"); err != nil {
				t.Fatal(err)
			}
		}
		for _, ev := range rc.PendingEvents("") {
			if (ev.Client == "r2" && ev.Event == "roomy") || (ev.Client == "r1" && ev.Event == "notroom") || (ev.Client == "rc" && ev.Event != "custom") {
				t.Errorf("unexpected %+v", ev)
			}
		}
	})

	t.Run("relay emit reaches node clients", func(t *testing.T) {
		if err := srv.Of("/").To("room1").Emit(ctx, "fromrelay", "x", []byte{9, 8}); err != nil {
			t.Fatal(err)
		}
		ev, err := nc.WaitEvent(ctx, "n1", "fromrelay")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := ev.Values()
		if d := cmp.Diff([]any{"x", []byte{9, 8}}, got); d != "" {
			t.Errorf("n1 got (-want +got):\n%s", d)
		}
		if _, err := rc.WaitEvent(ctx, "r1", "fromrelay"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("emitters reach relay clients", func(t *testing.T) {
		err := nodetest.RunEmitter(t, nodetest.EmitterConfig{Redis: "redis://" + rs.Addr(), Key: key, Ops: []nodetest.EmitterOp{
			{Op: "emit", To: []string{"room1"}, Event: "fromnodeemitter", Args: []any{[]byte{7}}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := rc.WaitEvent(ctx, "r1", "fromnodeemitter")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := ev.Values(); !cmp.Equal(got, []any{[]byte{7}}) {
			t.Errorf("got %v", got)
		}
		em, err := emitter.New(rs.Client(t), emitter.Config{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if err := em.Emit(ctx, "fromgoemitter", map[string]any{"a": 1}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"r1", "r2"} {
			if _, err := rc.WaitEvent(ctx, c, "fromgoemitter"); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("fetchSockets and allRooms from node", func(t *testing.T) {
		socks, err := peer.FetchSockets(ctx, nodetest.Target{To: []string{"room1"}})
		if err != nil {
			t.Fatal(err)
		}
		r1 := rc.ID("r1")
		var found *nodetest.RemoteSocket
		for i := range socks {
			if socks[i].ID == r1 {
				found = &socks[i]
			}
		}
		if len(socks) != 2 || found == nil {
			t.Fatalf("fetchSockets(room1) = %+v; want n1 and r1 (%s)", socks, r1)
		}
		if d := cmp.Diff([]string{r1, "room1"}, found.Rooms); d != "" {
			t.Errorf("rooms (-want +got):\n%s", d)
		}
		if d := cmp.Diff(map[string]any{"user": "alice"}, mustJSON(t, found.Data)); d != "" {
			t.Errorf("data (-want +got):\n%s", d)
		}
		var hs map[string]any
		if err := json.Unmarshal(found.Handshake.Raw, &hs); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth"} {
			if _, ok := hs[k]; !ok {
				t.Errorf("handshake lacks %q: %s", k, found.Handshake.Raw)
			}
		}
		if q, _ := hs["query"].(map[string]any); q["EIO"] != "4" {
			t.Errorf("handshake query = %v", hs["query"])
		}
		if found.Handshake.Address != "127.0.0.1" {
			t.Errorf("address = %q", found.Handshake.Address)
		}
		rooms, err := peer.AllRooms(ctx, "/")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"room1", r1, rc.ID("r2"), nc.ID("n1")} {
			if !slices.Contains(rooms, want) {
				t.Errorf("allRooms = %v lacks %q", rooms, want)
			}
		}
		mine, err := srv.Of("/").To("room1").FetchSockets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(mine) != 2 || mine[0].ID != r1 || mine[1].ID != nc.ID("n1") {
			t.Fatalf("relay FetchSockets(room1) = %+v; want r1 then n1", mine)
		}
		if d := cmp.Diff([]string{nc.ID("n1"), "room1"}, mine[1].Rooms, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
			t.Errorf("n1 rooms (-want +got):\n%s", d)
		}
		var nh map[string]any
		if err := json.Unmarshal(mine[1].Handshake, &nh); err != nil || nh["url"] == nil {
			t.Errorf("n1 handshake %s, %v", mine[1].Handshake, err)
		}
		rooms, err = srv.AllRooms(ctx, "/")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(rooms, nc.ID("n1")) || !slices.Contains(rooms, r1) {
			t.Errorf("relay AllRooms = %v", rooms)
		}
	})

	t.Run("emit with ack from node", func(t *testing.T) {
		acks, err := peer.EmitWithAck(ctx, nodetest.Target{}, 3*time.Second, "ask", 1, []byte{5})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"n1", "r1", "r2"}, ackClients(t, acks)); d != "" {
			t.Errorf("acks (-want +got):\n%s", d)
		}
		// No client selected on the relay: it answers with a count of 0.
		acks, err = peer.EmitWithAck(ctx, nodetest.Target{To: []string{nc.ID("n1")}}, 3*time.Second, "ask")
		if err != nil || len(acks) != 1 {
			t.Fatalf("acks = %s, %v", acks, err)
		}
	})

	t.Run("emit with ack from the relay", func(t *testing.T) {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		acks, err := srv.Of("/").EmitWithAck(actx, "askrelay", 1, []byte{2})
		if err != nil {
			t.Fatalf("acks %s, %v", acks, err)
		}
		if d := cmp.Diff([]string{"n1", "r1", "r2"}, ackClients(t, acks)); d != "" {
			t.Errorf("acks (-want +got):\n%s", d)
		}
		ev, err := nc.WaitEvent(ctx, "n1", "askrelay")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := ev.Values(); !ev.Ack || !cmp.Equal(got, []any{json.Number("1"), []byte{2}}) {
			t.Errorf("n1 got %+v", ev)
		}
		// Only Node clients selected: the relay expects none of its own.
		acks, err = srv.Of("/").To(nc.ID("n1")).EmitWithAck(actx, "askrelay2")
		if err != nil || len(acks) != 1 {
			t.Errorf("acks %s, %v; want n1's", acks, err)
		}
	})

	t.Run("server-side emit", func(t *testing.T) {
		if err := peer.ServerSideEmit(ctx, "/", "sse", 1, "two"); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-sse:
			if ev.Name != "sse" || len(ev.Args) != 2 || string(ev.Args[1]) != `"two"` {
				t.Errorf("got %+v", ev)
			}
		case <-ctx.Done():
			t.Fatal("relay got no server-side emit")
		}
		res, err := peer.ServerSideEmitWithAck(ctx, "/", "sse", 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || !cmp.Equal(mustJSON(t, res[0]), map[string]any{"relay": "relay1"}) {
			t.Errorf("acks = %s", res)
		}
		<-sse
		if err := srv.ServerSideEmit(ctx, "/", "sse", "from relay"); err != nil {
			t.Fatal(err)
		}
		ev, err := peer.WaitServerSideEmit(ctx, "/", "sse")
		if err != nil {
			t.Fatal(err)
		}
		if string(ev.Args[0]) != `"from relay"` {
			t.Errorf("got %+v", ev)
		}
	})

	t.Run("socketsJoin both ways", func(t *testing.T) {
		if err := peer.SocketsJoin(ctx, nodetest.Target{To: []string{"room1"}}, "room2"); err != nil {
			t.Fatal(err)
		}
		r1 := rc.ID("r1")
		waitFor(t, 10*time.Second, "r1 in room2", func() bool {
			return slices.Contains(srv.Of("/").To("room2").Sockets(), r1)
		})
		if err := srv.Of("/").In("room2").SocketsLeave(ctx, "room1"); err != nil {
			t.Fatal(err)
		}
		if err := srv.Of("/").SocketsJoin(ctx, "room3"); err != nil {
			t.Fatal(err)
		}
		// Requests are handled in order, so once n1 is in room3 it has
		// left room1.
		var socks []nodetest.RemoteSocket
		waitFor(t, 10*time.Second, "n1 in room3", func() bool {
			var err error
			socks, err = peer.FetchSockets(ctx, nodetest.Target{To: []string{"room3"}})
			return err == nil && len(socks) == 3 // n1, r1, r2 (rc is in /custom)
		})
		for _, s := range socks {
			if s.ID == nc.ID("n1") && slices.Contains(s.Rooms, "room1") {
				t.Errorf("n1 still in room1: %v", s.Rooms)
			}
		}
		if got := srv.Of("/").To("room1").Sockets(); len(got) != 0 {
			t.Errorf("relay sockets in room1: %v", got)
		}
	})

	t.Run("disconnectSockets both ways", func(t *testing.T) {
		if err := peer.DisconnectSockets(ctx, nodetest.Target{To: []string{rc.ID("r2")}}, false); err != nil {
			t.Fatal(err)
		}
		if reason, err := rc.WaitDisconnect(ctx, "r2"); err != nil || reason != "io server disconnect" {
			t.Fatalf("r2 disconnect = %q, %v", reason, err)
		}
		if err := srv.Of("/").To(nc.ID("n1")).DisconnectSockets(ctx, true); err != nil {
			t.Fatal(err)
		}
		if _, err := nc.WaitDisconnect(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestOperatorEmitWithAckSingleServer: without Redis, EmitWithAck collects
// the acks of this server's clients.
func TestOperatorEmitWithAckSingleServer(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	srv, url, _ := compatServer(t)
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
		{Name: "c1", Rooms: []string{"r"}}, {Name: "c2", Rooms: []string{"r"}}, {Name: "c3"},
	}})
	ctx := ctxT(t, 3*time.Second)
	acks, err := srv.Of("/").To("r").EmitWithAck(ctx, "q", []byte{1})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"c1", "c2"}, ackClients(t, acks)); d != "" {
		t.Errorf("acks (-want +got):\n%s", d)
	}
	if _, err := cl.WaitEvent(ctx, "c1", "q"); err != nil {
		t.Fatal(err)
	}
	acks, err = srv.Of("/").To("nobody").EmitWithAck(ctx, "q")
	if err != nil || len(acks) != 0 {
		t.Errorf("no target: %s, %v", acks, err)
	}
}
