//go:build nodebench

package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestAgainstNodeBaselineRecoveryStreams runs the recovery scenario in
// Redis Streams clusters, small, through the driver as `loadgen
// recovery-streams` does: two Node servers (bench/node/recovery.js with
// @socket.io/redis-streams-adapter 0.3.1) and two `siorelay serve
// --adapter streams` on a fresh redis-server, the broadcasts added to the
// stream by the load generator, clients reconnecting to the same server
// and to the other. Every client is recovered; the relays deliver every
// broadcast exactly once and read no stream entry for it (no XRANGE), one
// session SET and one MULTI GET DEL EXEC per client; Node reads the stream
// at least twice per client. It asserts counts, never speed; Node's
// packets are not checked (its restore can repeat or skip a packet at the
// seam, see bench/README.md).
func TestAgainstNodeBaselineRecoveryStreams(t *testing.T) {
	if _, err := os.Stat("../node/node_modules/@socket.io/redis-streams-adapter"); err != nil {
		t.Fatalf("bench/node/node_modules missing the streams adapter: run `make bench-deps` (npm ci in bench/node): %v", err)
	}
	bin := buildSiorelay(t)
	c := compareConfig{
		Redis: "redis-server", Node: "node", NodeScript: "../node/recovery.js", NodeEnv: []string{"RECOVERY_MS=60000", "ADAPTER=streams"},
		RelayBin: bin, RelayArgs: "serve --addr {addr} --redis {redis} --adapter streams --recovery 1m",
		Opts: runOpts{Conc: 16, Workers: 1},
	}
	const n = 100
	for _, name := range []string{"node", "relay"} {
		for _, to := range []string{"same", "other"} {
			t.Run(name+"/"+to, func(t *testing.T) {
				cfg := recoveryConfig{N: n, Rate: 200, Before: time.Second, After: 300 * time.Millisecond, Size: 100,
					Conc: 50, Wait: 30 * time.Second, Stall: 10 * time.Second, Drain: 10 * time.Second, To: to}
				err := withStreamsCluster(context.Background(), c, name, func(tgt target) error {
					r, err := runRecovery(context.Background(), tgt, cfg, c.Opts)
					if err != nil {
						return err
					}
					if r.Recovered != n || r.Expected == 0 || r.Missed == 0 {
						t.Errorf("recovered %d of %d, %d missed, %d expected: %s", r.Recovered, n, r.Missed, r.Expected, r.Fail)
					}
					if r.To != to || (to == "other") != (r.SessionsStored > 0) {
						t.Errorf("to %q, sessions stored after %.0f ms", r.To, r.SessionsStored)
					}
					cmds := r.Redis
					if cmds["SET"].Calls != n || cmds["EXEC"].Calls != n || cmds["XADD"].Calls == 0 {
						t.Errorf("Redis commands %s: want %d SET and EXEC, and the broadcasts' XADD", commandSummary(cmds), n)
					}
					if name == "node" {
						if cmds["XRANGE"].Calls < 2*n {
							t.Errorf("Node: %d XRANGE, want at least 2 per client", cmds["XRANGE"].Calls)
						}
						return nil
					}
					if !r.OK || r.Delivered != r.Expected || r.Replayed != r.Missed {
						t.Errorf("relay: %s (%d of %d deliveries, %d replayed of %d missed)", r.Fail, r.Delivered, r.Expected, r.Replayed, r.Missed)
					}
					if cmds["XRANGE"].Calls != 0 || cmds["GET"].Calls != n {
						t.Errorf("relay: Redis commands %s: want no XRANGE and one GET per client", commandSummary(cmds))
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
