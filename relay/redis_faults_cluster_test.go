package relay_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redisaddr"
	"github.com/siorelay/siorelay/internal/redistest"
	"github.com/siorelay/siorelay/relay"
)

// noDisconnect fails if a client printed a "disconnect" line.
func noDisconnect(t *testing.T, c *nodetest.Clients) {
	t.Helper()
	for _, l := range c.Pending() {
		if l.Type == "disconnect" {
			t.Errorf("client disconnected: %s", l)
		}
	}
}

// TestClassicRelaysWithoutNode: relays form a cluster among themselves.
func TestClassicRelaysWithoutNode(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	a, urlA, sseA := clusterRelay(t, rs.Client(t), key, "a", nil)
	b, urlB, _ := clusterRelay(t, rs.Client(t), key, "b", nil)
	ca := nodetest.StartClients(t, nodetest.ClientsConfig{URL: urlA, Clients: []nodetest.ClientConfig{{Name: "a1", Rooms: []string{"r"}}}})
	cb := nodetest.StartClients(t, nodetest.ClientsConfig{URL: urlB, Clients: []nodetest.ClientConfig{{Name: "b1", Rooms: []string{"r"}}, {Name: "b2"}}})
	ctx := ctxT(t, 30*time.Second)

	if n, err := a.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("ServerCount = %d, %v", n, err)
	}
	if err := a.Of("/").To("r").Emit(ctx, "hi", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.WaitEvent(ctx, "a1", "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.WaitEvent(ctx, "b1", "hi"); err != nil {
		t.Fatal(err)
	}
	rooms, err := a.AllRooms(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"r", ca.ID("a1"), cb.ID("b1"), cb.ID("b2")} {
		if !slices.Contains(rooms, want) {
			t.Errorf("AllRooms = %v lacks %s", rooms, want)
		}
	}
	// A join made on a reaches b's sockets, then a room emit from b.
	if err := a.Of("/").Except("r").SocketsJoin(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b2 in late", func() bool { return len(b.Of("/").To("late").Sockets()) == 1 })
	if err := b.Of("/").To("late").Emit(ctx, "late", true); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.WaitEvent(ctx, "b2", "late"); err != nil {
		t.Fatal(err)
	}
	if err := b.ServerSideEmit(ctx, "/", "sse", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-sseA:
		if ev.Name != "sse" {
			t.Errorf("got %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no server-side emit")
	}
	if err := b.Of("/").To(ca.ID("a1")).DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.WaitDisconnect(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
}

// TestClassicRedisRestart: Redis goes away and comes back; clients stay
// connected, readiness follows Redis, and delivery resumes.
func TestClassicRedisRestart(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	srv, url, _ := clusterRelay(t, rs.Client(t), key, "a", nil)
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1", Rooms: []string{"r"}}}})
	ctx := ctxT(t, 40*time.Second)
	em, err := emitter.New(rs.Client(t), emitter.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.To("r").Emit(ctx, "before", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WaitEvent(ctx, "c1", "before"); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		rs.Stop()
		waitFor(t, 15*time.Second, "not ready", func() bool { return !srv.Ready() })
		start := time.Now()
		if err := srv.Of("/").Emit(ctx, "local-only"); !errors.Is(err, relay.ErrRedisUnavailable) || time.Since(start) > time.Second {
			t.Errorf("Emit while Redis is down = %v after %v; want ErrRedisUnavailable at once", err, time.Since(start))
		}
		if _, err := cl.WaitEvent(ctx, "c1", "local-only"); err != nil {
			t.Fatal(err)
		}
		rs.Restart()
		waitFor(t, 15*time.Second, "ready again", srv.Ready)
		if err := em.To("r").Emit(ctx, "after", round); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.WaitEvent(ctx, "c1", "after"); err != nil {
			t.Fatal(err)
		}
	}
	// The relay's own publishing works again too, and the relay still
	// counts once.
	if err := srv.Of("/").Emit(ctx, "own", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WaitEvent(ctx, "c1", "own"); err != nil {
		t.Fatal(err)
	}
	if n, err := srv.ServerCount(ctx, "/"); err != nil || n != 1 {
		t.Errorf("ServerCount = %d, %v", n, err)
	}
	noDisconnect(t, cl)
}

// TestClassicSentinelFailover: with a redis-sentinel:// URL the relay
// follows a failover.
func TestClassicSentinelFailover(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	sn := redistest.StartSentinel(t)
	key := redistest.UniquePrefix(t)
	rdb, err := redisaddr.NewClient(sn.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	srv, url, _ := clusterRelay(t, rdb, key, "a", nil)
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
	em, err := emitter.New(sn.Client(t), emitter.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	deliversAcrossFailover(t, sn, srv, em, cl)
	noDisconnect(t, cl)
}

// deliversAcrossFailover checks that the relay's client "c1" (of srv,
// started ready by clusterRelay) gets em's broadcasts before and after a
// failover of sn, and the relay's own broadcast after it.
func deliversAcrossFailover(t *testing.T, sn *redistest.Sentinel, srv *relay.Server, em *emitter.Emitter, cl *nodetest.Clients) {
	t.Helper()
	ctx := ctxT(t, 60*time.Second)
	if err := em.Emit(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WaitEvent(ctx, "c1", "before"); err != nil {
		t.Fatal(err)
	}
	if _, err := sn.Failover(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "ready after failover", srv.Ready)
	// Emit until delivered: after a failover, the emitter's own client may
	// still be switching masters.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_ = em.Emit(ctx, "after")
		wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := cl.WaitEvent(wctx, "c1", "after")
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery after failover: %v", err)
		}
	}
	if err := srv.Of("/").Emit(ctx, "own"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WaitEvent(ctx, "c1", "own"); err != nil {
		t.Fatal(err)
	}
}

// TestClassicRedisCluster: classic pub/sub on a Redis Cluster with
// replicas (messages cross the cluster bus; serverCount sums NUMSUB over
// the masters, so the relay must subscribe on a master).
func TestClassicRedisCluster(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	cl := redistest.StartCluster(t, 3, redistest.Replicas(1))
	key := redistest.UniquePrefix(t)
	peer := nodetest.StartPeer(t, nodetest.PeerConfig{Cluster: cl.Addrs(), Key: key})
	srv, url, _ := clusterRelay(t, cl.Client(t), key, "a", nil)
	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "r1", Rooms: []string{"room1"}}}})
	nc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{{Name: "n1", Rooms: []string{"room1"}}}})
	ctx := ctxT(t, 30*time.Second)
	if n, err := peer.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("Node serverCount = %d, %v", n, err)
	}
	if n, err := srv.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("relay ServerCount = %d, %v", n, err)
	}
	if err := peer.Emit(ctx, nodetest.Target{To: []string{"room1"}}, "fromnode"); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.WaitEvent(ctx, "r1", "fromnode"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Of("/").To("room1").Emit(ctx, "fromrelay"); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.WaitEvent(ctx, "n1", "fromrelay"); err != nil {
		t.Fatal(err)
	}
	socks, err := peer.FetchSockets(ctx, nodetest.Target{To: []string{"room1"}})
	if err != nil || len(socks) != 2 {
		t.Fatalf("fetchSockets = %+v, %v", socks, err)
	}
	acks, err := peer.EmitWithAck(ctx, nodetest.Target{}, 3*time.Second, "ask")
	if err != nil || len(acks) != 2 {
		t.Fatalf("acks = %s, %v", acks, err)
	}
}

// TestClassicRedisPause: a Redis that stops answering (SIGSTOP) without
// closing connections is noticed by an unanswered PING (within two 5 s
// periods): not ready; when it answers again, ready without a reconnect
// and delivery goes on.
func TestClassicRedisPause(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	srv, url, _ := clusterRelay(t, rs.Client(t), key, "a", nil)
	cl := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1"}}})
	ctx := ctxT(t, 60*time.Second)
	rs.Pause()
	waitFor(t, 20*time.Second, "not ready while paused", func() bool { return !srv.Ready() })
	rs.Resume()
	waitFor(t, 15*time.Second, "ready after resume", srv.Ready)
	em, err := emitter.New(rs.Client(t), emitter.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Emit(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WaitEvent(ctx, "c1", "after"); err != nil {
		t.Fatal(err)
	}
	noDisconnect(t, cl)
}
