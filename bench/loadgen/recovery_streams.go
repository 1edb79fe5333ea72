package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// loadgen recovery-streams: the recovery scenario in a Redis Streams
// cluster (issue 13, performance.md G13). For every measurement a fresh
// redis-server and two fresh servers of one cluster on it: two Node
// processes (bench/node/recovery.js with ADAPTER=streams: socket.io 4.8.4 +
// @socket.io/redis-streams-adapter 0.3.1) or two relays (siorelay serve
// --adapter streams --recovery 2m). The numbered broadcasts are added to
// the cluster's stream by the load generator (streamPublisher), so that
// both kinds of cluster get the same entries; N clients of the first
// server lose their connections at once and reconnect to the same server
// or to the second; the run reports, besides what `recovery-compare`
// reports, the CPU of the second server and of Redis, and the commands
// Redis ran (INFO commandstats deltas) from the drop until all are
// recovered.

func recoveryStreams(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("recovery-streams", flag.ExitOnError)
	var d recoveryDriver
	finish := d.flags(fs, "5000", "RECOVERY_MS=120000,ADAPTER=streams",
		"serve --addr {addr} --redis {redis} --adapter streams --recovery 2m", "relay arguments; {addr} and {redis} are filled in")
	fs.StringVar(&d.c.RedisCPUs, "redis-cpus", "", "taskset -c list for redis-server")
	fs.StringVar(&d.c.Redis, "redis-server", "redis-server", "redis-server binary")
	to := fs.String("to", "same,other", "where the clients reconnect: the same server, the other server; one series each")
	_ = fs.Parse(args)
	if err := finish(); err != nil {
		return err
	}
	dests := splitList(*to)
	for _, v := range dests {
		if v != "same" && v != "other" {
			return fmt.Errorf("-to: %q is neither same nor other", v)
		}
	}
	if len(dests) == 0 {
		return fmt.Errorf("-to: want same, other or both")
	}
	if !strings.Contains(d.c.RelayArgs, "{redis}") {
		return fmt.Errorf("-relay-args: the relays must join the cluster on {redis}")
	}
	return d.run(ctx, "recovery-streams", dests, withStreamsCluster)
}

// withStreamsCluster starts a fresh redis-server and two servers of kind
// name in one Redis Streams cluster on it, waits until both read the
// stream, runs fn with the first server as the target and the second as
// its peer, and stops them all.
func withStreamsCluster(ctx context.Context, c compareConfig, name string, fn func(target) error) error {
	redisAddr, redisPID, stopRedis, err := startRedis(ctx, c)
	if err != nil {
		return err
	}
	defer stopRedis()
	var servers [2]target
	var stops []func()
	defer func() {
		// Together: a relay takes up to its XREAD BLOCK (5 s) to stop.
		var wg sync.WaitGroup
		for _, stop := range stops {
			wg.Go(stop)
		}
		wg.Wait()
	}()
	for i := range servers {
		var stop func()
		servers[i], stop, err = startServer(ctx, c, name, redisAddr)
		if err != nil {
			return err
		}
		stops = append(stops, stop)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: 1, DisableIdentity: true})
	err = waitStreamReaders(ctx, rdb, len(servers), 30*time.Second)
	rdb.Close()
	if err != nil {
		return fmt.Errorf("%s cluster: %w", name, err)
	}
	t, peer := servers[0], servers[1]
	t.Streams, t.RedisPID, t.Peer = true, redisPID, &peer
	waitQuiet(ctx, c)
	return fn(t)
}

// commandSummary is a delta of Redis commands in one line:
// "XRANGE 3000, GET 1000, …, total 9000 (12.3 ms)".
func commandSummary(d map[string]redisCmdStat) string {
	var b strings.Builder
	for _, name := range commandNames(d) {
		fmt.Fprintf(&b, "%s %d, ", name, d[name].Calls)
	}
	t := commandTotal(d)
	fmt.Fprintf(&b, "total %d (%.1f ms)", t.Calls, float64(t.Usec)/1e3)
	return b.String()
}
