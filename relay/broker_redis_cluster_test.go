package relay

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/adapter"
	"github.com/siorelay/siorelay/internal/redistest"
)

func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func shutdownNow(t testing.TB, srv *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// TestRedisBrokerBurst publishes far faster than the relay delivers (its
// dispatcher is held up) to a Redis that disconnects a pub/sub client
// whose output buffer passes 8 MiB (the burst is 30 MB; the publisher
// keeps at most 10000 messages, 1.5 MB, ahead of the reader, which a
// reader blocked by delivery could never satisfy): the reader keeps draining, the
// overflow is dropped and counted, Redis never disconnects the relay, and
// dispatch resumes.
func TestRedisBrokerBurst(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t, redistest.Config("client-output-buffer-limit pubsub 8mb 4mb 1"))
	key := redistest.UniquePrefix(t)
	srv, err := NewServer(Config{Redis: rs.Client(t), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdownNow(t, srv)
	waitUntil(t, 10*time.Second, "ready", srv.Ready)
	b := srv.broker.(*redisBroker)
	ns := srv.namespace("/", false)

	const n = 200000
	msg, err := adapter.AppendEmitterBroadcast(nil, "/", adapter.Opts{}, "e", []any{strings.Repeat("x", 100)})
	if err != nil {
		t.Fatal(err)
	}
	ch := adapter.BroadcastChannel(key, "/", nil)
	pub := rs.Client(t)
	ctx := t.Context()

	ns.mu.Lock() // the dispatcher blocks in its first delivery
	for i := 0; i < n/1000; i++ {
		pipe := pub.Pipeline()
		for range 1000 {
			pipe.Publish(ctx, ch, msg)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			ns.mu.Unlock()
			t.Fatal(err)
		}
		sent := int64(i+1) * 1000
		deadline := time.Now().Add(10 * time.Second)
		for b.cnt.received.Load() < sent-10000 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for b.cnt.received.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if received := b.cnt.received.Load(); received != n {
		ns.mu.Unlock()
		t.Fatalf("read %d of %d messages (dropped %d, outages %d)", received, n, b.cnt.dropped.Load(), b.cnt.outages.Load())
	}
	ns.mu.Unlock()
	waitUntil(t, 20*time.Second, "queue drained", func() bool { return len(b.queue) == 0 })
	received, dropped, outages := b.cnt.received.Load(), b.cnt.dropped.Load(), b.cnt.outages.Load()
	t.Logf("received %d, dropped %d (%.1f MB published)", received, dropped, float64(n*len(msg))/1e6)
	if dropped == 0 || dropped > n-redisQueueLen+1 {
		t.Errorf("dropped = %d; want between 1 and %d", dropped, n-redisQueueLen+1)
	}
	if outages != 0 || !srv.Ready() {
		t.Errorf("subscription was lost (outages %d): Redis disconnected the reader", outages)
	}
	info, err := pub.Info(ctx, "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(info, "client_output_buffer_limit_disconnections:") && !strings.Contains(info, "client_output_buffer_limit_disconnections:0") {
		t.Errorf("Redis disconnected a client for its output buffer:\n%s", info)
	}
}

// TestRedisBrokerNoLeaks: servers with dynamic namespaces come and go;
// their subscriptions and goroutines go with them.
func TestRedisBrokerNoLeaks(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	key := redistest.UniquePrefix(t)
	ctx := t.Context()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for round := range 3 {
		srv, err := NewServer(Config{Redis: rdb, Key: key, Namespaces: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			srv.namespace(fmt.Sprintf("/n%d", i), true)
		}
		waitUntil(t, 10*time.Second, "ready", srv.Ready)
		chans, err := rdb.PubSubChannels(ctx, key+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(chans) != 15 { // request, response, own response × 5
			t.Errorf("round %d: channels %v; want 15", round, chans)
		}
		if np, _ := rdb.PubSubNumPat(ctx).Result(); np != 5 {
			t.Errorf("round %d: NUMPAT = %d; want 5", round, np)
		}
		m, _ := rdb.PubSubNumSub(ctx, adapter.RequestChannel(key, "/n0")).Result()
		if c := m[adapter.RequestChannel(key, "/n0")]; c != 1 {
			t.Errorf("NUMSUB of a request channel = %d; want 1", c)
		}
		shutdownNow(t, srv)
		waitUntil(t, 5*time.Second, "no subscription left", func() bool {
			chans, err := rdb.PubSubChannels(ctx, key+"*").Result()
			np, err2 := rdb.PubSubNumPat(ctx).Result()
			return err == nil && err2 == nil && len(chans) == 0 && np == 0
		})
	}
	waitUntil(t, 5*time.Second, fmt.Sprintf("goroutines back to %d", before), func() bool {
		return runtime.NumGoroutine() <= before
	})
}

// TestShardedBrokerNoLeaks: in dynamic-private mode, sockets and rooms come
// and go; their shard channels are subscribed and dropped with them, and
// nothing is left after Shutdown.
func TestShardedBrokerNoLeaks(t *testing.T) {
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	key := redistest.UniquePrefix(t)
	ctx := t.Context()
	shardChans := func() []string {
		chans, err := rdb.PubSubShardChannels(ctx, key+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return chans
	}
	before := runtime.NumGoroutine()
	srv, base := testServer(t, Config{Redis: rdb, Key: key, Sharded: true, SubscriptionMode: "dynamic-private"})
	waitUntil(t, 10*time.Second, "ready", srv.Ready)
	if got := len(shardChans()); got != 2 { // namespace and own response channel
		t.Fatalf("shard channels at start: %d; want 2", got)
	}
	for round := range 3 {
		c := openWS(t, base)
		sid := c.connect("/")
		rooms := []string{"a", "b", "c"}
		if err := srv.Of("/").To(sid).SocketsJoin(ctx, rooms...); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "room channels", func() bool { return len(shardChans()) == 2+1+len(rooms) && srv.Ready() })
		if err := srv.Of("/").SocketsLeave(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "room b dropped", func() bool { return len(shardChans()) == 2+1+len(rooms)-1 })
		c.conn.Close()
		waitUntil(t, 10*time.Second, fmt.Sprintf("round %d: channels of the closed socket dropped", round), func() bool { return len(shardChans()) == 2 })
	}
	shutdownNow(t, srv)
	waitUntil(t, 5*time.Second, "no shard channel left", func() bool { return len(shardChans()) == 0 })
	waitUntil(t, 5*time.Second, fmt.Sprintf("goroutines back to %d", before), func() bool {
		return runtime.NumGoroutine() <= before
	})
}
