package relay

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestStats drives real WebSocket and polling clients through connects,
// a refusal, events, an ack, a broadcast, an upgrade and disconnects, and
// checks every counter of Stats against the traffic the clients saw.
func TestStats(t *testing.T) {
	srv, base := testServer(t, Config{
		Namespaces: []string{"/", "/chat", "*"},
		OnConnect: func(ctx context.Context, h *Handshake) (ConnectResult, error) {
			if h.Namespace == "/secure" {
				return ConnectResult{}, errors.New("no")
			}
			return ConnectResult{}, nil
		},
		OnEvent: func(ctx context.Context, s *Socket, ev Event, ack AckFunc) {
			if ack != nil {
				ack("ok")
			}
		},
	})
	// in and out count what the clients sent and got: Socket.IO packets
	// and their bytes (the Engine.IO message minus its type byte).
	var in, inBytes, out, outBytes int64
	send := func(c *wsClient, s string) {
		t.Helper()
		c.send(s)
		in++
		inBytes += int64(len(s) - 1)
	}
	got := func(c *wsClient, prefix string) string {
		t.Helper()
		for {
			f := c.read()
			if f.data == "2" {
				continue
			}
			if !strings.HasPrefix(f.data, prefix) {
				t.Fatalf("got %q, want %s...", f.data, prefix)
			}
			out++
			outBytes += int64(len(f.data) - 1)
			return f.data
		}
	}
	c1 := openWS(t, base)
	send(c1, "40")
	got(c1, `40{"sid":`)
	send(c1, "40/chat,")
	got(c1, `40/chat,{"sid":`)
	c2 := openWS(t, base)
	send(c2, "40/dyn1,")
	got(c2, `40/dyn1,{"sid":`)
	c3 := openWS(t, base)
	send(c3, "40/dyn2,")
	got(c3, `40/dyn2,{"sid":`)
	send(c3, "40/secure,")
	got(c3, `44/secure,{"message":"no"}`)
	send(c1, `421["hi",1]`)
	got(c1, `431["ok"]`)

	// A polling client joins "/" and upgrades to WebSocket.
	sid := openPolling(t, base)
	do(t, "POST", pollURL(base, "&sid="+sid), "40")
	in++
	inBytes++
	if r := do(t, "GET", pollURL(base, "&sid="+sid), ""); !strings.HasPrefix(r.body, `40{"sid":`) {
		t.Fatalf("polling CONNECT reply %q", r.body)
	} else {
		out++
		outBytes += int64(len(r.body) - 1)
	}
	if err := srv.Of("/").Emit(context.Background(), "b", "x"); err != nil {
		t.Fatal(err)
	}
	got(c1, `42["b","x"]`)
	st := srv.Stats()
	if st.Polling != 1 || st.WebSocket != 3 || st.PollingQueued != 1 {
		t.Errorf("before upgrade: polling %d, websocket %d, queued %d; want 1, 3, 1", st.Polling, st.WebSocket, st.PollingQueued)
	}
	if r := do(t, "GET", pollURL(base, "&sid="+sid), ""); r.body != `42["b","x"]` {
		t.Fatalf("polling broadcast %q", r.body)
	} else {
		out++
		outBytes += int64(len(r.body) - 1)
	}
	pending := pendingGet(t, base, sid)
	waitPending(t, base, sid)
	c4 := dialWS(t, base, "&sid="+sid)
	c4.send("2probe")
	c4.expect("3probe")
	waitResult(t, pending)
	c4.send("5")
	waitUntil(t, 5*time.Second, "upgrade", func() bool { return srv.Stats().Upgrades == 1 })

	// Leaving: c3 leaves /dyn2, c2 goes away, c4 is disconnected by the
	// server.
	send(c3, "41/dyn2,")
	c2.conn.Close()
	srv.Of("/").To(srv.Of("/").Sockets()...).Except(socketIDOf(t, srv, "/", c1)).DisconnectSockets(context.Background(), true)
	got(c4, "41")
	waitUntil(t, 5*time.Second, "disconnects", func() bool {
		st := srv.Stats()
		return st.Closed[reasonTransportClose] == 1 && st.Closed[reasonServerDisconnect] == 1 && st.Namespaces[2].Disconnects[reasonClientDisconnect] == 1
	})

	st = srv.Stats()
	reasonsWith := func(kv ...any) map[string]int64 {
		m := new(reasonCounts).addTo(nil)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = int64(kv[i+1].(int))
		}
		return m
	}
	want := Stats{
		Sessions:  2, // c1, c3
		Polling:   0,
		WebSocket: 2,
		Opened:    map[string]int64{"polling": 1, "websocket": 3},
		Upgrades:  1,
		Closed:    reasonsWith(reasonTransportClose, 1, reasonServerDisconnect, 1),
		Namespaces: []NamespaceStats{
			{Name: "/", Sockets: 1, Connects: 2, Disconnects: reasonsWith(reasonServerDisconnect, 1)},
			{Name: "/chat", Sockets: 1, Connects: 1, Disconnects: reasonsWith()},
			{Name: "*", Sockets: 0, Connects: 2, Refused: 1, Disconnects: reasonsWith(reasonTransportClose, 1, reasonClientDisconnect, 1)},
		},
		PacketsIn:  in,
		BytesIn:    inBytes,
		PacketsOut: out,
		BytesOut:   outBytes,
		Broadcasts: 1,
		Deliveries: 2,
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}

	// A namespace nobody accepts.
	_, base2 := testServer(t, Config{})
	c := openWS(t, base2)
	c.send("40/nope,")
	c.expect(`44/nope,{"message":"Invalid namespace"}`)
	if n := serverFor(base2).Stats().InvalidNamespace; n != 1 {
		t.Errorf("InvalidNamespace = %d; want 1", n)
	}
}

// TestStatsVolatileDropsPolling: a volatile broadcast to a polling client
// with no GET waiting is dropped and counted once, not delivered.
func TestStatsVolatileDropsPolling(t *testing.T) {
	srv, base := testServer(t, Config{})
	sid := openPolling(t, base)
	do(t, "POST", pollURL(base, "&sid="+sid), "40")
	do(t, "GET", pollURL(base, "&sid="+sid), "")
	if err := srv.Of("/").Volatile().Emit(context.Background(), "v"); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.DroppedVolatile != 1 || st.Deliveries != 0 || st.Broadcasts != 1 {
		t.Errorf("dropped %d, deliveries %d, broadcasts %d; want 1, 0, 1", st.DroppedVolatile, st.Deliveries, st.Broadcasts)
	}
}

// TestSessionTrafficFolds: a session's 32-bit counters move to the
// server's before they overflow, and when the session closes; Stats sees
// the same totals throughout.
func TestSessionTrafficFolds(t *testing.T) {
	srv := &Server{}
	s := &session{srv: srv}
	total := func() (in int64) {
		return srv.traffic.bytesIn.Load() + int64(s.traffic.bytesIn.Load())
	}
	var want int64
	for _, n := range []int{foldAt - 1, 1, 5, foldAt + 7, 3 << 20} {
		s.countIn(n, true)
		want += int64(n)
		if got := total(); got != want {
			t.Fatalf("after %d: total %d; want %d", n, got, want)
		}
		if s.traffic.bytesIn.Load() >= foldAt {
			t.Fatalf("session counter %d not folded", s.traffic.bytesIn.Load())
		}
	}
	s.foldTraffic()
	if s.traffic.bytesIn.Load() != 0 || srv.traffic.bytesIn.Load() != want || srv.traffic.packetsIn.Load() != 5 {
		t.Errorf("after fold: session %d, server %d (packets %d); want 0, %d (5)", s.traffic.bytesIn.Load(), srv.traffic.bytesIn.Load(), srv.traffic.packetsIn.Load(), want)
	}
}

// socketIDOf returns the id of the socket of c's session in nsp.
func socketIDOf(t *testing.T, srv *Server, nsp string, c *wsClient) string {
	t.Helper()
	s := srv.lookup(c.sid)
	if s == nil {
		t.Fatalf("no session %s", c.sid)
	}
	sk := s.socket(nsp)
	if sk == nil {
		t.Fatalf("session %s has no socket in %s", c.sid, nsp)
	}
	return sk.id
}
