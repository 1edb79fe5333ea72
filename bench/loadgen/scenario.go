package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// target is one running server under test.
type target struct {
	Name  string // "node", "relay"
	Addr  string // host:port of the Socket.IO endpoint
	Path  string // "/socket.io/"
	PID   int    // server process, for /proc RSS and CPU
	GCURL string // GET before memory samples to force a collection; "" = settle only
	Redis string // host:port of the Redis the server listens to ("" = none)
	// GRPC is host:port of the server's gRPC EmitterService, the publishing
	// path when Redis is empty.
	GRPC string
	// EmitURL is the Node recovery baseline's POST /bench/emit, the
	// recovery scenario's publishing path when GRPC is empty.
	EmitURL string
	// RedisPID is the redis-server process, if known, so that its CPU is
	// told apart from the rest of the machine's.
	RedisPID int
	// Streams: the server is a member of a @socket.io/redis-streams-adapter
	// cluster on Redis. The recovery scenario then adds its broadcasts to
	// the stream (XADD, as the adapter and the emitters do) and counts the
	// commands Redis runs (INFO commandstats).
	Streams bool
	// Peer is another server of the same cluster (nil: none): with
	// recoveryConfig.To "other", clients reconnect to it.
	Peer *target
}

func (t target) url() string {
	return "ws://" + t.Addr + t.Path + "?EIO=4&transport=websocket"
}

// common options for every scenario.
type runOpts struct {
	Workers int           // worker processes; 0 = one per 15,000 clients
	Pollers int           // epoll goroutines per worker; 0 = GOMAXPROCS
	Conc    int           // handshakes in flight
	Batch   time.Duration // worker poller pause after a partial batch (0 = none)
	Log     io.Writer
}

func (o runOpts) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

func (o runOpts) fleetFor(n int) (*fleet, error) {
	w := o.Workers
	if w <= 0 {
		w = (n + perWorker - 1) / perWorker
	}
	return startFleet(max(1, w), o.Pollers, o.Batch)
}

// forceGC asks the server to collect (t.GCURL) and returns the reply body.
func forceGC(ctx context.Context, t target) (string, error) {
	if t.GCURL == "" {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.GCURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("gc %s: %s", t.GCURL, resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}

// sampleRSS collects (if possible), waits settle, and returns the median of
// three RSS samples 200 ms apart.
func sampleRSS(ctx context.Context, t target, settle time.Duration) (int64, string, error) {
	reply, err := forceGC(ctx, t)
	if err != nil {
		return 0, reply, err
	}
	time.Sleep(settle)
	var s [3]int64
	for i := range s {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		if s[i], err = procRSS(t.PID); err != nil {
			return 0, reply, err
		}
	}
	return median3(s[0], s[1], s[2]), reply, nil
}

func median3(a, b, c int64) int64 {
	return max(min(a, b), min(max(a, b), c))
}

// idleResult is scenario (a): memory and CPU of N idle connections.
type idleResult struct {
	Target        string  `json:"target"`
	N             int     `json:"n"`
	RSS0          int64   `json:"rss0"`
	RSSN          int64   `json:"rssn"`
	RSSPerConn    float64 `json:"rss_per_conn"`    // bytes
	KernelPerConn float64 `json:"kernel_per_conn"` // Slab delta per connection (both ends)
	HeapPerConn   float64 `json:"heap_per_conn"`   // GC heap (+ Go stacks) delta per connection, from the GC replies
	TCPBufPerConn float64 `json:"tcpbuf_per_conn"`
	IdleCPUus     float64 `json:"idle_cpu_us"`  // server CPU µs per connection per second during the hold
	OthersCores   float64 `json:"others_cores"` // CPU used by the rest of the machine during the hold
	Open          int     `json:"open"`
	Closed        string  `json:"closed,omitempty"`
	Pings         uint64  `json:"pings"`
	ConnectSecs   float64 `json:"connect_secs"`
	LoadgenRSS    int64   `json:"loadgen_rss"`
	GCReply       string  `json:"gc_reply,omitempty"`
	Method        string  `json:"method"`
	OK            bool    `json:"ok"`
	Fail          string  `json:"fail,omitempty"`
}

type idleConfig struct {
	N      int
	Settle time.Duration // wait after GC before sampling
	Hold   time.Duration // hold the connections this long before sampling
}

func runIdle(ctx context.Context, t target, cfg idleConfig, o runOpts) (*idleResult, error) {
	r := &idleResult{Target: t.Name, N: cfg.N}
	r.Method = "RSS after forced GC (" + t.GCURL + ")"
	if t.GCURL == "" {
		r.Method = fmt.Sprintf("RSS after %s settle, no forced GC", cfg.Settle)
	}
	fl, err := o.fleetFor(cfg.N)
	if err != nil {
		return nil, err
	}
	defer fl.close()

	var reply0 string
	r.RSS0, reply0, err = sampleRSS(ctx, t, cfg.Settle)
	if err != nil {
		return nil, err
	}
	slab0, tcp0, _ := kernelMem()
	cr, err := fl.connect(t.url(), cfg.N, o.Conc, "")
	if err != nil {
		return nil, err
	}
	r.ConnectSecs = cr.Took.Seconds()
	o.logf("  %s: %d connected in %.1fs (%d failed %s)", t.Name, len(cr.SIDs), cr.Took.Seconds(), cr.Failed, cr.FirstErr)
	if cr.Failed > 0 {
		r.Fail = fmt.Sprintf("%d of %d connects failed: %s", cr.Failed, cfg.N, cr.FirstErr)
		return r, nil
	}
	// Hold; measure the server's idle CPU over the second half.
	time.Sleep(cfg.Hold / 2)
	meter := startCPUMeter(t.PID, t.RedisPID, 0, fl)
	time.Sleep(cfg.Hold / 2)
	cw := meter.stop()
	r.IdleCPUus = cw.Server * 1e6 / float64(cfg.N) / cw.Wall
	r.OthersCores = cw.OthersCore

	r.RSSN, r.GCReply, err = sampleRSS(ctx, t, cfg.Settle)
	if err != nil {
		return nil, err
	}
	slab1, tcp1, _ := kernelMem()
	r.RSSPerConn = float64(r.RSSN-r.RSS0) / float64(cfg.N)
	if h0, ok0 := heapBytes(reply0); ok0 {
		if h1, ok1 := heapBytes(r.GCReply); ok1 {
			r.HeapPerConn = float64(h1-h0) / float64(cfg.N)
		}
	}
	r.KernelPerConn = float64(slab1-slab0) / float64(cfg.N)
	r.TCPBufPerConn = float64(tcp1-tcp0) / float64(cfg.N)
	r.LoadgenRSS = fl.rss()
	st, _, err := fl.stats(0)
	if err != nil {
		return nil, err
	}
	r.Open = st.Open
	r.Pings = st.Pings
	r.Closed = topReasons(st.Closed)
	r.OK = st.Open == cfg.N
	if !r.OK {
		r.Fail = fmt.Sprintf("%d of %d connections still open: %s", st.Open, cfg.N, r.Closed)
	}
	return r, nil
}

// fanoutConfig is scenario (b) broadcast or (c) rooms of one.
type fanoutConfig struct {
	N        int
	Rate     float64       // offered deliveries/s
	Duration time.Duration // measured publishing window
	Warmup   time.Duration
	Size     int  // approximate Socket.IO packet size seen by a client
	Rooms    bool // scenario (c): each message to one client's id room
	Drain    time.Duration
}

type fanoutResult struct {
	Target       string    `json:"target"`
	Scenario     string    `json:"scenario"`
	N            int       `json:"n"`
	OfferedRate  float64   `json:"offered_rate"` // deliveries/s
	Messages     int       `json:"messages"`     // published in the measured window
	Expected     uint64    `json:"expected"`     // deliveries
	Delivered    uint64    `json:"delivered"`
	Loss         int64     `json:"loss"`
	Reorder      uint64    `json:"reorder"`
	Rate         float64   `json:"rate"` // delivered/(last delivery − first due time)
	P50          float64   `json:"p50_ms"`
	P99          float64   `json:"p99_ms"`
	P999         float64   `json:"p999_ms"`
	Max          float64   `json:"max_ms"`
	Mean         float64   `json:"mean_ms"`
	ServerCPU    float64   `json:"server_cpu_s"`
	PerCPUSecond float64   `json:"deliveries_per_cpu_s"`
	LoadgenCPU   float64   `json:"loadgen_cpu_s"`
	LoadgenShare float64   `json:"loadgen_core_share"` // loadgen CPU ÷ wall time
	PublisherLag float64   `json:"publisher_max_lag_ms"`
	OthersCores  float64   `json:"others_cores"` // CPU used by the rest of the machine
	CPU          cpuWindow `json:"cpu"`
	Wall         float64   `json:"wall_s"`
	OK           bool      `json:"ok"`
	Fail         string    `json:"fail,omitempty"`
}

func runFanout(ctx context.Context, t target, cfg fanoutConfig, o runOpts) (*fanoutResult, error) {
	r := &fanoutResult{Target: t.Name, Scenario: "broadcast", N: cfg.N, OfferedRate: cfg.Rate}
	if cfg.Rooms {
		r.Scenario = "rooms"
	}
	var pub publisher
	switch {
	case t.Redis != "":
		rp, err := newRedisPublisher(ctx, t.Redis, cfg.Size)
		if err != nil {
			return nil, err
		}
		pub = rp
	case t.GRPC != "":
		gp, err := newGRPCPublisher(t.GRPC, cfg.Size)
		if err != nil {
			return nil, err
		}
		pub = gp
	default:
		return nil, fmt.Errorf("%s: no publishing path (neither Redis nor gRPC)", t.Name)
	}
	defer pub.close()
	fl, err := o.fleetFor(cfg.N)
	if err != nil {
		return nil, err
	}
	defer fl.close()
	cr, err := fl.connect(t.url(), cfg.N, o.Conc, "")
	if err != nil {
		return nil, err
	}
	o.logf("  %s: %d connected in %.1fs (%d failed %s)", t.Name, len(cr.SIDs), cr.Took.Seconds(), cr.Failed, cr.FirstErr)
	if cr.Failed > 0 {
		r.Fail = fmt.Sprintf("%d of %d connects failed: %s", cr.Failed, cfg.N, cr.FirstErr)
		return r, nil
	}
	sids := cr.SIDs

	// Probe until every client receives a broadcast: the server's
	// subscription is live and every connection is registered.
	deadline := time.Now().Add(30 * time.Second)
	for seq := int64(0); ; seq++ {
		if err := pub.publish(ctx, []message{{Ev: 'p', TS: time.Now().UnixNano(), Seq: seq}}); err != nil {
			return nil, err
		}
		time.Sleep(250 * time.Millisecond)
		st, _, err := fl.stats(0)
		if err != nil {
			return nil, err
		}
		if st.Probed == cfg.N {
			break
		}
		if time.Now().After(deadline) {
			r.Fail = fmt.Sprintf("only %d of %d clients received a probe in 30s", st.Probed, cfg.N)
			return r, nil
		}
	}

	// Messages: broadcast = rate/N broadcasts per second; rooms = rate
	// single-client emits per second, round-robin so every client expects
	// the same count.
	msgRate := cfg.Rate / float64(cfg.N)
	count := max(1, int(math.Round(msgRate*cfg.Duration.Seconds())))
	per := uint32(count)
	if cfg.Rooms {
		msgRate = cfg.Rate
		per = uint32(max(1, int(math.Round(cfg.Rate*cfg.Duration.Seconds()/float64(cfg.N)))))
		count = int(per) * cfg.N
	}
	mk := func(ev byte) func(i int, due int64) message {
		return func(i int, due int64) message {
			m := message{Ev: ev, TS: due, Seq: int64(i)}
			if cfg.Rooms {
				m.Room = sids[i%len(sids)]
			}
			return m
		}
	}
	if cfg.Warmup > 0 {
		warm := max(1, int(msgRate*cfg.Warmup.Seconds()))
		if cfg.Rooms {
			warm = (warm + cfg.N - 1) / cfg.N * cfg.N
		}
		if _, err := schedule(ctx, pub, msgRate, warm, mk('w')); err != nil {
			return nil, err
		}
	}
	if err := fl.reset(); err != nil {
		return nil, err
	}
	r.Messages = count
	r.Expected = uint64(per) * uint64(cfg.N)

	meter := startCPUMeter(t.PID, t.RedisPID, 0, fl)
	start := time.Now()
	lag, err := schedule(ctx, pub, msgRate, count, mk('b'))
	if err != nil {
		return nil, err
	}
	r.PublisherLag = ms(lag)

	// Drain: wait for every delivery, giving up after cfg.Drain without progress.
	var st *workerStats
	var h *hist
	lastCount, lastProgress := uint64(0), time.Now()
	for {
		st, h, err = fl.stats(per)
		if err != nil {
			return nil, err
		}
		if st.Count >= r.Expected || st.Open < cfg.N {
			break
		}
		if st.Count > lastCount {
			lastCount, lastProgress = st.Count, time.Now()
		} else if time.Since(lastProgress) > cfg.Drain {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cw := meter.stop()

	r.Delivered = st.Count
	r.Loss = int64(r.Expected) - int64(st.Count)
	r.Reorder = st.Reorder
	if st.Last > 0 {
		r.Rate = float64(st.Count) / (float64(st.Last-start.UnixNano()) / 1e9)
	}
	r.P50, r.P99, r.P999, r.Max = ms(h.quantile(0.5)), ms(h.quantile(0.99)), ms(h.quantile(0.999)), ms(h.quantile(1))
	r.Mean = ms(h.mean())
	r.CPU = cw
	r.ServerCPU = cw.Server
	if r.ServerCPU > 0 {
		r.PerCPUSecond = float64(st.Count) / r.ServerCPU
	}
	r.LoadgenCPU = cw.Loadgen
	r.Wall = cw.Wall
	r.LoadgenShare = cw.Loadgen / cw.Wall
	r.OthersCores = cw.OthersCore
	switch {
	case st.Open < cfg.N:
		r.Fail = fmt.Sprintf("%d clients disconnected: %s", cfg.N-st.Open, topReasons(st.Closed))
	case r.Loss != 0 || st.MinCount != per || st.MaxCount != per:
		r.Fail = fmt.Sprintf("loss: %d of %d deliveries missing (per client min %d max %d, want %d)",
			r.Loss, r.Expected, st.MinCount, st.MaxCount, per)
	default:
		r.OK = true
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// heapBytes extracts the collected heap from a GC reply: Node's
// process.memoryUsage().heapUsed, or the relay host's heap_inuse+stack_inuse.
func heapBytes(reply string) (int64, bool) {
	var v struct {
		Memory *struct {
			HeapUsed int64 `json:"heapUsed"`
		} `json:"memory"`
		HeapInuse  *int64 `json:"heap_inuse"`
		StackInuse int64  `json:"stack_inuse"`
	}
	if reply == "" || json.Unmarshal([]byte(reply), &v) != nil {
		return 0, false
	}
	switch {
	case v.Memory != nil:
		return v.Memory.HeapUsed, true
	case v.HeapInuse != nil:
		return *v.HeapInuse + v.StackInuse, true
	}
	return 0, false
}
