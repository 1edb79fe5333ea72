// Command loadgen is the siorelay load generator: Engine.IO v4 / Socket.IO v5
// clients over WebSocket, a Redis publisher in the @socket.io/redis-emitter
// format, and a driver that measures the relay and the Node baseline side by
// side. See bench/README.md for method and results.
//
// Usage:
//
//	loadgen idle      -addr 127.0.0.1:3000 -pid PID [-gc-url URL] -n 10000
//	loadgen broadcast -addr ... -pid PID -redis 127.0.0.1:6379 -n 2000 -rate 40000
//	loadgen rooms     -addr ... -pid PID -redis ... -n 10000 -rate 20000
//	loadgen recovery  -addr ... -pid PID -grpc ADDR|-emit-url URL -n 5000 -rate 100
//	loadgen recovery-compare [flags]  connection state recovery, Node and the relay, ABAB
//	loadgen recovery-streams [flags]  the same in Redis Streams clusters of two servers
//	loadgen compare   [flags]   start Redis, Node and the relay; run everything ABAB
//	loadgen queries   [flags]   FetchSockets / EmitWithAck latency: two relays, Node, the sidecar
//	loadgen memory    [flags]   idle RSS per connection as users run both servers (no forced GC)
//	loadgen worker              (internal) holds client connections for the above
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "worker":
		fs := flag.NewFlagSet("worker", flag.ExitOnError)
		pollers := fs.Int("pollers", 0, "epoll goroutines (0 = GOMAXPROCS)")
		batch := fs.Duration("batch-delay", 0, "pause after a partial batch of readiness events")
		_ = fs.Parse(os.Args[2:])
		if p := os.Getenv("LOADGEN_CPUPROFILE"); p != "" {
			f, ferr := os.Create(fmt.Sprintf("%s.%d", p, os.Getpid()))
			if ferr == nil {
				_ = pprof.StartCPUProfile(f)
				defer pprof.StopCPUProfile()
			}
		}
		err = runWorker(os.Stdin, os.Stdout, *pollers, *batch)
	case "idle", "broadcast", "rooms":
		err = single(ctx, os.Args[1], os.Args[2:])
	case "recovery", "recovery-compare":
		err = runRecoveryCmd(ctx, os.Args[1], os.Args[2:])
	case "recovery-streams":
		err = recoveryStreams(ctx, os.Args[2:])
	case "compare":
		err = compare(ctx, os.Args[2:])
	case "queries":
		err = queries(ctx, os.Args[2:])
	case "memory":
		err = memory(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen idle|broadcast|rooms|compare|recovery|recovery-compare|recovery-streams|queries|memory|worker [flags]  (-h for flags)")
	os.Exit(2)
}

// single runs one scenario against one already running server.
func single(ctx context.Context, scenario string, args []string) error {
	fs := flag.NewFlagSet(scenario, flag.ExitOnError)
	var t target
	var o runOpts
	fs.StringVar(&t.Name, "name", "server", "label for the report")
	fs.StringVar(&t.Addr, "addr", "127.0.0.1:3000", "Socket.IO server host:port")
	fs.StringVar(&t.Path, "path", "/socket.io/", "Socket.IO path")
	fs.IntVar(&t.PID, "pid", 0, "server process id (for /proc RSS and CPU)")
	fs.StringVar(&t.GCURL, "gc-url", "", "URL to GET to force a server GC before memory samples")
	fs.StringVar(&t.Redis, "redis", "127.0.0.1:6379", "Redis the server's adapter listens to (empty: publish with -grpc)")
	fs.StringVar(&t.GRPC, "grpc", "", "gRPC EmitterService host:port, used when -redis is empty")
	fs.IntVar(&o.Workers, "workers", 0, "worker processes (0 = one per 15000 clients)")
	fs.IntVar(&o.Pollers, "pollers", 0, "epoll goroutines per worker (0 = GOMAXPROCS)")
	fs.IntVar(&o.Conc, "conc", 64, "handshakes in flight")
	fs.DurationVar(&o.Batch, "batch-delay", 0, "client pollers pause this long after a partial batch of events (fewer wake-ups, adds at most this latency)")
	n := fs.Int("n", 1000, "connections")
	settle := fs.Duration("settle", 2*time.Second, "idle: wait after GC before sampling RSS")
	hold := fs.Duration("hold", 10*time.Second, "idle: hold connections before sampling")
	rate := fs.Float64("rate", 10000, "offered deliveries per second")
	dur := fs.Duration("duration", 10*time.Second, "measured publishing window")
	warm := fs.Duration("warmup", 3*time.Second, "warm-up publishing before measuring")
	size := fs.Int("size", 100, "approximate Socket.IO packet size in bytes")
	drain := fs.Duration("drain", 10*time.Second, "give up after this long without a delivery")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	_ = fs.Parse(args)
	if t.PID == 0 {
		return fmt.Errorf("-pid is required")
	}
	o.Log = os.Stderr
	var res any
	var err error
	if scenario == "idle" {
		res, err = runIdle(ctx, t, idleConfig{N: *n, Settle: *settle, Hold: *hold}, o)
	} else {
		res, err = runFanout(ctx, t, fanoutConfig{N: *n, Rate: *rate, Duration: *dur, Warmup: *warm,
			Size: *size, Rooms: scenario == "rooms", Drain: *drain}, o)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Println(string(b))
	return nil
}
