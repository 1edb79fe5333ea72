package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// What Redis did during a measurement: the deltas of INFO commandstats
// (calls and microseconds per command), for the servers of a Redis Streams
// cluster (loadgen recovery-streams).

// redisCmdStat is one command's line of INFO commandstats, or a delta.
type redisCmdStat struct {
	Calls int64 `json:"calls"`
	Usec  int64 `json:"usec"` // time Redis spent running it
}

// redisCommandStats returns INFO commandstats by command name in upper case
// (subcommands as Redis names them: "CLIENT|SETINFO").
func redisCommandStats(ctx context.Context, rdb *redis.Client) (map[string]redisCmdStat, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("redis INFO commandstats: %w", err)
	}
	return parseCommandStats(info)
}

// parseCommandStats reads the lines
// "cmdstat_<name>:calls=N,usec=N,usec_per_call=F,rejected_calls=N,failed_calls=N".
func parseCommandStats(info string) (map[string]redisCmdStat, error) {
	out := map[string]redisCmdStat{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "cmdstat_")
		if !ok {
			continue
		}
		name, fields, ok := strings.Cut(rest, ":")
		if !ok {
			return nil, fmt.Errorf("redis commandstats: bad line %q", line)
		}
		var st redisCmdStat
		for _, f := range strings.Split(fields, ",") {
			k, v, _ := strings.Cut(f, "=")
			var err error
			switch k {
			case "calls":
				st.Calls, err = strconv.ParseInt(v, 10, 64)
			case "usec":
				st.Usec, err = strconv.ParseInt(v, 10, 64)
			}
			if err != nil {
				return nil, fmt.Errorf("redis commandstats: bad %s in %q", k, line)
			}
		}
		out[strings.ToUpper(name)] = st
	}
	return out, sc.Err()
}

// ownCommands are the load generator's own commands while it measures.
var ownCommands = map[string]bool{"INFO": true, "DBSIZE": true}

// commandDelta is after − before for every command that ran in between,
// without the load generator's own (INFO, DBSIZE).
func commandDelta(before, after map[string]redisCmdStat) map[string]redisCmdStat {
	out := map[string]redisCmdStat{}
	for name, a := range after {
		b := before[name]
		if d := (redisCmdStat{a.Calls - b.Calls, a.Usec - b.Usec}); d.Calls > 0 && !ownCommands[name] {
			out[name] = d
		}
	}
	return out
}

// commandTotal sums every command of a delta.
func commandTotal(d map[string]redisCmdStat) redisCmdStat {
	var t redisCmdStat
	for _, s := range d {
		t.Calls += s.Calls
		t.Usec += s.Usec
	}
	return t
}

// commandNames returns the commands of every delta, sorted.
func commandNames(ds ...map[string]redisCmdStat) []string {
	set := map[string]bool{}
	for _, d := range ds {
		for name := range d {
			set[name] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// waitStreamReaders waits until n clients of Redis are blocked (XREAD
// BLOCK: each server of a streams cluster keeps one reader waiting on its
// stream when idle), so that no server misses the first broadcasts.
func waitStreamReaders(ctx context.Context, rdb *redis.Client, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		info, err := rdb.Info(ctx, "clients").Result()
		if err != nil {
			return fmt.Errorf("redis INFO clients: %w", err)
		}
		blocked := -1
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "blocked_clients:"); ok {
				blocked, _ = strconv.Atoi(v)
			}
		}
		if blocked >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d stream readers blocked in XREAD after %s", max(0, blocked), n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitSessions waits until Redis holds want keys (DBSIZE: the stream and
// the sessions stored since the drop, in the driver's fresh Redis), and
// returns the milliseconds since t0; it fails after stall.
func waitSessions(ctx context.Context, rdb *redis.Client, want int64, t0 time.Time, stall time.Duration) (float64, error) {
	for {
		n, err := rdb.DBSize(ctx).Result()
		if err != nil {
			return 0, fmt.Errorf("redis DBSIZE: %w", err)
		}
		if n >= want {
			return float64(time.Since(t0)) / 1e6, nil
		}
		if time.Since(t0) > stall {
			return 0, fmt.Errorf("%d of %d keys in Redis (the stream and the sessions) %s after the drop", n, want, stall)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
