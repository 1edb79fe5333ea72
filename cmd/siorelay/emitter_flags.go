package main

import (
	"flag"
	"slices"

	"github.com/siorelay/siorelay/emitter"
)

// clusterFlags say what kind of cluster an emitter publishes to: `emit` and
// `emitter` share them.
type clusterFlags struct {
	key     string
	sharded bool
	mode    string
	adapterFlags
}

func registerClusterFlags(fs *flag.FlagSet) *clusterFlags {
	c := &clusterFlags{}
	fs.StringVar(&c.key, "key", "socket.io", "channel prefix (the adapter's key / channelPrefix)")
	fs.BoolVar(&c.sharded, "sharded", false, "publish for servers using createShardedAdapter (SPUBLISH);\nwith --adapter streams: the adapter's useShardedPubSub")
	fs.StringVar(&c.mode, "subscription-mode", "dynamic", "with --sharded: the adapter's subscriptionMode (dynamic, dynamic-private or static)")
	c.adapterFlags.register(fs, "")
	return c
}

// config returns the emitter configuration the flags describe, after
// parseFlags.
func (c *clusterFlags) config() (emitter.Config, error) {
	cfg := emitter.Config{Key: c.key, Sharded: c.sharded, SubscriptionMode: emitter.SubscriptionMode(c.mode)}
	streams, err := c.adapterFlags.streams()
	if streams {
		cfg.Streams = &emitter.StreamsConfig{StreamName: c.streamName, StreamCount: c.streamCount, MaxLen: c.streamMaxLen}
	}
	return cfg, err
}

// adapterFlags choose the Redis adapter of a cluster (--adapter) and the
// streams adapter's options: serve, emit and emitter share them.
type adapterFlags struct {
	fs           *flag.FlagSet
	adapter      string
	streamName   string
	streamCount  int
	streamMaxLen int64
	sessionKey   string // serve only
}

// streamFlags may only be given with --adapter streams.
var streamFlags = []string{"stream-name", "stream-count", "stream-max-len", "session-key-prefix"}

// register adds the flags to fs; with sessions (serve), also
// --session-key-prefix. prefix starts each help text ("with --redis: ").
func (a *adapterFlags) register(fs *flag.FlagSet, prefix string) {
	a.fs = fs
	fs.StringVar(&a.adapter, "adapter", "pubsub", prefix+"the cluster's adapter: pubsub (@socket.io/redis-adapter, classic or sharded)\nor streams (@socket.io/redis-streams-adapter 0.3.1)")
	fs.StringVar(&a.streamName, "stream-name", "socket.io", "with --adapter streams: the adapter's streamName")
	fs.IntVar(&a.streamCount, "stream-count", 1, "with --adapter streams: the adapter's streamCount")
	fs.Int64Var(&a.streamMaxLen, "stream-max-len", 10000, "with --adapter streams: the adapter's maxLen (XADD MAXLEN ~)")
}

// registerSessions adds --session-key-prefix (serve), after register.
func (a *adapterFlags) registerSessions() {
	a.fs.StringVar(&a.sessionKey, "session-key-prefix", "sio:session:", "with --adapter streams and --recovery: the adapter's sessionKeyPrefix (where sessions are kept for recovery on any server)")
}

// firstSet returns the first flag of names that was set on fs (on the
// command line or from the environment), in fs's order.
func firstSet(fs *flag.FlagSet, names []string) (string, bool) {
	var first string
	fs.Visit(func(f *flag.Flag) {
		if first == "" && slices.Contains(names, f.Name) {
			first = f.Name
		}
	})
	return first, first != ""
}

// streams reports whether the flags choose the streams adapter, after
// parseFlags; stream flags without it are an error.
func (a *adapterFlags) streams() (bool, error) {
	switch a.adapter {
	case "pubsub":
		if name, set := firstSet(a.fs, streamFlags); set {
			return false, usagef("--%s needs --adapter streams", name)
		}
		return false, nil
	case "streams":
		if a.streamCount < 1 || a.streamMaxLen < 1 {
			return true, usagef("--stream-count and --stream-max-len must be at least 1")
		}
		return true, nil
	}
	return false, usagef("invalid --adapter %q (want pubsub or streams)", a.adapter)
}
