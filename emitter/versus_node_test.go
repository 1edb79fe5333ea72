package emitter_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
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

// versusSides are the publishers BenchmarkVersusNode compares: the Node
// emitter, the Emitter on go-redis's default dialer, and on SpinDialer.
var versusSides = []string{"node", "go", "spin"}

// BenchmarkVersusNode publishes the same events with @socket.io/redis-emitter
// (node-redis) and with this package into one fresh redis-server, with 1 and
// with 128 publishes in flight: the Emitter on a client with go-redis's
// default dialer ("go") and on one whose connections come from SpinDialer
// ("spin"). Run it with `make bench-emitter`; b.N is ignored.
//
// A single run of each side is noise on a shared 2-vCPU VM, so every side
// runs SIORELAY_BENCH_ROUNDS times (default 5, as BenchmarkStreamsVersusNode),
// interleaved: round r runs the three sides in turn, starting with a
// different one each round, and each Node run is a fresh process with its
// own warm-up. It reports, per number
// in flight, each side's median rate and the median of the per-round
// ratios (a round's sides ran back to back), and prints a table with the
// min–max of each.
//
// Where the publisher and Redis run matters more than anything else for a
// serial rate (a wake-up across cores costs several times a switch on one
// core), so `make bench-emitter` runs this benchmark under taskset and
// pins Redis with SIORELAY_BENCH_REDIS_CPUS (a taskset list);
// SIORELAY_BENCH_INFLIGHT (default "1,128") selects the rows and
// SIORELAY_BENCH_PLACEMENT labels the table.
func BenchmarkVersusNode(b *testing.B) {
	rounds := envInt("SIORELAY_BENCH_ROUNDS", 5)
	inflights := []int{1, 128}
	if v := os.Getenv("SIORELAY_BENCH_INFLIGHT"); v != "" {
		inflights = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("SIORELAY_BENCH_INFLIGHT=%q: want counts ≥ 1, comma-separated", v)
			}
			inflights = append(inflights, n)
		}
	}
	nodetest.Require(b)
	srv := redistest.Start(b, redistest.CPUs(os.Getenv("SIORELAY_BENCH_REDIS_CPUS")))
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
	emitters := map[string]*emitter.Emitter{"go": em, "spin": spin}
	var table strings.Builder
	fmt.Fprintf(&table, "\n%d interleaved rounds per row; median [min–max]; ratios are per round (sides run back to back)", rounds)
	if p := os.Getenv("SIORELAY_BENCH_PLACEMENT"); p != "" {
		fmt.Fprintf(&table, "; %s", p)
	}
	fmt.Fprintf(&table, "\n\n")
	fmt.Fprintf(&table, "| in flight | Node emits/s | Go emits/s | Go ÷ Node | SpinDialer emits/s | Spin ÷ Node |\n|---|---|---|---|---|---|\n")
	for _, inflight := range inflights {
		// Serial runs take ~4 s per side at ~12-15k/s; pipelined ones
		// need more events for a window of the same order.
		events := 50_000
		if inflight > 1 {
			events = 300_000
		}
		rates := map[string][]float64{}
		for round := range rounds {
			for i := range versusSides {
				side := versusSides[(round+i)%len(versusSides)]
				var rate float64
				if side == "node" {
					res, err := nodetest.RunBenchEmitter(b, nodetest.BenchEmitterConfig{Redis: srv.URL(), Events: events, Inflight: []int{inflight}}, 5*time.Minute)
					if err != nil {
						b.Fatal(err)
					}
					rate = res[0].Rate
				} else {
					publishRate(b, emitters[side], events/10, inflight) // warm-up
					rate = publishRate(b, emitters[side], events, inflight)
				}
				rates[side] = append(rates[side], rate)
			}
		}
		ratios := func(side string) []float64 {
			r := make([]float64, rounds)
			for i := range r {
				r[i] = rates[side][i] / rates["node"][i]
			}
			return r
		}
		goRatio, spinRatio := ratios("go"), ratios("spin")
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			b.ReportMetric(median(rates["node"]), "node-emits/s")
			b.ReportMetric(median(rates["go"]), "go-emits/s")
			b.ReportMetric(median(goRatio), "go-ratio")
			b.ReportMetric(median(rates["spin"]), "spin-emits/s")
			b.ReportMetric(median(spinRatio), "spin-ratio")
		})
		fmt.Fprintf(&table, "| %d | %s | %s | %s | %s | %s |\n", inflight,
			spread(rates["node"], "%.1fk", 1e-3), spread(rates["go"], "%.1fk", 1e-3), spread(goRatio, "%.2f×", 1),
			spread(rates["spin"], "%.1fk", 1e-3), spread(spinRatio, "%.2f×", 1))
	}
	// Printed, not logged: testing drops the log of a benchmark that has
	// sub-benchmarks.
	fmt.Print(table.String())
}

// spread formats "median [min–max]" of vs, each value scaled and printed
// with format.
func spread(vs []float64, format string, scale float64) string {
	f := func(v float64) string { return fmt.Sprintf(format, v*scale) }
	return f(median(vs)) + " [" + f(slices.Min(vs)) + "–" + f(slices.Max(vs)) + "]"
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
