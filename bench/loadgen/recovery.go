package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Scenario (e) with connection state recovery (issue 12, performance.md
// G13): N clients of one server lose their connections at once and
// reconnect while numbered broadcasts flow; how long until all are
// recovered, did each get every missed packet exactly once, and what did
// it cost the server. In a Redis Streams cluster (issue 13, target.Streams)
// the clients reconnect to the same server or to another one (To), and
// what Redis ran meanwhile is counted too.

// recoveryConfig is one recovery measurement.
type recoveryConfig struct {
	N      int
	Rate   float64       // numbered broadcasts per second, to all clients
	Before time.Duration // publishing before the drop
	After  time.Duration // publishing after the last reconnect ended
	Size   int           // approximate packet size, offset excluded (≥ minRecoverySize)
	Conc   int           // reconnects in flight, over all workers
	Jitter time.Duration // each client waits a random pause up to this before reconnecting
	Wait   time.Duration // give up on reconnects after this long
	Stall  time.Duration // or when none has ended for this long
	Drain  time.Duration // give up draining after this long without progress
	To     string        // "other": reconnect to the target's Peer; else to the same server
}

// minRecoverySize keeps the padding argument in every packet: the clients
// find the offset by counting arguments (recArgs).
const minRecoverySize = basePacketLen + 1

type recoveryResult struct {
	Target string  `json:"target"`
	N      int     `json:"n"`
	Rate   float64 `json:"rate"`         // broadcasts/s offered
	To     string  `json:"to,omitempty"` // "same" or "other" server (streams clusters)

	Published int64  `json:"published"` // numbered broadcasts
	Expected  uint64 `json:"expected"`  // deliveries: published × N
	Delivered uint64 `json:"delivered"`
	Missed    uint64 `json:"missed"`   // published while a client was away (after its last packet, before its first live one)
	Replayed  uint64 `json:"replayed"` // delivered before a reconnect's CONNECT reply (clients that got it)
	Gaps      uint64 `json:"gaps"`
	Dups      uint64 `json:"dups"`
	Complete  int    `json:"complete"` // clients with every broadcast exactly once, in order

	Recovered int    `json:"recovered"`
	Fresh     int    `json:"fresh"`
	Failed    int    `json:"failed"`
	FirstErr  string `json:"first_err,omitempty"`
	Open      int    `json:"open"`

	AllRecovered float64 `json:"all_recovered_ms"` // drop → the last CONNECT reply of a reconnect
	ReconnectP50 float64 `json:"reconnect_p50_ms"` // one client: reconnect start → CONNECT reply
	ReconnectP99 float64 `json:"reconnect_p99_ms"`
	ReconnectMax float64 `json:"reconnect_max_ms"`
	LiveP50      float64 `json:"live_p50_ms"` // broadcast latency of live deliveries over the whole run
	LiveP99      float64 `json:"live_p99_ms"`
	LiveMax      float64 `json:"live_max_ms"`

	// Server CPU: in the recovery window (drop → all recovered), and over
	// the whole run (first broadcast → drained), which also gives the
	// deliveries (live and replayed) per server CPU-second.
	CPURecovery  float64   `json:"server_cpu_recovery_s"`
	CPUAll       float64   `json:"server_cpu_s"`
	PerCPUSecond float64   `json:"deliveries_per_cpu_s"`
	Window       cpuWindow `json:"window"` // the recovery window, every process
	WholeRun     cpuWindow `json:"whole_run"`
	ServerRSS    int64     `json:"server_rss"`      // after the drain
	ServerHWM    int64     `json:"server_rss_peak"` // VmHWM
	ConnectSecs  float64   `json:"connect_secs"`
	PublishedAt0 int64     `json:"published_at_drop"`
	// ServerStats is the Node baseline's GET /bench/stats after the
	// reconnects (why reconnects got new sessions).
	ServerStats json.RawMessage `json:"server_stats,omitempty"`
	PeerHWM     int64           `json:"peer_rss_peak,omitempty"` // VmHWM of the cluster's second server
	// SessionsStored (To "other"): drop → Redis holds every session, when
	// the clients start reconnecting.
	SessionsStored float64 `json:"sessions_stored_ms,omitempty"`

	// Redis (streams clusters): what Redis ran in the recovery window (drop
	// → all recovered), by command (INFO commandstats deltas, INFO itself
	// left out), and in total.
	Redis      map[string]redisCmdStat `json:"redis_commands,omitempty"`
	RedisTotal redisCmdStat            `json:"redis_total"`

	OK   bool   `json:"ok"`
	Fail string `json:"fail,omitempty"`
}

// recoveryPublisher returns how broadcasts reach t: in a streams cluster
// its stream; else its gRPC EmitterService (the relay), or POST /bench/emit
// (the Node baseline).
func recoveryPublisher(ctx context.Context, t target, size int) (publisher, error) {
	if t.Streams {
		return newStreamPublisher(ctx, t.Redis, size)
	}
	if t.GRPC != "" {
		return newGRPCPublisher(t.GRPC, size)
	}
	if t.EmitURL != "" {
		return newHTTPPublisher(t.EmitURL, size), nil
	}
	return nil, fmt.Errorf("%s: no way to make it emit (neither gRPC nor an emit URL)", t.Name)
}

func runRecovery(ctx context.Context, t target, cfg recoveryConfig, o runOpts) (*recoveryResult, error) {
	if cfg.Size < minRecoverySize {
		return nil, fmt.Errorf("recovery: -size must be at least %d", minRecoverySize)
	}
	r := &recoveryResult{Target: t.Name, N: cfg.N, Rate: cfg.Rate}
	back := t // where the clients reconnect
	if cfg.To == "other" {
		if t.Peer == nil {
			return nil, fmt.Errorf("recovery: reconnecting to another server needs a peer (-peer-addr)")
		}
		back, r.To = *t.Peer, "other"
	} else if t.Streams {
		r.To = "same"
	}
	peerPID := 0
	if t.Peer != nil {
		peerPID = t.Peer.PID
	}
	var rdb *redis.Client // INFO commandstats (streams clusters)
	if t.Streams {
		rdb = redis.NewClient(&redis.Options{Addr: t.Redis, PoolSize: 1, DisableIdentity: true})
		defer rdb.Close()
	}
	inner, err := recoveryPublisher(ctx, t, cfg.Size)
	if err != nil {
		return nil, err
	}
	pub := &countingPublisher{pub: inner}
	defer pub.close()
	fl, err := o.fleetFor(cfg.N)
	if err != nil {
		return nil, err
	}
	defer fl.close()

	cr, err := fl.connectOp("rconnect", t.url(), cfg.N, o.Conc, "")
	if err != nil {
		return nil, err
	}
	r.ConnectSecs = cr.Took.Seconds()
	o.logf("  %s: %d connected in %.1fs (%d failed %s)", t.Name, cr.Connected, r.ConnectSecs, cr.Failed, cr.FirstErr)
	if cr.Failed > 0 {
		r.Fail = fmt.Sprintf("%d of %d connects failed: %s", cr.Failed, cfg.N, cr.FirstErr)
		return r, nil
	}

	// Numbered broadcasts, open loop, until stopped.
	whole := startCPUMeter(t.PID, t.RedisPID, peerPID, fl)
	pctx, cancelPub := context.WithCancel(ctx)
	defer cancelPub()
	pubDone := make(chan error, 1)
	go func() {
		_, err := schedule(pctx, pub, cfg.Rate, math.MaxInt32, func(i int, due int64) message {
			return message{Ev: 'b', TS: due, Seq: int64(i)}
		})
		pubDone <- err
	}()
	stopPublishing := func() error {
		pub.stop()
		err := <-pubDone
		if errors.Is(err, errPublisherStopped) {
			return nil
		}
		if err == nil {
			err = errors.New("publisher ended before it was stopped")
		}
		return err
	}

	// Before the drop every client must have processed a logged packet
	// (it has an offset).
	time.Sleep(cfg.Before)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := fl.recStats(0)
		if err != nil {
			return nil, err
		}
		if st.Open < cfg.N {
			_ = stopPublishing()
			r.Fail = fmt.Sprintf("%d clients disconnected before the drop: %s", cfg.N-st.Open, topReasons(st.Closed))
			return r, nil
		}
		if st.NoOffset == 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = stopPublishing()
			r.Fail = fmt.Sprintf("%d clients had no offset 30s after the first broadcast", st.NoOffset)
			return r, nil
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The drop, and the reconnects.
	r.PublishedAt0 = pub.sent.Load()
	var cmds0 map[string]redisCmdStat
	var dbsize0 int64
	if rdb != nil {
		if dbsize0, err = rdb.DBSize(ctx).Result(); err != nil {
			return nil, err
		}
		if cmds0, err = redisCommandStats(ctx, rdb); err != nil {
			return nil, err
		}
	}
	window := startCPUMeter(t.PID, t.RedisPID, peerPID, fl)
	if r.To == "other" && rdb != nil {
		// Another server finds a session only once the first has stored
		// it, which it does when it sees the connection end: clients that
		// come back sooner get a new session, on Node as on the relay
		// (socket.io-client waits 0.5–1.5 s before its first attempt). So
		// the clients reconnect once Redis holds every session.
		if err := fl.drop("", cfg.Conc, cfg.Jitter); err != nil {
			return nil, err
		}
		if r.SessionsStored, err = waitSessions(ctx, rdb, dbsize0+int64(cfg.N), window.t0, cfg.Stall); err != nil {
			r.Fail = err.Error()
			_ = stopPublishing()
			return r, nil
		}
		if err := fl.reconnect(back.url(), cfg.Conc, cfg.Jitter); err != nil {
			return nil, err
		}
	} else if err := fl.drop(back.url(), cfg.Conc, cfg.Jitter); err != nil {
		return nil, err
	}
	var st *recoveryStats
	deadline = time.Now().Add(cfg.Wait)
	ended, lastEnd := 0, time.Now()
	for {
		if st, err = fl.recStats(0); err != nil {
			return nil, err
		}
		if st.pending() == 0 {
			break
		}
		if n := st.Clients - st.pending(); n > ended {
			ended, lastEnd = n, time.Now()
		}
		if now := time.Now(); now.After(deadline) || now.Sub(lastEnd) > cfg.Stall {
			o.logf("  %s: %d clients still reconnecting after %s (%s without one ending)",
				t.Name, st.pending(), time.Since(window.t0).Round(time.Millisecond), time.Since(lastEnd).Round(time.Millisecond))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Window = window.stop()
	r.CPURecovery = r.Window.Server
	if rdb != nil {
		cmds1, err := redisCommandStats(ctx, rdb)
		if err != nil {
			return nil, err
		}
		r.Redis = commandDelta(cmds0, cmds1)
		r.RedisTotal = commandTotal(r.Redis)
	}
	r.ServerStats = serverStats(ctx, back)

	// Live broadcasts after the reconnects (the seam), then drain, unless
	// the run has failed already (an overloaded server's backlog can take
	// minutes to drain, and would not change the verdict).
	if st.Recovered == cfg.N {
		time.Sleep(cfg.After)
	}
	if err := stopPublishing(); err != nil {
		return nil, err
	}
	r.Published = pub.sent.Load()
	r.Expected = uint64(r.Published) * uint64(cfg.N)
	last, lastProgress := uint64(0), time.Now()
	for st.Recovered == cfg.N {
		if st, err = fl.recStats(r.Published); err != nil {
			return nil, err
		}
		if st.Complete == cfg.N || st.pending() == 0 && st.Open == 0 {
			break
		}
		if st.Delivered > last {
			last, lastProgress = st.Delivered, time.Now()
		} else if time.Since(lastProgress) > cfg.Drain {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.WholeRun = whole.stop()
	r.CPUAll = r.WholeRun.Server
	if r.CPUAll > 0 {
		r.PerCPUSecond = float64(st.Delivered) / r.CPUAll
	}
	r.ServerRSS, _ = procRSS(t.PID)
	r.ServerHWM, _ = procStatusField(t.PID, "VmHWM:")
	if peerPID > 0 {
		r.PeerHWM, _ = procStatusField(peerPID, "VmHWM:")
	}

	if st.Recovered != cfg.N {
		if st, err = fl.recStats(r.Published); err != nil {
			return nil, err
		}
	}
	r.Delivered, r.Missed, r.Replayed = st.Delivered, st.Missed, st.Replayed
	r.Gaps, r.Dups, r.Complete = st.Gaps, st.Dups, st.Complete
	r.Recovered, r.Fresh, r.Failed, r.FirstErr, r.Open = st.Recovered, st.Fresh, st.Failed, st.FirstErr, st.Open
	if st.LastDone > 0 && st.DropAt > 0 {
		r.AllRecovered = float64(st.LastDone-st.DropAt) / 1e6
	}
	lat, live := st.Lat.hist(), st.Live.hist()
	r.ReconnectP50, r.ReconnectP99, r.ReconnectMax = ms(lat.quantile(0.5)), ms(lat.quantile(0.99)), ms(lat.quantile(1))
	r.LiveP50, r.LiveP99, r.LiveMax = ms(live.quantile(0.5)), ms(live.quantile(0.99)), ms(live.quantile(1))
	switch {
	case r.Recovered != cfg.N:
		r.Fail = fmt.Sprintf("%d of %d recovered (%d new sessions, %d failed %s, %d still reconnecting)",
			r.Recovered, cfg.N, r.Fresh, r.Failed, r.FirstErr, st.pending())
	case st.Open != cfg.N:
		r.Fail = fmt.Sprintf("%d connections closed after the reconnect: %s", cfg.N-st.Open, topReasons(st.Closed))
	case r.Complete != cfg.N || r.Delivered != r.Expected:
		r.Fail = fmt.Sprintf("%d of %d clients incomplete: %d of %d deliveries, %d gaps, %d duplicates (next seq min %d max %d, want %d)",
			cfg.N-r.Complete, cfg.N, r.Delivered, r.Expected, r.Gaps, r.Dups, st.MinNext, st.MaxNext, r.Published)
	default:
		r.OK = true
	}
	return r, nil
}

// drop shuts down every client's connection at once and starts their
// reconnects to url, conc in flight over all workers; with url "", the
// reconnects wait for reconnect.
func (f *fleet) drop(url string, conc int, jitter time.Duration) error {
	return f.recOp("drop", url, conc, jitter)
}

// reconnect starts the reconnects of a drop without url.
func (f *fleet) reconnect(url string, conc int, jitter time.Duration) error {
	return f.recOp("reconnect", url, conc, jitter)
}

func (f *fleet) recOp(op, url string, conc int, jitter time.Duration) error {
	n := len(f.procs)
	_, err := f.each(func(_ int, w *workerProc) (workerReply, error) {
		return w.call(workerRequest{Op: op, URL: url, Conc: max(1, conc/n), Delay: jitter})
	})
	return err
}

// recStats sums every worker's recovery stats; expect is the number of
// numbered broadcasts published (0 while unknown).
func (f *fleet) recStats(expect int64) (*recoveryStats, error) {
	reps, err := f.each(func(_ int, w *workerProc) (workerReply, error) {
		return w.call(workerRequest{Op: "rstats", Expect: uint32(expect)})
	})
	if err != nil {
		return nil, err
	}
	s := &recoveryStats{}
	for _, rep := range reps {
		if rep.Recovery != nil {
			s.add(rep.Recovery)
		}
	}
	return s, nil
}

// serverStats returns what the server that took the reconnects says about
// them: the Node recovery baseline's GET /bench/stats (why reconnects got
// new sessions), or the relay's siorelay_recovery_* metrics (GET /metrics)
// as a JSON object; nil for another server or on any error.
func serverStats(ctx context.Context, t target) json.RawMessage {
	path := "/bench/stats"
	if t.Name == "relay" {
		path = "/metrics"
	} else if t.Name != "node" && t.EmitURL == "" {
		return nil
	}
	b, err := httpGet(ctx, "http://"+t.Addr+path, 1<<20)
	if err != nil {
		return nil
	}
	if path == "/metrics" {
		b = recoveryMetricsJSON(b)
	}
	if len(b) > 4096 || !json.Valid(b) {
		return nil
	}
	return b
}

// recoveryMetricsJSON picks the siorelay_recovery_* samples out of a
// Prometheus text exposition: {"<name>{<labels>}": value, ...}.
func recoveryMetricsJSON(text []byte) []byte {
	b, _ := json.Marshal(promSamples(text, func(line string) bool { return strings.HasPrefix(line, "siorelay_recovery_") }))
	return b
}

// promSamples reads the samples of Prometheus text whose line keep
// accepts: series (name and labels) → value.
func promSamples(text []byte, keep func(line string) bool) map[string]float64 {
	m := map[string]float64{}
	for line := range strings.Lines(string(text)) {
		line = strings.TrimSpace(line)
		if !keep(line) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m
}
