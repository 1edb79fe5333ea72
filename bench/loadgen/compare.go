package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// compareConfig is everything `loadgen compare` needs. It starts a fresh
// redis-server and a fresh server process for every measurement, runs each
// scenario against every target in turn (A B A B ...), and prints a
// side-by-side table.
type compareConfig struct {
	Targets    []string
	Idle       []int
	Broadcast  []fanoutSpec
	Rooms      []fanoutSpec
	Reps       int
	Hold       time.Duration
	Settle     time.Duration
	Duration   time.Duration
	Warmup     time.Duration
	Drain      time.Duration
	Size       int
	ServerCPUs string // taskset -c list for servers; "" = no pinning
	RedisCPUs  string // taskset -c list for redis-server; "" = inherit
	Redis      string // redis-server binary
	Node       string // node binary
	NodeScript string
	NodeArgs   []string
	NodeEnv    []string
	RelayBin   string
	RelayArgs  string // template with {addr} {grpc} {redis}
	RelayGC    string // template with {addr}; "" = settle only
	Out        string
	Opts       runOpts
	// Quiet is the most CPU (in cores) the rest of the machine may use in
	// the second before a measurement starts; the driver waits up to
	// QuietWait for that. Zero disables the check.
	Quiet     float64
	QuietWait time.Duration
}

// fanoutSpec is N connections at an offered rate of deliveries/s; Half means
// half of Node's median delivered rate measured earlier in this run at the same N.
type fanoutSpec struct {
	N    int
	Rate float64
	Half bool
}

func parseFanoutSpecs(s string) ([]fanoutSpec, error) {
	var out []fanoutSpec
	for _, f := range splitList(s) {
		n, r, ok := strings.Cut(f, ":")
		if !ok {
			return nil, fmt.Errorf("bad spec %q, want N:rate or N:half", f)
		}
		var spec fanoutSpec
		var err error
		if spec.N, err = strconv.Atoi(n); err != nil {
			return nil, fmt.Errorf("bad spec %q: %w", f, err)
		}
		if r == "half" {
			spec.Half = true
		} else if spec.Rate, err = strconv.ParseFloat(r, 64); err != nil {
			return nil, fmt.Errorf("bad spec %q: %w", f, err)
		}
		out = append(out, spec)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func compare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	var c compareConfig
	targets := fs.String("targets", "node,relay", "servers to measure, in ABAB order")
	idle := fs.String("idle", "1000,5000,10000", "scenario (a): connection counts")
	bcast := fs.String("broadcast", "2000:40000,10000:100000,10000:half", "scenario (b): N:offered-deliveries/s (N:half = half of Node's measured max at N)")
	rooms := fs.String("rooms", "", "scenario (c): N:offered-deliveries/s, one-member rooms")
	fs.IntVar(&c.Reps, "reps", 3, "repetitions of every measurement (ABAB)")
	fs.DurationVar(&c.Hold, "hold", 30*time.Second, "idle: hold time before sampling (covers a 25 s ping)")
	fs.DurationVar(&c.Settle, "settle", 2*time.Second, "idle: wait after forced GC before sampling")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "fan-out: measured publishing window")
	fs.DurationVar(&c.Warmup, "warmup", 10*time.Second, "fan-out: warm-up publishing")
	fs.DurationVar(&c.Drain, "drain", 15*time.Second, "fan-out: give up after this long without a delivery")
	fs.IntVar(&c.Size, "size", 100, "fan-out: Socket.IO packet size in bytes")
	fs.StringVar(&c.ServerCPUs, "server-cpus", "", "taskset -c list for the servers (e.g. 1); run loadgen itself under taskset for the rest")
	fs.StringVar(&c.RedisCPUs, "redis-cpus", "", "taskset -c list for redis-server")
	fs.StringVar(&c.Redis, "redis-server", "redis-server", "redis-server binary")
	fs.StringVar(&c.Node, "node", "node", "node binary")
	fs.StringVar(&c.NodeScript, "node-script", "bench/node/server.js", "Node baseline server")
	nodeArgs := fs.String("node-args", "--expose-gc --max-old-space-size=8192", "node flags")
	nodeEnv := fs.String("node-env", "", "extra environment for Node, comma-separated (e.g. BENCH_DROP_REQUEST=1)")
	fs.StringVar(&c.RelayBin, "relay-bin", ".tmp/bin/relayhost", "relay binary")
	fs.StringVar(&c.RelayArgs, "relay-args", "-addr {addr} -redis {redis}", "relay arguments; {addr} {grpc} {redis} are filled in. Without {redis}, fan-out scenarios publish over gRPC to {grpc}; with neither they are skipped")
	fs.StringVar(&c.RelayGC, "relay-gc-url", "http://{addr}/bench/gc", "URL template ({addr}) the relay answers with a forced GC; empty = settle only")
	fs.StringVar(&c.Out, "out", "", "write every result as JSON lines to this file")
	fs.Float64Var(&c.Quiet, "quiet", 0.25, "wait until the machine's other CPU use is below this many cores before each measurement (0 = don't wait)")
	fs.DurationVar(&c.QuietWait, "quiet-wait", 2*time.Minute, "longest wait for -quiet")
	fs.IntVar(&c.Opts.Workers, "workers", 0, "loadgen worker processes (0 = one per 15000 clients)")
	fs.IntVar(&c.Opts.Pollers, "pollers", 0, "epoll goroutines per worker (0 = GOMAXPROCS)")
	fs.IntVar(&c.Opts.Conc, "conc", 64, "handshakes in flight")
	fs.DurationVar(&c.Opts.Batch, "batch-delay", 200*time.Microsecond, "client pollers pause after a partial batch of events (fewer wake-ups; adds at most this latency)")
	_ = fs.Parse(args)
	c.Targets = splitList(*targets)
	c.NodeArgs = strings.Fields(*nodeArgs)
	c.NodeEnv = splitList(*nodeEnv)
	for _, s := range splitList(*idle) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("-idle: %w", err)
		}
		c.Idle = append(c.Idle, n)
	}
	var err error
	if c.Broadcast, err = parseFanoutSpecs(*bcast); err != nil {
		return err
	}
	if c.Rooms, err = parseFanoutSpecs(*rooms); err != nil {
		return err
	}
	c.Opts.Log = os.Stderr
	return runCompare(ctx, c)
}

// record is one measurement as written to -out and used for the table.
type record struct {
	Scenario string        `json:"scenario"`
	Target   string        `json:"target"`
	N        int           `json:"n"`
	Rate     float64       `json:"offered_rate,omitempty"`
	Rep      int           `json:"rep"`
	Idle     *idleResult   `json:"idle,omitempty"`
	Fanout   *fanoutResult `json:"fanout,omitempty"`
	Err      string        `json:"err,omitempty"`

	Recovery *recoveryResult `json:"recovery,omitempty"` // loadgen recovery-compare
}

func runCompare(ctx context.Context, c compareConfig) error {
	enc, closeOut, err := createJSONL(c.Out)
	if err != nil {
		return err
	}
	defer closeOut()
	var records []record
	add := func(r record) {
		records = append(records, r)
		_ = enc.Encode(r)
	}
	logf := c.Opts.logf
	logf("loadgen compare: targets %v, %d reps, server CPUs %q", c.Targets, c.Reps, c.ServerCPUs)

	for _, n := range c.Idle {
		for rep := 1; rep <= c.Reps; rep++ {
			for _, name := range c.Targets {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				logf("idle n=%d rep %d: %s", n, rep, name)
				rec := record{Scenario: "idle", Target: name, N: n, Rep: rep}
				err := withServer(ctx, c, name, false, func(t target) error {
					r, err := runIdle(ctx, t, idleConfig{N: n, Settle: c.Settle, Hold: c.Hold}, c.Opts)
					rec.Idle = r
					if err == nil {
						logf("  %s: %.2f KB RSS/conn, kernel %.2f KB/conn, idle CPU %.3f µs/conn/s, others %.2f cores %s",
							name, r.RSSPerConn/1024, r.KernelPerConn/1024, r.IdleCPUus, r.OthersCores, r.Fail)
					}
					return err
				})
				if err != nil {
					rec.Err = err.Error()
					logf("  %s: error: %v", name, err)
				}
				add(rec)
			}
		}
	}

	fanout := func(scenario string, specs []fanoutSpec) error {
		for _, spec := range specs {
			rate := spec.Rate
			if spec.Half {
				m, ok := medianOf(records, scenario, "node", spec.N, func(r record) (float64, bool) {
					if r.Fanout == nil || r.Fanout.Rate == 0 {
						return 0, false
					}
					return r.Fanout.Rate, true
				})
				if !ok {
					logf("%s n=%d: no Node rate measured yet at this N; skipping the half-rate run", scenario, spec.N)
					continue
				}
				rate = m / 2
			}
			for rep := 1; rep <= c.Reps; rep++ {
				for _, name := range c.Targets {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					logf("%s n=%d rate=%.0f rep %d: %s", scenario, spec.N, rate, rep, name)
					rec := record{Scenario: scenario, Target: name, N: spec.N, Rate: rate, Rep: rep}
					err := withServer(ctx, c, name, true, func(t target) error {
						r, err := runFanout(ctx, t, fanoutConfig{N: spec.N, Rate: rate, Duration: c.Duration,
							Warmup: c.Warmup, Size: c.Size, Rooms: scenario == "rooms", Drain: c.Drain}, c.Opts)
						rec.Fanout = r
						if err == nil {
							logf("  %s: %.0f deliveries/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %.0f deliveries/CPU-s, loadgen %.2f cores, others %.2f cores %s",
								name, r.Rate, r.P50, r.P99, r.Max, r.PerCPUSecond, r.LoadgenShare, r.OthersCores, r.Fail)
						}
						return err
					})
					if err != nil {
						rec.Err = err.Error()
						logf("  %s: error: %v", name, err)
					}
					add(rec)
				}
			}
		}
		return nil
	}
	if err := fanout("broadcast", c.Broadcast); err != nil {
		return err
	}
	if err := fanout("rooms", c.Rooms); err != nil {
		return err
	}
	printTable(os.Stdout, c, records)
	return nil
}

// startServer starts a fresh server of kind name ("node" or "relay"), a
// member of the cluster on redisAddr ("" for none).
func startServer(ctx context.Context, c compareConfig, name, redisAddr string) (target, func(), error) {
	switch name {
	case "node":
		return startNode(ctx, c, redisAddr)
	case "relay":
		return startRelay(ctx, c, redisAddr)
	}
	return target{}, nil, fmt.Errorf("unknown target %q", name)
}

// createJSONL returns an encoder writing JSON lines to a new file at path
// (its directory created), or discarding them if path is empty, and the
// function that closes the file.
func createJSONL(path string) (*json.Encoder, func(), error) {
	if path == "" {
		return json.NewEncoder(io.Discard), func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return json.NewEncoder(f), func() { f.Close() }, nil
}

// errNoPublish marks a target that cannot run fan-out scenarios.
var errNoPublish = errors.New("no publishing path to this server (relay without {redis} or {grpc} in -relay-args)")

// withServer starts a fresh Redis and a fresh server for one measurement,
// runs fn, and stops both.
func withServer(ctx context.Context, c compareConfig, name string, needPublish bool, fn func(target) error) error {
	redisAddr, redisPID, stopRedis, err := startRedis(ctx, c)
	if err != nil {
		return err
	}
	defer stopRedis()
	if name == "relay" && needPublish && !strings.Contains(c.RelayArgs, "{redis}") && !strings.Contains(c.RelayArgs, "{grpc}") {
		return errNoPublish
	}
	t, stop, err := startServer(ctx, c, name, redisAddr)
	if err != nil {
		return err
	}
	defer stop()
	t.RedisPID = redisPID
	waitQuiet(ctx, c)
	return fn(t)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitTCP(ctx context.Context, addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("process exited before listening on %s", addr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on %s after %s", addr, timeout)
		}
	}
}

// pinned wraps argv in taskset when cpus is set.
func pinned(cpus string, argv ...string) []string {
	if cpus == "" {
		return argv
	}
	return append([]string{"taskset", "-c", cpus}, argv...)
}

// process is a started child in its own process group.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func startProcess(argv []string, env []string, stdout io.Writer) (*process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = stdout
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// stop sends SIGTERM to the process group, then SIGKILL after 5 s.
func (p *process) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
}

func startRedis(ctx context.Context, c compareConfig) (string, int, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return "", 0, nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	argv := pinned(c.RedisCPUs, c.Redis, "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	p, err := startProcess(argv, nil, io.Discard)
	if err != nil {
		return "", 0, nil, fmt.Errorf("redis-server: %w", err)
	}
	if err := waitTCP(ctx, addr, 10*time.Second, p.exited); err != nil {
		p.stop()
		return "", 0, nil, fmt.Errorf("redis-server: %w", err)
	}
	return addr, p.cmd.Process.Pid, p.stop, nil
}

func startNode(ctx context.Context, c compareConfig, redisAddr string) (target, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return target{}, nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	argv := pinned(c.ServerCPUs, append(append([]string{c.Node}, c.NodeArgs...), c.NodeScript)...)
	env := append([]string{"PORT=" + port, "HOST=127.0.0.1", "REDIS_URL=redis://" + redisAddr}, c.NodeEnv...)
	pr, pw := io.Pipe()
	p, err := startProcess(argv, env, pw)
	if err != nil {
		return target{}, nil, fmt.Errorf("node: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		first := true
		for sc.Scan() {
			if first {
				var hello struct {
					PID   int  `json:"pid"`
					Ready bool `json:"ready"`
				}
				if err := json.Unmarshal(sc.Bytes(), &hello); err != nil || !hello.Ready {
					ready <- fmt.Errorf("node: unexpected first line %q", sc.Text())
				} else {
					ready <- nil
				}
				first = false
			}
		}
	}()
	stop := func() { p.stop(); pw.Close() }
	select {
	case err := <-ready:
		if err != nil {
			stop()
			return target{}, nil, err
		}
	case <-p.exited:
		stop()
		return target{}, nil, errors.New("node exited before it was ready")
	case <-time.After(30 * time.Second):
		stop()
		return target{}, nil, errors.New("node not ready after 30s")
	}
	t := target{Name: "node", Addr: addr, Path: "/socket.io/", PID: p.cmd.Process.Pid,
		GCURL: "http://" + addr + "/bench/gc", Redis: redisAddr}
	return t, stop, nil
}

func startRelay(ctx context.Context, c compareConfig, redisAddr string) (target, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return target{}, nil, err
	}
	grpc, err := freeAddr()
	if err != nil {
		return target{}, nil, err
	}
	fill := strings.NewReplacer("{addr}", addr, "{grpc}", grpc, "{redis}", "redis://"+redisAddr)
	argv := pinned(c.ServerCPUs, append([]string{c.RelayBin}, strings.Fields(fill.Replace(c.RelayArgs))...)...)
	p, err := startProcess(argv, nil, io.Discard)
	if err != nil {
		return target{}, nil, fmt.Errorf("relay: %w", err)
	}
	if err := waitTCP(ctx, addr, 30*time.Second, p.exited); err != nil {
		p.stop()
		return target{}, nil, fmt.Errorf("relay: %w", err)
	}
	t := target{Name: "relay", Addr: addr, Path: "/socket.io/", PID: p.cmd.Process.Pid, Redis: redisAddr}
	if c.RelayGC != "" {
		t.GCURL = strings.NewReplacer("{addr}", addr).Replace(c.RelayGC)
	}
	if !strings.Contains(c.RelayArgs, "{redis}") {
		// No Redis subscription: publish through its gRPC EmitterService.
		t.Redis = ""
		t.GRPC = grpc
	}
	return t, p.stop, nil
}

// waitQuiet waits until the machine is quiet (see compareConfig.Quiet): the
// servers under test are idle at this point, so any CPU use is someone else's.
func waitQuiet(ctx context.Context, c compareConfig) {
	if c.Quiet <= 0 {
		return
	}
	deadline := time.Now().Add(c.QuietWait)
	for {
		b0, _ := boxBusy()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		b1, _ := boxBusy()
		busy := (b1 - b0).Seconds()
		if busy <= c.Quiet {
			return
		}
		if time.Now().After(deadline) {
			c.Opts.logf("  machine still busy (%.2f cores used by others) after %s; measuring anyway", busy, c.QuietWait)
			return
		}
	}
}
