package emitter_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

// benchEvent is the event of clients/compat/bench-emitter.js, field for field
// (emit("bench", {n, ts, s}) with a 100-byte s), so both emitters publish
// messages of the same layout and size.
type benchEvent struct {
	N  int    `json:"n"`
	TS int64  `json:"ts"`
	S  string `json:"s"`
}

var benchS = strings.Repeat("abcdefghij", 10)

// BenchmarkVersusNode publishes the same events with @socket.io/redis-emitter
// (node-redis) and with this package into one fresh redis-server, with 1 and
// with 128 publishes in flight, and reports the rates and their ratios: the
// Emitter on a client with go-redis's default dialer ("go") and on one whose
// connections come from SpinDialer ("spin"). Run it with `make
// bench-emitter`; b.N is ignored (each side publishes `events` messages
// after a warm-up).
func BenchmarkVersusNode(b *testing.B) {
	const events = 100_000
	nodetest.Require(b)
	srv := redistest.Start(b)
	node, err := nodetest.RunBenchEmitter(b, nodetest.BenchEmitterConfig{Redis: srv.URL(), Events: events, Inflight: []int{1, 128}}, 5*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	em, err := emitter.New(srv.Client(b), emitter.Config{})
	if err != nil {
		b.Fatal(err)
	}
	spinRDB := redis.NewClient(&redis.Options{Addr: srv.Addr(), Dialer: (&emitter.SpinDialer{}).DialContext})
	b.Cleanup(func() { spinRDB.Close() })
	spin, err := emitter.New(spinRDB, emitter.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range node {
		publishRate(b, em, events/10, r.Inflight) // warm-up
		goRate := publishRate(b, em, events, r.Inflight)
		publishRate(b, spin, events/10, r.Inflight)
		spinRate := publishRate(b, spin, events, r.Inflight)
		b.Run(fmt.Sprintf("inflight=%d", r.Inflight), func(b *testing.B) {
			b.ReportMetric(r.Rate, "node-emits/s")
			b.ReportMetric(goRate, "go-emits/s")
			b.ReportMetric(goRate/r.Rate, "go-ratio")
			b.ReportMetric(spinRate, "spin-emits/s")
			b.ReportMetric(spinRate/r.Rate, "spin-ratio")
		})
	}
}

func publishRate(b *testing.B, em *emitter.Emitter, events, inflight int) float64 {
	ctx := context.Background()
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < inflight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < events; i += inflight {
				if err := em.Emit(ctx, "bench", benchEvent{N: i, TS: time.Now().UnixMilli(), S: benchS}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(events) / time.Since(start).Seconds()
}
