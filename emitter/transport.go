package emitter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// transport carries the requests of one adapter flavour: it encodes and
// publishes them, counts the servers, and receives and decodes their
// answers, which it hands to the requester's deliver. The classic adapter
// (transport_classic.go), and the sharded and streams adapters, both built
// on the ClusterAdapter (transport_cluster.go), are the ones so far.
type transport interface {
	// serverCount counts the servers of namespace nsp as the adapter does.
	serverCount(ctx context.Context, nsp string) (int, error)
	// listen makes sure the answers to requests published in nsp are
	// being received: when it returns without error, Redis has confirmed
	// the subscriptions. The caller releases the listener when its
	// request is over.
	listen(ctx context.Context, nsp string) (listener, error)
	// eventData encodes [event, ...args] as the adapter's broadcasts
	// carry it (r.data of a broadcastWithAck).
	eventData(event string, args []any) ([]byte, error)
	// send publishes r (its id is set).
	send(ctx context.Context, r *request) error
	// hasAllRooms reports whether the adapter has an ALL_ROOMS request
	// (without it, AllRooms is gathered from a fetch).
	hasAllRooms() bool
	// close releases the subscriptions; listeners in use break.
	close() error
}

// listener is a transport's reception of answers, held by one request.
type listener interface {
	// broken is closed when reception stopped (Redis connection lost, or
	// close); err then says why.
	broken() <-chan struct{}
	err() error
	release()
}

// Limits of the answer subscriptions.
const (
	// maxSubscriptions bounds the namespaces with a subscription open at
	// once (one connection each).
	maxSubscriptions = 256
	// subscriptionIdle is how long an unused subscription stays open.
	subscriptionIdle = 5 * time.Minute
)

// subscriptions keeps, per namespace, one pub/sub connection subscribed to
// the channels on which that namespace's answers arrive: opened by the
// first request, shared by the later ones, closed when its connection
// breaks (the next request opens a new one), after subscriptionIdle
// without use, or by close. Each has one reader goroutine, which hands
// every message to handle.
type subscriptions struct {
	rdb     redis.UniversalClient
	sharded bool // SSUBSCRIBE instead of SUBSCRIBE
	handle  func(channel string, payload []byte)

	mu     sync.Mutex
	subs   map[string]*subscription // guarded by mu; by namespace
	closed bool                     // guarded by mu
	wg     sync.WaitGroup           // readers
}

func newSubscriptions(rdb redis.UniversalClient, sharded bool, handle func(channel string, payload []byte)) *subscriptions {
	return &subscriptions{rdb: rdb, sharded: sharded, handle: handle, subs: make(map[string]*subscription)}
}

// subscription is one connection and its reader.
type subscription struct {
	ps       *redis.PubSub
	channels []string
	ready    chan struct{} // closed when Redis confirmed every channel
	dead     chan struct{} // closed when the reader stopped

	// guarded by subscriptions.mu
	refs     int
	lastUsed time.Time

	mu        sync.Mutex
	confirmed map[string]bool // guarded by mu
	cause     error           // guarded by mu; why the reader stopped
}

// acquire returns nsp's subscription to channels, opening it if needed,
// once Redis has confirmed it. The caller must release it.
func (ss *subscriptions) acquire(ctx context.Context, nsp string, channels ...string) (*subscription, error) {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return nil, ErrClosed
	}
	now := time.Now()
	var idle []*subscription
	for k, s := range ss.subs {
		if s.refs == 0 && (now.Sub(s.lastUsed) > subscriptionIdle || s.isDead()) {
			delete(ss.subs, k)
			idle = append(idle, s)
		}
	}
	s := ss.subs[nsp]
	if s != nil && s.isDead() {
		s = nil // in use by requests that will fail; replaced
	}
	if s == nil {
		if len(ss.subs) >= maxSubscriptions {
			ss.mu.Unlock()
			closeAll(idle)
			return nil, fmt.Errorf("emitter: answers of %d namespaces already being received", maxSubscriptions)
		}
		s = ss.open(channels)
		ss.subs[nsp] = s
	}
	s.refs++
	s.lastUsed = now
	ss.mu.Unlock()
	closeAll(idle)

	select {
	case <-s.ready:
		return s, nil
	case <-s.dead:
		err := s.err()
		ss.release(s)
		return nil, err
	case <-ctx.Done():
		ss.release(s)
		return nil, ctx.Err()
	}
}

func closeAll(subs []*subscription) {
	for _, s := range subs {
		s.ps.Close()
	}
}

// open starts a subscription to channels. Called with ss.mu held; it
// does no network round trip itself (the reader does).
func (ss *subscriptions) open(channels []string) *subscription {
	s := &subscription{
		channels:  channels,
		ready:     make(chan struct{}),
		dead:      make(chan struct{}),
		confirmed: make(map[string]bool, len(channels)),
	}
	// A PubSub made without channels connects on its first subscribe,
	// which the reader sends; the connection lives until ps.Close.
	if ss.sharded {
		s.ps = ss.rdb.SSubscribe(context.Background())
	} else {
		s.ps = ss.rdb.Subscribe(context.Background())
	}
	ss.wg.Add(1)
	go ss.read(s)
	return s
}

// read subscribes and then receives until the connection fails or is
// closed. Runs in its own goroutine.
func (ss *subscriptions) read(s *subscription) {
	defer ss.wg.Done()
	ctx := context.Background()
	var err error
	if ss.sharded {
		err = s.ps.SSubscribe(ctx, s.channels...)
	} else {
		err = s.ps.Subscribe(ctx, s.channels...)
	}
	for err == nil {
		var msg any
		// No read deadline: a broken connection fails the read, and a
		// request waiting on a hung Redis ends with its own timeout.
		msg, err = s.ps.Receive(ctx)
		switch m := msg.(type) {
		case *redis.Subscription:
			err = s.confirm(m)
		case *redis.Message:
			ss.handle(m.Channel, []byte(m.Payload))
		}
	}
	s.stop(err)
	s.ps.Close()
}

func (s *subscription) confirm(m *redis.Subscription) error {
	if m.Kind != "subscribe" && m.Kind != "ssubscribe" {
		// Redis dropped a channel (a shard channel whose slot moved):
		// answers may be lost, so this connection is done.
		return fmt.Errorf("redis dropped the subscription of %s (%s)", m.Channel, m.Kind)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.confirmed[m.Channel] = true
	if len(s.confirmed) == len(s.channels) {
		select {
		case <-s.ready:
		default:
			close(s.ready)
		}
	}
	return nil
}

func (s *subscription) stop(err error) {
	if err == nil || errors.Is(err, redis.ErrClosed) {
		err = errors.New("subscription closed")
	}
	s.mu.Lock()
	s.cause = err
	s.mu.Unlock()
	close(s.dead)
}

func (s *subscription) isDead() bool {
	select {
	case <-s.dead:
		return true
	default:
		return false
	}
}

func (s *subscription) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cause
}

// release gives s back; it stays open for the next request.
func (ss *subscriptions) release(s *subscription) {
	ss.mu.Lock()
	s.refs--
	s.lastUsed = time.Now()
	ss.mu.Unlock()
}

// close closes every subscription and waits for the readers.
func (ss *subscriptions) close() error {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return nil
	}
	ss.closed = true
	subs := ss.subs
	ss.subs = nil
	ss.mu.Unlock()
	for _, s := range subs {
		s.ps.Close()
	}
	ss.wg.Wait()
	return nil
}

// held is a subscription acquired by one request: the listener the
// pub/sub transports return.
type held struct {
	ss *subscriptions
	s  *subscription
}

func (h held) broken() <-chan struct{} { return h.s.dead }
func (h held) err() error              { return h.s.err() }
func (h held) release()                { h.ss.release(h.s) }
