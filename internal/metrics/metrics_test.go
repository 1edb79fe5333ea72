package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/internal/metrics"
	"github.com/siorelay/siorelay/internal/redistest"
	"github.com/siorelay/siorelay/relay"
)

// lint fails the test on any promlint problem of what g gathers, and
// returns the gathered text.
func lint(t *testing.T, g prometheus.Gatherer) {
	t.Helper()
	problems, err := testutil.GatherAndLint(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestRelayCollector: the relay's metrics, with and without Redis, pass
// promlint and have the documented names and label sets.
func TestRelayCollector(t *testing.T) {
	rs := redistest.Start(t)
	for _, withRedis := range []bool{false, true} {
		cfg := relay.Config{Namespaces: []string{"/", "/chat", "*"}}
		if withRedis {
			cfg.Redis, cfg.Key = rs.Client(t), redistest.UniquePrefix(t)
			cfg.Recovery = &relay.Recovery{}
		}
		srv, err := relay.NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Shutdown(context.Background()) })
		reg := metrics.NewRegistry()
		reg.MustRegister(metrics.NewRelayCollector(srv))
		lint(t, reg)
		// One series per configured namespace plus "*", and the Redis
		// series only with Redis.
		if n := testutil.CollectAndCount(metrics.NewRelayCollector(srv), "siorelay_sockets"); n != 3 {
			t.Errorf("siorelay_sockets: %d series; want 3 (/, /chat, *)", n)
		}
		want := 0
		if withRedis {
			want = 1
		}
		if n := testutil.CollectAndCount(metrics.NewRelayCollector(srv), "siorelay_redis_reconnects_total"); n != want {
			t.Errorf("redis %v: siorelay_redis_reconnects_total: %d series; want %d", withRedis, n, want)
		}
		// Recovery series only with recovery (on in the Redis case).
		if n := testutil.CollectAndCount(metrics.NewRelayCollector(srv), "siorelay_recovery_failed_total"); n != 4*want {
			t.Errorf("recovery %v: siorelay_recovery_failed_total: %d series; want %d", withRedis, n, 4*want)
		}
	}
}

// TestOtherCollectorsLint: hooks, gRPC and Redis metrics pass promlint
// once they have series.
func TestOtherCollectorsLint(t *testing.T) {
	reg := metrics.NewRegistry()
	h := metrics.NewHooks(reg)
	h.HookCall("connect", "ok", 3*time.Millisecond)
	h.EventDropped("busy")
	metrics.NewGRPC(reg)
	metrics.NewRedisErrors(reg)
	lint(t, reg)
	err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP siorelay_hook_calls_total Finished backend hook calls, by hook (connect, event, disconnect) and outcome.
# TYPE siorelay_hook_calls_total counter
siorelay_hook_calls_total{hook="connect",outcome="ok"} 1
# HELP siorelay_hook_events_dropped_total Client events not forwarded to the backend, by reason.
# TYPE siorelay_hook_events_dropped_total counter
siorelay_hook_events_dropped_total{reason="busy"} 1
`), "siorelay_hook_calls_total", "siorelay_hook_events_dropped_total")
	if err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "siorelay_hook_call_duration_seconds"); n != 1 {
		t.Errorf("hook histogram: %d series; want 1", n)
	}
}

// TestRedisErrors: the hook counts publishes and pipelined publishes that
// fail against a real redis-server that was stopped, and nothing while it
// works.
func TestRedisErrors(t *testing.T) {
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	reg := prometheus.NewRegistry()
	rdb.AddHook(metrics.NewRedisErrors(reg))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	value := func(op string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "op" && l.GetValue() == op {
						return m.GetCounter().GetValue()
					}
				}
			}
		}
		t.Fatalf("no series op=%q", op)
		return 0
	}
	if err := rdb.Publish(ctx, "ch", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(ctx, "missing").Err(); err != redis.Nil {
		t.Fatalf("GET missing: %v", err)
	}
	if v := value("publish") + value("ping") + value("dial"); v != 0 {
		t.Fatalf("errors counted while Redis works: %v", v)
	}
	rs.Stop()
	if err := rdb.Publish(ctx, "ch", "x").Err(); err == nil {
		t.Fatal("publish to a stopped Redis succeeded")
	}
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Publish(ctx, "ch", "a")
		p.Publish(ctx, "ch", "b")
		return nil
	})
	if err == nil {
		t.Fatal("pipeline to a stopped Redis succeeded")
	}
	if v := value("publish"); v != 3 {
		t.Errorf("publish errors = %v; want 3 (one alone, two pipelined)", v)
	}
	if v := value("dial"); v < 1 {
		t.Errorf("dial errors = %v; want at least 1", v)
	}
}
