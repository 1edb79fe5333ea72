package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// `loadgen memory` measures idle memory the way users run the servers
// (performance.md G1 as revised): `siorelay serve` with its defaults and
// `node server.js` with Node's, no forced collection and no GC endpoint.
// For every run it starts a fresh server, samples its RSS before any
// client, connects N idle WebSocket clients, and samples the RSS again a
// fixed time after the last connect (2 s and 20 s by default). The figure
// is (RSS after − RSS before) ÷ N. Targets alternate (node, relay, node,
// relay, …) and every configuration is repeated -reps times; the table gives
// the median and min–max, and the ratio relay ÷ node of the medians.

// memoryConfig is everything `loadgen memory` needs.
type memoryConfig struct {
	Targets []string
	N       []int
	Modes   []string // "plain": no Redis on either side; "redis": both in a Redis adapter cluster
	Settles []time.Duration
	Reps    int
	// MemStats also scrapes the relay's go_memstats_* from /metrics and
	// Node's process.memoryUsage() from /bench/stats after each sample
	// (off by default: users' servers are not scraped by the benchmark; a
	// first scrape before the baseline keeps the scrapes' own allocations
	// mostly out of the figures, but use it to split the memory, not for
	// the headline).
	MemStats bool
	// RedisArgs is appended to the relay's arguments in mode redis.
	RedisArgs string
	// Procs is the compareConfig used to start Redis and the servers.
	Procs compareConfig
}

// memoryRun is one measurement, as written to -out.
type memoryRun struct {
	Target      string             `json:"target"`
	Mode        string             `json:"mode"`
	N           int                `json:"n"`
	Rep         int                `json:"rep"`
	Argv        string             `json:"argv"`
	RSS0        procMem            `json:"before"`
	Runtime0    map[string]float64 `json:"runtime_before,omitempty"` // with -memstats
	Samples     []memorySample     `json:"samples"`
	ConnectSecs float64            `json:"connect_secs"`
	ServerCPU   float64            `json:"server_cpu_s"` // from the first connect to the last sample
	Open        int                `json:"open"`
	OK          bool               `json:"ok"`
	Fail        string             `json:"fail,omitempty"`
}

// memorySample is the server's memory some time after the last connect.
type memorySample struct {
	After   float64 `json:"after_s"`
	Mem     procMem `json:"mem"`
	PerConn float64 `json:"per_conn"` // bytes of RSS per connection
	// Go runtime figures from the relay's /metrics, or Node's
	// process.memoryUsage(), with -memstats.
	Runtime map[string]float64 `json:"runtime,omitempty"`
}

// procMem is the resident memory of a process (/proc/<pid>/status).
type procMem struct {
	RSS  int64 `json:"rss"`
	Anon int64 `json:"anon"`
	File int64 `json:"file"`
}

func memory(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("memory", flag.ExitOnError)
	var c memoryConfig
	p := &c.Procs
	targets := fs.String("targets", "node,relay", "servers to measure, alternating")
	ns := fs.String("n", "5000,10000", "idle WebSocket clients per run")
	modes := fs.String("modes", "plain,redis", "plain: a single server (relay without --redis, Node with the in-memory adapter); redis: both in a Redis adapter cluster")
	settles := fs.String("settle", "2s,20s", "sample this long after the last connect")
	fs.IntVar(&c.Reps, "reps", 5, "repetitions of every measurement")
	fs.BoolVar(&c.MemStats, "memstats", false, "also scrape the relay's /metrics (go_memstats) and Node's /bench/stats after each sample")
	fs.StringVar(&p.ServerCPUs, "server-cpus", "", "taskset -c list for the servers")
	fs.StringVar(&p.Redis, "redis-server", "redis-server", "redis-server binary")
	fs.StringVar(&p.Node, "node", "node", "node binary")
	fs.StringVar(&p.NodeScript, "node-script", "bench/node/server.js", "Node baseline server")
	nodeArgs := fs.String("node-args", "", "node flags (none: as users start it)")
	fs.StringVar(&p.RelayBin, "relay-bin", ".tmp/bin/siorelay", "relay binary")
	fs.StringVar(&p.RelayArgs, "relay-args", "serve --addr {addr}", "relay arguments ({addr} is filled in)")
	fs.StringVar(&c.RedisArgs, "relay-redis-args", "--redis {redis}", "appended to -relay-args in mode redis")
	fs.StringVar(&p.Out, "out", "", "write every run as JSON lines to this file")
	fs.Float64Var(&p.Quiet, "quiet", 0.25, "wait until the machine's other CPU use is below this many cores before each run (0 = don't wait)")
	fs.DurationVar(&p.QuietWait, "quiet-wait", 30*time.Second, "longest wait for -quiet")
	fs.IntVar(&p.Opts.Workers, "workers", 0, "loadgen worker processes (0 = one per 15000 clients)")
	fs.IntVar(&p.Opts.Conc, "conc", 64, "handshakes in flight")
	_ = fs.Parse(args)
	c.Targets = splitList(*targets)
	c.Modes = splitList(*modes)
	p.NodeArgs = strings.Fields(*nodeArgs)
	for _, s := range splitList(*ns) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("-n: %w", err)
		}
		c.N = append(c.N, n)
	}
	for _, s := range splitList(*settles) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("-settle: %w", err)
		}
		c.Settles = append(c.Settles, d)
	}
	for _, m := range c.Modes {
		if m != "plain" && m != "redis" {
			return fmt.Errorf("-modes: unknown mode %q (plain, redis)", m)
		}
	}
	if c.Reps < 1 || len(c.N) == 0 || len(c.Settles) == 0 {
		return fmt.Errorf("need -reps ≥ 1, -n and -settle")
	}
	p.Opts.Log = os.Stderr
	return runMemory(ctx, c)
}

func runMemory(ctx context.Context, c memoryConfig) error {
	enc, closeOut, err := createJSONL(c.Procs.Out)
	if err != nil {
		return err
	}
	defer closeOut()
	logf := c.Procs.Opts.logf
	logf("loadgen memory: targets %v, modes %v, n %v, %d reps, samples %v after the last connect", c.Targets, c.Modes, c.N, c.Reps, c.Settles)
	var runs []memoryRun
	for _, mode := range c.Modes {
		pc := c.Procs
		if mode == "redis" {
			pc.RelayArgs += " " + c.RedisArgs
		} else {
			pc.NodeEnv = append(pc.NodeEnv, "REDIS_URL=none")
		}
		for _, n := range c.N {
			for rep := 1; rep <= c.Reps; rep++ {
				for _, name := range c.Targets {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					logf("memory %s n=%d rep %d: %s", mode, n, rep, name)
					r := memoryRun{Target: name, Mode: mode, N: n, Rep: rep}
					err := withServer(ctx, pc, name, false, func(t target) error {
						return measureMemory(ctx, t, c, &r)
					})
					if err != nil {
						r.OK, r.Fail = false, err.Error()
					}
					if r.OK {
						var parts []string
						for _, s := range r.Samples {
							parts = append(parts, fmt.Sprintf("%.2f KB/conn at %gs", s.PerConn/1024, s.After))
						}
						logf("  %s: %s (before %.1f MB)", name, strings.Join(parts, ", "), float64(r.RSS0.RSS)/(1<<20))
					} else {
						logf("  %s: failed: %s", name, r.Fail)
					}
					runs = append(runs, r)
					_ = enc.Encode(r)
				}
			}
		}
	}
	printMemoryTable(os.Stdout, c, runs)
	return nil
}

// measureMemory is one run against a started server.
func measureMemory(ctx context.Context, t target, c memoryConfig, r *memoryRun) error {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", t.PID)); err == nil {
		r.Argv = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	fl, err := c.Procs.Opts.fleetFor(r.N)
	if err != nil {
		return err
	}
	defer fl.close()
	if c.MemStats {
		// The first scrape's own allocations (the metrics registry's
		// buffers) go into the baseline, not into the per-connection figure.
		runtimeMemory(ctx, t)
	}
	// RSS before: the server has been up for withServer's quiet check and
	// this second, as a user's server would be before its first client.
	time.Sleep(time.Second)
	if r.RSS0, err = sampleMem(t.PID); err != nil {
		return err
	}
	if c.MemStats {
		r.Runtime0 = runtimeMemory(ctx, t)
	}
	cpu0, _ := procCPU(t.PID)
	cr, err := fl.connect(t.url(), r.N, c.Procs.Opts.Conc, "")
	if err != nil {
		return err
	}
	last := time.Now()
	r.ConnectSecs = cr.Took.Seconds()
	if cr.Failed > 0 {
		r.Fail = fmt.Sprintf("%d of %d connects failed: %s", cr.Failed, r.N, cr.FirstErr)
		return nil
	}
	for _, d := range c.Settles {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(last.Add(d))):
		}
		m, err := sampleMem(t.PID)
		if err != nil {
			return err
		}
		s := memorySample{After: d.Seconds(), Mem: m, PerConn: float64(m.RSS-r.RSS0.RSS) / float64(r.N)}
		if c.MemStats {
			s.Runtime = runtimeMemory(ctx, t)
		}
		r.Samples = append(r.Samples, s)
	}
	cpu1, _ := procCPU(t.PID)
	r.ServerCPU = (cpu1 - cpu0).Seconds()
	st, _, err := fl.stats(0)
	if err != nil {
		return err
	}
	r.Open = st.Open
	r.OK = st.Open == r.N
	if !r.OK {
		r.Fail = fmt.Sprintf("%d of %d connections still open: %s", st.Open, r.N, topReasons(st.Closed))
	}
	return nil
}

// sampleMem returns the median (by RSS) of three samples 200 ms apart.
func sampleMem(pid int) (procMem, error) {
	var s [3]procMem
	for i := range s {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return procMem{}, err
		}
		if s[i].RSS, err = kbField(b, "VmRSS:"); err != nil {
			return procMem{}, err
		}
		s[i].Anon, _ = kbField(b, "RssAnon:")
		s[i].File, _ = kbField(b, "RssFile:")
	}
	med := median3(s[0].RSS, s[1].RSS, s[2].RSS)
	for _, m := range s {
		if m.RSS == med {
			return m, nil
		}
	}
	return s[0], nil
}

// runtimeMemory reads the relay's go_memstats_* and go_goroutines from
// /metrics, or Node's process.memoryUsage() from /bench/stats; neither
// collects garbage. It returns nil when the server offers neither.
func runtimeMemory(ctx context.Context, t target) map[string]float64 {
	if t.Name == "node" {
		b, err := httpGet(ctx, "http://"+t.Addr+"/bench/stats", 1<<16)
		var st struct {
			Memory map[string]float64 `json:"memory"`
		}
		if err != nil || json.Unmarshal(b, &st) != nil {
			return nil
		}
		return st.Memory
	}
	b, err := httpGet(ctx, "http://"+t.Addr+"/metrics", 4<<20)
	if err != nil {
		return nil
	}
	return promSamples(b, func(line string) bool {
		return strings.HasPrefix(line, "go_memstats_") || strings.HasPrefix(line, "go_goroutines ") || strings.HasPrefix(line, "go_gc_gogc_percent ")
	})
}

// httpGet returns the body (at most limit bytes) of a GET of url that
// answers 200 within 10 s.
func httpGet(ctx context.Context, url string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

// printMemoryTable prints, per mode, N and sample time, each target's RSS
// per connection (median [min–max] over OK runs) and the ratio of the
// medians, second target ÷ first.
func printMemoryTable(w io.Writer, c memoryConfig, runs []memoryRun) {
	tg := c.Targets
	fmt.Fprintf(w, "\nIdle RSS per connection, as users run the servers: (RSS a fixed time after the last connect − RSS before) ÷ N,\n")
	fmt.Fprintf(w, "no forced GC; median [min–max] over OK runs, alternating targets; nice %d; server CPUs %q\n", selfNice(), c.Procs.ServerCPUs)
	fmt.Fprintf(w, "node:  %s %s %s\n", c.Procs.Node, strings.Join(c.Procs.NodeArgs, " "), c.Procs.NodeScript)
	fmt.Fprintf(w, "relay: %s %s\n", c.Procs.RelayBin, c.Procs.RelayArgs)
	fmt.Fprintf(w, "mode plain: relay as above, Node with REDIS_URL=none (socket.io's in-memory adapter); mode redis: relay + %q, Node with @socket.io/redis-adapter\n\n", c.RedisArgs)
	fmt.Fprintf(w, "| mode | N | after last connect | OK runs |")
	for _, t := range tg {
		fmt.Fprintf(w, " %s KB/conn |", t)
	}
	if len(tg) >= 2 {
		fmt.Fprintf(w, " %s ÷ %s |", tg[1], tg[0])
	}
	fmt.Fprintf(w, "\n|---|---|---|---|")
	for range tg {
		fmt.Fprintf(w, "---|")
	}
	if len(tg) >= 2 {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	for _, mode := range c.Modes {
		for _, n := range c.N {
			for i, d := range c.Settles {
				var okc []string
				var meds []float64
				var cells []string
				for _, t := range tg {
					var vs []float64
					total := 0
					for _, r := range runs {
						if r.Mode != mode || r.N != n || r.Target != t {
							continue
						}
						total++
						if r.OK && i < len(r.Samples) {
							vs = append(vs, r.Samples[i].PerConn/1024)
						}
					}
					okc = append(okc, fmt.Sprintf("%d/%d", len(vs), total))
					if len(vs) == 0 {
						cells = append(cells, "–")
						meds = append(meds, 0)
						continue
					}
					med, lo, hi := stats3(vs)
					meds = append(meds, med)
					cells = append(cells, fmt.Sprintf("%.2f [%.2f–%.2f]", med, lo, hi))
				}
				fmt.Fprintf(w, "| %s | %d | %s | %s | %s |", mode, n, d, strings.Join(okc, ", "), strings.Join(cells, " | "))
				if len(tg) >= 2 {
					if meds[0] > 0 && meds[1] > 0 {
						fmt.Fprintf(w, " %.2f× |", meds[1]/meds[0])
					} else {
						fmt.Fprintf(w, " – |")
					}
				}
				fmt.Fprintln(w)
			}
		}
	}
}
