package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redisaddr"
	"github.com/siorelay/siorelay/internal/redistest"
	"github.com/siorelay/siorelay/relay"
)

// streamsSetup is a Redis streams adapter cluster for a test: Node
// socket.io 4.8.4 servers with @socket.io/redis-streams-adapter 0.3.1 and
// relays, all with connection state recovery.
type streamsSetup struct {
	rdb     redis.UniversalClient
	url     string // Redis URL for peers (standalone)
	cluster []string
	key     string
	opts    nodetest.StreamsOptions
}

func (s streamsSetup) peer(t *testing.T, name string) *nodetest.Peer {
	t.Helper()
	return nodetest.StartPeer(t, nodetest.PeerConfig{
		Redis: s.url, Cluster: s.cluster, Key: s.key, Mode: "streams", Streams: s.opts, Name: name,
		Namespaces: []string{"/", "/custom"}, ServerEvents: []string{"sse"},
		Recovery: &nodetest.PeerRecovery{MaxDisconnection: time.Minute},
	})
}

func (s streamsSetup) relay(t *testing.T, name string) (*relay.Server, string, chan relay.Event) {
	t.Helper()
	return clusterRelay(t, s.rdb, s.key, name, func(c *relay.Config) {
		c.Streams = &relay.Streams{Name: s.opts.StreamName, Count: s.opts.StreamCount, MaxLen: s.opts.MaxLen, SessionKeyPrefix: s.opts.SessionKeyPrefix}
		c.Sharded = s.opts.UseShardedPubSub
		c.Recovery = &relay.Recovery{MaxDisconnection: time.Minute}
	})
}

// lastArg is an event's last argument: its offset.
func lastArg(t *testing.T, ev nodetest.Event) string {
	t.Helper()
	var s string
	if len(ev.Args) == 0 || json.Unmarshal(ev.Args[len(ev.Args)-1], &s) != nil {
		t.Fatalf("event %s has no offset: %s", ev.Event, ev.Args)
	}
	return s
}

// streamsInterop runs every operation both ways between a Node server and
// a relay of one streams cluster.
func streamsInterop(t *testing.T, s streamsSetup) {
	ctx := ctxT(t, 60*time.Second)
	peer := s.peer(t, "node1")
	srv, url, sse := s.relay(t, "relay1")
	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
		{Name: "r1", Rooms: []string{"room1"}, Data: map[string]any{"user": "alice"}},
		{Name: "r2", Transports: []string{"polling"}},
		{Name: "rc", Nsp: "/custom"},
	}})
	nc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{
		{Name: "n1", Rooms: []string{"room1"}},
	}})

	t.Run("serverCount", func(t *testing.T) {
		if n, err := peer.ServerCount(ctx, "/"); err != nil || n != 2 {
			t.Fatalf("Node serverCount = %d, %v", n, err)
		}
		if n, err := srv.ServerCount(ctx, "/"); err != nil || n != 2 {
			t.Fatalf("relay ServerCount = %d, %v", n, err)
		}
	})
	t.Run("node broadcast, same offset everywhere", func(t *testing.T) {
		if err := peer.Emit(ctx, nodetest.Target{}, "hello", "world", []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		var offs []string
		for _, c := range []string{"r1", "r2"} {
			ev, err := rc.WaitEvent(ctx, c, "hello")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := nodetest.DecodeArgs(ev.Args[:2])
			if d := cmp.Diff([]any{"world", []byte{1, 2, 3}}, got); d != "" {
				t.Errorf("%s (-want +got):\n%s", c, d)
			}
			offs = append(offs, lastArg(t, ev))
		}
		ev, err := nc.WaitEvent(ctx, "n1", "hello")
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, lastArg(t, ev))
		if offs[0] != offs[1] || offs[0] != offs[2] {
			t.Fatalf("offsets differ: %q", offs)
		}
	})
	t.Run("relay broadcast reaches Node clients", func(t *testing.T) {
		if err := srv.Of("/").To("room1").Emit(ctx, "from-relay", 1, []byte{9}); err != nil {
			t.Fatal(err)
		}
		ev, err := nc.WaitEvent(ctx, "n1", "from-relay")
		if err != nil {
			t.Fatal(err)
		}
		ev2, err := rc.WaitEvent(ctx, "r1", "from-relay")
		if err != nil {
			t.Fatal(err)
		}
		if lastArg(t, ev) != lastArg(t, ev2) {
			t.Fatalf("offsets differ: %s %s", ev.Args, ev2.Args)
		}
		if err := srv.Of("/custom").Emit(ctx, "custom", 2); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.WaitEvent(ctx, "rc", "custom"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("socketsJoin both ways", func(t *testing.T) {
		if err := peer.SocketsJoin(ctx, nodetest.Target{To: []string{"room1"}}, "joined-by-node"); err != nil {
			t.Fatal(err)
		}
		if err := srv.Of("/").In(rc.ID("r2")).SocketsJoin(ctx, "joined-by-relay"); err != nil {
			t.Fatal(err)
		}
		if err := srv.Of("/").In(nc.ID("n1")).SocketsJoin(ctx, "joined-by-relay"); err != nil {
			t.Fatal(err)
		}
		// The relay's broadcast follows its joins in the stream, and every
		// server handles the stream in order. (A Node server's own
		// broadcast would not wait: it delivers locally at once, before it
		// may have read the joins.)
		if err := srv.Of("/").To("joined-by-relay").Emit(ctx, "to-joined", 1); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*nodetest.Clients{rc, nc} {
			name := "r2"
			if c == nc {
				name = "n1"
			}
			if _, err := c.WaitEvent(ctx, name, "to-joined"); err != nil {
				t.Fatal(err)
			}
		}
		if err := srv.Of("/").To("joined-by-node").Emit(ctx, "to-node-joined"); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.WaitEvent(ctx, "r1", "to-node-joined"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("fetchSockets both ways", func(t *testing.T) {
		socks, err := peer.FetchSockets(ctx, nodetest.Target{To: []string{"room1"}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, sk := range socks {
			ids = append(ids, sk.ID)
			if sk.ID == rc.ID("r1") {
				var data map[string]any
				json.Unmarshal(sk.Data, &data)
				if data["user"] != "alice" || !slices.Contains(sk.Rooms, "room1") {
					t.Errorf("relay socket as Node sees it: %+v", sk)
				}
			}
		}
		want := []string{rc.ID("r1"), nc.ID("n1")}
		slices.Sort(ids)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("Node fetchSockets = %v, want %v", ids, want)
		}
		rs, err := srv.Of("/").In("room1").FetchSockets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = nil
		for _, sk := range rs {
			ids = append(ids, sk.ID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, want) {
			t.Errorf("relay FetchSockets = %v, want %v", ids, want)
		}
	})
	t.Run("serverSideEmit with ack both ways", func(t *testing.T) {
		acks, err := peer.ServerSideEmitWithAck(ctx, "/", "sse", 1)
		if err != nil || len(acks) != 1 || string(acks[0]) != `{"relay":"relay1"}` {
			t.Fatalf("Node serverSideEmitWithAck = %s, %v", acks, err)
		}
		select {
		case <-sse:
		case <-ctx.Done():
			t.Fatal("relay got no server-side emit")
		}
		if err := srv.ServerSideEmit(ctx, "/", "sse", "from-relay"); err != nil {
			t.Fatal(err)
		}
		if _, err := peer.WaitServerSideEmit(ctx, "/", "sse"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("broadcast with ack both ways", func(t *testing.T) {
		acks, err := peer.EmitWithAck(ctx, nodetest.Target{To: []string{"room1"}}, 3*time.Second, "ack-me")
		if err != nil {
			t.Fatal(err)
		}
		if got := ackClients(t, acks); !slices.Equal(got, []string{"n1", "r1"}) {
			t.Errorf("Node emitWithAck acked by %v", got)
		}
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		racks, err := srv.Of("/").To("room1").EmitWithAck(actx, "ack-me-too")
		if err != nil {
			t.Fatal(err)
		}
		if got := ackClients(t, racks); !slices.Equal(got, []string{"n1", "r1"}) {
			t.Errorf("relay EmitWithAck acked by %v", got)
		}
	})
	t.Run("disconnectSockets both ways", func(t *testing.T) {
		if err := peer.DisconnectSockets(ctx, nodetest.Target{To: []string{rc.ID("r2")}}, true); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.WaitDisconnect(ctx, "r2"); err != nil {
			t.Fatal(err)
		}
		if err := srv.Of("/").In(nc.ID("n1")).DisconnectSockets(ctx, false); err != nil {
			t.Fatal(err)
		}
		if _, err := nc.WaitDisconnect(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStreamsInterop(t *testing.T) {
	nodetest.Require(t)
	for _, tc := range []struct {
		name string
		opts nodetest.StreamsOptions
	}{
		{"defaults", nodetest.StreamsOptions{}},
		{"streamCount 3, sharded pub/sub", nodetest.StreamsOptions{StreamName: "sio", StreamCount: 3, UseShardedPubSub: true, MaxLen: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs := redistest.Start(t)
			streamsInterop(t, streamsSetup{rdb: rs.Client(t), url: rs.URL(), key: redistest.UniquePrefix(t), opts: tc.opts})
		})
	}
}

// TestStreamsRedisCluster: the same on a three-master Redis Cluster, with
// three streams (on different nodes) and sharded pub/sub.
func TestStreamsRedisCluster(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	c := redistest.StartCluster(t, 3)
	streamsInterop(t, streamsSetup{rdb: c.Client(t), cluster: c.Addrs(), key: redistest.UniquePrefix(t),
		opts: nodetest.StreamsOptions{StreamName: redistest.UniquePrefix(t) + "s", StreamCount: 3, UseShardedPubSub: true}})
}

// switchProxy forwards TCP connections to a target that the test can
// change, and drops them all at once: what a load balancer does when a
// server goes away and its clients reconnect elsewhere.
type switchProxy struct {
	ln     net.Listener
	refuse func() bool // when set and true, new connections are closed at once
	mu     sync.Mutex
	target string
	conns  []net.Conn
}

func newSwitchProxy(t *testing.T, target string, refuse func() bool) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, target: target, refuse: refuse}
	t.Cleanup(func() { ln.Close(); p.dropAll() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.refuse != nil && p.refuse() {
				c.Close()
				continue
			}
			p.mu.Lock()
			target := p.target
			p.mu.Unlock()
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *switchProxy) url() string { return "http://" + p.ln.Addr().String() }

// moveTo sends new connections to target and drops the current ones.
func (p *switchProxy) moveTo(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
	p.dropAll()
}

func (p *switchProxy) dropAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func hostOf(url string) string { return url[len("http://"):] }

// TestStreamsRecoveryAcrossServers: a client that loses its server comes
// back to another server of the cluster (relay → relay, relay → Node, Node
// → relay, and after a relay's graceful shutdown) with its id, rooms and
// every packet broadcast meanwhile, by Node servers and relays alike,
// exactly once.
func TestStreamsRecoveryAcrossServers(t *testing.T) {
	nodetest.Require(t)
	rs := redistest.Start(t)
	s := streamsSetup{rdb: rs.Client(t), url: rs.URL(), key: redistest.UniquePrefix(t)}
	peer := s.peer(t, "node1")
	srvA, urlA, _ := s.relay(t, "relayA")
	srvB, urlB, _ := s.relay(t, "relayB")
	ctx := ctxT(t, 60*time.Second)
	hops := []struct{ from, to string }{
		{hostOf(urlA), hostOf(urlB)},       // relay → relay
		{hostOf(urlB), hostOf(peer.URL())}, // relay → Node
		{hostOf(peer.URL()), hostOf(urlA)}, // Node → relay
	}
	px := newSwitchProxy(t, hops[0].from, nil)
	on := true
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: px.url(), Clients: []nodetest.ClientConfig{
		{Name: "c1", Rooms: []string{"r1"}, Data: map[string]any{"n": 1}, Reconnection: &on, ReconnectionDelay: 300 * time.Millisecond},
	}})
	id := cl.ID("c1")
	var want []int
	next := 0
	emit := func(from string) {
		t.Helper()
		next++
		var err error
		switch from {
		case "node":
			err = peer.Emit(ctx, nodetest.Target{To: []string{"r1"}}, "n", next)
		case "relayA":
			err = srvA.Of("/").To("r1").Emit(ctx, "n", next)
		default:
			err = srvB.Of("/").Emit(ctx, "n", next)
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, next)
	}
	emit("node")
	if _, err := cl.WaitEvent(ctx, "c1", "n"); err != nil {
		t.Fatal(err)
	}
	got := []int{1}
	for i, h := range hops {
		px.moveTo(h.to)
		if _, err := cl.WaitFor(ctx, func(l nodetest.Line) bool { return l.Type == "disconnect" && l.Str("client") == "c1" }); err != nil {
			t.Fatal(err)
		}
		// Broadcast while the client is away, from everywhere.
		emit("node")
		emit("relayA")
		emit("relayB")
		if got, rec := reconnected(t, ctx, cl, "c1"); got != id || !rec {
			t.Fatalf("hop %d (%s → %s): reconnected as %s recovered %v, want %s recovered", i, h.from, h.to, got, rec, id)
		}
		emit("node") // live, after the recovery
		got = numbered(t, ctx, cl, "c1", fmt.Sprintf("hop %d", i), got, len(want))
	}
	// A rolling restart: relay A (where the client is now) shuts down
	// gracefully; the sessions it stores let its clients recover on B.
	px.mu.Lock()
	px.target = hostOf(urlB)
	px.mu.Unlock()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := srvA.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	emit("relayB")
	if got, rec := reconnected(t, ctx, cl, "c1"); got != id || !rec {
		t.Fatalf("after A's shutdown: reconnected as %s recovered %v, want %s recovered", got, rec, id)
	}
	got = numbered(t, ctx, cl, "c1", "after A's shutdown", got, len(want))
	// Every client sees broadcasts in stream order; one publisher's are
	// in its order, and none is missing or repeated.
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if !slices.Equal(sorted, want) {
		t.Fatalf("got %v, want each of %v once", got, want)
	}
}

// TestStreamsReadsOnAfterOutage: entries added while a relay cannot reach
// Redis are read when it can again (its reader resumes from the last entry
// it handled), after a Redis restart too (with its data, appendonly).
func TestStreamsReadsOnAfterOutage(t *testing.T) {
	nodetest.Require(t)
	rs := redistest.Start(t, redistest.Config("appendonly yes", "appendfsync always"))
	s := streamsSetup{rdb: rs.Client(t), url: rs.URL(), key: redistest.UniquePrefix(t)}
	srv, url, _ := s.relay(t, "relay1")
	ctx := ctxT(t, 60*time.Second)
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
	em, err := emitter.New(rs.Client(t), emitter.Config{Key: s.key, Streams: &emitter.StreamsConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var sent []int
	send := func() {
		n++
		if err := em.Emit(ctx, "n", n); err == nil {
			sent = append(sent, n)
		}
	}
	send()
	// Kill the relay's connections: the reader is mid XREAD BLOCK.
	for range 5 {
		send()
	}
	if err := rs.Client(t).Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		send()
	}
	// A restart (the stream survives in the append-only file).
	rs.Stop()
	send() // refused: Redis is down
	rs.Restart()
	waitFor(t, 15*time.Second, "ready again", srv.Ready)
	for range 5 {
		send()
	}
	var got []int
	got = numbered(t, ctx, cl, "c1", "after the restart", got, len(sent))
	if !slices.Equal(got, sent) {
		t.Fatalf("got %v, want %v", got, sent)
	}
	if len(sent) != n-1 {
		t.Fatalf("%d of %d sent; want all but the one while Redis was down", len(sent), n)
	}
}

// TestStreamsSentinelFailover: through a redis-sentinel:// URL the relay's
// stream readers and the emitter follow a failover.
func TestStreamsSentinelFailover(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	sn := redistest.StartSentinel(t)
	key := redistest.UniquePrefix(t)
	rdb, err := redisaddr.NewClient(sn.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	s := streamsSetup{rdb: rdb, key: key, opts: nodetest.StreamsOptions{StreamName: key + "s"}}
	srv, url, _ := s.relay(t, "a")
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
	em, err := emitter.New(sn.Client(t), emitter.Config{Key: key, Streams: &emitter.StreamsConfig{StreamName: key + "s"}})
	if err != nil {
		t.Fatal(err)
	}
	deliversAcrossFailover(t, sn, srv, em, cl)
}

// TestStreamsRecoveryFromStream: a client whose offset is older than the
// relay's copy of the stream (the relay started after it) recovers from
// the stream itself, then the copy: every missed packet, once.
func TestStreamsRecoveryFromStream(t *testing.T) {
	nodetest.Require(t)
	rs := redistest.Start(t)
	s := streamsSetup{rdb: rs.Client(t), url: rs.URL(), key: redistest.UniquePrefix(t)}
	peer := s.peer(t, "node1")
	ctx := ctxT(t, 60*time.Second)
	off := false
	nc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Packets: true, Clients: []nodetest.ClientConfig{
		{Name: "c1", Rooms: []string{"r1"}, Reconnection: &off},
	}})
	id := nc.ID("c1")
	if err := peer.Emit(ctx, nodetest.Target{}, "n", 0); err != nil {
		t.Fatal(err)
	}
	ev, err := nc.WaitEvent(ctx, "c1", "n")
	if err != nil {
		t.Fatal(err)
	}
	offset := lastArg(t, ev)
	if err := peer.DropConnection(ctx, "/", id); err != nil {
		t.Fatal(err)
	}
	sess, err := peer.WaitSession(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// Missed before the relay starts (only in the stream)…
	for i := 1; i <= 3; i++ {
		if err := peer.Emit(ctx, nodetest.Target{To: []string{"r1"}}, "n", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := peer.Emit(ctx, nodetest.Target{To: []string{"other"}}, "n", -1); err != nil {
		t.Fatal(err)
	}
	srv, url, _ := s.relay(t, "late")
	// … and after (in its copy too).
	for i := 4; i <= 6; i++ {
		if err := peer.Emit(ctx, nodetest.Target{}, "n", i); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the relay's copy", func() bool { return srv.Stats().Recovery.Packets >= 3 })
	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
		{Name: "c1", Auth: map[string]any{"pid": sess.PID, "offset": offset}},
	}})
	if got := rc.ID("c1"); got != id {
		t.Fatalf("socket %s, want %s (recovered)", got, id)
	}
	if err := srv.Of("/").Emit(ctx, "n", 7); err != nil {
		t.Fatal(err)
	}
	var got []int
	got = numbered(t, ctx, rc, "c1", "after the recovery", got, 7)
	if !slices.Equal(got, []int{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("got %v, want 1…7 once each", got)
	}
	if st := srv.Stats().Recovery; st.Recovered != 1 || st.Replayed != 6 {
		t.Fatalf("stats %+v", st)
	}
}

// TestStreamsTrimmedCounted: entries that maxLen trims while a relay
// cannot reach Redis are counted when it can again; the rest are
// delivered.
func TestStreamsTrimmedCounted(t *testing.T) {
	nodetest.Require(t)
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	var paused atomic.Bool
	px := newSwitchProxy(t, rs.Addr(), paused.Load)
	rdb := redis.NewClient(&redis.Options{Addr: hostOf(px.url()), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	s := streamsSetup{rdb: rdb, key: key, opts: nodetest.StreamsOptions{MaxLen: 10}}
	srv, url, _ := s.relay(t, "relay1")
	ctx := ctxT(t, 60*time.Second)
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
	em, err := emitter.New(rs.Client(t), emitter.Config{Key: key, Streams: &emitter.StreamsConfig{MaxLen: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Emit(ctx, "n", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WaitEvent(ctx, "c1", "n"); err != nil {
		t.Fatal(err)
	}
	paused.Store(true)
	px.dropAll()
	waitFor(t, 15*time.Second, "not ready", func() bool { return !srv.Ready() })
	const sent = 1000
	for i := 1; i <= sent; i++ {
		if err := em.Emit(ctx, "n", i); err != nil {
			t.Fatal(err)
		}
	}
	left, err := rs.Client(t).XLen(ctx, "socket.io").Result()
	if err != nil || left >= sent {
		t.Fatalf("stream length %d, %v: maxLen did not trim", left, err)
	}
	paused.Store(false)
	waitFor(t, 15*time.Second, "ready again", srv.Ready)
	var got []int
	got = numbered(t, ctx, cl, "c1", "after the pause", got, int(left))
	if got[len(got)-1] != sent {
		t.Fatalf("last delivered %d, want %d", got[len(got)-1], sent)
	}
	waitFor(t, 10*time.Second, "trimmed counted", func() bool { return srv.Stats().RedisStreamTrimmed == sent-left })
}

// numbered appends to got the number (first argument) of each "n" event
// client gets, until got holds n of them; what names the step for a
// failure.
func numbered(t *testing.T, ctx context.Context, cl *nodetest.Clients, client, what string, got []int, n int) []int {
	t.Helper()
	for len(got) < n {
		ev, err := cl.WaitEvent(ctx, client, "n")
		if err != nil {
			t.Fatalf("%s: %s got %v, %d of %d: %v", what, client, got, len(got), n, err)
		}
		var v int
		json.Unmarshal(ev.Args[0], &v)
		got = append(got, v)
	}
	return got
}
