//go:build nodebench

package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/siorelay/siorelay/internal/redistest"
)

// The scenarios need worker processes; in a test binary they are this
// binary run with "worker".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		if err := runWorker(os.Stdin, os.Stdout, 1, 0); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestAgainstNodeBaseline runs every scenario, small, against the real Node
// baseline (bench/node/server.js over a real redis-server): the load
// generator's handshake, framing and pongs work with socket.io 4.8.4, and its
// emitter-format messages are delivered by @socket.io/redis-adapter 8.3.0,
// each exactly once. It asserts counts, never speed.
func TestAgainstNodeBaseline(t *testing.T) {
	if _, err := os.Stat("../node/node_modules/socket.io"); err != nil {
		t.Fatalf("bench/node/node_modules missing: run `make bench-deps` (npm ci in bench/node): %v", err)
	}
	rs := redistest.Start(t)
	ctx := context.Background()
	c := compareConfig{Node: "node", NodeScript: "../node/server.js", NodeArgs: []string{"--expose-gc"}}
	tgt, stop, err := startNode(ctx, c, rs.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	o := runOpts{Conc: 16, Workers: 2}

	t.Run("idle", func(t *testing.T) {
		r, err := runIdle(ctx, tgt, idleConfig{N: 300, Hold: 200 * time.Millisecond}, o)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK || r.Open != 300 || r.RSSN <= 0 || r.RSS0 <= 0 {
			t.Errorf("idle: %+v", r)
		}
		if r.GCReply == "" {
			t.Errorf("no reply from %s", tgt.GCURL)
		}
	})
	// `loadgen memory` against Node as users start it: no --expose-gc and
	// no Redis (REDIS_URL=none; the unreachable Redis address proves the
	// server never dials it).
	t.Run("memory", func(t *testing.T) {
		c := compareConfig{Node: "node", NodeScript: "../node/server.js", NodeEnv: []string{"REDIS_URL=none"}}
		tgt, stop, err := startNode(ctx, c, "127.0.0.1:1")
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		r := memoryRun{Target: "node", Mode: "plain", N: 200}
		mc := memoryConfig{Settles: []time.Duration{100 * time.Millisecond}, MemStats: true, Procs: compareConfig{Opts: o}}
		if err := measureMemory(ctx, tgt, mc, &r); err != nil {
			t.Fatal(err)
		}
		if !r.OK || r.Open != 200 || r.RSS0.RSS <= 0 || len(r.Samples) != 1 || r.Samples[0].Mem.RSS <= 0 ||
			r.Samples[0].Runtime["heapUsed"] <= 0 || r.Runtime0["heapUsed"] <= 0 {
			t.Errorf("memory: %+v", r)
		}
	})
	for _, rooms := range []bool{false, true} {
		name := "broadcast"
		if rooms {
			name = "rooms"
		}
		t.Run(name, func(t *testing.T) {
			r, err := runFanout(ctx, tgt, fanoutConfig{N: 200, Rate: 2000, Duration: 500 * time.Millisecond,
				Warmup: 100 * time.Millisecond, Size: 100, Rooms: rooms, Drain: 10 * time.Second}, o)
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK || r.Delivered != r.Expected || r.Expected == 0 || r.Reorder != 0 {
				t.Errorf("%s: %+v", name, r)
			}
		})
	}
}
