package main

import (
	"flag"

	"github.com/siorelay/siorelay/emitter"
)

// clusterFlags say what kind of cluster an emitter publishes to: `emit` and
// `emitter` share them.
type clusterFlags struct {
	fs           *flag.FlagSet
	key          string
	sharded      bool
	mode         string
	adapter      string
	streamName   string
	streamCount  int
	streamMaxLen int64
}

// streamFlags may only be given with --adapter streams.
var streamFlags = []string{"stream-name", "stream-count", "stream-max-len"}

func registerClusterFlags(fs *flag.FlagSet) *clusterFlags {
	c := &clusterFlags{fs: fs}
	fs.StringVar(&c.key, "key", "socket.io", "channel prefix (the adapter's key / channelPrefix)")
	fs.StringVar(&c.adapter, "adapter", "pubsub", "the servers' adapter: pubsub (@socket.io/redis-adapter, classic or sharded)\nor streams (@socket.io/redis-streams-adapter)")
	fs.BoolVar(&c.sharded, "sharded", false, "publish for servers using createShardedAdapter (SPUBLISH);\nwith --adapter streams: the adapter's useShardedPubSub")
	fs.StringVar(&c.mode, "subscription-mode", "dynamic", "with --sharded: the adapter's subscriptionMode (dynamic, dynamic-private or static)")
	fs.StringVar(&c.streamName, "stream-name", "socket.io", "with --adapter streams: the adapter's streamName")
	fs.IntVar(&c.streamCount, "stream-count", 1, "with --adapter streams: the adapter's streamCount")
	fs.Int64Var(&c.streamMaxLen, "stream-max-len", 10000, "with --adapter streams: the adapter's maxLen (XADD MAXLEN ~)")
	return c
}

// config returns the emitter configuration the flags describe, after
// parseFlags.
func (c *clusterFlags) config() (emitter.Config, error) {
	cfg := emitter.Config{Key: c.key, Sharded: c.sharded, SubscriptionMode: emitter.SubscriptionMode(c.mode)}
	switch c.adapter {
	case "pubsub":
		var bad error
		c.fs.Visit(func(f *flag.Flag) {
			for _, s := range streamFlags {
				if f.Name == s && bad == nil {
					bad = usagef("--%s needs --adapter streams", s)
				}
			}
		})
		return cfg, bad
	case "streams":
		if c.streamCount < 1 || c.streamMaxLen < 1 {
			return cfg, usagef("--stream-count and --stream-max-len must be at least 1")
		}
		cfg.Streams = &emitter.StreamsConfig{StreamName: c.streamName, StreamCount: c.streamCount, MaxLen: c.streamMaxLen}
		return cfg, nil
	}
	return cfg, usagef("invalid --adapter %q (want pubsub or streams)", c.adapter)
}
