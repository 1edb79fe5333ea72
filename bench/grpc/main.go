package main

import (
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
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/siorelay/siorelay/emitter"
	"github.com/siorelay/siorelay/internal/emittergrpc"
	siorelayv1 "github.com/siorelay/siorelay/internal/gen/siorelay/v1"
)

type config struct {
	redisURL    string
	addr        string
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	streams     int
	batch       int
	conns       int
	only        []string
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/grpc:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("bench/grpc", flag.ContinueOnError)
	fs.StringVar(&cfg.redisURL, "redis", "", "Redis URL to publish to (default: start a redis-server on a free port)")
	fs.StringVar(&cfg.addr, "addr", "", "benchmark this running sidecar instead of an in-process server")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "measured time per row")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured time before each row")
	fs.IntVar(&cfg.concurrency, "concurrency", 128, "concurrent callers for the unary rows")
	fs.IntVar(&cfg.streams, "streams", 4, "concurrent streams / batch callers for the batch rows")
	fs.IntVar(&cfg.batch, "batch", 100, "events per stream message / batch")
	fs.IntVar(&cfg.conns, "conns", 2, "gRPC client connections (calls are spread over them)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.IntVar(&sidecarPID, "sidecar-pid", 0, "with --addr: the sidecar's pid, so its CPU (from /proc) is counted too")
	workers := fs.Int("stream-workers", 0, "in-process server: grpc.NumStreamWorkers (0: the server's default)")
	only := fs.String("only", "", "comma-separated rows to run: unary, batch, stream, direct-emit, direct-batch (default all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *only != "" {
		cfg.only = strings.Split(*only, ",")
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	redisURL := cfg.redisURL
	if redisURL == "" {
		url, stop, err := startRedis()
		if err != nil {
			return err
		}
		defer stop()
		redisURL = url
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	opts.PoolSize = 32
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis %s: %w", redisURL, err)
	}
	em, err := emitter.New(rdb, emitter.Config{Key: "bench"})
	if err != nil {
		return err
	}

	addr := cfg.addr
	if addr == "" {
		scfg := emittergrpc.Config{Backend: emittergrpc.NewEmitterBackend(em)}
		if *workers > 0 {
			scfg.ServerOptions = append(scfg.ServerOptions, grpc.NumStreamWorkers(uint32(*workers)))
		}
		srv, err := emittergrpc.NewServer(scfg)
		if err != nil {
			return err
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go srv.Serve(lis)
		defer srv.Shutdown(ctx)
		addr = lis.Addr().String()
	}
	var clients []siorelayv1.EmitterServiceClient
	for range cfg.conns {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		clients = append(clients, siorelayv1.NewEmitterServiceClient(conn))
	}

	fmt.Fprintf(out, "# %s, GOMAXPROCS=%d, sidecar %s, redis %s, batch %d, unary concurrency %d, streams %d, conns %d\n",
		runtime.Version(), runtime.GOMAXPROCS(0), addr, redisURL, cfg.batch, cfg.concurrency, cfg.streams, cfg.conns)

	payload := `{"user":"alice","text":"hello, world","n":12345}`
	req := &siorelayv1.EmitRequest{
		Target: &siorelayv1.Target{Rooms: []string{"room-1"}},
		Event:  "chat",
		Args:   []*siorelayv1.Arg{{Value: &siorelayv1.Arg_Json{Json: payload}}},
	}
	batchReq := make([]*siorelayv1.EmitRequest, cfg.batch)
	for i := range batchReq {
		batchReq[i] = req
	}
	jsonArg := []byte(payload)
	op := em.To("room-1")

	rows := []struct {
		name     string
		workers  int
		perOp    int
		newOp    func(w int) (op func() error, done func() error)
		describe string
	}{{
		name: "unary", workers: cfg.concurrency, perOp: 1,
		describe: "gRPC Emit, one event per call",
		newOp: func(w int) (func() error, func() error) {
			c := clients[w%len(clients)]
			return func() error { _, err := c.Emit(ctx, req); return err }, nil
		},
	}, {
		name: "batch", workers: cfg.streams, perOp: cfg.batch,
		describe: fmt.Sprintf("gRPC EmitBatch, %d events per call", cfg.batch),
		newOp: func(w int) (func() error, func() error) {
			c := clients[w%len(clients)]
			r := &siorelayv1.EmitBatchRequest{Events: batchReq}
			return func() error { _, err := c.EmitBatch(ctx, r); return err }, nil
		},
	}, {
		name: "stream", workers: cfg.streams, perOp: cfg.batch,
		describe: fmt.Sprintf("gRPC EmitStream, %d events per message", cfg.batch),
		newOp: func(w int) (func() error, func() error) {
			c := clients[w%len(clients)]
			r := &siorelayv1.EmitStreamRequest{Events: batchReq}
			var stream grpc.ClientStreamingClient[siorelayv1.EmitStreamRequest, siorelayv1.EmitStreamResponse]
			var sent uint64
			send := func() error {
				if stream == nil {
					s, err := c.EmitStream(ctx)
					if err != nil {
						return err
					}
					stream = s
				}
				sent += uint64(len(r.Events))
				return stream.Send(r)
			}
			done := func() error {
				if stream == nil {
					return nil
				}
				resp, err := stream.CloseAndRecv()
				if err != nil {
					return err
				}
				if resp.GetCount() != sent {
					return fmt.Errorf("stream published %d of %d events", resp.GetCount(), sent)
				}
				return nil
			}
			return send, done
		},
	}, {
		name: "direct-emit", workers: cfg.concurrency, perOp: 1,
		describe: "Go emitter Emit, one event per call (no gRPC)",
		newOp: func(int) (func() error, func() error) {
			return func() error { return op.Emit(ctx, "chat", json.RawMessage(jsonArg)) }, nil
		},
	}, {
		name: "direct-batch", workers: cfg.streams, perOp: cfg.batch,
		describe: fmt.Sprintf("Go emitter EmitMessage x%d + Publish (no gRPC)", cfg.batch),
		newOp: func(int) (func() error, func() error) {
			msgs := make([]emitter.Message, cfg.batch)
			return func() error {
				for i := range msgs {
					m, err := op.EmitMessage("chat", json.RawMessage(jsonArg))
					if err != nil {
						return err
					}
					msgs[i] = m
				}
				return em.Publish(ctx, msgs...)
			}, nil
		},
	}}
	for _, r := range rows {
		if cfg.only != nil && !slices.Contains(cfg.only, r.name) {
			continue
		}
		res, err := measure(rdb, r.workers, r.perOp, cfg.warmup, cfg.duration, r.newOp)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		evCPU := float64(res.cpuPerOp+res.redisPerOp) / float64(r.perOp) / 1e3 // µs per event
		fmt.Fprintf(out, "%-13s %9.0f ops/s %10.0f events/s %9.1f µs/op | CPU/event %5.2f µs (go %5.2f + redis %5.2f) → %8.0f events/s per %d cores | workers=%d %s\n",
			r.name, res.opsPerSec, res.opsPerSec*float64(r.perOp), res.meanMicros,
			evCPU, float64(res.cpuPerOp)/float64(r.perOp)/1e3, float64(res.redisPerOp)/float64(r.perOp)/1e3,
			float64(runtime.NumCPU())*1e6/evCPU, runtime.NumCPU(), r.workers, r.describe)
	}
	return nil
}

type result struct {
	opsPerSec  float64
	meanMicros float64
	cpuPerOp   time.Duration // this process (client + in-process sidecar) CPU per op
	redisPerOp time.Duration // redis-server CPU per op
}

// sidecarPID is an out-of-process sidecar whose CPU counts as ours.
var sidecarPID int

// processCPU is the user+system CPU time this process (and the sidecar
// named by --sidecar-pid) has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) + pidCPU(sidecarPID)
}

// pidCPU reads utime+stime of pid from /proc (Linux, 100 ticks/s).
func pidCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// redisCPU is the user+system CPU time redis-server reports (INFO cpu).
func redisCPU(rdb *redis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// measure runs workers loops of op for warmup+duration and counts the
// operations completed in the measured window.
func measure(rdb *redis.Client, workers, perOp int, warmup, duration time.Duration, newOp func(w int) (func() error, func() error)) (result, error) {
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		ops       atomic.Int64
		busy      atomic.Int64 // summed nanoseconds of measured ops
		wg        sync.WaitGroup
		errOnce   sync.Once
		firstErr  error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		stop.Store(true)
	}
	for w := range workers {
		op, done := newOp(w)
		wg.Go(func() {
			for !stop.Load() {
				start := time.Now()
				if err := op(); err != nil {
					fail(err)
					return
				}
				if measuring.Load() {
					ops.Add(1)
					busy.Add(int64(time.Since(start)))
				}
			}
			if done != nil {
				if err := done(); err != nil {
					fail(err)
				}
			}
		})
	}
	time.Sleep(warmup)
	cpu0, rcpu0 := processCPU(), redisCPU(rdb)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	cpu, rcpu := processCPU()-cpu0, redisCPU(rdb)-rcpu0
	stop.Store(true)
	wg.Wait()
	if firstErr != nil {
		return result{}, firstErr
	}
	n := ops.Load()
	if n == 0 {
		return result{}, errors.New("no operation completed")
	}
	return result{
		opsPerSec:  float64(n) / elapsed.Seconds(),
		meanMicros: float64(busy.Load()) / float64(n) / 1e3,
		cpuPerOp:   cpu / time.Duration(n),
		redisPerOp: rcpu / time.Duration(n),
	}, nil
}

// startRedis runs a throwaway redis-server on a free loopback port.
func startRedis() (url string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, errors.New("redis-server not found (apt-get install -y redis-server), or pass --redis")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "bench-grpc-redis")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	url = fmt.Sprintf("redis://127.0.0.1:%d", port)
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer rdb.Close()
	for i := 0; ; i++ {
		if rdb.Ping(context.Background()).Err() == nil {
			return url, stop, nil
		}
		if i == 100 {
			stop()
			return "", nil, fmt.Errorf("redis-server on %d did not answer PING (dir %s)", port, filepath.Base(dir))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
