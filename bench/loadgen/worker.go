package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The coordinator drives each worker process over its stdin/stdout with one
// JSON request per line and one JSON reply per line. A worker exits when its
// stdin closes; the kernel then closes every client socket.

type workerRequest struct {
	Op     string `json:"op"`               // "connect", "stats", "reset"; "rconnect", "drop", "reconnect", "rstats" (recovery_worker.go)
	URL    string `json:"url,omitempty"`    // connect: ws://host:port/socket.io/?EIO=4&transport=websocket
	N      int    `json:"n,omitempty"`      // connect: number of clients to add
	Conc   int    `json:"conc,omitempty"`   // connect: handshakes in flight
	Auth   string `json:"auth,omitempty"`   // connect: CONNECT payload, e.g. {"rooms":["a"]}
	Expect uint32 `json:"expect,omitempty"` // stats: measured events each client should have
	// drop (recovery_worker.go): reconnect each client after a random pause up to Delay
	Delay time.Duration `json:"delay,omitempty"`
}

type workerReply struct {
	Err string `json:"err,omitempty"`

	// connect
	Connected int      `json:"connected,omitempty"`
	Failed    int      `json:"failed,omitempty"`
	FirstErr  string   `json:"first_err,omitempty"`
	SIDs      []string `json:"sids,omitempty"`

	// stats
	Stats *workerStats `json:"stats,omitempty"`

	// rstats (recovery_worker.go)
	Recovery *recoveryStats `json:"recovery,omitempty"`
}

type workerStats struct {
	Clients  int            `json:"clients"`
	Open     int            `json:"open"`
	Closed   map[string]int `json:"closed,omitempty"`
	Count    uint64         `json:"count"`     // measured events received, all clients
	MinCount uint32         `json:"min_count"` // fewest measured events at one client
	MaxCount uint32         `json:"max_count"`
	Complete int            `json:"complete"` // clients with exactly Expect events
	Reorder  uint64         `json:"reorder"`
	Probed   int            `json:"probed"` // clients that received at least one probe
	Warm     uint64         `json:"warm"`
	Pings    uint64         `json:"pings"`
	Other    uint64         `json:"other"`
	First    int64          `json:"first"`
	Last     int64          `json:"last"`
	Hist     histWire       `json:"hist"`
}

type worker struct {
	table   fdTable
	pollers []*poller
	key     [4]byte
	stop    chan struct{}

	mu      sync.Mutex // guards clients
	clients []*client

	rec recoveryWorker // the recovery scenario's clients
}

func newWorker(npollers int, batchDelay time.Duration) (*worker, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return nil, err
	}
	// Raise the soft limit as far as the hard limit allows.
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
		_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	}
	w := &worker{table: make(fdTable, lim.Cur), stop: make(chan struct{})}
	_, _ = rand.Read(w.key[:])
	for range npollers {
		p, err := newPoller(w.table, w.key)
		if err != nil {
			return nil, err
		}
		p.batchDelay = batchDelay
		w.pollers = append(w.pollers, p)
		go p.run(w.stop)
	}
	return w, nil
}

func (w *worker) connect(req workerRequest) workerReply {
	var (
		mu     sync.Mutex
		rep    workerReply
		newCls = make([]*client, 0, req.N)
	)
	forEachConc(req.N, req.Conc, func(i int) {
		c, err := dialClient(context.Background(), req.URL, []byte(req.Auth), w.key)
		if err == nil {
			err = w.addClient(c, i)
		}
		mu.Lock()
		if rep.count(err) {
			newCls = append(newCls, c)
		}
		mu.Unlock()
	})
	w.mu.Lock()
	w.clients = append(w.clients, newCls...)
	w.mu.Unlock()
	for _, c := range newCls {
		rep.SIDs = append(rep.SIDs, c.sid)
	}
	return rep
}

// forEachConc calls fn(i) for every i in [0, n), conc calls at a time, and
// returns when all have returned.
func forEachConc(n, conc int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(conc, n)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// addClient hands c, the i-th client of a connect request, to a poller; on
// failure it closes c's socket.
func (w *worker) addClient(c *client, i int) error {
	err := w.pollers[i%len(w.pollers)].add(c)
	if err != nil {
		unix.Close(c.fd)
	}
	return err
}

// count adds the outcome of one connect to rep, and reports whether it
// succeeded.
func (rep *workerReply) count(err error) bool {
	if err != nil {
		rep.Failed++
		if rep.FirstErr == "" {
			rep.FirstErr = err.Error()
		}
		return false
	}
	rep.Connected++
	return true
}

func (w *worker) stats(expect uint32) *workerStats {
	w.mu.Lock()
	clients := w.clients
	w.mu.Unlock()
	s := &workerStats{Clients: len(clients), MinCount: ^uint32(0), Closed: map[string]int{}}
	for _, c := range clients {
		n := c.count.Load()
		s.Count += uint64(n)
		s.MinCount = min(s.MinCount, n)
		s.MaxCount = max(s.MaxCount, n)
		if n == expect {
			s.Complete++
		}
		s.Reorder += uint64(c.reorder.Load())
		if c.probes.Load() > 0 {
			s.Probed++
		}
		s.Warm += uint64(c.warm.Load())
		if c.closed.Load() {
			why, _ := c.closeWhy.Load().(string)
			s.Closed[why]++
		} else {
			s.Open++
		}
	}
	if len(clients) == 0 {
		s.MinCount = 0
	}
	var h hist
	for _, p := range w.pollers {
		p.mu.Lock()
		h.merge(&p.h)
		s.Pings += p.pings
		s.Other += p.other
		if p.first != 0 && (s.First == 0 || p.first < s.First) {
			s.First = p.first
		}
		s.Last = max(s.Last, p.last)
		p.mu.Unlock()
	}
	s.Hist = h.wire()
	return s
}

// reset zeroes the measured-event counters and histograms. Call it only when
// no measured event is in flight.
func (w *worker) reset() {
	w.mu.Lock()
	clients := w.clients
	w.mu.Unlock()
	for _, c := range clients {
		c.count.Store(0)
		c.reorder.Store(0)
	}
	for _, p := range w.pollers {
		p.mu.Lock()
		p.h = hist{}
		p.first, p.last = 0, 0
		p.mu.Unlock()
	}
}

// runWorker serves requests from r, replying on out, until r is exhausted.
func runWorker(r io.Reader, out io.Writer, npollers int, batchDelay time.Duration) error {
	if npollers <= 0 {
		npollers = runtime.GOMAXPROCS(0)
	}
	w, err := newWorker(npollers, batchDelay)
	if err != nil {
		return err
	}
	defer close(w.stop)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var req workerRequest
		var rep workerReply
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			rep.Err = err.Error()
		} else {
			switch req.Op {
			case "connect":
				rep = w.connect(req)
			case "stats":
				rep.Stats = w.stats(req.Expect)
			case "reset":
				w.reset()
			default:
				rep = w.recoveryOp(req)
			}
		}
		if err := enc.Encode(&rep); err != nil {
			return err
		}
	}
	return sc.Err()
}

// topReasons formats close reasons, most frequent first.
func topReasons(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var l []kv
	for k, v := range m {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
	s := ""
	for i, e := range l {
		if i == 3 {
			break
		}
		s += fmt.Sprintf("%d×%q ", e.v, e.k)
	}
	return s
}
