package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The recovery subcommands:
//
//	loadgen recovery         one measurement against a running server
//	loadgen recovery-compare Node (bench/node/recovery.js) and the relay
//	                         (siorelay serve --recovery 2m), fresh servers,
//	                         ABAB, median and min–max
//	loadgen recovery-streams the same in a Redis Streams cluster of two
//	                         servers (recovery_streams.go)
//
// In recovery-compare both servers emit the numbered broadcasts themselves,
// at the rate the load generator's open-loop schedule sets: the relay for
// EmitterService.EmitBatch on its --grpc-addr, Node for POST /bench/emit
// (io.emit). In recovery-streams they are added to the cluster's stream.

var recoveryMetrics = []metric{
	{"time to all recovered (ms)", func(r record) (float64, bool) { return r.Recovery.AllRecovered, true }, "%.0f"},
	{"reconnect p50 (ms)", func(r record) (float64, bool) { return r.Recovery.ReconnectP50, true }, "%.1f"},
	{"reconnect p99 (ms)", func(r record) (float64, bool) { return r.Recovery.ReconnectP99, true }, "%.1f"},
	{"missed packets (all clients)", func(r record) (float64, bool) { return float64(r.Recovery.Missed), true }, "%.0f"},
	{"replayed before CONNECT", func(r record) (float64, bool) { return float64(r.Recovery.Replayed), true }, "%.0f"},
	{"deliveries, expected", func(r record) (float64, bool) { return float64(r.Recovery.Expected), true }, "%.0f"},
	{"deliveries, received", func(r record) (float64, bool) { return float64(r.Recovery.Delivered), true }, "%.0f"},
	{"server CPU drop→all recovered (s)", func(r record) (float64, bool) { return r.Recovery.CPURecovery, true }, "%.2f"},
	{"server CPU whole run (s)", func(r record) (float64, bool) { return r.Recovery.CPUAll, true }, "%.2f"},
	{"deliveries per server CPU-s, whole run", func(r record) (float64, bool) { return r.Recovery.PerCPUSecond, r.Recovery.PerCPUSecond > 0 }, "%.0f"},
	{"live broadcast p50 (ms)", func(r record) (float64, bool) { return r.Recovery.LiveP50, true }, "%.1f"},
	{"live broadcast p99 (ms)", func(r record) (float64, bool) { return r.Recovery.LiveP99, true }, "%.1f"},
	{"server RSS peak (MB)", func(r record) (float64, bool) { return float64(r.Recovery.ServerHWM) / (1 << 20), true }, "%.1f"},
	{"loadgen CPU in recovery (cores)", func(r record) (float64, bool) {
		return r.Recovery.Window.Loadgen / r.Recovery.Window.Wall, r.Recovery.Window.Wall > 0
	}, "%.2f"},
	{"other load on the box (cores)", func(r record) (float64, bool) { return r.Recovery.WholeRun.OthersCore, true }, "%.2f"},
}

// recoveryFlags registers the scenario's flags on fs, but for the number of
// clients and the rate (one per measurement, lists in the compare commands).
func recoveryFlags(fs *flag.FlagSet, cfg *recoveryConfig, o *runOpts) {
	fs.DurationVar(&cfg.Before, "before", 2*time.Second, "broadcasting before the drop")
	fs.DurationVar(&cfg.After, "after", time.Second, "broadcasting after the last reconnect ended")
	fs.IntVar(&cfg.Size, "size", 100, "approximate packet size in bytes, offset excluded")
	fs.IntVar(&cfg.Conc, "reconnect-conc", 500, "reconnects in flight, over all workers")
	fs.DurationVar(&cfg.Jitter, "reconnect-jitter", 0, "each client pauses a random time up to this before reconnecting (socket.io-client: 0.5–1.5 s)")
	fs.DurationVar(&cfg.Wait, "wait", 30*time.Second, "give up on reconnects after this long (the run fails)")
	fs.DurationVar(&cfg.Stall, "stall", 10*time.Second, "give up on reconnects when none has ended for this long (the run fails)")
	fs.DurationVar(&cfg.Drain, "drain", 15*time.Second, "give up draining after this long without a delivery")
	fs.IntVar(&o.Workers, "workers", 0, "loadgen worker processes (0 = one per 15000 clients)")
	fs.IntVar(&o.Pollers, "pollers", 0, "epoll goroutines per worker (0 = GOMAXPROCS)")
	fs.IntVar(&o.Conc, "conc", 64, "handshakes in flight for the first connections")
	fs.DurationVar(&o.Batch, "batch-delay", 200*time.Microsecond, "client pollers pause after a partial batch of events")
}

func runRecoveryCmd(ctx context.Context, sub string, args []string) error {
	if sub == "recovery-compare" {
		return recoveryCompare(ctx, args)
	}
	fs := flag.NewFlagSet(sub, flag.ExitOnError)
	var t target
	var cfg recoveryConfig
	var o runOpts
	fs.StringVar(&t.Name, "name", "server", "label for the report")
	fs.StringVar(&t.Addr, "addr", "127.0.0.1:3000", "Socket.IO server host:port")
	fs.StringVar(&t.Path, "path", "/socket.io/", "Socket.IO path")
	fs.IntVar(&t.PID, "pid", 0, "server process id (for /proc CPU and RSS)")
	fs.StringVar(&t.GRPC, "grpc", "", "make the server emit through its gRPC EmitterService at host:port (the relay)")
	fs.StringVar(&t.EmitURL, "emit-url", "", "else through POST to this URL (bench/node/recovery.js: http://HOST:PORT/bench/emit)")
	fs.StringVar(&t.Redis, "streams-redis", "", "the server is in a Redis Streams cluster on this Redis (host:port): add the broadcasts to its stream, count its commands")
	fs.IntVar(&t.RedisPID, "redis-pid", 0, "with -streams-redis: the redis-server process, for its CPU")
	peerAddr := fs.String("peer-addr", "", "another server of the cluster (host:port), for -to other")
	peerPID := fs.Int("peer-pid", 0, "its process id")
	fs.IntVar(&cfg.N, "n", 5000, "clients")
	fs.Float64Var(&cfg.Rate, "rate", 100, "numbered broadcasts per second, to every client")
	fs.StringVar(&cfg.To, "to", "same", "reconnect to the same server, or to the -peer-addr server (other)")
	recoveryFlags(fs, &cfg, &o)
	_ = fs.Parse(args)
	if t.PID == 0 {
		return fmt.Errorf("-pid is required")
	}
	t.Streams = t.Redis != ""
	if *peerAddr != "" {
		t.Peer = &target{Name: t.Name, Addr: *peerAddr, Path: t.Path, PID: *peerPID}
	}
	o.Log = os.Stderr
	r, err := runRecovery(ctx, t, cfg, o)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	fmt.Println(string(b))
	if !r.OK {
		return fmt.Errorf("recovery failed: %s", r.Fail)
	}
	return nil
}

func recoveryCompare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("recovery-compare", flag.ExitOnError)
	var d recoveryDriver
	finish := d.flags(fs, "5000", "RECOVERY_MS=120000",
		"serve --addr {addr} --grpc-addr {grpc} --recovery 2m", "relay arguments; {addr} and {grpc} are filled in, and the broadcasts go to {grpc}")
	_ = fs.Parse(args)
	if err := finish(); err != nil {
		return err
	}
	if strings.Contains(d.c.RelayArgs, "{redis}") || !strings.Contains(d.c.RelayArgs, "{grpc}") {
		return fmt.Errorf("-relay-args: the relay must serve gRPC on {grpc} and have no {redis} (the benchmark is one server)")
	}
	return d.run(ctx, "recovery-compare", []string{""}, withRecoveryServer)
}

// recoveryDriver is a recovery-compare or recovery-streams run: the
// servers, the scenario's settings and the series to measure.
type recoveryDriver struct {
	c     compareConfig
	cfg   recoveryConfig
	rates []float64
	ns    []int
}

// flags registers the flags both drivers share on fs, with their defaults
// for the client counts, Node's environment and the relay's arguments; the
// returned function completes d once fs is parsed.
func (d *recoveryDriver) flags(fs *flag.FlagSet, ns, nodeEnv, relayArgs, relayArgsHelp string) func() error {
	c := &d.c
	targets := fs.String("targets", "node,relay", "servers to measure, in ABAB order")
	fs.IntVar(&c.Reps, "reps", 5, "repetitions (ABAB)")
	fs.StringVar(&c.ServerCPUs, "server-cpus", "", "taskset -c list for the servers")
	fs.StringVar(&c.Node, "node", "node", "node binary")
	fs.StringVar(&c.NodeScript, "node-script", "bench/node/recovery.js", "Node server with connectionStateRecovery")
	nodeArgs := fs.String("node-args", "--max-old-space-size=8192", "node flags")
	nodeEnvs := fs.String("node-env", nodeEnv, "environment for Node, comma-separated")
	fs.StringVar(&c.RelayBin, "relay-bin", ".tmp/bin/siorelay", "relay binary")
	fs.StringVar(&c.RelayArgs, "relay-args", relayArgs, relayArgsHelp)
	fs.StringVar(&c.Out, "out", "", "write every result as JSON lines to this file")
	fs.Float64Var(&c.Quiet, "quiet", 0.25, "wait until the machine's other CPU use is below this many cores before each measurement (0 = don't wait)")
	fs.DurationVar(&c.QuietWait, "quiet-wait", 20*time.Second, "longest wait for -quiet")
	rates := fs.String("rates", "100,10", "numbered broadcasts per second, one measurement series per rate")
	nList := fs.String("n", ns, "clients, one measurement series per entry (comma-separated)")
	recoveryFlags(fs, &d.cfg, &c.Opts)
	return func() error {
		var err error
		if d.rates, d.ns, err = recoverySeriesLists(*rates, *nList); err != nil {
			return err
		}
		c.Targets = splitList(*targets)
		c.NodeArgs = strings.Fields(*nodeArgs)
		c.NodeEnv = splitList(*nodeEnvs)
		c.Opts.Log = os.Stderr
		return nil
	}
}

// run measures every series (rate, clients, and where the clients
// reconnect: dests, "" for the one-server scenario) on servers that start
// starts, and prints the table.
func (d *recoveryDriver) run(ctx context.Context, name string, dests []string, start serverStarter) error {
	enc, closeOut, err := createJSONL(d.c.Out)
	if err != nil {
		return err
	}
	defer closeOut()
	var records []record
	d.c.Opts.logf("loadgen %s: targets %v, %d reps, %v clients, %v broadcasts/s", name, d.c.Targets, d.c.Reps, d.ns, d.rates)
	cfg := d.cfg
	for _, rate := range d.rates {
		for _, n := range d.ns {
			for _, dest := range dests {
				cfg.Rate, cfg.N, cfg.To = rate, n, dest
				scenario := "recovery"
				if dest != "" {
					scenario = "recovery-streams/" + dest
				}
				if err := recoverySeries(ctx, d.c, cfg, scenario, start, enc, &records); err != nil {
					return err
				}
			}
		}
	}
	printTable(os.Stdout, d.c, records)
	fmt.Printf("\nrecovery: broadcasts of ~%d bytes, drop after %s, %d reconnects in flight, jitter %s, broadcasting %s after the last reconnect, reconnects given up after %s or %s without one ending\n",
		cfg.Size, cfg.Before, cfg.Conc, cfg.Jitter, cfg.After, cfg.Wait, cfg.Stall)
	return nil
}

// recoverySeriesLists parses the -rates and -n lists of the compare commands.
func recoverySeriesLists(rates, ns string) ([]float64, []int, error) {
	var rateList []float64
	for _, f := range splitList(rates) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v <= 0 {
			return nil, nil, fmt.Errorf("-rates: bad rate %q", f)
		}
		rateList = append(rateList, v)
	}
	var nList []int
	for _, f := range splitList(ns) {
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, nil, fmt.Errorf("-n: bad number of clients %q", f)
		}
		nList = append(nList, v)
	}
	if len(rateList) == 0 || len(nList) == 0 {
		return nil, nil, fmt.Errorf("-rates and -n need at least one entry each")
	}
	return rateList, nList, nil
}

// serverStarter starts the fresh server(s) of one measurement of target
// name, runs fn against them, and stops them.
type serverStarter func(ctx context.Context, c compareConfig, name string, fn func(target) error) error

// recoverySeries measures every target c.Reps times with cfg, ABAB, each
// time on servers that start starts; the records are of scenario.
func recoverySeries(ctx context.Context, c compareConfig, cfg recoveryConfig, scenario string, start serverStarter, enc *json.Encoder, records *[]record) error {
	for rep := 1; rep <= c.Reps; rep++ {
		for _, name := range c.Targets {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.Opts.logf("%s n=%d rate=%.0f rep %d: %s", scenario, cfg.N, cfg.Rate, rep, name)
			rec := record{Scenario: scenario, Target: name, N: cfg.N, Rate: cfg.Rate, Rep: rep}
			err := start(ctx, c, name, func(t target) error {
				r, err := runRecovery(ctx, t, cfg, c.Opts)
				rec.Recovery = r
				if err == nil {
					c.Opts.logf("  %s: last reconnect %.0f ms after the drop (reconnect p50 %.1f p99 %.1f ms), %d missed, %d replayed, %d/%d deliveries, %d gaps, %d dups, server CPU %.2f s (recovery window) %.2f s (run), others %.2f cores %s",
						name, r.AllRecovered, r.ReconnectP50, r.ReconnectP99, r.Missed, r.Replayed, r.Delivered, r.Expected,
						r.Gaps, r.Dups, r.CPURecovery, r.CPUAll, r.WholeRun.OthersCore, r.Fail)
					if r.Redis != nil {
						c.Opts.logf("  %s: peer CPU %.2f s, Redis CPU %.2f s, Redis commands %s", name, r.Window.Peer, r.Window.Redis, commandSummary(r.Redis))
					}
				}
				return err
			})
			if err != nil {
				rec.Err = err.Error()
				c.Opts.logf("  %s: error: %v", name, err)
			}
			*records = append(*records, rec)
			_ = enc.Encode(rec)
		}
	}
	return nil
}

// withRecoveryServer starts a fresh server (no Redis: recovery on one
// server), runs fn, and stops it.
func withRecoveryServer(ctx context.Context, c compareConfig, name string, fn func(target) error) error {
	t, stop, err := startServer(ctx, c, name, "")
	if err != nil {
		return err
	}
	if name == "node" {
		t.EmitURL = "http://" + t.Addr + "/bench/emit"
	}
	defer stop()
	waitQuiet(ctx, c)
	return fn(t)
}
