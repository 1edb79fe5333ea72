package servercount_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/redistest"
	"github.com/siorelay/siorelay/internal/servercount"
)

// subscribe opens n subscriptions of channel on rdb and waits for Redis to
// confirm each.
func subscribe(t *testing.T, rdb redis.UniversalClient, channel string, sharded bool, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range n {
		var ps *redis.PubSub
		if sharded {
			ps = rdb.SSubscribe(ctx, channel)
		} else {
			ps = rdb.Subscribe(ctx, channel)
		}
		t.Cleanup(func() { ps.Close() })
		if _, err := ps.Receive(ctx); err != nil { // the confirmation
			t.Fatalf("subscribe %s: %v", channel, err)
		}
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t).Client(t)
	cl := redistest.StartCluster(t, 3).Client(t)
	for _, tt := range []struct {
		name    string
		rdb     redis.UniversalClient
		sharded bool
	}{
		{"standalone", rdb, false},
		{"standalone sharded", rdb, true},
		{"cluster", cl, false},
		{"cluster sharded", cl, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			ch := redistest.UniquePrefix(t) + "#/#"
			if n, err := servercount.Count(ctx, tt.rdb, ch, tt.sharded); err != nil || n != 0 {
				t.Fatalf("before subscribing: Count = %d, %v; want 0", n, err)
			}
			subscribe(t, tt.rdb, ch, tt.sharded, 3)
			// A subscriber of the other kind is not counted.
			subscribe(t, tt.rdb, ch, !tt.sharded, 1)
			if n, err := servercount.Count(ctx, tt.rdb, ch, tt.sharded); err != nil || n != 3 {
				t.Fatalf("Count = %d, %v; want 3", n, err)
			}
		})
	}
}

func TestCountRedisDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := servercount.Count(ctx, rdb, "x#/#", false); err == nil {
		t.Fatal("Count with Redis down: want an error")
	}
}
