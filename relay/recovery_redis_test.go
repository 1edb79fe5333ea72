package relay_test

import (
	"testing"
	"time"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
	"github.com/siorelay/siorelay/relay"
)

// TestRecoveryRedis: a relay in a Redis adapter cluster (classic, and
// sharded in each subscription mode) with recovery: a client that comes
// back to the same relay gets what was broadcast meanwhile from a Node
// server, from the Go emitter and from the relay itself, to its room and
// to its id, exactly once, and nothing meant for others. In sharded
// dynamic modes the relay keeps the subscriptions of rooms whose only
// member is a kept socket.
func TestRecoveryRedis(t *testing.T) {
	nodetest.Require(t)
	for _, tc := range []struct {
		name, mode string // mode: "" for classic, else the sharded subscription mode
		transports []string
	}{
		{"classic/websocket", "", []string{"websocket"}},
		{"classic/polling", "", []string{"polling"}},
		{"sharded-dynamic/websocket", "dynamic", []string{"websocket"}},
		{"sharded-dynamic-private/polling", "dynamic-private", []string{"polling"}},
		{"sharded-static/websocket", "static", []string{"websocket"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := redistest.Start(t)
			key := redistest.UniquePrefix(t)
			peerCfg := nodetest.PeerConfig{Redis: "redis://" + rs.Addr(), Key: key, Namespaces: []string{"/", "/custom"}}
			emCfg := emitter.Config{Key: key}
			if tc.mode != "" {
				peerCfg.Mode, peerCfg.SubscriptionMode = "sharded", tc.mode
				emCfg.Sharded, emCfg.SubscriptionMode = true, emitter.SubscriptionMode(tc.mode)
			}
			peer := nodetest.StartPeer(t, peerCfg)
			srv, url, _ := clusterRelay(t, rs.Client(t), key, "relay1", func(c *relay.Config) {
				c.Recovery = &relay.Recovery{}
				c.Sharded = tc.mode != ""
				c.SubscriptionMode = tc.mode
			})
			em, err := emitter.New(rs.Client(t), emCfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t, 60*time.Second)
			off := false
			cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
				{Name: "c1", Rooms: []string{"solo"}, Transports: tc.transports, Reconnection: &off},
				{Name: "c2", Rooms: []string{"other"}, Transports: tc.transports, Reconnection: &off},
			}})
			waitFor(t, 10*time.Second, "relay subscriptions", srv.Ready)
			id := cl.ID("c1")
			if err := peer.Emit(ctx, nodetest.Target{}, "first"); err != nil {
				t.Fatal(err)
			}
			if _, err := cl.WaitEvent(ctx, "c1", "first"); err != nil {
				t.Fatal(err)
			}

			dropAndWait(t, ctx, srv, cl, "c1")
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(peer.Emit(ctx, nodetest.Target{To: []string{"solo"}}, "node-room", 1))
			must(peer.Emit(ctx, nodetest.Target{To: []string{id}}, "node-id", 2, []byte{7}))
			must(peer.Emit(ctx, nodetest.Target{To: []string{"other"}}, "not-for-c1", 3))
			must(peer.Emit(ctx, nodetest.Target{Nsp: "/custom"}, "not-for-c1", 4))
			must(em.To("solo").Emit(ctx, "emitter-room", 5))
			must(em.Except("other").Emit(ctx, "emitter-all", 6))
			must(srv.Of("/").To("solo").Emit(ctx, "relay-room", 7))
			// c2 stays: the Redis broadcasts have reached the relay once
			// c2 has the last of them.
			if _, err := cl.WaitEvent(ctx, "c2", "not-for-c1"); err != nil {
				t.Fatal(err)
			}
			if err := cl.Reconnect(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
			if got, rec := reconnected(t, ctx, cl, "c1"); got != id || !rec {
				t.Fatalf("reconnected as %s recovered %v, want %s recovered", got, rec, id)
			}
			must(peer.Emit(ctx, nodetest.Target{To: []string{"solo"}}, "end"))
			var got []string
			for {
				l, err := cl.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "event" && l.Str("client") == "c1" })
				if err != nil {
					t.Fatal(err)
				}
				if l.Str("event") == "end" {
					break
				}
				got = append(got, l.Str("event"))
			}
			want := map[string]bool{"node-room": true, "node-id": true, "emitter-room": true, "emitter-all": true, "relay-room": true}
			seen := map[string]bool{}
			for _, e := range got {
				if !want[e] || seen[e] {
					t.Fatalf("c1 got %q (all: %q); want each of %v once", e, got, want)
				}
				seen[e] = true
			}
			if len(seen) != len(want) {
				t.Fatalf("c1 got %q; want each of %v once", got, want)
			}
			// Order within one source: the relay logs in arrival order.
			if idx := func(e string) int {
				for i, g := range got {
					if g == e {
						return i
					}
				}
				return -1
			}; idx("node-room") > idx("node-id") || idx("emitter-room") > idx("emitter-all") {
				t.Errorf("out of order: %q", got)
			}
		})
	}
}

// TestRecoveryShardedHoldReleased: the room subscription a kept socket
// holds goes once the socket expires.
func TestRecoveryShardedHoldReleased(t *testing.T) {
	nodetest.Require(t)
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	rdb := rs.Client(t)
	srv, url, _ := clusterRelay(t, rdb, key, "relay1", func(c *relay.Config) {
		c.Recovery = &relay.Recovery{MaxDisconnection: 200 * time.Millisecond}
		c.Sharded = true
	})
	ctx := ctxT(t, 30*time.Second)
	off := false
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
		{Name: "c1", Rooms: []string{"solo"}, Reconnection: &off},
	}})
	waitFor(t, 10*time.Second, "relay subscriptions", srv.Ready)
	ch := key + "#/#solo#"
	if n := shardNumSub(t, rdb, ch); n != 1 {
		t.Fatalf("SHARDNUMSUB %s = %d, want 1", ch, n)
	}
	srv.Of("/").Emit(ctx, "a")
	if _, err := cl.WaitEvent(ctx, "c1", "a"); err != nil {
		t.Fatal(err)
	}
	dropAndWait(t, ctx, srv, cl, "c1")
	if n := shardNumSub(t, rdb, ch); n != 1 {
		t.Fatalf("kept: SHARDNUMSUB %s = %d, want 1", ch, n)
	}
	waitStats(t, ctx, srv, "expiry", func(st *relay.RecoveryStats) bool { return st.Kept == 0 })
	waitFor(t, 10*time.Second, "the room's subscription dropped", func() bool { return shardNumSub(t, rdb, ch) == 0 })
}
