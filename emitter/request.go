package emitter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/siorelay/siorelay/internal/adapter"
)

// The requests the emitter sends to the servers of a cluster, and the
// collection of their answers. This file knows nothing of the wire: a
// [transport] publishes requests, counts servers and decodes answers.

// requestKind is what a request asks the servers.
type requestKind uint8

const (
	fetchSockets     requestKind = iota + 1 // FETCH_SOCKETS / REMOTE_FETCH
	allRooms                                // ALL_ROOMS
	broadcastWithAck                        // BROADCAST with a requestId
)

// request is one request to the servers of a namespace.
type request struct {
	kind requestKind
	id   string
	nsp  string
	opts adapter.Opts
	// data is the msgpack array [event, ...args] of a broadcastWithAck.
	data []byte
}

// answerType tells the answers to a broadcast with ack apart.
type answerType uint8

const (
	answerList        answerType = iota // a server's sockets or rooms
	answerClientCount                   // BROADCAST_CLIENT_COUNT
	answerAck                           // BROADCAST_ACK: one client's ack
)

// answer is one message of a server about a request, decoded by a
// transport. It must not alias memory the transport reuses.
type answer struct {
	requestID string
	typ       answerType
	sockets   []json.RawMessage // answerList to a fetch: one JSON object per socket
	rooms     []string          // answerList to allRooms
	count     int               // answerClientCount
	ack       json.RawMessage   // answerAck: the first argument, JSON
	size      int               // bytes on the wire, for the size limit
}

// requester sends requests through its transport and matches answers to
// them by request id.
type requester struct {
	t       transport
	maxSize int

	mu      sync.Mutex
	pending map[string]*call // guarded by mu; requests waiting for answers
	closed  bool             // guarded by mu
}

func newRequester(maxSize int) *requester {
	return &requester{maxSize: maxSize, pending: make(map[string]*call)}
}

// randomID returns 8 random bytes in hex, as the ClusterAdapter's ids
// (of servers and of requests).
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// deliver hands an answer to the request it belongs to; answers to
// requests of other senders, or that came too late, are dropped. The
// transport's reader goroutine calls it.
func (q *requester) deliver(a answer) {
	q.mu.Lock()
	c := q.pending[a.requestID]
	q.mu.Unlock()
	if c != nil {
		c.add(a)
	}
}

// do sends r and collects the answers until every server answered, the
// wait (at most timeout, and ctx's deadline) ends, or the answers grow
// past the size limit. It returns the call with what arrived (nil when
// nothing was sent) and an error wrapping ErrTimeout when the wait ended
// first.
func (q *requester) do(ctx context.Context, r *request, timeout time.Duration) (*call, error) {
	if r.kind == allRooms && !q.t.hasAllRooms() {
		// Gather the rooms from the sockets of the whole namespace.
		r = &request{kind: fetchSockets, nsp: r.nsp}
		return q.do(ctx, r, timeout)
	}
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	l, err := q.t.listen(ctx, r.nsp)
	if err != nil {
		return nil, fmt.Errorf("emitter: subscribe for answers: %w", err)
	}
	defer l.release()
	n, err := q.t.serverCount(ctx, r.nsp)
	if err != nil {
		return nil, fmt.Errorf("emitter: count servers: %w", err)
	}
	c := &call{kind: r.kind, servers: n, maxSize: q.maxSize, done: make(chan struct{})}
	if n == 0 {
		return c, nil
	}
	if r.kind == broadcastWithAck {
		// The servers stop waiting for their clients when we do.
		d, _ := ctx.Deadline()
		r.opts.Flags = r.opts.Flags.WithTimeout(max(time.Until(d).Milliseconds(), 1))
	}
	r.id = randomID()
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, ErrClosed
	}
	q.pending[r.id] = c
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		delete(q.pending, r.id)
		q.mu.Unlock()
	}()
	if err := q.t.send(ctx, r); err != nil {
		return nil, fmt.Errorf("emitter: publish request: %w", err)
	}
	select {
	case <-c.done:
		if c.tooLarge() {
			return nil, fmt.Errorf("%w (%d bytes)", ErrResponseTooLarge, q.maxSize)
		}
		return c, nil
	case <-l.broken():
		return c, fmt.Errorf("emitter: subscription for answers lost: %w", l.err())
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return c, ctx.Err()
		}
		return c, c.timeoutError()
	}
}

// close fails the requests in flight and refuses later ones.
func (q *requester) close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	return q.t.close()
}

// call collects the answers to one request. It is complete (done closed)
// when every server counted answered and, for a broadcast with ack, every
// client the servers reported acknowledged; or when the answers grew past
// maxSize.
type call struct {
	kind    requestKind
	servers int // servers counted when the request was sent
	maxSize int
	done    chan struct{}

	mu       sync.Mutex
	answered int               // guarded by mu; servers that answered (list or count)
	lists    []answer          // guarded by mu; answerList answers
	clients  int               // guarded by mu; sum of the client counts
	answers  []json.RawMessage // guarded by mu; acks
	size     int               // guarded by mu
	finished bool              // guarded by mu; done is closed
}

func (c *call) add(a answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return
	}
	switch {
	case c.kind == broadcastWithAck && a.typ == answerClientCount:
		c.answered++
		c.clients += a.count
	case c.kind == broadcastWithAck && a.typ == answerAck:
		c.answers = append(c.answers, a.ack)
	case c.kind != broadcastWithAck && a.typ == answerList:
		c.answered++
		c.lists = append(c.lists, a)
	default:
		return
	}
	c.size += a.size
	if c.size > c.maxSize || c.answered >= c.servers && len(c.answers) >= c.clients {
		c.finished = true
		close(c.done)
	}
}

func (c *call) tooLarge() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size > c.maxSize
}

func (c *call) timeoutError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kind == broadcastWithAck {
		return fmt.Errorf("%w: %d of %d servers reported their clients, %d of %d clients acknowledged",
			ErrTimeout, c.answered, c.servers, len(c.answers), c.clients)
	}
	return fmt.Errorf("%w: %d of %d servers answered", ErrTimeout, c.answered, c.servers)
}

// sockets decodes the answers of a fetch; a socket that does not decode is
// left out. Big answers are decoded on every CPU (a fetch of the whole
// cluster can list tens of thousands of sockets, each a JSON object).
func (c *call) sockets(nsp string) []Socket {
	c.mu.Lock()
	var all []json.RawMessage
	for _, a := range c.lists {
		all = append(all, a.sockets...)
	}
	c.mu.Unlock()
	out := make([]Socket, len(all))
	ok := make([]bool, len(all))
	workers := min(runtime.GOMAXPROCS(0), 1+len(all)/socketsPerWorker)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(all)/workers, (w+1)*len(all)/workers
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				var err error
				out[i], err = decodeSocket(all[i], nsp)
				ok[i] = err == nil
			}
		})
	}
	wg.Wait()
	n := 0
	for i := range out {
		if ok[i] {
			out[n] = out[i]
			n++
		}
	}
	clear(out[n:])
	return out[:n]
}

// socketsPerWorker is the least work for which decoding gets a goroutine.
const socketsPerWorker = 512

// rooms merges the answers of allRooms, or the rooms of a fetch's sockets.
func (c *call) rooms() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := make(map[string]bool)
	out := []string{}
	addRoom := func(r string) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, a := range c.lists {
		for _, r := range a.rooms {
			addRoom(r)
		}
		for _, js := range a.sockets {
			var s struct{ Rooms adapter.RoomList }
			if json.Unmarshal(js, &s) == nil {
				for _, r := range s.Rooms {
					addRoom(r)
				}
			}
		}
	}
	return out
}

func (c *call) acks() Acks {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Acks{Answers: append([]json.RawMessage(nil), c.answers...), Clients: c.clients, Servers: c.answered}
}
