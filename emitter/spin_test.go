package emitter_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/redistest"
)

// TestSpinDialerRedis publishes through a client whose connections come
// from SpinDialer, one at a time and many at once (pipelines, whose large
// writes turn spinning off), and checks that a real redis-server received
// exactly the bytes the emitter encodes; then that a Redis that went away
// is an error, and that the client works again once Redis is back.
func TestSpinDialerRedis(t *testing.T) {
	srv := redistest.Start(t)
	next := capture(t, srv.Client(t))
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Dialer: (&emitter.SpinDialer{}).DialContext})
	t.Cleanup(func() { rdb.Close() })
	em, err := emitter.New(rdb, emitter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var want []published
	emit := func(i int) error {
		return em.To(fmt.Sprint("room", i%3)).Emit(ctx, "n", i, "ü")
	}
	for i := range 50 {
		if err := emit(i); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for i := 50; i < 350; i++ {
		wg.Go(func() { errs <- emit(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 350 {
		m, err := em.To(fmt.Sprint("room", i%3)).EmitMessage("n", i, "ü")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, published{m.Channel, string(m.Payload)})
	}
	got := next(len(want))
	order := func(a, b published) int {
		return cmp.Or(strings.Compare(a.Channel, b.Channel), strings.Compare(a.Payload, b.Payload))
	}
	slices.SortFunc(got, order)
	slices.SortFunc(want, order)
	if !slices.Equal(got, want) {
		t.Fatalf("Redis received other publishes than were encoded")
	}

	srv.Stop()
	if err := emit(0); err == nil {
		t.Fatal("Emit succeeded with Redis stopped")
	}
	srv.Restart()
	next = capture(t, srv.Client(t))
	if err := emit(1); err != nil {
		t.Fatalf("Emit after Redis came back: %v", err)
	}
	m, err := em.To("room1").EmitMessage("n", 1, "ü")
	if err != nil {
		t.Fatal(err)
	}
	if got := next(1)[0]; got != (published{m.Channel, string(m.Payload)}) {
		t.Fatalf("after the restart Redis received %+v", got)
	}
}

// TestSpinDialerCluster publishes for the sharded adapter through a Redis
// Cluster client whose connections come from SpinDialer: each SPUBLISH
// must reach the node that owns its channel, byte for byte.
func TestSpinDialerCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs(), Dialer: (&emitter.SpinDialer{}).DialContext})
	t.Cleanup(func() { rdb.Close() })
	em, err := emitter.New(rdb, emitter.Config{Key: redistest.UniquePrefix(t), Sharded: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sub := cl.Client(t)
	nodes := map[string]bool{}
	for i := range 12 {
		room := fmt.Sprint("room", i)
		m, err := em.To(room).EmitMessage("n", i, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		nodes[cl.NodeFor(m.Channel).Addr()] = true
		ps := sub.SSubscribe(ctx, m.Channel)
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		if err := em.To(room).Emit(ctx, "n", i, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		got, err := ps.ReceiveMessage(rctx)
		cancel()
		ps.Close()
		if err != nil {
			t.Fatalf("%s: %v", m.Channel, err)
		}
		if got.Channel != m.Channel || got.Payload != string(m.Payload) {
			t.Fatalf("received %q on %s, want %q on %s", got.Payload, got.Channel, m.Payload, m.Channel)
		}
	}
	if len(nodes) < 2 {
		t.Fatalf("all 12 channels on one node; the test needs several")
	}
}
