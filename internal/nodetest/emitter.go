package nodetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// EmitterConfig configures emit.js: @socket.io/redis-emitter 5.1.0 over
// node-redis on a standalone Redis.
type EmitterConfig struct {
	Redis string      `json:"redis"`         // "redis://127.0.0.1:port"
	Key   string      `json:"key,omitempty"` // zero means "socket.io"
	Ops   []EmitterOp `json:"ops"`
}

// EmitterOp is one emitter call. The selector is applied as
// emitter.of(Nsp).to(To).except(Except), then .volatile, then .compress(...).
type EmitterOp struct {
	// Op is "emit", "socketsJoin", "socketsLeave", "disconnectSockets" or
	// "serverSideEmit".
	Op       string   `json:"op"`
	Nsp      string   `json:"nsp,omitempty"` // zero means "/"; "admin" becomes "/admin" as in the emitter
	To       []string `json:"to,omitempty"`
	Except   []string `json:"except,omitempty"`
	Volatile bool     `json:"volatile,omitempty"`
	Compress *bool    `json:"compress,omitempty"`
	Event    string   `json:"event,omitempty"` // emit, serverSideEmit
	Args     []any    `json:"args,omitempty"`  // []byte (top level) and Bin are sent as Buffers
	Rooms    []string `json:"rooms,omitempty"` // socketsJoin, socketsLeave
	Close    bool     `json:"close,omitempty"` // disconnectSockets
}

// RunEmitter runs emit.js to completion: the ops in order, each PUBLISH
// acknowledged by Redis before the next op. It returns the script's error
// (for example an emitter exception such as a reserved event name).
func RunEmitter(t testing.TB, cfg EmitterConfig) error {
	t.Helper()
	ops := make([]EmitterOp, len(cfg.Ops))
	for i, op := range cfg.Ops {
		op.Args = markArgs(op.Args)
		ops[i] = op
	}
	cfg.Ops = ops
	p := StartProc(t, "emit.js", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	l, err := p.WaitFor(ctx, func(l Line) bool { return l.Type == "done" || l.Type == "error" })
	if err != nil {
		return err
	}
	if l.Type == "error" {
		return fmt.Errorf("nodetest: emit.js: %s", l.Str("message"))
	}
	return p.Wait(ctx)
}

// BenchEmitterConfig configures bench-emitter.js, the Node baseline of the
// emitter benchmark. See that file for the exact event published.
type BenchEmitterConfig struct {
	Redis    string `json:"redis"`
	Key      string `json:"key,omitempty"`
	To       string `json:"to,omitempty"`      // optional single room
	Events   int    `json:"events,omitempty"`  // per run; zero means 100000
	Inflight []int  `json:"inflight"`          // one run per value; e.g. [1, 128]
	Payload  string `json:"payload,omitempty"` // "small" (default, 100-byte string) or "1k"
	Warmup   int    `json:"warmup,omitempty"`  // events before timing; zero means max(1000, Events/10), negative none
}

// BenchResult is one run of bench-emitter.js.
type BenchResult struct {
	Inflight int     `json:"inflight"`
	Events   int     `json:"events"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"rate"` // events per second
}

// RunBenchEmitter runs bench-emitter.js and returns one result per inflight
// value, waiting up to timeout for all of them.
func RunBenchEmitter(t testing.TB, cfg BenchEmitterConfig, timeout time.Duration) ([]BenchResult, error) {
	t.Helper()
	if len(cfg.Inflight) == 0 {
		cfg.Inflight = []int{1, 128}
	}
	p := StartProc(t, "bench-emitter.js", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []BenchResult
	for range cfg.Inflight {
		l, err := p.WaitFor(ctx, func(l Line) bool { return l.Type == "result" })
		if err != nil {
			return out, err
		}
		var r BenchResult
		if err := json.Unmarshal(l.Raw, &r); err != nil {
			return out, fmt.Errorf("nodetest: bench-emitter: %s: %w", l, err)
		}
		out = append(out, r)
	}
	return out, p.Wait(ctx)
}
