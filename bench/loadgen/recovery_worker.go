package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The worker's side of the recovery scenario: the requests "rconnect" (open
// N recovery clients), "drop" (shut down every client's connection at once,
// then reconnect each with its pid and offset, in the background; without
// a URL, only shut them down), "reconnect" (after a drop without URL:
// reconnect them now) and "rstats" (where every client is, and what it
// received).

// recHandshakeTimeout bounds one recovery client's handshake; generous,
// because an overloaded server answers a reconnect storm slowly, and that
// is what is measured.
const recHandshakeTimeout = 60 * time.Second

// recoveryWorker holds a worker's recovery clients.
type recoveryWorker struct {
	mu      sync.Mutex // guards clients, dropAt and held
	clients []*recClient
	dropAt  int64     // unix ns of the last drop
	held    []*client // the old connections of a drop without URL, until "reconnect"
}

// recoveryStats is a worker's (or, summed, the fleet's) view of its
// recovery clients.
type recoveryStats struct {
	Clients      int            `json:"clients"`
	Connected    int            `json:"connected"` // on their first connection
	Dropped      int            `json:"dropped"`   // waiting to reconnect
	Reconnecting int            `json:"reconnecting"`
	Recovered    int            `json:"recovered"`
	Fresh        int            `json:"fresh"`  // reconnected, but to a new session
	Failed       int            `json:"failed"` // reconnect failed
	FirstErr     string         `json:"first_err,omitempty"`
	Open         int            `json:"open"` // current connections still open
	Closed       map[string]int `json:"closed,omitempty"`
	NoOffset     int            `json:"no_offset"` // clients that have processed no logged packet

	Delivered uint64 `json:"delivered"` // numbered broadcasts received, replays included
	Replayed  uint64 `json:"replayed"`  // received before a reconnect's CONNECT reply, by the clients that got it
	Missed    uint64 `json:"missed"`    // published between a client's last packet before the drop and its first live one after
	Gaps      uint64 `json:"gaps"`
	Dups      uint64 `json:"dups"`
	Complete  int    `json:"complete"` // clients with exactly seq 0…expect-1, in order
	MinNext   int64  `json:"min_next"`
	MaxNext   int64  `json:"max_next"`

	DropAt   int64    `json:"drop_at"`   // unix ns
	LastDone int64    `json:"last_done"` // unix ns of the last reconnect to end
	Lat      histWire `json:"lat"`       // reconnect start → CONNECT reply (or failure)
	Live     histWire `json:"live"`      // send → receive of live numbered broadcasts
}

func (w *worker) recoveryOp(req workerRequest) workerReply {
	switch req.Op {
	case "rconnect":
		return w.recConnect(req)
	case "drop":
		return w.recDrop(req)
	case "reconnect":
		return w.recReconnectHeld(req)
	case "rstats":
		return workerReply{Recovery: w.recStats(int64(req.Expect))}
	}
	return workerReply{Err: fmt.Sprintf("unknown op %q", req.Op)}
}

// recConnect opens req.N recovery clients, req.Conc handshakes at a time.
func (w *worker) recConnect(req workerRequest) workerReply {
	var (
		mu  sync.Mutex
		rep workerReply
		cls = make([]*recClient, 0, req.N)
	)
	forEachConc(req.N, req.Conc, func(i int) {
		rc := &recClient{firstLive: -1}
		c, _, err := recDial(context.Background(), req.URL, nil, w.key, recHandshakeTimeout, rc)
		if err == nil {
			rc.mu.Lock()
			rc.conn = c
			rc.mu.Unlock()
			err = w.addClient(c, i)
		}
		mu.Lock()
		if rep.count(err) {
			cls = append(cls, rc)
		}
		mu.Unlock()
	})
	w.rec.mu.Lock()
	w.rec.clients = append(w.rec.clients, cls...)
	w.rec.mu.Unlock()
	return rep
}

// recDrop shuts down every recovery client's connection at once (FIN to
// the server, as when a client's transport closes), and returns. In the
// background it then waits until the pollers have closed the old sockets,
// so that each client's offset is final, and reconnects every client with
// its pid and offset to req.URL, req.Conc at a time, each after a random
// pause of up to req.Delay; without req.URL, when "reconnect" says so.
//
// The shutdowns use the descriptors of open connections from this
// goroutine while pollers may close them: no socket is opened in this
// process between rconnect and drop, so a descriptor cannot be reused
// meanwhile.
func (w *worker) recDrop(req workerRequest) workerReply {
	w.rec.mu.Lock()
	clients := w.rec.clients
	w.rec.dropAt = time.Now().UnixNano()
	w.rec.mu.Unlock()
	old := make([]*client, len(clients))
	for i, rc := range clients {
		rc.mu.Lock()
		rc.state = recDropped
		old[i], rc.conn = rc.conn, nil
		rc.mu.Unlock()
		if c := old[i]; c != nil && !c.closed.Load() {
			_ = unix.Shutdown(c.fd, unix.SHUT_RDWR)
		}
	}
	if req.URL == "" {
		w.rec.mu.Lock()
		w.rec.held = old
		w.rec.mu.Unlock()
		return workerReply{}
	}
	go w.recReconnect(req, clients, old)
	return workerReply{}
}

// recReconnectHeld starts the reconnects of a drop without URL, to req.URL.
func (w *worker) recReconnectHeld(req workerRequest) workerReply {
	w.rec.mu.Lock()
	clients, old := w.rec.clients, w.rec.held
	w.rec.held = nil
	w.rec.mu.Unlock()
	if old == nil && len(clients) > 0 {
		return workerReply{Err: "reconnect: no drop without URL before"}
	}
	go w.recReconnect(req, clients, old)
	return workerReply{}
}

func (w *worker) recReconnect(req workerRequest, clients []*recClient, old []*client) {
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range old {
		for c != nil && !c.closed.Load() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	sem := make(chan struct{}, max(1, req.Conc))
	for i, rc := range clients {
		go func() {
			if req.Delay > 0 {
				time.Sleep(rand.N(req.Delay))
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			w.recReconnectOne(req.URL, rc, old[i], i)
		}()
	}
}

func (w *worker) recReconnectOne(url string, rc *recClient, old *client, i int) {
	fail := func(err error) {
		rc.mu.Lock()
		rc.state, rc.err, rc.doneAt = recFailed, err.Error(), time.Now().UnixNano()
		rc.mu.Unlock()
	}
	if old != nil && !old.closed.Load() {
		fail(fmt.Errorf("old connection not closed 10s after shutdown"))
		return
	}
	auth := rc.recoveryAuth()
	rc.mu.Lock()
	rc.state, rc.startAt = recReconnecting, time.Now().UnixNano()
	// What the client processed, its old connection's last bytes included.
	rc.dropNext = rc.next
	rc.mu.Unlock()
	c, _, err := recDial(context.Background(), url, auth, w.key, recHandshakeTimeout, rc)
	if err != nil {
		fail(err)
		return
	}
	rc.mu.Lock()
	rc.conn = c
	rc.mu.Unlock()
	if err := w.addClient(c, i); err != nil {
		fail(err)
	}
}

// recStats sums up the recovery clients; expect is the number of numbered
// broadcasts published (0 while unknown).
func (w *worker) recStats(expect int64) *recoveryStats {
	w.rec.mu.Lock()
	clients := w.rec.clients
	s := &recoveryStats{Clients: len(clients), DropAt: w.rec.dropAt, Closed: map[string]int{}}
	w.rec.mu.Unlock()
	var lat hist
	for i, rc := range clients {
		rc.mu.Lock()
		switch rc.state {
		case recConnected:
			s.Connected++
		case recDropped:
			s.Dropped++
		case recReconnecting:
			s.Reconnecting++
		case recRecovered:
			s.Recovered++
		case recFresh:
			s.Fresh++
		case recFailed:
			s.Failed++
			if s.FirstErr == "" {
				s.FirstErr = rc.err
			}
		}
		if rc.state == recRecovered || rc.state == recFresh {
			lat.record(rc.doneAt - rc.startAt)
			s.Replayed += rc.replayed
			s.LastDone = max(s.LastDone, rc.doneAt)
			switch {
			case rc.firstLive >= 0:
				s.Missed += uint64(max(0, rc.firstLive-rc.dropNext))
			case expect > 0:
				s.Missed += uint64(max(0, expect-rc.dropNext))
			}
		}
		if c := rc.conn; c != nil {
			if c.closed.Load() {
				why, _ := c.closeWhy.Load().(string)
				s.Closed[why]++
			} else {
				s.Open++
			}
		}
		if len(rc.offset) == 0 {
			s.NoOffset++
		}
		s.Delivered += rc.delivered
		s.Gaps += rc.gaps
		s.Dups += rc.dups
		if expect > 0 && rc.next == expect && rc.gaps == 0 && rc.dups == 0 {
			s.Complete++
		}
		if i == 0 || rc.next < s.MinNext {
			s.MinNext = rc.next
		}
		s.MaxNext = max(s.MaxNext, rc.next)
		rc.mu.Unlock()
	}
	s.Lat = lat.wire()
	var live hist
	for _, p := range w.pollers {
		p.mu.Lock()
		live.merge(&p.h)
		p.mu.Unlock()
	}
	s.Live = live.wire()
	return s
}

// add sums o into s (a fleet's view from its workers').
func (s *recoveryStats) add(o *recoveryStats) {
	if s.Clients == 0 || (o.Clients > 0 && o.MinNext < s.MinNext) {
		s.MinNext = o.MinNext
	}
	s.Clients += o.Clients
	s.Connected += o.Connected
	s.Dropped += o.Dropped
	s.Reconnecting += o.Reconnecting
	s.Recovered += o.Recovered
	s.Fresh += o.Fresh
	s.Failed += o.Failed
	if s.FirstErr == "" {
		s.FirstErr = o.FirstErr
	}
	s.Open += o.Open
	if s.Closed == nil {
		s.Closed = map[string]int{}
	}
	for k, v := range o.Closed {
		s.Closed[k] += v
	}
	s.NoOffset += o.NoOffset
	s.Delivered += o.Delivered
	s.Replayed += o.Replayed
	s.Missed += o.Missed
	s.Gaps += o.Gaps
	s.Dups += o.Dups
	s.Complete += o.Complete
	s.MaxNext = max(s.MaxNext, o.MaxNext)
	if o.DropAt != 0 && (s.DropAt == 0 || o.DropAt < s.DropAt) {
		s.DropAt = o.DropAt
	}
	s.LastDone = max(s.LastDone, o.LastDone)
	l, v := s.Lat.hist(), s.Live.hist()
	l.merge(o.Lat.hist())
	v.merge(o.Live.hist())
	s.Lat, s.Live = l.wire(), v.wire()
}

// pending is how many clients have not finished reconnecting.
func (s *recoveryStats) pending() int {
	return s.Dropped + s.Reconnecting
}

// summary is s in one line, without the histograms.
func (s *recoveryStats) summary() string {
	return fmt.Sprintf("clients %d: connected %d, dropped %d, reconnecting %d, recovered %d, new sessions %d, failed %d %s; open %d %v; "+
		"no offset %d; delivered %d, replayed %d, missed %d, gaps %d, dups %d, complete %d, next seq %d–%d",
		s.Clients, s.Connected, s.Dropped, s.Reconnecting, s.Recovered, s.Fresh, s.Failed, s.FirstErr, s.Open, s.Closed,
		s.NoOffset, s.Delivered, s.Replayed, s.Missed, s.Gaps, s.Dups, s.Complete, s.MinNext, s.MaxNext)
}
