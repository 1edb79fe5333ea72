//go:build nodebench

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestAgainstNodeBaselineRecovery runs the recovery scenario, small, through
// the driver as `loadgen recovery-compare` does, against the Node baseline
// with connectionStateRecovery (bench/node/recovery.js, emitting for POST
// /bench/emit) and against `siorelay serve --recovery` (emitting for its
// gRPC EmitterService): every client is recovered and ends with every
// numbered broadcast exactly once, in order. It asserts counts, never speed.
func TestAgainstNodeBaselineRecovery(t *testing.T) {
	if _, err := os.Stat("../node/node_modules/socket.io"); err != nil {
		t.Fatalf("bench/node/node_modules missing: run `make bench-deps` (npm ci in bench/node): %v", err)
	}
	bin := buildSiorelay(t)
	c := compareConfig{
		Node: "node", NodeScript: "../node/recovery.js", NodeEnv: []string{"RECOVERY_MS=60000"},
		RelayBin: bin, RelayArgs: "serve --addr {addr} --grpc-addr {grpc} --recovery 1m",
		Opts: runOpts{Conc: 16, Workers: 2},
	}
	cfg := recoveryConfig{N: 200, Rate: 20, Before: time.Second, After: 300 * time.Millisecond, Size: 100,
		Conc: 50, Wait: 30 * time.Second, Stall: 10 * time.Second, Drain: 10 * time.Second}
	for _, name := range []string{"node", "relay"} {
		t.Run(name, func(t *testing.T) {
			err := withRecoveryServer(context.Background(), c, name, func(tgt target) error {
				r, err := runRecovery(context.Background(), tgt, cfg, c.Opts)
				if err != nil {
					return err
				}
				if !r.OK || r.Recovered != cfg.N || r.Delivered != r.Expected || r.Expected == 0 {
					t.Errorf("%s: %s (recovered %d, %d of %d deliveries)", name, r.Fail, r.Recovered, r.Delivered, r.Expected)
				}
				if r.Replayed == 0 || r.Replayed != r.Missed {
					t.Errorf("%s: replayed %d, missed %d: want every missed packet replayed (and some missed)", name, r.Replayed, r.Missed)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// buildSiorelay builds cmd/siorelay into the test's temporary directory.
func buildSiorelay(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "siorelay")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/siorelay/siorelay/cmd/siorelay").CombinedOutput(); err != nil {
		t.Fatalf("go build siorelay: %v\n%s", err, out)
	}
	return bin
}
