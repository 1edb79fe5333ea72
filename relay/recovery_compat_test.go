package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/relay"
)

// recoverySide is a Socket.IO server with connection state recovery under
// the same client script: the relay, or Node socket.io 4.8.4 (peer.js).
// Both behave like peer.js: auth.rooms are joined and socket.data is set
// from auth.data when a client connects.
type recoverySide struct {
	url string
	// emit broadcasts event to the sockets tg selects; with ack, it waits
	// for the clients' acks for up to 200 ms (io.timeout().emit()).
	emit func(ctx context.Context, tg nodetest.Target, ack bool, event string, args ...any) error
	// socketEmit is socket.emit on one socket of the server.
	socketEmit func(ctx context.Context, id, event string, args ...any) error
	// kick is socket.disconnect() on one socket of the server.
	kick func(ctx context.Context, id string) error
	// waitDisconnect waits until the server saw socket id leave; it
	// returns the reason.
	waitDisconnect func(ctx context.Context, id string) (string, error)
	// state returns the rooms and data the server holds for socket id.
	state func(ctx context.Context, id string) (rooms []string, data any, err error)
}

// relayRecoverySide starts a relay with recovery, configured like peer.js.
func relayRecoverySide(t *testing.T, rec relay.Recovery) *recoverySide {
	t.Helper()
	var sockets sync.Map // id → *relay.Socket (the latest)
	gone := newLineLog()
	srv, url := startRelay(t, relay.Config{
		Recovery: &rec,
		OnConnect: func(ctx context.Context, h *relay.Handshake) (relay.ConnectResult, error) {
			var auth struct {
				Rooms []string
				Data  any
			}
			json.Unmarshal(h.Auth, &auth)
			return relay.ConnectResult{Rooms: auth.Rooms, Data: auth.Data}, nil
		},
		OnConnection: func(ctx context.Context, s *relay.Socket) { sockets.Store(s.ID(), s) },
		OnDisconnect: func(s *relay.Socket, reason string) { gone.add(s.ID(), reason) },
	})
	socket := func(id string) (*relay.Socket, error) {
		v, ok := sockets.Load(id)
		if !ok {
			return nil, fmt.Errorf("no socket %s", id)
		}
		return v.(*relay.Socket), nil
	}
	return &recoverySide{
		url: url,
		emit: func(ctx context.Context, tg nodetest.Target, ack bool, event string, args ...any) error {
			op := srv.Of(tg.Nsp).To(tg.To...).Except(tg.Except...)
			if tg.Volatile {
				op = op.Volatile()
			}
			if ack {
				actx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
				_, err := op.EmitWithAck(actx, event, args...)
				if err != nil && !strings.Contains(err.Error(), "timed out") && actx.Err() == nil {
					return err
				}
				return nil
			}
			return op.Emit(ctx, event, args...)
		},
		socketEmit: func(ctx context.Context, id, event string, args ...any) error {
			s, err := socket(id)
			if err != nil {
				return err
			}
			return s.Emit(ctx, event, args...)
		},
		kick: func(ctx context.Context, id string) error {
			return srv.Of("/").To(id).DisconnectSockets(ctx, false)
		},
		waitDisconnect: func(ctx context.Context, id string) (string, error) { return gone.wait(ctx, id) },
		state: func(ctx context.Context, id string) ([]string, any, error) {
			// What the namespace holds now (OnConnection of a restored
			// socket may still be running).
			ss, err := srv.Of("/").In(id).FetchSockets(ctx)
			if err != nil || len(ss) != 1 {
				return nil, nil, fmt.Errorf("fetch %s: %v %v", id, ss, err)
			}
			var data any
			if err := json.Unmarshal(ss[0].Data, &data); err != nil {
				return nil, nil, err
			}
			return ss[0].Rooms, data, nil
		},
	}
}

// nodeRecoverySide starts peer.js with socket.io's in-memory adapter and
// connectionStateRecovery.
func nodeRecoverySide(t *testing.T, rec nodetest.PeerRecovery) *recoverySide {
	t.Helper()
	p := nodetest.StartPeer(t, nodetest.PeerConfig{Mode: "memory", Recovery: &rec})
	return &recoverySide{
		url: p.URL(),
		emit: func(ctx context.Context, tg nodetest.Target, ack bool, event string, args ...any) error {
			if ack {
				_, err := p.EmitWithAck(ctx, tg, 200*time.Millisecond, event, args...)
				if err != nil && !strings.Contains(err.Error(), "timed out") {
					return err
				}
				return nil
			}
			return p.Emit(ctx, tg, event, args...)
		},
		socketEmit: func(ctx context.Context, id, event string, args ...any) error {
			return p.SocketEmit(ctx, "/", id, event, args...)
		},
		kick: func(ctx context.Context, id string) error { return p.SocketDisconnect(ctx, "/", id, false) },
		waitDisconnect: func(ctx context.Context, id string) (string, error) {
			l, err := p.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "disconnection" && l.Str("id") == id })
			return l.Str("reason"), err
		},
		state: func(ctx context.Context, id string) ([]string, any, error) {
			raw, err := p.Call(ctx, map[string]any{"cmd": "socketState", "nsp": "/", "sid": id})
			if err != nil {
				return nil, nil, err
			}
			var st struct {
				Rooms []string
				Data  any
			}
			if err := json.Unmarshal(raw, &st); err != nil {
				return nil, nil, err
			}
			return st.Rooms, st.Data, nil
		},
	}
}

// lineLog records (id, reason) pairs and lets a test wait for one.
type lineLog struct {
	mu      sync.Mutex
	got     map[string][]string
	changed chan struct{}
}

func newLineLog() *lineLog {
	return &lineLog{got: map[string][]string{}, changed: make(chan struct{})}
}

func (l *lineLog) add(id, reason string) {
	l.mu.Lock()
	l.got[id] = append(l.got[id], reason)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// wait takes the oldest reason recorded for id, waiting for one.
func (l *lineLog) wait(ctx context.Context, id string) (string, error) {
	for {
		l.mu.Lock()
		if rs := l.got[id]; len(rs) > 0 {
			l.got[id] = rs[1:]
			l.mu.Unlock()
			return rs[0], nil
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return "", fmt.Errorf("no disconnect of %s: %w", id, ctx.Err())
		}
	}
}

// recoveryRun is what one client saw during the scenario.
type recoveryRun struct {
	packets []string // c1's packets, normalized
	notes   []string // facts checked the same way on both sides
}

// recoveryScenario runs the client script against one side. c1 is in room
// r1 with data {"n":1}, c2 in room r2; c1 loses its connection, misses
// packets and comes back, several times.
func recoveryScenario(t *testing.T, side *recoverySide, transports []string) recoveryRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	off := false
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{
		URL:     side.url,
		Packets: true,
		Clients: []nodetest.ClientConfig{
			{Name: "c1", Rooms: []string{"r1"}, Data: map[string]any{"n": 1}, Transports: transports, Reconnection: &off},
			{Name: "c2", Rooms: []string{"r2"}, Transports: transports, Reconnection: &off},
		},
	})
	var run recoveryRun
	note := func(format string, args ...any) { run.notes = append(run.notes, fmt.Sprintf(format, args...)) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	all := nodetest.Target{}
	r1 := nodetest.Target{To: []string{"r1"}}
	r2 := nodetest.Target{To: []string{"r2"}}
	wait := func(client string, events ...string) {
		t.Helper()
		for _, e := range events {
			if _, err := cl.WaitEvent(ctx, client, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	connected := func(client string) (id string, recovered bool) {
		t.Helper()
		l, err := cl.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "connected" && l.Str("client") == client })
		must(err)
		var c struct{ Recovered bool }
		must(l.Decode(&c))
		return l.Str("id"), c.Recovered
	}
	drop := func(id string) {
		t.Helper()
		must(cl.Drop(ctx, "c1"))
		reason, err := side.waitDisconnect(ctx, id)
		must(err)
		// A closing client may leave unread data behind (a ping, a
		// packet), which makes its close a reset: "transport error" then,
		// on either server. Both are recoverable.
		if reason == "transport error" {
			reason = "transport close"
		}
		note("server saw %q", reason)
	}
	id1 := cl.ID("c1")

	// Connected: broadcasts, a binary one, an emit to the socket.
	must(side.emit(ctx, all, false, "a", 1))
	must(side.emit(ctx, r1, false, "b", []byte{1, 2}))
	must(side.socketEmit(ctx, id1, "direct", "x"))
	wait("c1", "a", "b", "direct")
	wait("c2", "a")

	// Lost; what is sent meanwhile: to all, to r1 except r2, binary, to r2
	// only, volatile, with ack. Then back, recovered.
	drop(id1)
	must(side.emit(ctx, all, false, "c", 2))
	must(side.emit(ctx, nodetest.Target{To: []string{"r1"}, Except: []string{"r2"}}, false, "d", map[string]any{"x": 1}))
	must(side.emit(ctx, r1, false, "f", []byte{3}, map[string]any{"bin": []byte{4}}))
	must(side.emit(ctx, r2, false, "e", 3))
	must(side.emit(ctx, nodetest.Target{Volatile: true}, false, "v", 4))
	must(side.emit(ctx, all, true, "withack", 5))
	wait("c2", "c", "e", "withack") // not "v": a polling client may drop it
	must(cl.Reconnect(ctx, "c1"))
	id, rec := connected("c1")
	note("first recovery: same id %v, recovered %v", id == id1, rec)
	wait("c1", "c", "d", "f")
	rooms, data, err := side.state(ctx, id1)
	must(err)
	slices.Sort(rooms)
	note("rooms %v data %v", len(rooms) == 2 && slices.Contains(rooms, id1) && slices.Contains(rooms, "r1"), data)

	// Live again, then lost and back a second time.
	must(side.emit(ctx, all, false, "g", 6))
	wait("c1", "g")
	drop(id1)
	must(side.emit(ctx, r1, false, "h", 7))
	must(cl.Reconnect(ctx, "c1"))
	id, rec = connected("c1")
	note("second recovery: same id %v, recovered %v", id == id1, rec)
	wait("c1", "h")

	// An explicit disconnect keeps nothing.
	must(cl.Disconnect(ctx, "c1"))
	reason, err := side.waitDisconnect(ctx, id1)
	must(err)
	note("server saw %q", reason)
	must(side.emit(ctx, all, false, "i", 8))
	wait("c2", "i")
	must(cl.Reconnect(ctx, "c1"))
	id2, rec := connected("c1")
	note("after disconnect: same id %v, recovered %v", id2 == id1, rec)

	// Nor does a server-side disconnect.
	must(side.kick(ctx, id2))
	reason, err = side.waitDisconnect(ctx, id2)
	must(err)
	note("server saw %q", reason)
	if _, err := cl.WaitFor(ctx, func(l nodetest.Line) bool {
		return l.Type == "disconnect" && l.Str("client") == "c1" && l.Str("reason") == "io server disconnect"
	}); err != nil {
		t.Fatal(err)
	}
	must(side.emit(ctx, all, false, "j", 9))
	wait("c2", "j")
	must(cl.Reconnect(ctx, "c1"))
	id3, rec := connected("c1")
	note("after kick: new id %v, recovered %v", id3 != id2 && id3 != id1, rec)
	must(side.emit(ctx, all, false, "end"))
	wait("c1", "end")

	var raw []string
	for _, l := range cl.Pending() {
		if l.Type == "packet" && l.Str("client") == "c1" {
			raw = append(raw, string(l.Field("data")))
		}
	}
	run.packets = normalizePackets(raw)
	return run
}

var (
	connectIDs = regexp.MustCompile(`"(sid|pid)":"([^"]+)"`)
	lastString = regexp.MustCompile(`,"([^"]*)"\]$`)
)

// normalizePackets replaces what differs between servers by nature: socket
// ids, pids and offsets become tokens numbered in order of appearance.
func normalizePackets(raw []string) []string {
	tokens := map[string]string{}
	token := func(kind, v string) string {
		if tok, ok := tokens[kind+v]; ok {
			return tok
		}
		n := 0
		for k := range tokens {
			if strings.HasPrefix(k, kind) {
				n++
			}
		}
		tokens[kind+v] = fmt.Sprintf("<%s%d>", kind, n+1)
		return tokens[kind+v]
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		var s string
		if json.Unmarshal([]byte(r), &s) != nil {
			out[i] = r // binary: {"$bin":...}
			continue
		}
		switch {
		case strings.HasPrefix(s, "0"):
			s = connectIDs.ReplaceAllStringFunc(s, func(m string) string {
				sm := connectIDs.FindStringSubmatch(m)
				return fmt.Sprintf("%q:%q", sm[1], token(sm[1], sm[2]))
			})
		case strings.HasPrefix(s, "2[") || strings.HasPrefix(s, "5"):
			// Logged events end with their offset.
			if sm := lastString.FindStringSubmatch(s); sm != nil {
				s = s[:len(s)-len(sm[0])] + `,"` + token("off", sm[1]) + `"]`
			}
		}
		out[i] = s
	}
	return out
}

// TestRecoveryLikeNode runs one client script against the relay and against
// Node socket.io 4.8.4, both with connection state recovery, and checks
// that the client sees the same packets (ids and offsets aside) and the
// same outcomes.
func TestRecoveryLikeNode(t *testing.T) {
	nodetest.Require(t)
	for _, tc := range []struct {
		name       string
		transports []string
		skip       bool
	}{
		{"websocket", []string{"websocket"}, true},
		{"polling", []string{"polling"}, true},
		{"websocket/middlewares", []string{"websocket"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			node := recoveryScenario(t, nodeRecoverySide(t, nodetest.PeerRecovery{SkipMiddlewares: &tc.skip}), tc.transports)
			rel := recoveryScenario(t, relayRecoverySide(t, relay.Recovery{SkipOnConnect: tc.skip}), tc.transports)
			// Up to the second recovery both must agree exactly.
			cut := func(ps []string) []string {
				for i, p := range ps {
					if strings.HasPrefix(p, `2["h",`) {
						return ps[:i+1]
					}
				}
				return ps
			}
			if diff := cmp.Diff(cut(node.packets), cut(rel.packets)); diff != "" {
				t.Errorf("packets seen by the client (-node +relay):\n%s", diff)
			}
			if diff := cmp.Diff(node.notes[:5], rel.notes[:5]); diff != "" {
				t.Errorf("outcomes (-node +relay):\n%s", diff)
			}
			want := []string{
				`server saw "transport close"`,
				"first recovery: same id true, recovered true",
				"rooms true data map[n:1]",
				`server saw "transport close"`,
				"second recovery: same id true, recovered true",
				`server saw "client namespace disconnect"`,
				"after disconnect: same id false, recovered false",
				`server saw "server namespace disconnect"`,
				"after kick: new id true, recovered false",
			}
			if diff := cmp.Diff(want, rel.notes); diff != "" {
				t.Errorf("relay outcomes (-want +got):\n%s", diff)
			}
			// A known difference: socket.io's in-memory SessionAwareAdapter
			// never forgets a session it restored, so after an explicit
			// disconnect or a kick the client comes back with the state it
			// had at its last recoverable disconnect (stale rooms, and the
			// packets since its offset for them). The relay takes a session
			// once (as @socket.io/redis-streams-adapter does with GETDEL):
			// an explicit disconnect or a kick keeps nothing.
			nodeQuirk := []string{"after disconnect: same id true, recovered true", "after kick: new id false, recovered true"}
			if got := []string{node.notes[6], node.notes[8]}; !slices.Equal(got, nodeQuirk) {
				t.Logf("note: Node no longer restores stale sessions: %q", got)
			}
			t.Logf("packets: %q", rel.packets)
		})
	}
}
