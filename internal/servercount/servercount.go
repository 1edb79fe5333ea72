package servercount

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Count returns the number of subscribers of channel: plain (SUBSCRIBE)
// subscribers, or shard channel (SSUBSCRIBE) subscribers when sharded. On a
// *redis.ClusterClient it sums the answers of every master, and while that
// sum is 0 it reloads the client's view of the cluster and counts again,
// for up to a second: go-redis refreshes its slot map lazily after a
// failover, and counting commands never get the MOVED that would make it,
// so a stale view can miss every subscriber.
func Count(ctx context.Context, rdb redis.UniversalClient, channel string, sharded bool) (int, error) {
	cc, _ := rdb.(*redis.ClusterClient)
	n, err := countOnce(ctx, rdb, cc, channel, sharded)
	for tries := 0; cc != nil && err == nil && n < 1 && tries < 20; tries++ {
		cc.ReloadState(ctx)
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		n, err = countOnce(ctx, rdb, cc, channel, sharded)
	}
	return n, err
}

func countOnce(ctx context.Context, rdb redis.UniversalClient, cc *redis.ClusterClient, channel string, sharded bool) (int, error) {
	numsub := func(ctx context.Context, c redis.Cmdable) (int64, error) {
		var m map[string]int64
		var err error
		if sharded {
			m, err = c.PubSubShardNumSub(ctx, channel).Result()
		} else {
			m, err = c.PubSubNumSub(ctx, channel).Result()
		}
		return m[channel], err
	}
	if cc == nil {
		n, err := numsub(ctx, rdb)
		return int(n), err
	}
	var total atomic.Int64
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := numsub(ctx, c)
		total.Add(n)
		return err
	})
	return int(total.Load()), err
}
