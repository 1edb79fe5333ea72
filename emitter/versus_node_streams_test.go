package emitter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/nodetest"
	"github.com/siorelay/siorelay/internal/redistest"
)

// TestStreamsBenchEvent checks that the Node baseline of
// BenchmarkStreamsVersusNode and the Go emitter add the same entry for the
// same event, so the benchmark compares like with like.
func TestStreamsBenchEvent(t *testing.T) {
	nodetest.Require(t)
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := nodetest.StartStreamsBench(t, nodetest.StreamsBenchConfig{Redis: srv.URL()})
	if r, err := node.Run(ctx, 3, 2); err != nil || r.Events != 3 || !(r.Rate > 0) {
		t.Fatalf("Run = %+v, %v", r, err)
	}
	last := func() map[string]any {
		t.Helper()
		e, err := rdb.XRevRangeN(ctx, "socket.io", "+", "-", 1).Result()
		if err != nil || len(e) != 1 {
			t.Fatalf("XREVRANGE: %v %v", e, err)
		}
		return e[0].Values
	}
	want := last()
	var data struct {
		Packet struct {
			Data []json.RawMessage `json:"data"`
		} `json:"packet"`
	}
	if err := json.Unmarshal([]byte(want["data"].(string)), &data); err != nil || len(data.Packet.Data) != 2 {
		t.Fatalf("node entry %v: %v", want, err)
	}
	var ev benchEvent
	if err := json.Unmarshal(data.Packet.Data[1], &ev); err != nil || ev.N != 2 || ev.S != benchS {
		t.Fatalf("node event %s: %v", data.Packet.Data[1], err)
	}
	em, err := emitter.New(rdb, emitter.Config{Streams: &emitter.StreamsConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Emit(ctx, "bench", ev); err != nil {
		t.Fatal(err)
	}
	got := last()
	want["uid"], got["uid"] = nil, nil
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Errorf("entries differ:\nnode %v\n  go %v", want, got)
	}
}

// BenchmarkStreamsVersusNode adds the same events to one fresh
// redis-server's stream with the Node way (a socket.io server with the
// streams adapter that listens on nothing: bench-streams-emitter.js) and
// with this package (Config.Streams), with 1 and with 128 publishes in
// flight, in interleaved runs (rounds; the side that goes first
// alternates), and reports each side's median rate, its spread (min–max)
// and the ratio of the medians. b.N is ignored. Run it with `make
// bench-streams-emitter` (SIORELAY_BENCH_ROUNDS, default 5;
// SIORELAY_BENCH_EVENTS per run, default 20000).
func BenchmarkStreamsVersusNode(b *testing.B) {
	nodetest.Require(b)
	rounds := envInt("SIORELAY_BENCH_ROUNDS", 5)
	events := envInt("SIORELAY_BENCH_EVENTS", 20000)
	srv := redistest.Start(b)
	ctx := context.Background()
	node := nodetest.StartStreamsBench(b, nodetest.StreamsBenchConfig{Redis: srv.URL()})
	em, err := emitter.New(srv.Client(b), emitter.Config{Streams: &emitter.StreamsConfig{}})
	if err != nil {
		b.Fatal(err)
	}
	for _, inflight := range []int{1, 128} {
		// Warm-up, both sides.
		if _, err := node.Run(ctx, events/10, inflight); err != nil {
			b.Fatal(err)
		}
		publishRate(b, em, events/10, inflight)
		var nodeRates, goRates []float64
		for r := 0; r < rounds; r++ {
			runNode := func() {
				res, err := node.Run(ctx, events, inflight)
				if err != nil {
					b.Fatal(err)
				}
				nodeRates = append(nodeRates, res.Rate)
			}
			runGo := func() { goRates = append(goRates, publishRate(b, em, events, inflight)) }
			if r%2 == 0 {
				runNode()
				runGo()
			} else {
				runGo()
				runNode()
			}
		}
		nodeMed, goMed := median(nodeRates), median(goRates)
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			b.ReportMetric(nodeMed, "node-emits/s")
			b.ReportMetric(slices.Min(nodeRates), "node-min")
			b.ReportMetric(slices.Max(nodeRates), "node-max")
			b.ReportMetric(goMed, "go-emits/s")
			b.ReportMetric(slices.Min(goRates), "go-min")
			b.ReportMetric(slices.Max(goRates), "go-max")
			b.ReportMetric(goMed/nodeMed, "go-ratio")
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
