package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/relay"
)

// startRelay starts a relay with cfg behind an httptest server, shut down
// at the end of the test, and returns it with its URL.
func startRelay(t *testing.T, cfg relay.Config) (*relay.Server, string) {
	t.Helper()
	srv, err := relay.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs.URL
}

// waitStats waits until cond holds for the server's recovery stats.
func waitStats(t *testing.T, ctx context.Context, srv *relay.Server, what string, cond func(*relay.RecoveryStats) bool) *relay.RecoveryStats {
	t.Helper()
	tk := time.NewTicker(5 * time.Millisecond)
	defer tk.Stop()
	for {
		st := srv.Stats().Recovery
		if cond(st) {
			return st
		}
		select {
		case <-tk.C:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %+v", what, st)
		}
	}
}

// reconnected waits for a client's next "connected" line.
func reconnected(t *testing.T, ctx context.Context, cl *nodetest.Clients, client string) (id string, recovered bool) {
	t.Helper()
	l, err := cl.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "connected" && l.Str("client") == client })
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Recovered bool }
	if err := l.Decode(&c); err != nil {
		t.Fatal(err)
	}
	return l.Str("id"), c.Recovered
}

// dropAndWait drops a client's connection and waits until the server has
// kept its socket.
func dropAndWait(t *testing.T, ctx context.Context, srv *relay.Server, cl *nodetest.Clients, client string) {
	t.Helper()
	kept := srv.Stats().Recovery.Kept
	if err := cl.Drop(ctx, client); err != nil {
		t.Fatal(err)
	}
	waitStats(t, ctx, srv, "the socket kept", func(st *relay.RecoveryStats) bool { return st.Kept > kept })
}

func TestRecoveryExpired(t *testing.T) {
	nodetest.Require(t)
	srv, url := startRelay(t, relay.Config{Recovery: &relay.Recovery{MaxDisconnection: 100 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	off := false
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1", Reconnection: &off}}})
	id := cl.ID("c1")
	srv.Of("/").Emit(ctx, "a", 1)
	if _, err := cl.WaitEvent(ctx, "c1", "a"); err != nil {
		t.Fatal(err)
	}
	dropAndWait(t, ctx, srv, cl, "c1")
	// The sweeper forgets it once MaxDisconnection has passed.
	waitStats(t, ctx, srv, "the kept socket to expire", func(st *relay.RecoveryStats) bool { return st.Kept == 0 })
	if err := cl.Reconnect(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if got, rec := reconnected(t, ctx, cl, "c1"); got == id || rec {
		t.Fatalf("after expiry: id %s (old %s), recovered %v; want a new socket", got, id, rec)
	}
	if st := srv.Stats().Recovery; st.Recovered != 0 || st.Failed["unknown"]+st.Failed["expired"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRecoveryTrimmed: when the log's byte bound drops packets a client
// missed, the client gets a new socket, never a partial replay.
func TestRecoveryTrimmed(t *testing.T) {
	nodetest.Require(t)
	srv, url := startRelay(t, relay.Config{Recovery: &relay.Recovery{MaxBytes: 4 << 10}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	off := false
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
		{Name: "c1", Reconnection: &off}, {Name: "c2", Reconnection: &off},
	}})
	srv.Of("/").Emit(ctx, "a", 0)
	if _, err := cl.WaitEvent(ctx, "c1", "a"); err != nil {
		t.Fatal(err)
	}
	dropAndWait(t, ctx, srv, cl, "c1")
	dropAndWait(t, ctx, srv, cl, "c2")
	// c2 misses one packet: recoverable. Then c1 misses far more than
	// 4 KiB: the oldest ones leave the log.
	srv.Of("/").To(cl.ID("c2")).Emit(ctx, "for-c2", 1)
	if err := cl.Reconnect(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
	if _, rec := reconnected(t, ctx, cl, "c2"); !rec {
		t.Fatal("c2 not recovered")
	}
	if _, err := cl.WaitEvent(ctx, "c2", "for-c2"); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		srv.Of("/").Emit(ctx, "b", i, "0123456789012345678901234567890123456789012345678901234567890123456789")
	}
	st := srv.Stats().Recovery
	if st.Trimmed == 0 || st.Bytes > 4<<10 {
		t.Fatalf("log not trimmed to its bound: %+v", st)
	}
	if err := cl.Reconnect(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if id, rec := reconnected(t, ctx, cl, "c1"); rec || id == cl.ID("c1") {
		t.Fatalf("c1 recovered (%v, id %s) although packets it missed were trimmed", rec, id)
	}
	if st := srv.Stats().Recovery; st.Failed["offset"] != 1 || st.Recovered != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The fresh c1 got none of the trimmed packets: the next event it sees
	// is the next broadcast.
	srv.Of("/").Emit(ctx, "end")
	if ev, err := cl.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "event" && l.Str("client") == "c1" }); err != nil || ev.Str("event") != "end" {
		t.Fatalf("c1's first event after reconnecting: %s %v", ev, err)
	}
}

// TestRecoveryBadAuth: pids and offsets that are unknown, of the wrong
// type or malformed give an ordinary new socket. Only a pid and an offset
// that are both strings are looked up (as socket.io does).
func TestRecoveryBadAuth(t *testing.T) {
	nodetest.Require(t)
	srv, url := startRelay(t, relay.Config{Recovery: &relay.Recovery{}})
	auths := []map[string]any{
		{"pid": "AAAAAAAAAAAAAAAAAAAA", "offset": "1"},
		{"pid": 7, "offset": "1"},
		{"pid": "x", "offset": 1},
		{"pid": "x"},
		{"pid": "", "offset": ""},
		{"pid": nil, "offset": "zzzzzzzzzzzzzzzzzzzz"},
		{"pid": "x", "offset": "-1"},
	}
	var clients []nodetest.ClientConfig
	for i, a := range auths {
		clients = append(clients, nodetest.ClientConfig{Name: fmt.Sprint("c", i), Auth: a})
	}
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: clients})
	for _, c := range clients {
		if cl.ID(c.Name) == "" {
			t.Errorf("%s: no socket", c.Name)
		}
	}
	if st := srv.Stats().Recovery; st.Recovered != 0 || st.Failed["unknown"] != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRecoveryRefusedThenAllowed: OnConnect sees a recovering socket and
// may refuse it; the socket stays kept, and the next attempt recovers.
func TestRecoveryRefusedThenAllowed(t *testing.T) {
	nodetest.Require(t)
	var refuse atomic.Bool
	var seen sync.Map // socket id → *relay.Socket
	srv, url := startRelay(t, relay.Config{
		Recovery: &relay.Recovery{},
		OnConnect: func(ctx context.Context, h *relay.Handshake) (relay.ConnectResult, error) {
			if h.Recovered {
				if refuse.Load() {
					return relay.ConnectResult{}, &relay.ConnectError{Message: "not now"}
				}
				if h.Data == nil || h.Data.(map[string]any)["n"] != "x" {
					return relay.ConnectResult{}, fmt.Errorf("kept data %v", h.Data)
				}
				return relay.ConnectResult{Rooms: []string{"extra"}}, nil
			}
			return relay.ConnectResult{Rooms: []string{"r1"}, Data: map[string]any{"n": "x"}}, nil
		},
		OnConnection: func(ctx context.Context, s *relay.Socket) { seen.Store(s.ID(), s) },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	off := false
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1", Reconnection: &off}}})
	id := cl.ID("c1")
	srv.Of("/").Emit(ctx, "a", 1)
	if _, err := cl.WaitEvent(ctx, "c1", "a"); err != nil {
		t.Fatal(err)
	}
	dropAndWait(t, ctx, srv, cl, "c1")
	srv.Of("/").To("r1").Emit(ctx, "missed", 2)
	refuse.Store(true)
	if err := cl.Reconnect(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "connect_error" && l.Str("message") == "not now" }); err != nil {
		t.Fatal(err)
	}
	refuse.Store(false)
	if err := cl.Reconnect(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if got, rec := reconnected(t, ctx, cl, "c1"); got != id || !rec {
		t.Fatalf("second attempt: id %s recovered %v, want %s recovered", got, rec, id)
	}
	if _, err := cl.WaitEvent(ctx, "c1", "missed"); err != nil {
		t.Fatal(err)
	}
	v, _ := seen.Load(id)
	s := v.(*relay.Socket)
	if !s.Recovered() || fmt.Sprint(s.Rooms()) != fmt.Sprintf("[%s r1 extra]", id) || s.Data().(map[string]any)["n"] != "x" {
		t.Fatalf("restored socket: recovered %v rooms %v data %v", s.Recovered(), s.Rooms(), s.Data())
	}
	if st := srv.Stats().Recovery; st.Failed["refused"] != 1 || st.Recovered != 1 || st.Replayed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRecoverySeam: broadcasts keep flowing while clients lose their
// connection and come back again and again; every client must end with
// every broadcast exactly once, in order (no gap and no duplicate where the
// replay meets the live stream).
func TestRecoverySeam(t *testing.T) {
	nodetest.Require(t)
	for _, transports := range [][]string{{"websocket"}, {"polling"}} {
		t.Run(transports[0], func(t *testing.T) {
			t.Parallel()
			srv, url := startRelay(t, relay.Config{Recovery: &relay.Recovery{}})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			off := false
			names := []string{"c1", "c2", "c3"}
			var clients []nodetest.ClientConfig
			for _, n := range names {
				clients = append(clients, nodetest.ClientConfig{Name: n, Transports: transports, Reconnection: &off})
			}
			cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: clients})
			const total = 600
			// A client recovers only once it has an offset: the first
			// broadcast reaches all before the drops begin.
			srv.Of("/").Emit(ctx, "n", 1)
			for _, n := range names {
				if _, err := cl.WaitEvent(ctx, n, "n"); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				tk := time.NewTicker(time.Millisecond)
				defer tk.Stop()
				for i := 2; i <= total; i++ {
					srv.Of("/").Emit(ctx, "n", i)
					<-tk.C
				}
			}()
			// Drops while broadcasts flow: each client a few times.
			for round := range 4 {
				for _, n := range names {
					dropAndWait(t, ctx, srv, cl, n)
					if err := cl.Reconnect(ctx, n); err != nil {
						t.Fatal(err)
					}
					if _, rec := reconnected(t, ctx, cl, n); !rec {
						t.Fatalf("round %d: %s not recovered", round, n)
					}
				}
			}
			<-done
			for _, n := range names {
				next := 2
				for next <= total {
					ev, err := cl.WaitEvent(ctx, n, "n")
					if err != nil {
						t.Fatalf("%s: waiting for %d: %v", n, next, err)
					}
					var got int
					if err := json.Unmarshal(ev.Args[0], &got); err != nil {
						t.Fatal(err)
					}
					if got != next {
						t.Fatalf("%s: got broadcast %d, want %d (offset %s)", n, got, next, ev.Args[1])
					}
					next++
				}
			}
			st := srv.Stats().Recovery
			if st.Recovered != 4*int64(len(names)) {
				t.Fatalf("recovered %d times, want %d: %+v", st.Recovered, 4*len(names), st)
			}
			t.Logf("replayed %d packets in %d recoveries", st.Replayed, st.Recovered)
		})
	}
}
