package relay_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
	"github.com/siorelay/siorelay/relay"
)

func shardNumSub(t *testing.T, rdb redis.UniversalClient, ch string) int64 {
	t.Helper()
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		var total atomic.Int64
		err := cc.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error {
			m, err := c.PubSubShardNumSub(ctx, ch).Result()
			total.Add(m[ch])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return total.Load()
	}
	m, err := rdb.PubSubShardNumSub(t.Context(), ch).Result()
	if err != nil {
		t.Fatal(err)
	}
	return m[ch]
}

// shardedInterop runs the sharded checks against a Node peer and a relay on
// one Redis deployment (standalone or cluster).
func shardedInterop(t *testing.T, peerCfg nodetest.PeerConfig, rdb redis.UniversalClient, mode string) {
	ctx := ctxT(t, 60*time.Second)
	key := peerCfg.Key
	peerCfg.Mode = "sharded"
	peerCfg.SubscriptionMode = mode
	peerCfg.ServerEvents = []string{"sse"}
	peer := nodetest.StartPeer(t, peerCfg)
	srv, url, sse := clusterRelay(t, rdb, key, "relay1", func(c *relay.Config) {
		c.Sharded = true
		c.SubscriptionMode = mode
	})
	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{
		{Name: "r1", Rooms: []string{"room1", "solo"}, Data: map[string]any{"user": "alice"}},
		{Name: "r2"},
	}})
	nc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: peer.URL(), Clients: []nodetest.ClientConfig{
		{Name: "n1", Rooms: []string{"room1"}},
	}})
	waitFor(t, 10*time.Second, "relay room subscriptions", srv.Ready)

	if n, err := peer.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("Node serverCount = %d, %v; want 2", n, err)
	}
	if n, err := srv.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("relay ServerCount = %d, %v; want 2", n, err)
	}
	soloWant := int64(0)
	if mode != "static" {
		soloWant = 1
	}
	soloCh := key + "#/#solo#"
	if got := shardNumSub(t, rdb, soloCh); got != soloWant {
		t.Errorf("SHARDNUMSUB %s = %d; want %d", soloCh, got, soloWant)
	}

	// Node → relay: to all, to a room, with binary.
	if err := peer.Emit(ctx, nodetest.Target{}, "hello", "world", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := peer.Emit(ctx, nodetest.Target{To: []string{"room1"}}, "roomy", 1); err != nil {
		t.Fatal(err)
	}
	if err := peer.Emit(ctx, nodetest.Target{To: []string{rc.ID("r2")}}, "private", 2); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ c, ev string }{{"r1", "hello"}, {"r2", "hello"}, {"r1", "roomy"}, {"r2", "private"}} {
		ev, err := rc.WaitEvent(ctx, w.c, w.ev)
		if err != nil {
			t.Fatal(err)
		}
		if w.ev == "hello" {
			got, _ := ev.Values()
			if d := cmp.Diff([]any{"world", []byte{1, 2}}, got); d != "" {
				t.Errorf("%s (-want +got):\n%s", w.c, d)
			}
		}
	}
	// relay → Node, and the Go emitter → relay.
	if err := srv.Of("/").To("room1").Emit(ctx, "fromrelay", []byte{3}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.WaitEvent(ctx, "n1", "fromrelay"); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.WaitEvent(ctx, "r1", "fromrelay"); err != nil {
		t.Fatal(err)
	}
	em, err := emitter.New(rdb, emitter.Config{Key: key, Sharded: true, SubscriptionMode: emitter.SubscriptionMode(mode)})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.To("solo").Emit(ctx, "fromemitter", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.WaitEvent(ctx, "r1", "fromemitter"); err != nil {
		t.Fatal(err)
	}

	// fetchSockets, emit with ack, server-side emit from Node.
	socks, err := peer.FetchSockets(ctx, nodetest.Target{To: []string{"room1"}})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(socks, func(s nodetest.RemoteSocket) bool { return s.ID == rc.ID("r1") })
	if len(socks) != 2 || i < 0 {
		t.Fatalf("fetchSockets = %+v", socks)
	}
	if d := cmp.Diff([]string{rc.ID("r1"), "room1", "solo"}, socks[i].Rooms); d != "" {
		t.Errorf("rooms (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]any{"user": "alice"}, mustJSON(t, socks[i].Data)); d != "" {
		t.Errorf("data (-want +got):\n%s", d)
	}
	mine, err := srv.Of("/").To("room1").FetchSockets(ctx)
	if err != nil || len(mine) != 2 || mine[0].ID != rc.ID("r1") || mine[1].ID != nc.ID("n1") {
		t.Fatalf("relay FetchSockets(room1) = %+v, %v; want r1 then n1", mine, err)
	}
	acks, err := peer.EmitWithAck(ctx, nodetest.Target{}, 3*time.Second, "ask", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(acks) != 3 {
		t.Errorf("acks = %s; want 3", acks)
	}
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	acks, err = srv.Of("/").EmitWithAck(actx, "askrelay")
	cancel()
	if err != nil || len(acks) != 3 {
		t.Errorf("relay EmitWithAck = %s, %v; want 3 acks", acks, err)
	}
	res, err := peer.ServerSideEmitWithAck(ctx, "/", "sse", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !cmp.Equal(mustJSON(t, res[0]), map[string]any{"relay": "relay1"}) {
		t.Errorf("server-side acks = %s", res)
	}
	<-sse
	if err := srv.ServerSideEmit(ctx, "/", "sse", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.WaitServerSideEmit(ctx, "/", "sse"); err != nil {
		t.Fatal(err)
	}

	// Joins both ways; the room channel follows the room.
	if err := peer.SocketsJoin(ctx, nodetest.Target{To: []string{"room1"}}, "room2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "r1 in room2", func() bool { return len(srv.Of("/").To("room2").Sockets()) == 1 })
	if err := srv.Of("/").SocketsLeave(ctx, "solo"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "solo channel unsubscribed", func() bool { return shardNumSub(t, rdb, soloCh) == 0 })
	if err := srv.Of("/").In("room2").SocketsJoin(ctx, "room3"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "n1 in room3", func() bool {
		s, err := peer.FetchSockets(ctx, nodetest.Target{To: []string{"room3"}})
		return err == nil && len(s) == 2
	})
	if err := peer.DisconnectSockets(ctx, nodetest.Target{To: []string{rc.ID("r2")}}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.WaitDisconnect(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
}

func TestShardedInterop(t *testing.T) {
	for _, mode := range []string{"dynamic", "dynamic-private", "static"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			nodetest.Require(t)
			rs := redistest.Start(t)
			shardedInterop(t, nodetest.PeerConfig{Redis: "redis://" + rs.Addr(), Key: redistest.UniquePrefix(t)}, rs.Client(t), mode)
		})
	}
}

// TestShardedRedisCluster: the same on a three-master Redis Cluster, where
// shard channels live on different nodes.
func TestShardedRedisCluster(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	cl := redistest.StartCluster(t, 3)
	shardedInterop(t, nodetest.PeerConfig{Cluster: cl.Addrs(), Key: redistest.UniquePrefix(t)}, cl.Client(t), "dynamic")
}

// TestShardedClusterFailover: the nodes serving the namespace channel and
// a room channel fail over; the relay subscribes again on the new masters
// and delivery resumes, with clients connected throughout.
//
// The same with the master killed (Cluster.KillMaster, which exercises the
// lost-connection path) passed when run alone but once waited 90 s for
// redistest's promotion under a loaded -race run, so it is not run by
// default: SIORELAY_TEST_KILL_MASTER=1 adds it.
func TestShardedClusterFailover(t *testing.T) {
	t.Run("coordinated", func(t *testing.T) { shardedFailover(t, false) })
	if os.Getenv("SIORELAY_TEST_KILL_MASTER") == "1" {
		t.Run("master killed", func(t *testing.T) { shardedFailover(t, true) })
	}
}

func shardedFailover(t *testing.T, kill bool) {
	t.Parallel()
	nodetest.Require(t)
	cl := redistest.StartCluster(t, 3, redistest.Replicas(1))
	key := redistest.UniquePrefix(t)
	rdb := cl.Client(t)
	srv, url, _ := clusterRelay(t, rdb, key, "a", func(c *relay.Config) { c.Sharded = true })
	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1", Rooms: []string{"x"}}}})
	waitFor(t, 10*time.Second, "ready", srv.Ready)
	ctx := ctxT(t, 90*time.Second)
	em, err := emitter.New(rdb, emitter.Config{Key: key, Sharded: true})
	if err != nil {
		t.Fatal(err)
	}
	// deliver publishes until c1 gets event (the emitter's slot map may lag).
	deliver := func(op emitter.Operator, event string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			_ = op.Emit(ctx, event)
			wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			_, err := rc.WaitEvent(wctx, "c1", event)
			cancel()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not delivered: %v", event, err)
			}
		}
	}
	deliver(em.To("x"), "before")
	for i, ch := range []string{key + "#/#x#", key + "#/#"} {
		var err error
		if kill {
			_, err = cl.KillMaster(ctx, ch)
		} else {
			_, err = cl.Failover(ctx, ch)
		}
		if err != nil {
			t.Fatal(err)
		}
		deliver(em.To("x"), fmt.Sprintf("room-after-%d", i))
		deliver(em.To(), fmt.Sprintf("all-after-%d", i))
	}
	waitFor(t, 20*time.Second, "ready after failovers", srv.Ready)
	// The client's master list refreshes lazily after a failover.
	var n int
	var nerr error
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, nerr = srv.ServerCount(ctx, "/")
		if nerr == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ServerCount = %d, %v; want 1", n, nerr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	noDisconnect(t, rc)
}

// TestShardedRedisRestart: Redis restarts under a sharded relay; clients
// stay, readiness follows, every subscription (room channels too) comes
// back and delivery resumes.
func TestShardedRedisRestart(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	rs := redistest.Start(t)
	key := redistest.UniquePrefix(t)
	rdb := rs.Client(t)
	srv, url, _ := clusterRelay(t, rdb, key, "a", func(c *relay.Config) { c.Sharded = true })
	rc := nodetest.StartClients(t, nodetest.ClientsConfig{URL: url, Clients: []nodetest.ClientConfig{{Name: "c1", Rooms: []string{"x"}}}})
	waitFor(t, 10*time.Second, "ready", srv.Ready)
	ctx := ctxT(t, 40*time.Second)
	em, err := emitter.New(rdb, emitter.Config{Key: key, Sharded: true})
	if err != nil {
		t.Fatal(err)
	}
	rs.Stop()
	waitFor(t, 15*time.Second, "not ready", func() bool { return !srv.Ready() })
	start := time.Now()
	if err := srv.Of("/").Emit(ctx, "local-only"); !errors.Is(err, relay.ErrRedisUnavailable) || time.Since(start) > time.Second {
		t.Errorf("Emit while Redis is down = %v after %v; want ErrRedisUnavailable at once", err, time.Since(start))
	}
	if _, err := rc.WaitEvent(ctx, "c1", "local-only"); err != nil {
		t.Fatal(err)
	}
	rs.Restart()
	waitFor(t, 15*time.Second, "ready again", srv.Ready)
	if err := em.To("x").Emit(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.WaitEvent(ctx, "c1", "after"); err != nil {
		t.Fatal(err)
	}
	if got := shardNumSub(t, rdb, key+"#/#x#"); got != 1 {
		t.Errorf("room channel SHARDNUMSUB = %d after restart", got)
	}
	noDisconnect(t, rc)
	// The outage in Stats: lost and restored, the refused publish, and
	// the one broadcast that came through Redis.
	st := srv.Stats()
	if !st.Redis || st.RedisOutages < 1 || st.RedisReconnects < 1 || st.RedisPublishErrors != 1 || st.RedisBroadcasts != 1 || st.RedisReceived < 1 {
		t.Errorf("Stats: redis %v, outages %d, reconnects %d, publish errors %d, broadcasts %d, received %d; want true, >=1, >=1, 1, 1, >=1",
			st.Redis, st.RedisOutages, st.RedisReconnects, st.RedisPublishErrors, st.RedisBroadcasts, st.RedisReceived)
	}
}

// TestShardedRelaysWithoutNode: sharded relays form a cluster among
// themselves on a Redis Cluster.
func TestShardedRelaysWithoutNode(t *testing.T) {
	t.Parallel()
	nodetest.Require(t)
	cl := redistest.StartCluster(t, 3)
	key := redistest.UniquePrefix(t)
	a, urlA, _ := clusterRelay(t, cl.Client(t), key, "a", func(c *relay.Config) { c.Sharded = true })
	b, urlB, sseB := clusterRelay(t, cl.Client(t), key, "b", func(c *relay.Config) { c.Sharded = true })
	ca := nodetest.StartClients(t, nodetest.ClientsConfig{URL: urlA, Clients: []nodetest.ClientConfig{{Name: "a1", Rooms: []string{"r"}}}})
	cb := nodetest.StartClients(t, nodetest.ClientsConfig{URL: urlB, Clients: []nodetest.ClientConfig{{Name: "b1", Rooms: []string{"r"}}, {Name: "b2"}}})
	waitFor(t, 10*time.Second, "ready", func() bool { return a.Ready() && b.Ready() })
	ctx := ctxT(t, 30*time.Second)
	if n, err := a.ServerCount(ctx, "/"); err != nil || n != 2 {
		t.Fatalf("ServerCount = %d, %v", n, err)
	}
	if err := a.Of("/").To("r").Emit(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.WaitEvent(ctx, "b1", "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.WaitEvent(ctx, "a1", "hi"); err != nil {
		t.Fatal(err)
	}
	socks, err := a.Of("/").FetchSockets(ctx)
	if err != nil || len(socks) != 3 {
		t.Fatalf("FetchSockets = %+v, %v", socks, err)
	}
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	acks, err := b.Of("/").To("r").EmitWithAck(actx, "ask")
	cancel()
	if err != nil || len(acks) != 2 {
		t.Fatalf("EmitWithAck = %s, %v", acks, err)
	}
	if err := a.ServerSideEmit(ctx, "/", "sse", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sseB:
	case <-ctx.Done():
		t.Fatal("no server-side emit")
	}
	if err := a.Of("/").Except("r").SocketsJoin(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b2 in late", func() bool { return len(b.Of("/").To("late").Sockets()) == 1 })
	if err := b.Of("/").To(ca.ID("a1")).DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.WaitDisconnect(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
}
