package nodetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// StreamsBenchConfig configures bench-streams-emitter.js, the Node baseline
// of the streams emitter benchmark: a non-listening socket.io 4.8.4 server
// with @socket.io/redis-streams-adapter 0.3.1 that emits. See that file for
// the exact event.
type StreamsBenchConfig struct {
	Redis       string `json:"redis"`
	Key         string `json:"key,omitempty"`         // channelPrefix; zero means "socket.io"
	StreamName  string `json:"streamName,omitempty"`  // zero means "socket.io"
	StreamCount int    `json:"streamCount,omitempty"` // zero means 1
	MaxLen      int64  `json:"maxLen,omitempty"`      // zero means 10000
}

// StreamsBench is a running bench-streams-emitter.js, waiting for runs.
type StreamsBench struct{ *Proc }

// StartStreamsBench starts bench-streams-emitter.js and waits until it is
// ready. It calls t.Fatal on failure.
func StartStreamsBench(t testing.TB, cfg StreamsBenchConfig) *StreamsBench {
	t.Helper()
	p := StartProc(t, "bench-streams-emitter.js", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if _, err := p.WaitFor(ctx, func(l Line) bool { return l.Type == "ready" }); err != nil {
		t.Fatalf("nodetest: StartStreamsBench: %v", err)
	}
	return &StreamsBench{p}
}

// Run emits events events with at most inflight unacknowledged and returns
// the rate.
func (b *StreamsBench) Run(ctx context.Context, events, inflight int) (BenchResult, error) {
	raw, err := b.Call(ctx, map[string]any{"cmd": "run", "events": events, "inflight": inflight})
	if err != nil {
		return BenchResult{}, err
	}
	var r BenchResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("nodetest: bench-streams-emitter: %s: %w", raw, err)
	}
	return r, nil
}
